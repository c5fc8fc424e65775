//! Lowering: segments to Cranelift IR, one function per unit.
//!
//! A word is four little-endian 64-bit limbs in SSA. Inside a segment the top of the stack
//! lives in SSA values (the virtual stack) and reaches the frame's stack buffer only when the
//! segment ends, before a builtin that reads it, or when native code hands over to the
//! interpreter. Each segment charges its static gas and checks its stack bounds once on entry;
//! when either check fails, the interpreter takes the segment and finds the exact instruction
//! that fails. Gas is kept as the interpreter would count it wherever it is observable: GAS
//! and builtins see the static gas of the rest of the segment added back.
//!
//! This module drives the function (its entry, each segment's entries and checks, the shared
//! returns) and dispatches each instruction to its concern: `stack` (the virtual stack),
//! `arith` (word instructions) over `limbs` (arithmetic on limbs), `memory`, `jumps`
//! (control flow, loops, the dispatcher of computed jumps), `calls` (builtins) and `groups`
//! (the cap on values joined through block arguments).

mod arith;
mod calls;
mod groups;
mod jumps;
mod limbs;
mod memory;
mod stack;

use crate::builtins::{Builtin, Builtins};
use crate::context::{exit, offsets};
use crate::segments::{Instr, Segment, SegmentEnd};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64, I8};
use cranelift_codegen::ir::{
    AbiParam, Block, Function, InstBuilder, MemFlags, SigRef, Signature, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, Variable};
use groups::Groups;
use jumps::LoopHead;
use nestedvm_interp::{opcode, Bytecode, Spec, STACK_LIMIT, U256};
use stack::{Slot, VStack};
use std::collections::{BTreeMap, HashMap};

/// How a jump whose target is only known at run time is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DynamicJumps {
    /// Native code hands over to the interpreter, which comes back at the next segment start.
    #[cfg_attr(feature = "clap", value(alias = "interp"))]
    Interpreter,
    /// Native code looks the target up in a table of segment starts and stays native (the
    /// default: a hot loop with a computed jump runs about three times faster).
    #[default]
    #[cfg_attr(feature = "clap", value(alias = "jump_table"))]
    JumpTable,
}

impl std::str::FromStr for DynamicJumps {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "interpreter" | "interp" => Ok(DynamicJumps::Interpreter),
            "jump-table" | "jump_table" => Ok(DynamicJumps::JumpTable),
            _ => Err(format!(
                "unknown dynamic-jump policy `{s}` (expected interpreter or jump-table)"
            )),
        }
    }
}

/// Everything the IR of one contract is built from.
pub struct Lowering<'a> {
    /// The semantics.
    pub spec: &'static Spec,
    /// The code.
    pub code: &'a Bytecode,
    /// Its segments.
    pub segments: &'a BTreeMap<usize, Segment>,
    /// Builtin addresses.
    pub builtins: Builtins,
    /// The dynamic-jump policy.
    pub dynamic_jumps: DynamicJumps,
    /// Whether jumps back and computed jumps check the run's deadline.
    pub deadline_checks: bool,
}

/// The signature of a compiled contract.
pub fn entry_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(I64));
    sig.params.push(AbiParam::new(I64));
    sig.returns.push(AbiParam::new(I32));
    sig
}

/// The state of lowering one function: the builder, the gas variable, each segment's entries
/// and what the function shares across segments.
struct FunctionLowering<'a, 'b> {
    /// What is lowered.
    lowering: &'a Lowering<'a>,
    /// The function being built.
    builder: FunctionBuilder<'b>,
    /// The gas left after the current segment's static gas.
    gas: Variable,
    /// Each segment's two entries, by its start.
    entries: HashMap<usize, Entry>,
    /// The values block arguments join (see [`Groups`]).
    groups: Groups,
    /// The function's returns for `exit::STOPPED` and `exit::INTERPRET`: every way out jumps
    /// to one of them instead of carrying an epilogue of its own.
    exits: [Option<Block>; 2],
    /// The signatures of the builtins called so far, by [`Builtin::index`].
    builtin_sigs: [Option<SigRef>; Builtin::COUNT],
    /// The shared dispatcher of dynamic jumps (jump-table policy): params the stack height
    /// before the jump, the jump's pc, the gas to give back when the target is not a segment
    /// start, whether it is a JUMPI, and the gas with that given back.
    dispatch: Option<Block>,
    /// The loop head of the segment being lowered, when it jumps back to its own start.
    loop_head: Option<LoopHead>,
    /// The segment being lowered.
    current: usize,
    /// Constants on the stack on entry to segments reached only by falling through from one
    /// already lowered: (depth from the top, value).
    entry_facts: HashMap<usize, Vec<(usize, U256)>>,
}

/// The two ways into a segment.
#[derive(Clone, Copy)]
struct Entry {
    /// From the context, which holds the gas and the height: where the resume switch and
    /// jumps that cannot pass them in registers go.
    from_context: Block,
    /// The entry checks, taking the gas and the height as arguments: a jump or a
    /// fall-through comes here with them in registers when it can (see [`Groups`]), instead
    /// of through the context (the addresses of every stack access wait on the height).
    with_args: Block,
}

impl Lowering<'_> {
    /// Builds the IR of the contract into `func`.
    pub fn lower(&self, func: &mut Function, fctx: &mut FunctionBuilderContext) {
        let mut b = FunctionBuilder::new(func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let ctx = b.block_params(entry)[0];
        let resume_pc = b.block_params(entry)[1];
        let gas = b.declare_var(I64);
        let flags = MemFlags::trusted();
        // The context lives in the pinned register for the whole call, so that no value
        // spans the function (the allocator spilled the context and the stack base and
        // reloaded them at almost every access). The caller's register is kept in the
        // context and put back at every return.
        let callers = b.ins().get_pinned_reg(I64);
        b.ins().store(flags, callers, ctx, offsets::CALLERS_PINNED);
        b.ins().set_pinned_reg(ctx);
        let g = b.ins().load(I64, flags, ctx, offsets::GAS);
        b.def_var(gas, g);
        let len = b.ins().load(I64, flags, ctx, offsets::STACK_LEN);

        let mut entries = HashMap::new();
        for &start in self.segments.keys() {
            let from_context = b.create_block();
            let with_args = b.create_block();
            b.append_block_param(with_args, I64);
            b.append_block_param(with_args, I64);
            entries.insert(
                start,
                Entry {
                    from_context,
                    with_args,
                },
            );
        }
        let mut c = FunctionLowering {
            lowering: self,
            builder: b,
            gas,
            entries,
            groups: Groups::default(),
            exits: [None; 2],
            builtin_sigs: [None; Builtin::COUNT],
            dispatch: None,
            loop_head: None,
            current: 0,
            entry_facts: HashMap::new(),
        };

        // Entry: switch on the resume pc to each segment's entry from the context, which takes
        // no arguments, so no value joins across the switch: SSA construction stays local to
        // a segment and linear in the code, however many segments the switch reaches.
        let unknown = c.builder.create_block();
        let mut switch = Switch::new();
        for (&start, entry) in &c.entries {
            switch.set_entry(start as u128, entry.from_context);
        }
        switch.emit(&mut c.builder, resume_pc, unknown);
        c.builder.switch_to_block(unknown);
        c.leave(exit::INTERPRET, resume_pc, len, None);

        for segment in self.segments.values() {
            c.segment(segment);
        }
        if let Some(dispatch) = c.dispatch {
            c.dispatcher(dispatch);
        }
        c.emit_exits();

        c.builder.seal_all_blocks();
        c.builder.finalize();
    }
}

impl FunctionLowering<'_, '_> {
    /// The context (in the pinned register: read at each use, so nothing holds it).
    fn ctx(&mut self) -> Value {
        self.builder.ins().get_pinned_reg(I64)
    }

    /// The stack buffer's base, read from the context.
    fn stack_base(&mut self) -> Value {
        let ctx = self.ctx();
        self.builder
            .ins()
            .load(I64, MemFlags::trusted(), ctx, offsets::STACK)
    }

    /// Returns `code` (`exit::STOPPED` or `exit::INTERPRET`) to the caller, through the
    /// function's shared return for it.
    fn ret(&mut self, code: u32) {
        let exit = self.exit(code);
        self.builder.ins().jump(exit, &[]);
    }

    /// The shared return of `code`.
    fn exit(&mut self, code: u32) -> Block {
        let slot = &mut self.exits[usize::from(code == exit::INTERPRET)];
        *slot.get_or_insert_with(|| self.builder.create_block())
    }

    /// The shared returns: each gives the caller its pinned register back and returns its
    /// code. Nothing is live into them, so thousands of jumps to one cost allocation nothing.
    fn emit_exits(&mut self) {
        for (slot, code) in [exit::STOPPED, exit::INTERPRET].into_iter().enumerate() {
            let Some(block) = self.exits[slot] else {
                continue;
            };
            self.builder.set_cold_block(block);
            self.builder.switch_to_block(block);
            let ctx = self.ctx();
            let callers =
                self.builder
                    .ins()
                    .load(I64, MemFlags::trusted(), ctx, offsets::CALLERS_PINNED);
            self.builder.ins().set_pinned_reg(callers);
            let code = self.builder.ins().iconst(I32, code as i64);
            self.builder.ins().return_(&[code]);
        }
    }

    fn iconst(&mut self, v: u64) -> Value {
        self.builder.ins().iconst(I64, v as i64)
    }

    /// Stores the state and returns `code` with `pc`; the gas stored is the variable's plus
    /// `extra_gas` (static gas given back to the interpreter).
    fn leave(&mut self, code: u32, pc: Value, len: Value, extra_gas: Option<u64>) {
        let mut gas = self.builder.use_var(self.gas);
        if let Some(extra) = extra_gas.filter(|e| *e > 0) {
            gas = self.builder.ins().iadd_imm(gas, extra as i64);
        }
        self.store_state_and_return(code, gas, len, pc);
    }

    /// Stores `gas`, the height `len` and `pc` in the context and returns `code`.
    fn store_state_and_return(&mut self, code: u32, gas: Value, len: Value, pc: Value) {
        let ctx = self.store_gas_and_height(gas, len);
        self.builder
            .ins()
            .store(MemFlags::trusted(), pc, ctx, offsets::PC);
        self.ret(code);
    }

    /// Stores `gas` and the height `len` in the context, and returns the context.
    fn store_gas_and_height(&mut self, gas: Value, len: Value) -> Value {
        let flags = MemFlags::trusted();
        let ctx = self.ctx();
        self.builder.ins().store(flags, gas, ctx, offsets::GAS);
        self.builder
            .ins()
            .store(flags, len, ctx, offsets::STACK_LEN);
        ctx
    }

    fn segment(&mut self, seg: &Segment) {
        let spec = self.lowering.spec;
        let Entry {
            from_context,
            with_args: entry,
        } = self.entries[&seg.start];
        let flags = MemFlags::trusted();
        self.builder.switch_to_block(from_context);
        let ctx = self.ctx();
        let gas = self.builder.ins().load(I64, flags, ctx, offsets::GAS);
        let len = self.builder.ins().load(I64, flags, ctx, offsets::STACK_LEN);
        self.builder.ins().jump(entry, &[gas.into(), len.into()]);
        self.builder.switch_to_block(entry);
        let (gas, len) = (
            self.builder.block_params(entry)[0],
            self.builder.block_params(entry)[1],
        );
        // Entry checks: gas for the whole segment and its stack bounds (skipped when every
        // height passes).
        let ok = self.entry_ok(gas, len, seg.static_gas, (seg.min_entry, seg.max_entry));
        let body = self.builder.create_block();
        // The bail block stores the gas and the height (they may have come in registers) and
        // where the interpreter takes over, then leaves through the shared return. (One per
        // segment: a block shared by thousands of branches, taking their values as
        // arguments, makes register allocation superlinear.) Cold, so the hot path of a run
        // of segments stays contiguous.
        let bail = self.builder.create_block();
        self.builder.set_cold_block(bail);
        self.builder.ins().brif(ok, body, &[], bail, &[]);
        self.builder.switch_to_block(bail);
        let pc = self.iconst(seg.start as u64);
        self.store_state_and_return(exit::INTERPRET, gas, len, pc);
        self.builder.switch_to_block(body);
        let gas = self.builder.ins().iadd_imm(gas, -(seg.static_gas as i64));
        self.builder.def_var(self.gas, gas);
        self.current = seg.start;
        let facts = self.entry_facts.remove(&seg.start).unwrap_or_default();
        let mut vs = self.fresh_with(len, &facts);
        self.loop_head = None;
        if seg.min_entry <= seg.max_entry && self.loops_back(seg) {
            vs = self.enter_loop(seg, &vs);
        }
        // Static gas from each instruction to the end of the segment.
        let mut rest_from = vec![0u64; seg.instrs.len() + 1];
        for (i, ins) in seg.instrs.iter().enumerate().rev() {
            rest_from[i] = rest_from[i + 1] + spec.static_gas[ins.op as usize];
        }
        for (i, ins) in seg.instrs.iter().enumerate() {
            let next = seg.instrs.get(i + 1).map(|n| n.op);
            if !self.instruction(&mut vs, *ins, rest_from[i], rest_from[i + 1], next) {
                return;
            }
        }
        match seg.end {
            SegmentEnd::FallThrough(next) => self.goto(&vs, next),
            SegmentEnd::Terminal => {
                // Every terminal instruction leaves on its own; this is not reached.
                let pc = self.iconst(seg.start as u64);
                let len = self.spill(&vs);
                self.leave(exit::INTERPRET, pc, len, None);
            }
        }
    }

    /// The entry checks of a segment as an i8 flag: `gas` covers its static gas and `len` is
    /// within `(min, max)` (one unsigned compare, left out when every height passes).
    fn entry_ok(
        &mut self,
        gas: Value,
        len: Value,
        static_gas: u64,
        (min, max): (u16, u16),
    ) -> Value {
        let ok =
            self.builder
                .ins()
                .icmp_imm(IntCC::UnsignedGreaterThanOrEqual, gas, static_gas as i64);
        if min > max {
            return self.builder.ins().iconst(I8, 0);
        }
        if min == 0 && max as usize >= STACK_LIMIT {
            return ok;
        }
        let above_min = self.builder.ins().iadd_imm(len, -(min as i64));
        let in_bounds = self.builder.ins().icmp_imm(
            IntCC::UnsignedLessThanOrEqual,
            above_min,
            (max - min) as i64,
        );
        self.builder.ins().band(ok, in_bounds)
    }

    /// Whether the run's deadline has passed, as an i8 flag (see `jumps`, where it is
    /// checked). The epoch is read with an atomic load, which Cranelift never replaces by the
    /// value of an earlier load: a loop that stores nothing would otherwise read it once and
    /// spin on that value. The deadline never changes during a call, so its load may be
    /// hoisted out of a loop.
    fn deadline_passed(&mut self) -> Value {
        let epoch_at = self.iconst(&nestedvm_interp::deadline::EPOCH as *const _ as u64);
        let epoch = self
            .builder
            .ins()
            .atomic_load(I64, MemFlags::trusted(), epoch_at);
        let ctx = self.ctx();
        let fixed = MemFlags::trusted().with_readonly().with_can_move();
        let deadline = self.builder.ins().load(I64, fixed, ctx, offsets::DEADLINE);
        self.builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline)
    }

    /// Lowers one instruction; false when it ended the block (jumped or left).
    fn instruction(
        &mut self,
        vs: &mut VStack,
        ins: Instr,
        rest_from: u64,
        rest_after: u64,
        next: Option<u8>,
    ) -> bool {
        use opcode::*;
        let op = ins.op;
        if let Some(r) = self.fold(vs, op) {
            let s = self.const_word(r);
            vs.items.push(s);
            return true;
        }
        match op {
            PUSH0..=PUSH32 | 0x80..=0x9f | POP | JUMPDEST | PC => self.stack_op(vs, ins),
            GAS => self.push_gas(vs, rest_after),
            MSIZE => self.push_msize(vs),
            ADD | SUB | MUL | LT | GT | SLT | SGT | EQ | AND | OR | XOR => self.binary(vs, op),
            ISZERO | NOT => self.unary(vs, op),
            BYTE | SHL | SHR | SIGNEXTEND | SAR => self.bits(vs, op),
            DIV | SDIV | MOD | SMOD => self.divide(vs, op),
            ADDMOD | MULMOD => self.word_builtin(vs, op),
            MLOAD | MSTORE | MSTORE8 => self.memory(vs, ins, rest_after, next == Some(POP)),
            JUMP | JUMPI => {
                self.jump(vs, ins, rest_from, op == JUMPI);
                return false;
            }
            _ => return self.call_exec(vs, ins, rest_after, next.is_none()),
        }
        true
    }

    /// GAS: the gas left as the interpreter counts it after the instruction (the rest of the
    /// segment's static gas given back).
    fn push_gas(&mut self, vs: &mut VStack, rest_after: u64) {
        let g = self.builder.use_var(self.gas);
        let g = self.builder.ins().iadd_imm(g, rest_after as i64);
        let z = self.iconst(0);
        vs.items.push(Slot::Val([g, z, z, z], None));
    }
}
