//! The hot 256-bit word operations on raw little-endian limbs, inlined into the instructions
//! that use them: primitive-types' operators are out-of-line calls (its comparison was 4% of a
//! tight loop on its own) and do more than the EVM needs (overflow flags, full products).

use crate::U256;

/// `a + b` modulo 2^256.
#[inline(always)]
pub fn add(a: &U256, b: &U256) -> U256 {
    let mut out = [0u64; 4];
    let mut carry = false;
    for (o, (x, y)) in out.iter_mut().zip(a.0.iter().zip(b.0.iter())) {
        let (s1, c1) = x.overflowing_add(*y);
        let (s2, c2) = s1.overflowing_add(carry as u64);
        *o = s2;
        carry = c1 | c2;
    }
    U256(out)
}

/// `a - b` modulo 2^256.
#[inline(always)]
pub fn sub(a: &U256, b: &U256) -> U256 {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for (o, (x, y)) in out.iter_mut().zip(a.0.iter().zip(b.0.iter())) {
        let (d1, b1) = x.overflowing_sub(*y);
        let (d2, b2) = d1.overflowing_sub(borrow as u64);
        *o = d2;
        borrow = b1 | b2;
    }
    U256(out)
}

/// `a * b` modulo 2^256: only the ten partial products below 2^256.
#[inline(always)]
pub fn mul(a: &U256, b: &U256) -> U256 {
    let (a, b) = (&a.0, &b.0);
    let mut out = [0u64; 4];
    for i in 0..4 {
        let mut carry: u64 = 0;
        for j in 0..4 - i {
            let t = a[i] as u128 * b[j] as u128 + out[i + j] as u128 + carry as u128;
            out[i + j] = t as u64;
            carry = (t >> 64) as u64;
        }
    }
    U256(out)
}

/// `a < b`, unsigned.
#[inline(always)]
pub fn lt(a: &U256, b: &U256) -> bool {
    for i in (0..4).rev() {
        if a.0[i] != b.0[i] {
            return a.0[i] < b.0[i];
        }
    }
    false
}

/// `a == b`.
#[inline(always)]
pub fn eq(a: &U256, b: &U256) -> bool {
    (a.0[0] ^ b.0[0]) | (a.0[1] ^ b.0[1]) | (a.0[2] ^ b.0[2]) | (a.0[3] ^ b.0[3]) == 0
}

/// `a == 0`.
#[inline(always)]
pub fn is_zero(a: &U256) -> bool {
    a.0[0] | a.0[1] | a.0[2] | a.0[3] == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge_words() -> Vec<U256> {
        let mut v = vec![
            U256::zero(),
            U256::one(),
            U256::MAX,
            U256::MAX - 1,
            U256::one() << 63,
            U256::one() << 64,
            U256::one() << 128,
            U256::one() << 255,
            U256::from(u64::MAX),
            U256::from(u128::MAX),
        ];
        // A few scattered limb patterns.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..12 {
            let mut limbs = [0u64; 4];
            for l in limbs.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *l = x;
            }
            v.push(U256(limbs));
        }
        v
    }

    #[test]
    fn limb_ops_agree_with_primitive_types() {
        for a in edge_words() {
            for b in edge_words() {
                assert_eq!(add(&a, &b), a.overflowing_add(b).0, "{a:x} + {b:x}");
                assert_eq!(sub(&a, &b), a.overflowing_sub(b).0, "{a:x} - {b:x}");
                assert_eq!(mul(&a, &b), a.overflowing_mul(b).0, "{a:x} * {b:x}");
                assert_eq!(lt(&a, &b), a < b, "{a:x} < {b:x}");
                assert_eq!(eq(&a, &b), a == b);
            }
            assert_eq!(is_zero(&a), a.is_zero());
        }
    }
}
