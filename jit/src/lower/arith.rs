//! Word instructions: the arithmetic, comparison and bitwise instructions on the virtual
//! stack, constants folded at compile time, machine divisions where the operands fit 64 bits,
//! the builtin where nothing shorter holds.

use super::stack::{Slot, VStack};
use super::FunctionLowering;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{BlockArg, InstBuilder, Value};
use nestedvm_interp::instructions::stack_only;
use nestedvm_interp::opcode::{self, OPCODES};
use nestedvm_interp::U256;

impl FunctionLowering<'_, '_> {
    /// A word instruction with only static gas whose inputs are all known: pops them and
    /// returns its result, computed now by the interpreter's own code (so it stays a known
    /// constant downstream).
    pub(super) fn fold(&mut self, vs: &mut VStack, op: u8) -> Option<U256> {
        let inputs = OPCODES[op as usize].map_or(0, |info| info.inputs as usize);
        let n = vs.items.len();
        if inputs == 0 || inputs > 3 || n < inputs {
            return None;
        }
        // Top first; `stack_only` answers only for the word instructions.
        let mut x = [U256::zero(); 3];
        for (k, slot) in vs.items[n - inputs..].iter().rev().enumerate() {
            x[k] = slot.known()?;
        }
        let r = stack_only(op, x[0], x[1], x[2])?;
        vs.items.truncate(n - inputs);
        Some(r)
    }

    /// ADD, SUB, MUL, the comparisons, EQ, AND, OR and XOR, with constant operands folded
    /// into cheaper forms where one is known.
    pub(super) fn binary(&mut self, vs: &mut VStack, op: u8) {
        use opcode::*;
        let (a, ka) = self.pop_val(vs);
        let (b, kb) = self.pop_val(vs);
        let small = |k: Option<U256>| k.filter(|v| v.bits() <= 64).map(|v| v.low_u64());
        let r = match op {
            // The constant second: Cranelift then adds its halves as immediates.
            ADD if ka.is_some() && kb.is_none() => self.add_sub(b, a, false),
            ADD => self.add_sub(a, b, false),
            // Minus a constant is plus its negation: the sum's carry comes from its
            // result, while Cranelift turns the difference's borrow back into a
            // comparison with the constant (two registers held across loops).
            SUB => match kb {
                Some(k) => {
                    let neg = self.const_limbs(U256::zero().overflowing_sub(k).0);
                    self.add_sub(a, neg, false)
                }
                None => self.add_sub(a, b, true),
            },
            MUL => {
                let pow2 = |k: Option<U256>| k.and_then(power_of_two).map(U256::from);
                match (pow2(ka), pow2(kb), small(ka), small(kb)) {
                    (_, Some(n), _, _) => self.shl(n, a),
                    (Some(n), _, _, _) => self.shl(n, b),
                    (_, _, _, Some(c)) => self.mul_small(a, c),
                    (_, _, Some(c), _) => self.mul_small(b, c),
                    _ => self.mul(a, b),
                }
            }
            LT | GT | SLT | SGT if small(kb).or(small(ka)).is_some() => {
                let signed = matches!(op, SLT | SGT);
                // `a < b` for LT, `b < a` for GT: which side holds the constant says
                // whether the variable is below or above it.
                match (small(ka), small(kb), matches!(op, LT | SLT)) {
                    (_, Some(c), below) => self.cmp_small(a, c, below, signed),
                    (Some(c), _, below) => self.cmp_small(b, c, !below, signed),
                    _ => unreachable!("the guard saw a constant"),
                }
            }
            LT => self.lt(a, b, false),
            GT => self.lt(b, a, false),
            SLT => self.lt(a, b, true),
            SGT => self.lt(b, a, true),
            EQ => {
                let x = self.xor(a, b);
                self.is_zero(x)
            }
            AND => std::array::from_fn(|k| self.builder.ins().band(a[k], b[k])),
            OR => std::array::from_fn(|k| self.builder.ins().bor(a[k], b[k])),
            _ => self.xor(a, b),
        };
        vs.items.push(Slot::Val(r, None));
    }

    /// ISZERO and NOT.
    pub(super) fn unary(&mut self, vs: &mut VStack, op: u8) {
        let (a, _) = self.pop_val(vs);
        let r = if op == opcode::ISZERO {
            self.is_zero(a)
        } else {
            std::array::from_fn(|k| self.builder.ins().bnot(a[k]))
        };
        vs.items.push(Slot::Val(r, None));
    }

    /// BYTE, SHL, SHR, SIGNEXTEND and SAR: inline when the top input (the index or the
    /// amount) is known, and BYTE always; the others through the builtin.
    pub(super) fn bits(&mut self, vs: &mut VStack, op: u8) {
        use opcode::*;
        let top_known = self.known_top(vs).is_some();
        match op {
            BYTE | SHL | SHR if top_known => {
                let (_, n) = self.pop_val(vs);
                let n = n.unwrap_or_default();
                let (x, _) = self.pop_val(vs);
                let r = match op {
                    BYTE => self.byte(n, x),
                    SHL => self.shl(n, x),
                    _ => self.shr(n, x),
                };
                vs.items.push(Slot::Val(r, None));
            }
            // Computed shift amounts and SIGNEXTEND indexes go through the builtin: inline,
            // their selects made register allocation of long runs of them take seconds.
            SIGNEXTEND | SAR if top_known => {
                let (n, known) = self.pop_val(vs);
                let (x, _) = self.pop_val(vs);
                let r = match op {
                    SIGNEXTEND => self.signextend(known.unwrap_or_default(), x),
                    _ => self.shift_var(op, n, x),
                };
                vs.items.push(Slot::Val(r, None));
            }
            BYTE => {
                let (n, _) = self.pop_val(vs);
                let (x, _) = self.pop_val(vs);
                let r = self.byte_var(n, x);
                vs.items.push(Slot::Val(r, None));
            }
            _ => self.word_builtin(vs, op),
        }
    }

    /// DIV, SDIV, MOD, SMOD: one machine division when both operands fit in 64 bits (signed:
    /// sign-extended from 64 bits, divisor not -1), the builtin otherwise (and for a zero
    /// divisor).
    pub(super) fn divide(&mut self, vs: &mut VStack, op: u8) {
        use opcode::*;
        let (a, _) = self.pop_val(vs);
        let (b, known_b) = self.pop_val(vs);
        // By a constant power of two (compilers' shifts): a shift or a mask, no division.
        if let Some(d) = known_b.filter(|d| d.is_zero() || power_of_two(*d).is_some()) {
            let r = match op {
                _ if d.is_zero() => {
                    let z = self.iconst(0);
                    Some([z, z, z, z])
                }
                DIV => Some(self.shr(U256::from(d.trailing_zeros()), a)),
                MOD => {
                    let mask = d - 1;
                    Some(std::array::from_fn(|k| {
                        self.builder.ins().band_imm(a[k], mask.0[k] as i64)
                    }))
                }
                _ => None,
            };
            if let Some(r) = r {
                vs.items.push(Slot::Val(r, None));
                return;
            }
        }
        let signed = matches!(op, SDIV | SMOD);
        // The high limbs as the extension of limb 0 (zero, or its sign when signed).
        let ext = |c: &mut Self, w: [Value; 4]| {
            let fill = if signed {
                c.builder.ins().sshr_imm(w[0], 63)
            } else {
                c.iconst(0)
            };
            let x1 = c.builder.ins().bxor(w[1], fill);
            let x2 = c.builder.ins().bxor(w[2], fill);
            let x3 = c.builder.ins().bxor(w[3], fill);
            let x = c.builder.ins().bor(x1, x2);
            c.builder.ins().bor(x, x3)
        };
        let ha = ext(self, a);
        let hb = ext(self, b);
        let high = self.builder.ins().bor(ha, hb);
        let narrow = self.builder.ins().icmp_imm(IntCC::Equal, high, 0);
        let nonzero = self.builder.ins().icmp_imm(IntCC::NotEqual, b[0], 0);
        let mut ok = self.builder.ins().band(narrow, nonzero);
        if signed {
            // i64::MIN / -1 overflows the machine division.
            let not_minus_one = self.builder.ins().icmp_imm(IntCC::NotEqual, b[0], -1);
            ok = self.builder.ins().band(ok, not_minus_one);
        }
        let fast = self.builder.create_block();
        let slow = self.builder.create_block();
        let merge = self.builder.create_block();
        for _ in 0..4 {
            self.builder.append_block_param(merge, I64);
        }
        self.builder.ins().brif(ok, fast, &[], slow, &[]);
        self.builder.switch_to_block(fast);
        let q = match op {
            DIV => self.builder.ins().udiv(a[0], b[0]),
            MOD => self.builder.ins().urem(a[0], b[0]),
            SDIV => self.builder.ins().sdiv(a[0], b[0]),
            _ => self.builder.ins().srem(a[0], b[0]),
        };
        let fill = if signed {
            self.builder.ins().sshr_imm(q, 63)
        } else {
            self.iconst(0)
        };
        let args: Vec<BlockArg> = [q, fill, fill, fill].into_iter().map(Into::into).collect();
        self.builder.ins().jump(merge, &args);
        self.builder.switch_to_block(slow);
        let r = self.call_word_builtin(op, &[a, b]);
        let args: Vec<BlockArg> = r.into_iter().map(Into::into).collect();
        self.builder.ins().jump(merge, &args);
        self.builder.switch_to_block(merge);
        let p = self.builder.block_params(merge);
        let r = [p[0], p[1], p[2], p[3]];
        vs.items.push(Slot::Val(r, None));
    }
}

/// `n` when `v` is 2^n.
fn power_of_two(v: U256) -> Option<u32> {
    (!v.is_zero() && (v & (v - 1)).is_zero()).then(|| v.trailing_zeros())
}
