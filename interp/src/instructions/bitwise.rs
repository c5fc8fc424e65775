//! Comparisons, bitwise logic, BYTE, shifts and CLZ.

use super::arithmetic::binary;
use super::{word_result, Step};
use crate::frame::Frame;
use crate::host::Host;
use crate::opcode::*;
use crate::U256;

binary!(lt, LT);
binary!(gt, GT);
binary!(slt, SLT);
binary!(sgt, SGT);
binary!(eq, EQ);
binary!(and, AND);
binary!(or, OR);
binary!(xor, XOR);
binary!(byte, BYTE);
binary!(shl, SHL);
binary!(shr, SHR);
binary!(sar, SAR);

/// The instruction of a word opcode of one input.
macro_rules! unary {
    ($name:ident, $op:ident) => {
        #[doc = concat!(stringify!($op), ".")]
        pub fn $name<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
            let top = frame.stack.top();
            *top = word_result($op, top, &U256::zero(), &U256::zero());
            Step::Continue
        }
    };
}

unary!(iszero, ISZERO);
unary!(not, NOT);

/// CLZ (EIP-7939): leading zero bits, 256 for zero.
pub fn clz<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let top = frame.stack.top();
    *top = U256::from(256 - top.bits());
    Step::Continue
}

#[cfg(test)]
mod tests {
    use crate::instructions::word_op;
    use crate::opcode::{BYTE, SAR};
    use crate::U256;

    fn binary(op: u8, a: u64, b: U256) -> U256 {
        word_op(op, &U256::from(a), &b, &U256::zero()).expect("a word instruction")
    }

    #[test]
    fn sar_fills_with_the_sign() {
        assert_eq!(binary(SAR, 4, U256::MAX - 0xff), U256::MAX - 0xf);
        assert_eq!(binary(SAR, 300, U256::MAX), U256::MAX);
        assert_eq!(binary(SAR, 300, U256::one()), U256::zero());
        assert_eq!(binary(SAR, 1, U256::from(4)), U256::from(2));
    }

    #[test]
    fn byte_counts_from_the_most_significant_end() {
        assert_eq!(binary(BYTE, 31, U256::from(0xab)), U256::from(0xab));
        assert_eq!(binary(BYTE, 0, U256::MAX), U256::from(0xff));
        assert_eq!(binary(BYTE, 32, U256::MAX), U256::zero());
    }
}
