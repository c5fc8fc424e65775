//! `nestedvm difftest`: its contract (exit codes 0, 1 and 2, the closing line, the reproducer)
//! and what its generator reaches. The divergence path is exercised with `interp-broken`, an
//! engine that drops the interpreter's logs, built only with the test-only `fault-injection`
//! feature (which the dev-dependency on the crate itself turns on).

use nestedvm::{Fork, Profile, Status, Vm};
use nestedvm_cli::difftest::gen::Rng;
use nestedvm_cli::difftest::{compare, Case};
use nestedvm_cli::engines::ToolEngine;
use std::collections::HashMap;
use std::process::{Command, Output};

fn nestedvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .args(args)
        .output()
        .expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn last_line(o: &Output) -> String {
    text(&o.stdout).lines().last().unwrap_or("").to_string()
}

#[test]
fn agreeing_engines_exit_0_with_the_closing_line() {
    for args in [
        &["--profile", "evm", "--engines", "interp,jit,revm"][..],
        &["--profile", "hyvm", "--engines", "interp,jit,hyvm-onchain"],
        &["--profile", "hyvm", "--verifier", "--fork", "cancun"],
    ] {
        let mut all = vec!["difftest", "--seed", "0x51", "--count", "60"];
        all.extend_from_slice(args);
        let o = nestedvm(&all);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stdout));
        assert_eq!(last_line(&o), "60 passed, 0 failed", "{args:?}");
        // Not a terminal: no progress bar.
        assert_eq!(text(&o.stderr), "", "{args:?}");
    }
}

/// The line after `prefix` in the output.
fn field<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{out}"))
}

#[test]
fn a_divergence_is_shrunk_reported_and_reproduced() {
    for profile in ["evm", "hyvm"] {
        let o = nestedvm(&[
            "difftest",
            "--profile",
            profile,
            "--engines",
            "interp,interp-broken",
            "--seed",
            "1",
            "--count",
            "500",
        ]);
        assert_eq!(o.status.code(), Some(1), "{profile}");
        let out = text(&o.stdout);
        let closing = last_line(&o);
        let passed: u64 = closing
            .strip_suffix(" passed, 1 failed")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("closing line `{closing}`"));
        assert!(
            out.contains(&format!("divergence in program #{passed} ")),
            "{out}"
        );
        assert!(out.contains("interp-broken differs in logs"), "{out}");
        // The logs are what the fault drops: the shrunk program is a few bytes ending in a LOG.
        let program = field(&out, "program: ");
        assert!(program.len() <= 2 + 2 * 16, "not shrunk: {program}");
        let disassembly = nestedvm(&["disasm", program]);
        assert!(out.contains(text(&disassembly.stdout).trim_end()), "{out}");
        assert!(text(&disassembly.stdout).contains("LOG"), "{out}");
        assert!(field(&out, "  interp: ").contains("logs 1"), "{out}");
        assert!(field(&out, "  interp-broken: ").contains("logs 0"), "{out}");
        // The traces cannot show a dropped log: in evm the interpreter's agrees with revm's,
        // and the report shows where the interpreter's ends, on the LOG's program.
        let traces = if profile == "evm" {
            "interp's and revm's traces agree step for step; the interpreter's trace ends ("
        } else {
            "the interpreter's trace ends ("
        };
        assert!(out.contains(traces), "{out}");
        assert!(out.contains(" LOG"), "{out}");
        // The reproducer is one command that gives the same divergence on its own.
        let reproduce = field(&out, "reproduce: ");
        let args: Vec<&str> = reproduce.split_whitespace().collect();
        assert_eq!(args[..2], ["nestedvm", "difftest"]);
        assert!(
            reproduce.contains(&format!("--code {program}")),
            "{reproduce}"
        );
        let again = nestedvm(&args[1..]);
        assert_eq!(again.status.code(), Some(1), "{reproduce}");
        assert_eq!(last_line(&again), "0 passed, 1 failed");
        assert_eq!(field(&text(&again.stdout), "program: "), program);
    }
}

#[test]
fn the_report_does_not_depend_on_the_threads() {
    let run = |jobs| {
        nestedvm(&[
            "difftest",
            "--engines",
            "interp,interp-broken",
            "--seed",
            "0x77",
            "--count",
            "300",
            "--jobs",
            jobs,
        ])
    };
    let (one, two) = (run("1"), run("2"));
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(text(&one.stdout), text(&two.stdout));
}

#[test]
fn bad_flags_are_short_and_exit_code_2() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--engines", "interp,wasm"],
            "invalid value 'wasm' for '--engines",
        ),
        (&["--engines", "interp,revm"], "evm profile only"),
        (
            &["--profile", "evm", "--engines", "interp,hyvm-onchain"],
            "hyvm profile only",
        ),
        (&["--engines", "interp"], "fewer than two engines"),
        (
            &["--count", "ten"],
            "--count: `ten` is not a 256-bit number",
        ),
        (&["--seed", "0x"], "--seed: `0x` is not a 256-bit number"),
        (
            &["--profile", "evm", "--verifier"],
            "only to the hyvm profile",
        ),
        (&["--profile", "wasm"], "wasm"),
        (&["--fork", "london"], "london"),
        (&["--code", "0x6"], "--code: odd number of hex digits"),
        (&["--jobs", "0"], "--jobs"),
        (
            &["--world", "mainnet"],
            "--world: `mainnet` is none of small, revmc",
        ),
        (&["--compare-traces"], "needs the evm profile"),
        (
            &[
                "--profile",
                "evm",
                "--engines",
                "interp,jit",
                "--compare-traces",
            ],
            "--compare-traces: compares the interpreter's trace with revm's",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["difftest"];
        all.extend_from_slice(args);
        let o = nestedvm(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        // Ours are one line; clap's keep the lines naming the possible values, not its usage.
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.lines().count() <= 3, "{args:?}: {err}");
        assert!(!err.contains("Usage:"), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(text(&o.stdout), "", "{args:?}: nothing runs");
    }
}

/// `--compare-traces` compares every program's interpreter trace with revm's: agreeing
/// programs pass, and a divergence found with it replays with it.
#[test]
fn compare_traces_checks_every_program_and_is_in_the_reproducer() {
    let agree = nestedvm(&[
        "difftest",
        "--profile",
        "evm",
        "--engines",
        "interp,revm",
        "--compare-traces",
        "--seed",
        "0x7ace",
        "--count",
        "200",
    ]);
    assert_eq!(agree.status.code(), Some(0), "{}", text(&agree.stdout));
    assert_eq!(last_line(&agree), "200 passed, 0 failed");
    let o = nestedvm(&[
        "difftest",
        "--profile",
        "evm",
        "--engines",
        "interp,interp-broken,revm",
        "--compare-traces",
        "--count",
        "500",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    let reproduce = field(&out, "reproduce: ");
    assert!(reproduce.contains(" --compare-traces "), "{reproduce}");
    let args: Vec<&str> = reproduce.split_whitespace().collect();
    assert_eq!(nestedvm(&args[1..]).status.code(), Some(1), "{reproduce}");
}

/// The generated cases reach every ending, logs and nested frames, and the comparison of
/// every engine holds on them (the library path the command and the fuzz targets use).
#[test]
fn generated_cases_reach_every_ending_and_agree() {
    for profile in [Profile::Evm, Profile::Hyvm] {
        let engines = match profile {
            Profile::Evm => [ToolEngine::Interp, ToolEngine::JitTable, ToolEngine::Revm],
            Profile::Hyvm => [
                ToolEngine::Interp,
                ToolEngine::JitInterp,
                ToolEngine::HyvmOnchain,
            ],
        };
        let mut vm = Vm::new();
        let mut statuses = HashMap::new();
        let mut with_logs = 0;
        for i in 0..500 {
            let case = Case::nth(0xd1ff, i, profile, Fork::Osaka, false);
            let c = compare(&mut vm, &engines, &case);
            assert!(c.agrees(), "{profile} #{i}: {:?}", c.differences);
            let truth = vm
                .run(
                    &nestedvm::Config {
                        profile,
                        engine: nestedvm::Engine::Interpreter,
                        ..Default::default()
                    },
                    &case.request,
                )
                .expect("runs");
            *statuses.entry(truth.status).or_insert(0) += 1;
            with_logs += usize::from(!truth.logs.is_empty());
        }
        for status in [Status::Success, Status::Revert, Status::Halt] {
            assert!(
                statuses.get(&status).copied().unwrap_or(0) >= 8,
                "{profile}: {statuses:?}"
            );
        }
        assert!(with_logs >= 8, "{profile}: {with_logs} cases with logs");
    }
}

/// The seeds of a campaign: case 0 is the campaign's seed, so `--seed S --count 1` replays it.
#[test]
fn a_case_seed_replays_its_case() {
    let seed = 0x1234;
    for i in [0, 1, 17] {
        let direct = Case::nth(seed, i, Profile::Evm, Fork::Osaka, false);
        let replay = Case::nth(
            nestedvm_cli::difftest::case_seed(seed, i),
            0,
            Profile::Evm,
            Fork::Osaka,
            false,
        );
        assert_eq!(direct.request, replay.request);
    }
    let a = Case::generate(&mut Rng(5), Profile::Hyvm, Fork::Osaka, true);
    let b = Case::generate(&mut Rng(6), Profile::Hyvm, Fork::Osaka, true);
    assert_ne!(a.request.code, b.request.code);
}

/// Found by the first verifier campaign (case seed 0x9ce309e8ebcbac86, shrunk): a STATICCALL
/// whose input is 0x5000 bytes, denied by the verifier. The verifier build's call guard copies
/// the input into its `verifyCall` arguments, bookkeeping whose gas the profile does not
/// model (docs/hyvm.md, the verifier build); with 30000 gas that runs the real hypervisor out of gas
/// where ours reverts, so the status differs too. With more gas both revert. This pins the
/// documented difference, and the generator gives such programs ample gas.
#[test]
fn the_call_guard_bookkeeping_gas_is_the_known_difference_of_the_verifier_build() {
    let code = nestedvm::interp::asm::decode_hex(
        "6150005f5f5f5f5f5f325f465f5f601e318c5f60026000620130e791509091fa",
    )
    .expect("hex");
    let case = |gas| {
        let mut case = Case::nth(1, 0, Profile::Hyvm, Fork::Osaka, true).with_code(code.clone());
        case.request.gas = gas;
        case.request.storage = vec![(nestedvm::interp::hyvm::VERIFIER_SLOT, 0x7e71.into())];
        let wallet = nestedvm_cli::difftest::wallet::wallet_code(gas);
        for (address, account) in &mut case.request.accounts {
            if *address == case.request.address {
                *account = nestedvm::Account::new(0.into(), 1, wallet.clone());
            }
        }
        case
    };
    let engines = [ToolEngine::Interp, ToolEngine::HyvmOnchain];
    let status = |gas| {
        let c = compare(&mut Vm::new(), &engines, &case(gas));
        let statuses: Vec<Option<Status>> = c
            .results
            .iter()
            .map(|(_, r)| r.as_ref().ok().map(|o| o.status))
            .collect();
        (statuses, c.agrees())
    };
    let (revert, halt) = (Some(Status::Revert), Some(Status::Halt));
    assert_eq!(status(30_000), (vec![revert, halt], false));
    assert_eq!(status(40_000), (vec![revert, revert], true));
    // Generated cases that reach the guard run with ample gas.
    for i in 0..200 {
        let c = Case::nth(0x9ce3, i, Profile::Hyvm, Fork::Osaka, true);
        if nestedvm_cli::difftest::case::reaches_call_guard(&c.request.code) {
            assert_eq!(c.request.gas, 5_000_000, "#{i}");
        }
    }
}

/// Code over the JIT's size limit is interpreted by design: not a divergence.
#[test]
fn code_over_the_jit_limit_is_compared_without_the_native_check() {
    let code = format!("0x{}00", "5b".repeat(nestedvm::jit::MAX_COMPILE_LEN + 1));
    let o = nestedvm(&[
        "difftest",
        "--engines",
        "interp,jit",
        "--count",
        "2",
        "--code",
        &code,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert_eq!(last_line(&o), "2 passed, 0 failed");
}

/// The revmc world's contracts hold the balances, allowances and reserves it gives them: a
/// guest reading them back through the contracts' own getters sees exactly those figures, on
/// every engine and on the real hypervisor.
#[test]
fn the_revmc_world_holds_its_balances() {
    use nestedvm::interp::asm::assemble;
    use nestedvm_cli::difftest::defi::{PAIR, TOKEN, WETH};
    use nestedvm_cli::difftest::World;
    let e18 = |n: u64| nestedvm::U256::from(n) * nestedvm::U256::exp10(18);
    // balanceOf(0xc0de) on each token, then getReserves; every word to memory, returned.
    let mut text = String::new();
    for (i, t) in [WETH, TOKEN, PAIR].iter().enumerate() {
        text += &format!(
            "PUSH4 0x70a08231 PUSH1 0xe0 SHL PUSH0 MSTORE PUSH2 0xc0de PUSH1 4 MSTORE \
             PUSH1 32 PUSH2 {} PUSH1 36 PUSH0 PUSH0 PUSH20 {t:#x} GAS CALL POP ",
            0x100 + 32 * i
        );
    }
    text += &format!(
        "PUSH4 0x0902f1ac PUSH1 0xe0 SHL PUSH0 MSTORE PUSH1 96 PUSH2 0x160 PUSH1 4 PUSH0 PUSH0 \
         PUSH20 {PAIR:#x} GAS CALL POP PUSH1 192 PUSH2 0x100 RETURN"
    );
    let code = assemble(&text).expect("assembles");
    for profile in [Profile::Hyvm, Profile::Evm] {
        let case =
            Case::nth_in(3, 0, profile, Fork::Osaka, false, World::Revmc).with_code(code.clone());
        let engines = match profile {
            Profile::Hyvm => [
                ToolEngine::Interp,
                ToolEngine::JitTable,
                ToolEngine::HyvmOnchain,
            ],
            Profile::Evm => [ToolEngine::Interp, ToolEngine::JitTable, ToolEngine::Revm],
        };
        let c = compare(&mut Vm::new(), &engines, &case);
        assert!(c.agrees(), "{profile}: {:?}", c.differences);
        let out = c.results[0].1.as_ref().expect("runs").output.clone();
        let words: Vec<_> = out
            .chunks(32)
            .map(nestedvm::U256::from_big_endian)
            .collect();
        assert_eq!(
            words,
            [
                e18(5),
                e18(1000),
                e18(10),
                e18(100),
                e18(200_000),
                1000.into()
            ],
            "{profile}"
        );
    }
}

/// What revmc-world programs reach on the contracts: every kind of event each contract
/// emits (deposits, withdrawals, transfers, approvals, swaps, mints, burns, syncs) appears in
/// some program that succeeds, in both profiles.
#[test]
fn revmc_world_programs_reach_every_contract_event() {
    use nestedvm::interp::keccak256;
    use nestedvm_cli::difftest::World;
    let events = [
        "Deposit(address,uint256)",
        "Withdrawal(address,uint256)",
        "Transfer(address,address,uint256)",
        "Approval(address,address,uint256)",
        "Swap(address,uint256,uint256,uint256,uint256,address)",
        "Mint(address,uint256,uint256)",
        "Burn(address,uint256,uint256,address)",
        "Sync(uint112,uint112)",
    ];
    for profile in [Profile::Hyvm, Profile::Evm] {
        let mut vm = Vm::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut statuses: HashMap<Status, usize> = HashMap::new();
        for i in 0..400 {
            let case = Case::nth_in(0x7e5, i, profile, Fork::Osaka, false, World::Revmc);
            let config = nestedvm::Config {
                profile,
                engine: nestedvm::Engine::Interpreter,
                ..Default::default()
            };
            let o = vm.run(&config, &case.request).expect("runs");
            *statuses.entry(o.status).or_insert(0) += 1;
            for e in events {
                let topic = keccak256(e.as_bytes());
                if o.logs
                    .iter()
                    .any(|l| l.topics.first().map(|t| t.0) == Some(topic))
                {
                    *seen.entry(e).or_insert(0) += 1;
                }
            }
        }
        for e in events {
            // In `evm`, WETH's `withdraw` sends the ether to the executing account, whose
            // code is the program itself, with a 2300-gas stipend: it fails.
            if profile == Profile::Evm && e.starts_with("Withdrawal") {
                continue;
            }
            assert!(
                seen.get(e).copied().unwrap_or(0) >= 10,
                "{profile}: {e}: {seen:?} {statuses:?}"
            );
        }
        assert!(
            statuses.get(&Status::Success).copied().unwrap_or(0) >= 80,
            "{profile}: {statuses:?}"
        );
    }
}
