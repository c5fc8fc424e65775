//! Where a [`World`](super::World) reads the state it does not hold: a forked chain, read
//! lazily. A run touches a few accounts and slots of a chain of millions, so the world asks
//! for each one the first time it is reached and keeps the answer as base state, as if it had
//! come from the pre-state: local writes shadow it, and loading it is no journaled change.

use super::account::Slot;
use super::hashing::SlotKey;
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
///
/// It also keeps what the last runs read, ready to put in a world at its start
/// ([`Memo::start`]): a warm call then finds its accounts and slots in place, as on a
/// pre-state, instead of asking the memo for each.
#[derive(Default)]
pub(super) struct Memo {
    /// The source the answers are from.
    of: Option<Arc<dyn StateSource>>,
    accounts: super::hashing::HashMap<Address, Option<Account>>,
    slots: super::hashing::HashMap<(Address, super::hashing::SlotKey), U256>,
    /// The accounts the last runs read, with the slots they read (zero ones too), each marked
    /// unreached: what a world starts with.
    start: Vec<(Address, Account)>,
    /// What the run under way read that `start` lacks: accounts, and slots with their values.
    read_accounts: Vec<Address>,
    read_slots: Vec<(Address, U256, U256)>,
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

    /// The most accounts, and slots in all, a world starts with: copying them costs every
    /// run, so only a call's worth is kept.
    const START_ACCOUNTS: usize = 16;
    const START_SLOTS: usize = 64;

    /// Forgets the answers when `source` is not the one they are from.
    pub(super) fn follow(&mut self, source: Option<&Arc<dyn StateSource>>) {
        let same = match (&self.of, source) {
            (Some(a), Some(b)) => std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)),
            (None, None) => true,
            _ => false,
        };
        if !same {
            *self = Memo {
                of: source.cloned(),
                ..Memo::default()
            };
        }
    }

    /// Starts over when it holds more than [`Memo::CAPACITY`] answers of a kind.
    pub(super) fn trim(&mut self) {
        if self.accounts.len() > Self::CAPACITY || self.slots.len() > Self::CAPACITY {
            *self = Memo {
                of: self.of.take(),
                ..Memo::default()
            };
        }
    }

    /// Notes that the run under way read the account at `address` (which the memo holds).
    pub(super) fn read_account(&mut self, address: Address) {
        self.read_accounts.push(address);
    }

    /// Notes that the run under way read slot `key` of `address`, holding `value`.
    pub(super) fn read_slot(&mut self, address: Address, key: U256, value: U256) {
        self.read_slots.push((address, key, value));
    }

    /// What a world starts with: the accounts and slots the last runs read, each marked
    /// unreached. What the run before read beyond them is added first; when that would pass
    /// the bounds, they start over from that run's reads alone.
    pub(super) fn start(&mut self) -> &[(Address, Account)] {
        if !self.read_accounts.is_empty() || !self.read_slots.is_empty() {
            self.take_reads();
        }
        &self.start
    }

    fn take_reads(&mut self) {
        let slots = |start: &[(Address, Account)]| -> usize {
            start.iter().map(|(_, a)| a.storage.len()).sum()
        };
        if self.start.len() + self.read_accounts.len() > Self::START_ACCOUNTS
            || slots(&self.start) + self.read_slots.len() > Self::START_SLOTS
        {
            self.start.clear();
        }
        for address in self.read_accounts.drain(..) {
            if self.start.len() == Self::START_ACCOUNTS
                || self.start.iter().any(|(a, _)| *a == address)
            {
                continue;
            }
            if let Some(Some(account)) = self.accounts.get(&address) {
                let mut account = account.clone();
                account.unreached = true;
                self.start.push((address, account));
            }
        }
        let mut room = Self::START_SLOTS.saturating_sub(slots(&self.start));
        for (address, key, value) in self.read_slots.drain(..) {
            // A slot of an account the start lacks (one the node does not hold, or one a
            // request gave) stays with the memo.
            let Some((_, account)) = self.start.iter_mut().find(|(a, _)| *a == address) else {
                continue;
            };
            if room == 0 {
                break;
            }
            let slot = Slot {
                unreached: true,
                ..Slot::holding(value)
            };
            if account.storage.insert(SlotKey(key), slot).is_none() {
                room -= 1;
            }
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

    /// A message call in `evm` from 0xca11 to `contract`'s code on the chain.
    fn evm_call(contract: Address) -> (Config, Request) {
        let config = Config {
            profile: Profile::Evm,
            ..Config::default()
        };
        let mut request = Request::new(Vec::new());
        request.address = contract;
        request.caller = at(0xca11);
        (config, request)
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
        let (config, request) = evm_call(contract);
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
    fn a_forked_run_starts_with_earlier_reads_and_shows_only_what_it_reached() {
        let contract = at(7);
        let mut chain = chain(contract);
        // Call data non-zero: slot 1 plus the balance of 0xbee; zero: slot 2.
        let code = [
            "600035",
            "601157",
            "600254",
            "600052",
            "60206000f3",
            "5b",
            "610bee31",
            "60015401",
            "600052",
            "60206000f3",
        ]
        .concat();
        let code = nestedvm_interp::asm::decode_hex(&code).unwrap();
        chain
            .accounts
            .insert(contract, Account::new(U256::zero(), 1, code));
        chain
            .accounts
            .insert(at(0xbee), Account::new(U256::from(9), 0, Vec::new()));
        chain
            .slots
            .insert((contract, U256::from(2)), U256::from(70));
        let source: Arc<Chain> = Arc::new(chain);
        let (mut config, base) = evm_call(contract);
        config.dump_state = true;
        let request = |flag: u8| {
            let mut request = base.clone();
            request.calldata = vec![0; 32];
            request.calldata[31] = flag;
            request
        };
        let mut vm = Vm::new();
        vm.set_source(Some(source.clone()));
        let first = vm.run(&config, &request(1)).unwrap();
        assert_eq!(U256::from_big_endian(&first.output), U256::from(49));
        let other = vm.run(&config, &request(0)).unwrap();
        assert_eq!(U256::from_big_endian(&other.output), U256::from(70));
        // What the first run read is in the world the second starts with, but nothing of it
        // shows: the second run's outcome is a fresh VM's.
        let mut fresh = Vm::new();
        fresh.set_source(Some(source.clone()));
        assert_eq!(other, fresh.run(&config, &request(0)).unwrap());
        let reached: Vec<_> = other.storage.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(
            reached,
            [(U256::from(2), U256::from(70))],
            "slot 1 not reached"
        );
        let reads = source.reads.load(Ordering::Relaxed);
        for flag in [1, 0, 1] {
            let again = vm.run(&config, &request(flag)).unwrap();
            let expected = if flag == 1 { &first } else { &other };
            assert_eq!(&again, expected);
        }
        assert_eq!(
            source.reads.load(Ordering::Relaxed),
            reads,
            "nothing asked again"
        );
    }

    #[test]
    fn a_forked_contract_runs_with_the_node_state_and_the_request_shadows_it() {
        let contract = at(7);
        let mut vm = Vm::new();
        vm.set_source(Some(Arc::new(chain(contract))));
        let (config, mut request) = evm_call(contract);
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
