//! The world as the interpreter's [`Host`]: what instructions read and change.

use super::*;

impl World {
    /// SLOAD of a slot the world holds: its value and whether it was cold.
    #[inline]
    fn sload_held(&mut self, address: Address, key: U256) -> Option<(U256, bool)> {
        let slot = self.accounts.slot_mut(&address, key)?.reached_in(self.tx);
        let cold = warms(slot, &self.warm_misses, &mut self.journal, address, key);
        Some((slot.present, cold))
    }
}

impl Host for World {
    fn env(&self) -> &Env {
        &self.env
    }

    fn deadline(&self) -> Deadline {
        self.deadline
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
        if let Some(read) = self.sload_held(address, key) {
            return read;
        }
        if self.source().is_some() {
            // Asked of the source only when the world does not hold the slot.
            self.fetch_slot(address, key);
            if let Some(read) = self.sload_held(address, key) {
                return read;
            }
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
        self.fetch_slot_if_missing(address, key);
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
        let Some(source) = &self.source else {
            return block_hash_of(number);
        };
        if self.source_error.is_some() {
            return B256::zero();
        }
        match source.block_hash(number) {
            Ok(hash) => hash,
            Err(error) => {
                self.fail(error);
                B256::zero()
            }
        }
    }

    fn log(&mut self, log: Log) {
        self.push_log(log);
    }

    fn held_bytes(&self) -> u64 {
        World::held_bytes(self)
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
