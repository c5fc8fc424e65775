//! Arithmetic on words as four 64-bit limbs in SSA (least significant first), some of it on
//! 128-bit halves where x64 lowers those to shorter carry chains.

use super::FunctionLowering;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I128, I64};
use cranelift_codegen::ir::{InstBuilder, InstructionData, Opcode, Value};
use nestedvm_interp::{opcode, U256};

impl FunctionLowering<'_, '_> {
    /// `a + b + carry`, with the carry out (both i8 flags); x64 has no lowering for
    /// Cranelift's carry-in forms, so the two carries are combined by hand.
    fn add_carry(&mut self, a: Value, b: Value, carry: Value) -> (Value, Value) {
        let (t, c1) = self.builder.ins().uadd_overflow(a, b);
        let cin = self.builder.ins().uextend(I64, carry);
        let (r, c2) = self.builder.ins().uadd_overflow(t, cin);
        (r, self.builder.ins().bor(c1, c2))
    }

    /// The constant `v` holds, when an `iconst` defines it.
    fn const_value(&self, v: Value) -> Option<u64> {
        let inst = self.builder.func.dfg.value_def(v).inst()?;
        match self.builder.func.dfg.insts[inst] {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => Some(imm.bits() as u64),
            _ => None,
        }
    }

    /// A word as two 128-bit halves (low, high).
    fn halves(&mut self, w: [Value; 4]) -> (Value, Value) {
        let lo = self.builder.ins().iconcat(w[0], w[1]);
        let hi = self.builder.ins().iconcat(w[2], w[3]);
        (lo, hi)
    }

    /// The limbs of two 128-bit halves.
    fn join_halves(&mut self, lo: Value, hi: Value) -> [Value; 4] {
        let (r0, r1) = self.builder.ins().isplit(lo);
        let (r2, r3) = self.builder.ins().isplit(hi);
        [r0, r1, r2, r3]
    }

    /// `a + b` or `a - b` on 128-bit halves: x64 lowers those to add/adc and sub/sbb pairs,
    /// a shorter carry chain than carries materialized limb by limb.
    pub(super) fn add_sub(&mut self, a: [Value; 4], b: [Value; 4], subtract: bool) -> [Value; 4] {
        let (alo, ahi) = self.halves(a);
        let (blo, bhi) = self.halves(b);
        let constant_low = self.const_value(b[0]).is_some() && self.const_value(b[1]).is_some();
        let ins = self.builder.ins();
        let (lo, carry) = if !constant_low {
            // x64 takes the carry of a 128-bit overflow op straight from the flags (setb
            // after add/adc or sub/sbb), where a compare would recompute it.
            if subtract {
                ins.usub_overflow(alo, blo)
            } else {
                ins.uadd_overflow(alo, blo)
            }
        } else if subtract {
            let lo = ins.isub(alo, blo);
            (
                lo,
                self.builder.ins().icmp(IntCC::UnsignedLessThan, alo, blo),
            )
        } else {
            // The carry from the result: a constant `blo` stays an immediate of the add.
            let lo = ins.iadd(alo, blo);
            (
                lo,
                self.builder.ins().icmp(IntCC::UnsignedLessThan, lo, alo),
            )
        };
        // Through i64, so that x64 adds it as a register and an immediate 0.
        let carry = self.builder.ins().uextend(I64, carry);
        let carry = self.builder.ins().uextend(I128, carry);
        let high_zero = self.const_value(b[2]) == Some(0) && self.const_value(b[3]) == Some(0);
        let hi = if subtract {
            let d = if high_zero {
                ahi
            } else {
                self.builder.ins().isub(ahi, bhi)
            };
            self.builder.ins().isub(d, carry)
        } else {
            let t = if high_zero {
                ahi
            } else {
                self.builder.ins().iadd(ahi, bhi)
            };
            self.builder.ins().iadd(t, carry)
        };
        self.join_halves(lo, hi)
    }

    pub(super) fn mul(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        let zero = self.iconst(0);
        let mut r = [zero; 4];
        for i in 0..4 {
            let mut carry = zero;
            for j in 0..4 - i {
                let lo = self.builder.ins().imul(a[j], b[i]);
                if i + j == 3 {
                    let t = self.builder.ins().iadd(r[3], lo);
                    r[3] = self.builder.ins().iadd(t, carry);
                    continue;
                }
                let hi = self.builder.ins().umulhi(a[j], b[i]);
                let (t, c1) = self.builder.ins().uadd_overflow(r[i + j], lo);
                let (t, c2) = self.builder.ins().uadd_overflow(t, carry);
                r[i + j] = t;
                let c1 = self.builder.ins().uextend(I64, c1);
                let c2 = self.builder.ins().uextend(I64, c2);
                let h = self.builder.ins().iadd(hi, c1);
                carry = self.builder.ins().iadd(h, c2);
            }
        }
        r
    }

    /// `a * c` for a constant `c` below 2^64: one row of the schoolbook product.
    pub(super) fn mul_small(&mut self, a: [Value; 4], c: u64) -> [Value; 4] {
        let c = self.iconst(c);
        let lo: [Value; 4] = std::array::from_fn(|i| self.builder.ins().imul(a[i], c));
        let hi: [Value; 3] = std::array::from_fn(|i| self.builder.ins().umulhi(a[i], c));
        let (r1, carry) = self.builder.ins().uadd_overflow(lo[1], hi[0]);
        let (r2, carry) = self.add_carry(lo[2], hi[1], carry);
        let r3 = self.builder.ins().iadd(lo[3], hi[2]);
        let carry = self.builder.ins().uextend(I64, carry);
        let r3 = self.builder.ins().iadd(r3, carry);
        [lo[0], r1, r2, r3]
    }

    /// `a < b` as a word (signed when asked), on 128-bit halves.
    pub(super) fn lt(&mut self, a: [Value; 4], b: [Value; 4], signed: bool) -> [Value; 4] {
        let (alo, ahi) = self.halves(a);
        let (blo, bhi) = self.halves(b);
        let cc = if signed {
            IntCC::SignedLessThan
        } else {
            IntCC::UnsignedLessThan
        };
        let hi_lt = self.builder.ins().icmp(cc, ahi, bhi);
        let hi_eq = self.builder.ins().icmp(IntCC::Equal, ahi, bhi);
        let lo_lt = self.builder.ins().icmp(IntCC::UnsignedLessThan, alo, blo);
        let eq_and = self.builder.ins().band(hi_eq, lo_lt);
        let r = self.builder.ins().bor(hi_lt, eq_and);
        self.flag(r)
    }

    /// `x < c` (when `below`) or `c < x` for a constant `c` below 2^64, signed when asked: on
    /// limbs with immediates, where the 128-bit comparison would keep the constant's halves in
    /// registers (hoisted out of loops, then spilled).
    pub(super) fn cmp_small(
        &mut self,
        x: [Value; 4],
        c: u64,
        below: bool,
        signed: bool,
    ) -> [Value; 4] {
        // `c < x` is `!(x <= c)`. `x < c` (or `<=`): the high limbs are zero and the low one is
        // below c (or at most c), or, signed, x is negative (c is not).
        let low_cc = if below {
            IntCC::UnsignedLessThan
        } else {
            IntCC::UnsignedLessThanOrEqual
        };
        let high = self.builder.ins().bor(x[1], x[2]);
        let high = self.builder.ins().bor(high, x[3]);
        let high_zero = self.builder.ins().icmp_imm(IntCC::Equal, high, 0);
        let low = self.builder.ins().icmp_imm(low_cc, x[0], c as i64);
        let mut r = self.builder.ins().band(high_zero, low);
        if signed {
            let negative = self.builder.ins().icmp_imm(IntCC::SignedLessThan, x[3], 0);
            r = self.builder.ins().bor(r, negative);
        }
        if !below {
            r = self.builder.ins().bxor_imm(r, 1);
        }
        self.flag(r)
    }

    pub(super) fn xor(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        std::array::from_fn(|k| self.builder.ins().bxor(a[k], b[k]))
    }

    pub(super) fn is_zero(&mut self, a: [Value; 4]) -> [Value; 4] {
        let x = self.builder.ins().bor(a[0], a[1]);
        let y = self.builder.ins().bor(a[2], a[3]);
        let z = self.builder.ins().bor(x, y);
        let r = self.builder.ins().icmp_imm(IntCC::Equal, z, 0);
        self.flag(r)
    }

    /// A boolean (i8) as a word.
    fn flag(&mut self, r: Value) -> [Value; 4] {
        let r = self.builder.ins().uextend(I64, r);
        let z = self.iconst(0);
        [r, z, z, z]
    }

    pub(super) fn byte(&mut self, n: U256, x: [Value; 4]) -> [Value; 4] {
        let z = self.iconst(0);
        if n >= U256::from(32) {
            return [z, z, z, z];
        }
        let bit = (31 - n.low_u64()) * 8;
        let limb = x[(bit / 64) as usize];
        let v = self.builder.ins().ushr_imm(limb, (bit % 64) as i64);
        let v = self.builder.ins().band_imm(v, 0xff);
        [v, z, z, z]
    }

    /// `x` shifted left (or right) by the constant `n` bits: limbs moved whole, and the bits
    /// that cross a limb boundary or'ed in from the neighbour.
    fn shift_const(&mut self, n: U256, x: [Value; 4], left: bool) -> [Value; 4] {
        let z = self.iconst(0);
        if n >= U256::from(256) {
            return [z, z, z, z];
        }
        let n = n.low_u64() as usize;
        let (words, bits) = (n / 64, (n % 64) as i64);
        std::array::from_fn(|k| {
            // The limb that lands in limb k, and its neighbour whose bits spill into it.
            let (src, spill) = if left {
                let Some(src) = k.checked_sub(words) else {
                    return z;
                };
                (src, src.checked_sub(1))
            } else {
                let src = k + words;
                if src > 3 {
                    return z;
                }
                (src, Some(src + 1).filter(|s| *s <= 3))
            };
            let main = if left {
                self.builder.ins().ishl_imm(x[src], bits)
            } else {
                self.builder.ins().ushr_imm(x[src], bits)
            };
            match spill {
                Some(s) if bits != 0 => {
                    let carry = if left {
                        self.builder.ins().ushr_imm(x[s], 64 - bits)
                    } else {
                        self.builder.ins().ishl_imm(x[s], 64 - bits)
                    };
                    self.builder.ins().bor(main, carry)
                }
                _ => main,
            }
        })
    }

    /// `x << n` for a constant `n`.
    pub(super) fn shl(&mut self, n: U256, x: [Value; 4]) -> [Value; 4] {
        self.shift_const(n, x, true)
    }

    /// `x >> n` (logical) for a constant `n`.
    pub(super) fn shr(&mut self, n: U256, x: [Value; 4]) -> [Value; 4] {
        self.shift_const(n, x, false)
    }

    /// Whether a word is below `limit` (a small constant), as an i8 flag.
    fn below(&mut self, n: [Value; 4], limit: u64) -> Value {
        let high = self.builder.ins().bor(n[1], n[2]);
        let high = self.builder.ins().bor(high, n[3]);
        let high_zero = self.builder.ins().icmp_imm(IntCC::Equal, high, 0);
        let small = self
            .builder
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, n[0], limit as i64);
        self.builder.ins().band(high_zero, small)
    }

    /// `limbs[k]` for a run-time `k` in 0..4 (`k` is masked to that range).
    fn select_limb(&mut self, k: Value, limbs: [Value; 4]) -> Value {
        let mut r = limbs[3];
        for i in (0..3).rev() {
            let is = self.builder.ins().icmp_imm(IntCC::Equal, k, i as i64);
            r = self.builder.ins().select(is, limbs[i], r);
        }
        r
    }

    /// SIGNEXTEND(b, x) for a known byte index `b`.
    pub(super) fn signextend(&mut self, b: U256, x: [Value; 4]) -> [Value; 4] {
        if b >= U256::from(31) {
            return x;
        }
        let bit = b.low_u64() * 8 + 7;
        let (k, p) = ((bit / 64) as usize, (bit % 64) as i64);
        let up = self.builder.ins().ishl_imm(x[k], 63 - p);
        let e = self.builder.ins().sshr_imm(up, 63 - p);
        let sign = self.builder.ins().sshr_imm(e, 63);
        std::array::from_fn(|j| match j.cmp(&k) {
            std::cmp::Ordering::Less => x[j],
            std::cmp::Ordering::Equal => e,
            std::cmp::Ordering::Greater => sign,
        })
    }

    /// BYTE(n, x) for a run-time `n`.
    pub(super) fn byte_var(&mut self, n: [Value; 4], x: [Value; 4]) -> [Value; 4] {
        let z = self.iconst(0);
        let ok = self.below(n, 32);
        // Bit offset of the byte from the low end: 248 - 8n.
        let eight_n = self.builder.ins().ishl_imm(n[0], 3);
        let c = self.iconst(248);
        let bit = self.builder.ins().isub(c, eight_n);
        let k = self.builder.ins().ushr_imm(bit, 6);
        let k = self.builder.ins().band_imm(k, 3);
        let limb = self.select_limb(k, x);
        let v = self.builder.ins().ushr(limb, bit);
        let v = self.builder.ins().band_imm(v, 0xff);
        let v = self.builder.ins().select(ok, v, z);
        [v, z, z, z]
    }

    /// SHL, SHR and SAR by an amount in SSA (constant-folded when known): a shift by `n % 64`
    /// inside the limbs, then a move by `n / 64` whole limbs.
    pub(super) fn shift_var(&mut self, op: u8, n: [Value; 4], x: [Value; 4]) -> [Value; 4] {
        let z = self.iconst(0);
        let fill = if op == opcode::SAR {
            self.builder.ins().sshr_imm(x[3], 63)
        } else {
            z
        };
        let in_range = self.below(n, 256);
        let words = self.builder.ins().ushr_imm(n[0], 6);
        let words = self.builder.ins().band_imm(words, 3);
        let bits = self.builder.ins().band_imm(n[0], 63);
        let back = self.builder.ins().bxor_imm(bits, 63);
        // y: x shifted by `bits`; the bits crossing a limb boundary move by 64 - bits, done
        // as 1 then 63 - bits so that a shift by 0 moves nothing across.
        let y: [Value; 4] = std::array::from_fn(|i| {
            if op == opcode::SHL {
                let main = self.builder.ins().ishl(x[i], bits);
                if i == 0 {
                    return main;
                }
                let c = self.builder.ins().ushr_imm(x[i - 1], 1);
                let c = self.builder.ins().ushr(c, back);
                self.builder.ins().bor(main, c)
            } else {
                if i == 3 {
                    return if op == opcode::SAR {
                        self.builder.ins().sshr(x[3], bits)
                    } else {
                        self.builder.ins().ushr(x[3], bits)
                    };
                }
                let main = self.builder.ins().ushr(x[i], bits);
                let c = self.builder.ins().ishl_imm(x[i + 1], 1);
                let c = self.builder.ins().ishl(c, back);
                self.builder.ins().bor(main, c)
            }
        });
        std::array::from_fn(|j| {
            // The candidates for limb j, by the number of whole limbs moved.
            let cand: [Value; 4] = std::array::from_fn(|w| {
                if op == opcode::SHL {
                    if j >= w {
                        y[j - w]
                    } else {
                        z
                    }
                } else if j + w <= 3 {
                    y[j + w]
                } else {
                    fill
                }
            });
            let r = self.select_limb(words, cand);
            self.builder.ins().select(in_range, r, fill)
        })
    }
}
