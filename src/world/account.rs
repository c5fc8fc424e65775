//! One account: balance, nonce, code with its lazily computed hash, and storage slots that
//! carry their own warm bit and transaction-start value.

use super::hashing::{HashMap, SlotKey};
use nestedvm_interp::{keccak256, B256, KECCAK_EMPTY, U256};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// One storage slot: its value at the start of transaction `tx` and now, and whether it is
/// warm in `tx`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Slot {
    pub(super) original: U256,
    pub(super) present: U256,
    /// The transaction the slot was last reached in (see [`World::tx`]); until it is reached
    /// in the current one, `original` and `warm` are stale.
    pub(super) tx: u32,
    pub(super) warm: bool,
    /// Put in from what earlier runs read of a forked chain and not reached since: a dump,
    /// the outcome's storage and the EIP-7610 check skip it, as if the world had not read it.
    pub(super) unreached: bool,
}

impl Slot {
    /// A slot holding `value` since before any transaction.
    pub(super) fn holding(value: U256) -> Slot {
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
    pub(super) fn reached_in(&mut self, tx: u32) -> &mut Slot {
        if self.tx != tx {
            self.tx = tx;
            self.original = self.present;
            self.warm = false;
            self.unreached = false;
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
    pub(super) storage: HashMap<SlotKey, Slot>,
    /// Put in from what earlier runs read of a forked chain, and not reached in this run (see
    /// [`Slot::unreached`]): the world's listings skip it.
    pub(super) unreached: bool,
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
pub(super) struct CodeHash(Option<Arc<OnceLock<[u8; 32]>>>);

impl CodeHash {
    /// The hash of `code`, made on demand (of the empty code, none needed).
    pub(super) fn lazy(code: &[u8]) -> CodeHash {
        CodeHash((!code.is_empty()).then(|| Arc::new(OnceLock::new())))
    }

    pub(super) fn get(&self, code: &[u8]) -> B256 {
        match &self.0 {
            Some(cell) => B256::from(*cell.get_or_init(|| keccak256(code))),
            None => B256::from(KECCAK_EMPTY),
        }
    }
}

/// The empty code, shared rather than allocated per account.
pub(super) fn empty_code() -> Arc<[u8]> {
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
            unreached: false,
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

    /// Replaces the code with `code`, whose keccak `hash` holds once known.
    pub(super) fn share_code(&mut self, code: Arc<[u8]>, hash: Arc<OnceLock<[u8; 32]>>) {
        self.code = code;
        self.code_hash = CodeHash(Some(hash));
    }

    pub(super) fn set_code(&mut self, code: Arc<[u8]>) {
        self.code_hash = CodeHash::lazy(&code);
        self.code = code;
    }

    /// The slot at `key`, made (holding zero) when missing.
    #[inline]
    pub(super) fn slot_mut(&mut self, key: U256) -> &mut Slot {
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
            .filter(|(_, s)| !s.present.is_zero() && !s.unreached)
            .map(|(k, s)| (k.0, s.present))
            .collect()
    }
}
