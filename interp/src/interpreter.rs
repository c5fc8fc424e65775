//! The instruction loop: charge static gas, check the stack bounds, run the instruction.

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
    run_blocks(frame, host, table);
    end_of_run(frame)
}

/// Runs instructions until the frame stops, a block at a time wherever a block's entry check
/// passes (`blocks`), one checked instruction at a time elsewhere.
fn run_blocks<H: Host>(frame: &mut Frame, host: &mut H, table: &InstructionTable<H>) {
    let code = frame.code.clone();
    let blocks = code.blocks(frame.spec);
    let bytes = code.padded();
    loop {
        if let Some(block) = blocks.at(frame.pc) {
            let height = frame.stack.len();
            if frame.gas.remaining >= block.gas
                && height >= block.min_height as usize
                && height <= block.max_height as usize
            {
                frame.gas.remaining -= block.gas;
                for _ in 0..block.count {
                    let op = bytes[frame.pc] as usize;
                    frame.pc += 1;
                    if (table.table[op])(frame, host) == Step::Exit {
                        return;
                    }
                }
                continue;
            }
        }
        if step_checked(frame, host, table, bytes) {
            return;
        }
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

/// Runs instructions until the frame stops (true) or, after at least one instruction, `pc`
/// reaches an offset where `stop_at` holds (false): the JIT hands its frames here and takes
/// them back at its block starts.
#[inline]
pub fn run_until<H: Host>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    stop_at: impl Fn(usize) -> bool,
) -> bool {
    let code = frame.code.clone();
    let bytes = code.padded();
    loop {
        if step_checked(frame, host, table, bytes) {
            return true;
        }
        if stop_at(frame.pc) {
            return false;
        }
    }
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
