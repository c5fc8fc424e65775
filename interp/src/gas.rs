//! The gas schedule's formulas (Berlin and later: EIP-2929 access costs, EIP-2200/3529 SSTORE,
//! EIP-150 call forwarding, EIP-3860 initcode).

use crate::U256;

/// Cost of touching a warm account or slot.
pub const WARM_ACCESS: u64 = 100;
/// Cost of the first touch of an account in a transaction.
pub const COLD_ACCOUNT_ACCESS: u64 = 2600;
/// Cost of the first read of a storage slot in a transaction.
pub const COLD_SLOAD: u64 = 2100;
/// SSTORE of a non-zero value into a slot that was zero at the start of the transaction.
pub const SSTORE_SET: u64 = 20000;
/// SSTORE changing a non-zero slot's original value (EIP-2929: 5000 - COLD_SLOAD).
pub const SSTORE_RESET: u64 = 5000 - COLD_SLOAD;
/// Refund for clearing a slot (EIP-3529).
pub const SSTORE_CLEARS_SCHEDULE: i64 = 4800;
/// SSTORE fails when no more than this much gas is left (EIP-2200).
pub const SSTORE_STIPEND_GUARD: u64 = 2300;
/// Extra cost of a call that transfers value.
pub const CALL_VALUE: u64 = 9000;
/// Extra cost of a value transfer that brings an account into existence.
pub const NEW_ACCOUNT: u64 = 25000;
/// Gas given for free to the callee of a value-transferring call.
pub const CALL_STIPEND: u64 = 2300;
/// Per byte of deployed code.
pub const CODE_DEPOSIT: u64 = 200;
/// Per word of init code (EIP-3860).
pub const INITCODE_WORD: u64 = 2;
/// Per word hashed (KECCAK256, CREATE2).
pub const KECCAK_WORD: u64 = 6;
/// Per word copied.
pub const COPY_WORD: u64 = 3;
/// Per byte of LOG data.
pub const LOG_DATA: u64 = 8;
/// Per byte of the EXP exponent.
pub const EXP_BYTE: u64 = 50;

/// Number of 32-byte words needed for `len` bytes.
#[inline]
pub const fn words(len: u64) -> u64 {
    len.div_ceil(32)
}

/// Total cost of a memory of `words` words: `3w + w²/512`, saturating at `u64::MAX`.
#[inline]
pub const fn memory_cost(words: u64) -> u64 {
    if words <= u32::MAX as u64 {
        // Every memory that fits a machine: the square fits 64 bits, and 128-bit products
        // and shifts were most of the JIT's growth builtin's time.
        return 3 * words + words * words / 512;
    }
    let w = words as u128;
    let cost = 3 * w + w * w / 512;
    if cost > u64::MAX as u128 {
        u64::MAX
    } else {
        cost as u64
    }
}

/// Dynamic cost of EXP with this exponent.
#[inline]
pub fn exp_cost(exponent: &U256) -> u64 {
    let bytes = (exponent.bits() as u64).div_ceil(8);
    EXP_BYTE * bytes
}

/// Dynamic cost of copying or hashing `len` bytes at `per_word` gas a word.
#[inline]
pub fn per_word(len: u64, per_word: u64) -> Option<u64> {
    words(len).checked_mul(per_word)
}

/// Cost of touching an account, warm or cold.
#[inline]
pub const fn account_access(is_cold: bool) -> u64 {
    if is_cold {
        COLD_ACCOUNT_ACCESS
    } else {
        WARM_ACCESS
    }
}

/// Cost of SLOAD, warm or cold.
#[inline]
pub const fn sload_cost(is_cold: bool) -> u64 {
    if is_cold {
        COLD_SLOAD
    } else {
        WARM_ACCESS
    }
}

/// Cost of SSTORE (EIP-2200 with EIP-2929's cold surcharge).
pub fn sstore_cost(original: &U256, current: &U256, new: &U256, is_cold: bool) -> u64 {
    let base = if new == current {
        WARM_ACCESS
    } else if original == current {
        if original.is_zero() {
            SSTORE_SET
        } else {
            SSTORE_RESET
        }
    } else {
        WARM_ACCESS
    };
    base + if is_cold { COLD_SLOAD } else { 0 }
}

/// Refund change of SSTORE (EIP-3529).
pub fn sstore_refund(original: &U256, current: &U256, new: &U256) -> i64 {
    if new == current {
        return 0;
    }
    if original == current {
        return if !original.is_zero() && new.is_zero() {
            SSTORE_CLEARS_SCHEDULE
        } else {
            0
        };
    }
    let mut refund = 0;
    if !original.is_zero() {
        if current.is_zero() {
            refund -= SSTORE_CLEARS_SCHEDULE;
        } else if new.is_zero() {
            refund += SSTORE_CLEARS_SCHEDULE;
        }
    }
    if original == new {
        refund += if original.is_zero() {
            (SSTORE_SET - WARM_ACCESS) as i64
        } else {
            (SSTORE_RESET - WARM_ACCESS) as i64
        };
    }
    refund
}

/// Gas a call or create may forward: all but one 64th of what is left (EIP-150).
#[inline]
pub const fn all_but_one_64th(remaining: u64) -> u64 {
    remaining - remaining / 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_cost_is_quadratic() {
        assert_eq!(memory_cost(1), 3);
        assert_eq!(memory_cost(26), 79);
        assert_eq!(memory_cost(1024), 3 * 1024 + 2048);
    }

    #[test]
    fn memory_cost_in_64_bits_agrees_with_the_exact_formula() {
        let exact = |w: u64| {
            let w = w as u128;
            (3 * w + w * w / 512).min(u64::MAX as u128) as u64
        };
        for w in [
            0u64,
            1,
            2,
            26,
            27,
            511,
            512,
            1 << 20,
            1 << 25,
            (1 << 32) - 1,
            1 << 32,
            1 << 40,
            u64::MAX,
        ] {
            assert_eq!(memory_cost(w), exact(w), "{w} words");
        }
    }

    #[test]
    fn sstore_follows_eip_2200_and_3529() {
        let z = U256::zero();
        let one = U256::one();
        let two = U256::from(2);
        assert_eq!(sstore_cost(&z, &z, &one, true), 22100);
        assert_eq!(sstore_cost(&z, &z, &one, false), 20000);
        assert_eq!(sstore_cost(&one, &one, &two, false), 2900);
        assert_eq!(sstore_cost(&one, &two, &z, false), 100);
        assert_eq!(sstore_cost(&one, &one, &one, true), 2200);
        assert_eq!(sstore_refund(&one, &one, &z), 4800);
        assert_eq!(sstore_refund(&z, &one, &z), 19900);
        assert_eq!(sstore_refund(&one, &z, &one), -4800 + 2800);
        assert_eq!(sstore_refund(&one, &two, &z), 4800);
    }

    #[test]
    fn exp_charges_per_exponent_byte() {
        assert_eq!(exp_cost(&U256::zero()), 0);
        assert_eq!(exp_cost(&U256::from(255)), 50);
        assert_eq!(exp_cost(&U256::from(256)), 100);
        assert_eq!(exp_cost(&U256::MAX), 1600);
    }
}
