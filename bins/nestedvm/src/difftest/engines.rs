//! The engines `difftest` compares: nestedvm's interpreter and JIT (under each dynamic-jump
//! policy), and with the `revm` feature the two oracles.

#[cfg(feature = "revm")]
use super::case::reaches_call_guard;
use super::case::Case;
use super::observed::Observed;
use nestedvm::jit::{CompileOptions, DynamicJumps, OptLevel};
use nestedvm::{Config, Engine, JitConfig, Profile, Vm};
use std::fmt;

/// One engine of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiffEngine {
    /// The reference interpreter.
    Interp,
    /// The JIT, jumps to computed targets handed to the interpreter.
    JitInterp,
    /// The JIT, jumps to computed targets through its table of segment starts.
    JitTable,
    /// `auto` with a tiny hot threshold: tiered compilation, so runs move between the
    /// interpreter and several units of native code compiled from parts of the code.
    JitTiered,
    /// The JIT's baseline tier (machine code without Cranelift), jumps to computed targets
    /// through its table.
    JitBaseline,
    /// revm 43 running one message call (`evm` only).
    Revm,
    /// The deployed hypervisor's bytecode run in revm behind a DELEGATECALLing wallet
    /// (`hyvm` only).
    HyvmOnchain,
    /// Test-only: the interpreter with its logs dropped, a fault for the tests to find.
    #[cfg(feature = "fault-injection")]
    InterpBroken,
}

/// The names `--engines` accepts, for messages.
const NAMES: &str =
    "interp, jit, jit-interp, jit-table, jit-tiered, jit-baseline, revm or hyvm-onchain";

impl DiffEngine {
    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            DiffEngine::Interp => "interp",
            DiffEngine::JitInterp => "jit-interp",
            DiffEngine::JitTable => "jit-table",
            DiffEngine::JitTiered => "jit-tiered",
            DiffEngine::JitBaseline => "jit-baseline",
            DiffEngine::Revm => "revm",
            DiffEngine::HyvmOnchain => "hyvm-onchain",
            #[cfg(feature = "fault-injection")]
            DiffEngine::InterpBroken => "interp-broken",
        }
    }

    /// The engines one `--engines` item names: `jit` is both dynamic-jump policies, tiered
    /// compilation and the baseline tier.
    fn from_item(item: &str) -> Result<&'static [DiffEngine], String> {
        Ok(match item {
            "interp" => &[DiffEngine::Interp],
            "jit" => &[
                DiffEngine::JitInterp,
                DiffEngine::JitTable,
                DiffEngine::JitTiered,
                DiffEngine::JitBaseline,
            ],
            "jit-interp" => &[DiffEngine::JitInterp],
            "jit-table" => &[DiffEngine::JitTable],
            "jit-tiered" => &[DiffEngine::JitTiered],
            "jit-baseline" => &[DiffEngine::JitBaseline],
            "revm" => &[DiffEngine::Revm],
            "hyvm-onchain" => &[DiffEngine::HyvmOnchain],
            #[cfg(feature = "fault-injection")]
            "interp-broken" => &[DiffEngine::InterpBroken],
            _ => {
                return Err(format!(
                    "--engines: unknown engine `{item}` (expected {NAMES})"
                ))
            }
        })
    }

    /// The hot threshold of [`DiffEngine::JitTiered`].
    pub const TIERED_HOT: u32 = 2;

    /// Whether this engine is one of the oracles (revm underneath).
    pub fn is_oracle(self) -> bool {
        matches!(self, DiffEngine::Revm | DiffEngine::HyvmOnchain)
    }

    /// Runs `case`; `Err` when the engine cannot run it at all (an oracle refusing it).
    pub fn run(self, vm: &mut Vm, case: &Case) -> Result<Observed, String> {
        let jit = |dynamic_jumps| JitConfig {
            options: CompileOptions {
                dynamic_jumps,
                opt_level: if self == DiffEngine::JitBaseline {
                    OptLevel::Baseline
                } else {
                    OptLevel::default()
                },
            },
            hot_after: 0,
            // Tier-ups where the seed puts them, so that a failure replays.
            background: false,
            // `jit-tiered`: baseline code from the first tier-up on, as by default.
            baseline: JitConfig::default().baseline,
        };
        let ours = |vm: &mut Vm, engine, jit_config| {
            let config = Config {
                profile: case.profile,
                fork: case.fork,
                verifier: case.verifier,
                engine,
                jit: jit_config,
                ..Config::default()
            };
            vm.run(&config, &case.request).map_err(|e| e.to_string())
        };
        match self {
            DiffEngine::Interp => Ok(Observed::from_outcome(&ours(
                vm,
                Engine::Interpreter,
                JitConfig::default(),
            )?)),
            DiffEngine::JitInterp | DiffEngine::JitTable | DiffEngine::JitBaseline => {
                let policy = if self == DiffEngine::JitTable {
                    DynamicJumps::JumpTable
                } else {
                    DynamicJumps::Interpreter
                };
                let o = ours(vm, Engine::Jit, jit(policy))?;
                // Code over the JIT's limit is interpreted by design (and all code where the
                // baseline tier is not built).
                let compilable = case.request.code.len() <= nestedvm::jit::MAX_COMPILE_LEN
                    && (self != DiffEngine::JitBaseline || nestedvm::jit::baseline::AVAILABLE);
                Ok(Observed {
                    native: compilable.then_some(o.engine == Engine::Jit),
                    ..Observed::from_outcome(&o)
                })
            }
            DiffEngine::JitTiered => {
                // A block is hot after two runs, and every block that has run joins a tier-up.
                let tiered = JitConfig {
                    hot_after: Self::TIERED_HOT,
                    ..jit(DynamicJumps::JumpTable)
                };
                Ok(Observed::from_outcome(&ours(vm, Engine::Auto, tiered)?))
            }
            #[cfg(feature = "fault-injection")]
            DiffEngine::InterpBroken => {
                let o = ours(vm, Engine::Interpreter, JitConfig::default())?;
                Ok(Observed {
                    logs: Vec::new(),
                    ..Observed::from_outcome(&o)
                })
            }
            #[cfg(feature = "revm")]
            DiffEngine::Revm => {
                use crate::oracle::revm::{run_revm, OracleRequest};
                let t = run_revm(&OracleRequest::from_request(case.fork, &case.request))?;
                Ok(Observed::from_oracle(
                    t.status,
                    &t.output,
                    Some((t.gas_used, t.gas_refund)),
                    &t.logs,
                    &t.storage,
                ))
            }
            #[cfg(feature = "revm")]
            DiffEngine::HyvmOnchain => {
                use crate::oracle::hyvm_onchain::{run_hyvm, HyvmRequest};
                let t = run_hyvm(&HyvmRequest::from_request(
                    case.fork,
                    case.verifier,
                    &case.request,
                ))?;
                // The verifier build's call guard is not modelled in gas (`hyvm-gas.md`).
                let gas = (!case.verifier || !reaches_call_guard(&case.request.code))
                    .then_some((t.gas_used, t.gas_refund));
                Ok(Observed::from_oracle(
                    t.status, &t.output, gas, &t.logs, &t.storage,
                ))
            }
            #[cfg(not(feature = "revm"))]
            DiffEngine::Revm | DiffEngine::HyvmOnchain => Err(without_revm(self)),
        }
    }
}

impl fmt::Display for DiffEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The message for an oracle asked of a binary built without them.
fn without_revm(engine: DiffEngine) -> String {
    format!(
        "--engines: `{engine}` needs the `revm` feature, and this binary was built without it (cargo build --release --features revm)"
    )
}

/// The engines of an `--engines` list for `profile`, in order, each once. `oracles_built`
/// says whether the binary has the `revm` feature. Errors name the problem in one line.
pub fn parse_engines(
    list: &str,
    profile: Profile,
    oracles_built: bool,
) -> Result<Vec<DiffEngine>, String> {
    let mut engines = Vec::new();
    for item in list.split(',').map(str::trim) {
        for &engine in DiffEngine::from_item(item)? {
            if engine.is_oracle() && !oracles_built {
                return Err(without_revm(engine));
            }
            match (engine, profile) {
                (DiffEngine::Revm, Profile::Hyvm) => {
                    return Err("--engines: `revm` runs the evm profile only (hyvm-onchain is the hyvm profile's oracle)".into())
                }
                (DiffEngine::HyvmOnchain, Profile::Evm) => {
                    return Err("--engines: `hyvm-onchain` runs the hyvm profile only (revm is the evm profile's oracle)".into())
                }
                _ => {}
            }
            if !engines.contains(&engine) {
                engines.push(engine);
            }
        }
    }
    if engines.len() < 2 {
        return Err(format!(
            "--engines: `{list}` names fewer than two engines; nothing to compare"
        ));
    }
    Ok(engines)
}

/// The default `--engines` of a profile: the interpreter, both JIT policies, and the
/// profile's oracle when the binary has them.
pub fn default_engines(profile: Profile, oracles_built: bool) -> &'static str {
    match (profile, oracles_built) {
        (_, false) => "interp,jit",
        (Profile::Evm, true) => "interp,jit,revm",
        (Profile::Hyvm, true) => "interp,jit,hyvm-onchain",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_bad_ones_are_named() {
        assert_eq!(
            parse_engines("interp,jit", Profile::Evm, false),
            Ok(vec![
                DiffEngine::Interp,
                DiffEngine::JitInterp,
                DiffEngine::JitTable,
                DiffEngine::JitTiered,
                DiffEngine::JitBaseline
            ])
        );
        assert_eq!(
            parse_engines("jit-table, interp, interp", Profile::Hyvm, false),
            Ok(vec![DiffEngine::JitTable, DiffEngine::Interp])
        );
        let err = |list, profile, built| parse_engines(list, profile, built).unwrap_err();
        assert!(err("interp,wasm", Profile::Evm, true).contains("unknown engine `wasm`"));
        assert!(err("interp,revm", Profile::Hyvm, true).contains("evm profile only"));
        assert!(err("interp,hyvm-onchain", Profile::Evm, true).contains("hyvm profile only"));
        assert!(err("interp,revm", Profile::Evm, false).contains("built without it"));
        assert!(err("interp,hyvm-onchain", Profile::Hyvm, false).contains("built without it"));
        assert!(err("interp", Profile::Evm, true).contains("fewer than two"));
        assert!(parse_engines("interp,revm", Profile::Evm, true).is_ok());
        assert!(parse_engines(default_engines(Profile::Hyvm, true), Profile::Hyvm, true).is_ok());
        assert!(parse_engines(default_engines(Profile::Evm, false), Profile::Evm, false).is_ok());
    }
}
