//! Where a [`World`](super::World) reads the state it does not hold: a forked chain, read
//! lazily. A run touches a few accounts and slots of a chain of millions, so the world asks
//! for each one the first time it is reached and keeps the answer as base state, as if it had
//! come from the pre-state: local writes shadow it, and loading it is no journaled change.

use super::Account;
use nestedvm_interp::{Address, Env, B256, U256};
use std::fmt;
use std::sync::Arc;

/// The state of a chain at a pinned block, read one account, slot or block hash at a time.
///
/// Answers must not change for the life of the source (the block is pinned), since a world
/// asks once and keeps the answer. Shared by the worlds of several threads, hence `Sync`.
pub trait StateSource: Send + Sync + fmt::Debug {
    /// The balance, nonce and code of `address`, or `None` when the chain holds no such
    /// account (or only an empty one, which no rule of a supported fork tells apart). The
    /// account's storage is read slot by slot through [`StateSource::storage`].
    fn account(&self, address: Address) -> Result<Option<Account>, SourceError>;

    /// The value of slot `key` of `address` (zero when never written).
    fn storage(&self, address: Address, key: U256) -> Result<U256, SourceError>;

    /// The hash of block `number`, one of the 256 before the pinned block's successor.
    fn block_hash(&self, number: u64) -> Result<B256, SourceError>;
}

/// A chain forked at more than one block: the batch protocol's requests fork at the block
/// pinned at start unless they name their own (`"block": {"number": N}`).
pub trait ForkedChain: Send + Sync + fmt::Debug {
    /// The source at the block pinned at start.
    fn pinned(&self) -> &Arc<dyn StateSource>;

    /// The number of the block pinned at start.
    fn pinned_number(&self) -> u64;

    /// The source at block `number`, made on first use and kept, with that block's
    /// environment (number, timestamp, base fee, …, chain id) put in `env`.
    fn at(&self, number: u64, env: &mut Env) -> Result<Arc<dyn StateSource>, SourceError>;
}

/// What a world's source answered, kept across [`World::reset`](super::World::reset) while the
/// source stays the same: a simulator runs call after call against one fork, and asking the
/// shared source (a lock and a lookup) for every account and slot of every run made a call of
/// a microsecond a fifth slower than the same call on an in-memory pre-state. The answers of a
/// pinned source never change, so keeping them is exact.
#[derive(Default)]
pub(super) struct Memo {
    /// The source the answers are from.
    of: Option<Arc<dyn StateSource>>,
    accounts: super::hashing::HashMap<Address, Option<Account>>,
    slots: super::hashing::HashMap<(Address, super::hashing::SlotKey), U256>,
}

// A copy of a world (a rerun's) starts with no answers: it asks again, and what it learns is
// its own.
impl Clone for Memo {
    fn clone(&self) -> Self {
        Memo {
            of: self.of.clone(),
            ..Memo::default()
        }
    }
}

impl fmt::Debug for Memo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memo")
            .field("accounts", &self.accounts.len())
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl Memo {
    /// The most answers kept of each kind: past it the memo starts over at the next reset,
    /// so that a world reused for many runs over distinct accounts does not grow without
    /// bound.
    const CAPACITY: usize = 4096;

    /// Forgets the answers when `source` is not the one they are from.
    pub(super) fn follow(&mut self, source: Option<&Arc<dyn StateSource>>) {
        let same = match (&self.of, source) {
            (Some(a), Some(b)) => std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.accounts.clear();
            self.slots.clear();
            self.of = source.cloned();
        }
    }

    /// Starts over when it holds more than [`Memo::CAPACITY`] answers of a kind.
    pub(super) fn trim(&mut self) {
        if self.accounts.len() > Self::CAPACITY || self.slots.len() > Self::CAPACITY {
            self.accounts = Default::default();
            self.slots = Default::default();
        }
    }

    /// The account at `address`, from the memo or asked of `source` and kept.
    pub(super) fn account(
        &mut self,
        source: &dyn StateSource,
        address: Address,
    ) -> Result<Option<Account>, SourceError> {
        if let Some(known) = self.accounts.get(&address) {
            return Ok(known.clone());
        }
        let answer = source.account(address)?;
        self.accounts.insert(address, answer.clone());
        Ok(answer)
    }

    /// Slot `key` of `address`, from the memo or asked of `source` and kept.
    pub(super) fn storage(
        &mut self,
        source: &dyn StateSource,
        address: Address,
        key: U256,
    ) -> Result<U256, SourceError> {
        let at = (address, super::hashing::SlotKey(key));
        if let Some(value) = self.slots.get(&at) {
            return Ok(*value);
        }
        let value = source.storage(address, key)?;
        self.slots.insert(at, value);
        Ok(value)
    }
}

/// A read from a [`StateSource`] that failed: what was asked of whom, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// Where the state lives (a node's URL), so the user knows which one to check.
    pub location: String,
    /// The call that failed (a JSON-RPC method such as `eth_getStorageAt`).
    pub call: String,
    /// Why it failed (unreachable, timed out, an error answer, a malformed answer).
    pub detail: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed at {}: {}",
            self.call, self.location, self.detail
        )
    }
}

impl std::error::Error for SourceError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Error, Profile, Request, Vm, World};
    use nestedvm_interp::Host;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A chain held in memory, counting the reads, failing every one when `down`.
    #[derive(Debug, Default)]
    struct Chain {
        accounts: HashMap<Address, Account>,
        slots: HashMap<(Address, U256), U256>,
        reads: AtomicUsize,
        down: bool,
    }

    impl Chain {
        fn answer<T>(&self, call: &str, value: T) -> Result<T, SourceError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            if self.down {
                return Err(SourceError {
                    location: "http://127.0.0.1:9".into(),
                    call: call.into(),
                    detail: "connection refused".into(),
                });
            }
            Ok(value)
        }
    }

    impl StateSource for Chain {
        fn account(&self, address: Address) -> Result<Option<Account>, SourceError> {
            self.answer("eth_getBalance", self.accounts.get(&address).cloned())
        }
        fn storage(&self, address: Address, key: U256) -> Result<U256, SourceError> {
            let value = self.slots.get(&(address, key)).copied().unwrap_or_default();
            self.answer("eth_getStorageAt", value)
        }
        fn block_hash(&self, number: u64) -> Result<B256, SourceError> {
            self.answer("eth_getBlockByNumber", B256::from_low_u64_be(number + 1000))
        }
    }

    fn at(n: u64) -> Address {
        Address::from_low_u64_be(n)
    }

    /// `contract` returns slot 1 plus its caller's balance; `holder` has 5 wei.
    fn chain(contract: Address) -> Chain {
        // PUSH1 1 SLOAD CALLER BALANCE ADD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
        let code = vec![
            0x60, 1, 0x54, 0x33, 0x31, 0x01, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3,
        ];
        let mut chain = Chain::default();
        chain
            .accounts
            .insert(contract, Account::new(U256::zero(), 1, code));
        chain
            .accounts
            .insert(at(0xca11), Account::new(U256::from(5), 3, Vec::new()));
        chain.slots.insert((contract, U256::one()), U256::from(40));
        chain
    }

    #[test]
    fn a_loaded_value_is_base_state_that_writes_shadow_and_reverts_keep() {
        let (a, k) = (at(7), U256::one());
        let source = Arc::new(chain(a));
        let mut w = World::with_source(Default::default(), Default::default(), source.clone());
        w.begin_transaction();
        let cp = w.checkpoint();
        assert_eq!(w.sload(a, k), (U256::from(40), true));
        let r = w.sstore(a, k, U256::from(41));
        assert_eq!((r.original, r.current), (40.into(), 40.into()));
        assert_eq!(w.sload(a, U256::from(2)), (U256::zero(), true));
        w.revert_to(cp);
        assert_eq!(
            w.sload(a, k),
            (U256::from(40), true),
            "the node's value is no change to undo"
        );
        assert_eq!(w.account(&a).map(|acc| acc.nonce), Some(1));
        let reads = source.reads.load(Ordering::Relaxed);
        w.sload(a, U256::from(2));
        w.balance(a);
        assert_eq!(
            source.reads.load(Ordering::Relaxed),
            reads,
            "each read once, a zero slot too"
        );
        assert_eq!(w.block_hash(3), B256::from_low_u64_be(1003));
    }

    #[test]
    fn a_destroyed_account_reads_no_slot_from_the_source_again() {
        let (a, k) = (at(7), U256::one());
        let mut chain = chain(a);
        chain.slots.insert((a, U256::from(2)), U256::from(50));
        let source = Arc::new(chain);
        // Before Cancun, SELFDESTRUCT removes any account at the end of the transaction.
        let fork = nestedvm_interp::Fork::Shanghai;
        let mut w = World::with_source(Default::default(), fork, source.clone());
        w.begin_transaction();
        assert_eq!(w.sload(a, k).0, U256::from(40));
        let _ = w.selfdestruct(a, at(0xbeef));
        w.end_transaction();
        w.begin_transaction();
        assert!(w.account(&a).is_none(), "destroyed");
        let reads = source.reads.load(Ordering::Relaxed);
        assert_eq!(w.sload(a, k).0, U256::zero(), "its storage went with it");
        assert_eq!(
            w.sload(a, U256::from(2)).0,
            U256::zero(),
            "one never read either"
        );
        assert_eq!(
            source.reads.load(Ordering::Relaxed),
            reads,
            "and the node is not asked"
        );
    }

    #[test]
    fn a_vm_asks_its_source_once_across_runs_and_again_for_another_source() {
        let contract = at(7);
        let source = Arc::new(chain(contract));
        let mut vm = Vm::new();
        vm.set_source(Some(source.clone()));
        let config = Config {
            profile: Profile::Evm,
            ..Config::default()
        };
        let mut request = Request::new(Vec::new());
        request.address = contract;
        request.caller = at(0xca11);
        let first = vm.run(&config, &request).unwrap();
        let reads = source.reads.load(Ordering::Relaxed);
        assert!(reads > 0);
        let again = vm.run(&config, &request).unwrap();
        assert_eq!(again.output, first.output);
        assert_eq!(
            source.reads.load(Ordering::Relaxed),
            reads,
            "answered from the memo"
        );
        // Another source (another block, say) is asked afresh: its answers differ.
        let mut other = chain(contract);
        other
            .slots
            .insert((contract, U256::one()), U256::from(1000));
        let other = Arc::new(other);
        vm.set_source(Some(other.clone()));
        let forked = vm.run(&config, &request).unwrap();
        assert_eq!(U256::from_big_endian(&forked.output), U256::from(1005));
        assert!(other.reads.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn a_forked_contract_runs_with_the_node_state_and_the_request_shadows_it() {
        let contract = at(7);
        let mut vm = Vm::new();
        vm.set_source(Some(Arc::new(chain(contract))));
        let config = Config {
            profile: Profile::Evm,
            ..Config::default()
        };
        let mut request = Request::new(Vec::new());
        request.address = contract;
        request.caller = at(0xca11);
        let outcome = vm.run(&config, &request).unwrap();
        assert_eq!(U256::from_big_endian(&outcome.output), U256::from(45));
        request.storage.push((U256::one(), U256::from(100)));
        let outcome = vm.run(&config, &request).unwrap();
        assert_eq!(U256::from_big_endian(&outcome.output), U256::from(105));
        // A caller the node does not hold gets the usual 10^24 wei.
        request.caller = at(0xfee);
        let outcome = vm.run(&config, &request).unwrap();
        assert!(U256::from_big_endian(&outcome.output) > U256::from(10).pow(24.into()));
    }

    #[test]
    fn a_failed_read_ends_the_run_with_an_error_naming_where_and_what() {
        let mut down = chain(at(7));
        down.down = true;
        let mut vm = Vm::new();
        vm.set_source(Some(Arc::new(down)));
        let mut request = Request::new(vec![0x60, 1, 0x54, 0x00]);
        request.address = at(7);
        let error = vm.run(&Config::default(), &request).unwrap_err();
        let Error::Source(failed) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(failed.location, "http://127.0.0.1:9");
        let shown = error.to_string();
        assert!(
            shown.contains("http://127.0.0.1:9") && shown.contains("eth_getBalance"),
            "{shown}"
        );
        // The VM goes on: the next run without a source succeeds.
        vm.set_source(None);
        assert!(vm.run(&Config::default(), &request).is_ok());
    }
}
