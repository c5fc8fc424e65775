//! The instruction loop: static gas and stack bounds checked once per block (the block table,
//! [`crate::blocks`]) or, where a block's check fails, once per instruction; then the
//! instructions run, the common ones inline (`step_in_block` says which), the rest through the
//! instruction table.

use crate::analysis::Bytecode;
use crate::blocks::Blocks;
use crate::frame::{Frame, FrameAction, HaltReason};
use crate::host::Host;
use crate::instructions::control::landing;
use crate::instructions::memory::{load_word, store_word, word_in_memory};
use crate::instructions::stack::immediate;
use crate::instructions::{word_result, InstructionTable, Step};
use crate::opcode::*;
use crate::stack::limbwise;
use crate::{word, U256};

/// Runs `frame` until it finishes or needs the driver (a call or a create). Resume a
/// suspended frame with [`Frame::resume_call`] / [`Frame::resume_create`] and call this again.
pub fn run_frame<H: Host>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
) -> FrameAction {
    if let Some(action) = frame.action.take() {
        // Resumed into an ending (the verifier refused a call).
        return action;
    }
    run_blocks(frame, host, table, &mut NoProbe);
    end_of_run(frame)
}

/// Watches the block runner at block boundaries, where the frame's state is exact: the
/// JIT's runner uses it to hand over to native code and to find hot code.
pub trait Probe {
    /// Called at each block boundary after the first, `pc` the next instruction; true stops
    /// the run there with the frame brought up to date.
    fn at_boundary(&mut self, pc: usize) -> bool;
}

/// The probe of the plain interpreter: never stops (and compiles to nothing).
pub struct NoProbe;

impl Probe for NoProbe {
    #[inline(always)]
    fn at_boundary(&mut self, _pc: usize) -> bool {
        false
    }
}

/// Runs `frame` like [`run_frame`]'s loop, asking `probe` at every block boundary after the
/// first (so at least one instruction runs) whether to stop there. True when the frame
/// stopped (its action is set; finish with [`end_of_run`]), false when the probe stopped it.
pub fn run_probed<H: Host, P: Probe>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    probe: &mut P,
) -> bool {
    run_blocks(frame, host, table, probe)
}

/// Runs instructions until the frame stops, a block at a time wherever a block's entry check
/// passes (`Blocks`), one checked instruction at a time elsewhere ([`step_checked`]). Inside a
/// block the stack's length and `pc` live in registers ([`Regs`]) and [`step_in_block`] runs
/// each instruction. One loop for the whole run, so what the compiler hoists out of it is paid
/// once. True when the frame stopped, false when the probe stopped it.
fn run_blocks<H: Host, P: Probe>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    probe: &mut P,
) -> bool {
    let code = frame.code.clone();
    let blocks = code.blocks(frame.spec);
    let run = Run {
        code: &code,
        bytes: code.padded(),
        hyvm: frame.spec.is_hyvm(),
        taken_gas: frame.spec.jumpi_taken_gas,
    };
    let deadline = host.deadline();
    let mut r = Regs::new(frame);
    let mut first = true;
    loop {
        if r.left == 0 {
            // Every loop passes a block boundary, and a block runs in bounded time: checking
            // here bounds the run by the deadline, and the first boundary is checked too, so
            // native code leaving at a segment past the deadline halts here.
            if deadline.passed() {
                r.store(frame);
                frame.halt(HaltReason::Timeout);
                return true;
            }
            if !first && probe.at_boundary(r.pc) {
                r.store(frame);
                return false;
            }
            first = false;
            // A block boundary: enter the block starting here if its check passes, else run
            // one instruction with its own checks.
            if !r.enter_block(&blocks, frame) {
                r.store(frame);
                if step_checked(frame, host, table, run.bytes) {
                    return true;
                }
                r.load(frame);
                continue;
            }
        }
        if step_in_block(&mut r, &run, frame, host, table) == Step::Exit {
            return true;
        }
    }
}

/// What the block runner reads of the code, fixed for the run and read once before its loop.
struct Run<'a> {
    code: &'a Bytecode,
    /// The code and its padding: `pc` never passes it (PUSH immediates end inside it and every
    /// byte there is STOP).
    bytes: &'a [u8],
    /// `hyvm` jumps land after the JUMPDEST; a taken JUMPI pays `taken_gas` more.
    hyvm: bool,
    taken_gas: u64,
}

/// The block runner's registers: the stack's base and length and `pc`, kept out of the frame
/// while a block runs (everything that touches them is inlined into the loop, so they stay in
/// machine registers), and where the run stands in its block. The frame is brought up to date
/// ([`Regs::store`]) before anything else reads it and read back ([`Regs::load`]) after.
///
/// SAFETY (every stack access through these): the block's entry check put the stack's height
/// within the bounds its analysis computed from every instruction's stack needs and room
/// (`Blocks::analyse`), and only the block's last instruction may change the height other than
/// as the opcode table says; so each read is of an item below `len`, each write is below the
/// stack's fixed capacity of 1024, and `len` never leaves [0, 1024].
struct Regs {
    base: *mut U256,
    len: usize,
    pc: usize,
    /// Instructions left in the current block, 0 at a block boundary.
    left: u32,
    /// Whether the block about to be entered starts at the JUMPDEST an inline jump landed on
    /// (in `evm`: `hyvm` jumps land after it).
    landed_on_jumpdest: bool,
}

impl Regs {
    #[inline(always)]
    fn new(frame: &mut Frame) -> Regs {
        let (base, len) = frame.stack.raw_parts();
        Regs {
            base,
            len,
            pc: frame.pc,
            left: 0,
            landed_on_jumpdest: false,
        }
    }

    /// Brings the frame up to date.
    #[inline(always)]
    fn store(&self, frame: &mut Frame) {
        // SAFETY: as on `Regs`; the items below `len` are initialised.
        unsafe { frame.stack.set_len(self.len) };
        frame.pc = self.pc;
    }

    /// Takes up what an instruction run on the frame left (the stack's buffer never moves).
    #[inline(always)]
    fn load(&mut self, frame: &Frame) {
        self.pc = frame.pc;
        self.len = frame.stack.len();
    }

    /// At a block boundary: enters the block starting at `pc`, paying its gas, when its entry
    /// check passes; false when it does not or no block starts there.
    #[inline(always)]
    fn enter_block(&mut self, blocks: &Blocks, frame: &mut Frame) -> bool {
        let landed_on_jumpdest = std::mem::take(&mut self.landed_on_jumpdest);
        let len = self.len;
        let Some(b) = blocks.at(self.pc).filter(|b| {
            frame.gas.remaining >= b.gas() && len >= b.min_height() && len <= b.max_height()
        }) else {
            return false;
        };
        frame.gas.remaining -= b.gas();
        self.left = b.count();
        // The JUMPDEST an inline jump landed on does nothing but cost gas, paid with the
        // block's: step over it. When it is the whole block, the next offset starts a block
        // (nothing else ends one after a JUMPDEST), so the run meets the same boundaries.
        // Decided by the jump alone: made to wait on the block's load, which misses the cache
        // in code that jumps all over, the next dispatch would wait too.
        if landed_on_jumpdest {
            self.pc += 1;
            self.left -= 1;
        }
        true
    }

    /// The `n`th item from the top (1 = top).
    #[inline(always)]
    fn read(&self, n: usize) -> U256 {
        // SAFETY: as on `Regs`.
        limbwise(unsafe { &*self.base.add(self.len - n) })
    }

    /// Overwrites the `n`th item from the top (1 = top).
    #[inline(always)]
    fn write(&mut self, n: usize, v: U256) {
        // SAFETY: as on `Regs`.
        unsafe { self.base.add(self.len - n).write(v) }
    }

    #[inline(always)]
    fn push(&mut self, v: U256) {
        // SAFETY: as on `Regs`.
        unsafe { self.base.add(self.len).write(v) };
        self.len += 1;
    }

    /// A word instruction of one input, in place.
    #[inline(always)]
    fn unary<const OP: u8>(&mut self) {
        let a = self.read(1);
        self.write(1, word_result(OP, &a, &U256::zero(), &U256::zero()));
    }

    /// A short word instruction of two inputs, inline.
    #[inline(always)]
    fn binary<const OP: u8>(&mut self) {
        let (a, b) = (self.read(1), self.read(2));
        self.len -= 1;
        self.write(1, word_result(OP, &a, &b, &U256::zero()));
    }

    /// A longer word instruction of two inputs, out of line, so the loop's own values stay in
    /// registers.
    #[inline(always)]
    fn out_of_line<const OP: u8>(&mut self) {
        // SAFETY: as on `Regs`.
        unsafe {
            binary_at(self.base.add(self.len - 1), |a, b| {
                word_result(OP, &a, &b, &U256::zero())
            })
        };
        self.len -= 1;
    }

    /// A word instruction of three inputs, out of line.
    #[inline(always)]
    fn ternary<const OP: u8>(&mut self) {
        // SAFETY: as on `Regs`.
        unsafe {
            ternary_at(self.base.add(self.len - 1), |a, b, n| {
                word_result(OP, a, b, n)
            })
        };
        self.len -= 2;
    }

    /// Goes on at `to`, where a jump landed.
    #[inline(always)]
    fn land(&mut self, to: usize, hyvm: bool) {
        self.pc = to;
        self.landed_on_jumpdest = !hyvm;
    }

    /// Runs `op`'s instruction from the table, with the frame brought up to date first.
    #[inline(always)]
    fn through_table<H: Host>(
        &mut self,
        op: u8,
        frame: &mut Frame,
        host: &mut H,
        table: &InstructionTable<H>,
    ) -> Step {
        self.store(frame);
        let step = (table.table[op as usize])(frame, host);
        if step == Step::Continue {
            self.load(frame);
        }
        step
    }
}

/// Runs the next instruction of the block being run.
///
/// The word instructions compute through [`word_op`](crate::instructions::word_op), as the
/// table's functions do: their semantics are written once. What is written again here, for
/// speed (no call, the stack in registers), is the plumbing of the fast copies of
/// - PUSH0-PUSH32, DUP, SWAP and POP: `instructions::stack` (PUSH through the same
///   `immediate`; a PUSH2 followed by JUMP also jumps, see [`push2`]);
/// - MLOAD and MSTORE of a word already inside memory: `instructions::memory::{mload,
///   mstore}`, through the same `word_in_memory`, `load_word` and `store_word`;
/// - JUMP and JUMPI to a valid destination with the gas to take it (and a JUMPI not taken):
///   `instructions::control::{jump, jumpi}`, through the same `landing`.
///
/// Whatever they cannot decide exactly (memory growth, a bad destination, too little gas) goes
/// to the table's function. The test `block_runs_match_checked_steps` pins them to the table's
/// functions, and the differential campaigns to revm and the deployed hypervisor.
#[inline(always)]
fn step_in_block<H: Host>(
    r: &mut Regs,
    run: &Run,
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
) -> Step {
    r.left -= 1;
    let op = run.bytes[r.pc];
    r.pc += 1;
    match op {
        PUSH0 => r.push(U256::zero()),
        PUSH1..=PUSH32 => push(r, run, op),
        0x80..=0x8f => r.push(r.read((op - DUP1 + 1) as usize)),
        0x90..=0x9f => {
            let n = (op - SWAP1 + 1) as usize;
            let (top, other) = (r.read(1), r.read(n + 1));
            r.write(1, other);
            r.write(n + 1, top);
        }
        POP => r.len -= 1,
        ADD => r.binary::<ADD>(),
        SUB => r.binary::<SUB>(),
        MUL => r.binary::<MUL>(),
        LT => r.binary::<LT>(),
        GT => r.binary::<GT>(),
        EQ => r.binary::<EQ>(),
        AND => r.binary::<AND>(),
        OR => r.binary::<OR>(),
        XOR => r.binary::<XOR>(),
        DIV => r.out_of_line::<DIV>(),
        MOD => r.out_of_line::<MOD>(),
        SDIV => r.out_of_line::<SDIV>(),
        SMOD => r.out_of_line::<SMOD>(),
        SIGNEXTEND => r.out_of_line::<SIGNEXTEND>(),
        SLT => r.out_of_line::<SLT>(),
        SGT => r.out_of_line::<SGT>(),
        BYTE => r.out_of_line::<BYTE>(),
        SHL => r.out_of_line::<SHL>(),
        SHR => r.out_of_line::<SHR>(),
        SAR => r.out_of_line::<SAR>(),
        ADDMOD => r.ternary::<ADDMOD>(),
        MULMOD => r.ternary::<MULMOD>(),
        ISZERO => r.unary::<ISZERO>(),
        NOT => r.unary::<NOT>(),
        JUMPDEST => {}
        MLOAD => match word_in_memory(frame, &r.read(1)) {
            Some(off) => r.write(1, load_word(frame, off)),
            None => return r.through_table(op, frame, host, table),
        },
        MSTORE => match word_in_memory(frame, &r.read(1)) {
            Some(off) => {
                store_word(frame, off, &r.read(2));
                r.len -= 2;
            }
            None => return r.through_table(op, frame, host, table),
        },
        JUMP => match landing(run.code, run.hyvm, &r.read(1)) {
            Some(to) => {
                r.len -= 1;
                r.land(to, run.hyvm);
            }
            None => return r.through_table(op, frame, host, table),
        },
        JUMPI if word::is_zero(&r.read(2)) => r.len -= 2,
        JUMPI => match landing(run.code, run.hyvm, &r.read(1)) {
            Some(to) if frame.gas.remaining >= run.taken_gas => {
                frame.gas.remaining -= run.taken_gas;
                r.len -= 2;
                r.land(to, run.hyvm);
            }
            _ => return r.through_table(op, frame, host, table),
        },
        _ => return r.through_table(op, frame, host, table),
    }
    Step::Continue
}

/// PUSH1-PUSH32: one arm per size, so each immediate is read with loads of its own size.
#[inline(always)]
fn push(r: &mut Regs, run: &Run, op: u8) {
    macro_rules! sized {
        ($count:expr, [$($n:literal)*]) => {
            match $count {
                $($n => {
                    r.push(immediate::<$n>(run.bytes, r.pc));
                    r.pc += $n;
                })*
                _ => {}
            }
        };
    }
    match op - PUSH1 + 1 {
        2 => push2(r, run),
        n => {
            sized!(n, [1 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32])
        }
    }
}

/// PUSH2, and the JUMP after it in the same block (both paid for, their stack needs checked),
/// as compilers write a jump to a known destination: the JUMP runs here, its destination never
/// on the stack: one dispatch instead of two, and no store and reload of the destination. A
/// destination the inline jump would not take is pushed, and the JUMP runs as usual.
#[inline(always)]
fn push2(r: &mut Regs, run: &Run) {
    let word = immediate::<2>(run.bytes, r.pc);
    r.pc += 2;
    if r.left != 0 && run.bytes[r.pc] == JUMP {
        if let Some(to) = landing(run.code, run.hyvm, &word) {
            // The JUMP was the block's last instruction.
            r.left = 0;
            r.land(to, run.hyvm);
            return;
        }
    }
    r.push(word);
}

/// `top[-1] = f(top[0], top[-1])`, out of the block runner's loop.
///
/// # Safety
/// `top` and the item below it are initialised stack items.
#[inline(never)]
unsafe fn binary_at(top: *mut U256, f: impl Fn(U256, U256) -> U256) {
    // SAFETY: the caller guarantees both items.
    unsafe {
        let a = limbwise(&*top);
        let b = limbwise(&*top.sub(1));
        top.sub(1).write(limbwise(&f(a, b)));
    }
}

/// `top[-2] = f(top[0], top[-1], top[-2])`, out of the block runner's loop.
///
/// # Safety
/// `top` and the two items below it are initialised stack items.
#[inline(never)]
unsafe fn ternary_at(top: *mut U256, f: fn(&U256, &U256, &U256) -> U256) {
    // SAFETY: the caller guarantees the three items.
    unsafe {
        let a = limbwise(&*top);
        let b = limbwise(&*top.sub(1));
        let n = limbwise(&*top.sub(2));
        top.sub(2).write(limbwise(&f(&a, &b, &n)));
    }
}

/// Runs one instruction with its own gas and stack checks; true when the frame stopped.
#[inline(always)]
pub(crate) fn step_checked<H: Host>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    bytes: &[u8],
) -> bool {
    let spec = frame.spec;
    // `pc` never passes the padding: PUSH immediates end inside it and every byte there is STOP.
    let op = bytes[frame.pc] as usize;
    if !frame.gas.charge(spec.static_gas[op]) {
        frame.halt(HaltReason::OutOfGas);
        return true;
    }
    let height = frame.stack.len() as u16;
    if height < spec.stack_min[op] {
        frame.halt(HaltReason::StackUnderflow);
        return true;
    }
    if height > spec.stack_max[op] {
        frame.halt(HaltReason::StackOverflow);
        return true;
    }
    frame.pc += 1;
    (table.table[op])(frame, host) == Step::Exit
}

/// Ends a run that stopped: leaves the hypervisor's execution pointer in `hyvm` and hands
/// over the frame's action.
pub fn end_of_run(frame: &mut Frame) -> FrameAction {
    if frame.spec.is_hyvm() {
        write_execution_pointer(frame);
    }
    frame.action.take().unwrap_or_else(|| {
        // Every Exit sets an action; should one not, fail closed rather than loop.
        frame.halt(HaltReason::InvalidOpcode);
        frame.action.take().expect("halt sets an action")
    })
}

/// The hypervisor keeps the offset of the next guest byte at host offset 0, so a dump of host
/// memory shows where the guest stopped.
fn write_execution_pointer(frame: &mut Frame) {
    if frame.memory.len() >= 32 {
        frame
            .memory
            .slice_mut(0, 32)
            .copy_from_slice(&U256::from(frame.pc).to_big_endian());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{AccountLoad, Env, Log, SStoreResult, SelfDestructResult};
    use crate::{Address, CallContext, Fork, Profile, Spec, B256};
    use std::sync::Arc;

    /// The world of programs that never reach it: an account-less chain at its defaults.
    struct Nothing(Env);

    impl Host for Nothing {
        fn env(&self) -> &Env {
            &self.0
        }
        fn balance(&mut self, _: Address) -> (U256, bool) {
            (U256::zero(), false)
        }
        fn code(&mut self, _: Address) -> (Arc<[u8]>, bool) {
            (Arc::from(Vec::new()), false)
        }
        fn code_hash(&mut self, _: Address) -> (B256, bool) {
            (B256::zero(), false)
        }
        fn load_account(&mut self, _: Address) -> AccountLoad {
            AccountLoad {
                is_cold: false,
                is_empty: true,
                delegate_is_cold: None,
            }
        }
        fn sload(&mut self, _: Address, _: U256) -> (U256, bool) {
            (U256::zero(), false)
        }
        fn sstore(&mut self, _: Address, _: U256, value: U256) -> SStoreResult {
            SStoreResult {
                original: value,
                current: value,
                is_cold: false,
            }
        }
        fn tload(&mut self, _: Address, _: U256) -> U256 {
            U256::zero()
        }
        fn tstore(&mut self, _: Address, _: U256, _: U256) {}
        fn block_hash(&mut self, number: u64) -> B256 {
            B256::from_low_u64_be(number)
        }
        fn log(&mut self, _: Log) {}
        fn selfdestruct(&mut self, _: Address, _: Address) -> SelfDestructResult {
            SelfDestructResult {
                had_value: false,
                target_exists: false,
                target_is_cold: false,
            }
        }
    }

    /// A program of the instructions the block runner runs inline (and a few it does not),
    /// with jumps mostly to its JUMPDESTs, memory words both inside and past memory, and
    /// operands of every size.
    fn program(mut seed: u64) -> Vec<u8> {
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        const WORD_OPS: [u8; 38] = [
            ADD, SUB, MUL, LT, GT, EQ, AND, OR, XOR, DIV, MOD, SDIV, SMOD, SIGNEXTEND, SLT, SGT,
            BYTE, SHL, SHR, SAR, ADDMOD, MULMOD, ISZERO, NOT, POP, PUSH0, GAS, PC, MSIZE, CLZ,
            0x80, 0x81, 0x83, 0x8f, 0x90, 0x91, 0x92, 0x9f,
        ];
        let mut code = Vec::new();
        let (mut targets, mut dests) = (Vec::new(), Vec::new());
        for _ in 0..6 {
            code.extend([PUSH1, next() as u8]);
        }
        for _ in 0..64 {
            let r = next();
            match r % 16 {
                0 | 1 => {
                    dests.push(code.len());
                    code.push(JUMPDEST);
                }
                2 => {
                    // A fused PUSH2 JUMP, a JUMP of a computed destination, a JUMPI.
                    targets.push(code.len() + 1);
                    code.extend([PUSH1 + 1, 0, 0]);
                    code.extend(match r >> 8 & 3 {
                        0 => &[JUMP][..],
                        1 => &[PUSH0, ADD, JUMP],
                        _ => &[JUMPI],
                    });
                }
                3 => code.extend([
                    PUSH1,
                    (r >> 8) as u8 % 0x60,
                    [MLOAD, MSTORE][r as usize >> 16 & 1],
                ]),
                4 | 5 => {
                    let n = (r >> 8) as usize % 32 + 1;
                    code.push(PUSH1 + n as u8 - 1);
                    code.extend((0..n).map(|_| next() as u8));
                }
                _ => code.push(WORD_OPS[(r >> 8) as usize % WORD_OPS.len()]),
            }
        }
        for at in targets {
            let r = next();
            // A JUMPDEST, else anywhere (a bad destination, or push data).
            let to = match dests.len() {
                n if n > 0 && r % 8 != 0 => dests[(r >> 8) as usize % n],
                _ => (r >> 8) as usize % code.len(),
            };
            code[at..at + 2].copy_from_slice(&(to as u16).to_be_bytes());
        }
        code
    }

    /// The top frame's message: the wallet called by the default caller.
    fn context() -> CallContext {
        CallContext {
            address: Address::from_low_u64_be(0xc0de),
            caller: Address::from_low_u64_be(0xca11),
            value: U256::zero(),
            is_static: false,
            depth: 0,
        }
    }

    /// Runs `code` with `gas` from a fresh frame, by `runner`; what the run ended with and the
    /// frame's stack, memory and `pc` at the end.
    fn outcome(
        spec: &'static Spec,
        code: &Arc<Bytecode>,
        gas: u64,
        runner: fn(&mut Frame, &mut Nothing, &InstructionTable<Nothing>) -> FrameAction,
    ) -> (FrameAction, Vec<U256>, Vec<u8>, usize) {
        let mut frame = Frame::new(spec, code.clone(), Vec::new(), context(), gas);
        let action = runner(
            &mut frame,
            &mut Nothing(Env::default()),
            &InstructionTable::new(spec),
        );
        let memory = frame.memory.slice(0, frame.memory.len()).to_vec();
        (action, frame.stack.as_slice().to_vec(), memory, frame.pc)
    }

    /// Every instruction through its own checks and the table: no block, no inline copy.
    fn checked_steps(
        frame: &mut Frame,
        host: &mut Nothing,
        table: &InstructionTable<Nothing>,
    ) -> FrameAction {
        if frame.action.is_none() {
            let code = frame.code.clone();
            while !step_checked(frame, host, table, code.padded()) {}
        }
        end_of_run(frame)
    }

    /// The block runner, single checked steps and the traced loop end every run alike.
    #[test]
    fn block_runs_match_checked_and_traced_steps() {
        for seed in 1..=1500u64 {
            let code = Arc::new(Bytecode::new(&program(
                seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            )));
            for profile in [Profile::Evm, Profile::Hyvm] {
                let spec = Spec::get(profile, Fork::Osaka, false);
                // From too little for the start-up to enough for long loops.
                let gas = spec.startup_gas + seed * 37 % 20_000;
                let blocks = outcome(spec, &code, gas, run_frame);
                for runner in [checked_steps, traced] {
                    assert_eq!(
                        blocks,
                        outcome(spec, &code, gas, runner),
                        "{profile:?}, gas {gas}, code {}",
                        crate::asm::disassemble(code.code())
                    );
                }
            }
        }
    }

    /// The driver names the instruction a call came from (a direct call's cause) by
    /// [`Frame::calling_pc`], whichever loop stopped for the call.
    #[test]
    fn a_frame_waiting_on_a_call_names_the_calling_instruction() {
        // PUSH0 x5, PUSH2 0x4879, GAS, CALL at offset 9.
        let code = Arc::new(Bytecode::new(&[
            PUSH0, PUSH0, PUSH0, PUSH0, PUSH0, 0x61, 0x48, 0x79, GAS, CALL, STOP,
        ]));
        for runner in [run_frame, checked_steps, traced] {
            let spec = Spec::get(Profile::Hyvm, Fork::Osaka, false);
            let mut frame = Frame::new(spec, code.clone(), Vec::new(), context(), 100_000);
            let table = InstructionTable::new(spec);
            let action = runner(&mut frame, &mut Nothing(Env::default()), &table);
            assert!(matches!(action, FrameAction::Call(_)), "{action:?}");
            assert_eq!(frame.calling_pc(), 9);
        }
    }

    /// Counts the steps a traced run reports and checks each one's gas against the next.
    #[derive(Default)]
    struct Steps {
        count: usize,
        next_gas: Option<u64>,
    }

    impl crate::trace::StepTracer for Steps {
        fn step(&mut self, step: &crate::trace::StepView<'_>) {
            if let Some(gas) = self.next_gas {
                assert_eq!(step.gas, gas, "a step starts with what the last one left");
            }
            self.next_gas = step.gas.checked_sub(step.gas_cost);
            self.count += 1;
        }
    }

    fn traced(
        frame: &mut Frame,
        host: &mut Nothing,
        table: &InstructionTable<Nothing>,
    ) -> FrameAction {
        let mut steps = Steps::default();
        let action = crate::trace::run_traced(frame, host, table, &mut steps);
        // A frame out of gas before its first instruction reports none.
        assert!(steps.count > 0 || frame.gas.remaining == 0);
        action
    }
}
