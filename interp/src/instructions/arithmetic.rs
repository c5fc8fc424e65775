//! ADD .. SIGNEXTEND, EXP.

use super::{charge, Step};
use crate::frame::Frame;
use crate::gas;
use crate::host::Host;
use crate::{word, U256};

macro_rules! binary {
    ($name:ident, $doc:literal, |$a:ident, $b:ident| $body:expr) => {
        #[doc = $doc]
        pub fn $name<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
            let $a = frame.stack.pop();
            let top = frame.stack.top();
            let $b = *top;
            *top = $body;
            Step::Continue
        }
    };
}
pub(crate) use binary;

binary!(add, "ADD.", |a, b| word::add(&a, &b));
binary!(mul, "MUL.", |a, b| word::mul(&a, &b));
binary!(sub, "SUB.", |a, b| word::sub(&a, &b));
binary!(div, "DIV.", |a, b| div_words(a, b));
binary!(rem, "MOD.", |a, b| rem_words(a, b));

/// Unsigned division (x / 0 = 0).
pub fn div_words(a: U256, b: U256) -> U256 {
    word::div(&a, &b)
}

/// Unsigned remainder (x % 0 = 0).
pub fn rem_words(a: U256, b: U256) -> U256 {
    word::rem(&a, &b)
}

/// `(a + b) % n` without overflow (0 when n is 0).
pub fn addmod_words(a: U256, b: U256, n: U256) -> U256 {
    word::addmod(&a, &b, &n)
}

/// `(a * b) % n` without overflow (0 when n is 0).
pub fn mulmod_words(a: U256, b: U256, n: U256) -> U256 {
    word::mulmod(&a, &b, &n)
}
binary!(sdiv, "SDIV.", |a, b| sdiv_words(a, b));
binary!(smod, "SMOD.", |a, b| smod_words(a, b));
binary!(signextend, "SIGNEXTEND.", |a, b| signextend_word(a, b));

/// Signed division (MIN / -1 = MIN).
pub fn sdiv_words(a: U256, b: U256) -> U256 {
    word::sdiv(&a, &b)
}

/// Signed remainder, with the sign of the dividend.
pub fn smod_words(a: U256, b: U256) -> U256 {
    word::smod(&a, &b)
}

/// Extends the sign of byte `b` (0 = lowest) of `x`.
pub fn signextend_word(b: U256, x: U256) -> U256 {
    word::signextend(&b, &x)
}

/// ADDMOD.
pub fn addmod<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let a = frame.stack.pop();
    let b = frame.stack.pop();
    let n = frame.stack.top();
    *n = addmod_words(a, b, *n);
    Step::Continue
}

/// MULMOD.
pub fn mulmod<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let a = frame.stack.pop();
    let b = frame.stack.pop();
    let n = frame.stack.top();
    *n = mulmod_words(a, b, *n);
    Step::Continue
}

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
    use super::*;

    /// Two's complement negation, independent of the word module's.
    fn negate(v: U256) -> U256 {
        (!v).overflowing_add(U256::one()).0
    }

    #[test]
    fn signed_division_edges() {
        let min = U256::one() << 255;
        let minus_one = U256::MAX;
        assert_eq!(sdiv_words(min, minus_one), min);
        assert_eq!(
            sdiv_words(negate(U256::from(7)), U256::from(2)),
            negate(U256::from(3))
        );
        assert_eq!(
            smod_words(negate(U256::from(7)), U256::from(2)),
            negate(U256::one())
        );
        assert_eq!(
            smod_words(U256::from(7), negate(U256::from(2))),
            U256::one()
        );
    }

    #[test]
    fn signextend_extends_the_named_byte() {
        assert_eq!(signextend_word(U256::zero(), U256::from(0xff)), U256::MAX);
        assert_eq!(
            signextend_word(U256::zero(), U256::from(0x7f)),
            U256::from(0x7f)
        );
        assert_eq!(
            signextend_word(U256::from(1), U256::from(0x1_80ff)),
            U256::MAX - 0x7f00
        );
        assert_eq!(signextend_word(U256::MAX, U256::from(5)), U256::from(5));
    }
}
