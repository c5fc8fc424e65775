//! The tooling behind the `nestedvm` command, kept apart from the `nestedvm` library so that a
//! library user compiles none of it: benchmarks ([`bench`](mod@bench)), differential testing
//! ([`difftest`]), the Ethereum state-test runner ([`statetest`]), fixtures with a pre-state run as message calls ([`fixture`]), the engines they run ([`engines`]), the one shape of their results ([`observed`]), step traces read back and compared ([`trace`]) and, with the cargo feature
//! `revm`, the oracles the differential tests judge by (`oracle`).

#![warn(missing_docs)]

pub mod bench;
pub mod difftest;
pub mod engines;
pub mod fixture;
pub mod observed;
#[cfg(feature = "revm")]
pub mod oracle;
pub mod statetest;
pub mod trace;
