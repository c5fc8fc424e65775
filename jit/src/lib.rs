//! The Cranelift JIT of nestedvm: guest bytecode to native code that gives exactly the
//! interpreter's results (the design is told in `docs/jit.md`).
//!
//! The pipeline, one module per stage:
//! - [`segments`] (analyse): the interpreter's analysis cut into segments with their static
//!   gas and stack bounds, the entry points of native code.
//! - [`lower`]: segments to Cranelift IR, a module per concern: the function and segment
//!   driver, the virtual stack (the stack top kept in SSA inside a segment), word
//!   instructions and their limb arithmetic (words as four limbs in SSA), memory (operands
//!   rewritten to the profile's layout), control flow and jumps, and calls into builtins.
//! - [`mod@compile`] (finalize): Cranelift for the host ISA, one function per unit (a whole
//!   contract, or under tiering the segments that got hot together).
//! - [`builtins`]: the `extern "C"` functions native code calls, running the interpreter's
//!   own instruction code, each declared once in a list that gives both tiers their calls;
//!   [`context`]: the struct native code sees, built from a frame and written back to it.
//! - [`runner`]: a frame on native code, handing over to the interpreter and back.
//! - [`tiered`]: compiling only the code that runs hot, found by the interpreter's counts.
//! - [`baseline`]: a tier without Cranelift, one pass from bytecode to machine code, for code
//!   that must start native at once.
//! - [`cache`]: compiled code shared across threads; [`background`]: the threads compiling
//!   tier-ups while the code goes on in the interpreter.

#![warn(missing_docs)]

pub mod background;
pub mod baseline;
pub mod builtins;
pub mod cache;
pub mod compile;
pub mod context;
pub mod lower;
pub mod runner;
pub mod segments;
pub mod tiered;

pub use cache::JitCache;
pub use compile::{
    compile, compile_selected, dump_asm, dump_ir, CompileError, CompileOptions, CompiledCode,
    OptLevel, Selection, MAX_COMPILE_LEN,
};
pub use lower::DynamicJumps;
pub use runner::{run_frame_tiered, Tiering};
pub use tiered::Tiered;
