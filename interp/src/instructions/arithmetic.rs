//! ADD .. SIGNEXTEND, EXP.

use super::{charge, word_result, Step};
use crate::frame::Frame;
use crate::gas;
use crate::host::Host;
use crate::opcode::*;
use crate::U256;

/// The instruction of a word opcode of two inputs: its result is [`super::word_op`]'s.
macro_rules! binary {
    ($name:ident, $op:ident) => {
        #[doc = concat!(stringify!($op), ".")]
        pub fn $name<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
            let a = frame.stack.pop();
            let top = frame.stack.top();
            let b = *top;
            *top = word_result($op, &a, &b, &U256::zero());
            Step::Continue
        }
    };
}
pub(crate) use binary;

/// The instruction of a word opcode of three inputs (the modulus last).
macro_rules! ternary {
    ($name:ident, $op:ident) => {
        #[doc = concat!(stringify!($op), ".")]
        pub fn $name<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
            let (a, b) = (frame.stack.pop(), frame.stack.pop());
            let n = frame.stack.top();
            *n = word_result($op, &a, &b, n);
            Step::Continue
        }
    };
}

binary!(add, ADD);
binary!(mul, MUL);
binary!(sub, SUB);
binary!(div, DIV);
binary!(rem, MOD);
binary!(sdiv, SDIV);
binary!(smod, SMOD);
binary!(signextend, SIGNEXTEND);
ternary!(addmod, ADDMOD);
ternary!(mulmod, MULMOD);

/// EXP: 50 gas per exponent byte.
pub fn exp<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let base = frame.stack.pop();
    let exponent = frame.stack.peek(0);
    charge!(frame, gas::exp_cost(&exponent));
    *frame.stack.top() = base.overflowing_pow(exponent).0;
    Step::Continue
}

#[cfg(test)]
mod tests {
    use crate::instructions::word_op;
    use crate::opcode::{SDIV, SIGNEXTEND, SMOD};
    use crate::U256;

    /// Two's complement negation, independent of the word module's.
    fn negate(v: U256) -> U256 {
        (!v).overflowing_add(U256::one()).0
    }

    fn binary(op: u8, a: U256, b: U256) -> U256 {
        word_op(op, &a, &b, &U256::zero()).expect("a word instruction")
    }

    #[test]
    fn signed_division_edges() {
        let min = U256::one() << 255;
        let minus_one = U256::MAX;
        assert_eq!(binary(SDIV, min, minus_one), min);
        assert_eq!(
            binary(SDIV, negate(U256::from(7)), U256::from(2)),
            negate(U256::from(3))
        );
        assert_eq!(
            binary(SMOD, negate(U256::from(7)), U256::from(2)),
            negate(U256::one())
        );
        assert_eq!(
            binary(SMOD, U256::from(7), negate(U256::from(2))),
            U256::one()
        );
    }

    #[test]
    fn signextend_extends_the_named_byte() {
        let signextend = |b: u64, x: U256| binary(SIGNEXTEND, U256::from(b), x);
        assert_eq!(signextend(0, U256::from(0xff)), U256::MAX);
        assert_eq!(signextend(0, U256::from(0x7f)), U256::from(0x7f));
        assert_eq!(signextend(1, U256::from(0x1_80ff)), U256::MAX - 0x7f00);
        assert_eq!(binary(SIGNEXTEND, U256::MAX, U256::from(5)), U256::from(5));
    }
}
