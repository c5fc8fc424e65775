//! Precompiled contracts, from `revm-precompile` (no hand-written cryptography here, but for
//! the rounds of a huge BLAKE2F call, which must stop at the run's deadline: `blake2f`).

mod blake2f;

use nestedvm_interp::{Address, Deadline, Fork, Status};
use revm_precompile::{
    primitives::Address as RevmAddress, PrecompileSpecId, PrecompileStatus, Precompiles,
};

/// The precompiles of a fork.
#[derive(Clone, Copy, Debug)]
pub struct PrecompileSet {
    inner: &'static Precompiles,
}

/// What a precompile call gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrecompileOutcome {
    /// Success, revert, or halt (bad input, out of gas).
    pub status: Status,
    /// Output bytes.
    pub output: Vec<u8>,
    /// Gas used (the whole limit after a halt).
    pub gas_used: u64,
}

fn to_revm(address: &Address) -> RevmAddress {
    RevmAddress::from_slice(address.as_bytes())
}

impl PrecompileSet {
    /// The set active at `fork`.
    pub fn for_fork(fork: Fork) -> Self {
        let id = match fork {
            Fork::Shanghai => PrecompileSpecId::BERLIN,
            Fork::Cancun => PrecompileSpecId::CANCUN,
            Fork::Prague => PrecompileSpecId::PRAGUE,
            Fork::Osaka => PrecompileSpecId::OSAKA,
        };
        PrecompileSet {
            inner: Precompiles::new(id),
        }
    }

    /// Whether `address` is a precompile.
    pub fn contains(&self, address: &Address) -> bool {
        self.inner.contains(&to_revm(address))
    }

    /// Every precompile address (warm from the start of a transaction).
    pub fn addresses(&self) -> impl Iterator<Item = Address> + '_ {
        self.inner
            .addresses()
            .map(|a| Address::from_slice(a.as_slice()))
    }

    /// Runs the precompile at `address`, or `None` when there is none. One that could run
    /// long (BLAKE2F of billions of rounds) stops at `deadline`, halting with all its gas;
    /// the caller sees the deadline passed and ends the run.
    pub fn call(
        &self,
        address: &Address,
        input: &[u8],
        gas_limit: u64,
        deadline: Deadline,
    ) -> Option<PrecompileOutcome> {
        let precompile = self.inner.get(&to_revm(address))?;
        if *address == BLAKE2F {
            if let Some(outcome) = blake2f::run(input, gas_limit, deadline) {
                return Some(Self::blake2f_outcome(outcome, gas_limit));
            }
        }
        let outcome = match precompile.execute(input, gas_limit, 0) {
            Ok(out) => match out.status {
                PrecompileStatus::Success => PrecompileOutcome {
                    status: Status::Success,
                    output: out.bytes.to_vec(),
                    gas_used: out.gas_used,
                },
                PrecompileStatus::Revert => PrecompileOutcome {
                    status: Status::Revert,
                    output: out.bytes.to_vec(),
                    gas_used: out.gas_used,
                },
                PrecompileStatus::Halt(_) => PrecompileOutcome {
                    status: Status::Halt,
                    output: Vec::new(),
                    gas_used: gas_limit,
                },
            },
            Err(_) => PrecompileOutcome {
                status: Status::Halt,
                output: Vec::new(),
                gas_used: gas_limit,
            },
        };
        Some(outcome)
    }

    /// A huge BLAKE2F call run here, as the other precompiles' outcomes read.
    fn blake2f_outcome(outcome: blake2f::Outcome, gas_limit: u64) -> PrecompileOutcome {
        match outcome {
            blake2f::Outcome::Done { state, gas_used } => PrecompileOutcome {
                status: Status::Success,
                output: state.to_vec(),
                gas_used,
            },
            blake2f::Outcome::TimedOut => PrecompileOutcome {
                status: Status::Halt,
                output: Vec::new(),
                gas_used: gas_limit,
            },
        }
    }
}

/// BLAKE2F's address (0x09).
const BLAKE2F: Address = Address([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
