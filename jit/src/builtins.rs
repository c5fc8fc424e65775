//! The `extern "C"` functions native code calls, all in one place. They run the
//! interpreter's own instruction code on the frame, so semantics live in one place, and they
//! never let a panic unwind into native code: a caught panic halts the frame with an internal
//! error.

use crate::context::{exit, JitContext};
use nestedvm_interp::instructions::{memory_range, stack_only, InstructionTable, Step};
use nestedvm_interp::opcode::{MLOAD, MSTORE, MSTORE8};
use nestedvm_interp::{Frame, HaltReason, Host, U256};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Addresses of the builtins for one host type.
#[derive(Clone, Copy, Debug)]
pub struct Builtins {
    /// [`exec`]: `fn(ctx, pc) -> exit code`.
    pub exec: usize,
    /// [`memory_op`]: `fn(ctx, op, pc) -> exit code`.
    pub memory_op: usize,
    /// [`stack_op`]: `fn(ctx, op) -> exit code`.
    pub stack_op: usize,
}

impl Builtins {
    /// The builtins of host type `H`.
    pub fn of<H: Host>() -> Self {
        Builtins {
            exec: exec::<H> as *const () as usize,
            memory_op: memory_op as *const () as usize,
            stack_op: stack_op as *const () as usize,
        }
    }
}

/// Copies the frame's state into the context after a builtin has changed it.
fn sync_back(ctx: &mut JitContext, frame: &mut Frame) {
    ctx.stack_len = frame.stack.len() as u64;
    sync_back_but_stack(ctx, frame);
}

/// As [`sync_back`] for builtins that leave the stack to native code.
fn sync_back_but_stack(ctx: &mut JitContext, frame: &mut Frame) {
    ctx.gas = frame.gas.remaining;
    ctx.memory = frame.memory.as_mut_ptr();
    ctx.memory_len = frame.memory.len() as u64;
    ctx.pc = frame.pc as u64;
}

/// Runs `body`, turning a panic into an internal-error halt of the frame.
fn guarded(frame: &mut Frame, body: impl FnOnce(&mut Frame) -> u32) -> u32 {
    match catch_unwind(AssertUnwindSafe(|| body(frame))) {
        Ok(code) => code,
        Err(_) => {
            frame.halt(HaltReason::Internal);
            exit::STOPPED
        }
    }
}

/// Runs the instruction at `pc` through the interpreter's table. Native code has charged its
/// static gas, checked the stack bounds and stored the stack and the gas (as the interpreter
/// counts it) in the context.
///
/// # Safety
/// `ctx` is the context the runner built for a frame of host type `H`, with the stack
/// written up to `stack_len`.
pub unsafe extern "C" fn exec<H: Host>(ctx: *mut JitContext, pc: u64) -> u32 {
    // SAFETY: the runner gives native code a valid, exclusive context whose pointers outlive
    // the call.
    let ctx = unsafe { &mut *ctx };
    let frame = unsafe { &mut *ctx.frame };
    let host = unsafe { &mut *(ctx.host as *mut H) };
    let table = unsafe { &*(ctx.table as *const InstructionTable<H>) };
    // SAFETY: native code wrote every item below `stack_len`.
    unsafe { frame.stack.set_len(ctx.stack_len as usize) };
    frame.gas.remaining = ctx.gas;
    let code = guarded(frame, |frame| {
        let op = frame.code.padded()[pc as usize];
        frame.pc = pc as usize + 1;
        match (table.table[op as usize])(frame, host) {
            Step::Continue => exit::CONTINUE,
            Step::Exit => exit::STOPPED,
        }
    });
    sync_back(ctx, frame);
    code
}

/// The slow path of MLOAD, MSTORE and MSTORE8 (memory growth, huge offsets): the offset is in
/// `scratch[0..4]`, the value in `scratch[4..8]`; MLOAD's word comes back in `scratch[0..4]`.
/// Only gas and memory change; the stack stays with native code.
///
/// # Safety
/// As for [`exec`].
pub unsafe extern "C" fn memory_op(ctx: *mut JitContext, op: u32, pc: u64) -> u32 {
    // SAFETY: as in `exec`.
    let ctx = unsafe { &mut *ctx };
    let frame = unsafe { &mut *ctx.frame };
    frame.gas.remaining = ctx.gas;
    let offset = U256([
        ctx.scratch[0],
        ctx.scratch[1],
        ctx.scratch[2],
        ctx.scratch[3],
    ]);
    let value = U256([
        ctx.scratch[4],
        ctx.scratch[5],
        ctx.scratch[6],
        ctx.scratch[7],
    ]);
    let code = guarded(frame, |frame| {
        frame.pc = pc as usize + 1;
        let len = if op as u8 == MSTORE8 { 1u64 } else { 32 };
        let off = match memory_range(frame, &offset, &U256::from(len)) {
            Ok((off, _)) => off,
            Err(reason) => {
                frame.halt(reason);
                return exit::STOPPED;
            }
        };
        match op as u8 {
            MLOAD => {
                let word = U256::from_big_endian(frame.memory.slice(off, 32));
                ctx.scratch[..4].copy_from_slice(&word.0);
            }
            MSTORE => frame
                .memory
                .slice_mut(off, 32)
                .copy_from_slice(&value.to_big_endian()),
            MSTORE8 => frame.memory.slice_mut(off, 1)[0] = value.byte(0),
            _ => {
                frame.halt(HaltReason::Internal);
                return exit::STOPPED;
            }
        }
        exit::CONTINUE
    });
    sync_back_but_stack(ctx, frame);
    code
}

/// A stack-only instruction (DIV, MOD, ADDMOD, SAR, …) on words in `scratch[0..4]` (top),
/// `[4..8]` and `[8..12]`; the result comes back in `scratch[0..4]`. No gas, no frame state:
/// native code keeps its stack in registers across the call.
///
/// # Safety
/// As for [`exec`].
pub unsafe extern "C" fn stack_op(ctx: *mut JitContext, op: u32) -> u32 {
    // SAFETY: as in `exec`.
    let ctx = unsafe { &mut *ctx };
    let word = |k: usize| {
        U256([
            ctx.scratch[k],
            ctx.scratch[k + 1],
            ctx.scratch[k + 2],
            ctx.scratch[k + 3],
        ])
    };
    let (a, b, c) = (word(0), word(4), word(8));
    match catch_unwind(|| stack_only(op as u8, a, b, c)) {
        Ok(Some(r)) => {
            ctx.scratch[..4].copy_from_slice(&r.0);
            exit::CONTINUE
        }
        _ => {
            // SAFETY: as in `exec`.
            let frame = unsafe { &mut *ctx.frame };
            frame.halt(HaltReason::Internal);
            sync_back_but_stack(ctx, frame);
            exit::STOPPED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestedvm_interp::{
        Address, Bytecode, CallContext, Fork, FrameAction, Profile, Spec, Status,
    };
    use std::sync::Arc;

    #[test]
    fn a_panic_in_a_builtin_halts_the_frame_instead_of_unwinding() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let context = CallContext {
            address: Address::zero(),
            caller: Address::zero(),
            value: U256::zero(),
            is_static: false,
            depth: 0,
        };
        let mut frame = Frame::new(
            spec,
            Arc::new(Bytecode::new(&[0])),
            Vec::new(),
            context,
            100,
        );
        let code = guarded(&mut frame, |_| panic!("an engine bug"));
        assert_eq!(code, exit::STOPPED);
        match frame.action.take() {
            Some(FrameAction::Return(r)) => {
                assert_eq!(
                    (r.status, r.reason),
                    (Status::Halt, Some(HaltReason::Internal))
                );
                assert_eq!(r.gas.remaining, 0);
            }
            _ => panic!("the frame must have halted"),
        }
    }
}
