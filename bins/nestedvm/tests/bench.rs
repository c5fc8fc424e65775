//! The benchmark catalogue: the synthetic programs do the work they claim (results computed
//! here in Rust), their names are stable, and `run --batch` compiles repeated code once.
//! `bench`'s agreement check names what differs, and against a pre-state passes on revmc's
//! fixtures. The rest of the `bench` command is tested in `tests/cli.rs`. Timings are never
//! asserted.

use nestedvm::batch::Batch;
use nestedvm::jit::JitCache;
use nestedvm::{AccountState, Address, Config, Engine, Outcome, Profile, Status, Vm, U256};
use nestedvm_cli::bench::measure::{difference, prepare, Checked};
use nestedvm_cli::bench::programs::{catalogue, select, state_test_programs, Program};
use nestedvm_cli::bench::synthetic::*;
use nestedvm_cli::bench::throughput::{batch_defaults, lines, run_batch, Workload};
use nestedvm_cli::engines::ToolEngine;
use nestedvm_cli::observed::Observed;
use std::process::Command;
use std::sync::Arc;
use tiny_keccak::{Hasher, Keccak};

fn program(name: &str) -> Program {
    catalogue()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} is in the catalogue"))
}

fn run(name: &str, profile: Profile) -> Outcome {
    let config = Config {
        profile,
        engine: Engine::Interpreter,
        ..Config::default()
    };
    let outcome = Vm::new()
        .run(&config, &program(name).request(profile))
        .expect("runs");
    assert_eq!(outcome.status, Status::Success, "{name} ({profile})");
    outcome
}

fn word(v: U256) -> Vec<u8> {
    v.to_big_endian().to_vec()
}

fn keccak(data: &[u8]) -> [u8; 32] {
    let mut k = Keccak::v256();
    k.update(data);
    let mut out = [0; 32];
    k.finalize(&mut out);
    out
}

const PROFILES: [Profile; 2] = [Profile::Evm, Profile::Hyvm];

#[test]
fn the_catalogue_has_the_issues_names_once_each() {
    let all = catalogue();
    let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
    for name in [
        "snailtracer",
        "analysis",
        "fib",
        "arith-loop",
        "keccak-loop",
        "memcopy-loop",
        "erc20-loop",
        "dynjump-loop",
        "structarray_alloc",
        "blake2b_shifts",
        "JUMPDEST_n0",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "names repeat: {names:?}");
    // Every input of the state tests, main and micro.
    for stem in [
        "blake2b_huff",
        "sha1_divs",
        "sha1_shifts",
        "swap_math",
        "weierstrudel",
        "memory_grow_mload",
        "memory_grow_mstore",
        "signextend",
    ] {
        assert!(select(&all, stem).len() >= 2, "{stem}");
    }
    assert_eq!(select(&all, "swap_math").len(), 3);
    assert_eq!(select(&all, "sha1").len(), 0, "a prefix is not a name");
    // Programs with call data are evm-only; the synthetic ones run in both profiles.
    assert_eq!(program("snailtracer").profiles(), &[Profile::Evm]);
    assert_eq!(
        program("snailtracer").calldata,
        vec![0x30, 0x62, 0x7b, 0x7c]
    );
    assert_eq!(program("fib").profiles(), &PROFILES);
}

#[test]
fn state_test_inputs_are_named_by_label_and_bad_files_are_errors() {
    let test = r#"{"t":{"_info":{"labels":{"0":"small","1":"big"}},
        "pre":{"0xAA":{"code":"0x00"}},
        "transaction":{"to":"0xaa","data":["0x01","0x0202"]}}}"#;
    let programs = state_test_programs("x", test).expect("parses");
    let names: Vec<&str> = programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["x/small", "x/big"]);
    assert_eq!(programs[1].calldata, vec![2, 2]);
    assert!(state_test_programs("x", "{}").unwrap_err().contains("x"));
    assert!(state_test_programs("x", "not json").is_err());
    let no_code = r#"{"t":{"pre":{},"transaction":{"to":"0xaa","data":["0x"]}}}"#;
    assert!(state_test_programs("x", no_code)
        .unwrap_err()
        .contains("no code"));
}

#[test]
fn fib_returns_fib_n() {
    let (mut a, mut b) = (U256::zero(), U256::one());
    for _ in 0..FIB_N {
        (a, b) = (b, a.overflowing_add(b).0);
    }
    for profile in PROFILES {
        assert_eq!(run("fib", profile).output, word(a), "{profile}");
    }
}

#[test]
fn arith_loop_returns_its_accumulator() {
    let mut acc = U256::zero();
    for i in 1..=ARITH_N {
        acc = acc
            .overflowing_mul(U256::from(3))
            .0
            .overflowing_add(U256::from(i))
            .0;
    }
    for profile in PROFILES {
        assert_eq!(run("arith-loop", profile).output, word(acc), "{profile}");
    }
}

#[test]
fn keccak_loop_returns_the_chained_hash() {
    let mut h = [0u8; 32];
    for _ in 0..KECCAK_N {
        h = keccak(&h);
    }
    for profile in PROFILES {
        assert_eq!(run("keccak-loop", profile).output, h.to_vec(), "{profile}");
    }
}

#[test]
fn memcopy_loop_returns_the_rotated_region() {
    let words = MEMCOPY_WORDS as usize;
    let mut region: Vec<u32> = (1..=MEMCOPY_WORDS).collect();
    for _ in 0..MEMCOPY_PASSES {
        let mut next = vec![0; words];
        for (i, w) in region.iter().enumerate() {
            next[(i + 1) % words] = *w;
        }
        region = next;
    }
    let expected: Vec<u8> = region.iter().flat_map(|w| word(U256::from(*w))).collect();
    for profile in PROFILES {
        assert_eq!(run("memcopy-loop", profile).output, expected, "{profile}");
    }
}

#[test]
fn erc20_loop_moves_the_tokens_and_logs_each_transfer() {
    let n = u64::from(ERC20_N);
    let sent = n * (n + 1) / 2;
    for profile in PROFILES {
        let outcome = run("erc20-loop", profile);
        assert_eq!(
            outcome.output,
            word(U256::from(ERC20_SUPPLY - sent)),
            "{profile}"
        );
        assert_eq!(outcome.logs.len(), ERC20_N as usize, "{profile}");
        // The sender and 64 recipients hold the whole supply.
        assert_eq!(outcome.storage.len(), 65, "{profile}");
        let total = outcome.storage.values().fold(U256::zero(), |a, b| a + *b);
        assert_eq!(total, U256::from(ERC20_SUPPLY), "{profile}");
        // The balance of recipient 0x1000 + j is at keccak256(address . 0).
        let mut key = [0u8; 64];
        key[30] = 0x10;
        let slot = U256::from_big_endian(&keccak(&key));
        let to_0x1000: u64 = (1..=n).filter(|k| k & 63 == 0).sum();
        assert_eq!(outcome.storage[&slot], U256::from(to_0x1000), "{profile}");
        let last = &outcome.logs[ERC20_N as usize - 1];
        assert_eq!(format!("{:?}", last.topics[0]), TRANSFER_TOPIC, "{profile}");
    }
}

#[test]
fn dynjump_loop_calls_its_function_through_computed_jumps() {
    let f = |x: U256, y: U256| {
        (x ^ y)
            .overflowing_mul(U256::from(5))
            .0
            .overflowing_add(U256::one())
            .0
    };
    let mut acc = U256::zero();
    for n in (1..=u64::from(DYNJUMP_N)).rev() {
        acc = f(acc, U256::from(n));
        acc = f(acc, U256::from(n + 7));
    }
    for profile in PROFILES {
        assert_eq!(run("dynjump-loop", profile).output, word(acc), "{profile}");
    }
    // The function's return is a JUMP whose target is not a PUSH just before it.
    let code = program("dynjump-loop").code;
    let text = nestedvm::interp::asm::disassemble(&code);
    let ops: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(ops
        .windows(2)
        .any(|w| w[1] == "JUMP" && !w[0].starts_with("PUSH")));
}

#[test]
fn repeated_batch_payloads_are_compiled_once() {
    let (mut config, request) = batch_defaults();
    // Hot after 16 runs (the default waits 10,000): the payload's blocks run once a run.
    config.jit.hot_after = 16;
    let mut batch = Batch::new(Vm::new(), config, request);
    let repeated = lines(Workload::Repeated, 600);
    let compiles = |b: &Batch| b.vm().jit_cache().compiles();
    let mut answers = Vec::new();
    // Warming up: the guest, and the same code as a plain contract for `evm_gas_used`, tier
    // up in the background (the default) while the batch goes on, until every part of them
    // that runs is compiled (from the first tier-up on, baseline code counts the blocks
    // the interpreter did not, the first of a run among them, so a second tier-up may follow).
    for round in [0..200, 200..400] {
        for line in &repeated[round] {
            answers.push(batch.answer(line));
        }
        nestedvm::jit::background::wait_idle();
    }
    // Each code tiers up once, and with baseline code a second time for its entry block.
    let per_code = if nestedvm::jit::baseline::AVAILABLE {
        2
    } else {
        1
    };
    let after_warm_up = compiles(&batch);
    assert_eq!(after_warm_up, 2 * per_code, "both codes compiled");
    for line in &repeated[400..] {
        answers.push(batch.answer(line));
    }
    nestedvm::jit::background::wait_idle();
    assert_eq!(compiles(&batch), after_warm_up, "cache hits recompiled");
    assert!(
        answers[0].contains("\"engine\":\"interp\""),
        "{}",
        answers[0]
    );
    assert!(
        answers[599].contains("\"engine\":\"jit\""),
        "{}",
        answers[599]
    );
    // Distinct payloads never get hot, so nothing is compiled.
    let (_, distinct_compiles) =
        run_batch(&lines(Workload::Distinct, 300), std::num::NonZeroUsize::MIN).expect("succeeds");
    assert_eq!(distinct_compiles, 0);
}

#[test]
fn compiled_size_of_adversarial_code_grows_linearly() {
    use nestedvm_cli::bench::compile::{adversarial, measure_compile};
    use nestedvm_cli::bench::measure::Settings;
    let settings = Settings {
        samples: 1,
        time: std::time::Duration::ZERO,
        ..Settings::default()
    };
    let (small, large) = (adversarial(2048), adversarial(4096));
    for (s, l) in small.iter().zip(&large) {
        assert_eq!(s.name, l.name);
        let (a, b) = (
            measure_compile(s, &settings, Default::default()).expect("compiles"),
            measure_compile(l, &settings, Default::default()).expect("compiles"),
        );
        assert!(a.machine_bytes > 0, "{}", s.name);
        // Twice the code, about twice the machine code (machine code size is deterministic).
        let ratio = b.machine_bytes as f64 / a.machine_bytes as f64;
        assert!(
            (1.7..=2.3).contains(&ratio),
            "{}: {} then {} bytes of machine code",
            s.name,
            a.machine_bytes,
            b.machine_bytes
        );
    }
}

/// A run against a pre-state as the agreement check sees it: one log with two topics, and one
/// account holding one slot.
fn checked_with_state() -> Checked {
    let token = Address::from_low_u64_be(0xaa);
    let observed = Observed {
        status: Status::Success,
        reason: None,
        output: vec![1],
        gas: Some((30_000, 0)),
        logs: vec![(token, vec![U256::from(7), U256::from(8)], vec![9])],
        storage: Default::default(),
        memory: None,
        pc: None,
        cause: None,
        native: None,
    };
    let account = AccountState {
        storage: [(U256::one(), U256::from(2))].into(),
        ..AccountState::default()
    };
    Checked {
        observed,
        state: Some([(token, account)].into()),
    }
}

#[test]
fn the_agreement_check_names_a_refund_log_or_state_that_differs_against_a_pre_state() {
    let truth = checked_with_state();
    assert_eq!(difference("jit", &truth.clone(), &truth), None);
    let token = Address::from_low_u64_be(0xaa);
    let at = "state differs at 0x00000000000000000000000000000000000000aa";
    let mut cases: Vec<(Checked, String)> = Vec::new();
    let mut refund = truth.clone();
    refund.observed.gas = Some((30_000, 4800));
    cases.push((refund, "gas refund differs: jit 4800, interp 0".into()));
    let mut topic = truth.clone();
    topic.observed.logs[0].1[1] = U256::from(0x18);
    cases.push((topic, "log 0 differs: topic 1 jit 0x18, interp 0x8".into()));
    let mut data = truth.clone();
    data.observed.logs[0].2 = vec![];
    cases.push((data, "log 0 differs: data jit 0x, interp 0x09".into()));
    let mut more = truth.clone();
    more.observed.logs.push(more.observed.logs[0].clone());
    cases.push((more, "logs differ: jit has 2, interp 1".into()));
    let mut slot = truth.clone();
    let state = slot.state.as_mut().expect("a state");
    state
        .get_mut(&token)
        .expect("the token")
        .storage
        .insert(U256::one(), U256::from(3));
    cases.push((slot, format!("{at}: slot 0x1 jit 0x3, interp 0x2")));
    let mut cleared = truth.clone();
    let state = cleared.state.as_mut().expect("a state");
    state.get_mut(&token).expect("the token").storage.clear();
    cases.push((cleared, format!("{at}: slot 0x1 jit 0x0, interp 0x2")));
    let mut balance = truth.clone();
    let state = balance.state.as_mut().expect("a state");
    state.get_mut(&token).expect("the token").balance = U256::from(5);
    cases.push((balance, format!("{at}: balance jit 0x5, interp 0x0")));
    let mut gone = truth.clone();
    gone.state = Some(Default::default());
    cases.push((gone, format!("{at}: interp has the account, jit not")));
    let mut output = truth.clone();
    output.observed.output = vec![2];
    cases.push((
        output,
        "jit: success, gas used 30000, output 0x02; interp: success, gas used 30000, output 0x01"
            .into(),
    ));
    for (theirs, wanted) in cases {
        assert_eq!(
            difference("jit", &theirs, &truth).as_deref(),
            Some(&*wanted)
        );
    }
}

#[test]
fn bench_checks_a_fixture_against_its_pre_state_with_interp_jit_and_revm() {
    let engines = [ToolEngine::Interp, ToolEngine::Jit, ToolEngine::Revm];
    for name in ["revmc/erc20_transfer", "revmc/weth"] {
        // The check alone, to see what it compared: logs and a state, not just a result.
        let cache = Arc::new(JitCache::new(8));
        let (truth, ready) = prepare(
            &program(name),
            Profile::Evm,
            &engines,
            false,
            &cache,
            Default::default(),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ready.len(), 3, "{name}: every engine passed the check");
        assert!(!truth.observed.logs.is_empty(), "{name} logs");
        assert!(truth.state.is_some_and(|s| s.len() >= 2), "{name}: a state");
        // And `bench` itself, whose check is the same.
        let out = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
            .args(["bench", name, "--engines", "interp,jit,revm", "--json"])
            .args(["--samples", "1", "--time", "0"])
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    }
}
