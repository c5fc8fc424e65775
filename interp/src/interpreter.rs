//! The instruction loop: charge static gas, check the stack bounds, run the instruction.

use crate::analysis::Bytecode;
use crate::frame::{Frame, FrameAction, HaltReason};
use crate::host::Host;
use crate::instructions::{InstructionTable, Step};
use crate::U256;

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
/// passes (`Blocks`), one checked instruction at a time elsewhere. Inside a block the stack's
/// length and `pc` live in registers, and the instructions that only move words on the stack
/// run inline on them; the others are called through the table with the frame brought up to
/// date first. One loop for the whole run, so what the compiler hoists out of it is paid once.
fn run_blocks<H: Host, P: Probe>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    probe: &mut P,
) -> bool {
    let code = frame.code.clone();
    let blocks = code.blocks(frame.spec);
    let bytes = code.padded();
    use crate::instructions::arithmetic::{sdiv_words, smod_words};
    use crate::instructions::memory::{word_from_be, word_in_memory, word_to_be};
    use crate::instructions::stack::immediate;
    use crate::opcode::*;
    use crate::word;
    let (base, mut len) = frame.stack.raw_parts();
    // `hyvm` jumps skip the JUMPDEST they land on, and a taken JUMPI pays extra.
    let hyvm = frame.spec.is_hyvm();
    let taken_gas = frame.spec.jumpi_taken_gas;
    let mut pc = frame.pc;
    // SAFETY (every access below): the block's entry check put the stack's height within the
    // bounds its analysis computed from every instruction's stack needs and room
    // (`Blocks::analyse`), and only the block's last instruction may change the height other
    // than as the opcode table says; so each read is of an item below `len`, each write is
    // below the stack's fixed capacity of 1024, and `len` never leaves [0, 1024].
    macro_rules! read {
        ($n:expr) => {
            crate::stack::limbwise(unsafe { &*base.add(len - $n) })
        };
    }
    macro_rules! write {
        ($n:expr, $v:expr) => {{
            let v = $v;
            unsafe { base.add(len - $n).write(v) }
        }};
    }
    macro_rules! push {
        ($v:expr) => {{
            let v = $v;
            unsafe { base.add(len).write(v) };
            len += 1;
        }};
    }
    macro_rules! binary {
        (|$a:ident, $b:ident| $body:expr) => {{
            let $a = read!(1);
            let $b = read!(2);
            len -= 1;
            write!(1, $body);
        }};
    }
    // Longer word operations run out of line, so the loop's own values stay in registers.
    macro_rules! out_of_line {
        (|$a:ident, $b:ident| $body:expr) => {{
            // SAFETY: as above.
            unsafe { binary_at(base.add(len - 1), |$a: U256, $b: U256| $body) };
            len -= 1;
        }};
    }
    macro_rules! push_n {
        ($count:expr, [$($n:literal)*]) => {
            match $count {
                $($n => {
                    push!(immediate::<$n>(bytes, pc));
                    pc += $n;
                })*
                _ => {}
            }
        };
    }
    // Any other instruction: through the table, with the frame brought up to date first.
    macro_rules! through_table {
        ($op:expr) => {{
            // SAFETY: as above; the items below `len` are initialised.
            unsafe { frame.stack.set_len(len) };
            frame.pc = pc;
            if (table.table[$op as usize])(frame, host) == Step::Exit {
                return true;
            }
            pc = frame.pc;
            len = frame.stack.len();
        }};
    }
    let flag = |b: bool| U256([b as u64, 0, 0, 0]);
    let mut left: u32 = 0;
    let mut first = true;
    // Whether the block about to be entered starts at the JUMPDEST an inline jump landed on
    // (in `evm`: `hyvm` jumps land after it).
    let mut landed_on_jumpdest = false;
    loop {
        if left == 0 {
            if !first && probe.at_boundary(pc) {
                // SAFETY: as above.
                unsafe { frame.stack.set_len(len) };
                frame.pc = pc;
                return false;
            }
            first = false;
            // A block boundary: enter the block starting here if its check passes, else run
            // one instruction with its own checks.
            let block = blocks.at(pc).filter(|b| {
                frame.gas.remaining >= b.gas() && len >= b.min_height() && len <= b.max_height()
            });
            match block {
                Some(b) => {
                    frame.gas.remaining -= b.gas();
                    left = b.count();
                    // The JUMPDEST an inline jump landed on does nothing but cost gas, paid
                    // with the block's: step over it. When it is the whole block, the next
                    // offset starts a block (nothing else ends one after a JUMPDEST), so the
                    // run meets the same boundaries. Decided by the jump alone: made to wait on
                    // the block's load, which misses the cache in code that jumps all over,
                    // the next dispatch would wait too.
                    if landed_on_jumpdest {
                        pc += 1;
                        left -= 1;
                    }
                    landed_on_jumpdest = false;
                }
                None => {
                    landed_on_jumpdest = false;
                    // SAFETY: as above.
                    unsafe { frame.stack.set_len(len) };
                    frame.pc = pc;
                    if step_checked(frame, host, table, bytes) {
                        return true;
                    }
                    pc = frame.pc;
                    len = frame.stack.len();
                    continue;
                }
            }
        }
        left -= 1;
        let op = bytes[pc];
        pc += 1;
        match op {
            PUSH0 => push!(U256::zero()),
            PUSH1..=PUSH32 => match op - PUSH1 + 1 {
                // PUSH2 then JUMP in the same block (both paid for, their stack needs checked),
                // as compilers write a jump to a known destination: the JUMP runs here, its
                // destination never on the stack: one dispatch instead of two, and no store
                // and reload of the destination. A destination the inline jump would not
                // take is pushed, and the JUMP runs as usual.
                2 => {
                    let word = immediate::<2>(bytes, pc);
                    pc += 2;
                    if left != 0 && bytes[pc] == JUMP {
                        if let Some(to) = landing(&code, hyvm, &word) {
                            // The JUMP was the block's last instruction.
                            left = 0;
                            pc = to;
                            landed_on_jumpdest = !hyvm;
                            continue;
                        }
                    }
                    push!(word);
                }
                n => {
                    push_n!(n, [1 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32])
                }
            },
            0x80..=0x8f => {
                let v = read!((op - 0x80 + 1) as usize);
                push!(v);
            }
            0x90..=0x9f => {
                let n = (op - 0x90 + 1) as usize;
                let (top, other) = (read!(1), read!(n + 1));
                write!(1, other);
                write!(n + 1, top);
            }
            POP => len -= 1,
            ADD => binary!(|a, b| word::add(&a, &b)),
            SUB => binary!(|a, b| word::sub(&a, &b)),
            MUL => binary!(|a, b| word::mul(&a, &b)),
            LT => binary!(|a, b| flag(word::lt(&a, &b))),
            GT => binary!(|a, b| flag(word::lt(&b, &a))),
            EQ => binary!(|a, b| flag(word::eq(&a, &b))),
            AND => binary!(|a, b| U256([
                a.0[0] & b.0[0],
                a.0[1] & b.0[1],
                a.0[2] & b.0[2],
                a.0[3] & b.0[3]
            ])),
            OR => binary!(|a, b| U256([
                a.0[0] | b.0[0],
                a.0[1] | b.0[1],
                a.0[2] | b.0[2],
                a.0[3] | b.0[3]
            ])),
            XOR => binary!(|a, b| U256([
                a.0[0] ^ b.0[0],
                a.0[1] ^ b.0[1],
                a.0[2] ^ b.0[2],
                a.0[3] ^ b.0[3]
            ])),
            DIV => out_of_line!(|a, b| word::div(&a, &b)),
            MOD => out_of_line!(|a, b| word::rem(&a, &b)),
            SDIV => out_of_line!(|a, b| sdiv_words(a, b)),
            SMOD => out_of_line!(|a, b| smod_words(a, b)),
            SIGNEXTEND => out_of_line!(|a, b| word::signextend(&a, &b)),
            SLT => out_of_line!(|a, b| flag(word::slt(&a, &b))),
            SGT => out_of_line!(|a, b| flag(word::slt(&b, &a))),
            BYTE => out_of_line!(|a, b| word::byte(&a, &b)),
            SHL => out_of_line!(|a, b| word::shl(&a, &b)),
            SHR => out_of_line!(|a, b| word::shr(&a, &b)),
            SAR => out_of_line!(|a, b| word::sar(&a, &b)),
            ADDMOD => {
                // SAFETY: as above.
                unsafe { ternary_at(base.add(len - 1), word::addmod) };
                len -= 2;
            }
            MULMOD => {
                // SAFETY: as above.
                unsafe { ternary_at(base.add(len - 1), word::mulmod) };
                len -= 2;
            }
            ISZERO => {
                let a = read!(1);
                write!(1, flag(word::is_zero(&a)));
            }
            NOT => {
                let a = read!(1);
                write!(1, U256([!a.0[0], !a.0[1], !a.0[2], !a.0[3]]));
            }
            JUMPDEST => {}
            // Words already inside memory, inline; growth (and its gas) through the table.
            MLOAD => match word_in_memory(frame, &read!(1)) {
                Some(off) => write!(1, word_from_be(frame.memory.slice(off, 32))),
                None => through_table!(op),
            },
            MSTORE => match word_in_memory(frame, &read!(1)) {
                Some(off) => {
                    let value = read!(2);
                    frame
                        .memory
                        .slice_mut(off, 32)
                        .copy_from_slice(&word_to_be(&value));
                    len -= 2;
                }
                None => through_table!(op),
            },
            // A jump to a valid destination, inline (in `hyvm`: any 0x5B byte, landing after
            // it, a taken JUMPI paying the hypervisor's extra gas); anything else (a bad
            // destination, too little gas for that extra) goes through the instruction, which
            // decides it exactly.
            JUMP => match landing(&code, hyvm, &read!(1)) {
                Some(to) => {
                    len -= 1;
                    pc = to;
                    landed_on_jumpdest = !hyvm;
                }
                None => through_table!(op),
            },
            JUMPI => {
                if word::is_zero(&read!(2)) {
                    len -= 2;
                } else {
                    match landing(&code, hyvm, &read!(1)) {
                        Some(to) if frame.gas.remaining >= taken_gas => {
                            frame.gas.remaining -= taken_gas;
                            len -= 2;
                            pc = to;
                            landed_on_jumpdest = !hyvm;
                        }
                        _ => through_table!(op),
                    }
                }
            }
            _ => through_table!(op),
        }
    }
}

/// Where a jump to `target` lands in `code` when it is valid ([`Bytecode::jump_landing`]),
/// inlined into each jump of the block runner, which calling it would make spill its
/// registers.
#[inline(always)]
fn landing(code: &Bytecode, hyvm: bool, target: &U256) -> Option<usize> {
    if target.0[1] | target.0[2] | target.0[3] != 0 {
        return None;
    }
    code.jump_landing(hyvm, target.0[0] as usize)
}

/// `top[-1] = f(top[0], top[-1])`, out of the block runner's loop.
///
/// # Safety
/// `top` and the item below it are initialised stack items.
#[inline(never)]
unsafe fn binary_at(top: *mut U256, f: impl Fn(U256, U256) -> U256) {
    // SAFETY: the caller guarantees both items.
    unsafe {
        let a = crate::stack::limbwise(&*top);
        let b = crate::stack::limbwise(&*top.sub(1));
        top.sub(1).write(crate::stack::limbwise(&f(a, b)));
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
        let a = crate::stack::limbwise(&*top);
        let b = crate::stack::limbwise(&*top.sub(1));
        let n = crate::stack::limbwise(&*top.sub(2));
        top.sub(2).write(crate::stack::limbwise(&f(&a, &b, &n)));
    }
}

/// Runs one instruction with its own gas and stack checks; true when the frame stopped.
#[inline(always)]
fn step_checked<H: Host>(
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
