//! The call tree and decoded revert reasons: every frame a run makes, in geth's callTracer
//! shape, and revert data read as `Error(string)`, `Panic(uint256)` or a custom error. A
//! traced run ends exactly as an untraced one.

use nestedvm::interp::asm::assemble;
use nestedvm::trace::{
    tree_text, CallFrame, CallTracer, Eip3155Lines, Enter, Exit, FrameKind, RevertReason, Tracer,
};
use nestedvm::{Account, Address, Config, Engine, Outcome, Profile, Request, Status, Vm, U256};
use serde_json::Value;

fn address(n: u64) -> Address {
    Address::from_low_u64_be(n)
}

/// `Error(string)` revert data.
fn error_data(message: &str) -> Vec<u8> {
    let mut data = vec![0x08, 0xc3, 0x79, 0xa0];
    data.extend(U256::from(32).to_big_endian());
    data.extend(U256::from(message.len()).to_big_endian());
    data.extend(message.as_bytes());
    data.resize(4 + 64 + message.len().div_ceil(32) * 32, 0);
    data
}

/// `Panic(uint256)` revert data.
fn panic_data(code: u64) -> Vec<u8> {
    let mut data = vec![0x4e, 0x48, 0x7b, 0x71];
    data.extend(U256::from(code).to_big_endian());
    data
}

/// Code that reverts with `data`: it copies the data from its own end.
fn reverting_with(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let [l0, l1] = len.to_be_bytes();
    // PUSH2 len PUSH2 13 PUSH0 CODECOPY PUSH2 len PUSH0 REVERT, then the data.
    let mut code = vec![
        0x61, l0, l1, 0x61, 0, 13, 0x5f, 0x39, 0x61, l0, l1, 0x5f, 0xfd,
    ];
    code.extend(data);
    code
}

const ERROR_AT: u64 = 0xe1;
const PANIC_AT: u64 = 0xe2;
const CUSTOM_AT: u64 = 0xe3;

/// A program that calls a contract reverting with `Error("nope")`, the identity precompile
/// (STATICCALL), one reverting with a panic (DELEGATECALL), one reverting with a custom
/// error, creates a contract, and returns 32 bytes.
fn program() -> Vec<u8> {
    let call = |kind: &str, to: u64, value: bool| {
        let value = if value { "PUSH0 " } else { "" };
        format!("PUSH0 PUSH0 PUSH1 4 PUSH0 {value}PUSH20 {to:#x} GAS {kind} POP ")
    };
    let source = [
        call("CALL", ERROR_AT, true),
        call("STATICCALL", 4, false),
        call("DELEGATECALL", PANIC_AT, false),
        call("CALL", CUSTOM_AT, true),
        // Init code deploying one byte: PUSH1 0 PUSH0 MSTORE8 PUSH1 1 PUSH0 RETURN.
        "PUSH8 0x60005f5360015ff3 PUSH0 MSTORE PUSH1 8 PUSH1 24 PUSH0 CREATE POP ".into(),
        "PUSH1 42 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN".into(),
    ]
    .concat();
    assemble(&source).expect("assembles")
}

/// The program's request; in `hyvm` the guest runs in the wallet's frame, so its calls leave
/// from the wallet as they do from the contract in `evm`.
fn request(_profile: Profile) -> Request {
    let mut request = Request::new(program());
    request.gas = 1_000_000;
    request.accounts = vec![
        (
            address(ERROR_AT),
            Account::new(U256::zero(), 1, reverting_with(&error_data("nope"))),
        ),
        (
            address(PANIC_AT),
            Account::new(U256::zero(), 1, reverting_with(&panic_data(0x11))),
        ),
        (
            address(CUSTOM_AT),
            Account::new(U256::zero(), 1, reverting_with(&[0xde, 0xad, 0xbe, 0xef])),
        ),
    ];
    request
}

fn config(profile: Profile, engine: Engine) -> Config {
    Config {
        profile,
        engine,
        ..Config::default()
    }
}

fn summary(o: &Outcome) -> (Status, Vec<u8>, u64, i64, usize) {
    (
        o.status,
        o.output.clone(),
        o.gas_used,
        o.gas_refund,
        o.logs.len(),
    )
}

fn tree(profile: Profile) -> (Outcome, CallFrame) {
    let mut calls = CallTracer::new();
    let outcome = Vm::new()
        .run_traced(
            &config(profile, Engine::Auto),
            &request(profile),
            &mut calls,
        )
        .expect("runs");
    (outcome, calls.into_tree().expect("a tree"))
}

#[test]
fn every_frame_is_in_the_tree_with_its_revert_reason() {
    for profile in [Profile::Evm, Profile::Hyvm] {
        let (outcome, root) = tree(profile);
        assert_eq!(outcome.status, Status::Success, "{profile:?}");
        let me = Request::new(Vec::new()).address;
        assert_eq!((root.kind, root.to), (FrameKind::Call, Some(me)));
        assert_eq!(root.gas, 1_000_000);
        assert_eq!(root.gas_used, outcome.gas_used, "{profile:?}");
        assert_eq!(root.output, outcome.output);
        let kinds: Vec<(FrameKind, Status)> =
            root.calls.iter().map(|c| (c.kind, c.status)).collect();
        assert_eq!(
            kinds,
            [
                (FrameKind::Call, Status::Revert),
                (FrameKind::StaticCall, Status::Success),
                (FrameKind::DelegateCall, Status::Revert),
                (FrameKind::Call, Status::Revert),
                (FrameKind::Create, Status::Success),
            ],
            "{profile:?}"
        );
        for call in &root.calls {
            assert_eq!(
                call.from, me,
                "{profile:?}: calls leave from the executing account"
            );
            assert!(call.gas_used <= call.gas, "{call:?}");
            assert!(call.calls.is_empty());
        }
        let [error, identity, panic, custom, create] = &root.calls[..] else {
            unreachable!()
        };
        assert_eq!(
            error.revert_reason(),
            Some(RevertReason::Error("nope".into()))
        );
        assert_eq!(error.value, Some(U256::zero()));
        assert_eq!((identity.to, identity.value), (Some(address(4)), None));
        assert_eq!(
            identity.output, identity.input,
            "the identity precompile echoes"
        );
        assert_eq!(
            panic.revert_reason().map(|r| r.to_string()),
            Some("panic 0x11: arithmetic underflow or overflow".into())
        );
        assert_eq!(panic.value, None, "DELEGATECALL sends no value of its own");
        assert_eq!(
            custom.revert_reason(),
            Some(RevertReason::Custom([0xde, 0xad, 0xbe, 0xef]))
        );
        assert_eq!(
            create.output,
            [0],
            "a create's output is the code it deployed"
        );
        assert!(create.to.is_some_and(|a| a != me));
        // The readable tree: a line a frame, the callees indented, reasons decoded.
        let text = tree_text(&root);
        assert_eq!(text.lines().count(), 6, "{text}");
        assert!(
            text.lines().nth(1).is_some_and(
                |l| l.starts_with("  CALL") && l.ends_with(": execution reverted (nope)")
            ),
            "{text}"
        );
    }
}

#[test]
fn the_tree_is_in_geths_call_tracer_shape() {
    let (_, root) = tree(Profile::Evm);
    let json: Value = serde_json::to_value(&root).expect("serializes");
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // serde_json's map sorts keys; the shape is what matters.
    for key in [
        "type", "from", "to", "value", "gas", "gasUsed", "input", "output", "calls",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert_eq!(json["type"], "CALL");
    assert_eq!(json["gas"], "0xf4240");
    assert_eq!(json["from"], "0x000000000000000000000000000000000000ca11");
    let calls = json["calls"].as_array().expect("calls");
    assert_eq!(calls[0]["error"], "execution reverted");
    assert_eq!(calls[0]["revertReason"], "nope");
    assert!(calls[1].get("value").is_none() && calls[1].get("error").is_none());
    assert_eq!(
        calls[2]["revertReason"],
        "panic 0x11: arithmetic underflow or overflow"
    );
    assert_eq!(calls[3]["revertReason"], "custom error 0xdeadbeef");
    assert_eq!(calls[4]["type"], "CREATE");
    assert_eq!(calls[4]["output"], "0x00");
}

/// Steps as (depth, pc, op), and the frames entered and exited.
#[derive(Default)]
struct Recorder {
    steps: Vec<(usize, usize, u8)>,
    open: usize,
    most_open: usize,
}

impl Tracer for Recorder {
    fn step(&mut self, depth: usize, step: &nestedvm::interp::trace::StepView<'_>) {
        assert_eq!(depth, self.open, "a step runs in the innermost open frame");
        self.steps.push((depth, step.pc, step.op));
    }
    fn enter(&mut self, _: &Enter<'_>) {
        self.open += 1;
        self.most_open = self.most_open.max(self.open);
    }
    fn exit(&mut self, _: &Exit<'_>) {
        self.open -= 1;
    }
}

#[test]
fn a_traced_run_ends_as_an_untraced_one_on_every_engine() {
    for profile in [Profile::Evm, Profile::Hyvm] {
        let untraced: Vec<_> = [Engine::Interpreter, Engine::Jit, Engine::Auto]
            .into_iter()
            .map(|engine| {
                let outcome = Vm::new()
                    .run(&config(profile, engine), &request(profile))
                    .expect("runs");
                summary(&outcome)
            })
            .collect();
        let mut recorder = Recorder::default();
        let traced = Vm::new()
            .run_traced(
                &config(profile, Engine::Jit),
                &request(profile),
                &mut recorder,
            )
            .expect("runs");
        assert_eq!(
            traced.engine,
            Engine::Interpreter,
            "a traced run is interpreted"
        );
        for u in &untraced {
            assert_eq!(*u, summary(&traced), "{profile:?}");
        }
        assert_eq!(recorder.open, 0, "every frame entered was exited");
        assert_eq!(recorder.most_open, 2);
        // The callees' instructions run one level down: REVERT in three of them, and the
        // create's RETURN.
        let deeper: Vec<u8> = recorder
            .steps
            .iter()
            .filter(|(depth, _, _)| *depth == 2)
            .map(|(_, _, op)| *op)
            .filter(|op| matches!(op, 0xfd | 0xf3))
            .collect();
        assert_eq!(deeper, [0xfd, 0xfd, 0xfd, 0xf3], "{profile:?}");
    }
}

#[test]
fn a_top_level_revert_is_decoded_in_the_result_and_its_text() {
    let cases: [(Vec<u8>, Option<&str>); 4] = [
        (error_data("not enough"), Some("not enough")),
        (
            panic_data(0x12),
            Some("panic 0x12: division or modulo by zero"),
        ),
        (
            vec![0x12, 0x34, 0x56, 0x78, 0x9a],
            Some("custom error 0x12345678"),
        ),
        (vec![0x12, 0x34], None),
    ];
    for (data, reason) in cases {
        let config = config(Profile::Evm, Engine::Auto);
        let outcome = Vm::new()
            .run(&config, &Request::new(reverting_with(&data)))
            .expect("runs");
        assert_eq!((outcome.status, &outcome.output), (Status::Revert, &data));
        assert_eq!(
            outcome.revert_reason().map(|r| r.to_string()).as_deref(),
            reason
        );
        let json: Value = serde_json::from_str(&nestedvm::output::to_json(&outcome)).unwrap();
        assert_eq!(json.get("revert_reason").and_then(Value::as_str), reason);
        let text = nestedvm::output::to_text(&outcome);
        let line = text.lines().find(|l| l.starts_with("reverted:"));
        assert_eq!(
            line.map(|l| l["reverted:".len()..].trim()),
            reason,
            "{text}"
        );
    }
    // A success has no revert_reason key: its line is as it always was.
    let ok = Vm::new()
        .run(
            &config(Profile::Evm, Engine::Auto),
            &Request::new(vec![0x00]),
        )
        .expect("runs");
    assert!(!nestedvm::output::to_json(&ok).contains("revert_reason"));
}

#[test]
fn a_batch_puts_the_steps_and_the_tree_in_the_result() {
    let code = nestedvm::output::hex0x(&reverting_with(&error_data("nope")));
    let line =
        format!(r#"{{"id":1,"profile":"evm","code":"{code}","trace":true,"call_trace":true}}"#);
    let mut batch =
        nestedvm::batch::Batch::new(Vm::new(), Config::default(), Request::new(Vec::new()));
    let answer: Value = serde_json::from_str(&batch.answer(&line)).expect("JSON");
    assert_eq!(answer["status"], "revert");
    assert_eq!(answer["revert_reason"], "nope");
    let steps = answer["trace"].as_array().expect("steps");
    // PUSH2 PUSH2 PUSH0 CODECOPY PUSH2 PUSH0 REVERT.
    let ops: Vec<u64> = steps.iter().map(|s| s["op"].as_u64().unwrap()).collect();
    assert_eq!(ops, [0x61, 0x61, 0x5f, 0x39, 0x61, 0x5f, 0xfd]);
    assert_eq!(steps[6]["error"], "execution reverted");
    assert_eq!(steps[0]["gas"], format!("{:#x}", Request::new(vec![]).gas));
    assert_eq!(answer["call_trace"]["revertReason"], "nope");
    assert!(answer.get("trace_truncated").is_none());
    // Without the fields, neither key.
    let plain = batch.answer(&format!(r#"{{"profile":"evm","code":"{code}"}}"#));
    assert!(
        !plain.contains("\"trace\"") && !plain.contains("call_trace"),
        "{plain}"
    );
    let bad = batch.answer(&format!(r#"{{"profile":"evm","code":"{code}","trace":1}}"#));
    assert_eq!(bad, r#"{"error":"`trace` must be true or false"}"#);
}

#[test]
fn steps_past_the_limit_are_left_out_and_said_to_be() {
    let code = assemble("loop: JUMPDEST PUSH @loop JUMP").expect("assembles");
    let mut request = Request::new(code);
    request.gas = 10_000;
    let mut lines = Eip3155Lines::with_limit(4096);
    let outcome = Vm::new()
        .run_traced(&config(Profile::Evm, Engine::Auto), &request, &mut lines)
        .expect("runs");
    assert_eq!(outcome.status, Status::Halt, "the loop runs out of gas");
    assert!(lines.truncated());
    let kept = lines.steps();
    let json: Value = serde_json::from_str(&lines.into_json()).expect("a JSON array");
    let array = json.as_array().expect("array");
    assert_eq!(array.len() as u64, kept);
    assert!(kept > 10 && kept < 100, "{kept} steps in 4 KiB");
}

#[test]
fn the_hypervisors_causes_are_in_the_tree() {
    // A CALL to the hypervisor itself fails on chain (the guest gets 0 and goes on), then a
    // bad jump reverts the guest.
    let hypervisor = nestedvm::DEFAULT_HYPERVISOR;
    let source = format!(
        "PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH20 {:#x} GAS CALL POP PUSH1 0xff JUMP",
        U256::from_big_endian(hypervisor.as_bytes())
    );
    let mut request = Request::new(assemble(&source).expect("assembles"));
    request.gas = 1_000_000;
    let mut calls = CallTracer::new();
    let outcome = Vm::new()
        .run_traced(&Config::default(), &request, &mut calls)
        .expect("runs");
    assert_eq!(outcome.status, Status::Revert);
    let root = calls.into_tree().expect("a tree");
    assert_eq!(
        root.cause, outcome.cause,
        "the top frame's cause is the outcome's"
    );
    assert_eq!(root.cause.map(|c| c.kind.name()), Some("bad_jump"));
    let [call] = &root.calls[..] else {
        panic!("one call: {root:?}")
    };
    assert_eq!(call.to, Some(hypervisor));
    assert_eq!(call.cause.map(|c| c.kind.name()), Some("direct_call"));
    let json = serde_json::to_value(&root).expect("serializes");
    assert_eq!(json["cause"]["kind"], "bad_jump");
    assert_eq!(json["calls"][0]["cause"]["kind"], "direct_call");
    let text = tree_text(&root);
    assert!(text.lines().all(|l| l.contains("[hypervisor: ")), "{text}");
}
