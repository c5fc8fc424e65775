//! EIP-7702 authorizations (Prague on): a transaction's signed tuples, each letting the
//! transaction set its signer's code to a delegation designator `0xef0100 || address`.

use crate::signer::recover_address;
use crate::world::{delegation_target, World};
use alloy_rlp::{Encodable, Header};
use nestedvm_interp::{keccak256, Address, U256};

/// Intrinsic gas per authorization (EIP-7702 `PER_EMPTY_ACCOUNT_COST`).
pub const PER_EMPTY_ACCOUNT_COST: u64 = 25_000;
/// What an authorization costs when its authority already exists: the rest is refunded.
pub const PER_AUTH_BASE_COST: u64 = 12_500;
/// The byte in front of the signed RLP, separating these signatures from others.
const MAGIC: u8 = 0x05;
/// The three bytes in front of the address in a delegation designator.
const DELEGATION_PREFIX: [u8; 3] = [0xef, 0x01, 0x00];

/// Half the order of secp256k1: a larger `s` is not accepted (EIP-2), so a signature has one
/// form only.
fn secp256k1n_half() -> U256 {
    U256::from_big_endian(&[
        0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b,
        0x20, 0xa0,
    ])
}

/// One signed authorization tuple.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The chain it is for (0: any).
    pub chain_id: U256,
    /// The account whose code the authority delegates to (zero: clear the delegation).
    pub address: Address,
    /// The authority's nonce it is valid at.
    pub nonce: u64,
    /// Signature parity (0 or 1).
    pub y_parity: U256,
    /// Signature `r`.
    pub r: U256,
    /// Signature `s`.
    pub s: U256,
}

impl Authorization {
    /// keccak(0x05 || rlp([chain_id, address, nonce])): what the authority signed.
    pub fn signing_hash(&self) -> [u8; 32] {
        let chain = self.chain_id.to_big_endian();
        // An RLP integer is its big-endian bytes without leading zeros.
        let chain = &chain[chain.iter().take_while(|b| **b == 0).count()..];
        let address = self.address.as_bytes();
        let header = Header {
            list: true,
            payload_length: chain.length() + address.length() + self.nonce.length(),
        };
        let mut out = vec![MAGIC];
        header.encode(&mut out);
        chain.encode(&mut out);
        address.encode(&mut out);
        self.nonce.encode(&mut out);
        keccak256(&out)
    }

    /// The signer, or `None` for a signature that is invalid or not in its low-`s` form.
    pub fn authority(&self) -> Option<Address> {
        if self.y_parity > U256::one() || self.s > secp256k1n_half() {
            return None;
        }
        recover_address(
            &self.signing_hash(),
            self.y_parity.low_u32() as u8,
            self.r,
            self.s,
        )
    }
}

/// Applies `list` to `world` in order, skipping the tuples that do not apply (another chain,
/// a maximal or wrong nonce, a bad signature, an authority with other code): each applied one
/// warms its authority, sets its delegation and bumps its nonce. Returns the refund earned by
/// authorities that already existed.
pub fn apply_authorizations(world: &mut World, chain_id: u64, list: &[Authorization]) -> u64 {
    let mut refund = 0;
    for auth in list {
        if !auth.chain_id.is_zero() && auth.chain_id != U256::from(chain_id) {
            continue;
        }
        if auth.nonce == u64::MAX {
            continue;
        }
        let Some(authority) = auth.authority() else {
            continue;
        };
        world.warm(authority);
        let (exists, nonce, code) = match world.account(&authority) {
            Some(a) => (true, a.nonce, a.code.clone()),
            None => (false, 0, Vec::new().into()),
        };
        if !code.is_empty() && delegation_target(&code).is_none() {
            continue;
        }
        if nonce != auth.nonce {
            continue;
        }
        if exists {
            refund += PER_EMPTY_ACCOUNT_COST - PER_AUTH_BASE_COST;
        }
        let designator = if auth.address.is_zero() {
            Vec::new()
        } else {
            [&DELEGATION_PREFIX[..], auth.address.as_bytes()].concat()
        };
        world.set_code(authority, designator);
        world.set_nonce(authority, nonce + 1);
    }
    refund
}
