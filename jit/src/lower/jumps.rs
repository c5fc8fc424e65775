//! Control flow: going on at a segment (in registers or through the context), loops that
//! jump back to their own start, JUMP and JUMPI, and the dispatcher of computed jumps.

use super::stack::{Slot, VStack};
use super::{DynamicJumps, Entry, FunctionLowering};
use crate::context::exit;
use crate::segments::{jump_landing, Instr, Segment};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{Block, BlockArg, InstBuilder, Value};
use cranelift_frontend::Switch;
use nestedvm_interp::{opcode, STACK_LIMIT, U256};

/// Most stack items a segment that loops onto itself keeps in registers across iterations.
const MAX_CARRIED: usize = 4;

/// A segment whose last instruction jumps back to its start (`loop: JUMPDEST … PUSH @loop
/// JUMPI`): the back edge goes to `block` with the gas, the height and the top `carried`
/// items as block arguments instead of through the context and the stack buffer. The
/// arguments stay inside the segment, so compile time stays linear.
#[derive(Clone, Copy)]
pub(super) struct LoopHead {
    start: usize,
    block: Block,
    carried: usize,
    /// The height at the head (a block parameter).
    len: Value,
    static_gas: u64,
    min_entry: u16,
    max_entry: u16,
}

impl FunctionLowering<'_, '_> {
    /// Hands over to the interpreter before `instr`, giving back the static gas of it and of
    /// the rest of the segment (the interpreter pays it again).
    fn interpret_before(&mut self, vs: &VStack, pc: usize, give_back: u64) {
        let len = self.spill(vs);
        let pc = self.iconst(pc as u64);
        self.leave(exit::INTERPRET, pc, len, Some(give_back));
    }

    /// Hands over to the interpreter before the jump at `pc` (as [`Self::interpret_before`])
    /// once the run's deadline has passed; the interpreter halts the frame there. Emitted
    /// before jumps back (to a segment at or before the jump) and in the dispatcher of
    /// computed jumps, when compiled with deadline checks: fall-throughs only go forward, so
    /// every loop of native code passes one of them, and straight-line code pays nothing.
    fn leave_past_deadline(&mut self, before: &VStack, pc: usize, give_back: u64) {
        let passed = self.deadline_passed();
        let late = self.builder.create_block();
        let on_time = self.builder.create_block();
        self.builder.set_cold_block(late);
        self.builder.ins().brif(passed, late, &[], on_time, &[]);
        self.builder.switch_to_block(late);
        self.interpret_before(before, pc, give_back);
        self.builder.switch_to_block(on_time);
    }

    /// Continues at segment `start`, or hands over there when it has no segment.
    pub(super) fn goto(&mut self, vs: &VStack, start: usize) {
        if let Some(head) = self.loop_head.filter(|h| h.start == start) {
            self.back_edge(vs, head);
            return;
        }
        if self
            .lowering
            .segments
            .get(&start)
            .is_some_and(|s| s.only_after == Some(self.current))
        {
            let facts = Self::facts(vs);
            if !facts.is_empty() {
                self.entry_facts.insert(start, facts);
            }
        }
        let len = self.spill(vs);
        match self.entries.get(&start).copied() {
            Some(entry) => {
                let gas = self.builder.use_var(self.gas);
                self.enter(entry, gas, len);
            }
            None => {
                let pc = self.iconst(start as u64);
                self.leave(exit::INTERPRET, pc, len, None);
            }
        }
    }

    /// Jumps into a segment with `gas` and the height `len`: in registers while their groups
    /// allow it, else through the context.
    fn enter(&mut self, entry: Entry, gas: Value, len: Value) {
        if self
            .groups
            .join(self.builder.func, entry.with_args, [gas, len])
        {
            self.builder
                .ins()
                .jump(entry.with_args, &[gas.into(), len.into()]);
        } else {
            self.store_gas_and_height(gas, len);
            self.builder.ins().jump(entry.from_context, &[]);
        }
    }

    /// Whether the segment ends with `PUSH target JUMP(I)` back to its own start.
    pub(super) fn loops_back(&self, seg: &Segment) -> bool {
        let n = seg.instrs.len();
        if n < 2 || !matches!(seg.instrs[n - 1].op, opcode::JUMP | opcode::JUMPI) {
            return false;
        }
        let push = seg.instrs[n - 2];
        if !(opcode::PUSH1..=opcode::PUSH32).contains(&push.op) {
            return false;
        }
        let len = (push.op - opcode::PUSH0) as usize;
        let bytes = &self.lowering.code.padded()[push.pc + 1..push.pc + 1 + len];
        let target = U256::from_big_endian(bytes);
        target.bits() <= 32
            && jump_landing(
                self.lowering.spec,
                self.lowering.code,
                target.low_u64() as usize,
            ) == Some(seg.start)
    }

    /// Starts the loop head of `seg` (the entry checks have passed): the top items are loaded
    /// once and the body is lowered from the head, where the back edge comes in.
    pub(super) fn enter_loop(&mut self, seg: &Segment, vs: &VStack) -> VStack {
        let carried = (seg.min_entry as usize).min(MAX_CARRIED);
        let block = self.builder.create_block();
        self.builder.append_block_param(block, I64);
        self.builder.append_block_param(block, I64);
        let mut args: Vec<BlockArg> = vec![self.builder.use_var(self.gas).into(), vs.len.into()];
        for i in 0..carried {
            let w = self.load_word(vs.sp0, -32 * (carried - i) as i32);
            args.extend(w.into_iter().map(BlockArg::from));
            for _ in 0..4 {
                self.builder.append_block_param(block, I64);
            }
        }
        self.builder.ins().jump(block, &args);
        self.builder.switch_to_block(block);
        let p = self.builder.block_params(block).to_vec();
        self.builder.def_var(self.gas, p[0]);
        let mut head = self.fresh(p[1]);
        head.floor = -(carried as i32);
        head.items = (0..carried)
            .map(|i| Slot::Val(std::array::from_fn(|k| p[2 + 4 * i + k]), None))
            .collect();
        self.loop_head = Some(LoopHead {
            start: seg.start,
            block,
            carried,
            len: p[1],
            static_gas: seg.static_gas,
            min_entry: seg.min_entry,
            max_entry: seg.max_entry,
        });
        head
    }

    /// The back edge of a loop: the segment's entry checks on the new height and gas, then
    /// the head with the top items in registers; when a check fails, the interpreter takes
    /// the segment as from its entry block. The carried items are read only once the height
    /// check has passed: the body may have shrunk the stack below them.
    fn back_edge(&mut self, vs: &VStack, head: LoopHead) {
        let carried = head.carried;
        let n = vs.items.len();
        let delta = vs.floor + n as i32;
        let len = if delta == 0 {
            vs.len
        } else {
            self.builder.ins().iadd_imm(vs.len, delta as i64)
        };
        let gas = self.builder.use_var(self.gas);
        // The height at the head passed; an unchanged height passes again (only known when
        // no builtin in the body re-read the height).
        let unchanged = vs.len == head.len && delta == 0;
        let bounds = if unchanged {
            (0, STACK_LIMIT as u16)
        } else {
            (head.min_entry, head.max_entry)
        };
        let ok = self.entry_ok(gas, len, head.static_gas, bounds);
        let again = self.builder.create_block();
        let bail = self.builder.create_block();
        self.builder.set_cold_block(bail);
        self.builder.ins().brif(ok, again, &[], bail, &[]);
        self.builder.switch_to_block(bail);
        let spilled = self.spill(vs);
        let pc = self.iconst(head.start as u64);
        self.leave(exit::INTERPRET, pc, spilled, None);
        self.builder.switch_to_block(again);
        let mut vs = vs.clone();
        self.reach(&mut vs, carried);
        let n = vs.items.len();
        // Read the carried words before the spill below writes anything.
        let top: Vec<[Value; 4]> = (n - carried..n)
            .map(|i| self.limbs(&vs, vs.items[i]))
            .collect();
        let mut rest = vs.clone();
        rest.items.truncate(n - carried);
        self.spill(&rest);
        let gas = self.builder.ins().iadd_imm(gas, -(head.static_gas as i64));
        let mut args: Vec<BlockArg> = vec![gas.into(), len.into()];
        for w in &top {
            args.extend(w.iter().map(|v| BlockArg::from(*v)));
        }
        self.builder.ins().jump(head.block, &args);
    }

    /// JUMP and JUMPI: constant targets become branches; others follow the policy.
    pub(super) fn jump(&mut self, vs: &mut VStack, ins: Instr, rest_from: u64, conditional: bool) {
        let spec = self.lowering.spec;
        // The state before the jump, for handing over with the jump not yet done.
        let before = vs.clone();
        // The target's limbs are only needed when it is not known (the dispatcher reloads it).
        let known = self.pop(vs).known();
        if conditional {
            let (cond, known_cond) = self.pop_val(vs);
            if known_cond == Some(U256::zero()) {
                self.goto(vs, ins.pc + 1);
                return;
            }
            let nz = self.is_zero(cond);
            let taken = self.builder.create_block();
            let not_taken = self.builder.create_block();
            self.builder.ins().brif(nz[0], not_taken, &[], taken, &[]);
            self.builder.switch_to_block(not_taken);
            self.goto(vs, ins.pc + 1);
            self.builder.switch_to_block(taken);
            if spec.jumpi_taken_gas > 0 {
                let gas = self.builder.use_var(self.gas);
                let enough = self.builder.ins().icmp_imm(
                    IntCC::UnsignedGreaterThanOrEqual,
                    gas,
                    spec.jumpi_taken_gas as i64,
                );
                let ok = self.builder.create_block();
                let short = self.builder.create_block();
                self.builder.set_cold_block(short);
                self.builder.ins().brif(enough, ok, &[], short, &[]);
                self.builder.switch_to_block(short);
                self.interpret_before(&before, ins.pc, rest_from);
                self.builder.switch_to_block(ok);
                let gas = self
                    .builder
                    .ins()
                    .iadd_imm(gas, -(spec.jumpi_taken_gas as i64));
                self.builder.def_var(self.gas, gas);
            }
        }
        // A taken JUMPI has paid the hypervisor's jump; handing over gives that back too.
        let taken_gas = if conditional { spec.jumpi_taken_gas } else { 0 };
        let landing = known
            .filter(|t| t.bits() <= 32)
            .and_then(|t| jump_landing(spec, self.lowering.code, t.low_u64() as usize));
        match (known, landing) {
            (Some(_), Some(dest)) if self.entries.contains_key(&dest) => {
                if dest <= ins.pc && self.lowering.deadline_checks {
                    self.leave_past_deadline(&before, ins.pc, rest_from + taken_gas);
                }
                self.goto(vs, dest)
            }
            (Some(_), _) => {
                // A bad constant target: the interpreter produces the profile's outcome.
                self.interpret_before(&before, ins.pc, rest_from + taken_gas);
            }
            (None, _) => match self.lowering.dynamic_jumps {
                DynamicJumps::Interpreter => {
                    self.interpret_before(&before, ins.pc, rest_from + taken_gas);
                }
                DynamicJumps::JumpTable => {
                    let len = self.spill(&before);
                    let gas = self.builder.use_var(self.gas);
                    let dispatch = *self.dispatch.get_or_insert_with(|| {
                        let d = self.builder.create_block();
                        for _ in 0..5 {
                            self.builder.append_block_param(d, I64);
                        }
                        d
                    });
                    let pc = self.iconst(ins.pc as u64);
                    let back = self.iconst(rest_from + taken_gas);
                    let cond_flag = self.iconst(conditional as u64);
                    let handed_over = self.builder.ins().iadd(gas, back);
                    let args: Vec<BlockArg> = [len, pc, back, cond_flag, handed_over]
                        .into_iter()
                        .map(Into::into)
                        .collect();
                    self.builder.ins().jump(dispatch, &args);
                }
            },
        }
    }

    /// The dispatcher of dynamic jumps: the stack holds the jump's inputs (target on top), as
    /// before the jump; a target that is a segment start is taken natively while the run's
    /// deadline is ahead, anything else goes to the interpreter at the jump.
    pub(super) fn dispatcher(&mut self, dispatch: Block) {
        let spec = self.lowering.spec;
        self.builder.switch_to_block(dispatch);
        let p = self.builder.block_params(dispatch).to_vec();
        let (len, pc, back, cond, handed_over) = (p[0], p[1], p[2], p[3], p[4]);
        let give_up = self.builder.create_block();
        // The target is on top; the jump pops it (and JUMPI its condition, known non-zero).
        let top = self.builder.ins().ishl_imm(len, 5);
        let base = self.stack_base();
        let top = self.builder.ins().iadd(base, top);
        let t = self.load_word(top, -32);
        let high = self.builder.ins().bor(t[1], t[2]);
        let high = self.builder.ins().bor(high, t[3]);
        let small = self
            .builder
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, t[0], u32::MAX as i64);
        let high_zero = self.builder.ins().icmp_imm(IntCC::Equal, high, 0);
        let mut ok = self.builder.ins().band(small, high_zero);
        if self.lowering.deadline_checks {
            // A computed jump may go back: past the deadline, the interpreter takes the jump.
            let passed = self.deadline_passed();
            let on_time = self.builder.ins().bxor_imm(passed, 1);
            ok = self.builder.ins().band(ok, on_time);
        }
        let lookup = self.builder.create_block();
        self.builder.ins().brif(ok, lookup, &[], give_up, &[]);
        self.builder.switch_to_block(lookup);
        let popped = self.builder.ins().iadd_imm(len, -1);
        let mut switch = Switch::new();
        let mut trampolines = Vec::new();
        for d in 0..self.lowering.code.len() {
            if let Some(dest) = jump_landing(spec, self.lowering.code, d) {
                if let Some(&entry) = self.entries.get(&dest) {
                    let tramp = self.builder.create_block();
                    switch.set_entry(d as u128, tramp);
                    trampolines.push((tramp, entry));
                }
            }
        }
        switch.emit(&mut self.builder, t[0], give_up);
        for (tramp, entry) in trampolines {
            self.builder.switch_to_block(tramp);
            // The gas and the height after the jump, computed in each trampoline (no block
            // above them computes the same), so that each passes values of its own: passing
            // the dispatcher's would join every target's group.
            let gas = self.builder.ins().isub(handed_over, back);
            let after = self.builder.ins().isub(popped, cond);
            self.enter(entry, gas, after);
        }
        self.builder.switch_to_block(give_up);
        self.store_state_and_return(exit::INTERPRET, handed_over, len, pc);
    }
}
