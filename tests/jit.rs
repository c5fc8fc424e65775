//! The JIT against the interpreter, the truth: every program the other tests run, and
//! generated ones, through both engines under both dynamic-jump policies, both Cranelift optimization
//! levels and the baseline tier, in both profiles. Status, halt reason, output, gas used, refund, logs, storage,
//! host memory at the end, the halting pc, the hypervisor's cause and the plain-contract gas
//! must be equal.

mod common;

use common::gen::{program, world_accounts, Choices, Rng};
use common::vmfixture::load_all;
use common::{jit_configs, tiered};
use nestedvm::engine::JitConfig;
use nestedvm::{Config, Engine, Fork, Outcome, Profile, Request, Vm, U256};
use std::path::Path;

fn config(profile: Profile, fork: Fork, engine: Engine, jit: JitConfig) -> Config {
    Config {
        profile,
        fork,
        engine,
        jit,
        evm_gas: profile == Profile::Hyvm,
        ..Config::default()
    }
}

/// What differs between two outcomes (the engine aside).
fn differences(a: &Outcome, b: &Outcome) -> Vec<String> {
    let mut d = Vec::new();
    macro_rules! field {
        ($f:ident) => {
            if a.$f != b.$f {
                d.push(format!("{}: {:?} vs {:?}", stringify!($f), a.$f, b.$f));
            }
        };
    }
    field!(status);
    field!(reason);
    field!(output);
    field!(gas_used);
    field!(gas_refund);
    field!(logs);
    field!(storage);
    field!(evm_gas_used);
    field!(pc);
    field!(cause);
    if a.memory != b.memory {
        d.push(format!(
            "memory differs ({} vs {} bytes)",
            a.memory.len(),
            b.memory.len()
        ));
    }
    d
}

/// Runs `req` on the interpreter and every JIT configuration; `Err` names what differs.
/// In `hyvm`, the real hypervisor must agree with the interpreter too, when it can run the
/// request (the wallet then holds the harness's code, as on chain).
fn compare(profile: Profile, fork: Fork, req: &Request) -> Result<Outcome, String> {
    let interp = config(profile, fork, Engine::Interpreter, JitConfig::default());
    let onchain = common::hypervisor_can_judge(&interp, req);
    let mut req = req.clone();
    if onchain {
        common::give_wallet_its_code(&mut req);
    }
    let req = &req;
    let truth = Vm::new().run(&interp, req).map_err(|e| e.to_string())?;
    if onchain {
        common::against_hypervisor(&interp, req, &truth)
            .map_err(|e| format!("vs the real hypervisor: {e}"))?;
    }
    // One engine's run, `Err` naming what differs from the interpreter's.
    let agreeing = |name: &str, engine, jit| -> Result<Outcome, String> {
        let o = Vm::new()
            .run(&config(profile, fork, engine, jit), req)
            .map_err(|e| e.to_string())?;
        let d = differences(&truth, &o);
        if d.is_empty() {
            Ok(o)
        } else {
            Err(format!("{name}: {}", d.join("; ")))
        }
    };
    for (name, jit) in jit_configs() {
        let o = agreeing(name, Engine::Jit, jit)?;
        if o.engine != Engine::Jit {
            return Err(format!("{name}: ran on {}, not native code", o.engine));
        }
    }
    // Tiered: a block is hot after two runs, so the run moves between the interpreter (or
    // baseline code, from the first tier-up on) and units compiled from parts of the code
    // (it may also never get hot).
    for baseline in [false, true] {
        agreeing(
            &format!("tiered (baseline {baseline})"),
            Engine::Auto,
            tiered(baseline),
        )?;
    }
    Ok(truth)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn vm_fixtures_agree_in_both_profiles() {
    let fixtures = load_all(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vm"
    )));
    assert!(fixtures.len() > 300);
    let mut failures = Vec::new();
    for f in &fixtures {
        let mut req = Request::new(f.code.clone());
        req.gas = f.gas.min(100_000_000);
        req.accounts = f
            .pre
            .iter()
            .filter(|a| a.address != f.address)
            .map(|a| {
                (
                    a.address,
                    nestedvm::Account::new(a.balance, a.nonce, a.code.clone())
                        .with_storage(a.storage.iter().copied()),
                )
            })
            .collect();
        req.address = f.address;
        req.caller = f.caller;
        req.value = f.value;
        let evm = Request {
            calldata: f.calldata.clone(),
            ..req.clone()
        };
        if let Err(e) = compare(Profile::Evm, Fork::Osaka, &evm) {
            failures.push(format!("evm {}: {e}", f.name));
        }
        if let Err(e) = compare(Profile::Hyvm, Fork::Osaka, &req) {
            failures.push(format!("hyvm {}: {e}", f.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

fn campaign(profile: Profile, seed: u64, count: usize) {
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    for n in 0..count {
        let len = 5 + rng.below(60) as usize;
        let mut req = Request::new(program(&mut rng, len));
        req.gas = [3_000, 30_000, 100_000, 1_000_000][rng.below(4) as usize];
        req.accounts = world_accounts();
        req.value = U256::from(rng.below(3));
        if profile == Profile::Evm {
            req.calldata = (0..rng.below(70)).map(|_| rng.next() as u8).collect();
        }
        if rng.chance(30) {
            req.storage = vec![(U256::from(rng.below(4)), U256::from(rng.below(3)))];
        }
        let fork = Fork::ALL[rng.below(4) as usize];
        if let Err(e) = compare(profile, fork, &req) {
            failures.push(format!(
                "seed {seed:#x} #{n} {profile} {fork} gas {} code 0x{}: {e}",
                req.gas,
                hex(&req.code)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(6)].join("\n")
    );
}

#[test]
fn generated_programs_agree_in_evm() {
    campaign(Profile::Evm, 0x717_0001, common::campaign_size(1500));
}

#[test]
fn generated_programs_agree_in_hyvm() {
    campaign(Profile::Hyvm, 0x717_0002, common::campaign_size(1500));
}

/// Runs `req` (with its gas) and then with every gas limit up to the gas it used (at most
/// `cap`) in about `steps` steps; the first difference, naming the gas.
fn sweep_gas(profile: Profile, req: &mut Request, cap: u64, steps: u64) -> Result<(), String> {
    let full = compare(profile, Fork::Osaka, req)
        .map_err(|e| format!("full gas: {e}"))?
        .gas_used
        .min(cap);
    let step = (full / steps).max(1);
    let mut gas = 0;
    while gas <= full + 1 {
        req.gas = gas;
        compare(profile, Fork::Osaka, req).map_err(|e| format!("gas {gas}: {e}"))?;
        gas += step;
    }
    Ok(())
}

/// [`sweep_gas`] over `code` (with a million gas, swept up to 100,000) in both profiles.
fn sweep_gas_in_both_profiles(code: &[u8], steps: u64) {
    let mut failures = Vec::new();
    for profile in [Profile::Evm, Profile::Hyvm] {
        let mut req = Request::new(code.to_vec());
        req.gas = 1_000_000;
        if let Err(e) = sweep_gas(profile, &mut req, 100_000, steps) {
            failures.push(format!("{profile}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Out of gas at every position: the same program with every gas limit up to what it needs.
#[test]
fn out_of_gas_at_every_position_agrees() {
    let mut rng = Rng(0x717_0003);
    let mut failures = Vec::new();
    for profile in [Profile::Evm, Profile::Hyvm] {
        for _ in 0..6 {
            let code = program(&mut rng, 25);
            let mut req = Request::new(code);
            req.accounts = world_accounts();
            req.gas = 200_000;
            if let Err(e) = sweep_gas(profile, &mut req, 60_000, 400) {
                failures.push(format!("{profile} code 0x{}: {e}", hex(&req.code)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Constants pushed once, then a long straight run that works on them after builtin calls
/// and across segment cuts (where the JIT carries them as known values): word ops by those
/// constants, with builtin calls (CALLER, ADDRESS) in between. Every gas limit, so native
/// code also hands over in the middle and is re-entered after the cuts.
#[test]
fn constants_carried_across_builtins_and_segment_cuts_agree() {
    let mut rng = Rng(0x717_0005);
    let mut code = Vec::new();
    // Stack: 13 constants, then x (CALLER, NOT: high bits set), then the accumulator.
    for c in [0u8, 1, 3, 7, 8, 15, 19, 20, 30, 31, 32, 200, 255] {
        code.extend([0x60, c]);
    }
    code.extend([0x33, 0x19, 0x33]); // CALLER NOT CALLER: a builtin call over the constants
    for _ in 0..300 {
        // DUP2 (x), DUPk (a constant), an op by that constant, XOR into the accumulator.
        let k = 4 + rng.below(13) as u8;
        code.extend([0x81, 0x7f + k]);
        code.push([0x0b, 0x1a, 0x1b, 0x1c, 0x1d][rng.below(5) as usize]);
        code.push(0x18);
        match rng.below(5) {
            0 => code.extend([0x33, 0x50]), // CALLER POP
            1 => code.extend([0x30, 0x01]), // ADDRESS ADD
            _ => {}
        }
    }
    code.extend([0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3]); // PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
    sweep_gas_in_both_profiles(&code, 150);
}

#[test]
fn hand_written_programs_agree() {
    let programs = [
        // Loops: a counter to 100, a dynamic jump in the loop, memory growth in the loop.
        "PUSH0 l: JUMPDEST PUSH1 1 ADD DUP1 PUSH1 100 GT PUSH @l JUMPI PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH0 l: JUMPDEST PUSH1 1 ADD DUP1 PUSH1 100 GT PUSH @l CALLVALUE ADD JUMPI PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH0 l: JUMPDEST DUP1 DUP1 MSTORE PUSH1 32 ADD DUP1 PUSH2 0x2000 GT PUSH @l JUMPI MSIZE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        // Arithmetic edge cases.
        "PUSH32 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff PUSH1 1 ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH1 1 PUSH0 SUB PUSH32 0x8000000000000000000000000000000000000000000000000000000000000001 MUL PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH32 0x8000000000000000000000000000000000000000000000000000000000000000 PUSH1 1 SLT PUSH1 1 PUSH32 0x8000000000000000000000000000000000000000000000000000000000000000 SGT ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH32 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 DUP1 PUSH1 3 BYTE SWAP1 DUP1 PUSH1 77 SHL SWAP1 PUSH1 130 SHR ADD ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        // GAS inside a segment, and PC.
        "GAS PUSH1 1 PUSH1 2 ADD POP GAS SWAP1 SUB PC ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        // Memory at huge offsets, MSTORE8, MLOAD of fresh memory.
        "PUSH1 0xab PUSH21 0x010000000000000000000000000000000000000005 MSTORE8 PUSH0 MLOAD PUSH1 64 MLOAD ADD PUSH0 MSTORE PUSH1 96 PUSH0 RETURN",
        "PUSH1 1 PUSH32 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0 MSTORE",
        // Bad jumps, constant and computed, and into push data.
        "PUSH1 3 JUMP",
        "PUSH1 2 CALLVALUE ADD JUMP",
        "PUSH1 4 JUMP PUSH2 0x5b60 PUSH1 7 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH1 1 PUSH1 0x55 JUMPI STOP",
        "PUSH1 1 PUSH2 0x1234 CALLVALUE ADD JUMPI STOP",
        // Deep stacks and underflow in the middle of a segment.
        "PUSH1 1 ADD",
        "PUSH1 1 PUSH1 2 SWAP2",
        // Calls, creates, logs and storage.
        "PUSH1 32 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x1000 GAS CALL PUSH0 MLOAD PUSH1 1 SSTORE PUSH1 7 PUSH0 PUSH0 LOG1",
        "PUSH5 0x6001600055 PUSH0 MSTORE PUSH1 5 PUSH1 27 PUSH0 CREATE PUSH0 SSTORE",
        "PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x3000 PUSH2 0x2000 CALL PUSH0 SSTORE",
    ];
    let mut failures = Vec::new();
    for text in programs {
        let code = nestedvm::interp::asm::assemble(text).expect("assembles");
        for profile in [Profile::Evm, Profile::Hyvm] {
            let mut req = Request::new(code.clone());
            req.accounts = world_accounts();
            req.gas = 1_000_000;
            if let Err(e) = compare(profile, Fork::Osaka, &req) {
                failures.push(format!("{profile} `{text}`: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `req` run by the interpreter under `base` otherwise.
fn interpreted(base: &Config, req: &Request) -> Outcome {
    let config = Config {
        engine: Engine::Interpreter,
        ..*base
    };
    Vm::new().run(&config, req).expect("runs")
}

/// `auto` tiering up on the running thread, where the tests can tell when.
fn auto(hot_after: u32) -> Config {
    Config {
        engine: Engine::Auto,
        jit: JitConfig {
            hot_after,
            background: false,
            ..JitConfig::default()
        },
        ..Config::default()
    }
}

/// A loop of 50 iterations, then the counter returned.
const LOOP_50: &str =
    "PUSH0 l: JUMPDEST PUSH1 1 ADD DUP1 PUSH1 50 GT PUSH @l JUMPI PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";

#[test]
fn auto_compiles_a_hot_loop_during_its_first_run() {
    let req = Request::new(nestedvm::interp::asm::assemble(LOOP_50).expect("assembles"));
    let truth = Vm::new()
        .run(&auto(u32::MAX), &req)
        .expect("runs interpreted");
    assert_eq!(truth.engine, Engine::Interpreter);
    let mut vm = Vm::new();
    let first = vm.run(&auto(10), &req).expect("runs");
    assert_eq!(
        first.engine,
        Engine::Jit,
        "the loop got hot in the first run"
    );
    assert!(differences(&truth, &first).is_empty());
    assert_eq!(vm.jit_cache().compiles(), 1);
}

#[test]
fn background_tier_ups_are_there_for_the_next_run() {
    let req = Request::new(nestedvm::interp::asm::assemble(LOOP_50).expect("assembles"));
    let truth = Vm::new()
        .run(&auto(u32::MAX), &req)
        .expect("runs interpreted");
    let background = Config {
        jit: JitConfig {
            background: true,
            ..auto(10).jit
        },
        ..auto(10)
    };
    let mut vm = Vm::new();
    let first = vm.run(&background, &req).expect("runs");
    assert!(differences(&truth, &first).is_empty());
    assert_eq!(
        vm.jit_cache().compiles(),
        1,
        "the hot loop went to the compiler"
    );
    nestedvm::jit::background::wait_idle();
    let second = vm.run(&background, &req).expect("runs");
    assert_eq!(second.engine, Engine::Jit);
    assert!(differences(&truth, &second).is_empty());
    assert_eq!(vm.jit_cache().compiles(), 1);
}

#[test]
fn background_tier_ups_landing_at_any_time_agree_on_generated_programs() {
    // Each program again and again on one VM, a block hot after two runs, until two runs
    // have taken native code (at most 400 runs): units compiled in the background land
    // whenever they are ready, while the runs go on.
    let mut rng = Rng(0x717_0009);
    let mut failures = Vec::new();
    let (mut native_runs, mut programs) = (0, 0);
    for profile in [Profile::Evm, Profile::Hyvm] {
        for n in 0..common::campaign_size(200) {
            let len = 5 + rng.below(60) as usize;
            let mut req = Request::new(program(&mut rng, len));
            req.gas = [30_000, 1_000_000][rng.below(2) as usize];
            req.accounts = world_accounts();
            let base = Config {
                evm_gas: false,
                ..config(
                    profile,
                    Fork::Osaka,
                    Engine::Auto,
                    JitConfig {
                        hot_after: 2,
                        ..JitConfig::default()
                    },
                )
            };
            let truth = interpreted(&base, &req);
            let mut vm = Vm::new();
            let mut native = 0;
            for k in 0..400 {
                if native == 2 {
                    break;
                }
                let o = vm.run(&base, &req).expect("runs");
                native += usize::from(o.engine == Engine::Jit);
                let d = differences(&truth, &o);
                if !d.is_empty() {
                    failures.push(format!(
                        "{profile} #{n} run {k} code 0x{}: {}",
                        hex(&req.code),
                        d.join("; ")
                    ));
                }
            }
            native_runs += native;
            programs += 1;
        }
    }
    nestedvm::jit::background::wait_idle();
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(6)].join("\n")
    );
    // Many programs stop in their first blocks and never tier up (about half of them).
    assert!(
        native_runs * 2 > programs,
        "{native_runs} native runs in {programs} programs"
    );
}

#[test]
fn a_run_takes_native_code_compiled_in_the_background_midway() {
    // A loop of 10,000,000 iterations: a quarter of a second interpreted or more, where the
    // compiler needs a few to compile the loop. The run starts in the interpreter, goes on
    // there while the loop compiles, and enters the native loop once it is installed.
    let text = "PUSH0 l: JUMPDEST PUSH1 1 ADD DUP1 PUSH3 0x989680 GT PUSH @l JUMPI \
        PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";
    let mut req = Request::new(nestedvm::interp::asm::assemble(text).expect("assembles"));
    // The hypervisor's own gas per guest instruction is some ten times the EVM's.
    req.gas = 20_000_000_000;
    for profile in [Profile::Evm, Profile::Hyvm] {
        let base = Config {
            evm_gas: false,
            ..config(profile, Fork::Osaka, Engine::Auto, JitConfig::default())
        };
        let truth = interpreted(&base, &req);
        assert_eq!(
            U256::from_big_endian(&truth.output),
            U256::from(10_000_000),
            "{truth:?}"
        );
        let mut vm = Vm::new();
        let o = vm.run(&base, &req).expect("runs");
        assert!(base.jit.background);
        let d = differences(&truth, &o);
        assert!(d.is_empty(), "{profile}: {}", d.join("; "));
        assert_eq!(o.engine, Engine::Jit, "{profile}: native code taken midway");
        assert_eq!(vm.jit_cache().compiles(), 1, "{profile}");
    }
}

#[test]
fn auto_heat_adds_up_across_runs_and_nothing_compiles_twice() {
    // The loop's head runs 50 times a run: hot after 120 means during the third run.
    let req = Request::new(nestedvm::interp::asm::assemble(LOOP_50).expect("assembles"));
    let mut vm = Vm::new();
    let runs: Vec<Outcome> = (0..6)
        .map(|_| vm.run(&auto(120), &req).expect("runs"))
        .collect();
    let engines: Vec<Engine> = runs.iter().map(|o| o.engine).collect();
    assert_eq!(
        engines,
        [
            Engine::Interpreter,
            Engine::Interpreter,
            Engine::Jit,
            Engine::Jit,
            Engine::Jit,
            Engine::Jit
        ]
    );
    for o in &runs[1..] {
        assert!(differences(&runs[0], o).is_empty());
    }
    // One tier-up: the code around the loop runs once a run and never gets hot.
    assert_eq!(vm.jit_cache().compiles(), 1);
}

#[test]
fn cold_codes_passing_through_do_not_evict_a_hot_contract() {
    let cache = std::sync::Arc::new(nestedvm::jit::JitCache::new(4));
    let mut vm = Vm::with_jit_cache(cache.clone());
    let hot = Request::new(nestedvm::interp::asm::assemble(LOOP_50).expect("assembles"));
    assert_eq!(vm.run(&auto(10), &hot).expect("runs").engine, Engine::Jit);
    assert_eq!(cache.compiles(), 1);
    // Twenty distinct straight-line codes: each gets an entry, none gets hot.
    for i in 0..20u8 {
        let cold = Request::new(vec![0x60, i, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3]);
        let o = vm.run(&auto(10), &cold).expect("runs");
        assert_eq!(o.engine, Engine::Interpreter);
        assert!(cache.len() <= 4);
    }
    assert_eq!(vm.run(&auto(10), &hot).expect("runs").engine, Engine::Jit);
    assert_eq!(cache.compiles(), 1, "the hot contract kept its native code");
}

#[test]
fn tiering_stops_after_its_last_unit() {
    // Ten loops one after another, each getting hot on its own: eight tier-ups, the last
    // taking what has run, then the rest stays interpreted.
    let mut text = String::new();
    for k in 0..10 {
        text += &format!("PUSH0 l{k}: JUMPDEST PUSH1 1 ADD DUP1 PUSH1 30 GT PUSH @l{k} JUMPI POP ");
    }
    text += "PUSH1 7 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";
    let req = Request::new(nestedvm::interp::asm::assemble(&text).expect("assembles"));
    let base = Config {
        evm_gas: false,
        ..Config::default()
    };
    let truth = interpreted(&base, &req);
    let mut vm = Vm::new();
    let tiered = Config {
        engine: Engine::Auto,
        jit: JitConfig {
            hot_after: 20,
            background: false,
            ..JitConfig::default()
        },
        ..base
    };
    let o = vm.run(&tiered, &req).expect("runs");
    assert_eq!(o.engine, Engine::Jit);
    assert!(differences(&truth, &o).is_empty());
    assert_eq!(
        vm.jit_cache().compiles(),
        u64::from(nestedvm::jit::tiered::MAX_TIER_UPS)
    );
    // Nothing is counted any more, so running it again compiles nothing.
    vm.run(&tiered, &req).expect("runs");
    assert_eq!(
        vm.jit_cache().compiles(),
        u64::from(nestedvm::jit::tiered::MAX_TIER_UPS)
    );
}

#[test]
fn tiered_units_hand_over_to_each_other_and_to_the_interpreter() {
    // Two loops, each calling one subroutine (a jump there, a computed jump back): the first
    // loop gets hot and is compiled with the subroutine; the second gets hot later and is
    // compiled into a second unit, so its calls cross from one unit to the other and back.
    let text = "PUSH0 \
        a: JUMPDEST PUSH @ra PUSH @sub JUMP ra: JUMPDEST DUP1 PUSH1 40 GT PUSH @a JUMPI \
        b: JUMPDEST PUSH @rb PUSH @sub JUMP rb: JUMPDEST DUP1 PUSH1 90 GT PUSH @b JUMPI \
        PUSH0 MSTORE PUSH1 32 PUSH0 RETURN \
        sub: JUMPDEST SWAP1 PUSH1 1 ADD SWAP1 JUMP";
    let code = nestedvm::interp::asm::assemble(text).expect("assembles");
    let req = Request::new(code);
    for profile in [Profile::Evm, Profile::Hyvm] {
        let interp = Config {
            evm_gas: false,
            ..config(
                profile,
                Fork::Osaka,
                Engine::Interpreter,
                JitConfig::default(),
            )
        };
        let truth = Vm::new().run(&interp, &req).expect("runs");
        assert_eq!(U256::from_big_endian(&truth.output), U256::from(90));
        let tiered = JitConfig {
            hot_after: 20,
            background: false,
            ..JitConfig::default()
        };
        // Without the plain-contract rerun of `hyvm`, which would tier up on its own.
        let auto = Config {
            evm_gas: false,
            ..config(profile, Fork::Osaka, Engine::Auto, tiered)
        };
        let mut vm = Vm::new();
        let o = vm.run(&auto, &req).expect("runs");
        assert_eq!(o.engine, Engine::Jit, "{profile}");
        let d = differences(&truth, &o);
        assert!(d.is_empty(), "{profile}: {}", d.join("; "));
        assert_eq!(vm.jit_cache().compiles(), 2, "{profile}: two units");
    }
}

#[test]
fn compiled_code_is_shared_across_threads() {
    let cache = std::sync::Arc::new(nestedvm::jit::JitCache::new(16));
    let code = nestedvm::interp::asm::assemble("PUSH1 7 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN")
        .expect("assembles");
    let outputs: Vec<Vec<u8>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let cache = cache.clone();
                let code = code.clone();
                s.spawn(move || {
                    let config = Config {
                        engine: Engine::Jit,
                        ..Config::default()
                    };
                    let o = Vm::with_jit_cache(cache)
                        .run(&config, &Request::new(code))
                        .expect("runs");
                    assert_eq!(o.engine, Engine::Jit);
                    o.output
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joins"))
            .collect()
    });
    assert!(outputs.iter().all(|o| *o == outputs[0]));
    assert_eq!(cache.len(), 1, "one compiled code for all threads");
}

/// The verifier build's store guard can leave the guest's value on the stack (the owner's
/// redirect): native code after it must not trust the heights checked on segment entry.
#[test]
fn verifier_store_redirect_near_the_stack_limit_agrees() {
    let owner = (nestedvm::interp::hyvm::OWNER_SLOT, U256::from(0xca11));
    let mut failures = Vec::new();
    for depth in 1008..=1019 {
        let mut code = vec![0x5f; depth];
        code.extend([0x60, 1, 0x60, 5, 0x55]);
        code.extend([0x5f; 6]);
        code.extend([0x60, 0x20, 0x5f, 0xf3]);
        let mut req = Request::new(code);
        req.storage = vec![owner];
        req.gas = 10_000_000;
        let run = |engine, jit| {
            let config = Config {
                verifier: true,
                engine,
                jit,
                ..Config::default()
            };
            Vm::new().run(&config, &req).expect("runs")
        };
        let truth = run(Engine::Interpreter, JitConfig::default());
        for (name, jit) in jit_configs() {
            let o = run(Engine::Jit, jit);
            let d = differences(&truth, &o);
            if !d.is_empty() {
                failures.push(format!("depth {depth} {name}: {}", d.join("; ")));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every arithmetic and bitwise opcode on edge-case words, with operands known at compile
/// time and computed at run time (`CALLVALUE ADD` hides the constant: the value is 0, but only
/// at run time).
#[test]
fn arithmetic_on_edge_words_agrees() {
    use nestedvm::interp::opcode::{self, OPCODES};
    let words = [
        U256::zero(),
        U256::one(),
        U256::from(7),
        U256::from(31),
        U256::from(32),
        U256::from(255),
        U256::from(256),
        U256::MAX,
        U256::one() << 255,
        (U256::one() << 255) - 1,
        U256::from(u64::MAX),
        U256::from(u64::MAX) + 1,
        // -2^63 and 2^63 - 1: the edges of the 64-bit division fast path.
        U256::MAX << 63,
        U256::from(i64::MAX as u64),
    ];
    let mut failures = Vec::new();
    for op in (0x01..=0x0bu8).chain(0x10..=0x1e) {
        let Some(info) = OPCODES[op as usize] else {
            continue;
        };
        for (i, a) in words.iter().enumerate() {
            for (j, b) in words.iter().enumerate() {
                let c = &words[(i + j) % words.len()];
                // Hide none, all, only the top operand or all but the top from the compiler
                // (`CALLVALUE ADD`): known operands take its constant shortcuts (a divisor or
                // factor that is a power of two, a known shift, a comparison with a small
                // constant on either side, minus a constant), hidden ones the general code.
                for hide in 0..4 {
                    let mut code = Vec::new();
                    for (k, w) in [c, b, a].iter().skip(3 - info.inputs as usize).enumerate() {
                        code.push(opcode::PUSH32);
                        code.extend_from_slice(&w.to_big_endian());
                        let top = k + 1 == info.inputs as usize;
                        if hide == 1 || (hide == 2 && top) || (hide == 3 && !top) {
                            code.extend([opcode::CALLVALUE, opcode::ADD]);
                        }
                    }
                    code.push(op);
                    code.extend([0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3]);
                    let req = Request::new(code);
                    if let Err(e) = compare(Profile::Evm, Fork::Osaka, &req) {
                        failures.push(format!("{op:#04x} {a:#x} {b:#x} {c:#x} hide {hide}: {e}"));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(8)].join("\n")
    );
}

/// Code longer than the JIT compiles (a big `hyvm` guest) is interpreted, with the same
/// result, instead of costing seconds and gigabytes of compilation.
#[test]
fn code_over_the_compile_limit_is_interpreted() {
    let mut code = vec![0x5b; nestedvm::jit::MAX_COMPILE_LEN + 1];
    code.extend(
        nestedvm::interp::asm::assemble("PUSH1 7 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN")
            .expect("assembles"),
    );
    let req = Request::new(code);
    let jit = Config {
        engine: Engine::Jit,
        ..Config::default()
    };
    let o = Vm::new().run(&jit, &req).expect("runs");
    assert_eq!(o.engine, Engine::Interpreter);
    assert_eq!(U256::from_big_endian(&o.output), U256::from(7));
    let mut small = req.clone();
    small.code.drain(..nestedvm::jit::MAX_COMPILE_LEN);
    let o = Vm::new().run(&jit, &small).expect("runs");
    assert_eq!(
        (o.engine, U256::from_big_endian(&o.output)),
        (Engine::Jit, U256::from(7))
    );
}

/// SHL, SHR, SAR, BYTE and SIGNEXTEND (inline or through the builtin) on every shift amount or index
/// around the limb boundaries, known at compile time and computed at run time.
#[test]
fn inline_shifts_signextend_and_byte_agree() {
    use nestedvm::interp::opcode;
    let mut amounts: Vec<U256> = (0..=40u64)
        .chain(60..=68)
        .chain(124..=132)
        .chain(188..=196)
        .chain(244..=260)
        .map(U256::from)
        .collect();
    amounts.extend([U256::from(u64::MAX), U256::one() << 64, U256::MAX]);
    let pattern = U256::from_big_endian(
        &(0..32u8)
            .map(|i| i.wrapping_mul(37) ^ 0x5a)
            .collect::<Vec<_>>(),
    );
    let values = [
        U256::MAX,
        U256::one() << 255,
        (U256::one() << 255) - 1,
        pattern,
        !pattern,
        U256::from(0x80u64) << 64,
        U256::from(0x7fu64) << 128,
    ];
    let mut failures = Vec::new();
    for op in [
        opcode::SHL,
        opcode::SHR,
        opcode::SAR,
        opcode::BYTE,
        opcode::SIGNEXTEND,
    ] {
        for x in &values {
            for hide in [false, true] {
                let mut code = Vec::new();
                for (k, n) in amounts.iter().enumerate() {
                    code.push(opcode::PUSH32);
                    code.extend_from_slice(&x.to_big_endian());
                    code.push(opcode::PUSH32);
                    code.extend_from_slice(&n.to_big_endian());
                    if hide {
                        code.extend([opcode::CALLVALUE, opcode::ADD]);
                    }
                    code.push(op);
                    let at = k * 32;
                    code.extend([0x61, (at >> 8) as u8, at as u8, opcode::MSTORE]);
                }
                let size = amounts.len() * 32;
                code.extend([0x61, (size >> 8) as u8, size as u8, 0x5f, 0xf3]);
                let req = Request::new(code);
                for profile in [Profile::Evm, Profile::Hyvm] {
                    if let Err(e) = compare(profile, Fork::Osaka, &req) {
                        failures.push(format!("{op:#04x} {x:#x} hide {hide} {profile:?}: {e}"));
                    }
                }
            }
        }
    }
    let shown = failures.len().min(8);
    assert!(failures.is_empty(), "{}", failures[..shown].join("\n"));
}

/// Loops whose body jumps back to its own start (native code keeps the gas, the height and
/// the top items in registers across iterations), with every gas limit up to what they need:
/// out of gas inside the loop, stack overflow and underflow after some iterations, builtins
/// and GAS inside the body, items deeper than those carried.
#[test]
fn self_loops_agree_at_every_gas_limit() {
    let programs = [
        "PUSH0 PUSH1 1 PUSH1 30 l: JUMPDEST SWAP2 DUP2 ADD SWAP1 SWAP2 PUSH1 1 SWAP1 SUB DUP1 PUSH @l JUMPI POP POP PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH0 PUSH0 l: JUMPDEST PUSH1 1 ADD SWAP1 PUSH1 3 MUL DUP2 ADD SWAP1 DUP1 PUSH1 40 GT PUSH @l JUMPI POP PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "l: JUMPDEST PUSH0 PUSH @l JUMP",
        // The height grows through a builtin (the body re-reads it after the call).
        "l: JUMPDEST CALLDATASIZE PUSH @l JUMP",
        "PUSH1 9 l: JUMPDEST CALLDATASIZE POP PUSH1 1 SWAP1 SUB DUP1 PUSH @l JUMPI",
        "PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 l: JUMPDEST POP PUSH @l JUMP",
        "PUSH3 0xffffff l: JUMPDEST PUSH1 3 SWAP1 DIV DUP1 PUSH @l JUMPI PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH1 1 PUSH1 2 PUSH1 3 PUSH1 4 PUSH1 5 PUSH1 6 PUSH1 40 l: JUMPDEST SWAP6 PUSH1 1 ADD SWAP6 PUSH1 1 SWAP1 SUB DUP1 PUSH @l JUMPI POP ADD ADD ADD ADD ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH1 50 l: JUMPDEST PUSH1 7 SWAP1 PUSH1 1 SWAP1 SUB DUP1 PUSH @l JUMPI POP ADD ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH1 20 l: JUMPDEST GAS PUSH0 MSTORE PUSH1 1 SWAP1 SUB DUP1 PUSH @l JUMPI PUSH1 32 PUSH0 RETURN",
        "PUSH0 l: JUMPDEST DUP1 DUP1 MSTORE PUSH1 32 ADD DUP1 PUSH2 0x800 GT PUSH @l JUMPI MSIZE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        // Native code grows memory in place, past several reallocations of its buffer, by
        // unaligned steps through MLOAD and MSTORE8 (growth paid inline, out of gas there).
        "PUSH0 l: JUMPDEST DUP1 MLOAD POP PUSH1 0x61 ADD DUP1 PUSH2 0x2400 GT PUSH @l JUMPI MSIZE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        "PUSH0 l: JUMPDEST DUP1 DUP1 MSTORE8 PUSH1 0x45 ADD DUP1 PUSH2 0x1800 GT PUSH @l JUMPI MSIZE PUSH0 MSTORE PUSH2 0x1800 PUSH0 RETURN",
        // Bodies that shrink the stack below the items the head carries, through a builtin
        // (EXP) and inline (ADD): the back edge must check the height before it reads them
        // (a campaign found it storing them below the stack buffer).
        "PUSH1 2 PUSH1 3 PUSH1 4 PUSH1 5 l: JUMPDEST EXP PUSH @l JUMP",
        "PUSH1 2 PUSH1 3 PUSH1 4 PUSH1 5 PUSH1 6 l: JUMPDEST ADD PUSH @l JUMP",
        "PUSH1 1 PUSH1 1 l: JUMPDEST SLOAD PUSH @l JUMPI",
    ];
    let mut failures = Vec::new();
    let cases = programs.iter().flat_map(|text| {
        let code = nestedvm::interp::asm::assemble(text).expect("assembles");
        [Profile::Evm, Profile::Hyvm].map(|profile| (text, profile, Request::new(code.clone())))
    });
    for (text, profile, mut req) in cases {
        req.gas = 2_000_000;
        if let Err(e) = sweep_gas(profile, &mut req, u64::MAX, 300) {
            failures.push(format!("{profile} `{text}`: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// MLOAD, MSTORE and MSTORE8 at offsets around the edges of native code's fast path (the end
/// of memory, 2^32 less the reserved region, 2^64, and in `hyvm` the 160-bit mask that makes
/// 2^160 + k alias k), each known at compile time and computed at run time.
#[test]
fn memory_accesses_at_edge_offsets_agree() {
    use nestedvm::interp::opcode;
    let mask = U256::one() << 160;
    let mut offsets: Vec<U256> = [0u64, 1, 31, 32, 0x40, 0x5f, 0x60, 0x3ff, 0x400, 0x401]
        .into_iter()
        .map(U256::from)
        .collect();
    for reserved in [0u64, 0x340, 0x460] {
        let limit = u32::MAX as u64 - reserved;
        offsets.extend([limit - 1, limit, limit + 1].map(U256::from));
    }
    offsets.extend([
        U256::from(u64::MAX),
        U256::one() << 64,
        mask,
        mask + 0x40,
        mask - 1,
        U256::MAX,
    ]);
    let mut failures = Vec::new();
    for op in [opcode::MLOAD, opcode::MSTORE, opcode::MSTORE8] {
        for off in &offsets {
            for hide in [false, true] {
                // A word at 0x40 first, so that loads there see something, then the access.
                let mut code = vec![opcode::PUSH1, 0x5a, opcode::PUSH1, 0x40, opcode::MSTORE];
                if op != opcode::MLOAD {
                    code.extend([opcode::PUSH1 + 1, 0xbe, 0xef]);
                }
                code.push(opcode::PUSH32);
                code.extend_from_slice(&off.to_big_endian());
                if hide {
                    code.extend([opcode::CALLVALUE, opcode::ADD]);
                }
                code.push(op);
                code.extend([opcode::MSIZE, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3]);
                let mut req = Request::new(code);
                req.gas = 1_000_000;
                for profile in [Profile::Evm, Profile::Hyvm] {
                    if let Err(e) = compare(profile, Fork::Osaka, &req) {
                        failures.push(format!(
                            "{op:#04x} at {off:#x} hide {hide} {profile:?}: {e}"
                        ));
                    }
                }
            }
        }
    }
    let shown = failures.len().min(8);
    assert!(failures.is_empty(), "{}", failures[..shown].join("\n"));
}

/// Runs of accesses that each grow memory by `step` bytes, as in the evm-benchmarks memory
/// programs, at every gas limit: the growth builtin, the slow path when it refuses (out of
/// gas mid-run must hand over exactly), and MLOAD's word left unloaded when POP drops it.
/// Offsets computed at run time from small ones, from 2^32 - 64 (past native code's
/// in-place range), and from 2^160 (aliasing small ones under `hyvm`'s mask, halting in
/// `evm`), plus constant offsets. In `hyvm`, where the hypervisor makes each guest
/// instruction cost tens of gas, every limit over the guest's run for the popped loads and
/// every ninth for the rest.
#[test]
fn growing_runs_and_popped_loads_agree_at_every_gas_limit() {
    let popped = "DUP1 MLOAD POP DUP2 ADD";
    let bodies = [
        popped,
        "DUP1 MLOAD DUP3 ADD ADD",
        "DUP1 DUP1 MSTORE DUP2 ADD",
        "DUP1 DUP1 MSTORE8 DUP2 ADD",
    ];
    let starts = [
        ("PUSH0", &[1, 0x61][..]),
        ("PUSH4 0xffffffc0", &[0x61][..]),
        (
            "PUSH21 0x010000000000000000000000000000000000000020",
            &[0x61][..],
        ),
    ];
    // (code, whether every gas limit in `hyvm` too)
    let mut programs = Vec::new();
    for body in bodies {
        for (start, steps) in starts {
            for step in steps {
                // The step and the start hidden behind CALLVALUE (zero), so that no offset is
                // known at compile time.
                let text = format!(
                    "PUSH1 {step} CALLVALUE ADD {start} CALLVALUE ADD {}",
                    [body; 4].join(" ")
                );
                programs.push((text, body == popped && *step == 0x61));
            }
        }
    }
    programs.push((
        "PUSH1 0x20 MLOAD POP PUSH1 0x80 MLOAD POP PUSH2 0x400 MLOAD POP PUSH1 0x21 MLOAD POP"
            .to_string(),
        true,
    ));
    let mut failures = Vec::new();
    for (text, every) in &programs {
        let code = nestedvm::interp::asm::assemble(text).expect("assembles");
        for profile in [Profile::Evm, Profile::Hyvm] {
            let mut req = Request::new(code.clone());
            req.gas = 1_000_000;
            let check = |req: &Request| compare(profile, Fork::Osaka, req);
            let full = match check(&req) {
                Ok(o) => o.gas_used,
                Err(e) => {
                    failures.push(format!("{profile} `{text}` full gas: {e}"));
                    continue;
                }
            };
            // From where the guest starts (in `hyvm` its setup costs about 1100 gas) up to
            // what the run needs, or 300 gas further for offsets that take all the gas (one
            // limit is much like another there).
            let (lo, step) = match profile {
                Profile::Evm => (0, 1),
                _ => (1100, if *every { 1 } else { 9 }),
            };
            let hi = if full == req.gas { lo + 300 } else { full + 1 };
            for gas in (lo..=hi).step_by(step) {
                req.gas = gas;
                if let Err(e) = check(&req) {
                    failures.push(format!("{profile} `{text}` gas {gas}: {e}"));
                    break;
                }
            }
        }
    }
    let shown = failures.len().min(8);
    assert!(failures.is_empty(), "{}", failures[..shown].join("\n"));
}

/// Native code grows memory in place only up to the frame's memory limit, even where its
/// buffer has room beyond it: past the limit the frame halts with `memory_limit` exactly where
/// the interpreter's does (a loop storing a word further each time, in both profiles, with
/// limits inside the first buffer and past a reallocation).
#[test]
fn native_memory_growth_stops_at_the_memory_limit() {
    let code = nestedvm::interp::asm::assemble(
        "PUSH0 l: JUMPDEST DUP1 DUP1 MSTORE PUSH1 32 ADD DUP1 PUSH2 0x4000 GT PUSH @l JUMPI MSIZE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
    )
    .expect("assembles");
    let mut req = Request::new(code);
    req.gas = 10_000_000;
    for profile in [Profile::Evm, Profile::Hyvm] {
        for limit in [0x100, 0x3e0, 0x7c0, 0x1000] {
            let with = |engine, jit| Config {
                memory_limit: limit,
                ..config(profile, Fork::Osaka, engine, jit)
            };
            let interp = Vm::new()
                .run(&with(Engine::Interpreter, JitConfig::default()), &req)
                .expect("runs");
            assert_eq!(
                interp.reason,
                Some(nestedvm::HaltReason::MemoryLimit),
                "{profile} limit {limit:#x}"
            );
            for (name, jit) in jit_configs() {
                let o = Vm::new().run(&with(Engine::Jit, jit), &req).expect("runs");
                let d = differences(&interp, &o);
                assert!(
                    d.is_empty(),
                    "{profile} limit {limit:#x} {name}: {}",
                    d.join("; ")
                );
                assert_eq!(o.engine, Engine::Jit);
            }
        }
    }
}

/// Segments hand their gas and height to the next in registers while a group of values
/// joined by block arguments stays small, and through the context past that: forty calls
/// of one subroutine (static and computed jumps in, computed jumps back out, at two stack
/// heights) and a run of forty `PUSH JUMP`s that pass the height on unchanged take both
/// ways. Every gas limit, so entry checks fail on both.
#[test]
fn state_passed_in_registers_and_through_the_context_agrees() {
    let mut text = String::from("PUSH0 ");
    for i in 0..40 {
        let deeper = i % 2 == 1;
        if deeper {
            text += "PUSH1 7 SWAP1 ";
        }
        // Every third call jumps to the subroutine through a computed target.
        let computed = if i % 3 == 0 { "CALLVALUE ADD " } else { "" };
        text += &format!(
            "PUSH @r{i} CALLVALUE PUSH1 {} ADD PUSH @s {computed}JUMP r{i}: JUMPDEST ADD ",
            i + 1
        );
        if deeper {
            text += "SWAP1 POP ";
        }
    }
    for j in 0..40 {
        text += &format!("PUSH @c{j} JUMP c{j}: JUMPDEST ");
    }
    text += "PUSH0 MSTORE PUSH1 32 PUSH0 RETURN ";
    text += "s: JUMPDEST DUP1 MUL PUSH1 3 ADD SWAP1 JUMP";
    let code = nestedvm::interp::asm::assemble(&text).expect("assembles");
    sweep_gas_in_both_profiles(&code, 120);
}
