//! One memory budget per run: frames' memory, call and return data, outputs, logs, the
//! world's journal and the analysis of `hyvm` guest code all count against
//! `Config::memory_limit`, and passing it halts with `memory_limit` on every engine alike.
//! Each test runs a small budget, so it asserts the run's own accounting rather than the
//! machine's memory.

mod common;

use nestedvm::interp::asm::assemble;
use nestedvm::{Config, Engine, HaltReason, Outcome, Profile, Request, Status, Vm, U256};

/// A budget small enough for a test to pass it with a few hundred kilobytes.
const BUDGET: u64 = 1 << 20;

/// The engines every test runs on: they must halt at the same instruction.
const ENGINES: [Engine; 3] = [Engine::Interpreter, Engine::Jit, Engine::Auto];

fn config(profile: Profile, engine: Engine, memory_limit: u64) -> Config {
    Config {
        profile,
        engine,
        memory_limit,
        ..Config::default()
    }
}

/// Runs `code` in `profile` with plenty of gas on every engine, within `memory_limit`, and
/// returns the outcome they agree on.
fn run(profile: Profile, code: &str, memory_limit: u64) -> Outcome {
    let mut request = Request::new(assemble(code).expect("assembles"));
    request.gas = 10_000_000_000;
    let mut first: Option<Outcome> = None;
    for engine in ENGINES {
        let outcome = Vm::new()
            .run(&config(profile, engine, memory_limit), &request)
            .expect("runs");
        if let Some(first) = &first {
            assert_eq!(
                (first.status, first.reason, &first.output, first.gas_used),
                (
                    outcome.status,
                    outcome.reason,
                    &outcome.output,
                    outcome.gas_used
                ),
                "{engine:?} disagrees with the interpreter"
            );
        } else {
            first = Some(outcome);
        }
    }
    first.expect("one engine ran")
}

fn word(o: &Outcome) -> U256 {
    U256::from_big_endian(&o.output)
}

fn is_memory_limit(o: &Outcome) -> bool {
    (o.status, o.reason) == (Status::Halt, Some(HaltReason::MemoryLimit))
}

#[test]
fn return_data_held_by_waiting_frames_counts() {
    // With call data, the contract returns 200 KiB. Without, it asks itself for those 200 KiB
    // (stopping with 0 when that call fails), then calls itself the same way and returns one
    // more than the level below. Each waiting level holds 200 KiB of return data, and a level
    // returning holds its memory and the copy: the fifth such call does not fit in 1 MiB.
    let code = "CALLDATASIZE PUSH @give JUMPI \
        PUSH0 PUSH0 PUSH1 1 PUSH0 PUSH0 ADDRESS GAS CALL PUSH @deeper JUMPI \
        PUSH0 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN \
        deeper: JUMPDEST PUSH1 32 PUSH0 PUSH0 PUSH0 PUSH0 ADDRESS GAS CALL POP \
        PUSH0 MLOAD PUSH1 1 ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN \
        give: JUMPDEST PUSH3 0x032000 PUSH0 RETURN";
    let o = run(Profile::Evm, code, BUDGET);
    assert_eq!((o.status, word(&o)), (Status::Success, U256::from(4)));
    // The same program under the default budget goes as deep as gas allows.
    let o = run(Profile::Evm, code, nestedvm::interp::memory::MEMORY_LIMIT);
    assert!(word(&o) > U256::from(40), "{}", word(&o));
}

#[test]
fn an_output_is_counted_beside_the_memory_it_is_copied_from() {
    // 400 KiB of memory and its copy fit in 1 MiB; 600 KiB and its copy do not.
    let o = run(Profile::Evm, "PUSH3 0x064000 PUSH0 RETURN", BUDGET);
    assert_eq!((o.status, o.output.len()), (Status::Success, 0x64000));
    let o = run(Profile::Evm, "PUSH3 0x096000 PUSH0 RETURN", BUDGET);
    assert!(is_memory_limit(&o), "{o:?}");
}

#[test]
fn logs_count_until_the_run_ends() {
    // Ten logs of 100 KiB each (1 MB with memory): fine under the default budget, past 1 MiB.
    let code = "PUSH1 10 top: JUMPDEST PUSH3 0x019000 PUSH0 LOG0 \
        PUSH1 1 SWAP1 SUB DUP1 PUSH @top JUMPI STOP";
    let o = run(Profile::Evm, code, nestedvm::interp::memory::MEMORY_LIMIT);
    assert_eq!((o.status, o.logs.len()), (Status::Success, 10));
    let o = run(Profile::Evm, code, BUDGET);
    assert!(is_memory_limit(&o), "{o:?}");
}

#[test]
fn the_worlds_journal_counts() {
    // 5,000 transient slots, or 5,000 storage slots, or 500 contracts created: each leaves
    // journal entries the run holds until it ends (several megabytes in all).
    for code in [
        "PUSH2 5000 top: JUMPDEST DUP1 DUP1 TSTORE PUSH1 1 SWAP1 SUB DUP1 PUSH @top JUMPI STOP",
        "PUSH2 5000 top: JUMPDEST DUP1 DUP1 SSTORE PUSH1 1 SWAP1 SUB DUP1 PUSH @top JUMPI STOP",
        "PUSH2 500 top: JUMPDEST DUP1 PUSH0 PUSH0 PUSH0 CREATE2 POP \
         PUSH1 1 SWAP1 SUB DUP1 PUSH @top JUMPI STOP",
    ] {
        let o = run(Profile::Evm, code, nestedvm::interp::memory::MEMORY_LIMIT);
        assert_eq!(o.status, Status::Success, "{code}");
        let o = run(Profile::Evm, code, BUDGET);
        assert!(is_memory_limit(&o), "{code}: {o:?}");
    }
}

#[test]
fn a_precompiles_input_and_output_count() {
    // The identity precompile copies its input: with memory, the input and the output, 300
    // KiB fits in 1 MiB and 400 KiB does not (the call fails, the caller goes on).
    let call = |len: &str| {
        format!(
            "PUSH0 PUSH0 PUSH3 {len} PUSH0 PUSH1 4 GAS STATICCALL \
             RETURNDATASIZE PUSH0 MSTORE PUSH0 MSTORE8 PUSH1 32 PUSH0 RETURN"
        )
    };
    let o = run(Profile::Evm, &call("0x04b000"), BUDGET);
    assert_eq!(o.status, Status::Success);
    assert_eq!(
        (o.output[0], word(&o) & U256::from(u32::MAX)),
        (1, U256::from(0x4b000))
    );
    let o = run(Profile::Evm, &call("0x064000"), BUDGET);
    assert_eq!(o.status, Status::Success);
    assert_eq!(
        (o.output[0], word(&o) & U256::from(u32::MAX)),
        (0, U256::zero())
    );
}

#[test]
fn guest_code_entering_through_the_hypervisor_counts_its_analysis() {
    // A guest runs 100 KiB of zeros (STOPs) as an inner guest: its analysis is counted at 64
    // bytes a byte, which 1 MiB cannot hold, so the inner call fails; by default it runs.
    let code = "PUSH0 PUSH0 PUSH3 0x019000 PUSH0 PUSH2 0x4879 GAS DELEGATECALL \
        PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";
    let o = run(Profile::Hyvm, code, nestedvm::interp::memory::MEMORY_LIMIT);
    assert_eq!((o.status, word(&o)), (Status::Success, U256::one()));
    let o = run(Profile::Hyvm, code, BUDGET);
    assert_eq!((o.status, word(&o)), (Status::Success, U256::zero()));
}

#[test]
fn the_readme_reproducers_end_within_the_default_budget() {
    // From issue 19: each of these grew the process by gigabytes before the budget covered
    // what they hold. Each now ends with a result of its own.
    let max_gas = u64::MAX;
    let cases: [(Profile, &str); 4] = [
        // A self-call chain, each level holding 32 MiB of return data.
        (
            Profile::Evm,
            "0x366017575f5f60015f5f305af1505f5f5f5f5f305af1005b63020000005ff3",
        ),
        // A guest returning almost 1 GiB: its memory and the copy do not fit together.
        (Profile::Hyvm, "0x633ffffc005ff3"),
        // A 512 MiB LOG0.
        (Profile::Evm, "0x63200000005fa000"),
        // CREATE2 in a loop, forever.
        (Profile::Evm, "0x5b5a5f5f5ff550600056"),
    ];
    for (profile, hex) in cases {
        let code = nestedvm::parse::parse_hex("code", hex).expect("hex");
        let mut request = Request::new(code);
        request.gas = max_gas;
        let o = Vm::new()
            .run(
                &config(
                    profile,
                    Engine::Auto,
                    nestedvm::interp::memory::MEMORY_LIMIT,
                ),
                &request,
            )
            .expect("runs");
        assert!(
            is_memory_limit(&o) || o.status == Status::Success,
            "{hex}: {o:?}"
        );
        assert!(o.output.len() < 1 << 30, "{hex}");
    }
}
