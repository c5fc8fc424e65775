//! Untrusted bytecode: random bytes and generated programs in both profiles (and the verifier
//! build) must always give a result (never a panic), within the gas given, on both engines
//! (the JIT's two tiers), and the JIT's must be the interpreter's. `NESTEDVM_SOAK=N` runs N programs per profile
//! instead of the default (use it with a debug build to catch arithmetic overflow too).

mod common;

use common::gen::{program, Choices, Rng};
use nestedvm::{Config, Engine, Fork, Profile, Request, Vm};

fn count() -> usize {
    common::campaign_size(3000)
}

#[test]
fn random_bytes_and_programs_always_end_within_their_gas() {
    let mut vm = Vm::new();
    let mut rng = Rng(0xdead_beef);
    for profile in [Profile::Hyvm, Profile::Evm] {
        for verifier in [false, true] {
            if verifier && profile == Profile::Evm {
                continue;
            }
            for n in 0..count() {
                let code: Vec<u8> = if n % 2 == 0 {
                    (0..rng.below(200)).map(|_| rng.next() as u8).collect()
                } else {
                    let len = 5 + rng.below(80) as usize;
                    program(&mut rng, len)
                };
                let mut req = Request::new(code);
                req.gas = [0, 1, 21, 5_000, 200_000][rng.below(5) as usize];
                req.accounts = common::gen::world_accounts();
                let fork = Fork::ALL[rng.below(4) as usize];
                let config = Config {
                    profile,
                    fork,
                    verifier,
                    engine: Engine::Interpreter,
                    ..Config::default()
                };
                let o = vm.run(&config, &req).expect("valid request");
                let jit = Config {
                    engine: Engine::Jit,
                    jit: nestedvm::JitConfig {
                        options: nestedvm::jit::CompileOptions {
                            dynamic_jumps: if n % 3 == 0 {
                                nestedvm::jit::DynamicJumps::JumpTable
                            } else {
                                nestedvm::jit::DynamicJumps::Interpreter
                            },
                            // Every fourth program on the baseline tier, where it is built.
                            opt_level: if n % 4 == 1 && nestedvm::jit::baseline::AVAILABLE {
                                nestedvm::jit::OptLevel::Baseline
                            } else {
                                nestedvm::jit::OptLevel::Speed
                            },
                            // Every fifth with the deadline's check points, never reached.
                            deadline_checks: n % 5 == 2,
                        },
                        hot_after: 0,
                        background: false,
                        ..Default::default()
                    },
                    ..config
                };
                let native = vm.run(&jit, &req).expect("valid request");
                assert_eq!(native.engine, Engine::Jit, "{profile} #{n}: compiled");
                assert_eq!(
                    (
                        native.status,
                        native.reason,
                        &native.output,
                        native.gas_used,
                        native.gas_refund,
                        &native.logs,
                        &native.storage,
                        &native.memory,
                        native.pc
                    ),
                    (
                        o.status,
                        o.reason,
                        &o.output,
                        o.gas_used,
                        o.gas_refund,
                        &o.logs,
                        &o.storage,
                        &o.memory,
                        o.pc
                    ),
                    "{profile} verifier {verifier} #{n}: the JIT differs on 0x{}",
                    req.code
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                );
                assert!(
                    o.gas_used <= req.gas,
                    "{profile} #{n}: used {} of {}",
                    o.gas_used,
                    req.gas
                );
                if o.status != nestedvm::Status::Success {
                    assert_eq!(o.gas_refund, 0, "{profile} #{n}: refund only on success");
                }
                if o.status == nestedvm::Status::Halt {
                    assert_eq!(o.gas_used, req.gas, "{profile} #{n}: a halt takes all gas");
                }
            }
        }
    }
}
