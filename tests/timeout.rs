//! The wall-clock deadline of a run (`Config::timeout`): a run past it halts with reason
//! `timeout` on every engine, in nested frames and in a long precompile, and a run well
//! within it is unchanged. Each looping program has gas for years of running, so a check
//! that does not fire hangs the test rather than passing it; no assertion is on timing.

use nestedvm::interp::asm::assemble;
use nestedvm::jit::{CompileOptions, DynamicJumps, OptLevel};
use nestedvm::{
    Account, Address, Config, Engine, HaltReason, JitConfig, Outcome, Profile, Request, Status, Vm,
    U256,
};
use std::time::Duration;

/// Gas for about 10^17 iterations of the loops below: years, were it not for the deadline.
const HUGE_GAS: u64 = 1 << 60;

/// A short deadline: the run reaches its loop long before it.
const SHORT: Duration = Duration::from_millis(100);

/// Loops that never end but by gas: a constant jump back (Cranelift keeps it in registers),
/// a JUMPI on a counter that never reaches zero, and a jump to a target read from memory
/// (the dispatcher of computed jumps, in native code).
const LOOPS: [&str; 3] = [
    "top: JUMPDEST PUSH @top JUMP",
    "PUSH1 1 top: JUMPDEST PUSH1 1 ADD DUP1 PUSH @top JUMPI",
    "top: JUMPDEST PUSH0 MLOAD PUSH @top ADD JUMP",
];

/// Every engine, named: the interpreter, Cranelift, the baseline tier, both policies of
/// computed jumps, and `auto` tiering up within the run (on the running thread, so native
/// code surely runs the loop).
fn engines() -> Vec<(&'static str, Config)> {
    let jit = |opt_level, dynamic_jumps| Config {
        engine: Engine::Jit,
        jit: JitConfig {
            options: CompileOptions {
                opt_level,
                dynamic_jumps,
                ..CompileOptions::default()
            },
            ..JitConfig::default()
        },
        ..Config::default()
    };
    vec![
        (
            "interp",
            Config {
                engine: Engine::Interpreter,
                ..Config::default()
            },
        ),
        ("jit", jit(OptLevel::Speed, DynamicJumps::JumpTable)),
        (
            "jit-interp",
            jit(OptLevel::Speed, DynamicJumps::Interpreter),
        ),
        ("baseline", jit(OptLevel::Baseline, DynamicJumps::JumpTable)),
        (
            "auto",
            Config {
                engine: Engine::Auto,
                jit: JitConfig {
                    hot_after: 100,
                    background: false,
                    ..JitConfig::default()
                },
                ..Config::default()
            },
        ),
    ]
}

fn with_timeout(config: &Config, profile: Profile, timeout: Duration) -> Config {
    Config {
        profile,
        timeout: Some(timeout),
        ..*config
    }
}

fn request(code: &str, gas: u64) -> Request {
    Request {
        gas,
        ..Request::new(assemble(code).expect("assembles"))
    }
}

fn assert_timed_out(o: &Outcome, what: &str) {
    assert_eq!(
        (o.status, o.reason),
        (Status::Halt, Some(HaltReason::Timeout)),
        "{what}"
    );
    assert!(o.storage.is_empty() && o.logs.is_empty(), "{what}: {o:?}");
}

#[test]
fn an_endless_loop_times_out_on_every_engine_and_profile() {
    let mut vm = Vm::new();
    for (name, config) in engines() {
        for profile in [Profile::Hyvm, Profile::Evm] {
            for code in LOOPS {
                let config = with_timeout(&config, profile, SHORT);
                let o = vm.run(&config, &request(code, HUGE_GAS)).expect("runs");
                let what = format!("{name} {profile:?} `{code}`");
                assert_timed_out(&o, &what);
                assert_eq!(o.gas_used, HUGE_GAS, "{what}: a halt takes all the gas");
                if name != "interp" {
                    assert_eq!(o.engine, Engine::Jit, "{what}: native code ran the loop");
                }
            }
        }
    }
}

#[test]
fn a_run_within_a_generous_deadline_is_unchanged() {
    // 2000 iterations storing and logging, then a return: every engine's own result.
    let code = "PUSH2 2000 top: JUMPDEST PUSH1 1 SWAP1 SUB DUP1 DUP1 SSTORE DUP1 PUSH @top JUMPI \
                PUSH1 7 PUSH0 PUSH0 LOG1 PUSH1 42 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";
    let mut vm = Vm::new();
    for (name, config) in engines() {
        for profile in [Profile::Hyvm, Profile::Evm] {
            let plain = Config { profile, ..config };
            let req = request(code, 100_000_000);
            let without = vm.run(&plain, &req).expect("runs");
            assert_eq!(without.status, Status::Success, "{name} {profile:?}");
            let within = vm
                .run(
                    &with_timeout(&config, profile, Duration::from_secs(3600)),
                    &req,
                )
                .expect("runs");
            assert_eq!(within, without, "{name} {profile:?}");
        }
    }
}

#[test]
fn a_loop_in_a_nested_frame_ends_the_whole_run() {
    let mut vm = Vm::new();
    // evm: the top frame stores, then calls 0xbeef, which loops; the store is undone.
    let looping = Account::new(U256::zero(), 1, assemble(LOOPS[1]).expect("assembles"));
    let mut evm = request(
        "PUSH1 1 PUSH1 1 SSTORE \
         PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0xbeef GAS CALL PUSH0 SSTORE STOP",
        HUGE_GAS,
    );
    evm.accounts = vec![(Address::from_low_u64_be(0xbeef), looping)];
    // hyvm: the guest stores, then DELEGATECALLs the hypervisor with a looping guest (`top:
    // JUMPDEST PUSH0 JUMP`, three bytes at guest offset 29) as its input.
    let hyvm = request(
        "PUSH1 1 PUSH1 1 SSTORE PUSH3 0x5b5f56 PUSH0 MSTORE \
         PUSH0 PUSH0 PUSH1 3 PUSH1 29 PUSH2 0x4879 GAS DELEGATECALL PUSH0 SSTORE STOP",
        HUGE_GAS,
    );
    for (name, config) in engines() {
        for (profile, req) in [(Profile::Evm, &evm), (Profile::Hyvm, &hyvm)] {
            let o = vm
                .run(&with_timeout(&config, profile, SHORT), req)
                .expect("runs");
            assert_timed_out(&o, &format!("{name} {profile:?}"));
        }
    }
}

/// EVM code calling BLAKE2F (0x09) with `rounds` rounds and all its gas, returning the call's
/// success flag.
fn blake2f_call(rounds: u32) -> String {
    format!(
        "PUSH4 {rounds} PUSH1 224 SHL PUSH0 MSTORE PUSH1 1 PUSH1 212 MSTORE8 \
         PUSH1 64 PUSH0 PUSH1 213 PUSH0 PUSH1 9 GAS STATICCALL {RETURN_TOP}"
    )
}

const RETURN_TOP: &str = "PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";

#[test]
fn blake2f_of_four_billion_rounds_stops_at_the_deadline() {
    let config = Config {
        profile: Profile::Evm,
        engine: Engine::Interpreter,
        timeout: Some(SHORT),
        ..Config::default()
    };
    let o = Vm::new()
        .run(&config, &request(&blake2f_call(u32::MAX), HUGE_GAS))
        .expect("runs");
    assert_timed_out(&o, "blake2f");
    // A call of a few hundred thousand rounds (run in chunks too) still succeeds in time.
    let o = Vm::new()
        .run(
            &Config {
                timeout: Some(Duration::from_secs(3600)),
                ..config
            },
            &request(&blake2f_call(300_000), HUGE_GAS),
        )
        .expect("runs");
    assert_eq!(o.status, Status::Success);
    assert_eq!(
        U256::from_big_endian(&o.output),
        U256::one(),
        "the call succeeded"
    );
}

#[test]
fn a_deadline_that_passed_between_runs_does_not_touch_the_next() {
    // One VM: a timed-out run leaves nothing behind for a run without a deadline.
    let mut vm = Vm::new();
    let config = Config {
        engine: Engine::Jit,
        ..Config::default()
    };
    let o = vm
        .run(
            &with_timeout(&config, Profile::Hyvm, SHORT),
            &request(LOOPS[0], HUGE_GAS),
        )
        .expect("runs");
    assert_timed_out(&o, "first");
    let finite = request("PUSH1 42 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN", 1_000_000);
    let o = vm.run(&config, &finite).expect("runs");
    assert_eq!(o.status, Status::Success);
    assert_eq!(o.output[31], 42);
}

#[test]
fn code_compiled_for_a_run_without_deadline_is_not_reused_by_one_with() {
    // Code compiled for runs without a deadline has no check points: a later run with one
    // must not loop forever in it.
    for (name, config) in engines().into_iter().skip(1) {
        let mut vm = Vm::new();
        let o = vm
            .run(&config, &request(LOOPS[1], 10_000_000))
            .expect("runs");
        assert_eq!(o.reason, Some(HaltReason::OutOfGas), "{name}");
        let o = vm
            .run(
                &with_timeout(&config, Profile::Hyvm, SHORT),
                &request(LOOPS[1], HUGE_GAS),
            )
            .expect("runs");
        assert_timed_out(&o, name);
    }
}
