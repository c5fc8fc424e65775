//! Comparisons, bitwise logic, BYTE, shifts and CLZ.

use super::arithmetic::binary;
use super::Step;
use crate::frame::Frame;
use crate::host::Host;
use crate::{word, U256};

#[inline(always)]
fn flag(b: bool) -> U256 {
    U256::from(b as u8)
}

binary!(lt, "LT.", |a, b| flag(word::lt(&a, &b)));
binary!(gt, "GT.", |a, b| flag(word::lt(&b, &a)));
binary!(slt, "SLT.", |a, b| flag(word::slt(&a, &b)));
binary!(sgt, "SGT.", |a, b| flag(word::slt(&b, &a)));
binary!(eq, "EQ.", |a, b| flag(word::eq(&a, &b)));
binary!(and, "AND.", |a, b| a & b);
binary!(or, "OR.", |a, b| a | b);
binary!(xor, "XOR.", |a, b| a ^ b);
binary!(byte, "BYTE.", |i, x| byte_word(i, x));
binary!(shl, "SHL.", |shift, x| shl_word(shift, x));
binary!(shr, "SHR.", |shift, x| shr_word(shift, x));

/// Left shift (0 from 256 on).
pub fn shl_word(shift: U256, x: U256) -> U256 {
    word::shl(&shift, &x)
}

/// Logical right shift (0 from 256 on).
pub fn shr_word(shift: U256, x: U256) -> U256 {
    word::shr(&shift, &x)
}
binary!(sar, "SAR.", |shift, x| sar_word(shift, x));

/// Byte `i` (0 = most significant) of `x`.
pub fn byte_word(i: U256, x: U256) -> U256 {
    word::byte(&i, &x)
}

/// Arithmetic right shift.
pub fn sar_word(shift: U256, x: U256) -> U256 {
    word::sar(&shift, &x)
}

/// ISZERO.
pub fn iszero<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let top = frame.stack.top();
    *top = flag(word::is_zero(top));
    Step::Continue
}

/// NOT.
pub fn not<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let top = frame.stack.top();
    *top = !*top;
    Step::Continue
}

/// CLZ (EIP-7939): leading zero bits, 256 for zero.
pub fn clz<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let top = frame.stack.top();
    *top = U256::from(256 - top.bits());
    Step::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sar_fills_with_the_sign() {
        assert_eq!(sar_word(U256::from(4), U256::MAX - 0xff), U256::MAX - 0xf);
        assert_eq!(sar_word(U256::from(300), U256::MAX), U256::MAX);
        assert_eq!(sar_word(U256::from(300), U256::one()), U256::zero());
        assert_eq!(sar_word(U256::from(1), U256::from(4)), U256::from(2));
    }

    #[test]
    fn byte_counts_from_the_most_significant_end() {
        assert_eq!(
            byte_word(U256::from(31), U256::from(0xab)),
            U256::from(0xab)
        );
        assert_eq!(byte_word(U256::zero(), U256::MAX), U256::from(0xff));
        assert_eq!(byte_word(U256::from(32), U256::MAX), U256::zero());
    }
}
