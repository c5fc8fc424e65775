//! The runtime context native code sees: one `repr(C)` struct whose fields native code
//! reads and writes at fixed offsets, the only place it is built from a frame and written
//! back to one, and the codes a compiled function returns.

use nestedvm_interp::instructions::InstructionTable;
use nestedvm_interp::{Frame, Host};
use std::mem::offset_of;

/// The state a compiled function works on. The runner builds it from the frame before each
/// entry ([`JitContext::from_frame`]) and writes it back after ([`JitContext::write_back`]);
/// builtins keep it in step with the frame around the interpreter's code they run.
#[repr(C)]
pub struct JitContext {
    /// The frame's stack buffer (1024 words of four little-endian limbs, never reallocated).
    pub stack: *mut u64,
    /// Items on the stack.
    pub stack_len: u64,
    /// Gas left, as the interpreter would count it at the current instruction boundary.
    pub gas: u64,
    /// Host memory's buffer.
    pub memory: *mut u8,
    /// Host memory's length in bytes (a multiple of 32). Native code grows it in place, up
    /// to `memory_cap`, after paying the expansion; builtins and the runner hand it back to
    /// the frame.
    pub memory_len: u64,
    /// How far native code may grow memory in place: the buffer's zeroed room, but never
    /// past the frame's memory limit (growing past it halts the frame, which a builtin does).
    pub memory_cap: u64,
    /// Where execution stands when native code returns.
    pub pc: u64,
    /// The frame (for builtins).
    pub frame: *mut Frame,
    /// The host (for builtins; its type is the one the code was compiled for).
    pub host: *mut (),
    /// The instruction table (for builtins).
    pub table: *const (),
    /// The caller's pinned register while native code keeps this context in it.
    pub callers_pinned: u64,
    /// Words passed to and from builtins: the memory slow path's offset, value and result,
    /// a word builtin's inputs and result.
    pub scratch: [u64; 12],
    /// What the growth builtin last reported (gas left, or `u64::MAX`): Cranelift's
    /// `preserve_all` calls have no return values, so its code reads it here.
    pub grown: u64,
    /// The run's deadline as a value of [`EPOCH`](nestedvm_interp::deadline::EPOCH): before
    /// a jump back or a computed jump, native code leaves for the interpreter once the epoch
    /// has reached it, and the interpreter halts the frame there.
    pub deadline: u64,
}

impl JitContext {
    /// A context over `frame` for native code to run on, its builtins reaching `host` and
    /// `table` (the host type the code was compiled for).
    pub fn from_frame<H: Host>(
        frame: &mut Frame,
        host: &mut H,
        table: &InstructionTable<H>,
    ) -> JitContext {
        let (stack, stack_len) = frame.stack.raw_parts();
        JitContext {
            stack: stack as *mut u64,
            stack_len: stack_len as u64,
            gas: frame.gas.remaining,
            memory: frame.memory.as_mut_ptr(),
            memory_len: frame.memory.len() as u64,
            memory_cap: native_room(frame),
            pc: frame.pc as u64,
            frame: frame as *mut Frame,
            host: host as *mut H as *mut (),
            table: table as *const InstructionTable<H> as *const (),
            callers_pinned: 0,
            scratch: [0; 12],
            grown: 0,
            deadline: host.deadline().epoch(),
        }
    }

    /// Writes what native code changed back to `frame`: the stack's height, the gas, the
    /// memory it grew in place and where execution stands.
    ///
    /// # Safety
    /// `stack_len` is at most the stack limit and every item below it is written.
    #[inline]
    pub unsafe fn write_back(&self, frame: &mut Frame) {
        // SAFETY: as the caller guarantees.
        unsafe { self.write_stack_len(frame) };
        self.write_gas_and_memory(frame);
        frame.pc = self.pc as usize;
    }

    /// Gives `frame` the stack's height native code stored.
    ///
    /// # Safety
    /// `stack_len` is at most the stack limit and every item below it is written.
    #[inline]
    pub(crate) unsafe fn write_stack_len(&self, frame: &mut Frame) {
        // SAFETY: as the caller guarantees (native code keeps the height within the limit).
        unsafe { frame.stack.set_len(self.stack_len as usize) };
    }

    /// Gives `frame` what native code changed without it but for the stack: the gas, and
    /// the memory it grew in place.
    #[inline]
    pub(crate) fn write_gas_and_memory(&self, frame: &mut Frame) {
        frame.gas.remaining = self.gas;
        frame.memory.grow_in_place(self.memory_len as usize);
    }

    /// Takes `frame`'s state after the interpreter's code changed it: the stack's height, and
    /// what [`JitContext::reload_but_stack`] takes.
    #[inline]
    pub(crate) fn reload(&mut self, frame: &mut Frame) {
        self.stack_len = frame.stack.len() as u64;
        self.reload_but_stack(frame);
    }

    /// Takes `frame`'s gas, memory (which may have moved) and pc, for builtins that leave the
    /// stack to native code.
    #[inline]
    pub(crate) fn reload_but_stack(&mut self, frame: &mut Frame) {
        self.gas = frame.gas.remaining;
        self.memory = frame.memory.as_mut_ptr();
        self.memory_len = frame.memory.len() as u64;
        self.memory_cap = native_room(frame);
        self.pc = frame.pc as u64;
    }
}

/// The room native code may grow `frame`'s memory into (see [`JitContext::memory_cap`]).
#[inline]
fn native_room(frame: &Frame) -> u64 {
    (frame.memory.capacity() as u64).min(frame.memory_limit)
}

#[cfg(test)]
impl JitContext {
    /// A context for tests that call native code or builtins directly: no memory, host or
    /// table, with `stack` (may be null), `gas` and `frame` (may be null).
    pub(crate) fn detached(stack: *mut u64, gas: u64, frame: *mut Frame) -> JitContext {
        JitContext {
            stack,
            stack_len: 0,
            gas,
            memory: std::ptr::null_mut(),
            memory_len: 0,
            memory_cap: 0,
            pc: 0,
            frame,
            host: std::ptr::null_mut(),
            table: std::ptr::null(),
            callers_pinned: 0,
            scratch: [0; 12],
            grown: 0,
            deadline: nestedvm_interp::Deadline::NEVER.epoch(),
        }
    }
}

/// Byte offsets of the fields, for the IR.
pub mod offsets {
    use super::*;
    /// `stack`.
    pub const STACK: i32 = offset_of!(JitContext, stack) as i32;
    /// `stack_len`.
    pub const STACK_LEN: i32 = offset_of!(JitContext, stack_len) as i32;
    /// `gas`.
    pub const GAS: i32 = offset_of!(JitContext, gas) as i32;
    /// `memory`.
    pub const MEMORY: i32 = offset_of!(JitContext, memory) as i32;
    /// `memory_len`.
    pub const MEMORY_LEN: i32 = offset_of!(JitContext, memory_len) as i32;
    /// `memory_cap`.
    pub const MEMORY_CAP: i32 = offset_of!(JitContext, memory_cap) as i32;
    /// `pc`.
    pub const PC: i32 = offset_of!(JitContext, pc) as i32;
    /// `callers_pinned`.
    pub const CALLERS_PINNED: i32 = offset_of!(JitContext, callers_pinned) as i32;
    /// `scratch`.
    pub const SCRATCH: i32 = offset_of!(JitContext, scratch) as i32;
    /// `grown`.
    pub const GROWN: i32 = offset_of!(JitContext, grown) as i32;
    /// `deadline`.
    pub const DEADLINE: i32 = offset_of!(JitContext, deadline) as i32;
}

/// What a compiled function (or a builtin) reports.
pub mod exit {
    /// Go on in native code (builtins only).
    pub const CONTINUE: u32 = 0;
    /// The frame has stopped: its action is set.
    pub const STOPPED: u32 = 1;
    /// Go on in the interpreter at `pc` with the context's state.
    pub const INTERPRET: u32 = 2;
    /// Stopped at the segment start `pc` (its entry checks not done) for the runner to act
    /// on the heat native code counts: a block just got hot, or it is time to look for newer
    /// units (the baseline tier under `auto`).
    pub const YIELD: u32 = 3;
}

/// The signature of a compiled contract: `fn(ctx, resume_pc) -> exit code`.
pub type EntryFn = unsafe extern "C" fn(*mut JitContext, u64) -> u32;
