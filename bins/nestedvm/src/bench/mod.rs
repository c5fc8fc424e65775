//! Benchmarks shared by `nestedvm bench` and the criterion benches (`benches/`), so both see
//! the same programs under the same names and time them the same way: [`programs`] the
//! catalogue, [`synthetic`] the hand-written loops, [`measure`] the engines timed
//! round-robin, [`compile`] compile time per KiB, [`throughput`] `run --batch` executions
//! per second, [`forked`] runs forked from a node beside runs on the same pre-state.

pub mod compile;
pub mod forked;
pub mod measure;
pub mod programs;
#[cfg(feature = "revm")]
pub mod revm;
pub mod synthetic;
pub mod throughput;
