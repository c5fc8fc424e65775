//! Running a frame on compiled code: native code from every segment start, the interpreter
//! wherever native code hands over (dynamic jumps, failed entry checks), and back to native
//! code at the next segment start the interpreter reaches.

use crate::compile::CompiledCode;
use crate::context::{exit, JitContext};
use nestedvm_interp::instructions::InstructionTable;
use nestedvm_interp::interpreter::{end_of_run, run_until};
use nestedvm_interp::{Frame, FrameAction, Host};

/// Runs `frame` until it finishes or needs the driver, like
/// [`nestedvm_interp::run_frame`], with `code` compiled from the frame's code and spec.
pub fn run_frame_jit<H: Host>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    code: &CompiledCode,
) -> FrameAction {
    if let Some(action) = frame.action.take() {
        return action;
    }
    loop {
        if code.is_entry(frame.pc) && enter(frame, host, table, code) == exit::STOPPED {
            break;
        }
        if run_until(frame, host, table, |pc| code.is_entry(pc)) {
            break;
        }
    }
    end_of_run(frame)
}

/// Runs native code from `frame.pc` and writes its state back to the frame.
fn enter<H: Host>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    code: &CompiledCode,
) -> u32 {
    let (stack, stack_len) = frame.stack.raw_parts();
    let mut ctx = JitContext {
        stack: stack as *mut u64,
        stack_len: stack_len as u64,
        gas: frame.gas.remaining,
        memory: frame.memory.as_mut_ptr(),
        memory_len: frame.memory.len() as u64,
        pc: frame.pc as u64,
        frame: frame as *mut Frame,
        host: host as *mut H as *mut (),
        table: table as *const InstructionTable<H> as *const (),
        scratch: [0; 12],
    };
    let pc = frame.pc as u64;
    // SAFETY: the code was compiled for this frame's code, spec and host type; the context
    // points at live, exclusive state for the duration of the call, and builtins never let a
    // panic unwind through native code.
    let result = unsafe { (code.entry())(&mut ctx, pc) };
    // SAFETY: native code and builtins keep `stack_len` at a height whose items are written.
    unsafe { frame.stack.set_len(ctx.stack_len as usize) };
    frame.gas.remaining = ctx.gas;
    frame.pc = ctx.pc as usize;
    result
}
