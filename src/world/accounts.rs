//! The table of accounts, indexed by address.

use super::account::{Account, Slot};
use super::hashing::{HashMap, KeyHashing, SlotKey};
use super::KEPT_CAPACITY;
use nestedvm_interp::{Address, U256};

/// The accounts: a table of them with an index by address, and the position last reached
/// for a change remembered, since nearly all of a run's SLOADs and SSTOREs go to the account
/// executing. The remembered position is checked against its entry's address before use, so
/// no change to the table can make it answer wrong.
#[derive(Clone, Debug, Default)]
pub(super) struct Accounts {
    index: HashMap<Address, usize>,
    table: Vec<(Address, Account)>,
    last: usize,
}

impl Accounts {
    pub(super) fn with_capacity(capacity: usize) -> Accounts {
        Accounts {
            index: HashMap::with_capacity_and_hasher(capacity, KeyHashing::default()),
            table: Vec::with_capacity(capacity),
            last: 0,
        }
    }

    #[inline]
    pub(super) fn position(&self, address: &Address) -> Option<usize> {
        match self.table.get(self.last) {
            Some((a, _)) if a == address => Some(self.last),
            _ => self.index.get(address).copied(),
        }
    }

    #[inline]
    pub(super) fn get(&self, address: &Address) -> Option<&Account> {
        self.position(address).map(|i| &self.table[i].1)
    }

    #[inline]
    pub(super) fn get_mut(&mut self, address: &Address) -> Option<&mut Account> {
        let i = self.position(address)?;
        self.last = i;
        Some(&mut self.table[i].1)
    }

    /// The storage slot `key` of the account at `address`, when both exist (nothing is made).
    #[inline]
    pub(super) fn slot_mut(&mut self, address: &Address, key: U256) -> Option<&mut Slot> {
        self.get_mut(address)?.storage.get_mut(&SlotKey(key))
    }

    /// The account at `address`, made empty when missing, and whether it was missing.
    #[inline]
    pub(super) fn get_or_default(&mut self, address: Address) -> (&mut Account, bool) {
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

    pub(super) fn insert(&mut self, address: Address, account: Account) {
        match self.position(&address) {
            Some(i) => self.table[i].1 = account,
            None => self.push(address, account),
        }
    }

    /// Adds an account not in the table.
    pub(super) fn push(&mut self, address: Address, account: Account) {
        self.last = self.table.len();
        self.index.insert(address, self.last);
        self.table.push((address, account));
    }

    pub(super) fn remove(&mut self, address: &Address) -> Option<Account> {
        let i = self.index.remove(address)?;
        let (_, account) = self.table.swap_remove(i);
        // The last entry moved into the hole.
        if let Some((moved, _)) = self.table.get(i) {
            self.index.insert(*moved, i);
        }
        Some(account)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.table
            .iter()
            .map(|(address, account)| (address, account))
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Account> {
        self.table.iter_mut().map(|(_, account)| account)
    }

    /// Empties the table, keeping its memory unless it grew past `KEPT_CAPACITY`.
    pub(super) fn clear(&mut self) {
        if self.table.capacity() > KEPT_CAPACITY {
            *self = Accounts::default();
        } else {
            self.index.clear();
            self.table.clear();
        }
    }
}
