//! Memory: MLOAD, MSTORE and MSTORE8 in place when the access lies in memory (or memory can
//! grow in place to hold it), through a builtin otherwise; MSIZE.

use super::calls::Arg;
use super::stack::{Slot, VStack};
use super::FunctionLowering;
use crate::builtins::Builtin;
use crate::context::{exit, offsets};
use crate::segments::Instr;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{Block, InstBuilder, MemFlags, Value};
use nestedvm_interp::{opcode, U256};

impl FunctionLowering<'_, '_> {
    /// MLOAD, MSTORE, MSTORE8: in-bounds accesses inline, the rest through a builtin.
    /// `popped`: the next instruction pops MLOAD's word, which is then not loaded (Cranelift
    /// keeps loads whose results are unused).
    pub(super) fn memory(&mut self, vs: &mut VStack, ins: Instr, rest_after: u64, popped: bool) {
        use opcode::*;
        let flags = MemFlags::trusted();
        let (off, known) = self.pop_val(vs);
        let value = if ins.op == MLOAD {
            None
        } else {
            Some(self.pop_val(vs).0)
        };
        let width: i64 = if ins.op == MSTORE8 { 1 } else { 32 };
        let ctx = self.ctx();
        let mem_len = self
            .builder
            .ins()
            .load(I64, flags, ctx, offsets::MEMORY_LEN);
        let (host, ok, end) = self.operand(off, known, width, mem_len);
        let fast = self.builder.create_block();
        let slow = self.builder.create_block();
        // MLOAD's paths meet before its load, which is then left out when the word is
        // never used (`MLOAD POP`), and no word travels in block arguments.
        let merge = self.builder.create_block();
        match end {
            Some(end) => {
                let grow = self.builder.create_block();
                self.builder.ins().brif(ok, fast, &[], grow, &[]);
                self.builder.switch_to_block(grow);
                self.grow(end, slow, fast);
            }
            None => {
                self.builder.ins().brif(ok, fast, &[], slow, &[]);
            }
        }

        self.builder.switch_to_block(fast);
        self.access(ins.op, host, value, merge);

        self.builder.set_cold_block(slow);
        self.builder.switch_to_block(slow);
        self.slow_path(vs, ins, off, value, rest_after, merge);

        self.builder.switch_to_block(merge);
        if ins.op == MLOAD && popped {
            // A placeholder for the POP to drop.
            let z = self.iconst(0);
            vs.items.push(Slot::Val([z; 4], None));
        } else if ins.op == MLOAD {
            // In bounds on every path that gets here: the slow one has grown memory over it
            // (and loaded the same word into the scratch words).
            let addr = self.memory_address(host);
            let w: [Value; 4] = std::array::from_fn(|k| {
                let raw = self.builder.ins().load(I64, flags, addr, 24 - 8 * k as i32);
                self.builder.ins().bswap(raw)
            });
            vs.items.push(Slot::Val(w, None));
        }
    }

    /// Where an access of `width` bytes at offset `off` (`known` when constant) goes, memory
    /// being `mem_len` bytes long: its host offset, whether it lies in memory, and, when it
    /// may grow memory, where it ends (u64::MAX when it is not addressable at all).
    fn operand(
        &mut self,
        off: [Value; 4],
        known: Option<U256>,
        width: i64,
        mem_len: Value,
    ) -> (Value, Value, Option<Value>) {
        let spec = self.lowering.spec;
        // Constant offsets the fast path takes: below 2^32 less the reserved region, so that
        // offset + reserved + width cannot overflow.
        let narrow_limit = u32::MAX as u64 - spec.reserved as u64;
        if let Some(k) = known {
            // A constant offset (Solidity's free memory pointer at 0x40, scratch at 0): only
            // the size check is left for run time.
            let masked = if spec.mask_offsets {
                k & ((U256::one() << 160) - 1)
            } else {
                k
            };
            if masked <= U256::from(narrow_limit) {
                let host = masked.low_u64() + spec.reserved as u64;
                let end = host as i64 + width;
                let ok =
                    self.builder
                        .ins()
                        .icmp_imm(IntCC::UnsignedGreaterThanOrEqual, mem_len, end);
                (self.iconst(host), ok, Some(self.iconst(end as u64)))
            } else {
                // Never in bounds; should the slow path succeed all the same (memory grown
                // past 4 GiB), MLOAD's load after the paths meet reads at this offset.
                let never = self.builder.ins().iconst(I8, 0);
                let host = masked.low_u64().wrapping_add(spec.reserved as u64);
                (self.iconst(host), never, None)
            }
        } else {
            // The offset's high part (after the 160-bit mask in hyvm) and its bits from 2^32
            // up: any set, the access is not addressable in place (memory is far smaller),
            // and its end becomes u64::MAX, which no memory covers and the growth refuses.
            // One compare and one branch then, on flags, not on materialised booleans.
            let high = if spec.mask_offsets {
                let low32 = self.builder.ins().band_imm(off[2], 0xffff_ffff);
                self.builder.ins().bor(off[1], low32)
            } else {
                let h = self.builder.ins().bor(off[1], off[2]);
                self.builder.ins().bor(h, off[3])
            };
            let wide = self.builder.ins().ushr_imm(off[0], 32);
            let far = self.builder.ins().bor(high, wide);
            let host = self.builder.ins().iadd_imm(off[0], spec.reserved as i64);
            let end = self.builder.ins().iadd_imm(host, width);
            let none = self.iconst(u64::MAX);
            let end = self.builder.ins().select(far, none, end);
            let ok = self
                .builder
                .ins()
                .icmp(IntCC::UnsignedLessThanOrEqual, end, mem_len);
            (host, ok, Some(end))
        }
    }

    /// The slow path of an access the fast path cannot take (growth past the room, huge
    /// offsets), from the current block: the builtin runs it on the offset `off` and `value`
    /// in the scratch words, then on to `merge`, or to the interpreter after the instruction
    /// when the gas left is short of the rest of the segment's.
    fn slow_path(
        &mut self,
        vs: &VStack,
        ins: Instr,
        off: [Value; 4],
        value: Option<[Value; 4]>,
        rest_after: u64,
        merge: Block,
    ) {
        use opcode::*;
        let flags = MemFlags::trusted();
        let ctx = self.ctx();
        self.store_word(off, ctx, offsets::SCRATCH);
        if let Some(v) = value {
            self.store_word(v, ctx, offsets::SCRATCH + 32);
        }
        let gas = self.builder.use_var(self.gas);
        let gas = self.builder.ins().iadd_imm(gas, rest_after as i64);
        self.builder.ins().store(flags, gas, ctx, offsets::GAS);
        let args = [
            Arg::Value(ctx),
            Arg::Const(ins.op.into()),
            Arg::Const(ins.pc as u64),
        ];
        // On a stop the frame has halted: its stack no longer matters.
        let cont = self.call_and_continue(Builtin::MemoryOp, &args);
        // The whole slow path is out of line, where its fetch costs nothing to the accesses
        // that stay in memory.
        self.builder.set_cold_block(cont);
        let ctx = self.ctx();
        let gas = self.builder.ins().load(I64, flags, ctx, offsets::GAS);
        if rest_after > 0 {
            let enough = self.builder.ins().icmp_imm(
                IntCC::UnsignedGreaterThanOrEqual,
                gas,
                rest_after as i64,
            );
            let ok = self.builder.create_block();
            self.builder.set_cold_block(ok);
            let short = self.builder.create_block();
            self.builder.set_cold_block(short);
            self.builder.ins().brif(enough, ok, &[], short, &[]);
            self.builder.switch_to_block(short);
            // Hand over after this instruction with the gas as the interpreter counts it.
            let mut after = vs.clone();
            if ins.op == MLOAD {
                let ctx = self.ctx();
                let w = self.load_word(ctx, offsets::SCRATCH);
                after.items.push(Slot::Val(w, None));
            }
            self.builder.def_var(self.gas, gas);
            let len = self.spill(&after);
            let next = self.iconst(ins.pc as u64 + 1);
            self.leave(exit::INTERPRET, next, len, None);
            self.builder.switch_to_block(ok);
        }
        let gas = self.builder.ins().iadd_imm(gas, -(rest_after as i64));
        self.builder.def_var(self.gas, gas);
        self.builder.ins().jump(merge, &[]);
    }

    /// The address of host offset `host` in memory.
    fn memory_address(&mut self, host: Value) -> Value {
        let ctx = self.ctx();
        let base = self
            .builder
            .ins()
            .load(I64, MemFlags::trusted(), ctx, offsets::MEMORY);
        self.builder.ins().iadd(base, host)
    }

    /// The in-bounds store of MSTORE or MSTORE8 at host offset `host` (MLOAD loads after the
    /// paths meet), then a jump to `merge`.
    fn access(&mut self, op: u8, host: Value, value: Option<[Value; 4]>, merge: Block) {
        use opcode::*;
        let flags = MemFlags::trusted();
        if op != MLOAD {
            let addr = self.memory_address(host);
            match (op, value) {
                (MSTORE, Some(v)) => {
                    for (k, limb) in v.into_iter().enumerate() {
                        let be = self.builder.ins().bswap(limb);
                        self.builder.ins().store(flags, be, addr, 24 - 8 * k as i32);
                    }
                }
                (_, Some(v)) => {
                    let byte = self.builder.ins().ireduce(I8, v[0]);
                    self.builder.ins().store(flags, byte, addr, 0);
                }
                _ => {}
            }
        }
        self.builder.ins().jump(merge, &[]);
    }

    /// Memory growth through [`Builtin::GrowMemory`], then on to the access at `fast`: the
    /// block sits inline, right after the bounds check, as a few instructions (a call to one
    /// shared function that keeps every register) whose fetch costs little when memory does
    /// not grow and that is at hand when it does (a far jump into cold code cost more than
    /// the growth). The slow path takes what the builtin cannot: no room, not enough gas.
    fn grow(&mut self, end: Value, slow: Block, fast: Block) {
        let ctx = self.ctx();
        let gas = self.builder.use_var(self.gas);
        // No result: the builtin reports in `grown` (see `Builtin::GrowMemory`).
        let args = [ctx, end, gas].map(Arg::Value);
        self.call_builtin(Builtin::GrowMemory, &args);
        let ctx = self.ctx();
        let left = self
            .builder
            .ins()
            .load(I64, MemFlags::trusted(), ctx, offsets::GROWN);
        let failed = self.builder.ins().icmp_imm(IntCC::Equal, left, -1);
        let paid = self.builder.create_block();
        self.builder.ins().brif(failed, slow, &[], paid, &[]);
        self.builder.switch_to_block(paid);
        self.builder.def_var(self.gas, left);
        self.builder.ins().jump(fast, &[]);
    }

    /// MSIZE: memory's length as the guest sees it (without the reserved region).
    pub(super) fn push_msize(&mut self, vs: &mut VStack) {
        let ctx = self.ctx();
        let m = self
            .builder
            .ins()
            .load(I64, MemFlags::trusted(), ctx, offsets::MEMORY_LEN);
        let m = self
            .builder
            .ins()
            .iadd_imm(m, -(self.lowering.spec.reserved as i64));
        let z = self.iconst(0);
        vs.items.push(Slot::Val([m, z, z, z], None));
    }
}
