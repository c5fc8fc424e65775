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

use nestedvm::{Fork, Profile, Vm};
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
                        if !compare(&mut vm, &self.engines, &self.case(i)).agrees() {
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
        let first = compare(&mut vm, &self.engines, &case);
        let signature = first.signature();
        let (code, tries) = shrink::shrink(&case.request.code, self.shrink_budget, |code| {
            compare(&mut vm, &self.engines, &case.with_code(code.to_vec()))
                .signature()
                .iter()
                .any(|s| signature.contains(s))
        });
        let shrunk = case.with_code(code);
        let comparison = compare(&mut vm, &self.engines, &shrunk);
        Divergence {
            index,
            case_seed: case_seed(self.seed, index),
            original: case.request.code,
            case: shrunk,
            tries,
            comparison,
        }
    }
}
