//! The hypervisor's own causes (docs/hyvm.md, "Why the hypervisor reverted"): every refusal
//! that ends a `hyvm` guest in `revert(0,0)` keeps the on-chain result (status, empty output,
//! gas, checked against the real hypervisor where it can judge) and names its cause and pc, on
//! the interpreter, the JIT's tiers and `auto` alike.

mod common;

use nestedvm::interp::asm::assemble;
use nestedvm::{
    Account, Address, Cause, CauseKind, Config, Engine, JitConfig, Outcome, Request, Status, Vm,
    U256,
};

/// Every engine a refusal must be reported alike on: the interpreter, the JIT compiling whole
/// code (Cranelift, the baseline tier), and `auto`, as the command runs it and tiering up after
/// two runs of a block, so refusals are met in native code and in the interpreter after
/// native code handed over.
fn engines() -> Vec<(&'static str, Engine, JitConfig)> {
    let mut engines = vec![
        ("interp", Engine::Interpreter, JitConfig::default()),
        ("auto", Engine::Auto, JitConfig::default()),
        ("auto-tiered", Engine::Auto, common::tiered(false)),
        ("auto-baseline", Engine::Auto, common::tiered(true)),
    ];
    for (name, jit) in common::jit_configs() {
        engines.push((name, Engine::Jit, jit));
    }
    engines
}

fn hyvm() -> Config {
    Config {
        evm_gas: true,
        ..common::hyvm_config()
    }
}

fn verifier() -> Config {
    Config {
        verifier: true,
        ..hyvm()
    }
}

/// Runs `req` in `config` on every engine; they must agree on everything the outcome says,
/// its cause included. The interpreter's run is checked against the real hypervisor when it
/// can judge (`common::run_request`). Returns the interpreter's outcome.
fn run_everywhere(config: &Config, req: &Request) -> Outcome {
    let truth = common::run_request(config, req);
    let mut req = req.clone();
    if common::hypervisor_can_judge(config, &req) {
        common::give_wallet_its_code(&mut req);
    }
    for (name, engine, jit) in engines() {
        let o = Vm::new()
            .run(
                &Config {
                    engine,
                    jit,
                    ..*config
                },
                &req,
            )
            .expect("runs");
        let seen = |o: &Outcome| (common::engine_fields(o), o.evm_gas_used);
        assert_eq!(seen(&o), seen(&truth), "{name} vs the interpreter");
        // Tiering up after two runs of a block, a guest after the hot loop runs native code.
        if engine == Engine::Jit || (jit.hot_after == 2 && req.code.starts_with(&hot_loop())) {
            assert_eq!(o.engine, Engine::Jit, "{name} ran native code");
        }
    }
    truth
}

/// Runs `req` in `config` everywhere and checks the run is the hypervisor's refusal: status
/// revert, empty output, not a halt, and `cause`.
fn refused(config: &Config, req: &Request, cause: Cause) -> Outcome {
    let o = run_everywhere(config, req);
    assert_eq!(
        (o.status, o.reason, o.output.len(), o.cause),
        (Status::Revert, None, 0, Some(cause)),
        "{}",
        nestedvm::interp::asm::disassemble(&req.code)
    );
    o
}

fn guest(text: &str) -> Request {
    Request::new(assemble(text).expect("assembles"))
}

/// Eight runs of a loop, so that `auto` tiers up before what follows.
const HOT_LOOP: &str = "PUSH1 8 loop: JUMPDEST PUSH1 1 SWAP1 SUB DUP1 PUSH @loop JUMPI POP";

fn hot_loop() -> Vec<u8> {
    assemble(HOT_LOOP).expect("assembles")
}

/// Guest `text` after [`HOT_LOOP`], with the offset of its last byte.
fn after_hot_loop(text: &str) -> (Request, usize) {
    let req = guest(&format!("{HOT_LOOP} {text}"));
    let last = req.code.len() - 1;
    (req, last)
}

fn at(pc: usize, kind: CauseKind) -> Cause {
    Cause { pc, kind }
}

#[test]
fn a_jump_to_a_byte_that_is_not_a_jumpdest_is_a_bad_jump() {
    // PUSH1 5 JUMP: start-up 204, PUSH1 65 + 47, the jump 65 + 49 and its check 7.
    let o = refused(
        &hyvm(),
        &guest("PUSH1 5 JUMP"),
        at(2, CauseKind::BadJump { to: U256::from(5) }),
    );
    assert_eq!((o.gas_used, o.pc), (437, 3));
    // A taken JUMPI: the destination is checked only then.
    let o = refused(
        &hyvm(),
        &guest("PUSH1 1 PUSH1 0x20 JUMPI"),
        at(
            4,
            CauseKind::BadJump {
                to: U256::from(0x20),
            },
        ),
    );
    assert_eq!(o.gas_used, 566);
    // After native code took the loop: a constant destination, a computed one (past the end
    // of code), a destination too large for an offset, and a taken JUMPI.
    let (req, last) = after_hot_loop("PUSH1 0x40 JUMP");
    refused(
        &hyvm(),
        &req,
        at(
            last,
            CauseKind::BadJump {
                to: U256::from(0x40),
            },
        ),
    );
    let (req, last) = after_hot_loop("CODESIZE JUMP");
    let to = U256::from(req.code.len());
    refused(&hyvm(), &req, at(last, CauseKind::BadJump { to }));
    let (req, last) = after_hot_loop("PUSH0 NOT JUMP");
    refused(
        &hyvm(),
        &req,
        at(last, CauseKind::BadJump { to: U256::MAX }),
    );
    let (req, last) = after_hot_loop("PUSH1 1 CODESIZE JUMPI");
    let to = U256::from(req.code.len());
    refused(&hyvm(), &req, at(last, CauseKind::BadJump { to }));
}

#[test]
fn an_opcode_without_a_handler_is_refused() {
    // TLOAD, an unassigned byte, CALLCODE, SELFDESTRUCT and CLZ: 204, PUSH0 65 + 3, the
    // reverting handler 65 + 6.
    for opcode in [0x5c, 0x0c, 0xf2, 0xff, 0x1e] {
        let req = Request::new(vec![0x5f, opcode]);
        let o = refused(&hyvm(), &req, at(1, CauseKind::RefusedOpcode { opcode }));
        assert_eq!(o.gas_used, 204 + 68 + 71, "{opcode:#x}");
    }
    for opcode in [0x5c, 0x0c, 0xf2, 0xff, 0x1e] {
        let (mut req, last) = after_hot_loop("PUSH0 PUSH0");
        req.code.push(opcode);
        refused(
            &hyvm(),
            &req,
            at(last + 1, CauseKind::RefusedOpcode { opcode }),
        );
    }
}

#[test]
fn a_call_to_the_hypervisor_fails_and_the_guest_goes_on_without_a_cause() {
    // The refusal is the callee's: the calling guest gets 0 and goes on, so the top frame
    // (here a success) has no cause of its own.
    for call in [
        "PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x4879 GAS CALL",
        "PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x4879 GAS STATICCALL",
    ] {
        let o = run_everywhere(
            &hyvm(),
            &guest(&format!("{call} PUSH0 MSTORE PUSH1 32 PUSH0 RETURN")),
        );
        assert_eq!(
            (o.status, o.output[31], o.cause),
            (Status::Success, 0, None)
        );
    }
}

#[test]
fn a_nested_guests_refusal_is_not_the_top_frames() {
    // The guest DELEGATECALLs the hypervisor with guest code PUSH1 5 JUMP (a bad jump) and
    // reverts with empty data itself when that fails: its own revert, no cause.
    let text = "PUSH3 0x600556 PUSH0 MSTORE PUSH0 PUSH0 PUSH1 3 PUSH1 29 PUSH2 0x4879 GAS \
                DELEGATECALL PUSH @ok JUMPI PUSH0 PUSH0 REVERT ok: JUMPDEST STOP";
    let o = run_everywhere(&hyvm(), &guest(text));
    assert_eq!(
        (o.status, o.output.len(), o.cause),
        (Status::Revert, 0, None)
    );
}

#[test]
fn the_guests_own_ends_have_no_cause() {
    for text in [
        "PUSH0 PUSH0 REVERT",
        "STOP",
        "INVALID",
        "PUSH1 3 JUMP JUMPDEST STOP",
        // Stack overflow of the on-chain model: a halt, which has a reason instead.
        "loop: JUMPDEST PUSH0 PUSH @loop JUMP",
    ] {
        let o = run_everywhere(&hyvm(), &guest(text));
        assert_eq!(o.cause, None, "{text}");
    }
    // In `evm` the same programs halt: a reason, no cause.
    let evm = common::evm_config(nestedvm::Fork::Osaka);
    // PUSH1 5 JUMP; PUSH0 and an unassigned byte.
    for code in [vec![0x60, 5, 0x56], vec![0x5f, 0x0c]] {
        let o = run_everywhere(&evm, &Request::new(code));
        assert_eq!((o.status, o.cause), (Status::Halt, None));
    }
}

// ---- the verifier build's guards ----

const VERIFIER: u64 = 0x7e71;

/// Guest: CALL(gas, 0x1000, 0, 0, 3, 0, 32), the CALL at offset 11, then returns the flag.
const GUEST_CALL: &str = "PUSH1 32 PUSH0 PUSH1 3 PUSH0 PUSH0 PUSH2 0x1000 GAS CALL \
                          PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";
const CALL_PC: usize = 11;

/// [`GUEST_CALL`] with a verifier running `verifier` (assembly) in the wallet's verifier slot,
/// or none.
fn guarded_call(verifier: Option<&str>) -> Request {
    let mut req = guest(GUEST_CALL);
    if let Some(code) = verifier {
        let address = Address::from_low_u64_be(VERIFIER);
        let code = assemble(code).expect("assembles");
        req.accounts
            .push((address, Account::new(U256::zero(), 1, code)));
        req.storage
            .push((nestedvm::interp::hyvm::VERIFIER_SLOT, U256::from(VERIFIER)));
    }
    req.accounts.push((
        Address::from_low_u64_be(0x1000),
        Account::new(U256::zero(), 1, assemble("STOP").expect("assembles")),
    ));
    req
}

#[test]
fn a_guarded_call_without_a_verifier_is_refused() {
    refused(
        &verifier(),
        &guarded_call(None),
        at(CALL_PC, CauseKind::NoVerifier),
    );
}

#[test]
fn a_guarded_call_the_verifier_answers_no_to_is_refused() {
    // A word of 2: the lowest bit is clear.
    let no = "PUSH1 2 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";
    refused(
        &verifier(),
        &guarded_call(Some(no)),
        at(CALL_PC, CauseKind::CallRefused),
    );
    // The answer allows it: the call goes ahead.
    let yes = "PUSH1 1 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";
    let o = run_everywhere(&verifier(), &guarded_call(Some(yes)));
    assert_eq!(
        (o.status, o.output[31], o.cause),
        (Status::Success, 1, None)
    );
}

#[test]
fn a_guarded_call_whose_verifier_fails_is_refused() {
    // Its data is not read: a failed call is a refusal whatever it returned.
    for failing in [
        "PUSH0 PUSH0 REVERT",
        "INVALID",
        "PUSH1 1 PUSH0 MSTORE PUSH1 32 PUSH0 REVERT",
    ] {
        refused(
            &verifier(),
            &guarded_call(Some(failing)),
            at(CALL_PC, CauseKind::VerifierFailed),
        );
    }
}

#[test]
fn a_store_the_owner_did_not_make_is_refused() {
    // No verifier set, so every key is guarded; the owner is not CALLER (0xca11).
    let mut req = guest("PUSH1 1 PUSH1 5 SSTORE STOP");
    req.storage = vec![(nestedvm::interp::hyvm::OWNER_SLOT, U256::from(0xbeef))];
    refused(&verifier(), &req, at(4, CauseKind::StoreRefused));
    // After a hot loop, for `auto`.
    let (mut req, last) = after_hot_loop("PUSH1 1 PUSH1 5 SSTORE");
    req.storage = vec![(nestedvm::interp::hyvm::OWNER_SLOT, U256::from(0xbeef))];
    refused(&verifier(), &req, at(last, CauseKind::StoreRefused));
    // The owner's own store goes ahead.
    req.caller = Address::from_low_u64_be(0xbeef);
    let o = run_everywhere(&verifier(), &req);
    assert_eq!((o.status, o.cause), (Status::Success, None));
}

#[test]
fn the_cause_is_one_json_key_and_one_readable_line() {
    let o = run_everywhere(&hyvm(), &guest("PUSH1 5 JUMP"));
    let json = nestedvm::output::to_json(&o);
    assert!(
        json.ends_with(r#","engine":"interp","cause":{"kind":"bad_jump","pc":2,"to":"0x5"}}"#),
        "{json}"
    );
    let text = nestedvm::output::to_text(&o);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("cause:")).collect();
    assert_eq!(lines, ["cause:    bad jump to 0x5 at pc 2"], "{text}");
    let o = run_everywhere(&hyvm(), &guest("PUSH0 TLOAD"));
    assert!(
        nestedvm::output::to_json(&o)
            .contains(r#""cause":{"kind":"refused_opcode","pc":1,"opcode":"0x5c"}"#),
        "{}",
        nestedvm::output::to_json(&o)
    );
    let o = run_everywhere(&verifier(), &guarded_call(None));
    assert!(nestedvm::output::to_json(&o).contains(r#""cause":{"kind":"no_verifier","pc":11}"#));
    // Anything else prints no cause.
    let o = run_everywhere(&hyvm(), &guest("PUSH0 PUSH0 REVERT"));
    assert!(!nestedvm::output::to_json(&o).contains("cause"));
    assert!(!nestedvm::output::to_text(&o).contains("cause"));
}
