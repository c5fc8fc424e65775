//! How `difftest` runs each of its engines ([`ToolEngine::DIFFTEST`]) on a case, and which
//! `--engines` lists it accepts.

#[cfg(feature = "revm")]
use super::case::reaches_call_guard;
use super::case::Case;
pub use crate::engines::ToolEngine;
use crate::observed::Observed;
use nestedvm::{Config, Engine, Profile, Vm};

/// Runs `case` on `engine`; `Err` when the engine cannot run it at all (an oracle refusing
/// it). `engine` is one of [`ToolEngine::DIFFTEST`] other than [`ToolEngine::Jit`], which
/// stands for its [`ToolEngine::members`].
pub fn run(engine: ToolEngine, vm: &mut Vm, case: &Case) -> Result<Observed, String> {
    let base = Config {
        profile: case.profile,
        fork: case.fork,
        verifier: case.verifier,
        ..Config::default()
    };
    if let Some(config) = engine.config(&base) {
        let o = vm.run(&config, &case.request).map_err(|e| e.to_string())?;
        let observed = Observed::from_outcome(&o);
        return Ok(match engine {
            ToolEngine::JitInterp | ToolEngine::JitTable | ToolEngine::JitBaseline => {
                // Code over the JIT's limit is interpreted by design (and all code where the
                // baseline tier is not built).
                let compilable = case.request.code.len() <= nestedvm::jit::MAX_COMPILE_LEN
                    && (engine != ToolEngine::JitBaseline || nestedvm::jit::baseline::AVAILABLE);
                Observed {
                    native: compilable.then_some(o.engine == Engine::Jit),
                    ..observed
                }
            }
            #[cfg(feature = "fault-injection")]
            ToolEngine::InterpBroken => Observed {
                logs: Vec::new(),
                ..observed
            },
            _ => observed,
        });
    }
    run_oracle(engine, case)
}

#[cfg(feature = "revm")]
fn run_oracle(engine: ToolEngine, case: &Case) -> Result<Observed, String> {
    use crate::engines::Oracle;
    use crate::oracle::hyvm_onchain::{run_hyvm, HyvmRequest};
    use crate::oracle::revm::{run_revm, OracleRequest};
    match engine.oracle(case.profile) {
        Some(Oracle::Revm) => {
            let t = run_revm(&OracleRequest::from_request(case.fork, &case.request))?;
            Ok(Observed::from_oracle_outcome(&t, true))
        }
        Some(Oracle::HyvmOnchain) => {
            let t = run_hyvm(&HyvmRequest::from_request(
                case.fork,
                case.verifier,
                &case.request,
            ))?;
            // The verifier build's call guard is not modelled in gas (docs/hyvm.md).
            let gas_comparable = !case.verifier || !reaches_call_guard(&case.request.code);
            Ok(Observed::from_oracle_outcome(&t, gas_comparable))
        }
        None => Err(format!("`{engine}` runs no oracle")),
    }
}

#[cfg(not(feature = "revm"))]
fn run_oracle(engine: ToolEngine, _case: &Case) -> Result<Observed, String> {
    Err(without_revm(engine))
}

/// The message for an oracle asked of a binary built without them.
fn without_revm(engine: ToolEngine) -> String {
    format!(
        "--engines: `{engine}` needs the `revm` feature, and this binary was built without it (cargo build --release --features revm)"
    )
}

/// The engines `difftest` compares for the `--engines` names `named` (each of
/// [`ToolEngine::DIFFTEST`]) in `profile`, in order, each once; `oracles_built` says whether
/// the binary has the `revm` feature. Errors name the problem in one line.
pub fn select_engines(
    named: &[ToolEngine],
    profile: Profile,
    oracles_built: bool,
) -> Result<Vec<ToolEngine>, String> {
    let mut engines = Vec::new();
    for name in named {
        if !ToolEngine::DIFFTEST.contains(name) {
            return Err(format!("--engines: difftest does not compare `{name}`"));
        }
        for &engine in name.members() {
            if engine.is_oracle() && !oracles_built {
                return Err(without_revm(engine));
            }
            match (engine, profile) {
                (ToolEngine::Revm, Profile::Hyvm) => {
                    return Err("--engines: `revm` runs the evm profile only (hyvm-onchain is the hyvm profile's oracle)".into())
                }
                (ToolEngine::HyvmOnchain, Profile::Evm) => {
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
        let list: Vec<&str> = named.iter().map(|e| e.name()).collect();
        return Err(format!(
            "--engines: `{}` names fewer than two engines; nothing to compare",
            list.join(",")
        ));
    }
    Ok(engines)
}

/// The default `--engines` of a profile: the interpreter, every JIT variant, and the
/// profile's oracle when the binary has them.
pub fn default_engines(profile: Profile, oracles_built: bool) -> Vec<ToolEngine> {
    let mut named = vec![ToolEngine::Interp, ToolEngine::Jit];
    if oracles_built {
        named.push(match profile {
            Profile::Evm => ToolEngine::Revm,
            Profile::Hyvm => ToolEngine::HyvmOnchain,
        });
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;
    use ToolEngine::*;

    #[test]
    fn lists_expand_and_bad_ones_are_named() {
        assert_eq!(
            select_engines(&[Interp, Jit], Profile::Evm, false),
            Ok(vec![Interp, JitInterp, JitTable, JitTiered, JitBaseline])
        );
        assert_eq!(
            select_engines(&[JitTable, Interp, Interp], Profile::Hyvm, false),
            Ok(vec![JitTable, Interp])
        );
        let err =
            |list: &[ToolEngine], profile, built| select_engines(list, profile, built).unwrap_err();
        assert!(err(&[Interp, Auto], Profile::Evm, true).contains("does not compare `auto`"));
        assert!(err(&[Interp, Revm], Profile::Hyvm, true).contains("evm profile only"));
        assert!(err(&[Interp, HyvmOnchain], Profile::Evm, true).contains("hyvm profile only"));
        assert!(err(&[Interp, Revm], Profile::Evm, false).contains("built without it"));
        assert!(err(&[Interp, HyvmOnchain], Profile::Hyvm, false).contains("built without it"));
        assert!(err(&[Interp], Profile::Evm, true).contains("fewer than two"));
        assert!(select_engines(&[Interp, Revm], Profile::Evm, true).is_ok());
        for profile in [Profile::Hyvm, Profile::Evm] {
            for built in [false, true] {
                assert!(select_engines(&default_engines(profile, built), profile, built).is_ok());
            }
        }
    }
}
