//! Precompiled contracts, from `revm-precompile` (no hand-written cryptography here).

use nestedvm_interp::{Address, Fork, Status};
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

    /// Runs the precompile at `address`, or `None` when there is none.
    pub fn call(
        &self,
        address: &Address,
        input: &[u8],
        gas_limit: u64,
    ) -> Option<PrecompileOutcome> {
        let precompile = self.inner.get(&to_revm(address))?;
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
}
