//! Self-tests of the HyVM oracle (`nestedvm_cli::oracle::hyvm_onchain`): guests run through
//! the real hypervisor bytecode in revm; expectations derived from the profile's rules and
//! on-chain gas model in docs/hyvm.md (arithmetic in the comments).
//!
//! Gas shorthand (docs/hyvm.md, "Gas: the on-chain figure"): start-up S = 204; an instruction costs 65 + H + D.
//!   PUSHn = 65 + 47 = 112, PUSH0 = 65 + 3 = 68, ADD = 65 + 3 = 68, GAS = 65 + 2 = 67,
//!   STOP = 65, RETURN = 65 + 12 + host mem, MSTORE = 65 + 15 + host mem, MSIZE = 65 + 20.
//!   Host memory starts at 0x340 = 26 words: 3*26 + 26*26/512 = 79; 27 words: 81 + 1 = 82,
//!   so the first guest word costs 82 - 79 = 3.
mod common;

use common::hyvm_oracle::*;
use common::oracle::*;
use nestedvm::Status;
use primitive_types::{H160, U256};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.trim_start_matches("0x").split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn word(v: u64) -> Vec<u8> {
    U256::from(v).to_big_endian().to_vec()
}

fn guest(code: &str) -> HyvmRequest {
    HyvmRequest {
        guest: hex(code),
        gas: 100_000,
        ..HyvmRequest::default()
    }
}

fn run(code: &str) -> HyvmOutcome {
    run_hyvm(&guest(code))
}

const FORKS: [nestedvm::Fork; 4] = nestedvm::Fork::ALL;

// ------------------------------------------------------------------ fixtures

#[test]
fn fixtures_match_readme() {
    // keccak256 of the runtimes as published (interp/data/README.md), so a damaged copy of the
    // bytecode cannot pass unnoticed.
    let k = |b: &[u8]| format!("{:x}", revm::primitives::keccak256(b));
    let plain = hyvm_code(false);
    let verif = hyvm_code(true);
    assert_eq!(plain.len(), 5867 + 32);
    assert_eq!(verif.len(), 6603 + 32);
    assert_eq!(
        k(&plain[..5867]),
        "aeeae6b55cdc402d73f35e0f9db54e928b80fd905d073b9e879afe3f87bbc180"
    );
    assert_eq!(
        k(&verif[..6603]),
        "44a401eef9ea5b0298a3549ed148039ddc1c6ef5a53164ed00043655e649d3ac"
    );
    // The constructor's 32 appended bytes: 12 zero bytes, then the hypervisor's address.
    assert_eq!(&plain[5867..5867 + 12], &[0u8; 12]);
    assert_eq!(&plain[5867 + 12..], HYPERVISOR.as_bytes());
    assert_eq!(&verif[6603 + 12..], HYPERVISOR.as_bytes());
}

#[test]
fn helper_bytecode() {
    let w = wallet_code(0x0102030405060708);
    assert_eq!(
        w,
        hex(
            "36600060003760006000366000 73 0000000000000000000000000000000000004879
             67 0102030405060708 f4 3d600060003e 603957 3d6000fd 5b3d6000f3"
        )
    );
    assert_eq!(
        static_runner_code(),
        hex(
            "36600060003760006000366000 73 000000000000000000000000000000000000c0de
             5afa 3d600060003e 603157 3d6000fd 5b3d6000f3"
        )
    );
}

// ------------------------------------------------------------------ basics

#[test]
fn add_mstore_return() {
    // PUSH1 3, PUSH1 4, ADD, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN
    // S 204 + PUSH1 112 + PUSH1 112 + ADD 68 + PUSH1 112 + MSTORE (80 + 3) + PUSH1 112
    //   + PUSH1 112 + RETURN 77 (memory already paid) = 992
    for fork in FORKS {
        let out = run_hyvm(&HyvmRequest {
            fork,
            ..guest("600360040160005260206000f3")
        });
        assert_eq!(out.status, Status::Success, "{fork}");
        assert_eq!(out.output, word(7), "{fork}");
        assert_eq!(out.gas_used, 992, "{fork}");
        assert_eq!(out.gas_refund, 0);
        assert!(out.logs.is_empty());
        assert!(out.storage.is_empty());
    }
}

#[test]
fn startup_and_stop() {
    // STOP: S 204 + 65 = 269.
    let out = run("00");
    assert_eq!((out.status, out.gas_used), (Status::Success, 269));
    assert!(out.output.is_empty());
    // Empty guest: running off the end executes the padding's STOP: also 269.
    let out = run("");
    assert_eq!((out.status, out.gas_used), (Status::Success, 269));
    // Exactly 269 gas is enough; 268 runs out of gas (a halt: all gas used).
    let ok = run_hyvm(&HyvmRequest {
        gas: 269,
        ..guest("00")
    });
    assert_eq!((ok.status, ok.gas_used), (Status::Success, 269));
    let oog = run_hyvm(&HyvmRequest {
        gas: 268,
        ..guest("00")
    });
    assert_eq!((oog.status, oog.gas_used), (Status::Halt, 268));
}

#[test]
fn gas_gas_differs_by_67() {
    // GAS, GAS, SWAP1, SUB, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN -> first - second.
    // The second GAS reads 65 (dispatch) + 2 (GAS) less than the first.
    // Total: 204 + 67 + 67 + SWAP1 68 + SUB 68 + 112 + 83 + 112 + 112 + 77 = 970.
    let out = run("5a5a900360005260206000f3");
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, word(67));
    assert_eq!(out.gas_used, 970);
}

#[test]
fn push_costs() {
    // PUSH1 1, STOP: 204 + 112 + 65 = 381
    assert_eq!(run("600100").gas_used, 381);
    // PUSH32 x, STOP: 204 + 112 + 65 = 381 (all PUSHn cost the same)
    assert_eq!(
        run("7f0000000000000000000000000000000000000000000000000000000000000001 00").gas_used,
        381
    );
    // PUSH0, STOP: 204 + 68 + 65 = 337
    assert_eq!(run("5f00").gas_used, 337);
    // PC, PC, STOP: 204 + 2*(65 + 12) + 65 = 423
    assert_eq!(run("585800").gas_used, 423);
}

#[test]
fn pc_codesize_context() {
    // PC, PC, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN: second PC is at offset 1.
    let out = run("585860005260206000f3");
    assert_eq!(out.output, word(1));
    // CODESIZE = guest length (9).
    assert_eq!(run("3860005260206000f3").output, word(9));
    // ADDRESS = wallet, CALLER = origin (0xca11), CALLVALUE = tx value.
    assert_eq!(run("3060005260206000f3").output, word(0xc0de));
    assert_eq!(run("3360005260206000f3").output, word(0xca11));
    let out = run_hyvm(&HyvmRequest {
        value: U256::from(5),
        ..guest("3460005260206000f3")
    });
    // CALLVALUE handler: 65 + 2; 204 + 67 + 112 + 83 + 112 + 112 + 77 = 767
    assert_eq!((out.output, out.gas_used), (word(5), 767));
    // CALLDATASIZE = 0 (the guest sees no calldata).
    assert_eq!(run("3660005260206000f3").output, word(0));
}

// ------------------------------------------------------------------ jumps

#[test]
fn jump_into_push_data() {
    // 0: PUSH1 4, 2: JUMP, 3: PUSH1 0x5b (byte 4 = 0x5b), 5: PUSH1 42, MSTORE(0), RETURN(0,32)
    // 204 + 112 + JUMP (65 + 49) + [JUMPDEST skipped] + 112 + 112 + 83 + 112 + 112 + 77 = 1038
    let out = run("6004 56 605b 602a 600052 6020 6000 f3");
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, word(42));
    assert_eq!(out.gas_used, 1038);
}

#[test]
fn jump_to_non_jumpdest_reverts() {
    // PUSH1 3, JUMP, STOP, STOP: byte 3 is 0x00 -> revert(0,0), gas kept.
    // 204 + 112 + (65 + 49 + 7) = 437
    let out = run("6003 56 00 00");
    assert_eq!(out.status, Status::Revert);
    assert!(out.output.is_empty());
    assert_eq!(out.gas_used, 437);
    // Past the end of code: also a revert.
    let out = run("60ff 56");
    assert_eq!((out.status, out.gas_used), (Status::Revert, 437));
}

#[test]
fn jumpi() {
    // not taken: PUSH1 0 (cond), PUSH1 6, JUMPI, STOP: 204 + 224 + (65 + 18) + 65 = 576
    let out = run("6000 6006 57 00");
    assert_eq!((out.status, out.gas_used), (Status::Success, 576));
    // taken, valid: PUSH1 1, PUSH1 6, JUMPI, STOP, 6: JUMPDEST, STOP
    // 204 + 224 + (65 + 16 + 1 + 49) + 65 = 624
    let out = run("6001 6006 57 00 5b 00");
    assert_eq!((out.status, out.gas_used), (Status::Success, 624));
    // taken, invalid (byte 5 = 0x00): 204 + 224 + (65 + 16 + 1 + 49 + 7) = 566, revert
    let out = run("6001 6005 57 00 5b 00");
    assert_eq!((out.status, out.gas_used), (Status::Revert, 566));
    assert!(out.output.is_empty());
}

// ------------------------------------------------------------------ opcodes

#[test]
fn unsupported_opcodes_revert() {
    // Unassigned 0x0c, TLOAD 0x5c, CALLCODE 0xf2, CLZ 0x1e, MCOPY 0x5e, BLOBHASH 0x49:
    // 204 + (65 + 6) = 275, revert with empty data.
    for op in ["0c", "5c", "f2", "1e", "5e", "49", "4a", "5d", "ef"] {
        for fork in FORKS {
            let out = run_hyvm(&HyvmRequest { fork, ..guest(op) });
            assert_eq!(out.status, Status::Revert, "{op} {fork}");
            assert!(out.output.is_empty(), "{op}");
            assert_eq!(out.gas_used, 275, "{op} {fork}");
        }
    }
    // SELFDESTRUCT(0): 204 + 112 + 71 = 387, revert.
    let out = run("6000 ff");
    assert_eq!((out.status, out.gas_used), (Status::Revert, 387));
    assert!(out.output.is_empty());
}

#[test]
fn invalid_halts() {
    let out = run("fe");
    assert_eq!(out.status, Status::Halt);
    assert_eq!(out.gas_used, 100_000);
    assert!(out.output.is_empty());
}

// ------------------------------------------------------------------ state

#[test]
fn sstore_writes_wallet_storage() {
    // PUSH1 1, PUSH1 0, SSTORE, STOP: 204 + 224 + (65 + 2100 cold + 20000 set) + 65 = 22658
    let out = run("6001 6000 55 00");
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.gas_used, 22_658);
    assert_eq!(out.gas_refund, 0);
    assert_eq!(out.storage.len(), 1);
    assert_eq!(out.storage[&U256::zero()], U256::one());
}

#[test]
fn sstore_clear_refund() {
    // wallet slot 0 = 1; PUSH1 0, PUSH1 0, SSTORE, STOP:
    // 204 + 224 + (65 + 2100 + 2900) + 65 = 5558, refund 4800
    let out = run_hyvm(&HyvmRequest {
        storage: vec![(U256::zero(), U256::one())],
        ..guest("6000 6000 55 00")
    });
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.gas_used, 5558);
    assert_eq!(out.gas_refund, 4800);
    assert!(out.storage.is_empty());
}

#[test]
fn log1_from_wallet() {
    // MSTORE(0, 1); LOG1(offset 0, size 32, topic 7); STOP
    // 204 + 112 + 112 + 83 + 3*112 + LOG1 (65 + 762 + 8*32 data) + 65 = 1995
    let out = run("6001 6000 52 6007 6020 6000 a1 00");
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.gas_used, 1995);
    assert_eq!(
        out.logs,
        vec![OracleLog {
            address: WALLET,
            topics: vec![U256::from(7)],
            data: word(1),
        }]
    );
}

#[test]
fn logs_dropped_on_revert() {
    // LOG0(0, 0) then an unsupported opcode: revert drops the log.
    let out = run("6000 6000 a0 0c");
    assert_eq!(out.status, Status::Revert);
    assert!(out.logs.is_empty());
}

// ------------------------------------------------------------------ memory

#[test]
fn msize_is_guest_size() {
    // MSTORE(0, 1), MSIZE, MSTORE(0, msize), RETURN(0, 32)
    // 204 + 112 + 112 + 83 + MSIZE (65 + 20) + 112 + MSTORE 80 + 112 + 112 + 77 = 1089
    let out = run("6001 6000 52 59 6000 52 6020 6000 f3");
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, word(32));
    assert_eq!(out.gas_used, 1089);
}

#[test]
fn offset_alias_2_160() {
    // MSTORE(0, 42); MLOAD(2^160) -> aliases guest 0; MSTORE(32, v); RETURN(32, 32)
    let out =
        run("602a 6000 52 74 010000000000000000000000000000000000000000 51 6020 52 6020 6020 f3");
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, word(42));
}

// ------------------------------------------------------------------ direct calls

#[test]
fn direct_call_reverts() {
    // Transaction straight to the hypervisor: the start-up check sees ADDRESS equal to the
    // appended address and reverts: 50 + memory to 0x240 (18 words: 54) + JUMPDEST 1 +
    // PUSH1 0, DUP1, REVERT 6 = 111.
    for verifier in [false, true] {
        let out = run_revm(&OracleRequest {
            address: HYPERVISOR,
            code: hyvm_code(verifier),
            calldata: hex("600360040160005260206000f3"),
            gas: 100_000,
            ..OracleRequest::default()
        });
        assert_eq!(out.status, Status::Revert);
        assert!(out.output.is_empty());
        assert_eq!(out.gas_used, 111);
    }
    // A contract that CALLs (F1) / STATICCALLs (FA) the hypervisor with guest `00` as input
    // and returns the success flag: 0 both ways. For contrast, DELEGATECALL (F4) gives 1.
    // MSTORE8(0, 0x00) is implicit (fresh memory); input = mem[0..1] = 00.
    //   PUSH1 0 (retSize) PUSH1 0 (retOff) PUSH1 1 (argsSize) PUSH1 0 (argsOff)
    //   [PUSH1 0 (value) for CALL] PUSH2 4879 GAS <op> PUSH1 0 MSTORE RETURN(0, 32)
    let hyp = OracleAccount {
        address: HYPERVISOR,
        code: hyvm_code(false),
        nonce: 1,
        ..OracleAccount::default()
    };
    for (code, expect) in [
        ("6000 6000 6001 6000 6000 614879 5a f1 600052 60206000f3", 0),
        ("6000 6000 6001 6000 614879 5a fa 600052 60206000f3", 0),
        ("6000 6000 6001 6000 614879 5a f4 600052 60206000f3", 1),
    ] {
        let out = run_revm(&OracleRequest {
            code: hex(code),
            gas: 100_000,
            accounts: vec![hyp.clone()],
            ..OracleRequest::default()
        });
        assert_eq!(out.status, Status::Success);
        assert_eq!(out.output, word(expect), "{code}");
    }
}

// ------------------------------------------------------------------ static

#[test]
fn static_mode() {
    // Guest SSTORE under STATICCALL: exceptional halt, all gas.
    let out = run_hyvm(&HyvmRequest {
        is_static: true,
        ..guest("6001 6000 55 00")
    });
    assert_eq!((out.status, out.gas_used), (Status::Halt, 100_000));
    assert!(out.storage.is_empty());
    // Reads are fine; CALLER is the static runner (0x…5747); gas as in non-static mode (767).
    let out = run_hyvm(&HyvmRequest {
        is_static: true,
        ..guest("3360005260206000f3")
    });
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, word(0x5747));
    assert_eq!(out.gas_used, 767);
    // The same figures as non-static for a pure computation.
    let out = run_hyvm(&HyvmRequest {
        is_static: true,
        ..guest("600360040160005260206000f3")
    });
    assert_eq!((out.status, out.gas_used), (Status::Success, 992));
    assert_eq!(out.output, word(7));
    // LOG0 is a state change too.
    let out = run_hyvm(&HyvmRequest {
        is_static: true,
        ..guest("6000 6000 a0 00")
    });
    assert_eq!(out.status, Status::Halt);
}

// ------------------------------------------------------------------ verifier build

const CALLEE: u64 = 0xbeef;
const VERIFIER: u64 = 0xf00d;

fn verifier_slot() -> U256 {
    U256::from_big_endian(&VERIFIER_SLOT)
}

/// Guest: CALL(gas, 0xbeef, 0, 0, 0, 0, 0), then return the success flag.
const GUEST_CALL: &str = "6000 6000 6000 6000 6000 6200beef 5a f1 600052 60206000f3";
/// Guest: STATICCALL(gas, 0xbeef, 0, 0, 0, 0), then return the success flag.
const GUEST_STATICCALL: &str = "6000 6000 6000 6000 6200beef 5a fa 600052 60206000f3";
/// Guest: DELEGATECALL(gas, 0xbeef, 0, 0, 0, 0), then return the success flag.
const GUEST_DELEGATECALL: &str = "6000 6000 6000 6000 6200beef 5a f4 600052 60206000f3";

fn callee() -> OracleAccount {
    // LOG0(0, 0), STOP: a visible side effect of the call.
    OracleAccount {
        address: addr_low(CALLEE),
        code: hex("6000 6000 a0 00"),
        nonce: 1,
        ..OracleAccount::default()
    }
}

fn verified(guest_code: &str, verifier_code: Option<&str>) -> HyvmOutcome {
    let mut accounts = vec![callee()];
    let mut storage = Vec::new();
    if let Some(vc) = verifier_code {
        accounts.push(OracleAccount {
            address: addr_low(VERIFIER),
            code: hex(vc),
            nonce: 1,
            ..OracleAccount::default()
        });
        storage.push((verifier_slot(), U256::from(VERIFIER)));
    }
    run_hyvm(&HyvmRequest {
        verifier: true,
        accounts,
        storage,
        ..guest(guest_code)
    })
}

fn assert_allowed(out: &HyvmOutcome, log_address: H160, what: &str) {
    assert_eq!(out.status, Status::Success, "{what}");
    assert_eq!(out.output, word(1), "{what}");
    assert_eq!(out.logs.len(), 1, "{what}");
    assert_eq!(out.logs[0].address, log_address, "{what}");
}

fn assert_refused(out: &HyvmOutcome, what: &str) {
    assert_eq!(out.status, Status::Revert, "{what}");
    assert!(out.output.is_empty(), "{what}");
    assert!(out.logs.is_empty(), "{what}");
    assert!(out.gas_used < 10_000, "{what}");
}

#[test]
fn verifier_build_basics() {
    // Guest memory at 0x460 = 35 words: 3*35 + 35*35/512 = 107, 28 more than 0x340's 79.
    // STOP: 204 + 28 + 65 = 297; 3+4 program: 992 + 28 = 1020; GAS GAS still differs by 67.
    let r = |c: &str| {
        run_hyvm(&HyvmRequest {
            verifier: true,
            ..guest(c)
        })
    };
    assert_eq!(r("00").gas_used, 297);
    let out = r("600360040160005260206000f3");
    assert_eq!((out.output, out.gas_used), (word(7), 1020));
    assert_eq!(r("5a5a900360005260206000f3").output, word(67));
    // MSIZE still reports guest size.
    assert_eq!(r("6001 6000 52 59 6000 52 6020 6000 f3").output, word(32));
}

#[test]
fn plain_build_call_needs_no_verifier() {
    // CALL to 0xbeef: 204 + 5*112 + PUSH3 112 + GAS 67 + CALL (65 + 36 + 2600 cold + callee 381
    // = LOG0 375 + 2 PUSH1 6) + 112 + 83 + 112 + 112 + 77 = 4521
    let out = run_hyvm(&HyvmRequest {
        accounts: vec![callee()],
        ..guest(GUEST_CALL)
    });
    assert_allowed(&out, addr_low(CALLEE), "plain call");
    assert_eq!(out.gas_used, 4521);
}

#[test]
fn verifier_slot_empty_refuses() {
    for g in [GUEST_CALL, GUEST_STATICCALL, GUEST_DELEGATECALL] {
        assert_refused(&verified(g, None), g);
    }
}

#[test]
fn verifier_returning_1_allows() {
    let v = Some("600160005260206000f3"); // return word 1
    assert_allowed(&verified(GUEST_CALL, v), addr_low(CALLEE), "call");
    // DELEGATECALL runs 0xbeef's code in the wallet: the log comes from the wallet.
    assert_allowed(&verified(GUEST_DELEGATECALL, v), WALLET, "delegatecall");
    // STATICCALL is allowed too, but 0xbeef's LOG0 then fails under static: flag 0.
    let out = verified(GUEST_STATICCALL, v);
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, word(0));
}

#[test]
fn verifier_even_word_refuses() {
    let v = Some("600260005260206000f3"); // return word 2 (low bit 0)
    for g in [GUEST_CALL, GUEST_STATICCALL, GUEST_DELEGATECALL] {
        assert_refused(&verified(g, v), g);
    }
}

#[test]
fn verifier_reverting_refuses() {
    for v in ["60006000fd", "600160005260206000fd"] {
        // revert(0,0) and revert with word 1 (the data is ignored: success is 0)
        for g in [GUEST_CALL, GUEST_STATICCALL, GUEST_DELEGATECALL] {
            assert_refused(&verified(g, Some(v)), g);
        }
    }
}

#[test]
fn verifier_short_return_keeps_old_word() {
    // A short (or empty) return leaves the rest of host word 0x220 as it was: the last 32
    // code bytes CODECOPYed at start-up = 12 zero bytes ++ 0x…4879; its low bit is 1
    // (0x79 is odd), so the call is ALLOWED. Same for a verifier with no code at all.
    for v in [
        "00",                   // STOP: empty return
        "60016000f3",           // RETURN 1 byte 0x00
        "600160005360016000f3", // RETURN 1 byte 0x01 (writes the high byte only)
        "",                     // no code (EOA)
    ] {
        assert_allowed(&verified(GUEST_CALL, Some(v)), addr_low(CALLEE), v);
    }
}

#[test]
fn verifier_sees_opcode_quirk() {
    // Verifier returns CALLDATALOAD(4) = the opcode argument of verifyCall:
    // 0xF1 for CALL (odd: allowed), 0xFA for STATICCALL and DELEGATECALL (even: refused).
    let v = Some("600435 600052 60206000f3");
    assert_allowed(&verified(GUEST_CALL, v), addr_low(CALLEE), "call");
    assert_refused(&verified(GUEST_STATICCALL, v), "staticcall");
    assert_refused(&verified(GUEST_DELEGATECALL, v), "delegatecall");
}

#[test]
fn verifier_args_truncated_and_length() {
    // verifyCall calldata = host 0x240..0x444: truncated flag at calldata 0x84, length at 0xa4.
    // Guest CALL(gas, 0xbeef, 0, args 0 .. n, 0, 0) with n = 0x140 / 0x141 / 0x20 / 0x21.
    let call_n = |n: &str| format!("6000 6000 61{n} 6000 6000 6200beef 5a f1 600052 60206000f3");
    let truncated = Some("608435 600052 60206000f3"); // return CALLDATALOAD(0x84)
    assert_refused(
        &verified(&call_n("0140"), truncated),
        "0x140: not truncated",
    );
    assert_allowed(
        &verified(&call_n("0141"), truncated),
        addr_low(CALLEE),
        "0x141: truncated",
    );
    let length = Some("60a435 600052 60206000f3"); // return CALLDATALOAD(0xa4)
    assert_refused(&verified(&call_n("0020"), length), "len 0x20 even");
    assert_allowed(
        &verified(&call_n("0021"), length),
        addr_low(CALLEE),
        "len 0x21 odd",
    );
    assert_refused(
        &verified(&call_n("0141"), length),
        "len capped at 0x140 (even)",
    );
}

// The written spec and the bytecode disagree on the store guard (docs/hyvm.md, "The verifier
// build"): the bytecode does NOT compare the key
// with each of the three values. Its SSTORE handler (verifier build, pc 0x76b) is
//   DUP1 PUSH32 reentrancy SLOAD EQ      e1 = (key == v_re)
//   DUP1 PUSH32 verifier  SLOAD EQ OR    r  = e1 | (e1 == v_ver)   (DUP1 copies e1, not key)
//   DUP1 PUSH32 owner     SLOAD EQ OR    g  = r | (r == v_own)     (DUP1 copies r, not key)
//   ISZERO PUSH2 0x815 JUMPI             g == 0 -> plain SSTORE(key, value)
//   PUSH32 owner SLOAD DUP1 CALLER EQ PUSH2 0x814 JUMPI   owner == CALLER -> 0x814 WITH owner
//                                                          still on the stack
//   PUSH1 0 EQ PUSH2 0x814 JUMPI          owner == 0 -> 0x814 (owner consumed)
//   PUSH1 0 PUSH1 0 REVERT
//   0x814: JUMPDEST JUMPDEST SSTORE
// So: guarded iff key == v_re, or v_ver == 0 (then r = 1 for every key), or (r == 0 and
// v_own == 0). A guarded store reverts unless owner is 0 (plain store) or CALLER; with
// owner == CALLER the handler executes SSTORE(slot = owner, value = key) and leaves the
// guest's `value` on the stack.
#[test]
fn verifier_store_guard() {
    let slot = |h: &str| U256::from_big_endian(&hex(h));
    let re_slot = slot("da8b995e2670b58d57272b2d0b50f8c7de2a7e927b4b9b06444cd9e378d215fb");
    let owner_slot = slot("240bb37aa812ad108aae08a4b01536038aac1692fa2f4eabbc4a8a540d93e0be");
    let req = |code: &str, re: u64, ver: u64, owner: u64| HyvmRequest {
        verifier: true,
        storage: [(re_slot, re), (verifier_slot(), ver), (owner_slot, owner)]
            .into_iter()
            .filter(|(_, v)| *v != 0)
            .map(|(k, v)| (k, U256::from(v)))
            .collect(),
        ..guest(code)
    };
    let other = |out: &HyvmOutcome| -> Vec<(U256, U256)> {
        out.storage
            .iter()
            .filter(|(k, _)| **k != re_slot && **k != owner_slot && **k != verifier_slot())
            .map(|(k, v)| (*k, *v))
            .collect()
    };
    // 1. key == v_re (0 = empty reentrancy slot), owner 0x1234 != caller: revert.
    let out = run_hyvm(&req("6001 6000 55 00", 0, VERIFIER, 0x1234)); // SSTORE(0, 1)
    assert_eq!(out.status, Status::Revert);
    assert!(out.output.is_empty());
    // 2. key == v_ver (0xf00d): the spec says guarded -> revert; the bytecode stores it.
    let out = run_hyvm(&req("6001 61f00d 55 00", 0, VERIFIER, 0x1234)); // SSTORE(0xf00d, 1)
    assert_eq!(out.status, Status::Success);
    assert_eq!(other(&out), vec![(U256::from(0xf00d), U256::one())]);
    // 3. key == v_own (0x1234): the spec says guarded -> revert; the bytecode stores it.
    let out = run_hyvm(&req("6001 611234 55 00", 0, VERIFIER, 0x1234));
    assert_eq!(out.status, Status::Success);
    assert_eq!(other(&out), vec![(U256::from(0x1234), U256::one())]);
    // 4. unrelated key 5 with the verifier slot empty: guarded (r = 1) -> revert.
    let out = run_hyvm(&req("6001 6005 55 00", 0, 0, 0x1234));
    assert_eq!(out.status, Status::Revert);
    // 5. same with a verifier set: not guarded -> stored.
    let out = run_hyvm(&req("6001 6005 55 00", 0, VERIFIER, 0x1234));
    assert_eq!(out.status, Status::Success);
    assert_eq!(other(&out), vec![(U256::from(5), U256::one())]);
    // 6. owner 0: a guarded store goes ahead normally.
    let out = run_hyvm(&req("6001 6000 55 00", 0, VERIFIER, 0));
    assert_eq!(out.status, Status::Success);
    assert_eq!(other(&out), vec![(U256::zero(), U256::one())]);
    // 7. owner == CALLER (0xca11), guarded key (== v_re = 7): SSTORE(0xca11, 7), and the
    //    value 1 stays on the stack; the guest returns it (MSTORE(0, 1), RETURN(0, 32)).
    //    (Per the spec: SSTORE(7, 1), then MSTORE underflows -> halt.)
    let out = run_hyvm(&req("6001 6007 55 600052 60206000f3", 7, VERIFIER, 0xca11));
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, word(1));
    assert_eq!(other(&out), vec![(U256::from(0xca11), U256::from(7))]);
    // 8. owner == CALLER, verifier slot empty (every key guarded): SSTORE(5, 1) writes
    //    slot 0xca11 := 5 instead.
    let out = run_hyvm(&req("6001 6005 55 600052 60206000f3", 0, 0, 0xca11));
    assert_eq!(out.status, Status::Success);
    assert_eq!(out.output, word(1));
    assert_eq!(other(&out), vec![(U256::from(0xca11), U256::from(5))]);
}

#[test]
fn large_gas_is_exact() {
    // The oracle asserts that the hypervisor frame gets exactly `gas`, also for big budgets.
    for gas in [30_000_000u64, 1_000_000_000] {
        let out = run_hyvm(&HyvmRequest { gas, ..guest("00") });
        assert_eq!((out.status, out.gas_used), (Status::Success, 269));
        let out = run_hyvm(&HyvmRequest {
            gas,
            is_static: true,
            ..guest("fe")
        });
        assert_eq!((out.status, out.gas_used), (Status::Halt, gas));
    }
}

#[test]
fn stack_overflow_depth() {
    // docs/hyvm.md, "Stack depth": an instruction overflows when depth_before + X(op) > 1024.
    // PUSH0 (X = 4): the k-th PUSH0 runs at depth k - 1, so 1021 fit and the 1022nd halts;
    // the final STOP (X = 3) at depth 1021 is fine (1024).
    // PUSH1 (X = 5): 1020 fit, the 1021st halts.
    let r = |code: Vec<u8>| {
        run_hyvm(&HyvmRequest {
            guest: code,
            gas: 1_000_000,
            ..HyvmRequest::default()
        })
    };
    let push0 = |n: usize| [vec![0x5f; n], vec![0x00]].concat();
    let push1 = |n: usize| [[0x60, 0x01].repeat(n), vec![0x00]].concat();
    // 1021 PUSH0 + STOP: 204 + 1021*68 + 65 = 69697
    assert_eq!(r(push0(1021)).status, Status::Success);
    assert_eq!(r(push0(1021)).gas_used, 69_697);
    assert_eq!(r(push0(1022)).status, Status::Halt);
    assert_eq!(r(push1(1020)).status, Status::Success);
    assert_eq!(r(push1(1021)).status, Status::Halt);
}
