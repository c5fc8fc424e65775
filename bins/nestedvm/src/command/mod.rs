//! The subcommands' own code: flags, progress and printing around the tooling library.

pub mod batch;
pub mod bench;
pub mod difftest;
pub mod input;
pub mod progress;
pub mod statetest;
