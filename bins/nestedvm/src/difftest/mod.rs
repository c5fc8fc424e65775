//! Differential testing (`nestedvm difftest`): generated programs run through several engines
//! whose results must agree; the first divergence is shrunk to a small program that still
//! diverges.
//!
//! `gen` is the generator (shared with the tests and the fuzz targets), `case` a program with
//! its environment, `engines` what runs it (the result in the shape of [`Observed`]), `shrink`
//! the delta debugging, `wallet` the on-chain harness's wallet code.

pub mod case;
pub mod defi;
pub mod engines;
pub mod gen;
pub mod shrink;
pub mod wallet;

pub use crate::observed::{Difference, Observed};
pub use case::{case_seed, Case, World};
pub use engines::{default_engines, select_engines, ToolEngine};

use crate::trace::{trace_ours, Recorder, TraceDiff, TraceStep, Writer};
use nestedvm::{Config, Engine, Fork, Profile, Vm};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// What every engine gave on one case, and how each differs from the first engine's result.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Each engine's result, or why it could not run the case.
    pub results: Vec<(ToolEngine, Result<Observed, String>)>,
    /// Each difference from the first engine, with the engine that differs.
    pub differences: Vec<(ToolEngine, Difference)>,
}

impl Comparison {
    /// No difference.
    pub fn agrees(&self) -> bool {
        self.differences.is_empty()
    }

    /// Which engines differ in which fields: what a shrunk program must keep diverging in.
    fn signature(&self) -> Vec<(ToolEngine, &'static str)> {
        self.differences
            .iter()
            .map(|(e, d)| (*e, d.field))
            .collect()
    }
}

/// Runs `case` on every engine and compares each with the first.
pub fn compare(vm: &mut Vm, engines: &[ToolEngine], case: &Case) -> Comparison {
    let results: Vec<_> = engines
        .iter()
        .map(|e| (*e, engines::run(*e, vm, case)))
        .collect();
    let mut differences = Vec::new();
    if let Some(((reference, first), rest)) = results.split_first().map(|(f, r)| ((f.0, &f.1), r)) {
        for (engine, result) in rest {
            match (first, result) {
                (Ok(a), Ok(b)) => differences.extend(
                    a.differences(reference.name(), b, engine.name())
                        .into_iter()
                        .map(|d| (*engine, d)),
                ),
                (a, b) => {
                    for (who, r) in [(reference, a), (*engine, b)] {
                        if let Err(e) = r {
                            differences.push((
                                *engine,
                                Difference {
                                    field: "error",
                                    text: format!("{who} could not run the case: {e}"),
                                },
                            ));
                        }
                    }
                }
            }
        }
    }
    Comparison {
        results,
        differences,
    }
}

/// A campaign: `count` cases from `seed`, each through every engine.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// `hyvm` or `evm`.
    pub profile: Profile,
    /// The host fork.
    pub fork: Fork,
    /// The contract-verifier build (`hyvm` only).
    pub verifier: bool,
    /// The engines, the first one the reference.
    pub engines: Vec<ToolEngine>,
    /// The campaign's seed.
    pub seed: u64,
    /// How many cases.
    pub count: u64,
    /// The world the programs call: the small one, or the revmc contracts.
    pub world: World,
    /// Run this code in every case's environment instead of the generated program.
    pub code: Option<Vec<u8>>,
    /// Also compare the interpreter's step trace with revm's on every case (`evm`, with the
    /// `revm` feature): a trace that parts is a divergence of its own.
    pub compare_traces: bool,
    /// Worker threads.
    pub jobs: usize,
    /// Most tries the shrinker may spend.
    pub shrink_budget: usize,
}

/// The first divergence of a campaign, shrunk.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// Which case of the campaign.
    pub index: u64,
    /// Its seed: `--seed` with `--count 1` replays it.
    pub case_seed: u64,
    /// The program as generated.
    pub original: Vec<u8>,
    /// The case running the shrunk program.
    pub case: Case,
    /// Shrinker tries spent.
    pub tries: usize,
    /// The engines on the shrunk program.
    pub comparison: Comparison,
    /// Where the traces of the shrunk program part, or where the interpreter's ends.
    pub traces: Option<TraceReport>,
}

/// How a campaign ended.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Cases that agreed (those before the first divergence).
    pub passed: u64,
    /// Cases that diverged (0 or 1: the campaign stops at the first).
    pub failed: u64,
    /// The first divergence.
    pub divergence: Option<Divergence>,
}

impl Campaign {
    /// Case `index`.
    pub fn case(&self, index: u64) -> Case {
        let case = Case::nth_in(
            self.seed,
            index,
            self.profile,
            self.fork,
            self.verifier,
            self.world,
        );
        match &self.code {
            Some(code) => case.with_code(code.clone()),
            None => case,
        }
    }

    /// Runs the cases on `jobs` threads, calling `tick` after each, and stops at the first
    /// divergence: the one of lowest index, whatever the thread timing, so a campaign's
    /// report depends only on its settings.
    pub fn run(&self, tick: impl Fn() + Sync) -> Summary {
        let next = AtomicU64::new(0);
        let first_failure = AtomicU64::new(u64::MAX);
        std::thread::scope(|s| {
            for _ in 0..self.jobs.max(1) {
                s.spawn(|| {
                    let mut vm = Vm::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= self.count || i > first_failure.load(Ordering::Relaxed) {
                            break;
                        }
                        if !self.compare(&mut vm, &self.case(i)).agrees() {
                            first_failure.fetch_min(i, Ordering::Relaxed);
                        }
                        tick();
                    }
                });
            }
        });
        let failed_at = first_failure.load(Ordering::Relaxed);
        if failed_at == u64::MAX {
            return Summary {
                passed: self.count,
                failed: 0,
                divergence: None,
            };
        }
        // Every case below the first failure was taken before it, so ran, and agreed.
        Summary {
            passed: failed_at,
            failed: 1,
            divergence: Some(self.shrink(failed_at)),
        }
    }

    /// Shrinks the program of case `index`, which diverges, keeping it diverging in at least
    /// one of the (engine, field) pairs it first diverged in.
    pub fn shrink(&self, index: u64) -> Divergence {
        let mut vm = Vm::new();
        let case = self.case(index);
        let first = self.compare(&mut vm, &case);
        let signature = first.signature();
        let (code, tries) = shrink::shrink(&case.request.code, self.shrink_budget, |code| {
            self.compare(&mut vm, &case.with_code(code.to_vec()))
                .signature()
                .iter()
                .any(|s| signature.contains(s))
        });
        let shrunk = case.with_code(code);
        let comparison = self.compare(&mut vm, &shrunk);
        let traces = trace_report(&mut vm, &shrunk);
        Divergence {
            index,
            case_seed: case_seed(self.seed, index),
            original: case.request.code,
            case: shrunk,
            tries,
            comparison,
            traces,
        }
    }

    /// Runs `case` on every engine and compares each with the first, and compares the
    /// interpreter's trace with revm's when the campaign asks for it.
    pub fn compare(&self, vm: &mut Vm, case: &Case) -> Comparison {
        let mut comparison = compare(vm, &self.engines, case);
        if self.compare_traces {
            comparison.differences.extend(trace_differences(vm, case));
        }
        comparison
    }
}

/// The interpreter's configuration for `case`: a traced run is interpreted.
fn interp_config(case: &Case) -> Config {
    Config {
        profile: case.profile,
        fork: case.fork,
        verifier: case.verifier,
        engine: Engine::Interpreter,
        ..Config::default()
    }
}

/// How the interpreter's trace of `case` differs from revm's (`trace`, attributed to revm),
/// and whether the traced run gave another result than an untraced one (`traced`,
/// attributed to the interpreter).
#[cfg(feature = "revm")]
fn trace_differences(vm: &mut Vm, case: &Case) -> Vec<(ToolEngine, Difference)> {
    let mut out = Vec::new();
    match crate::trace::compare_with_revm(vm, &interp_config(case), &case.request) {
        Err(e) => out.push((
            ToolEngine::Revm,
            Difference {
                field: "trace",
                text: format!("could not compare the traces: {e}"),
            },
        )),
        Ok(c) => {
            if let Some(d) = c.diff {
                out.push((
                    ToolEngine::Revm,
                    Difference {
                        field: "trace",
                        text: d.headline(),
                    },
                ));
            }
            if !c.same_result {
                out.push((
                    ToolEngine::Interp,
                    Difference {
                        field: "traced",
                        text: "the traced run gave another result than the untraced one".into(),
                    },
                ));
            }
        }
    }
    out
}

#[cfg(not(feature = "revm"))]
fn trace_differences(_: &mut Vm, _: &Case) -> Vec<(ToolEngine, Difference)> {
    vec![(
        ToolEngine::Revm,
        Difference {
            field: "trace",
            text: "comparing traces needs the `revm` feature".into(),
        },
    )]
}

/// Steps of the interpreter's trace shown where it ends.
const TAIL_STEPS: usize = 4;

/// What the traces of a diverging program show.
#[derive(Clone, Debug)]
pub enum TraceReport {
    /// The interpreter's and revm's traces part here (`evm`).
    Part(Box<TraceDiff>),
    /// They agree step for step (so the difference is in what the steps do not show:
    /// storage, logs, memory, or another engine), or there is no revm to compare with: where
    /// the interpreter's trace ends, its last steps, and its length.
    End {
        /// Whether revm's trace was compared, and agreed.
        revm_agrees: bool,
        /// Steps in the interpreter's trace.
        steps: usize,
        /// Its last steps.
        tail: Vec<TraceStep>,
    },
}

impl fmt::Display for TraceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceReport::Part(d) => write!(f, "{d}"),
            TraceReport::End {
                revm_agrees,
                steps,
                tail,
            } => {
                if *revm_agrees {
                    write!(f, "interp's and revm's traces agree step for step; ")?;
                }
                writeln!(f, "the interpreter's trace ends ({steps} steps):")?;
                for (i, step) in tail.iter().enumerate() {
                    writeln!(f, "  {:>5}  {step}", steps - tail.len() + i)?;
                }
                Ok(())
            }
        }
    }
}

/// Where the traces of `case` part: the interpreter's against revm's in `evm` (with the
/// `revm` feature), else (or when they agree) where the interpreter's ends. `None` when the
/// case cannot be traced.
pub fn trace_report(vm: &mut Vm, case: &Case) -> Option<TraceReport> {
    let config = interp_config(case);
    #[cfg(feature = "revm")]
    let revm_agrees = case.profile == Profile::Evm && {
        let c = crate::trace::compare_with_revm(vm, &config, &case.request).ok()?;
        if let Some(d) = c.diff {
            return Some(TraceReport::Part(Box::new(d)));
        }
        true
    };
    #[cfg(not(feature = "revm"))]
    let revm_agrees = false;
    let mut record = |keep| {
        trace_ours(
            vm,
            &config,
            &case.request,
            Recorder::keeping(Writer::Ours, keep),
        )
    };
    let (_, all) = record(0..0).ok()?;
    let steps = all.len();
    let (_, end) = record(steps.saturating_sub(TAIL_STEPS)..steps).ok()?;
    Some(TraceReport::End {
        revm_agrees,
        steps,
        tail: end.kept,
    })
}
