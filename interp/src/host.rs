//! The narrow interface instructions use to reach the world: accounts, code, storage and
//! transient storage (with EIP-2929 warm/cold answers), the block and transaction
//! environment, logs, self-destruction and the run's deadline. Calls and creates are not
//! here: an instruction hands them to the driver as a [`crate::FrameAction`].

use crate::{Address, Deadline, B256, U256};
use std::sync::Arc;

/// Block and transaction environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    /// Chain id (CHAINID).
    pub chain_id: u64,
    /// Block number (NUMBER).
    pub number: u64,
    /// Block timestamp (TIMESTAMP).
    pub timestamp: u64,
    /// Block gas limit (GASLIMIT).
    pub gas_limit: u64,
    /// Block beneficiary (COINBASE).
    pub coinbase: Address,
    /// Base fee (BASEFEE).
    pub basefee: U256,
    /// PREVRANDAO.
    pub prevrandao: U256,
    /// Blob base fee (BLOBBASEFEE).
    pub blob_base_fee: U256,
    /// Transaction origin (ORIGIN).
    pub origin: Address,
    /// Effective gas price (GASPRICE).
    pub gas_price: U256,
    /// Versioned blob hashes of the transaction (BLOBHASH).
    pub blob_hashes: Vec<U256>,
}

impl Default for Env {
    /// Fixed, plausible values (chain 1, block 1, a 30M gas limit), so that a run that sets
    /// no environment of its own gives the same result on every machine and engine.
    fn default() -> Self {
        Env {
            chain_id: 1,
            number: 1,
            timestamp: 1000,
            gas_limit: 30_000_000,
            coinbase: Address::from_low_u64_be(0xc014),
            basefee: U256::from(7),
            prevrandao: U256::from(2),
            blob_base_fee: U256::one(),
            origin: Address::from_low_u64_be(0xca11),
            gas_price: U256::from(7),
            blob_hashes: Vec::new(),
        }
    }
}

/// A log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    /// The emitting account.
    pub address: Address,
    /// Up to four topics.
    pub topics: Vec<B256>,
    /// The data.
    pub data: Vec<u8>,
}

/// What an SSTORE found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SStoreResult {
    /// Value at the start of the transaction.
    pub original: U256,
    /// Value before this store.
    pub current: U256,
    /// Whether the slot was cold.
    pub is_cold: bool,
}

/// What a SELFDESTRUCT found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelfDestructResult {
    /// The destructing account held a balance.
    pub had_value: bool,
    /// The beneficiary was not empty (EIP-161).
    pub target_exists: bool,
    /// The beneficiary was cold.
    pub target_is_cold: bool,
}

/// An account as a call instruction sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountLoad {
    /// First touch in this transaction.
    pub is_cold: bool,
    /// Empty per EIP-161 (no code, zero nonce, zero balance).
    pub is_empty: bool,
    /// When the account's code is an EIP-7702 delegation (Prague+), whether the delegate was cold.
    pub delegate_is_cold: Option<bool>,
}

/// The world as instructions see it.
pub trait Host {
    /// Block and transaction environment.
    fn env(&self) -> &Env;
    /// Balance of `address`, warming it; the flag says it was cold.
    fn balance(&mut self, address: Address) -> (U256, bool);
    /// Code of `address` (not following delegations), warming it.
    fn code(&mut self, address: Address) -> (Arc<[u8]>, bool);
    /// Code hash of `address` (zero for an empty account), warming it.
    fn code_hash(&mut self, address: Address) -> (B256, bool);
    /// Loads an account for a call, warming it (and its delegate).
    fn load_account(&mut self, address: Address) -> AccountLoad;
    /// Storage read, warming the slot.
    fn sload(&mut self, address: Address, key: U256) -> (U256, bool);
    /// Storage write, warming the slot.
    fn sstore(&mut self, address: Address, key: U256, value: U256) -> SStoreResult;
    /// Transient storage read (EIP-1153).
    fn tload(&mut self, address: Address, key: U256) -> U256;
    /// Transient storage write (EIP-1153).
    fn tstore(&mut self, address: Address, key: U256, value: U256);
    /// Hash of block `number` when it is one of the 256 before the current one, else zero.
    fn block_hash(&mut self, number: u64) -> B256;
    /// Records a log.
    fn log(&mut self, log: Log);
    /// Destroys `address` in favour of `target` under the fork's rules.
    fn selfdestruct(&mut self, address: Address, target: Address) -> SelfDestructResult;
    /// Bytes the host holds for the run beyond its state at the start (its journal, logs,
    /// deposited code), which count against the run's memory budget ([`crate::budget`]);
    /// they never shrink while a frame runs. A host that holds nothing of the kind keeps
    /// the default, 0.
    fn held_bytes(&self) -> u64 {
        0
    }
    /// When the run must stop: engines halt the frame with
    /// [`HaltReason::Timeout`](crate::HaltReason::Timeout) at the next check point past it.
    /// A host that runs without a deadline keeps the default, [`Deadline::NEVER`].
    fn deadline(&self) -> Deadline {
        Deadline::NEVER
    }
}
