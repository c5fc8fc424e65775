//! The engines the tooling runs, in one type: nestedvm's engines ([`nestedvm::Engine`]) under
//! the JIT settings `bench` and `difftest` run them with, the two oracles, and the
//! fault-injection engine. Each has its name on the command line ([`ToolEngine::name`], a
//! [`clap::ValueEnum`]), builds its [`Config`] ([`ToolEngine::config`]) or names the oracle it
//! runs ([`ToolEngine::oracle`]). `bench` accepts [`ToolEngine::BENCH`], `difftest`
//! [`ToolEngine::DIFFTEST`]; [`ToolEngine::parser`] gives each command a parser of its own
//! subset, so its `--help` lists exactly what it accepts.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::ValueEnum;
use nestedvm::jit::{CompileOptions, DynamicJumps, OptLevel};
use nestedvm::{Config, Engine, JitConfig, Profile};
use std::ffi::OsStr;
use std::fmt;

/// An engine `bench` times or `difftest` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ToolEngine {
    /// nestedvm's reference interpreter.
    Interp,
    /// nestedvm's JIT, every code compiled before it runs, under the compile options of the
    /// caller's configuration (`bench`: timed with its code already compiled). In `difftest`
    /// the name stands for [`ToolEngine::members`]: every JIT variant.
    Jit,
    /// nestedvm's `auto` engine from cold (`bench`): a fresh VM every run, tiered compilation
    /// during the run.
    Auto,
    /// nestedvm's JIT on its baseline tier from cold (`bench`): a fresh VM every run, the
    /// compilation and the run.
    Baseline,
    /// The JIT, jumps to computed targets handed to the interpreter.
    JitInterp,
    /// The JIT, jumps to computed targets through its table of segment starts.
    JitTable,
    /// `auto` with a tiny hot threshold ([`ToolEngine::TIERED_HOT`]): tiered compilation, so
    /// runs move between the interpreter and several units of native code compiled from parts
    /// of the code.
    JitTiered,
    /// The JIT's baseline tier (machine code without Cranelift), jumps to computed targets
    /// through its table.
    JitBaseline,
    /// revm 43 running one message call; in `bench`'s hyvm profile, the deployed hypervisor
    /// run in revm (the [`Oracle::HyvmOnchain`] oracle). Needs the cargo feature `revm`.
    Revm,
    /// The deployed hypervisor's bytecode run in revm behind a DELEGATECALLing wallet
    /// (`hyvm` only). Needs the cargo feature `revm`.
    HyvmOnchain,
    /// Test-only: the interpreter with its logs dropped, a fault for the tests to find.
    #[cfg(feature = "fault-injection")]
    InterpBroken,
}

/// An oracle: revm underneath, never on nestedvm's execution path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Oracle {
    /// revm running the code as a contract (`oracle::revm`).
    Revm,
    /// The deployed hypervisor run in revm (`oracle::hyvm_onchain`).
    HyvmOnchain,
}

/// Whether this build has the oracles (the cargo feature `revm`).
pub const ORACLES_BUILT: bool = cfg!(feature = "revm");

impl ToolEngine {
    /// Every engine: those `difftest` accepts ([`ToolEngine::DIFFTEST`]), then `bench`'s
    /// first-run engines.
    pub const ALL: &'static [ToolEngine] = &[
        ToolEngine::Interp,
        ToolEngine::Jit,
        ToolEngine::JitInterp,
        ToolEngine::JitTable,
        ToolEngine::JitTiered,
        ToolEngine::JitBaseline,
        ToolEngine::Revm,
        ToolEngine::HyvmOnchain,
        #[cfg(feature = "fault-injection")]
        ToolEngine::InterpBroken,
        ToolEngine::Auto,
        ToolEngine::Baseline,
    ];

    /// The engines `bench` times, in the order of its table.
    pub const BENCH: &'static [ToolEngine] = &[
        ToolEngine::Interp,
        ToolEngine::Jit,
        ToolEngine::Auto,
        ToolEngine::Baseline,
        ToolEngine::Revm,
    ];

    /// The names `difftest --engines` accepts.
    pub const DIFFTEST: &'static [ToolEngine] = Self::ALL.split_at(Self::ALL.len() - 2).0;

    /// The hot threshold of [`ToolEngine::JitTiered`].
    pub const TIERED_HOT: u32 = 2;

    /// The name on the command line, in reports and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            ToolEngine::Interp => "interp",
            ToolEngine::Jit => "jit",
            ToolEngine::Auto => "auto",
            ToolEngine::Baseline => "baseline",
            ToolEngine::JitInterp => "jit-interp",
            ToolEngine::JitTable => "jit-table",
            ToolEngine::JitTiered => "jit-tiered",
            ToolEngine::JitBaseline => "jit-baseline",
            ToolEngine::Revm => "revm",
            ToolEngine::HyvmOnchain => "hyvm-onchain",
            #[cfg(feature = "fault-injection")]
            ToolEngine::InterpBroken => "interp-broken",
        }
    }

    /// One line for `--help`.
    fn help(self) -> &'static str {
        match self {
            ToolEngine::Interp => "nestedvm's interpreter",
            ToolEngine::Jit => "the JIT, code compiled first (difftest: every jit-* variant)",
            ToolEngine::Auto => "a first run under `auto`, tiered compilation included",
            ToolEngine::Baseline => "a first run on the baseline tier, its compilation included",
            ToolEngine::JitInterp => "the JIT, computed jumps through the interpreter",
            ToolEngine::JitTable => "the JIT, computed jumps through its jump table",
            ToolEngine::JitTiered => "tiered compilation with a tiny hot threshold",
            ToolEngine::JitBaseline => "the JIT's baseline tier",
            ToolEngine::Revm => "revm (evm; bench times the hypervisor in revm for hyvm)",
            ToolEngine::HyvmOnchain => "the deployed hypervisor run in revm (hyvm)",
            #[cfg(feature = "fault-injection")]
            ToolEngine::InterpBroken => "test-only: the interpreter with its logs dropped",
        }
    }

    /// The engines this name stands for in `difftest`: [`ToolEngine::Jit`] is both
    /// dynamic-jump policies, tiered compilation and the baseline tier; any other is itself.
    pub fn members(&self) -> &'static [ToolEngine] {
        match self {
            ToolEngine::Jit => &[
                ToolEngine::JitInterp,
                ToolEngine::JitTable,
                ToolEngine::JitTiered,
                ToolEngine::JitBaseline,
            ],
            other => std::slice::from_ref(
                Self::ALL
                    .iter()
                    .find(|e| *e == other)
                    .expect("every engine is in ALL"),
            ),
        }
    }

    /// The configuration nestedvm runs this engine under: `base` (profile, fork, verifier,
    /// `evm_gas`, and under [`ToolEngine::Jit`] the compile options) with the engine and the
    /// JIT settings this engine stands for. `None` for an oracle.
    pub fn config(self, base: &Config) -> Option<Config> {
        // Compiled before the first run, tier-ups where the seed puts them (so that a
        // failure replays), baseline code from the first tier-up on as by default.
        let replayable = |dynamic_jumps, opt_level| JitConfig {
            options: CompileOptions {
                dynamic_jumps,
                opt_level,
                ..CompileOptions::default()
            },
            hot_after: 0,
            background: false,
            ..JitConfig::default()
        };
        let (engine, jit) = match self {
            ToolEngine::Interp => (Engine::Interpreter, base.jit),
            #[cfg(feature = "fault-injection")]
            ToolEngine::InterpBroken => (Engine::Interpreter, base.jit),
            ToolEngine::Jit => (
                Engine::Jit,
                JitConfig {
                    hot_after: 0,
                    ..base.jit
                },
            ),
            ToolEngine::Auto => (Engine::Auto, JitConfig::default()),
            ToolEngine::Baseline => (
                Engine::Jit,
                JitConfig {
                    options: CompileOptions {
                        opt_level: OptLevel::Baseline,
                        ..CompileOptions::default()
                    },
                    hot_after: 0,
                    ..JitConfig::default()
                },
            ),
            ToolEngine::JitInterp => (
                Engine::Jit,
                replayable(DynamicJumps::Interpreter, OptLevel::default()),
            ),
            ToolEngine::JitTable => (
                Engine::Jit,
                replayable(DynamicJumps::JumpTable, OptLevel::default()),
            ),
            ToolEngine::JitBaseline => (
                Engine::Jit,
                replayable(DynamicJumps::Interpreter, OptLevel::Baseline),
            ),
            // A block is hot after two runs, and every block that has run joins a tier-up.
            ToolEngine::JitTiered => (
                Engine::Auto,
                JitConfig {
                    hot_after: Self::TIERED_HOT,
                    ..replayable(DynamicJumps::JumpTable, OptLevel::default())
                },
            ),
            ToolEngine::Revm | ToolEngine::HyvmOnchain => return None,
        };
        Some(Config {
            engine,
            jit,
            ..*base
        })
    }

    /// Whether every run starts on a fresh VM, nothing compiled and nothing hot (`bench`'s
    /// first-run engines).
    pub fn cold(self) -> bool {
        matches!(self, ToolEngine::Auto | ToolEngine::Baseline)
    }

    /// The oracle this engine runs in `profile`: `revm` runs revm in `evm` and the deployed
    /// hypervisor in `hyvm` (what simulating a payload costs without nestedvm; `difftest`
    /// refuses that pairing), `hyvm-onchain` the hypervisor. `None` for nestedvm's engines.
    pub fn oracle(self, profile: Profile) -> Option<Oracle> {
        match (self, profile) {
            (ToolEngine::Revm, Profile::Evm) => Some(Oracle::Revm),
            (ToolEngine::Revm, Profile::Hyvm) | (ToolEngine::HyvmOnchain, _) => {
                Some(Oracle::HyvmOnchain)
            }
            _ => None,
        }
    }

    /// Whether this engine is one of the oracles (revm underneath).
    pub fn is_oracle(self) -> bool {
        matches!(self, ToolEngine::Revm | ToolEngine::HyvmOnchain)
    }

    /// A parser of the names in `accepted` (aliases and any case included, white space around
    /// a name ignored) for one command's flag: its `--help` lists exactly these.
    pub fn parser(accepted: &'static [ToolEngine]) -> impl TypedValueParser<Value = ToolEngine> {
        Names(accepted)
    }
}

impl ValueEnum for ToolEngine {
    fn value_variants<'a>() -> &'a [Self] {
        Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.name()).help(self.help());
        Some(match self {
            ToolEngine::Interp => value.alias("interpreter"),
            _ => value,
        })
    }
}

/// The parser of [`ToolEngine::parser`].
#[derive(Clone, Copy)]
struct Names(&'static [ToolEngine]);

impl TypedValueParser for Names {
    type Value = ToolEngine;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<ToolEngine, clap::Error> {
        // `--engines "interp, jit"` as before clap parsed the list.
        let trimmed = value.to_str().map_or(value, |v| OsStr::new(v.trim()));
        let known = self.possible_values().into_iter().flatten();
        let name = PossibleValuesParser::new(known).parse_ref(cmd, arg, trimmed)?;
        Ok(ToolEngine::from_str(&name, true).expect("the parser accepts possible values only"))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            self.0.iter().filter_map(ValueEnum::to_possible_value),
        ))
    }
}

impl fmt::Display for ToolEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_in_any_case_and_interpreter_is_interp() {
        for &e in ToolEngine::ALL {
            assert_eq!(ToolEngine::from_str(e.name(), true), Ok(e));
            assert_eq!(ToolEngine::from_str(&e.name().to_uppercase(), true), Ok(e));
        }
        assert_eq!(
            ToolEngine::from_str("interpreter", true),
            Ok(ToolEngine::Interp)
        );
    }

    #[test]
    fn configurations_are_the_settings_each_engine_stands_for() {
        let base = Config::default();
        let jit = |e: ToolEngine| e.config(&base).expect("ours").jit;
        assert_eq!(
            ToolEngine::JitTiered.config(&base).map(|c| c.engine),
            Some(Engine::Auto)
        );
        assert_eq!(jit(ToolEngine::JitTiered).hot_after, ToolEngine::TIERED_HOT);
        assert_eq!(
            jit(ToolEngine::JitInterp).options.dynamic_jumps,
            DynamicJumps::Interpreter
        );
        assert_eq!(
            jit(ToolEngine::JitBaseline).options.opt_level,
            OptLevel::Baseline
        );
        assert_eq!(
            jit(ToolEngine::Baseline).options.opt_level,
            OptLevel::Baseline
        );
        assert_eq!(jit(ToolEngine::Auto), JitConfig::default());
        assert!(ToolEngine::Revm.config(&base).is_none());
        assert_eq!(
            ToolEngine::Revm.oracle(Profile::Hyvm),
            Some(Oracle::HyvmOnchain)
        );
        assert_eq!(ToolEngine::Jit.members().len(), 4);
        assert!(!ToolEngine::DIFFTEST.contains(&ToolEngine::Auto));
        assert!(!ToolEngine::DIFFTEST.contains(&ToolEngine::Baseline));
        assert!(ToolEngine::DIFFTEST.contains(&ToolEngine::HyvmOnchain));
        assert_eq!(ToolEngine::Interp.members(), &[ToolEngine::Interp]);
    }
}
