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
    keccak256, Address, Env, Fork, Host, Log, SStoreResult, SelfDestructResult, B256, KECCAK_EMPTY,
    U256,
};
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};

// foldhash rather than std's SipHash: storage and warm-set lookups run on every SLOAD and
// SSTORE, and SipHash was a tenth of snailtracer's run. Its maps are seeded per process, so
// keys a guest picks cannot be aimed at one bucket.
type HashMap<K, V> = std::collections::HashMap<K, V, KeyHashing>;
type HashSet<K> = std::collections::HashSet<K, KeyHashing>;

/// foldhash reading the world's keys (20-byte addresses hash as one byte string) sixteen
/// bytes at a time as numbers: two multiplies for an address where foldhash's byte-string
/// path took a loop and ~70 instructions. Storage keys hash as numbers ([`SlotKey`]).
#[derive(Clone, Debug, Default)]
struct KeyHashing(foldhash::fast::RandomState);

impl BuildHasher for KeyHashing {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0.build_hasher())
    }
}

struct KeyHasher(foldhash::fast::FoldHasher<'static>);

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(16);
        for chunk in &mut chunks {
            let mut le = [0u8; 16];
            le.copy_from_slice(chunk);
            self.0.write_u128(u128::from_le_bytes(le));
        }
        // The length goes in too, so byte strings of different lengths stay apart: in the top
        // byte of a last chunk, which at most 15 bytes leave free (lengths with as many whole
        // chunks differ by less than 256).
        let rest = chunks.remainder();
        let mut le = [0u8; 16];
        le[..rest.len()].copy_from_slice(rest);
        le[15] = bytes.len() as u8;
        self.0.write_u128(u128::from_le_bytes(le));
    }

    fn write_u8(&mut self, i: u8) {
        self.0.write_u8(i);
    }

    fn write_u32(&mut self, i: u32) {
        self.0.write_u32(i);
    }

    fn write_u64(&mut self, i: u64) {
        self.0.write_u64(i);
    }

    fn write_u128(&mut self, i: u128) {
        self.0.write_u128(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.0.write_usize(i);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// A storage key as the world's maps hash it: two 128-bit numbers, two multiplies in the
/// hasher, where `U256`'s own `Hash` adds a length prefix and its bytes a length of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SlotKey(U256);

impl Hash for SlotKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let [a, b, c, d] = self.0 .0;
        state.write_u128(u128::from(a) | u128::from(b) << 64);
        state.write_u128(u128::from(c) | u128::from(d) << 64);
    }
}

/// One storage slot: its value at the start of transaction `tx` and now, and whether it is
/// warm in `tx`.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    original: U256,
    present: U256,
    /// The transaction the slot was last reached in (see [`World::tx`]); until it is reached
    /// in the current one, `original` and `warm` are stale.
    tx: u32,
    warm: bool,
}

impl Slot {
    /// A slot holding `value` since before any transaction.
    fn holding(value: U256) -> Slot {
        Slot {
            original: value,
            present: value,
            ..Slot::default()
        }
    }

    /// The slot as transaction `tx` sees it: reached there for the first time, it is cold and
    /// its present value is the one the transaction started with (every change within a
    /// transaction reaches the slot first).
    #[inline]
    fn reached_in(&mut self, tx: u32) -> &mut Slot {
        if self.tx != tx {
            self.tx = tx;
            self.original = self.present;
            self.warm = false;
        }
        self
    }
}

/// An account.
#[derive(Clone, Debug)]
pub struct Account {
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Code.
    pub code: Arc<[u8]>,
    code_hash: CodeHash,
    storage: HashMap<SlotKey, Slot>,
}

// The code hash is the code's keccak whether computed yet or not, and a slot's original value
// and warmth belong to a transaction, not to the state: they take no part, nor do zero slots.
impl PartialEq for Account {
    fn eq(&self, other: &Self) -> bool {
        fn within(a: &HashMap<SlotKey, Slot>, b: &HashMap<SlotKey, Slot>) -> bool {
            a.iter().all(|(key, slot)| {
                slot.present.is_zero() || b.get(key).is_some_and(|s| s.present == slot.present)
            })
        }
        self.balance == other.balance
            && self.nonce == other.nonce
            && self.code == other.code
            && within(&self.storage, &other.storage)
            && within(&other.storage, &self.storage)
    }
}

impl Eq for Account {}

/// The keccak of an account's non-empty code, computed when first asked for and shared by
/// the account's clones: most runs never ask (a 16 KB hypervisor's hash was a third of a
/// first run), and a world built per run from the same accounts asks at most once.
#[derive(Clone, Debug, Default)]
struct CodeHash(Option<Arc<OnceLock<[u8; 32]>>>);

impl CodeHash {
    /// The hash of `code`, made on demand (of the empty code, none needed).
    fn lazy(code: &[u8]) -> CodeHash {
        CodeHash((!code.is_empty()).then(|| Arc::new(OnceLock::new())))
    }

    fn get(&self, code: &[u8]) -> B256 {
        match &self.0 {
            Some(cell) => B256::from(*cell.get_or_init(|| keccak256(code))),
            None => B256::from(KECCAK_EMPTY),
        }
    }
}

/// The empty code, shared rather than allocated per account.
fn empty_code() -> Arc<[u8]> {
    static EMPTY: OnceLock<Arc<[u8]>> = OnceLock::new();
    EMPTY.get_or_init(|| Arc::from(Vec::new())).clone()
}

impl Default for Account {
    fn default() -> Self {
        Account {
            balance: U256::zero(),
            nonce: 0,
            code: empty_code(),
            code_hash: CodeHash::default(),
            storage: HashMap::default(),
        }
    }
}

impl Account {
    /// An account with this balance, nonce and code.
    pub fn new(balance: U256, nonce: u64, code: Vec<u8>) -> Self {
        let mut a = Account {
            balance,
            nonce,
            ..Account::default()
        };
        if !code.is_empty() {
            a.set_code(code.into());
        }
        a
    }

    /// An account whose code's keccak the caller already knows (it is not checked).
    pub fn with_code_hash(balance: U256, nonce: u64, code: Arc<[u8]>, code_hash: B256) -> Self {
        let known = OnceLock::new();
        let _ = known.set(code_hash.0);
        Account {
            balance,
            nonce,
            code,
            code_hash: CodeHash(Some(Arc::new(known))),
            ..Account::default()
        }
    }

    /// An account whose code's keccak lives in `code_hash`, computed there on first use by
    /// whoever asks first (this account or the holder of the cell; it is not checked).
    pub fn with_shared_code_hash(
        balance: U256,
        nonce: u64,
        code: Arc<[u8]>,
        code_hash: Arc<OnceLock<[u8; 32]>>,
    ) -> Self {
        Account {
            balance,
            nonce,
            code,
            code_hash: CodeHash(Some(code_hash)),
            ..Account::default()
        }
    }

    /// The same account with these storage slots set.
    pub fn with_storage(mut self, slots: impl IntoIterator<Item = (U256, U256)>) -> Self {
        for (key, value) in slots {
            self.storage.insert(SlotKey(key), Slot::holding(value));
        }
        self
    }

    fn set_code(&mut self, code: Arc<[u8]>) {
        self.code_hash = CodeHash::lazy(&code);
        self.code = code;
    }

    /// The slot at `key`, made (holding zero) when missing.
    #[inline]
    fn slot_mut(&mut self, key: U256) -> &mut Slot {
        self.storage.entry(SlotKey(key)).or_default()
    }

    /// Keccak of the code.
    pub fn code_hash(&self) -> B256 {
        self.code_hash.get(&self.code)
    }

    /// Empty in the EIP-161 sense.
    pub fn is_empty(&self) -> bool {
        self.balance.is_zero() && self.nonce == 0 && self.code.is_empty()
    }

    /// Non-zero storage, sorted by slot.
    pub fn storage(&self) -> BTreeMap<U256, U256> {
        self.storage
            .iter()
            .filter(|(_, s)| !s.present.is_zero())
            .map(|(k, s)| (k.0, s.present))
            .collect()
    }
}

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
}

/// The accounts: a table of them with an index by address, and the position last reached
/// for a change remembered, since nearly all of a run's SLOADs and SSTOREs go to the account
/// executing. The remembered position is checked against its entry's address before use, so
/// no change to the table can make it answer wrong.
#[derive(Clone, Debug, Default)]
struct Accounts {
    index: HashMap<Address, usize>,
    table: Vec<(Address, Account)>,
    last: usize,
}

impl Accounts {
    fn with_capacity(capacity: usize) -> Accounts {
        Accounts {
            index: HashMap::with_capacity_and_hasher(capacity, KeyHashing::default()),
            table: Vec::with_capacity(capacity),
            last: 0,
        }
    }

    #[inline]
    fn position(&self, address: &Address) -> Option<usize> {
        match self.table.get(self.last) {
            Some((a, _)) if a == address => Some(self.last),
            _ => self.index.get(address).copied(),
        }
    }

    #[inline]
    fn get(&self, address: &Address) -> Option<&Account> {
        self.position(address).map(|i| &self.table[i].1)
    }

    #[inline]
    fn get_mut(&mut self, address: &Address) -> Option<&mut Account> {
        let i = self.position(address)?;
        self.last = i;
        Some(&mut self.table[i].1)
    }

    /// The account at `address`, made empty when missing, and whether it was missing.
    #[inline]
    fn get_or_default(&mut self, address: Address) -> (&mut Account, bool) {
        let missing = match self.position(&address) {
            Some(i) => {
                self.last = i;
                false
            }
            None => {
                self.push(address, Account::default());
                true
            }
        };
        (&mut self.table[self.last].1, missing)
    }

    fn insert(&mut self, address: Address, account: Account) {
        match self.position(&address) {
            Some(i) => self.table[i].1 = account,
            None => self.push(address, account),
        }
    }

    /// Adds an account not in the table.
    fn push(&mut self, address: Address, account: Account) {
        self.last = self.table.len();
        self.index.insert(address, self.last);
        self.table.push((address, account));
    }

    fn remove(&mut self, address: &Address) -> Option<Account> {
        let i = self.index.remove(address)?;
        let (_, account) = self.table.swap_remove(i);
        // The last entry moved into the hole.
        if let Some((moved, _)) = self.table.get(i) {
            self.index.insert(*moved, i);
        }
        Some(account)
    }

    fn iter(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.table
            .iter()
            .map(|(address, account)| (address, account))
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut Account> {
        self.table.iter_mut().map(|(_, account)| account)
    }

    /// Empties the table, keeping its memory unless it grew past `KEPT_CAPACITY`.
    fn clear(&mut self) {
        if self.table.capacity() > KEPT_CAPACITY {
            *self = Accounts::default();
        } else {
            self.index.clear();
            self.table.clear();
        }
    }
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
    /// Block and transaction environment.
    pub env: Env,
    /// The fork whose state rules apply (SELFDESTRUCT, delegations).
    pub fork: Fork,
}

/// The most entries a table keeps room for across [`World::reset`]: clearing costs time in
/// proportion to the room, so a table a big run grew is dropped instead.
const KEPT_CAPACITY: usize = 4096;

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
            env,
            fork,
        }
    }

    /// Empties the world for a new one with this environment, as [`World::new`] makes it
    /// but keeping the tables' memory (what a run of a few microseconds would otherwise spend
    /// allocating and freeing them), unless a big run left them big.
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
            env: own_env,
            fork: own_fork,
        } = self;
        accounts.clear();
        clear_map(transient);
        clear_set(warm_accounts);
        *warm_precompiles = None;
        clear_set(warm_misses);
        clear_set(created);
        clear_vec(destroyed);
        clear_set(touched);
        clear_vec(logs);
        clear_vec(journal);
        *own_env = env;
        *own_fork = fork;
    }

    /// Puts an account in place (outside any transaction).
    pub fn insert_account(&mut self, address: Address, account: Account) {
        self.accounts.insert(address, account);
    }

    /// Sets a storage slot (outside any transaction).
    pub fn set_storage(&mut self, address: Address, key: U256, value: U256) {
        let slot = self.accounts.get_or_default(address).0.slot_mut(key);
        // Its warmth in a transaction under way, if any, stays.
        slot.original = value;
        slot.present = value;
    }

    /// An account, if it exists.
    pub fn account(&self, address: &Address) -> Option<&Account> {
        self.accounts.get(address)
    }

    /// Every account.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.accounts.iter()
    }

    /// Non-zero storage of `address`.
    pub fn storage_of(&self, address: &Address) -> BTreeMap<U256, U256> {
        self.accounts
            .get(address)
            .map(Account::storage)
            .unwrap_or_default()
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
        }
        self.journal.clear();
    }

    /// Marks an account warm without charging (transaction start).
    pub fn warm(&mut self, address: Address) {
        self.warm_accounts.insert(address);
    }

    /// Marks every precompile of `precompiles` warm without charging (transaction start), as
    /// [`World::warm`] of each would.
    pub fn warm_precompiles(&mut self, precompiles: PrecompileSet) {
        self.warm_precompiles = Some(precompiles);
    }

    /// Marks a storage slot warm without charging (a transaction's access list).
    pub fn warm_slot(&mut self, address: Address, key: U256) {
        let slot = self
            .accounts
            .get_mut(&address)
            .and_then(|a| a.storage.get_mut(&SlotKey(key)));
        match slot {
            Some(slot) => slot.reached_in(self.tx).warm = true,
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
            }
        }
    }

    /// The current journal position.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            journal: self.journal.len(),
            logs: self.logs.len(),
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
                    if let Some(slot) = self
                        .accounts
                        .get_mut(&a)
                        .and_then(|a| a.storage.get_mut(&SlotKey(k)))
                    {
                        slot.warm = false;
                    }
                }
                Entry::MissWarmed(a, k) => {
                    self.warm_misses.remove(&(a, SlotKey(k)));
                    // The slot, written since, may carry the warmth in its bit as well.
                    if let Some(slot) = self
                        .accounts
                        .get_mut(&a)
                        .and_then(|a| a.storage.get_mut(&SlotKey(k)))
                    {
                        slot.warm = false;
                    }
                }
                Entry::Storage {
                    address,
                    key,
                    previous,
                } => {
                    if let Some(slot) = self
                        .accounts
                        .get_mut(&address)
                        .and_then(|a| a.storage.get_mut(&SlotKey(key)))
                    {
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
    }

    /// The account at `address`, created (journaled) when missing, so that a reverted change
    /// leaves no empty account behind: a state root must not see one.
    fn account_mut(&mut self, address: Address) -> &mut Account {
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
            a.nonce != 0 || !a.code.is_empty() || a.storage.values().any(|s| !s.present.is_zero())
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
        account.set_code(code.into());
        self.journal.push(Entry::Code { address, previous });
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

impl Host for World {
    fn env(&self) -> &Env {
        &self.env
    }

    fn balance(&mut self, address: Address) -> (U256, bool) {
        let cold = self.touch(address);
        (self.balance_of(&address), cold)
    }

    fn code(&mut self, address: Address) -> (Arc<[u8]>, bool) {
        let cold = self.touch(address);
        (self.code_of(&address), cold)
    }

    fn code_hash(&mut self, address: Address) -> (B256, bool) {
        let cold = self.touch(address);
        let hash = match self.accounts.get(&address) {
            Some(a) if !a.is_empty() => a.code_hash(),
            _ => B256::zero(),
        };
        (hash, cold)
    }

    fn load_account(&mut self, address: Address) -> AccountLoad {
        let is_cold = self.touch(address);
        let account = self.accounts.get(&address);
        let is_empty = account.is_none_or(Account::is_empty);
        // Followed at every fork, as revm does: before Prague such code cannot be deployed
        // (EIP-3541), so it only exists when a pre-state puts it there.
        let delegate = account.and_then(|a| delegation_target(&a.code));
        AccountLoad {
            is_cold,
            is_empty,
            delegate_is_cold: delegate.map(|d| self.touch(d)),
        }
    }

    fn sload(&mut self, address: Address, key: U256) -> (U256, bool) {
        let tx = self.tx;
        let slot = self
            .accounts
            .get_mut(&address)
            .and_then(|a| a.storage.get_mut(&SlotKey(key)));
        if let Some(slot) = slot {
            let slot = slot.reached_in(tx);
            let cold = warms(slot, &self.warm_misses, &mut self.journal, address, key);
            return (slot.present, cold);
        }
        // Reading a slot never written makes no entry for it (many transactions' reads would
        // pile up in a long-lived world): its warmth goes in `warm_misses`.
        let cold = self.warm_misses.insert((address, SlotKey(key)));
        if cold {
            self.journal.push(Entry::MissWarmed(address, key));
        }
        (U256::zero(), cold)
    }

    fn sstore(&mut self, address: Address, key: U256, value: U256) -> SStoreResult {
        // One lookup of the slot, and of the account unless it is the remembered one: SSTORE
        // is the costliest host call of token-like contracts.
        let account = account_in(&mut self.accounts, &mut self.journal, address);
        let slot = account.slot_mut(key).reached_in(self.tx);
        let is_cold = warms(slot, &self.warm_misses, &mut self.journal, address, key);
        let result = SStoreResult {
            original: slot.original,
            current: slot.present,
            is_cold,
        };
        if slot.present != value {
            let previous = slot.present;
            slot.present = value;
            self.journal.push(Entry::Storage {
                address,
                key,
                previous,
            });
        }
        result
    }

    fn tload(&mut self, address: Address, key: U256) -> U256 {
        self.transient
            .get(&(address, SlotKey(key)))
            .copied()
            .unwrap_or_default()
    }

    fn tstore(&mut self, address: Address, key: U256, value: U256) {
        let previous = self
            .transient
            .insert((address, SlotKey(key)), value)
            .unwrap_or_default();
        if previous != value {
            self.journal.push(Entry::Transient {
                address,
                key,
                previous,
            });
        }
    }

    fn block_hash(&mut self, number: u64) -> B256 {
        block_hash_of(number)
    }

    fn log(&mut self, log: Log) {
        self.logs.push(log);
    }

    fn selfdestruct(&mut self, address: Address, target: Address) -> SelfDestructResult {
        let target_is_cold = self.touch(target);
        let target_exists = self.accounts.get(&target).is_some_and(|a| !a.is_empty());
        let balance = self.balance_of(&address);
        let destroys = self.fork < Fork::Cancun || self.created.contains(&address);
        if address != target {
            self.transfer(address, target, balance);
        } else if destroys && !balance.is_zero() {
            // Destroying oneself as beneficiary burns the balance.
            self.set_balance(address, U256::zero());
        }
        if destroys && !self.destroyed.contains(&address) {
            self.destroyed.push(address);
            self.journal.push(Entry::Destroyed);
        }
        SelfDestructResult {
            had_value: !balance.is_zero(),
            target_exists,
            target_is_cold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
