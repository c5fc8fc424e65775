//! Lowering: segments to Cranelift IR, one function per contract.
//!
//! A word is four little-endian 64-bit limbs in SSA. Inside a segment the top of the stack
//! lives in SSA values (the virtual stack) and reaches the frame's stack buffer only when the
//! segment ends, before a builtin that reads it, or when native code hands over to the
//! interpreter. Each segment charges its static gas and checks its stack bounds once on entry;
//! when either check fails, the interpreter takes the segment and finds the exact instruction
//! that fails. Gas is kept as the interpreter would count it wherever it is observable: GAS
//! and builtins see the static gas of the rest of the segment added back.

use crate::builtins::{Builtin, Builtins, Convention, Param};
use crate::context::{exit, offsets};
use crate::segments::{ends_segment_after, jump_landing, Instr, Segment, SegmentEnd};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I128, I32, I64, I8};
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, Function, InstBuilder, InstructionData, MemFlags, Opcode, SigRef,
    Signature, Type, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, Variable};
use nestedvm_interp::instructions::stack_only;
use nestedvm_interp::opcode::{self, OPCODES};
use nestedvm_interp::{Bytecode, Spec, STACK_LIMIT, U256};
use std::collections::{BTreeMap, HashMap};

/// How a jump whose target is only known at run time is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum DynamicJumps {
    /// Native code hands over to the interpreter, which comes back at the next segment start.
    Interpreter,
    /// Native code looks the target up in a table of segment starts and stays native (the
    /// default: a hot loop with a computed jump runs about three times faster).
    #[default]
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

/// A stack word known to the lowering.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// Still in the stack buffer, at this position relative to the segment's entry height.
    Mem(i32),
    /// In SSA values, with its value when known at compile time.
    Val([Value; 4], Option<U256>),
    /// Known at compile time and already in the stack buffer at this position (a constant
    /// that outlived a builtin call or a segment boundary).
    Const(i32, U256),
}

impl Slot {
    /// Its value, when known at compile time.
    fn known(&self) -> Option<U256> {
        match *self {
            Slot::Val(_, k) => k,
            Slot::Const(_, v) => Some(v),
            Slot::Mem(_) => None,
        }
    }
}

/// The stack as the lowering sees it: entry height `len` (a run-time value) plus `floor`
/// (how far below it the segment has popped), with `items` above the floor.
#[derive(Clone)]
struct VStack {
    len: Value,
    sp0: Value,
    floor: i32,
    items: Vec<Slot>,
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
}

/// The signature of a compiled contract.
pub fn entry_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(I64));
    sig.params.push(AbiParam::new(I64));
    sig.returns.push(AbiParam::new(I32));
    sig
}

struct Ctx<'a, 'b> {
    l: &'a Lowering<'a>,
    b: FunctionBuilder<'b>,
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

/// Most stack items a segment that loops onto itself keeps in registers across iterations.
const MAX_CARRIED: usize = 4;

/// A segment whose last instruction jumps back to its start (`loop: JUMPDEST … PUSH @loop
/// JUMPI`): the back edge goes to `block` with the gas, the height and the top `carried`
/// items as block arguments instead of through the context and the stack buffer. The
/// arguments stay inside the segment, so compile time stays linear.
#[derive(Clone, Copy)]
struct LoopHead {
    start: usize,
    block: Block,
    carried: usize,
    /// The height at the head (a block parameter).
    len: Value,
    static_gas: u64,
    min_entry: u16,
    max_entry: u16,
}

/// Most values one group of [`Groups`] may hold.
const MAX_GROUP: u32 = 16;

/// Values joined through block arguments. Register allocation merges a block parameter with
/// its arguments, and each merge walks both merged sets: a group that grew with the code (a
/// height passed on unchanged along a run of `PUSH1 JUMP`s, the gas of every jump to one
/// target) would make compile time grow with its square. Groups are capped; a jump that
/// would grow one past the cap passes its values through the context.
#[derive(Default)]
struct Groups {
    /// Union-find parent of each value seen (absent: its own group).
    parent: HashMap<Value, Value>,
    /// Size of each group, by its root.
    size: HashMap<Value, u32>,
}

impl Groups {
    fn root(&mut self, mut v: Value) -> Value {
        while let Some(&p) = self.parent.get(&v) {
            if let Some(&gp) = self.parent.get(&p) {
                self.parent.insert(v, gp);
            }
            v = p;
        }
        v
    }

    fn size(&self, root: Value) -> u32 {
        self.size.get(&root).copied().unwrap_or(1)
    }

    /// Joins each of `args` with the matching parameter of `block` unless a group would
    /// outgrow the cap; false (and nothing joined) then.
    fn join(&mut self, func: &Function, block: Block, args: [Value; 2]) -> bool {
        let params = func.dfg.block_params(block);
        let pairs = [0, 1].map(|i| (self.root(args[i]), self.root(params[i])));
        if pairs
            .iter()
            .any(|&(a, p)| a != p && self.size(a) + self.size(p) > MAX_GROUP)
        {
            return false;
        }
        for (a, p) in pairs {
            if a != p {
                let joined = self.size(a) + self.size(p);
                self.parent.insert(a, p);
                self.size.insert(p, joined);
            }
        }
        true
    }
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
        let mut c = Ctx {
            l: self,
            b,
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

        // Entry: switch on the resume pc. Segments pass the gas and the height through the
        // context, so no segment block takes arguments: SSA construction stays local to a
        // segment and linear in the code, however many segments the switch reaches.
        let unknown = c.b.create_block();
        let mut switch = Switch::new();
        for (&start, entry) in &c.entries {
            switch.set_entry(start as u128, entry.from_context);
        }
        switch.emit(&mut c.b, resume_pc, unknown);
        c.b.switch_to_block(unknown);
        c.leave(exit::INTERPRET, resume_pc, len, None);

        for segment in self.segments.values() {
            c.segment(segment);
        }
        if let Some(dispatch) = c.dispatch {
            c.dispatcher(dispatch);
        }
        c.emit_exits();

        c.b.seal_all_blocks();
        c.b.finalize();
    }
}

impl Ctx<'_, '_> {
    /// The context (in the pinned register: read at each use, so nothing holds it).
    fn ctx(&mut self) -> Value {
        self.b.ins().get_pinned_reg(I64)
    }

    /// The stack buffer's base, read from the context.
    fn stack_base(&mut self) -> Value {
        let ctx = self.ctx();
        self.b
            .ins()
            .load(I64, MemFlags::trusted(), ctx, offsets::STACK)
    }

    /// Returns `code` (`exit::STOPPED` or `exit::INTERPRET`) to the caller, through the
    /// function's shared return for it.
    fn ret(&mut self, code: u32) {
        let exit = self.exit(code);
        self.b.ins().jump(exit, &[]);
    }

    /// The shared return of `code`.
    fn exit(&mut self, code: u32) -> Block {
        let slot = &mut self.exits[usize::from(code == exit::INTERPRET)];
        *slot.get_or_insert_with(|| self.b.create_block())
    }

    /// The shared returns: each gives the caller its pinned register back and returns its
    /// code. Nothing is live into them, so thousands of jumps to one cost allocation nothing.
    fn emit_exits(&mut self) {
        for (slot, code) in [exit::STOPPED, exit::INTERPRET].into_iter().enumerate() {
            let Some(block) = self.exits[slot] else {
                continue;
            };
            self.b.set_cold_block(block);
            self.b.switch_to_block(block);
            let ctx = self.ctx();
            let callers = self
                .b
                .ins()
                .load(I64, MemFlags::trusted(), ctx, offsets::CALLERS_PINNED);
            self.b.ins().set_pinned_reg(callers);
            let code = self.b.ins().iconst(I32, code as i64);
            self.b.ins().return_(&[code]);
        }
    }

    fn iconst(&mut self, v: u64) -> Value {
        self.b.ins().iconst(I64, v as i64)
    }

    /// Returns `code` (a builtin's) unless it is zero, else goes on at `cont`.
    fn stop_unless_zero(&mut self, code: Value, cont: Block) {
        let stop = self.b.create_block();
        self.b.set_cold_block(stop);
        self.b.ins().brif(code, stop, &[], cont, &[]);
        self.b.switch_to_block(stop);
        let interpret = self
            .b
            .ins()
            .icmp_imm(IntCC::Equal, code, exit::INTERPRET as i64);
        let (to_interpret, to_stop) = (self.exit(exit::INTERPRET), self.exit(exit::STOPPED));
        self.b
            .ins()
            .brif(interpret, to_interpret, &[], to_stop, &[]);
        self.b.switch_to_block(cont);
    }

    /// Calls `builtin` with `args` and returns its exit code, if it returns one.
    fn call_builtin(&mut self, builtin: Builtin, args: &[Arg]) -> Option<Value> {
        let sig = match self.builtin_sigs[builtin.index()] {
            Some(sig) => sig,
            None => {
                let call_conv = self.b.func.signature.call_conv;
                let sig = self
                    .b
                    .import_signature(builtin_signature(builtin, call_conv));
                *self.builtin_sigs[builtin.index()].insert(sig)
            }
        };
        let callee = self.iconst(self.l.builtins.address(builtin) as u64);
        let args: Vec<Value> = args
            .iter()
            .zip(builtin.params())
            .map(|(arg, param)| match *arg {
                Arg::Value(v) => v,
                Arg::Const(c) => self.b.ins().iconst(param_type(*param), c as i64),
            })
            .collect();
        let call = self.b.ins().call_indirect(sig, callee, &args);
        self.b.inst_results(call).first().copied()
    }

    /// Calls `builtin` with `args`, then goes on in a new block (returned) if the exit code
    /// is [`exit::CONTINUE`], else returns the code.
    fn call_and_continue(&mut self, builtin: Builtin, args: &[Arg]) -> Block {
        let code = self.call_builtin(builtin, args);
        let cont = self.b.create_block();
        match code {
            Some(code) => self.stop_unless_zero(code, cont),
            None => {
                self.b.ins().jump(cont, &[]);
                self.b.switch_to_block(cont);
            }
        }
        cont
    }

    /// Stores the state and returns `code` with `pc`; the gas stored is the variable's plus
    /// `extra_gas` (static gas given back to the interpreter).
    fn leave(&mut self, code: u32, pc: Value, len: Value, extra_gas: Option<u64>) {
        let flags = MemFlags::trusted();
        let mut gas = self.b.use_var(self.gas);
        if let Some(extra) = extra_gas.filter(|e| *e > 0) {
            gas = self.b.ins().iadd_imm(gas, extra as i64);
        }
        let ctx = self.ctx();
        self.b.ins().store(flags, gas, ctx, offsets::GAS);
        self.b.ins().store(flags, len, ctx, offsets::STACK_LEN);
        self.b.ins().store(flags, pc, ctx, offsets::PC);
        self.ret(code);
    }

    fn load_word(&mut self, base: Value, offset: i32) -> [Value; 4] {
        let flags = MemFlags::trusted();
        std::array::from_fn(|k| self.b.ins().load(I64, flags, base, offset + 8 * k as i32))
    }

    fn store_word(&mut self, w: [Value; 4], base: Value, offset: i32) {
        let flags = MemFlags::trusted();
        for (k, v) in w.into_iter().enumerate() {
            self.b.ins().store(flags, v, base, offset + 8 * k as i32);
        }
    }

    fn const_word(&mut self, v: U256) -> Slot {
        Slot::Val(self.const_limbs(v), Some(v))
    }

    /// The limbs of constant `v`.
    fn const_limbs(&mut self, v: U256) -> [Value; 4] {
        v.0.map(|limb| self.iconst(limb))
    }

    /// The limbs of a slot, loading it when it is still in memory.
    fn limbs(&mut self, vs: &VStack, slot: Slot) -> [Value; 4] {
        match slot {
            Slot::Val(v, _) => v,
            Slot::Const(_, v) => self.const_limbs(v),
            Slot::Mem(pos) => self.load_word(vs.sp0, pos * 32),
        }
    }

    fn pop(&mut self, vs: &mut VStack) -> Slot {
        match vs.items.pop() {
            Some(s) => s,
            None => {
                vs.floor -= 1;
                Slot::Mem(vs.floor)
            }
        }
    }

    fn pop_val(&mut self, vs: &mut VStack) -> ([Value; 4], Option<U256>) {
        let s = self.pop(vs);
        (self.limbs(vs, s), s.known())
    }

    /// Makes the top `n` items virtual (so DUP and SWAP can reach them).
    fn reach(&mut self, vs: &mut VStack, n: usize) {
        while vs.items.len() < n {
            vs.floor -= 1;
            vs.items.insert(0, Slot::Mem(vs.floor));
        }
    }

    /// Writes the virtual items to the stack buffer and returns the new height.
    fn spill(&mut self, vs: &VStack) -> Value {
        // Read every moved word before writing any: SWAPs can move memory words over others.
        let mut writes = Vec::new();
        for (i, slot) in vs.items.iter().enumerate() {
            let pos = vs.floor + i as i32;
            match *slot {
                Slot::Mem(p) | Slot::Const(p, _) if p == pos => {}
                Slot::Mem(p) => writes.push((pos, self.load_word(vs.sp0, p * 32))),
                Slot::Const(_, v) => {
                    let w = self.const_limbs(v);
                    writes.push((pos, w));
                }
                Slot::Val(v, _) => writes.push((pos, v)),
            }
        }
        for (pos, w) in writes {
            self.store_word(w, vs.sp0, pos * 32);
        }
        let delta = vs.floor + vs.items.len() as i32;
        if delta == 0 {
            vs.len
        } else {
            self.b.ins().iadd_imm(vs.len, delta as i64)
        }
    }

    /// A fresh virtual stack over height `len` whose items at these depths from the top are
    /// known constants (already in the stack buffer).
    fn fresh_with(&mut self, len: Value, facts: &[(usize, U256)]) -> VStack {
        let mut vs = self.fresh(len);
        let Some(deepest) = facts.iter().map(|&(d, _)| d).max() else {
            return vs;
        };
        vs.floor = -(deepest as i32 + 1);
        vs.items = (0..=deepest)
            .map(|i| Slot::Mem(vs.floor + i as i32))
            .collect();
        for &(depth, v) in facts {
            let i = deepest - depth;
            vs.items[i] = Slot::Const(vs.floor + i as i32, v);
        }
        vs
    }

    /// The known constants of `vs` as (depth from the top, value).
    fn facts(vs: &VStack) -> Vec<(usize, U256)> {
        let n = vs.items.len();
        vs.items
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.known().map(|v| (n - 1 - i, v)))
            .collect()
    }

    /// A fresh virtual stack over height `len`.
    fn fresh(&mut self, len: Value) -> VStack {
        let bytes = self.b.ins().ishl_imm(len, 5);
        let base = self.stack_base();
        let sp0 = self.b.ins().iadd(base, bytes);
        VStack {
            len,
            sp0,
            floor: 0,
            items: Vec::new(),
        }
    }

    /// Hands over to the interpreter before `instr`, giving back the static gas of it and of
    /// the rest of the segment (the interpreter pays it again).
    fn interpret_before(&mut self, vs: &VStack, pc: usize, give_back: u64) {
        let len = self.spill(vs);
        let pc = self.iconst(pc as u64);
        self.leave(exit::INTERPRET, pc, len, Some(give_back));
    }

    /// Continues at segment `start`, or hands over there when it has no segment.
    fn goto(&mut self, vs: &VStack, start: usize) {
        if let Some(head) = self.loop_head.filter(|h| h.start == start) {
            self.back_edge(vs, head);
            return;
        }
        if self
            .l
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
                let gas = self.b.use_var(self.gas);
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
        if self.groups.join(self.b.func, entry.with_args, [gas, len]) {
            self.b
                .ins()
                .jump(entry.with_args, &[gas.into(), len.into()]);
        } else {
            let flags = MemFlags::trusted();
            let ctx = self.ctx();
            self.b.ins().store(flags, gas, ctx, offsets::GAS);
            self.b.ins().store(flags, len, ctx, offsets::STACK_LEN);
            self.b.ins().jump(entry.from_context, &[]);
        }
    }

    fn segment(&mut self, seg: &Segment) {
        let l = self.l;
        let Entry {
            from_context,
            with_args: entry,
        } = self.entries[&seg.start];
        let flags = MemFlags::trusted();
        self.b.switch_to_block(from_context);
        let ctx = self.ctx();
        let gas = self.b.ins().load(I64, flags, ctx, offsets::GAS);
        let len = self.b.ins().load(I64, flags, ctx, offsets::STACK_LEN);
        self.b.ins().jump(entry, &[gas.into(), len.into()]);
        self.b.switch_to_block(entry);
        let (gas, len) = (self.b.block_params(entry)[0], self.b.block_params(entry)[1]);
        // Entry checks: gas for the whole segment and its stack bounds (skipped when every
        // height passes).
        let ok = self.entry_ok(gas, len, seg.static_gas, (seg.min_entry, seg.max_entry));
        let body = self.b.create_block();
        // The bail block stores the gas and the height (they may have come in registers) and
        // where the interpreter takes over, then leaves through the shared return. (One per
        // segment: a block shared by thousands of branches, taking their values as
        // arguments, makes register allocation superlinear.) Cold, so the hot path of a run
        // of segments stays contiguous.
        let bail = self.b.create_block();
        self.b.set_cold_block(bail);
        self.b.ins().brif(ok, body, &[], bail, &[]);
        self.b.switch_to_block(bail);
        let pc = self.iconst(seg.start as u64);
        let ctx = self.ctx();
        self.b.ins().store(flags, gas, ctx, offsets::GAS);
        self.b.ins().store(flags, len, ctx, offsets::STACK_LEN);
        self.b.ins().store(flags, pc, ctx, offsets::PC);
        self.ret(exit::INTERPRET);
        self.b.switch_to_block(body);
        let gas = self.b.ins().iadd_imm(gas, -(seg.static_gas as i64));
        self.b.def_var(self.gas, gas);
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
            rest_from[i] = rest_from[i + 1] + l.spec.static_gas[ins.op as usize];
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
        let ok = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedGreaterThanOrEqual, gas, static_gas as i64);
        if min > max {
            return self.b.ins().iconst(I8, 0);
        }
        if min == 0 && max as usize >= STACK_LIMIT {
            return ok;
        }
        let above_min = self.b.ins().iadd_imm(len, -(min as i64));
        let in_bounds = self.b.ins().icmp_imm(
            IntCC::UnsignedLessThanOrEqual,
            above_min,
            (max - min) as i64,
        );
        self.b.ins().band(ok, in_bounds)
    }

    /// Whether the segment ends with `PUSH target JUMP(I)` back to its own start.
    fn loops_back(&self, seg: &Segment) -> bool {
        let n = seg.instrs.len();
        if n < 2 || !matches!(seg.instrs[n - 1].op, opcode::JUMP | opcode::JUMPI) {
            return false;
        }
        let push = seg.instrs[n - 2];
        if !(opcode::PUSH1..=opcode::PUSH32).contains(&push.op) {
            return false;
        }
        let len = (push.op - opcode::PUSH0) as usize;
        let bytes = &self.l.code.padded()[push.pc + 1..push.pc + 1 + len];
        let target = U256::from_big_endian(bytes);
        target.bits() <= 32
            && jump_landing(self.l.spec, self.l.code, target.low_u64() as usize) == Some(seg.start)
    }

    /// Starts the loop head of `seg` (the entry checks have passed): the top items are loaded
    /// once and the body is lowered from the head, where the back edge comes in.
    fn enter_loop(&mut self, seg: &Segment, vs: &VStack) -> VStack {
        let carried = (seg.min_entry as usize).min(MAX_CARRIED);
        let block = self.b.create_block();
        self.b.append_block_param(block, I64);
        self.b.append_block_param(block, I64);
        let mut args: Vec<BlockArg> = vec![self.b.use_var(self.gas).into(), vs.len.into()];
        for i in 0..carried {
            let w = self.load_word(vs.sp0, -32 * (carried - i) as i32);
            args.extend(w.into_iter().map(BlockArg::from));
            for _ in 0..4 {
                self.b.append_block_param(block, I64);
            }
        }
        self.b.ins().jump(block, &args);
        self.b.switch_to_block(block);
        let p = self.b.block_params(block).to_vec();
        self.b.def_var(self.gas, p[0]);
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
            self.b.ins().iadd_imm(vs.len, delta as i64)
        };
        let gas = self.b.use_var(self.gas);
        // The height at the head passed; an unchanged height passes again (only known when
        // no builtin in the body re-read the height).
        let unchanged = vs.len == head.len && delta == 0;
        let bounds = if unchanged {
            (0, STACK_LIMIT as u16)
        } else {
            (head.min_entry, head.max_entry)
        };
        let ok = self.entry_ok(gas, len, head.static_gas, bounds);
        let again = self.b.create_block();
        let bail = self.b.create_block();
        self.b.set_cold_block(bail);
        self.b.ins().brif(ok, again, &[], bail, &[]);
        self.b.switch_to_block(bail);
        let spilled = self.spill(vs);
        let pc = self.iconst(head.start as u64);
        self.leave(exit::INTERPRET, pc, spilled, None);
        self.b.switch_to_block(again);
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
        let gas = self.b.ins().iadd_imm(gas, -(head.static_gas as i64));
        let mut args: Vec<BlockArg> = vec![gas.into(), len.into()];
        for w in &top {
            args.extend(w.iter().map(|v| BlockArg::from(*v)));
        }
        self.b.ins().jump(head.block, &args);
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
        let l = self.l;
        if let Some(r) = self.fold(vs, op) {
            let s = self.const_word(r);
            vs.items.push(s);
            return true;
        }
        match op {
            PUSH0..=PUSH32 => {
                let n = (op - PUSH0) as usize;
                let bytes = &l.code.padded()[ins.pc + 1..ins.pc + 1 + n];
                let v = U256::from_big_endian(bytes);
                let s = self.const_word(v);
                vs.items.push(s);
            }
            0x80..=0x8f => {
                let n = (op - 0x80 + 1) as usize;
                self.reach(vs, n);
                let s = vs.items[vs.items.len() - n];
                vs.items.push(s);
            }
            0x90..=0x9f => {
                let n = (op - 0x90 + 1) as usize;
                self.reach(vs, n + 1);
                let top = vs.items.len() - 1;
                vs.items.swap(top, top - n);
            }
            POP => {
                self.pop(vs);
            }
            JUMPDEST => {}
            PC => {
                let s = self.const_word(U256::from(ins.pc));
                vs.items.push(s);
            }
            GAS => {
                let g = self.b.use_var(self.gas);
                let g = self.b.ins().iadd_imm(g, rest_after as i64);
                let z = self.iconst(0);
                vs.items.push(Slot::Val([g, z, z, z], None));
            }
            MSIZE => {
                let ctx = self.ctx();
                let m = self
                    .b
                    .ins()
                    .load(I64, MemFlags::trusted(), ctx, offsets::MEMORY_LEN);
                let m = self.b.ins().iadd_imm(m, -(l.spec.reserved as i64));
                let z = self.iconst(0);
                vs.items.push(Slot::Val([m, z, z, z], None));
            }
            ADD | SUB | MUL | LT | GT | SLT | SGT | EQ | AND | OR | XOR => {
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
                    AND => std::array::from_fn(|k| self.b.ins().band(a[k], b[k])),
                    OR => std::array::from_fn(|k| self.b.ins().bor(a[k], b[k])),
                    _ => self.xor(a, b),
                };
                vs.items.push(Slot::Val(r, None));
            }
            ISZERO => {
                let (a, _) = self.pop_val(vs);
                let r = self.is_zero(a);
                vs.items.push(Slot::Val(r, None));
            }
            NOT => {
                let (a, _) = self.pop_val(vs);
                let r = std::array::from_fn(|k| self.b.ins().bnot(a[k]));
                vs.items.push(Slot::Val(r, None));
            }
            BYTE | SHL | SHR if self.known_top(vs).is_some() => {
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
            SIGNEXTEND | SAR if self.known_top(vs).is_some() => {
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
            DIV | SDIV | MOD | SMOD => self.divide(vs, op),
            ADDMOD | MULMOD | SIGNEXTEND | SHL | SHR | SAR => {
                self.word_builtin(vs, op);
            }
            MLOAD | MSTORE | MSTORE8 => {
                self.memory(vs, ins, rest_after, next == Some(POP));
            }
            JUMP => {
                self.jump(vs, ins, rest_from, false);
                return false;
            }
            JUMPI => {
                self.jump(vs, ins, rest_from, true);
                return false;
            }
            _ => return self.call_exec(vs, ins, rest_after, next.is_none()),
        }
        true
    }

    /// A word instruction with only static gas whose inputs are all known: pops them and
    /// returns its result, computed now by the interpreter's own code (so it stays a known
    /// constant downstream).
    fn fold(&mut self, vs: &mut VStack, op: u8) -> Option<U256> {
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

    fn known_top(&self, vs: &VStack) -> Option<U256> {
        vs.items.last().and_then(Slot::known)
    }

    /// Runs the instruction through the interpreter's code: the stack is spilled first and
    /// read back from the buffer after.
    fn call_exec(&mut self, vs: &mut VStack, ins: Instr, rest_after: u64, last: bool) -> bool {
        let flags = MemFlags::trusted();
        // An instruction that keeps to its stack effect leaves the items below its inputs as
        // they were: their constants stay known after the call.
        let kept: Vec<(usize, U256)> = match OPCODES[ins.op as usize] {
            Some(info) if !ends_segment_after(self.l.spec, ins.op) => {
                let (inputs, outputs) = (info.inputs as usize, info.outputs as usize);
                Self::facts(vs)
                    .into_iter()
                    .filter(|&(depth, _)| depth >= inputs)
                    .map(|(depth, v)| (depth - inputs + outputs, v))
                    .collect()
            }
            _ => Vec::new(),
        };
        let len = self.spill(vs);
        let gas = self.b.use_var(self.gas);
        let gas = self.b.ins().iadd_imm(gas, rest_after as i64);
        let ctx = self.ctx();
        self.b.ins().store(flags, gas, ctx, offsets::GAS);
        self.b.ins().store(flags, len, ctx, offsets::STACK_LEN);
        self.call_and_continue(Builtin::Exec, &[Arg::Value(ctx), Arg::Const(ins.pc as u64)]);
        let ctx = self.ctx();
        let gas = self.b.ins().load(I64, flags, ctx, offsets::GAS);
        let len = self.b.ins().load(I64, flags, ctx, offsets::STACK_LEN);
        *vs = self.fresh_with(len, &kept);
        if rest_after > 0 && !last {
            // The builtin may have left less than the rest of the segment needs: the
            // interpreter then runs out of gas at the right instruction.
            let enough =
                self.b
                    .ins()
                    .icmp_imm(IntCC::UnsignedGreaterThanOrEqual, gas, rest_after as i64);
            let ok = self.b.create_block();
            let short = self.b.create_block();
            self.b.set_cold_block(short);
            self.b.ins().brif(enough, ok, &[], short, &[]);
            self.b.switch_to_block(short);
            self.ret(exit::INTERPRET);
            self.b.switch_to_block(ok);
        }
        let gas = self.b.ins().iadd_imm(gas, -(rest_after as i64));
        self.b.def_var(self.gas, gas);
        true
    }

    /// A word instruction through its builtin ([`Builtin::WordOp`]): its inputs go through the
    /// context's scratch words, the rest of the virtual stack stays in registers.
    fn word_builtin(&mut self, vs: &mut VStack, op: u8) {
        let inputs = if matches!(op, opcode::ADDMOD | opcode::MULMOD) {
            3
        } else {
            2
        };
        let words: Vec<[Value; 4]> = (0..inputs).map(|_| self.pop_val(vs).0).collect();
        let r = self.call_word_builtin(op, &words);
        vs.items.push(Slot::Val(r, None));
    }

    /// Calls the builtin of word instruction `op` on `words` (top first) and returns its result.
    fn call_word_builtin(&mut self, op: u8, words: &[[Value; 4]]) -> [Value; 4] {
        let ctx = self.ctx();
        for (k, w) in words.iter().enumerate() {
            self.store_word(*w, ctx, offsets::SCRATCH + 32 * k as i32);
        }
        self.call_and_continue(Builtin::WordOp(op), &[Arg::Value(ctx)]);
        let ctx = self.ctx();
        self.load_word(ctx, offsets::SCRATCH)
    }

    /// DIV, SDIV, MOD, SMOD: one machine division when both operands fit in 64 bits (signed:
    /// sign-extended from 64 bits, divisor not -1), the builtin otherwise (and for a zero
    /// divisor).
    fn divide(&mut self, vs: &mut VStack, op: u8) {
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
                        self.b.ins().band_imm(a[k], mask.0[k] as i64)
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
                c.b.ins().sshr_imm(w[0], 63)
            } else {
                c.iconst(0)
            };
            let x1 = c.b.ins().bxor(w[1], fill);
            let x2 = c.b.ins().bxor(w[2], fill);
            let x3 = c.b.ins().bxor(w[3], fill);
            let x = c.b.ins().bor(x1, x2);
            c.b.ins().bor(x, x3)
        };
        let ha = ext(self, a);
        let hb = ext(self, b);
        let high = self.b.ins().bor(ha, hb);
        let narrow = self.b.ins().icmp_imm(IntCC::Equal, high, 0);
        let nonzero = self.b.ins().icmp_imm(IntCC::NotEqual, b[0], 0);
        let mut ok = self.b.ins().band(narrow, nonzero);
        if signed {
            // i64::MIN / -1 overflows the machine division.
            let not_minus_one = self.b.ins().icmp_imm(IntCC::NotEqual, b[0], -1);
            ok = self.b.ins().band(ok, not_minus_one);
        }
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let merge = self.b.create_block();
        for _ in 0..4 {
            self.b.append_block_param(merge, I64);
        }
        self.b.ins().brif(ok, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        let q = match op {
            DIV => self.b.ins().udiv(a[0], b[0]),
            MOD => self.b.ins().urem(a[0], b[0]),
            SDIV => self.b.ins().sdiv(a[0], b[0]),
            _ => self.b.ins().srem(a[0], b[0]),
        };
        let fill = if signed {
            self.b.ins().sshr_imm(q, 63)
        } else {
            self.iconst(0)
        };
        let args: Vec<BlockArg> = [q, fill, fill, fill].into_iter().map(Into::into).collect();
        self.b.ins().jump(merge, &args);
        self.b.switch_to_block(slow);
        let r = self.call_word_builtin(op, &[a, b]);
        let args: Vec<BlockArg> = r.into_iter().map(Into::into).collect();
        self.b.ins().jump(merge, &args);
        self.b.switch_to_block(merge);
        let p = self.b.block_params(merge);
        let r = [p[0], p[1], p[2], p[3]];
        vs.items.push(Slot::Val(r, None));
    }

    /// The address of host offset `host` in memory.
    fn memory_address(&mut self, host: Value) -> Value {
        let ctx = self.ctx();
        let base = self
            .b
            .ins()
            .load(I64, MemFlags::trusted(), ctx, offsets::MEMORY);
        self.b.ins().iadd(base, host)
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
                        let be = self.b.ins().bswap(limb);
                        self.b.ins().store(flags, be, addr, 24 - 8 * k as i32);
                    }
                }
                (_, Some(v)) => {
                    let byte = self.b.ins().ireduce(I8, v[0]);
                    self.b.ins().store(flags, byte, addr, 0);
                }
                _ => {}
            }
        }
        self.b.ins().jump(merge, &[]);
    }

    /// Memory growth through [`Builtin::GrowMemory`], then on to the access at `fast`: the
    /// block sits inline, right after the bounds check, as a few instructions (a call to one
    /// shared function that keeps every register) whose fetch costs little when memory does
    /// not grow and that is at hand when it does (a far jump into cold code cost more than
    /// the growth). The slow path takes what the builtin cannot: no room, not enough gas.
    fn grow(&mut self, end: Value, slow: Block, fast: Block) {
        let ctx = self.ctx();
        let gas = self.b.use_var(self.gas);
        // No result: the builtin reports in `grown` (see `Builtin::GrowMemory`).
        let args = [ctx, end, gas].map(Arg::Value);
        self.call_builtin(Builtin::GrowMemory, &args);
        let ctx = self.ctx();
        let left = self
            .b
            .ins()
            .load(I64, MemFlags::trusted(), ctx, offsets::GROWN);
        let failed = self.b.ins().icmp_imm(IntCC::Equal, left, -1);
        let paid = self.b.create_block();
        self.b.ins().brif(failed, slow, &[], paid, &[]);
        self.b.switch_to_block(paid);
        self.b.def_var(self.gas, left);
        self.b.ins().jump(fast, &[]);
    }

    /// MLOAD, MSTORE, MSTORE8: in-bounds accesses inline, the rest through a builtin.
    /// `popped`: the next instruction pops MLOAD's word, which is then not loaded (Cranelift
    /// keeps loads whose results are unused).
    fn memory(&mut self, vs: &mut VStack, ins: Instr, rest_after: u64, popped: bool) {
        use opcode::*;
        let flags = MemFlags::trusted();
        let spec = self.l.spec;
        let (off, known) = self.pop_val(vs);
        let value = if ins.op == MLOAD {
            None
        } else {
            Some(self.pop_val(vs).0)
        };
        let width: i64 = if ins.op == MSTORE8 { 1 } else { 32 };
        let ctx = self.ctx();
        let mem_len = self.b.ins().load(I64, flags, ctx, offsets::MEMORY_LEN);
        // Constant offsets the fast path takes: below 2^32 less the reserved region, so that
        // offset + reserved + width cannot overflow.
        let narrow_limit = u32::MAX as u64 - spec.reserved as u64;
        // The access's host offset, whether it is in memory, and, when it may grow memory,
        // where it ends (u64::MAX when it is not addressable at all).
        let (host, ok, end) = if let Some(k) = known {
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
                let ok = self
                    .b
                    .ins()
                    .icmp_imm(IntCC::UnsignedGreaterThanOrEqual, mem_len, end);
                (self.iconst(host), ok, Some(self.iconst(end as u64)))
            } else {
                // Never in bounds; should the slow path succeed all the same (memory grown
                // past 4 GiB), MLOAD's load after the paths meet reads at this offset.
                let never = self.b.ins().iconst(I8, 0);
                let host = masked.low_u64().wrapping_add(spec.reserved as u64);
                (self.iconst(host), never, None)
            }
        } else {
            // The offset's high part (after the 160-bit mask in hyvm) and its bits from 2^32
            // up: any set, the access is not addressable in place (memory is far smaller),
            // and its end becomes u64::MAX, which no memory covers and the growth refuses.
            // One compare and one branch then, on flags, not on materialised booleans.
            let high = if spec.mask_offsets {
                let low32 = self.b.ins().band_imm(off[2], 0xffff_ffff);
                self.b.ins().bor(off[1], low32)
            } else {
                let h = self.b.ins().bor(off[1], off[2]);
                self.b.ins().bor(h, off[3])
            };
            let wide = self.b.ins().ushr_imm(off[0], 32);
            let far = self.b.ins().bor(high, wide);
            let host = self.b.ins().iadd_imm(off[0], spec.reserved as i64);
            let end = self.b.ins().iadd_imm(host, width);
            let none = self.iconst(u64::MAX);
            let end = self.b.ins().select(far, none, end);
            let ok = self
                .b
                .ins()
                .icmp(IntCC::UnsignedLessThanOrEqual, end, mem_len);
            (host, ok, Some(end))
        };
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        // MLOAD's paths meet before its load, which is then left out when the word is
        // never used (`MLOAD POP`), and no word travels in block arguments.
        let merge = self.b.create_block();
        match end {
            Some(end) => {
                let grow = self.b.create_block();
                self.b.ins().brif(ok, fast, &[], grow, &[]);
                self.b.switch_to_block(grow);
                self.grow(end, slow, fast);
            }
            None => {
                self.b.ins().brif(ok, fast, &[], slow, &[]);
            }
        }

        self.b.switch_to_block(fast);
        self.access(ins.op, host, value, merge);

        self.b.set_cold_block(slow);
        self.b.switch_to_block(slow);
        let ctx = self.ctx();
        self.store_word(off, ctx, offsets::SCRATCH);
        if let Some(v) = value {
            self.store_word(v, ctx, offsets::SCRATCH + 32);
        }
        let gas = self.b.use_var(self.gas);
        let gas = self.b.ins().iadd_imm(gas, rest_after as i64);
        self.b.ins().store(flags, gas, ctx, offsets::GAS);
        let args = [
            Arg::Value(ctx),
            Arg::Const(ins.op.into()),
            Arg::Const(ins.pc as u64),
        ];
        // On a stop the frame has halted: its stack no longer matters.
        let cont = self.call_and_continue(Builtin::MemoryOp, &args);
        // The whole slow path is out of line, where its fetch costs nothing to the accesses
        // that stay in memory.
        self.b.set_cold_block(cont);
        let ctx = self.ctx();
        let gas = self.b.ins().load(I64, flags, ctx, offsets::GAS);
        if rest_after > 0 {
            let enough =
                self.b
                    .ins()
                    .icmp_imm(IntCC::UnsignedGreaterThanOrEqual, gas, rest_after as i64);
            let ok = self.b.create_block();
            self.b.set_cold_block(ok);
            let short = self.b.create_block();
            self.b.set_cold_block(short);
            self.b.ins().brif(enough, ok, &[], short, &[]);
            self.b.switch_to_block(short);
            // Hand over after this instruction with the gas as the interpreter counts it.
            let mut after = vs.clone();
            if ins.op == MLOAD {
                let ctx = self.ctx();
                let w = self.load_word(ctx, offsets::SCRATCH);
                after.items.push(Slot::Val(w, None));
            }
            self.b.def_var(self.gas, gas);
            let len = self.spill(&after);
            let next = self.iconst(ins.pc as u64 + 1);
            self.leave(exit::INTERPRET, next, len, None);
            self.b.switch_to_block(ok);
        }
        let gas = self.b.ins().iadd_imm(gas, -(rest_after as i64));
        self.b.def_var(self.gas, gas);
        self.b.ins().jump(merge, &[]);

        self.b.switch_to_block(merge);
        if ins.op == MLOAD && popped {
            // A placeholder for the POP to drop.
            let z = self.iconst(0);
            vs.items.push(Slot::Val([z; 4], None));
        } else if ins.op == MLOAD {
            // In bounds on every path that gets here: the slow one has grown memory over it
            // (and loaded the same word into the scratch words).
            let addr = self.memory_address(host);
            let w: [Value; 4] = std::array::from_fn(|k| {
                let raw = self.b.ins().load(I64, flags, addr, 24 - 8 * k as i32);
                self.b.ins().bswap(raw)
            });
            vs.items.push(Slot::Val(w, None));
        }
    }

    /// JUMP and JUMPI: constant targets become branches; others follow the policy.
    fn jump(&mut self, vs: &mut VStack, ins: Instr, rest_from: u64, conditional: bool) {
        let spec = self.l.spec;
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
            let taken = self.b.create_block();
            let not_taken = self.b.create_block();
            self.b.ins().brif(nz[0], not_taken, &[], taken, &[]);
            self.b.switch_to_block(not_taken);
            self.goto(vs, ins.pc + 1);
            self.b.switch_to_block(taken);
            if spec.jumpi_taken_gas > 0 {
                let gas = self.b.use_var(self.gas);
                let enough = self.b.ins().icmp_imm(
                    IntCC::UnsignedGreaterThanOrEqual,
                    gas,
                    spec.jumpi_taken_gas as i64,
                );
                let ok = self.b.create_block();
                let short = self.b.create_block();
                self.b.set_cold_block(short);
                self.b.ins().brif(enough, ok, &[], short, &[]);
                self.b.switch_to_block(short);
                self.interpret_before(&before, ins.pc, rest_from);
                self.b.switch_to_block(ok);
                let gas = self.b.ins().iadd_imm(gas, -(spec.jumpi_taken_gas as i64));
                self.b.def_var(self.gas, gas);
            }
        }
        // A taken JUMPI has paid the hypervisor's jump; handing over gives that back too.
        let taken_gas = if conditional { spec.jumpi_taken_gas } else { 0 };
        let landing = known
            .filter(|t| t.bits() <= 32)
            .and_then(|t| jump_landing(spec, self.l.code, t.low_u64() as usize));
        match (known, landing) {
            (Some(_), Some(dest)) if self.entries.contains_key(&dest) => self.goto(vs, dest),
            (Some(_), _) => {
                // A bad constant target: the interpreter produces the profile's outcome.
                self.interpret_before(&before, ins.pc, rest_from + taken_gas);
            }
            (None, _) => match self.l.dynamic_jumps {
                DynamicJumps::Interpreter => {
                    self.interpret_before(&before, ins.pc, rest_from + taken_gas);
                }
                DynamicJumps::JumpTable => {
                    let len = self.spill(&before);
                    let gas = self.b.use_var(self.gas);
                    let dispatch = *self.dispatch.get_or_insert_with(|| {
                        let d = self.b.create_block();
                        for _ in 0..5 {
                            self.b.append_block_param(d, I64);
                        }
                        d
                    });
                    let pc = self.iconst(ins.pc as u64);
                    let back = self.iconst(rest_from + taken_gas);
                    let cond_flag = self.iconst(conditional as u64);
                    let handed_over = self.b.ins().iadd(gas, back);
                    let args: Vec<BlockArg> = [len, pc, back, cond_flag, handed_over]
                        .into_iter()
                        .map(Into::into)
                        .collect();
                    self.b.ins().jump(dispatch, &args);
                }
            },
        }
    }

    /// The dispatcher of dynamic jumps: the stack holds the jump's inputs (target on top), as
    /// before the jump; a target that is a segment start is taken natively, anything else goes
    /// to the interpreter at the jump.
    fn dispatcher(&mut self, dispatch: Block) {
        let spec = self.l.spec;
        self.b.switch_to_block(dispatch);
        let p = self.b.block_params(dispatch).to_vec();
        let (len, pc, back, cond, handed_over) = (p[0], p[1], p[2], p[3], p[4]);
        let give_up = self.b.create_block();
        // The target is on top; the jump pops it (and JUMPI its condition, known non-zero).
        let top = self.b.ins().ishl_imm(len, 5);
        let base = self.stack_base();
        let top = self.b.ins().iadd(base, top);
        let t = self.load_word(top, -32);
        let high = self.b.ins().bor(t[1], t[2]);
        let high = self.b.ins().bor(high, t[3]);
        let small = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, t[0], u32::MAX as i64);
        let high_zero = self.b.ins().icmp_imm(IntCC::Equal, high, 0);
        let ok = self.b.ins().band(small, high_zero);
        let lookup = self.b.create_block();
        self.b.ins().brif(ok, lookup, &[], give_up, &[]);
        self.b.switch_to_block(lookup);
        let popped = self.b.ins().iadd_imm(len, -1);
        let mut switch = Switch::new();
        let mut trampolines = Vec::new();
        for d in 0..self.l.code.len() {
            if let Some(dest) = jump_landing(spec, self.l.code, d) {
                if let Some(&entry) = self.entries.get(&dest) {
                    let tramp = self.b.create_block();
                    switch.set_entry(d as u128, tramp);
                    trampolines.push((tramp, entry));
                }
            }
        }
        switch.emit(&mut self.b, t[0], give_up);
        for (tramp, entry) in trampolines {
            self.b.switch_to_block(tramp);
            // The gas and the height after the jump, computed in each trampoline (no block
            // above them computes the same), so that each passes values of its own: passing
            // the dispatcher's would join every target's group.
            let gas = self.b.ins().isub(handed_over, back);
            let after = self.b.ins().isub(popped, cond);
            self.enter(entry, gas, after);
        }
        self.b.switch_to_block(give_up);
        let flags = MemFlags::trusted();
        let ctx = self.ctx();
        self.b.ins().store(flags, handed_over, ctx, offsets::GAS);
        self.b.ins().store(flags, len, ctx, offsets::STACK_LEN);
        self.b.ins().store(flags, pc, ctx, offsets::PC);
        self.ret(exit::INTERPRET);
    }

    // Word arithmetic on limbs.

    /// `a + b + carry`, with the carry out (both i8 flags); x64 has no lowering for
    /// Cranelift's carry-in forms, so the two carries are combined by hand.
    fn add_carry(&mut self, a: Value, b: Value, carry: Value) -> (Value, Value) {
        let (t, c1) = self.b.ins().uadd_overflow(a, b);
        let cin = self.b.ins().uextend(I64, carry);
        let (r, c2) = self.b.ins().uadd_overflow(t, cin);
        (r, self.b.ins().bor(c1, c2))
    }

    /// The constant `v` holds, when an `iconst` defines it.
    fn const_value(&self, v: Value) -> Option<u64> {
        let inst = self.b.func.dfg.value_def(v).inst()?;
        match self.b.func.dfg.insts[inst] {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => Some(imm.bits() as u64),
            _ => None,
        }
    }

    /// A word as two 128-bit halves (low, high).
    fn halves(&mut self, w: [Value; 4]) -> (Value, Value) {
        let lo = self.b.ins().iconcat(w[0], w[1]);
        let hi = self.b.ins().iconcat(w[2], w[3]);
        (lo, hi)
    }

    /// The limbs of two 128-bit halves.
    fn join_halves(&mut self, lo: Value, hi: Value) -> [Value; 4] {
        let (r0, r1) = self.b.ins().isplit(lo);
        let (r2, r3) = self.b.ins().isplit(hi);
        [r0, r1, r2, r3]
    }

    /// `a + b` or `a - b` on 128-bit halves: x64 lowers those to add/adc and sub/sbb pairs,
    /// a shorter carry chain than carries materialized limb by limb.
    fn add_sub(&mut self, a: [Value; 4], b: [Value; 4], subtract: bool) -> [Value; 4] {
        let (alo, ahi) = self.halves(a);
        let (blo, bhi) = self.halves(b);
        let constant_low = self.const_value(b[0]).is_some() && self.const_value(b[1]).is_some();
        let ins = self.b.ins();
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
            (lo, self.b.ins().icmp(IntCC::UnsignedLessThan, alo, blo))
        } else {
            // The carry from the result: a constant `blo` stays an immediate of the add.
            let lo = ins.iadd(alo, blo);
            (lo, self.b.ins().icmp(IntCC::UnsignedLessThan, lo, alo))
        };
        // Through i64, so that x64 adds it as a register and an immediate 0.
        let carry = self.b.ins().uextend(I64, carry);
        let carry = self.b.ins().uextend(I128, carry);
        let high_zero = self.const_value(b[2]) == Some(0) && self.const_value(b[3]) == Some(0);
        let hi = if subtract {
            let d = if high_zero {
                ahi
            } else {
                self.b.ins().isub(ahi, bhi)
            };
            self.b.ins().isub(d, carry)
        } else {
            let t = if high_zero {
                ahi
            } else {
                self.b.ins().iadd(ahi, bhi)
            };
            self.b.ins().iadd(t, carry)
        };
        self.join_halves(lo, hi)
    }

    fn mul(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        let zero = self.iconst(0);
        let mut r = [zero; 4];
        for i in 0..4 {
            let mut carry = zero;
            for j in 0..4 - i {
                let lo = self.b.ins().imul(a[j], b[i]);
                if i + j == 3 {
                    let t = self.b.ins().iadd(r[3], lo);
                    r[3] = self.b.ins().iadd(t, carry);
                    continue;
                }
                let hi = self.b.ins().umulhi(a[j], b[i]);
                let (t, c1) = self.b.ins().uadd_overflow(r[i + j], lo);
                let (t, c2) = self.b.ins().uadd_overflow(t, carry);
                r[i + j] = t;
                let c1 = self.b.ins().uextend(I64, c1);
                let c2 = self.b.ins().uextend(I64, c2);
                let h = self.b.ins().iadd(hi, c1);
                carry = self.b.ins().iadd(h, c2);
            }
        }
        r
    }

    /// `a * c` for a constant `c` below 2^64: one row of the schoolbook product.
    fn mul_small(&mut self, a: [Value; 4], c: u64) -> [Value; 4] {
        let c = self.iconst(c);
        let lo: [Value; 4] = std::array::from_fn(|i| self.b.ins().imul(a[i], c));
        let hi: [Value; 3] = std::array::from_fn(|i| self.b.ins().umulhi(a[i], c));
        let (r1, carry) = self.b.ins().uadd_overflow(lo[1], hi[0]);
        let (r2, carry) = self.add_carry(lo[2], hi[1], carry);
        let r3 = self.b.ins().iadd(lo[3], hi[2]);
        let carry = self.b.ins().uextend(I64, carry);
        let r3 = self.b.ins().iadd(r3, carry);
        [lo[0], r1, r2, r3]
    }

    /// `a < b` as a word (signed when asked), on 128-bit halves.
    fn lt(&mut self, a: [Value; 4], b: [Value; 4], signed: bool) -> [Value; 4] {
        let (alo, ahi) = self.halves(a);
        let (blo, bhi) = self.halves(b);
        let cc = if signed {
            IntCC::SignedLessThan
        } else {
            IntCC::UnsignedLessThan
        };
        let hi_lt = self.b.ins().icmp(cc, ahi, bhi);
        let hi_eq = self.b.ins().icmp(IntCC::Equal, ahi, bhi);
        let lo_lt = self.b.ins().icmp(IntCC::UnsignedLessThan, alo, blo);
        let eq_and = self.b.ins().band(hi_eq, lo_lt);
        let r = self.b.ins().bor(hi_lt, eq_and);
        self.flag(r)
    }

    /// `x < c` (when `below`) or `c < x` for a constant `c` below 2^64, signed when asked: on
    /// limbs with immediates, where the 128-bit comparison would keep the constant's halves in
    /// registers (hoisted out of loops, then spilled).
    fn cmp_small(&mut self, x: [Value; 4], c: u64, below: bool, signed: bool) -> [Value; 4] {
        // `c < x` is `!(x <= c)`. `x < c` (or `<=`): the high limbs are zero and the low one is
        // below c (or at most c), or, signed, x is negative (c is not).
        let low_cc = if below {
            IntCC::UnsignedLessThan
        } else {
            IntCC::UnsignedLessThanOrEqual
        };
        let high = self.b.ins().bor(x[1], x[2]);
        let high = self.b.ins().bor(high, x[3]);
        let high_zero = self.b.ins().icmp_imm(IntCC::Equal, high, 0);
        let low = self.b.ins().icmp_imm(low_cc, x[0], c as i64);
        let mut r = self.b.ins().band(high_zero, low);
        if signed {
            let negative = self.b.ins().icmp_imm(IntCC::SignedLessThan, x[3], 0);
            r = self.b.ins().bor(r, negative);
        }
        if !below {
            r = self.b.ins().bxor_imm(r, 1);
        }
        self.flag(r)
    }

    fn xor(&mut self, a: [Value; 4], b: [Value; 4]) -> [Value; 4] {
        std::array::from_fn(|k| self.b.ins().bxor(a[k], b[k]))
    }

    fn is_zero(&mut self, a: [Value; 4]) -> [Value; 4] {
        let x = self.b.ins().bor(a[0], a[1]);
        let y = self.b.ins().bor(a[2], a[3]);
        let z = self.b.ins().bor(x, y);
        let r = self.b.ins().icmp_imm(IntCC::Equal, z, 0);
        self.flag(r)
    }

    /// A boolean (i8) as a word.
    fn flag(&mut self, r: Value) -> [Value; 4] {
        let r = self.b.ins().uextend(I64, r);
        let z = self.iconst(0);
        [r, z, z, z]
    }

    fn byte(&mut self, n: U256, x: [Value; 4]) -> [Value; 4] {
        let z = self.iconst(0);
        if n >= U256::from(32) {
            return [z, z, z, z];
        }
        let bit = (31 - n.low_u64()) * 8;
        let limb = x[(bit / 64) as usize];
        let v = self.b.ins().ushr_imm(limb, (bit % 64) as i64);
        let v = self.b.ins().band_imm(v, 0xff);
        [v, z, z, z]
    }

    fn shl(&mut self, n: U256, x: [Value; 4]) -> [Value; 4] {
        let z = self.iconst(0);
        if n >= U256::from(256) {
            return [z, z, z, z];
        }
        let n = n.low_u64() as usize;
        let (words, bits) = (n / 64, (n % 64) as i64);
        std::array::from_fn(|k| {
            if k < words {
                return z;
            }
            let src = k - words;
            let main = self.b.ins().ishl_imm(x[src], bits);
            if bits == 0 || src == 0 {
                main
            } else {
                let carry = self.b.ins().ushr_imm(x[src - 1], 64 - bits);
                self.b.ins().bor(main, carry)
            }
        })
    }

    fn shr(&mut self, n: U256, x: [Value; 4]) -> [Value; 4] {
        let z = self.iconst(0);
        if n >= U256::from(256) {
            return [z, z, z, z];
        }
        let n = n.low_u64() as usize;
        let (words, bits) = (n / 64, (n % 64) as i64);
        std::array::from_fn(|k| {
            let src = k + words;
            if src > 3 {
                return z;
            }
            let main = self.b.ins().ushr_imm(x[src], bits);
            if bits == 0 || src == 3 {
                main
            } else {
                let carry = self.b.ins().ishl_imm(x[src + 1], 64 - bits);
                self.b.ins().bor(main, carry)
            }
        })
    }

    /// Whether a word is below `limit` (a small constant), as an i8 flag.
    fn below(&mut self, n: [Value; 4], limit: u64) -> Value {
        let high = self.b.ins().bor(n[1], n[2]);
        let high = self.b.ins().bor(high, n[3]);
        let high_zero = self.b.ins().icmp_imm(IntCC::Equal, high, 0);
        let small = self
            .b
            .ins()
            .icmp_imm(IntCC::UnsignedLessThan, n[0], limit as i64);
        self.b.ins().band(high_zero, small)
    }

    /// `limbs[k]` for a run-time `k` in 0..4 (`k` is masked to that range).
    fn select_limb(&mut self, k: Value, limbs: [Value; 4]) -> Value {
        let mut r = limbs[3];
        for i in (0..3).rev() {
            let is = self.b.ins().icmp_imm(IntCC::Equal, k, i as i64);
            r = self.b.ins().select(is, limbs[i], r);
        }
        r
    }

    /// SIGNEXTEND(b, x) for a known byte index `b`.
    fn signextend(&mut self, b: U256, x: [Value; 4]) -> [Value; 4] {
        if b >= U256::from(31) {
            return x;
        }
        let bit = b.low_u64() * 8 + 7;
        let (k, p) = ((bit / 64) as usize, (bit % 64) as i64);
        let up = self.b.ins().ishl_imm(x[k], 63 - p);
        let e = self.b.ins().sshr_imm(up, 63 - p);
        let sign = self.b.ins().sshr_imm(e, 63);
        std::array::from_fn(|j| match j.cmp(&k) {
            std::cmp::Ordering::Less => x[j],
            std::cmp::Ordering::Equal => e,
            std::cmp::Ordering::Greater => sign,
        })
    }

    /// BYTE(n, x) for a run-time `n`.
    fn byte_var(&mut self, n: [Value; 4], x: [Value; 4]) -> [Value; 4] {
        let z = self.iconst(0);
        let ok = self.below(n, 32);
        // Bit offset of the byte from the low end: 248 - 8n.
        let eight_n = self.b.ins().ishl_imm(n[0], 3);
        let c = self.iconst(248);
        let bit = self.b.ins().isub(c, eight_n);
        let k = self.b.ins().ushr_imm(bit, 6);
        let k = self.b.ins().band_imm(k, 3);
        let limb = self.select_limb(k, x);
        let v = self.b.ins().ushr(limb, bit);
        let v = self.b.ins().band_imm(v, 0xff);
        let v = self.b.ins().select(ok, v, z);
        [v, z, z, z]
    }

    /// SHL, SHR and SAR by an amount in SSA (constant-folded when known): a shift by `n % 64`
    /// inside the limbs, then a move by `n / 64` whole limbs.
    fn shift_var(&mut self, op: u8, n: [Value; 4], x: [Value; 4]) -> [Value; 4] {
        let z = self.iconst(0);
        let fill = if op == opcode::SAR {
            self.b.ins().sshr_imm(x[3], 63)
        } else {
            z
        };
        let in_range = self.below(n, 256);
        let words = self.b.ins().ushr_imm(n[0], 6);
        let words = self.b.ins().band_imm(words, 3);
        let bits = self.b.ins().band_imm(n[0], 63);
        let back = self.b.ins().bxor_imm(bits, 63);
        // y: x shifted by `bits`; the bits crossing a limb boundary move by 64 - bits, done
        // as 1 then 63 - bits so that a shift by 0 moves nothing across.
        let y: [Value; 4] = std::array::from_fn(|i| {
            if op == opcode::SHL {
                let main = self.b.ins().ishl(x[i], bits);
                if i == 0 {
                    return main;
                }
                let c = self.b.ins().ushr_imm(x[i - 1], 1);
                let c = self.b.ins().ushr(c, back);
                self.b.ins().bor(main, c)
            } else {
                if i == 3 {
                    return if op == opcode::SAR {
                        self.b.ins().sshr(x[3], bits)
                    } else {
                        self.b.ins().ushr(x[3], bits)
                    };
                }
                let main = self.b.ins().ushr(x[i], bits);
                let c = self.b.ins().ishl_imm(x[i + 1], 1);
                let c = self.b.ins().ishl(c, back);
                self.b.ins().bor(main, c)
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
            self.b.ins().select(in_range, r, fill)
        })
    }
}

/// The Cranelift signature of `builtin`, whose system calls use `call_conv`.
fn builtin_signature(builtin: Builtin, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(match builtin.convention() {
        Convention::System => call_conv,
        Convention::PreserveAll => CallConv::PreserveAll,
    });
    for &param in builtin.params() {
        sig.params.push(AbiParam::new(param_type(param)));
    }
    if builtin.returns_exit() {
        sig.returns.push(AbiParam::new(I32));
    }
    sig
}

/// The IR type of a builtin's parameter.
fn param_type(param: Param) -> Type {
    match param {
        Param::Ptr | Param::U64 => I64,
        Param::U32 => I32,
    }
}

/// A builtin's argument: a value, or a constant of its parameter's type.
#[derive(Clone, Copy)]
enum Arg {
    Value(Value),
    Const(u64),
}

/// `n` when `v` is 2^n.
fn power_of_two(v: U256) -> Option<u32> {
    (!v.is_zero() && (v & (v - 1)).is_zero()).then(|| v.trailing_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::UserFuncName;

    #[test]
    fn groups_of_joined_values_stop_growing_at_the_cap() {
        let mut func = Function::with_name_signature(
            UserFuncName::default(),
            Signature::new(CallConv::SystemV),
        );
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let target = b.create_block();
        b.append_block_param(target, I64);
        b.append_block_param(target, I64);
        let source = b.create_block();
        b.switch_to_block(source);
        let mut groups = Groups::default();
        let mut joined = 0;
        for i in 0..40 {
            let gas = b.ins().iconst(I64, i);
            let len = b.ins().iconst(I64, i + 100);
            if groups.join(b.func, target, [gas, len]) {
                joined += 1;
            }
        }
        // Each parameter's group holds itself and one argument per join.
        assert_eq!(joined, MAX_GROUP - 1);
        // A value already in the group joins again for free.
        let gas = b.func.dfg.block_params(target)[0];
        let len = b.func.dfg.block_params(target)[1];
        assert!(groups.join(b.func, target, [gas, len]));
        // A chain (each parameter passed on to the next block) is cut the same way.
        let mut groups = Groups::default();
        let mut prev = target;
        let mut chained = 0;
        for _ in 0..40 {
            let next = b.create_block();
            b.append_block_param(next, I64);
            b.append_block_param(next, I64);
            let args = [0, 1].map(|i| b.func.dfg.block_params(prev)[i]);
            if groups.join(b.func, next, args) {
                chained += 1;
                prev = next;
            }
        }
        assert_eq!(chained, MAX_GROUP - 1);
    }
}
