//! Commitments to a world and to a transaction's logs, as Ethereum computes them: the state
//! root (a Merkle Patricia trie from `alloy-trie` over keccak-hashed addresses, each account
//! `rlp([nonce, balance, storage_root, code_hash])`) and the logs hash (keccak of the RLP list
//! of `[address, topics, data]`).

use crate::world::{Account, World};
use alloy_primitives::{Address as AlloyAddress, Bytes, B256 as AlloyB256, U256 as AlloyU256};
use alloy_rlp::RlpEncodable;
use alloy_trie::root::{state_root_unhashed, storage_root_unhashed};
use alloy_trie::TrieAccount;
use nestedvm_interp::{keccak256, Log, B256, U256};

fn to_alloy_u256(v: U256) -> AlloyU256 {
    AlloyU256::from_be_bytes(v.to_big_endian())
}

fn to_alloy_b256(v: B256) -> AlloyB256 {
    AlloyB256::from(v.0)
}

/// The trie leaf of an account: its storage root commits to its non-zero slots.
fn trie_account(account: &Account) -> TrieAccount {
    let slots = account
        .storage()
        .into_iter()
        .map(|(key, value)| (AlloyB256::from(key.to_big_endian()), to_alloy_u256(value)));
    TrieAccount::new(
        account.nonce,
        to_alloy_u256(account.balance),
        storage_root_unhashed(slots),
        to_alloy_b256(account.code_hash()),
    )
}

/// The state root of every account in `world`.
pub fn state_root(world: &World) -> B256 {
    let leaves = world
        .accounts()
        .map(|(address, account)| (AlloyAddress::from(address.0), trie_account(account)));
    B256::from(state_root_unhashed(leaves).0)
}

/// One log as the receipt encodes it.
#[derive(RlpEncodable)]
struct LogRlp {
    address: AlloyAddress,
    topics: Vec<AlloyB256>,
    data: Bytes,
}

/// Keccak of the RLP list of `logs`: what a state test's `logs` field holds.
pub fn logs_hash(logs: &[Log]) -> B256 {
    let encoded: Vec<LogRlp> = logs
        .iter()
        .map(|log| LogRlp {
            address: AlloyAddress::from(log.address.0),
            topics: log.topics.iter().map(|t| to_alloy_b256(*t)).collect(),
            data: Bytes::copy_from_slice(&log.data),
        })
        .collect();
    B256::from(keccak256(&alloy_rlp::encode(&encoded)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestedvm_interp::Address;

    #[test]
    fn empty_world_and_no_logs_have_the_well_known_hashes() {
        // keccak(rlp("")), the root of an empty trie, and keccak(rlp([])).
        let empty_root: B256 = "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
            .parse()
            .unwrap();
        let empty_list: B256 = "1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
            .parse()
            .unwrap();
        assert_eq!(state_root(&World::default()), empty_root);
        assert_eq!(logs_hash(&[]), empty_list);
    }

    #[test]
    fn the_root_commits_to_balance_and_storage() {
        let mut world = World::default();
        let a = Address::from_low_u64_be(1);
        world.insert_account(a, Account::new(U256::one(), 0, Vec::new()));
        let one = state_root(&world);
        world.set_storage(a, U256::one(), U256::one());
        let with_slot = state_root(&world);
        assert_ne!(one, with_slot);
        // A zero slot is not in the storage trie.
        world.set_storage(a, U256::one(), U256::zero());
        assert_eq!(state_root(&world), one);
    }
}
