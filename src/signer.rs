//! Addresses behind secp256k1 keys and signatures (`k256`, no hand-written cryptography): an
//! address is the last 20 bytes of the keccak of the uncompressed public key.

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use nestedvm_interp::{keccak256, Address, U256};

/// The address of a public key.
fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    // Skip the 0x04 tag of the uncompressed encoding.
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

/// The address of a secret key; `None` when it is not a valid key (zero, or not below the
/// curve order).
pub fn address_of_secret_key(secret: &[u8; 32]) -> Option<Address> {
    let key = SigningKey::from_slice(secret).ok()?;
    Some(address_of(key.verifying_key()))
}

/// The address that signed `prehash` with (`y_parity`, `r`, `s`); `None` for a signature that
/// recovers no key (`r` or `s` zero or not below the curve order, `y_parity` above 1).
pub fn recover_address(prehash: &[u8; 32], y_parity: u8, r: U256, s: U256) -> Option<Address> {
    let signature = Signature::from_scalars(r.to_big_endian(), s.to_big_endian()).ok()?;
    let recovery = RecoveryId::from_byte(y_parity).filter(|_| y_parity <= 1)?;
    let key = VerifyingKey::recover_from_prehash(prehash, &signature, recovery).ok()?;
    Some(address_of(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_tests_key_is_their_sender() {
        // The secret key and sender of every ethereum/tests state test.
        let secret: [u8; 32] = nestedvm_interp::asm::decode_hex(
            "45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8",
        )
        .and_then(|b| b.try_into().ok())
        .expect("32 bytes");
        let sender: Address = "a94f5374fce5edbc8e2a8697c15331677e6ebf0b".parse().unwrap();
        assert_eq!(address_of_secret_key(&secret), Some(sender));
        assert_eq!(address_of_secret_key(&[0; 32]), None);
    }

    #[test]
    fn a_signature_recovers_its_signer() {
        let key = SigningKey::from_slice(&[7; 32]).expect("a key");
        let prehash = keccak256(b"message");
        let (sig, recovery) = key.sign_prehash_recoverable(&prehash).expect("signs");
        let r = U256::from_big_endian(&sig.r().to_bytes());
        let s = U256::from_big_endian(&sig.s().to_bytes());
        let signer = address_of(key.verifying_key());
        let parity = recovery.to_byte();
        assert_eq!(recover_address(&prehash, parity, r, s), Some(signer));
        assert_ne!(recover_address(&prehash, 1 - parity, r, s), Some(signer));
        assert_eq!(recover_address(&prehash, 2, r, s), None);
        assert_eq!(recover_address(&prehash, parity, U256::zero(), s), None);
    }
}
