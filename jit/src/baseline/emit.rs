//! Segments to x86-64 machine code in one pass, with the same entry points, exits and context
//! as the Cranelift tier (see [`crate::context`]), so the runner enters either alike.
//!
//! Registers for the whole function (all callee-saved, so builtins keep them):
//! `r15` the context, `rbx` the stack buffer, `r12` the stack height at the last point it was
//! synchronised (a segment's entry, or after a builtin), `r13` the gas (after the current
//! segment's static gas), `r14` the address of the item above the top at that point. Inside
//! a segment the height's change since then is known while compiling (`depth` below), so
//! every stack item is `[r14 + constant]`.

use super::x64::{Alu, Asm, Cond, Label, Mem, Reg, Reg::*};
use super::Profiling;
use crate::builtins::{Builtin, Builtins, Convention};
use crate::compile::CompileError;
use crate::context::{exit, offsets};
use crate::segments::{jump_landing, Segment, SegmentEnd};
use nestedvm_interp::opcode;
use nestedvm_interp::spec::OpKind;
use nestedvm_interp::{Bytecode, Spec, STACK_LIMIT, U256};
use std::collections::BTreeMap;

const CTX: Reg = R15;
const BASE: Reg = Rbx;
const LEN: Reg = R12;
const GAS: Reg = R13;
const TOP: Reg = R14;

/// The system convention's argument registers, in order.
const ARG_REGS: [Reg; 6] = [Rdi, Rsi, Rdx, Rcx, R8, R9];

/// A builtin's argument as the call sequence puts it in its register.
#[derive(Clone, Copy)]
enum Arg {
    /// A register's value.
    Reg(Reg),
    /// A constant.
    Imm(u64),
    /// The address of an operand.
    Addr(Mem),
}

/// Code run out of the way of the hot path, emitted after every segment.
enum Cold {
    /// Yields to the runner at segment start `pc`, the height in `LEN` and the gas in `GAS`
    /// (the segment's entry checks not done).
    Yield { at: Label, pc: usize },
    /// Hands over to the interpreter at `pc` with the height `LEN + delta` and the gas
    /// `GAS + give_back`, writing `word` at `[TOP + disp]` first (a jump target that was
    /// never stored).
    Interpret {
        at: Label,
        pc: usize,
        delta: i32,
        give_back: u64,
        word: Option<(i32, U256)>,
    },
    /// A memory access ending at host offset `rdx` past memory's length, its guest offset in
    /// `rcx`: memory grows in place through the preserving builtin (paid out of `GAS`), then
    /// the access runs at `access`; when it cannot (past the buffer's room, too little gas),
    /// `slow` takes over.
    Grow {
        at: Label,
        access: Label,
        slow: Label,
    },
    /// A memory instruction the fast path cannot take: the interpreter's instruction runs
    /// through `exec`, the height unchanged in registers (the instruction keeps to its stack
    /// effect), then back to `resume`.
    MemorySlow {
        at: Label,
        pc: usize,
        /// The height before the instruction, relative to `LEN`.
        depth: i32,
        rest_after: u64,
        last: bool,
        resume: Label,
    },
}

/// Translates the selected `segments` of `code`: the function, its tables after it.
pub(super) fn emit(
    spec: &'static Spec,
    code: &Bytecode,
    segments: &BTreeMap<usize, Segment>,
    builtins: Builtins,
    profiling: Option<Profiling>,
    deadline_checks: bool,
) -> Result<Vec<u8>, CompileError> {
    let bytes = code.padded();
    let mut a = Asm::with_capacity(64 * code.len() + 256);
    let start = a.label();
    a.bind(start);
    let entry_len = bytes.len() + 1;
    let mut entries: Vec<Option<Label>> = vec![None; entry_len];
    for &s in segments.keys() {
        if s < entry_len {
            entries[s] = Some(a.label());
        }
    }
    let epilogue = a.label();
    let interpret_synced = a.label();
    let entry_table = a.label();
    let jump_table = a.label();
    let mut e = Emitter {
        a,
        spec,
        code,
        bytes,
        builtins,
        entries,
        epilogue,
        interpret_synced,
        start,
        jump_table,
        cold: Vec::new(),
        depth: 0,
        profiling,
        deadline_checks,
    };
    e.prologue(entry_table, entry_len);
    let mut ordered = segments.values().peekable();
    while let Some(seg) = ordered.next() {
        let following = ordered.peek().map(|s| s.start);
        e.segment(seg, following);
    }
    e.cold_code();
    let Emitter { mut a, entries, .. } = e;
    // The tables: `u32` offsets of entry points from the function's start, 0 for none.
    while a.buf.len() % 4 != 0 {
        a.bytes(&[0xcc]);
    }
    let offset_of = |a: &Asm, l: Option<Label>| l.and_then(|l| a.offset(l)).unwrap_or(0);
    a.bind(entry_table);
    let table: Vec<u8> = entries
        .iter()
        .flat_map(|&l| offset_of(&a, l).to_le_bytes())
        .collect();
    a.bytes(&table);
    a.bind(jump_table);
    let table: Vec<u8> = (0..code.len())
        .flat_map(|d| {
            let l = jump_landing(spec, code, d).and_then(|to| entries.get(to).copied().flatten());
            offset_of(&a, l).to_le_bytes()
        })
        .collect();
    a.bytes(&table);
    a.finish()
        .ok_or_else(|| CompileError("baseline: a jump to an unbound label".to_string()))
}

struct Emitter<'a> {
    a: Asm,
    spec: &'static Spec,
    code: &'a Bytecode,
    bytes: &'a [u8],
    builtins: Builtins,
    /// Segment entries by offset: they expect the height in `LEN` and the gas in `GAS`.
    entries: Vec<Option<Label>>,
    /// Restores the caller's registers and returns `eax`.
    epilogue: Label,
    /// Returns `exit::INTERPRET` with the context already up to date.
    interpret_synced: Label,
    start: Label,
    jump_table: Label,
    cold: Vec<Cold>,
    /// The height now, relative to `LEN`.
    depth: i32,
    profiling: Option<Profiling>,
    /// Whether jumps back and computed jumps check the run's deadline.
    deadline_checks: bool,
}

impl Emitter<'_> {
    fn entry(&self, pc: usize) -> Option<Label> {
        self.entries.get(pc).copied().flatten()
    }

    /// Limb `limb` of stack item `n` (1 the top).
    fn item(&self, n: i32, limb: i32) -> Mem {
        Mem::Base(TOP, (self.depth - n) * 32 + 8 * limb)
    }

    /// The entry: `fn(ctx, resume_pc)`, saving the callee-saved registers it uses (five
    /// pushes keep the stack 16-byte aligned for calls), then a jump to `resume_pc`'s segment.
    fn prologue(&mut self, entry_table: Label, entry_len: usize) {
        let a = &mut self.a;
        for r in [Rbx, R12, R13, R14, R15] {
            a.push(r);
        }
        a.mov(CTX, Rdi);
        a.load(BASE, Mem::Base(CTX, offsets::STACK));
        a.load(LEN, Mem::Base(CTX, offsets::STACK_LEN));
        a.load(GAS, Mem::Base(CTX, offsets::GAS));
        let unknown = a.label();
        a.mov_imm(Rax, entry_len as u64);
        a.alu(Alu::Cmp, Rsi, Rax);
        a.jcc(Cond::Ae, unknown);
        a.lea_label(Rcx, entry_table);
        a.load32(Rax, Mem::Indexed(Rcx, Rsi, 2));
        a.test32(Rax, Rax);
        a.jcc(Cond::E, unknown);
        a.lea_label(Rcx, self.start);
        a.alu(Alu::Add, Rax, Rcx);
        a.jmp_reg(Rax);
        a.bind(unknown);
        a.store(Mem::Base(CTX, offsets::PC), Rsi);
        a.bind(self.interpret_synced);
        a.mov_imm(Rax, exit::INTERPRET as u64);
        a.bind(self.epilogue);
        for r in [R15, R14, R13, R12, Rbx] {
            a.pop(r);
        }
        a.ret();
    }

    /// Leaves for `late` (the interpreter, which halts the frame) once the run's deadline has
    /// passed, when compiled with deadline checks. Emitted before jumps back (to an entry at
    /// or before the jump) and computed jumps: fall-throughs only go forward, so every loop
    /// of native code passes one, and straight-line code pays nothing. Two loads and a
    /// compare; `rax`, `rcx` and `rdx` are free at a jump.
    fn deadline_check(&mut self, late: Label) {
        if !self.deadline_checks {
            return;
        }
        let epoch = &nestedvm_interp::deadline::EPOCH as *const _ as u64;
        self.a.mov_imm(Rcx, epoch);
        self.a.load(Rax, Mem::Base(Rcx, 0));
        self.a.load(Rdx, Mem::Base(CTX, offsets::DEADLINE));
        self.a.alu(Alu::Cmp, Rax, Rdx);
        self.a.jcc(Cond::Ae, late);
    }

    /// `TOP` from `LEN`, and the depth back to 0.
    fn sync_top(&mut self) {
        self.a.mov(TOP, LEN);
        self.a.shl_imm(TOP, 5);
        self.a.alu(Alu::Add, TOP, BASE);
        self.depth = 0;
    }

    /// `dst = src + imm`.
    fn add_imm(&mut self, dst: Reg, src: Reg, imm: i64) {
        match i32::try_from(imm) {
            Ok(0) if dst == src => {}
            Ok(imm) => self.a.lea(dst, Mem::Base(src, imm)),
            Err(_) => {
                self.a.mov_imm(Rax, imm as u64);
                self.a.mov(dst, src);
                self.a.alu(Alu::Add, dst, Rax);
            }
        }
    }

    /// `cmp r, imm` for an unsigned `imm`.
    fn cmp_imm(&mut self, r: Reg, imm: u64) {
        match i32::try_from(imm) {
            Ok(imm) => self.a.alu_imm(Alu::Cmp, r, imm),
            Err(_) => {
                self.a.mov_imm(Rax, imm);
                self.a.alu(Alu::Cmp, r, Rax);
            }
        }
    }

    /// `r -= imm` for an unsigned `imm`.
    fn sub_imm(&mut self, r: Reg, imm: u64) {
        match i32::try_from(imm) {
            Ok(0) => {}
            Ok(imm) => self.a.alu_imm(Alu::Sub, r, imm),
            Err(_) => {
                self.a.mov_imm(Rax, imm);
                self.a.alu(Alu::Sub, r, Rax);
            }
        }
    }

    /// A label for handing over to the interpreter at `pc` from here, the height `delta`
    /// from `LEN` and `give_back` gas added back to `GAS`.
    fn interpret_at(&mut self, pc: usize, delta: i32, give_back: u64) -> Label {
        self.interpret_storing(pc, delta, give_back, None)
    }

    /// [`Emitter::interpret_at`], writing `word` (displacement from `TOP`, value) first.
    fn interpret_storing(
        &mut self,
        pc: usize,
        delta: i32,
        give_back: u64,
        word: Option<(i32, U256)>,
    ) -> Label {
        let at = self.a.label();
        self.cold.push(Cold::Interpret {
            at,
            pc,
            delta,
            give_back,
            word,
        });
        at
    }

    fn segment(&mut self, seg: &Segment, following: Option<usize>) {
        let Some(entry) = self.entry(seg.start) else {
            return;
        };
        self.a.bind(entry);
        if let Some(p) = self.profiling.filter(|p| seg.start < p.len) {
            let at = self.a.label();
            self.cold.push(Cold::Yield { at, pc: seg.start });
            self.a.mov_imm(Rcx, (p.heat + 4 * seg.start) as u64);
            self.a.load32(Rax, Mem::Base(Rcx, 0));
            self.a.alu_imm(Alu::Add, Rax, 1);
            self.a.store32(Mem::Base(Rcx, 0), Rax);
            self.a.mov_imm(Rdx, u64::from(p.hot));
            self.a.alu(Alu::Cmp, Rax, Rdx);
            self.a.jcc(Cond::E, at);
            self.a.test_eax_imm(1023);
            self.a.jcc(Cond::E, at);
        }
        let bail = self.interpret_at(seg.start, 0, 0);
        if seg.min_entry > seg.max_entry {
            // Every height fails one of its instructions: the interpreter finds which.
            self.a.jmp(bail);
            return;
        }
        if seg.static_gas > 0 {
            self.cmp_imm(GAS, seg.static_gas);
            self.a.jcc(Cond::B, bail);
        }
        if seg.min_entry > 0 || (seg.max_entry as usize) < STACK_LIMIT {
            self.a.lea(Rax, Mem::Base(LEN, -i32::from(seg.min_entry)));
            self.a
                .alu_imm(Alu::Cmp, Rax, i32::from(seg.max_entry - seg.min_entry));
            self.a.jcc(Cond::A, bail);
        }
        self.sub_imm(GAS, seg.static_gas);
        self.sync_top();
        let mut rest_from = vec![0u64; seg.instrs.len() + 1];
        for (i, ins) in seg.instrs.iter().enumerate().rev() {
            rest_from[i] = rest_from[i + 1] + self.spec.static_gas[ins.op as usize];
        }
        // A PUSH whose value only the next instruction reads, as a jump target landing on an
        // entry or a constant operand: never stored (see `takes_constant`).
        let mut known: Option<U256> = None;
        let n = seg.instrs.len();
        for (i, ins) in seg.instrs.iter().enumerate() {
            let next = seg.instrs.get(i + 1).map(|n| n.op);
            let last = i + 1 == n;
            let (rest_from, rest_after) = (rest_from[i], rest_from[i + 1]);
            match self.instruction(
                ins.pc, ins.op, next, &mut known, rest_from, rest_after, last,
            ) {
                Flow::Next => {}
                Flow::Left => return,
            }
        }
        match seg.end {
            SegmentEnd::FallThrough(next) => self.goto(next, following),
            // Every terminal instruction leaves on its own (an instruction that went on all
            // the same leaves the context as the builtin left it).
            SegmentEnd::Terminal => self.a.jmp(self.interpret_synced),
        }
    }

    /// Goes on at segment `pc` with the height now.
    fn goto(&mut self, pc: usize, following: Option<usize>) {
        self.add_imm(LEN, LEN, self.depth as i64);
        self.depth = 0;
        match self.entry(pc) {
            // Laid out next: fall through.
            Some(_) if following == Some(pc) => {}
            Some(l) => self.a.jmp(l),
            None => {
                let at = self.interpret_at(pc, 0, 0);
                self.a.jmp(at);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn instruction(
        &mut self,
        pc: usize,
        op: u8,
        next: Option<u8>,
        known: &mut Option<U256>,
        rest_from: u64,
        rest_after: u64,
        last: bool,
    ) -> Flow {
        use opcode::*;
        if self.spec.kind[op as usize] != OpKind::Run {
            return self.exec(pc, rest_after, last);
        }
        // A PUSH deferred its value for this instruction (see `takes_constant`).
        let constant = known.take();
        if let Some(c) = constant.filter(|_| !matches!(op, JUMP | JUMPI)) {
            if self.with_constant(op, c) {
                return Flow::Next;
            }
            // No constant form (`takes_constant` defers for none such): stored after all.
            self.depth -= 1;
            self.push_word(c);
            self.depth += 1;
        }
        match op {
            PUSH0..=PUSH32 => self.push(pc, op, next, known),
            POP => self.depth -= 1,
            JUMPDEST => {}
            0x80..=0x9f => self.dup_or_swap(op),
            ADD | SUB | AND | OR | XOR | NOT | ISZERO | EQ | LT | GT | SLT | SGT => {
                self.inline_word(op)
            }
            MUL | DIV | SDIV | MOD | SMOD | ADDMOD | MULMOD | SIGNEXTEND | BYTE | SHL | SHR
            | SAR => self.word_builtin(op),
            MLOAD | MSTORE => self.memory(pc, op, rest_after, last),
            JUMP | JUMPI => {
                // Both ways out of a JUMPI are taken here (it ends its segment).
                self.jump(pc, op == JUMPI, constant, rest_from);
                return Flow::Left;
            }
            _ => return self.exec(pc, rest_after, last),
        }
        Flow::Next
    }

    /// PUSH: the value stored as the new top, or kept back as `known` for the next
    /// instruction to take as a constant (see [`Emitter::takes_constant`]).
    fn push(&mut self, pc: usize, op: u8, next: Option<u8>, known: &mut Option<U256>) {
        let n = (op - opcode::PUSH0) as usize;
        let v = U256::from_big_endian(&self.bytes[pc + 1..pc + 1 + n]);
        if next.is_some_and(|next| self.takes_constant(next, v)) {
            *known = Some(v);
        } else {
            self.push_word(v);
        }
        self.depth += 1;
    }

    /// DUP and SWAP: words copied limb by limb.
    fn dup_or_swap(&mut self, op: u8) {
        if op < opcode::SWAP1 {
            let n = i32::from(op - opcode::DUP1) + 1;
            for j in 0..4 {
                self.a.load(Rax, self.item(n, j));
                self.a.store(self.item(0, j), Rax);
            }
            self.depth += 1;
        } else {
            let n = i32::from(op - opcode::SWAP1) + 1;
            for j in 0..4 {
                self.a.load(Rax, self.item(1, j));
                self.a.load(Rcx, self.item(n + 1, j));
                self.a.store(self.item(1, j), Rcx);
                self.a.store(self.item(n + 1, j), Rax);
            }
        }
    }

    /// The word instructions written inline: ADD, SUB, AND, OR, XOR, NOT, ISZERO, EQ and the
    /// comparisons, on the stack in memory.
    fn inline_word(&mut self, op: u8) {
        use opcode::*;
        match op {
            ADD | SUB => {
                let (first, carry) = if op == ADD {
                    (Alu::Add, Alu::Adc)
                } else {
                    (Alu::Sub, Alu::Sbb)
                };
                for j in 0..4 {
                    self.a.load(Rax, self.item(1, j));
                    let alu = if j == 0 { first } else { carry };
                    self.a.alu_load(alu, Rax, self.item(2, j));
                    self.a.store(self.item(2, j), Rax);
                }
                self.depth -= 1;
            }
            AND | OR | XOR => {
                let alu = match op {
                    AND => Alu::And,
                    OR => Alu::Or,
                    _ => Alu::Xor,
                };
                for j in 0..4 {
                    self.a.load(Rax, self.item(1, j));
                    self.a.alu_store(alu, self.item(2, j), Rax);
                }
                self.depth -= 1;
            }
            NOT => {
                for j in 0..4 {
                    self.a.not_mem(self.item(1, j));
                }
            }
            ISZERO => {
                self.a.load(Rax, self.item(1, 0));
                for j in 1..4 {
                    self.a.alu_load(Alu::Or, Rax, self.item(1, j));
                }
                self.a.set_flag(Cond::E, Rcx);
                self.store_flag(1);
            }
            EQ => {
                self.a.load(Rax, self.item(1, 0));
                self.a.alu_load(Alu::Xor, Rax, self.item(2, 0));
                for j in 1..4 {
                    self.a.load(Rcx, self.item(1, j));
                    self.a.alu_load(Alu::Xor, Rcx, self.item(2, j));
                    self.a.alu(Alu::Or, Rax, Rcx);
                }
                self.a.set_flag(Cond::E, Rcx);
                self.store_flag(2);
                self.depth -= 1;
            }
            LT | GT | SLT | SGT => {
                // x < y over the four limbs by a subtraction's borrow (unsigned) or its sign
                // and overflow (signed); GT and SGT swap the operands.
                let (x, y) = if matches!(op, LT | SLT) {
                    (1, 2)
                } else {
                    (2, 1)
                };
                self.a.load(Rax, self.item(x, 0));
                self.a.alu_load(Alu::Cmp, Rax, self.item(y, 0));
                for j in 1..4 {
                    self.a.load(Rax, self.item(x, j));
                    self.a.alu_load(Alu::Sbb, Rax, self.item(y, j));
                }
                let cc = if matches!(op, LT | GT) {
                    Cond::B
                } else {
                    Cond::L
                };
                self.a.set_flag(cc, Rcx);
                self.store_flag(2);
                self.depth -= 1;
            }
            _ => unreachable!("not an inline word instruction: {op:#x}"),
        }
    }

    /// A longer word instruction through its builtin, on the stack in place.
    fn word_builtin(&mut self, op: u8) {
        let inputs = opcode::OPCODES[op as usize].map_or(0, |i| i32::from(i.inputs));
        let top = Arg::Addr(self.item(1, 0));
        self.call_builtin(Builtin::WordOnStack(op), &[Arg::Reg(CTX), top]);
        self.depth -= inputs - 1;
    }

    /// Whether `op`, right after a PUSH of `v`, takes `v` as a constant rather than from the
    /// stack: jumps to a landing with an entry; ADD of a small constant (immediates);
    /// AND, OR, XOR (limb by limb, all-zero and all-one limbs costing nothing); SHL, SHR and
    /// MUL by a power of two (limb moves instead of a builtin call); EQ with a 64-bit value.
    fn takes_constant(&self, op: u8, v: U256) -> bool {
        use opcode::*;
        if self.spec.kind[op as usize] != OpKind::Run {
            return false;
        }
        match op {
            JUMP | JUMPI => self.known_entry(v).is_some(),
            ADD => v < U256::from(i32::MAX as u64),
            MUL => !v.is_zero() && (v & (v - U256::one())).is_zero(),
            EQ => v.bits() <= 64,
            AND | OR | XOR | SHL | SHR => true,
            _ => false,
        }
    }

    /// The entry a jump to the constant `v` lands on, if it lands on one.
    fn known_entry(&self, v: U256) -> Option<Label> {
        (v.bits() <= 32)
            .then(|| jump_landing(self.spec, self.code, v.low_u64() as usize))
            .flatten()
            .and_then(|to| self.entry(to))
    }

    /// `op` with its top input the constant `c` (not on the stack, its slot counted), the
    /// other input item 2, for the instructions [`Emitter::takes_constant`] accepts; false
    /// (nothing emitted) for any other.
    fn with_constant(&mut self, op: u8, c: U256) -> bool {
        use opcode::*;
        match op {
            ADD => {
                self.a
                    .alu_mem_imm(Alu::Add, self.item(2, 0), c.low_u64() as i32);
                for j in 1..4 {
                    self.a.alu_mem_imm(Alu::Adc, self.item(2, j), 0);
                }
            }
            AND | OR | XOR => {
                for j in 0..4 {
                    let limb = c.0[j as usize];
                    let at = self.item(2, j);
                    match (op, limb) {
                        (AND, u64::MAX) | (OR | XOR, 0) => {}
                        (AND, 0) => self.a.store_imm(at, 0),
                        (OR, u64::MAX) => self.a.store_imm(at, -1),
                        _ => {
                            let alu = match op {
                                AND => Alu::And,
                                OR => Alu::Or,
                                _ => Alu::Xor,
                            };
                            self.a.mov_imm(Rax, limb);
                            self.a.alu_store(alu, at, Rax);
                        }
                    }
                }
            }
            SHL | MUL => {
                let shift = if op == MUL {
                    c.trailing_zeros()
                } else {
                    c.min(U256::from(256)).low_u64() as u32
                };
                self.shift_constant(shift, true);
            }
            SHR => self.shift_constant(c.min(U256::from(256)).low_u64() as u32, false),
            EQ => {
                self.a.mov_imm(Rax, c.low_u64());
                self.a.alu_load(Alu::Xor, Rax, self.item(2, 0));
                for j in 1..4 {
                    self.a.alu_load(Alu::Or, Rax, self.item(2, j));
                }
                self.a.set_flag(Cond::E, Rcx);
                self.store_flag(2);
            }
            _ => return false,
        }
        self.depth -= 1;
        true
    }

    /// Item 2 shifted left (or right) by `shift` bits (256 or more: zero), in place: limbs
    /// written in the order that reads each source limb before it is overwritten.
    fn shift_constant(&mut self, shift: u32, left: bool) {
        let (q, r) = ((shift / 64) as i32, (shift % 64) as u8);
        let order: [i32; 4] = if left { [3, 2, 1, 0] } else { [0, 1, 2, 3] };
        for j in order {
            let (src, spill) = if left {
                (j - q, j - q - 1)
            } else {
                (j + q, j + q + 1)
            };
            let at = self.item(2, j);
            if shift >= 256 || !(0..4).contains(&src) {
                self.a.store_imm(at, 0);
                continue;
            }
            self.a.load(Rax, self.item(2, src));
            if r > 0 {
                if left {
                    self.a.shl_imm(Rax, r);
                } else {
                    self.a.shr_imm(Rax, r);
                }
                if (0..4).contains(&spill) {
                    self.a.load(Rcx, self.item(2, spill));
                    if left {
                        self.a.shr_imm(Rcx, 64 - r);
                    } else {
                        self.a.shl_imm(Rcx, 64 - r);
                    }
                    self.a.alu(Alu::Or, Rax, Rcx);
                }
            }
            self.a.store(at, Rax);
        }
    }

    /// Writes `v` as the new top item (at the current depth; the caller counts it).
    fn push_word(&mut self, v: U256) {
        self.store_word(self.depth * 32, v);
    }

    /// Writes `v` as the word at `[TOP + disp]`.
    fn store_word(&mut self, disp: i32, v: U256) {
        for j in 0..4 {
            let limb = v.0[j as usize];
            let at = Mem::Base(TOP, disp + 8 * j);
            match i32::try_from(limb as i64) {
                Ok(imm) => self.a.store_imm(at, imm),
                Err(_) => {
                    self.a.mov_imm(Rax, limb);
                    self.a.store(at, Rax);
                }
            }
        }
    }

    /// Writes the flag in `rcx` as item `n`'s word.
    fn store_flag(&mut self, n: i32) {
        self.a.store(self.item(n, 0), Rcx);
        for j in 1..4 {
            self.a.store_imm(self.item(n, j), 0);
        }
    }

    /// Runs the instruction at `pc` through the interpreter's code (`exec`), with the height
    /// and the gas as the interpreter counts them there, then reloads both.
    fn exec(&mut self, pc: usize, rest_after: u64, last: bool) -> Flow {
        self.call_exec(pc, self.depth, rest_after);
        self.a.load(LEN, Mem::Base(CTX, offsets::STACK_LEN));
        self.sync_top();
        self.after_exec(rest_after, last);
        Flow::Next
    }

    /// Stores the height (`LEN + depth`) and the gas, and calls `exec` on `pc`; leaves when
    /// the frame stopped.
    fn call_exec(&mut self, pc: usize, depth: i32, rest_after: u64) {
        if depth == 0 {
            self.a.store(Mem::Base(CTX, offsets::STACK_LEN), LEN);
        } else {
            self.a.lea(Rax, Mem::Base(LEN, depth));
            self.a.store(Mem::Base(CTX, offsets::STACK_LEN), Rax);
        }
        self.add_imm(Rax, GAS, rest_after as i64);
        self.a.store(Mem::Base(CTX, offsets::GAS), Rax);
        self.call_builtin(Builtin::Exec, &[Arg::Reg(CTX), Arg::Imm(pc as u64)]);
    }

    /// Calls `builtin` with `args` in the system convention's registers, filled in order (so
    /// no argument may read a register an earlier one filled), and leaves when its exit code
    /// (if it returns one) is not [`exit::CONTINUE`]. Everything the code keeps across the
    /// call is in callee-saved registers.
    fn call_builtin(&mut self, builtin: Builtin, args: &[Arg]) {
        debug_assert_eq!(args.len(), builtin.params().len(), "{builtin:?}");
        for (i, (&arg, to)) in args.iter().zip(ARG_REGS).enumerate() {
            match arg {
                Arg::Reg(from) => {
                    debug_assert!(!ARG_REGS[..i].contains(&from), "{builtin:?} reads {from:?}");
                    if from != to {
                        self.a.mov(to, from);
                    }
                }
                Arg::Imm(v) => self.a.mov_imm(to, v),
                Arg::Addr(m) => self.a.lea(to, m),
            }
        }
        self.a.mov_imm(Rax, self.builtins.address(builtin) as u64);
        self.a.call(Rax);
        if builtin.returns_exit() {
            self.a.test32(Rax, Rax);
            self.a.jcc(Cond::Ne, self.epilogue);
        }
    }

    /// The gas after a builtin: reloaded, and when the rest of the segment needs more than
    /// is left, the interpreter goes on (it runs out of gas at the right instruction).
    fn after_exec(&mut self, rest_after: u64, last: bool) {
        self.a.load(GAS, Mem::Base(CTX, offsets::GAS));
        if rest_after > 0 && !last {
            self.cmp_imm(GAS, rest_after);
            self.a.jcc(Cond::B, self.interpret_synced);
        }
        self.sub_imm(GAS, rest_after);
    }

    /// MLOAD and MSTORE of a word inside memory, in place (big-endian in memory, limbs on
    /// the stack); anything else (growth, huge offsets) through the interpreter's code.
    fn memory(&mut self, pc: usize, op: u8, rest_after: u64, last: bool) {
        let reserved = self.spec.reserved as i32;
        let slow = self.a.label();
        let resume = self.a.label();
        // Addressable in place only below 2^32 (after the 160-bit mask in `hyvm`).
        self.a.load(Rax, self.item(1, 1));
        if self.spec.mask_offsets {
            self.a.load(Rcx, self.item(1, 2));
            self.a.mov32(Rcx, Rcx);
            self.a.alu(Alu::Or, Rax, Rcx);
        } else {
            self.a.alu_load(Alu::Or, Rax, self.item(1, 2));
            self.a.alu_load(Alu::Or, Rax, self.item(1, 3));
        }
        self.a.load(Rcx, self.item(1, 0));
        self.a.mov(Rdx, Rcx);
        self.a.shr_imm(Rdx, 32);
        self.a.alu(Alu::Or, Rax, Rdx);
        self.a.jcc(Cond::Ne, slow);
        self.a.lea(Rdx, Mem::Base(Rcx, reserved + 32));
        self.a
            .alu_load(Alu::Cmp, Rdx, Mem::Base(CTX, offsets::MEMORY_LEN));
        let grow = self.a.label();
        self.a.jcc(Cond::A, grow);
        let access = self.a.label();
        self.a.bind(access);
        self.a
            .alu_load(Alu::Add, Rcx, Mem::Base(CTX, offsets::MEMORY));
        if op == opcode::MLOAD {
            for j in 0..4 {
                self.a.load(Rax, Mem::Base(Rcx, reserved + 24 - 8 * j));
                self.a.bswap(Rax);
                self.a.store(self.item(1, j), Rax);
            }
        } else {
            for j in 0..4 {
                self.a.load(Rax, self.item(2, j));
                self.a.bswap(Rax);
                self.a.store(Mem::Base(Rcx, reserved + 24 - 8 * j), Rax);
            }
        }
        self.a.bind(resume);
        self.cold.push(Cold::Grow {
            at: grow,
            access,
            slow,
        });
        self.cold.push(Cold::MemorySlow {
            at: slow,
            pc,
            depth: self.depth,
            rest_after,
            last,
            resume,
        });
        if op == opcode::MSTORE {
            self.depth -= 2;
        }
    }

    /// JUMP or JUMPI, the target `known` when a PUSH just before gave it (and it lands on an
    /// entry), else read from the stack and looked up in the jump table.
    fn jump(&mut self, pc: usize, conditional: bool, known: Option<U256>, rest_from: u64) {
        let before = self.depth;
        // Handing over with the jump not done: the interpreter runs it again, its static gas
        // (and a taken JUMPI's extra) given back; a known target is stored for it first.
        let target = known.map(|v| ((before - 1) * 32, v));
        let give_up =
            |e: &mut Self, give_back: u64| e.interpret_storing(pc, before, give_back, target);
        self.depth -= 1;
        if conditional {
            self.a.load(Rax, self.item(1, 0));
            for j in 1..4 {
                self.a.alu_load(Alu::Or, Rax, self.item(1, j));
            }
            self.depth -= 1;
            let taken = self.a.label();
            self.a.jcc(Cond::Ne, taken);
            let depth = self.depth;
            self.goto(pc + 1, None);
            self.depth = depth;
            self.a.bind(taken);
            let extra = self.spec.jumpi_taken_gas;
            if extra > 0 {
                let short = give_up(self, rest_from);
                self.cmp_imm(GAS, extra);
                self.a.jcc(Cond::B, short);
                self.sub_imm(GAS, extra);
            }
        }
        let give_back = rest_from
            + if conditional {
                self.spec.jumpi_taken_gas
            } else {
                0
            };
        // `known` is only set for targets landing on an entry (`takes_constant`).
        if let Some(l) = known.and_then(|v| self.known_entry(v)) {
            if self.deadline_checks && self.jumps_back(pc, known) {
                let late = give_up(self, give_back);
                self.deadline_check(late);
            }
            self.add_imm(LEN, LEN, self.depth as i64);
            self.a.jmp(l);
        } else {
            // A deferred target without an entry (never deferred so) is looked up like any.
            if let Some((disp, v)) = target {
                self.store_word(disp, v);
            }
            let at = give_up(self, give_back);
            self.deadline_check(at);
            let t = before;
            let limb = |j: i32| Mem::Base(TOP, (t - 1) * 32 + 8 * j);
            self.a.load(Rax, limb(1));
            self.a.alu_load(Alu::Or, Rax, limb(2));
            self.a.alu_load(Alu::Or, Rax, limb(3));
            self.a.jcc(Cond::Ne, at);
            self.a.load(Rax, limb(0));
            self.cmp_imm(Rax, self.code.len() as u64);
            self.a.jcc(Cond::Ae, at);
            self.a.lea_label(Rcx, self.jump_table);
            self.a.load32(Rax, Mem::Indexed(Rcx, Rax, 2));
            self.a.test32(Rax, Rax);
            self.a.jcc(Cond::E, at);
            self.a.lea_label(Rcx, self.start);
            self.a.alu(Alu::Add, Rax, Rcx);
            self.add_imm(LEN, LEN, self.depth as i64);
            self.a.jmp_reg(Rax);
        }
        self.depth = 0;
    }

    /// Whether a jump at `pc` to the constant `target` lands at or before it.
    fn jumps_back(&self, pc: usize, target: Option<U256>) -> bool {
        target
            .filter(|t| t.bits() <= 32)
            .and_then(|t| jump_landing(self.spec, self.code, t.low_u64() as usize))
            .is_some_and(|landing| landing <= pc)
    }

    /// Stores where execution stands for the runner: `pc`, the height `LEN + delta` and the
    /// gas `GAS + give_back`.
    fn store_state(&mut self, pc: usize, delta: i32, give_back: u64) {
        self.add_imm(Rax, GAS, give_back as i64);
        self.a.store(Mem::Base(CTX, offsets::GAS), Rax);
        self.add_imm(Rax, LEN, delta as i64);
        self.a.store(Mem::Base(CTX, offsets::STACK_LEN), Rax);
        self.a.mov_imm(Rax, pc as u64);
        self.a.store(Mem::Base(CTX, offsets::PC), Rax);
    }

    fn cold_code(&mut self) {
        for cold in std::mem::take(&mut self.cold) {
            match cold {
                Cold::Interpret {
                    at,
                    pc,
                    delta,
                    give_back,
                    word,
                } => {
                    self.a.bind(at);
                    if let Some((disp, v)) = word {
                        self.store_word(disp, v);
                    }
                    self.store_state(pc, delta, give_back);
                    self.a.jmp(self.interpret_synced);
                }
                Cold::Yield { at, pc } => {
                    self.a.bind(at);
                    self.store_state(pc, 0, 0);
                    self.a.mov_imm(Rax, u64::from(exit::YIELD));
                    self.a.jmp(self.epilogue);
                }
                Cold::Grow { at, access, slow } => {
                    // The builtin keeps every register (see
                    // `builtins::grow_memory_preserving`), so `rcx` still holds the offset.
                    debug_assert_eq!(Builtin::GrowMemory.convention(), Convention::PreserveAll);
                    self.a.bind(at);
                    let args = [Arg::Reg(CTX), Arg::Reg(Rdx), Arg::Reg(GAS)];
                    self.call_builtin(Builtin::GrowMemory, &args);
                    self.a.load(Rax, Mem::Base(CTX, offsets::GROWN));
                    self.a.alu_imm(Alu::Cmp, Rax, -1);
                    self.a.jcc(Cond::E, slow);
                    self.a.mov(GAS, Rax);
                    self.a.jmp(access);
                }
                Cold::MemorySlow {
                    at,
                    pc,
                    depth,
                    rest_after,
                    last,
                    resume,
                } => {
                    self.a.bind(at);
                    self.call_exec(pc, depth, rest_after);
                    self.after_exec(rest_after, last);
                    self.a.jmp(resume);
                }
            }
        }
    }
}

/// Whether a segment's code goes on after an instruction.
enum Flow {
    Next,
    /// The instruction left the segment (a jump).
    Left,
}
