//! The in-memory world state with a journal: every change is an entry, a checkpoint is a
//! journal length, and reverting pops back to it (storage, transient storage, balances,
//! nonces, code, creations, destructions, warm sets and logs alike).
//!
//! A storage slot carries its own EIP-2929 warm bit and its value at the transaction's start,
//! both valid for the transaction it was last reached in: an SLOAD or SSTORE is one lookup of
//! the slot (and of the account, unless it is the one last changed), and starting a
//! transaction walks no storage.

use crate::precompiles::PrecompileSet;
use nestedvm_interp::host::AccountLoad;
use nestedvm_interp::{
    keccak256, Address, Deadline, Env, Fork, Host, Log, SStoreResult, SelfDestructResult, B256,
    KECCAK_EMPTY, U256,
};
use std::collections::BTreeMap;

use std::sync::{Arc, OnceLock};

mod account;
mod accounts;
pub(crate) mod hashing;
mod host;
pub mod source;

use account::empty_code;
pub use account::Account;
use account::Slot;
use accounts::Accounts;
use hashing::{HashMap, HashSet, KeyHashing, SlotKey};
use source::{Memo, SourceError, StateSource};

/// An undoable change.
#[derive(Clone, Debug)]
enum Entry {
    AccountWarmed(Address),
    /// A slot's warm bit was set.
    SlotWarmed(Address, U256),
    /// A slot missing from the storage went into `warm_misses`.
    MissWarmed(Address, U256),
    Storage {
        address: Address,
        key: U256,
        previous: U256,
    },
    Transient {
        address: Address,
        key: U256,
        previous: U256,
    },
    Balance {
        address: Address,
        previous: U256,
    },
    Nonce {
        address: Address,
        previous: u64,
    },
    Code {
        address: Address,
        previous: Arc<[u8]>,
    },
    Created(Address),
    Destroyed,
    /// The account did not exist before this change: reverting removes it again.
    AccountCreated(Address),
    Touched(Address),
}

/// A point to revert to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    journal: usize,
    logs: usize,
    kept_bytes: u64,
}

/// The simulated chain state, and the environment of the transaction being run.
#[derive(Clone, Debug)]
pub struct World {
    accounts: Accounts,
    transient: HashMap<(Address, SlotKey), U256>,
    warm_accounts: HashSet<Address>,
    /// The precompiles warm since the transaction's start: looked up where an account is
    /// touched rather than put in `warm_accounts` one by one at every start.
    warm_precompiles: Option<PrecompileSet>,
    /// The warm slots that were not in the storage when warmed (an access list's, or an
    /// SLOAD's of a slot never written, or where nothing is deployed): the others keep their
    /// warm bit themselves.
    warm_misses: HashSet<(Address, SlotKey)>,
    /// The current transaction's number, which tells a slot reached in it from one last
    /// reached in an earlier transaction (see [`Slot::reached_in`]).
    tx: u32,
    created: HashSet<Address>,
    destroyed: Vec<Address>,
    /// Accounts touched in the EIP-161 sense (a balance, nonce or code change, or the target
    /// of a value transfer, even of zero): only these are removed when empty.
    touched: HashSet<Address>,
    logs: Vec<Log>,
    journal: Vec<Entry>,
    /// Bytes of the logs and the code deposited in the current transaction, for
    /// [`Host::held_bytes`].
    kept_bytes: u64,
    /// Block and transaction environment.
    pub env: Env,
    /// The fork whose state rules apply (SELFDESTRUCT, delegations).
    pub fork: Fork,
    /// When the run against this world must stop (the engines ask through
    /// [`Host::deadline`]); each executor sets its own run's.
    pub deadline: Deadline,
    /// Where the accounts and slots the world does not hold are read from (a forked chain).
    source: Option<Arc<dyn StateSource>>,
    /// Addresses [`World::fetch`] found settled (held, gone, or absent from the source),
    /// which stay so: a run reaches its few accounts over and over (caller, callee, coinbase),
    /// and this spares each reach a lookup.
    settled: Settled,
    /// Accounts removed while the world forks a source (destroyed, or emptied and removed under
    /// EIP-161): neither they nor their storage come back from the source.
    gone: HashSet<Address>,
    /// The source's answers, kept across resets while the source stays the same.
    memo: Memo,
    /// The first read of the source that failed: the run stops, and its caller reports this.
    source_error: Option<SourceError>,
}

/// The most entries a table keeps room for across [`World::reset`]: clearing costs time in
/// proportion to the room, so a table a big run grew is dropped instead.
const KEPT_CAPACITY: usize = 4096;

/// What one journal entry stands for in [`Host::held_bytes`]: the entry (88 bytes), the
/// table entry it usually comes with (a warm address, a new slot, a transient slot, an
/// account), the room doubling leaves in both and the copy a table makes while it grows. A
/// run needs 2 million of them (at least 200 million gas) to reach the default budget.
const JOURNAL_ENTRY_BYTES: u64 = 512;

/// What a log holds beyond its data and topics: its record, and its place in the list.
const LOG_BYTES: u64 = 2 * std::mem::size_of::<Log>() as u64;

/// What a log holds, as [`Host::held_bytes`] counts it.
pub fn log_bytes(log: &Log) -> u64 {
    LOG_BYTES + log.data.len() as u64 + 32 * log.topics.len() as u64
}

/// The last few addresses [`World::fetch`] settled, in a ring: once the world holds an
/// account, removed it or learnt that the source has none, nothing makes it ask again.
#[derive(Clone, Debug, Default)]
struct Settled {
    addresses: [Option<Address>; 4],
    next: usize,
}

impl Settled {
    #[inline]
    fn holds(&self, address: &Address) -> bool {
        self.addresses.iter().any(|a| a.as_ref() == Some(address))
    }

    fn add(&mut self, address: Address) {
        self.addresses[self.next] = Some(address);
        self.next = (self.next + 1) % self.addresses.len();
    }
}

impl Default for World {
    fn default() -> Self {
        World::new(Env::default(), Fork::default())
    }
}

/// The code of an EIP-7702 delegation designator points at, if `code` is one.
pub fn delegation_target(code: &[u8]) -> Option<Address> {
    if code.len() == 23 && code[..3] == [0xef, 0x01, 0x00] {
        Some(Address::from_slice(&code[3..]))
    } else {
        None
    }
}

/// The hash revm's empty database gives block `number`: keccak256 of its decimal digits.
pub fn block_hash_of(number: u64) -> B256 {
    B256::from(keccak256(number.to_string().as_bytes()))
}

impl World {
    /// An empty world.
    pub fn new(env: Env, fork: Fork) -> Self {
        // Sized for a typical run (the precompiles and the run's own accounts are warmed at
        // its start), so short runs do not spend their time growing tables.
        World {
            accounts: Accounts::with_capacity(8),
            transient: HashMap::default(),
            warm_accounts: HashSet::with_capacity_and_hasher(32, KeyHashing::default()),
            warm_precompiles: None,
            warm_misses: HashSet::default(),
            tx: 0,
            created: HashSet::default(),
            destroyed: Vec::new(),
            touched: HashSet::with_capacity_and_hasher(8, KeyHashing::default()),
            logs: Vec::new(),
            journal: Vec::with_capacity(64),
            kept_bytes: 0,
            env,
            fork,
            deadline: Deadline::NEVER,
            source: None,
            settled: Settled::default(),
            gone: HashSet::default(),
            memo: Memo::default(),
            source_error: None,
        }
    }

    /// An empty world that reads what it does not hold from `source`.
    pub fn with_source(env: Env, fork: Fork, source: Arc<dyn StateSource>) -> Self {
        let mut world = World::new(env, fork);
        world.set_source(Some(source));
        world
    }

    /// Sets (or removes) where the world reads what it does not hold. What the world holds
    /// from an earlier source stays until [`World::reset`]: call it on an empty world, or
    /// before a reset.
    pub fn set_source(&mut self, source: Option<Arc<dyn StateSource>>) {
        self.memo.follow(source.as_ref());
        self.settled = Settled::default();
        self.source = source;
    }

    /// The source the world reads what it does not hold from, if any.
    pub fn source(&self) -> Option<&Arc<dyn StateSource>> {
        self.source.as_ref()
    }

    /// Takes the failed read that stopped the last run, if one did: the run's outcome is then
    /// meaningless (it saw zeros where the source failed to answer).
    pub fn take_source_error(&mut self) -> Option<SourceError> {
        self.source_error.take()
    }

    /// Whether a read of the source failed in the current run (see
    /// [`World::take_source_error`]).
    pub fn source_failed(&self) -> bool {
        self.source_error.is_some()
    }

    /// Loads the account at `address` from the source, unless the world holds it or removed
    /// it: it becomes base state, as if the pre-state had held it. The source's answers are
    /// kept across runs, so nothing needs to remember what a run asked for: an account is
    /// asked for again only while the world holds none, and then gets the same answer.
    #[inline]
    pub fn fetch(&mut self, address: Address) {
        if self.source.is_some() && !self.settled.holds(&address) {
            self.fetch_account(address);
        }
    }

    #[cold]
    fn fetch_account(&mut self, address: Address) {
        let Some(source) = &self.source else {
            return;
        };
        if self.source_error.is_some() {
            return;
        }
        self.settled.add(address);
        if let Some(account) = self.accounts.get_mut(&address) {
            account.unreached = false;
            return;
        }
        if self.is_gone(&address) {
            return;
        }
        match self.memo.account(&**source, address) {
            Ok(Some(account)) => {
                self.accounts.push(address, account);
                self.memo.read_account(address);
            }
            Ok(None) => {}
            Err(error) => self.fail(error),
        }
    }

    /// Whether `address` was removed while the world forks a source.
    #[inline]
    fn is_gone(&self, address: &Address) -> bool {
        !self.gone.is_empty() && self.gone.contains(address)
    }

    /// Loads slot `key` of `address` from the source, which the world does not hold: its
    /// account first, so the slot has an account to live in. A zero slot makes no entry, as
    /// for a slot never written, and is asked of the memo again when next reached.
    #[cold]
    fn fetch_slot(&mut self, address: Address, key: U256) {
        self.fetch(address);
        let Some(source) = &self.source else {
            return;
        };
        if self.source_error.is_some() || self.is_gone(&address) {
            return;
        }
        match self.memo.storage(&**source, address, key) {
            Ok(value) => {
                self.memo.read_slot(address, key, value);
                if !value.is_zero() {
                    // Not journaled: the account is base state, however the run goes.
                    let (account, _) = self.accounts.get_or_default(address);
                    account.storage.insert(SlotKey(key), Slot::holding(value));
                }
            }
            Err(error) => self.fail(error),
        }
    }

    /// [`World::fetch_slot`] when the world forks a source and does not hold the slot.
    #[inline]
    fn fetch_slot_if_missing(&mut self, address: Address, key: U256) {
        if self.source.is_some() && self.accounts.slot_mut(&address, key).is_none() {
            self.fetch_slot(address, key);
        }
    }

    /// Records a failed read of a copy of this world (a rerun's) as this world's own.
    pub(crate) fn fail_with(&mut self, error: SourceError) {
        self.fail(error);
    }

    /// Records a failed read and stops the run: the engines check the deadline and halt, and
    /// the run's caller reports the error instead of an outcome.
    #[cold]
    fn fail(&mut self, error: SourceError) {
        if self.source_error.is_none() {
            self.source_error = Some(error);
        }
        self.deadline = Deadline::PASSED;
    }

    /// Empties the world for a new one with this environment, as [`World::new`] makes it
    /// but keeping the tables' memory (what a run of a few microseconds would otherwise spend
    /// allocating and freeing them), unless a big run left them big. A world forking a source
    /// keeps its answers and starts with what the last runs read, hidden until reached.
    pub fn reset(&mut self, env: Env, fork: Fork) {
        fn clear_map<K, V>(map: &mut HashMap<K, V>) {
            if map.capacity() > KEPT_CAPACITY {
                *map = HashMap::default();
            } else {
                map.clear();
            }
        }
        fn clear_set<K>(set: &mut HashSet<K>) {
            if set.capacity() > KEPT_CAPACITY {
                *set = HashSet::default();
            } else {
                set.clear();
            }
        }
        fn clear_vec<T>(vec: &mut Vec<T>) {
            if vec.capacity() > KEPT_CAPACITY {
                *vec = Vec::new();
            } else {
                vec.clear();
            }
        }
        let World {
            accounts,
            transient,
            warm_accounts,
            warm_precompiles,
            warm_misses,
            tx: _,
            created,
            destroyed,
            touched,
            logs,
            journal,
            kept_bytes,
            env: own_env,
            fork: own_fork,
            deadline,
            source: _,
            settled,
            gone,
            memo,
            source_error,
        } = self;
        *deadline = Deadline::NEVER;
        *settled = Settled::default();
        clear_set(gone);
        memo.trim();
        *source_error = None;
        accounts.clear();
        // A forked world starts with what the last runs read of the source, as a pre-state
        // would hold it, hidden until reached: a simulator's next call mostly reads the same.
        for (address, account) in memo.start() {
            accounts.push(*address, account.clone());
        }
        clear_map(transient);
        clear_set(warm_accounts);
        *warm_precompiles = None;
        clear_set(warm_misses);
        clear_set(created);
        clear_vec(destroyed);
        clear_set(touched);
        clear_vec(logs);
        clear_vec(journal);
        *kept_bytes = 0;
        *own_env = env;
        *own_fork = fork;
    }

    /// Puts an account in place (outside any transaction).
    pub fn insert_account(&mut self, address: Address, account: Account) {
        self.accounts.insert(address, account);
    }

    /// Gives the account at `address`, if any, the code `code`, whose keccak `hash` holds
    /// once known (outside any transaction); its balance, nonce and storage stay.
    pub fn share_code(&mut self, address: Address, code: Arc<[u8]>, hash: Arc<OnceLock<[u8; 32]>>) {
        if let Some(account) = self.accounts.get_mut(&address) {
            account.share_code(code, hash);
        }
    }

    /// Sets a storage slot (outside any transaction).
    pub fn set_storage(&mut self, address: Address, key: U256, value: U256) {
        let slot = self.accounts.get_or_default(address).0.slot_mut(key);
        // Its warmth in a transaction under way, if any, stays.
        slot.original = value;
        slot.present = value;
        slot.unreached = false;
    }

    /// An account, if it exists.
    pub fn account(&self, address: &Address) -> Option<&Account> {
        self.accounts.get(address).filter(|a| !a.unreached)
    }

    /// Every account.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.accounts.iter().filter(|(_, a)| !a.unreached)
    }

    /// Non-zero storage of `address`.
    pub fn storage_of(&self, address: &Address) -> BTreeMap<U256, U256> {
        self.accounts
            .get(address)
            .map(Account::storage)
            .unwrap_or_default()
    }

    /// About how many bytes the world's state holds: per account its record, its code and
    /// its storage slots with their table's share. What a caller that keeps worlds (a
    /// batch's sequences) counts them by: it walks the accounts, not the slots.
    pub fn approx_bytes(&self) -> u64 {
        // A slot's key and value in the table, at the table's usual load and growth room.
        const SLOT_BYTES: u64 = 160;
        const ACCOUNT_BYTES: u64 = 2 * std::mem::size_of::<(Address, Account)>() as u64;
        self.accounts
            .iter()
            .map(|(_, a)| ACCOUNT_BYTES + a.code.len() as u64 + SLOT_BYTES * a.storage.len() as u64)
            .sum()
    }

    /// Logs emitted so far in the current transaction.
    pub fn logs(&self) -> &[Log] {
        &self.logs
    }

    /// Takes the logs of the current transaction out of the world.
    pub fn take_logs(&mut self) -> Vec<Log> {
        std::mem::take(&mut self.logs)
    }

    /// Starts a transaction: clears warm sets, transient storage, logs and the journal, and
    /// makes present storage the original for EIP-2200 (each slot when first reached).
    pub fn begin_transaction(&mut self) {
        self.transient.clear();
        self.warm_accounts.clear();
        self.warm_precompiles = None;
        self.warm_misses.clear();
        self.created.clear();
        self.destroyed.clear();
        self.touched.clear();
        self.logs.clear();
        self.journal.clear();
        self.kept_bytes = 0;
        if self.tx == u32::MAX {
            // Numbers would come round again: every slot goes back to before the first.
            for slot in self
                .accounts
                .values_mut()
                .flat_map(|a| a.storage.values_mut())
            {
                slot.tx = 0;
            }
            self.tx = 0;
        }
        self.tx += 1;
    }

    /// Ends a transaction: removes destroyed accounts and forgets the journal.
    pub fn end_transaction(&mut self) {
        for address in std::mem::take(&mut self.destroyed) {
            self.accounts.remove(&address);
            if self.source.is_some() {
                self.gone.insert(address);
            }
        }
        self.journal.clear();
        self.kept_bytes = 0;
    }

    /// Marks an account warm without charging (transaction start).
    pub fn warm(&mut self, address: Address) {
        self.fetch(address);
        self.warm_accounts.insert(address);
    }

    /// Marks every precompile of `precompiles` warm without charging (transaction start), as
    /// [`World::warm`] of each would.
    pub fn warm_precompiles(&mut self, precompiles: PrecompileSet) {
        self.warm_precompiles = Some(precompiles);
    }

    /// Marks a storage slot warm without charging (a transaction's access list).
    pub fn warm_slot(&mut self, address: Address, key: U256) {
        let slot = self.accounts.slot_mut(&address, key);
        match slot {
            Some(slot) => {
                // An access list does not reach a slot put in from earlier runs: listed,
                // not read, it stays out of the world's listings as it would not be fetched.
                let unreached = slot.unreached;
                let slot = slot.reached_in(self.tx);
                slot.warm = true;
                slot.unreached = unreached;
            }
            None => {
                self.warm_misses.insert((address, SlotKey(key)));
            }
        }
    }

    /// Removes the accounts touched in this transaction that are empty (EIP-161, the rule of
    /// every supported fork). Only a mined transaction does this; `run` keeps them.
    pub fn remove_touched_empty(&mut self) {
        for address in std::mem::take(&mut self.touched) {
            if self.accounts.get(&address).is_some_and(Account::is_empty) {
                self.accounts.remove(&address);
                if self.source.is_some() {
                    self.gone.insert(address);
                }
            }
        }
    }

    /// The current journal position.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            journal: self.journal.len(),
            logs: self.logs.len(),
            kept_bytes: self.kept_bytes,
        }
    }

    /// Undoes everything after `cp`.
    pub fn revert_to(&mut self, cp: Checkpoint) {
        while self.journal.len() > cp.journal {
            let Some(entry) = self.journal.pop() else {
                break;
            };
            match entry {
                Entry::AccountWarmed(a) => {
                    self.warm_accounts.remove(&a);
                }
                Entry::SlotWarmed(a, k) => {
                    if let Some(slot) = self.accounts.slot_mut(&a, k) {
                        slot.warm = false;
                    }
                }
                Entry::MissWarmed(a, k) => {
                    self.warm_misses.remove(&(a, SlotKey(k)));
                    // The slot, written since, may carry the warmth in its bit as well.
                    if let Some(slot) = self.accounts.slot_mut(&a, k) {
                        slot.warm = false;
                    }
                }
                Entry::Storage {
                    address,
                    key,
                    previous,
                } => {
                    if let Some(slot) = self.accounts.slot_mut(&address, key) {
                        slot.present = previous;
                    }
                }
                Entry::Transient {
                    address,
                    key,
                    previous,
                } => {
                    self.transient.insert((address, SlotKey(key)), previous);
                }
                // Reverting never creates an account: the one changed exists, since its
                // creation is journaled before the change.
                Entry::Balance { address, previous } => {
                    if let Some(a) = self.accounts.get_mut(&address) {
                        a.balance = previous;
                    }
                }
                Entry::Nonce { address, previous } => {
                    if let Some(a) = self.accounts.get_mut(&address) {
                        a.nonce = previous;
                    }
                }
                Entry::Code { address, previous } => {
                    if let Some(a) = self.accounts.get_mut(&address) {
                        a.set_code(previous);
                    }
                }
                Entry::AccountCreated(a) => {
                    self.accounts.remove(&a);
                }
                Entry::Touched(a) => {
                    self.touched.remove(&a);
                }
                Entry::Created(a) => {
                    self.created.remove(&a);
                }
                Entry::Destroyed => {
                    self.destroyed.pop();
                }
            }
        }
        self.logs.truncate(cp.logs);
        self.kept_bytes = cp.kept_bytes;
    }

    /// Bytes the current transaction made the world hold ([`Host::held_bytes`]).
    pub fn held_bytes(&self) -> u64 {
        (self.journal.len() as u64)
            .saturating_mul(JOURNAL_ENTRY_BYTES)
            .saturating_add(self.kept_bytes)
    }

    /// Records a log.
    pub(crate) fn push_log(&mut self, log: Log) {
        self.kept_bytes = self.kept_bytes.saturating_add(log_bytes(&log));
        self.logs.push(log);
    }

    /// The account at `address`, created (journaled) when missing, so that a reverted change
    /// leaves no empty account behind: a state root must not see one.
    fn account_mut(&mut self, address: Address) -> &mut Account {
        self.fetch(address);
        account_in(&mut self.accounts, &mut self.journal, address)
    }

    /// Records an EIP-161 touch of `address`.
    fn mark_touched(&mut self, address: Address) {
        if self.touched.insert(address) {
            self.journal.push(Entry::Touched(address));
        }
    }

    /// Warms `address`, returning whether it was cold.
    fn touch(&mut self, address: Address) -> bool {
        self.fetch(address);
        if self.warm_precompiles.is_some_and(|p| p.contains(&address)) {
            return false;
        }
        let cold = self.warm_accounts.insert(address);
        if cold {
            self.journal.push(Entry::AccountWarmed(address));
        }
        cold
    }

    /// Warms `address` as a CREATE target does.
    pub fn warm_created(&mut self, address: Address) {
        self.touch(address);
    }

    /// Balance (0 for a missing account).
    pub fn balance_of(&self, address: &Address) -> U256 {
        self.accounts
            .get(address)
            .map(|a| a.balance)
            .unwrap_or_default()
    }

    /// Nonce (0 for a missing account).
    pub fn nonce_of(&self, address: &Address) -> u64 {
        self.accounts
            .get(address)
            .map(|a| a.nonce)
            .unwrap_or_default()
    }

    /// Code and its keccak256 (of the empty code for a missing account).
    pub fn code_and_hash(&self, address: &Address) -> (Arc<[u8]>, B256) {
        match self.accounts.get(address) {
            Some(a) => (a.code.clone(), a.code_hash()),
            None => (empty_code(), B256::from(KECCAK_EMPTY)),
        }
    }

    /// Code (empty for a missing account).
    pub fn code_of(&self, address: &Address) -> Arc<[u8]> {
        self.accounts
            .get(address)
            .map(|a| a.code.clone())
            .unwrap_or_else(empty_code)
    }

    /// Whether a CREATE to `address` collides with an existing account: one with code, a
    /// nonce, or (EIP-7610, retroactive to every fork) non-zero storage. revm 43 does not check
    /// storage; such an account cannot arise from execution, only from a given pre-state, and
    /// the ethereum/tests state tests expect the collision.
    pub fn has_code_nonce_or_storage(&self, address: &Address) -> bool {
        self.accounts.get(address).is_some_and(|a| {
            a.nonce != 0
                || !a.code.is_empty()
                || a.storage
                    .values()
                    .any(|s| !s.present.is_zero() && !s.unreached)
        })
    }

    /// Sets a balance, journaled (a touch).
    pub fn set_balance(&mut self, address: Address, value: U256) {
        let account = self.account_mut(address);
        let previous = account.balance;
        account.balance = value;
        self.journal.push(Entry::Balance { address, previous });
        self.mark_touched(address);
    }

    /// Moves `value` from `from` to `to`; false (and no change) when `from` cannot pay. A
    /// transfer of zero still touches `to` (EIP-161); one to oneself touches nothing.
    pub fn transfer(&mut self, from: Address, to: Address, value: U256) -> bool {
        self.fetch(from);
        self.fetch(to);
        let from_balance = self.balance_of(&from);
        if from_balance < value {
            return false;
        }
        if from == to {
            return true;
        }
        if value.is_zero() {
            self.mark_touched(to);
            return true;
        }
        self.set_balance(from, from_balance - value);
        let to_balance = self.balance_of(&to);
        self.set_balance(to, to_balance.overflowing_add(value).0);
        true
    }

    /// Sets a nonce, journaled.
    pub fn set_nonce(&mut self, address: Address, nonce: u64) {
        let account = self.account_mut(address);
        let previous = account.nonce;
        account.nonce = nonce;
        self.journal.push(Entry::Nonce { address, previous });
        self.mark_touched(address);
    }

    /// Sets code, journaled.
    pub fn set_code(&mut self, address: Address, code: Vec<u8>) {
        let account = self.account_mut(address);
        let previous = account.code.clone();
        let len = code.len() as u64;
        account.set_code(code.into());
        self.journal.push(Entry::Code { address, previous });
        self.kept_bytes = self.kept_bytes.saturating_add(len);
        self.mark_touched(address);
    }

    /// Records that `address` was created in this transaction (EIP-6780).
    pub fn mark_created(&mut self, address: Address) {
        if self.created.insert(address) {
            self.journal.push(Entry::Created(address));
        }
    }
}

/// The account at `address` in `accounts`, created (journaled in `journal`) when missing, as
/// [`World::account_mut`] gives it, for callers that hold other parts of the world too.
fn account_in<'a>(
    accounts: &'a mut Accounts,
    journal: &mut Vec<Entry>,
    address: Address,
) -> &'a mut Account {
    let (account, missing) = accounts.get_or_default(address);
    if missing {
        journal.push(Entry::AccountCreated(address));
    }
    account
}

/// Warms `slot` (of `address` at `key`, reached in the current transaction), journaled,
/// returning whether it was cold: neither its bit nor `misses` (where it went if warmed
/// before it was written) had it.
#[inline]
fn warms(
    slot: &mut Slot,
    misses: &HashSet<(Address, SlotKey)>,
    journal: &mut Vec<Entry>,
    address: Address,
    key: U256,
) -> bool {
    if slot.warm {
        return false;
    }
    slot.warm = true;
    if !misses.is_empty() && misses.contains(&(address, SlotKey(key))) {
        // Warm since before it was written: the bit spares looking again, and undoing that
        // warming (`Entry::MissWarmed`) clears the bit too.
        return false;
    }
    journal.push(Entry::SlotWarmed(address, key));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    #[test]
    fn a_reverted_change_leaves_no_account_behind() {
        let mut w = World::default();
        let a = Address::from_low_u64_be(7);
        w.begin_transaction();
        let cp = w.checkpoint();
        w.set_nonce(a, 1);
        w.sstore(a, U256::one(), U256::one());
        assert!(w.account(&a).is_some());
        w.revert_to(cp);
        assert!(
            w.account(&a).is_none(),
            "a state root would see an empty account"
        );
    }

    #[test]
    fn precompiles_are_warm_from_the_start_of_their_transaction_only() {
        let mut w = World::default();
        let (ecrecover, p256) = (Address::from_low_u64_be(1), Address::from_low_u64_be(0x100));
        w.begin_transaction();
        assert!(w.balance(ecrecover).1, "cold unless warmed");
        w.begin_transaction();
        w.warm_precompiles(PrecompileSet::for_fork(Fork::Osaka));
        assert!(!w.balance(ecrecover).1);
        assert!(!w.balance(p256).1);
        assert!(w.balance(Address::from_low_u64_be(0xbeef)).1);
        w.begin_transaction();
        assert!(w.balance(ecrecover).1, "the next transaction starts cold");
    }

    #[test]
    fn a_code_hash_is_the_keccak_of_the_code_however_it_is_made() {
        let code = vec![0x60, 1, 0x00];
        let a = Account::new(U256::zero(), 1, code.clone());
        let b = a.clone();
        assert_eq!(a.code_hash(), B256::from(keccak256(&code)));
        assert_eq!(a, b, "computing the hash changes no account");
        assert_eq!(Account::default().code_hash(), B256::from(KECCAK_EMPTY));
        assert_eq!(
            Account::new(U256::one(), 0, Vec::new()).code_hash(),
            B256::from(KECCAK_EMPTY)
        );
        let cell = Arc::new(OnceLock::new());
        let shared =
            Account::with_shared_code_hash(U256::zero(), 1, Arc::from(code.clone()), cell.clone());
        assert_eq!(cell.get(), None, "not computed until asked for");
        assert_eq!(shared.code_hash(), B256::from(keccak256(&code)));
        assert_eq!(cell.get(), Some(&keccak256(&code)));
        let known = B256::repeat_byte(7);
        let given = Account::with_code_hash(U256::zero(), 1, Arc::from(code), known);
        assert_eq!(given.code_hash(), known);
    }

    #[test]
    fn a_reverted_frame_cools_the_slots_it_warmed_and_keeps_originals() {
        let (a, k) = (Address::from_low_u64_be(7), U256::from(3));
        let mut w = World::default();
        w.insert_account(a, Account::default().with_storage([(k, U256::from(5))]));
        w.begin_transaction();
        let cp = w.checkpoint();
        assert_eq!(w.sload(a, k), (U256::from(5), true));
        assert_eq!(w.sload(a, k), (U256::from(5), false));
        let r = w.sstore(a, k, U256::from(6));
        assert_eq!(
            (r.original, r.current, r.is_cold),
            (5.into(), 5.into(), false)
        );
        w.revert_to(cp);
        assert_eq!(
            w.sload(a, k),
            (U256::from(5), true),
            "cold again, value back"
        );
        let cp = w.checkpoint();
        w.sstore(a, k, U256::from(6));
        w.sstore(a, U256::from(4), U256::one());
        let inner = w.checkpoint();
        let r = w.sstore(a, k, U256::from(7));
        assert_eq!(
            (r.original, r.current, r.is_cold),
            (5.into(), 6.into(), false)
        );
        w.revert_to(inner);
        assert_eq!(w.sload(a, U256::from(4)), (U256::one(), false));
        w.revert_to(cp);
        assert_eq!(w.sload(a, U256::from(4)), (U256::zero(), true));
        w.sstore(a, k, U256::from(8));
        w.end_transaction();
        // The next transaction starts from the present values, every slot cold.
        w.begin_transaction();
        let r = w.sstore(a, k, U256::from(9));
        assert_eq!(
            (r.original, r.current, r.is_cold),
            (8.into(), 8.into(), true)
        );
        assert_eq!(w.storage_of(&a).get(&k), Some(&U256::from(9)));
    }

    #[test]
    fn slots_of_missing_accounts_stay_warm_once_the_account_exists() {
        let (a, k, listed) = (Address::from_low_u64_be(9), U256::one(), U256::from(2));
        let mut w = World::default();
        w.begin_transaction();
        w.warm_slot(a, listed);
        let cp = w.checkpoint();
        assert_eq!(w.sload(a, k), (U256::zero(), true));
        assert_eq!(w.sload(a, k), (U256::zero(), false));
        w.set_balance(a, U256::one());
        assert!(!w.sstore(a, k, U256::one()).is_cold);
        assert!(!w.sstore(a, listed, U256::one()).is_cold);
        w.revert_to(cp);
        assert!(w.account(&a).is_none());
        assert_eq!(
            w.sload(a, k),
            (U256::zero(), true),
            "the warming was reverted"
        );
        assert_eq!(
            w.sload(a, listed),
            (U256::zero(), false),
            "the access list stays"
        );
        w.begin_transaction();
        assert_eq!(w.sload(a, listed), (U256::zero(), true));
    }

    #[test]
    fn reading_slots_never_written_leaves_no_entries_but_warms_them() {
        let a = Address::from_low_u64_be(8);
        let mut w = World::default();
        w.insert_account(a, Account::default());
        w.begin_transaction();
        for key in 0..100u64 {
            assert_eq!(w.sload(a, U256::from(key)), (U256::zero(), true));
        }
        assert_eq!(w.account(&a).map(|acc| acc.storage.len()), Some(0));
        let cp = w.checkpoint();
        assert_eq!(w.sload(a, U256::from(200)), (U256::zero(), true));
        let r = w.sstore(a, U256::from(200), U256::one());
        assert_eq!(
            (r.original, r.current, r.is_cold),
            (0.into(), 0.into(), false)
        );
        w.revert_to(cp);
        assert!(w.sstore(a, U256::from(200), U256::one()).is_cold);
        assert!(!w.sstore(a, U256::from(7), U256::one()).is_cold);
    }

    #[test]
    fn transaction_numbers_coming_round_leave_no_slot_warm() {
        let (a, k) = (Address::from_low_u64_be(5), U256::one());
        let mut w = World::default();
        w.insert_account(a, Account::default());
        w.begin_transaction();
        w.tx = u32::MAX;
        w.sstore(a, k, U256::from(2));
        w.begin_transaction();
        let r = w.sstore(a, k, U256::from(3));
        assert_eq!(
            (r.original, r.current, r.is_cold),
            (2.into(), 2.into(), true)
        );
        w.begin_transaction();
        assert_eq!(w.tx, 2);
        assert_eq!(w.sload(a, k), (U256::from(3), true));
    }

    #[test]
    fn accounts_compare_by_their_state_alone() {
        let (k, one) = (U256::from(4), U256::one());
        let mut w = World::default();
        let a = Address::from_low_u64_be(6);
        w.insert_account(a, Account::default().with_storage([(k, one)]));
        w.begin_transaction();
        w.sload(a, U256::from(8));
        w.sstore(a, k, U256::from(2));
        w.sstore(a, k, one);
        let expected = Account::default().with_storage([(k, one)]);
        assert_eq!(
            w.account(&a),
            Some(&expected),
            "a zero slot read, a slot back as it was"
        );
        w.sstore(a, k, U256::from(2));
        assert_ne!(w.account(&a), Some(&expected));
    }

    #[test]
    fn the_remembered_account_never_answers_for_another() {
        let at = Address::from_low_u64_be;
        let with_nonce = |n| Account::new(U256::zero(), n, Vec::new());
        let mut accounts = Accounts::default();
        for n in 1..=3 {
            accounts.insert(at(n), with_nonce(n));
        }
        assert_eq!(accounts.get_mut(&at(1)).map(|a| a.nonce), Some(1));
        // The last account moves into the removed one's place, the remembered position.
        assert_eq!(accounts.remove(&at(1)).map(|a| a.nonce), Some(1));
        assert!(accounts.get(&at(1)).is_none());
        assert!(accounts.get_mut(&at(1)).is_none());
        assert_eq!(accounts.get(&at(3)).map(|a| a.nonce), Some(3));
        assert_eq!(accounts.get_mut(&at(2)).map(|a| a.nonce), Some(2));
        assert!(accounts.remove(&at(2)).is_some());
        let (fresh, missing) = accounts.get_or_default(at(2));
        assert!(missing && fresh.nonce == 0);
        accounts.insert(at(3), with_nonce(7));
        let mut seen: Vec<_> = accounts.iter().map(|(a, acc)| (*a, acc.nonce)).collect();
        seen.sort();
        assert_eq!(seen, [(at(2), 0), (at(3), 7)]);
    }

    #[test]
    fn only_touched_empty_accounts_are_removed() {
        let mut w = World::default();
        let (from, to, idle) = (
            Address::from_low_u64_be(1),
            Address::from_low_u64_be(2),
            Address::from_low_u64_be(3),
        );
        w.insert_account(from, Account::new(U256::one(), 0, Vec::new()));
        w.insert_account(to, Account::default());
        w.insert_account(idle, Account::default());
        w.begin_transaction();
        // A transfer of zero touches its target; a reverted touch does not count.
        let cp = w.checkpoint();
        w.transfer(from, idle, U256::zero());
        w.revert_to(cp);
        w.transfer(from, to, U256::zero());
        w.remove_touched_empty();
        assert!(w.account(&to).is_none());
        assert!(w.account(&idle).is_some());
        assert!(w.account(&from).is_some());
    }
}
