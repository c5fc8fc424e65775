//! The baseline tier: machine code written straight from the bytecode in one pass, with no
//! IR and no register allocation, so that compiling costs little more than reading the code
//! (Cranelift spends about 50 ms per KiB; this about 0.13 ms). Each segment is
//! a run of instruction templates on the stack in memory: stack moves, PUSH, ADD/SUB,
//! comparisons, bitwise ops and in-place MLOAD/MSTORE inline; the longer word operations
//! through small builtins; everything else through the interpreter's own instruction code
//! (`exec`). It has the Cranelift tier's entry points, exits and context, so the runner takes
//! either alike, and it is exact by the same construction: the same segments, static gas and
//! stack checks, and hand-overs to the interpreter wherever it does not go on by itself.
//!
//! x86-64 only: elsewhere compiling refuses and the caller interprets.

#[cfg(all(target_arch = "x86_64", unix))]
mod emit;
#[cfg(all(target_arch = "x86_64", unix))]
mod exec_memory;
#[cfg(all(target_arch = "x86_64", unix))]
pub mod x64;

#[cfg(all(target_arch = "x86_64", unix))]
pub(crate) use exec_memory::ExecMemory;

use crate::compile::{CompileError, CompiledCode, Selection};
use crate::segments::Segment;
use nestedvm_interp::{Bytecode, Host, Spec};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU32;

/// Whether this build has the baseline tier (x86-64 on Unix); elsewhere it refuses to compile.
pub const AVAILABLE: bool = cfg!(all(target_arch = "x86_64", unix));

/// Heat counting in native code, for `auto`: each segment entry adds one to the counter of
/// its offset and yields to the runner when it reaches `hot` and every 1024 counts.
#[derive(Clone, Copy)]
struct Profiling {
    /// The address of the counters (one `u32` per offset of the code), which must outlive
    /// the code.
    heat: usize,
    /// How many counters there are: segments starting past them (at the code's end) count
    /// nothing.
    len: usize,
    /// The count at which a block is hot.
    hot: u32,
}

/// Compiles the selected segments of `code` under `spec` for host type `H`.
pub(crate) fn compile<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    selection: Selection<'_>,
    deadline_checks: bool,
) -> Result<CompiledCode, CompileError> {
    let segments = crate::compile::selected_segments(spec, code, selection);
    finish::<H>(spec, code, &segments, None, deadline_checks)
}

/// Compiles all of `code` under `spec` for host type `H`, its segment entries counting heat in
/// `heat` (one counter per offset) and yielding to the runner ([`crate::context::exit::YIELD`])
/// when a counter reaches `hot` and every 1024 counts, for `auto`, whose interpreter does not
/// count where this code runs.
///
/// # Safety
/// `heat` must outlive the compiled code: native code writes to it.
pub(crate) unsafe fn compile_counting<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    heat: &[AtomicU32],
    hot: u32,
    deadline_checks: bool,
) -> Result<CompiledCode, CompileError> {
    let segments = crate::compile::selected_segments(spec, code, Selection::All);
    let profiling = Profiling {
        heat: heat.as_ptr() as usize,
        len: heat.len(),
        hot,
    };
    finish::<H>(spec, code, &segments, Some(profiling), deadline_checks)
}

/// Emits `segments` and maps the machine code.
#[cfg(all(target_arch = "x86_64", unix))]
fn finish<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    segments: &BTreeMap<usize, Segment>,
    profiling: Option<Profiling>,
    deadline_checks: bool,
) -> Result<CompiledCode, CompileError> {
    let entries = crate::compile::entry_bits(code, segments);
    let builtins = crate::builtins::Builtins::of::<H>();
    let machine_code = emit::emit(spec, code, segments, builtins, profiling, deadline_checks)?;
    let memory = ExecMemory::new(&machine_code)?;
    Ok(CompiledCode::from_baseline(
        memory,
        entries,
        machine_code.len(),
    ))
}

/// Refuses: the baseline tier writes x86-64 code only.
#[cfg(not(all(target_arch = "x86_64", unix)))]
fn finish<H: Host>(
    _spec: &'static Spec,
    _code: &Bytecode,
    _segments: &BTreeMap<usize, Segment>,
    _profiling: Option<Profiling>,
    _deadline_checks: bool,
) -> Result<CompiledCode, CompileError> {
    Err(CompileError(
        "the baseline compiler writes x86-64 code only".to_string(),
    ))
}
