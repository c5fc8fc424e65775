//! The runtime context native code sees: one `repr(C)` struct whose fields the lowered IR
//! reads and writes at fixed offsets, and the codes a compiled function returns.

use nestedvm_interp::Frame;
use std::mem::offset_of;

/// The state a compiled function works on. The runner fills it from the frame before each
/// entry and writes it back after; builtins keep it in step with the frame when they run an
/// instruction.
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
    /// How far native code may grow memory in place (see [`crate::builtins::native_room`]).
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
    /// Words passed to and from builtins (the memory slow path: offset, value, result).
    pub scratch: [u64; 12],
    /// What the growth builtin last reported (gas left, or `u64::MAX`): Cranelift's
    /// `preserve_all` calls have no return values, so its code reads it here.
    pub grown: u64,
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
