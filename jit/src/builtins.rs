//! The `extern "C"` functions native code calls, each declared once in the list of
//! [`Builtin`]s, from which both tiers take its address, signature and argument registers.
//! They run the interpreter's own instruction code on the frame, so semantics live in one
//! place, and they never let a panic unwind into native code: a caught panic halts the frame
//! with an internal error.

#[cfg(target_arch = "x86_64")]
use crate::context::offsets;
use crate::context::{exit, JitContext};
use nestedvm_interp::gas::{memory_cost, words};
use nestedvm_interp::instructions::{self, memory_range, InstructionTable, Step};
use nestedvm_interp::opcode::{MLOAD, MSTORE, MSTORE8};
use nestedvm_interp::{Frame, HaltReason, Host, U256};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The address of `$f::<OP>` for the word instruction `$op` (those
/// [`instructions::word_op`] answers), `$f::<0>` for any other: one function per opcode, so
/// that no dispatch on the opcode runs at the call.
macro_rules! per_word_opcode {
    ($op:expr, $f:ident) => {
        per_word_opcode!(@ $op, $f, ADD, SUB, MUL, LT, GT, SLT, SGT, EQ, ISZERO, AND, OR, XOR,
            NOT, DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, SIGNEXTEND, BYTE, SHL, SHR, SAR)
    };
    (@ $op:expr, $f:ident, $($name:ident),*) => {
        match $op {
            $(nestedvm_interp::opcode::$name => {
                $f::<{ nestedvm_interp::opcode::$name }> as *const () as usize
            })*
            _ => $f::<0> as *const () as usize,
        }
    };
}

/// Declares the builtins, one line each: the [`Builtin`] (with `(op)` when there is one
/// function per word opcode), its calling convention (`system`, or `preserving` for
/// [`PRESERVING`]), the function (`::<H>` when there is one per host type), its parameters,
/// and `-> exit` when it returns an exit code. Each builtin's address, its Cranelift
/// signature and the baseline tier's call sequence all come from this list.
macro_rules! declare_builtins {
    ($(
        $(#[$doc:meta])*
        $name:ident $(($op:ident))? = $conv:ident $f:ident $(::<$g:ident>)?
            ($($param:ident: $ty:ident),*) $(-> $ret:ident)?;
    )*) => {
        /// A function native code calls, as the module's one list declares it: its address,
        /// its Cranelift signature and the baseline tier's call sequence all come from there.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Builtin {
            $($(#[$doc])* $name $((opcode_of!($op)))?,)*
        }

        /// The builtins' places in per-builtin tables.
        #[derive(Clone, Copy)]
        enum Index {
            $($name,)*
        }

        impl Builtin {
            /// How many builtins the list declares.
            pub const COUNT: usize = [$(Index::$name),*].len();

            /// Its place in per-builtin tables, below [`Builtin::COUNT`].
            pub fn index(self) -> usize {
                match self {
                    $(Builtin::$name $((any_opcode!($op)))? => Index::$name as usize,)*
                }
            }

            /// The address of its function for host type `H`.
            pub fn address<H: Host>(self) -> usize {
                match self {
                    $(Builtin::$name $((any_opcode!($op)))? => {
                        host_address_of!(self, $f $(::<$g>)? $(, $op)?)
                    })*
                }
            }

            /// The address of its function when it has one for every host type. Not generic,
            /// so that the functions are instantiated in this crate, whatever the host.
            fn shared_address(self) -> Option<usize> {
                match self {
                    $(Builtin::$name $(($op))? => shared_address_of!($f $(::<$g>)? $(, $op)?),)*
                }
            }

            /// Its parameters, in the order of the system convention's argument registers.
            pub fn params(self) -> &'static [Param] {
                match self {
                    $(Builtin::$name $((any_opcode!($op)))? => &[$(Param::$ty),*],)*
                }
            }

            /// Whether it returns an exit code ([`exit::CONTINUE`] to go on).
            pub fn returns_exit(self) -> bool {
                match self {
                    $(Builtin::$name $((any_opcode!($op)))? => returns_exit!($($ret)?),)*
                }
            }

            /// How it is called.
            pub fn convention(self) -> Convention {
                match self {
                    $(Builtin::$name $((any_opcode!($op)))? => convention!($conv),)*
                }
            }
        }
    };
}

/// The type of a per-opcode builtin's opcode (in [`declare_builtins`]).
macro_rules! opcode_of {
    ($op:ident) => {
        u8
    };
}

/// A pattern matching any opcode (in [`declare_builtins`]).
macro_rules! any_opcode {
    ($op:ident) => {
        _
    };
}

/// A builtin's address for host type `H` (in [`declare_builtins`]): its function for `H`
/// when it has one per host type, else the shared one.
macro_rules! host_address_of {
    ($b:ident, $f:ident ::<$g:ident>, $op:ident) => {
        $b.shared_address().unwrap_or_default()
    };
    ($b:ident, $f:ident ::<$g:ident>) => {
        $f::<$g> as *const () as usize
    };
    ($b:ident, $f:ident) => {
        $b.shared_address().unwrap_or_default()
    };
}

/// A builtin's address when it does not depend on the host type (in [`declare_builtins`]):
/// one function per word opcode, or one.
macro_rules! shared_address_of {
    ($f:ident ::<$g:ident>, $op:ident) => {
        Some(per_word_opcode!($op, $f))
    };
    ($f:ident ::<$g:ident>) => {
        None
    };
    ($f:ident) => {
        Some($f as *const () as usize)
    };
}

/// Whether a builtin returns an exit code (in [`declare_builtins`]).
macro_rules! returns_exit {
    () => {
        false
    };
    (exit) => {
        true
    };
}

/// A builtin's calling convention (in [`declare_builtins`]).
macro_rules! convention {
    (system) => {
        Convention::System
    };
    (preserving) => {
        PRESERVING
    };
}

declare_builtins! {
    /// [`exec`]: the interpreter's instruction at `pc`.
    Exec = system exec::<H>(ctx: Ptr, pc: U64) -> exit;
    /// [`memory_op`]: the slow path of MLOAD, MSTORE and MSTORE8.
    MemoryOp = system memory_op(ctx: Ptr, op: U32, pc: U64) -> exit;
    /// [`grow_memory`] (on x86-64 [`grow_memory_preserving`]): memory growth in place, the
    /// gas left (or `u64::MAX`) reported in the context's `grown`.
    GrowMemory = preserving grow_memory_native(ctx: Ptr, end: U64, gas: U64);
    /// [`word_op_of`]: word instruction `op` on the context's scratch words.
    WordOp(op) = system word_op_of::<OP>(ctx: Ptr) -> exit;
    /// [`word_on_stack_of`]: word instruction `op` on the stack in place (baseline tier).
    WordOnStack(op) = system word_on_stack_of::<OP>(ctx: Ptr, top: Ptr) -> exit;
}

/// How native code passes a builtin's parameter: each in one integer register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// A pointer (the context, a stack item).
    Ptr,
    /// A 64-bit integer.
    U64,
    /// A 32-bit integer.
    U32,
}

/// How a builtin is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    /// The system's C convention.
    System,
    /// Every register kept but the flags, no return value (Cranelift's `preserve_all`).
    PreserveAll,
}

/// The growth builtin's convention: every register kept where it has an entry in assembly
/// that keeps them (x86-64), the system's elsewhere.
const PRESERVING: Convention = if cfg!(target_arch = "x86_64") {
    Convention::PreserveAll
} else {
    Convention::System
};

#[cfg(not(target_arch = "x86_64"))]
use self::grow_memory as grow_memory_native;
#[cfg(target_arch = "x86_64")]
use self::grow_memory_preserving as grow_memory_native;

/// The builtins' addresses for one host type, for code that is not generic over it.
#[derive(Clone, Copy, Debug)]
pub struct Builtins {
    address: fn(Builtin) -> usize,
}

impl Builtins {
    /// The builtins of host type `H`.
    pub fn of<H: Host>() -> Self {
        Builtins {
            address: Builtin::address::<H>,
        }
    }

    /// The address of `builtin`'s function.
    pub fn address(&self, builtin: Builtin) -> usize {
        (self.address)(builtin)
    }
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
    unsafe { ctx.write_stack_len(frame) };
    ctx.write_gas_and_memory(frame);
    let code = guarded(frame, |frame| {
        let op = frame.code.padded()[pc as usize];
        frame.pc = pc as usize + 1;
        match (table.table[op as usize])(frame, host) {
            Step::Continue => exit::CONTINUE,
            Step::Exit => exit::STOPPED,
        }
    });
    ctx.reload(frame);
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
    ctx.write_gas_and_memory(frame);
    let offset = scratch_word(ctx, 0);
    let value = scratch_word(ctx, 1);
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
                set_scratch_result(ctx, &word);
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
    ctx.reload_but_stack(frame);
    code
}

/// Memory growth within the buffer's zeroed room, for native code whose access ends at host
/// offset `end` past `memory_len`: pays the expansion out of `gas` (net of the segment's
/// later static costs) and reports what is left, or `u64::MAX` with nothing else changed
/// when it cannot (past the room, not enough gas), for the slow path to take over, in the
/// context's `grown`. One small
/// shared function rather than the computation inline at every access: code that runs once
/// is bound by fetching its instructions, and this stays in cache.
///
/// # Safety
/// `ctx` is a valid, exclusive context.
pub unsafe extern "C" fn grow_memory(ctx: *mut JitContext, end: u64, gas: u64) {
    // SAFETY: as in `exec`; only the context's own fields are read and written.
    let ctx = unsafe { &mut *ctx };
    ctx.grown = grown(ctx, end, gas).unwrap_or(u64::MAX);
}

/// The gas left after growing memory over `end`, when it can grow in place (see
/// [`grow_memory`]).
fn grown(ctx: &mut JitContext, end: u64, gas: u64) -> Option<u64> {
    if end > ctx.memory_cap {
        return None;
    }
    let new_words = words(end);
    let old_words = ctx.memory_len / 32;
    // Within the room (at most 1 GiB) the costs are exact.
    let cost = memory_cost(new_words).saturating_sub(memory_cost(old_words));
    let left = gas.checked_sub(cost)?;
    ctx.memory_len = (new_words * 32).max(ctx.memory_len);
    // Below `u64::MAX` whenever memory grows: growing costs at least 3.
    Some(left)
}

/// [`grow_memory`] for native code to call with Cranelift's `preserve_all` convention: it
/// keeps every register but the flags, so the values native code holds in
/// registers across the call (the stack's words, the gas) stay there, where the system
/// convention made the allocator spill them and reload them on the path where memory does
/// not grow. Its result is in the context's `grown` only, `rax` kept too: Cranelift's
/// `preserve_all` calls have no return values (its verifier refuses a signature with one),
/// so its code assumes every register survives the call. In assembly,
/// saving only the four registers it uses: a Rust body behind a trampoline saving all the
/// caller-saved ones cost twice the instructions, which loops growing memory at every
/// allocation felt. The same contract and arithmetic as [`grow_memory`] (the tests hold them
/// equal), but for refusing ends from 2^36 up, where the squares would not fit 64 bits.
///
/// # Safety
/// As for [`grow_memory`]; called only from native code, with the arguments in the system
/// convention's registers.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
pub unsafe extern "C" fn grow_memory_preserving(ctx: *mut JitContext, end: u64, gas: u64) {
    // rdi: ctx, rsi: end, rdx: gas. rax: the result, rcx: the new length, r8 and r9: costs.
    std::arch::naked_asm!(
        "push rax",
        "push rcx",
        "push r8",
        "push r9",
        "mov rax, -1",
        "cmp rsi, [rdi + {cap}]",
        "ja 2f",
        "mov rcx, rsi",
        "shr rcx, 36",
        "jnz 2f",
        // The length rounded up to words; not past the current one, nothing to pay.
        "lea rcx, [rsi + 31]",
        "and rcx, -32",
        "mov r8, [rdi + {len}]",
        "mov rax, rdx",
        "cmp rcx, r8",
        "jbe 2f",
        // 3w + w * w / 512 for the new and the old word counts.
        "shr r8, 5",
        "mov rax, r8",
        "imul rax, r8",
        "shr rax, 9",
        "lea r8, [r8 + 2 * r8]",
        "add r8, rax",
        "mov r9, rcx",
        "shr r9, 5",
        "mov rax, r9",
        "imul rax, r9",
        "shr rax, 9",
        "lea r9, [r9 + 2 * r9]",
        "add r9, rax",
        "sub r9, r8",
        "mov rax, -1",
        "cmp rdx, r9",
        "jb 2f",
        "mov [rdi + {len}], rcx",
        "mov rax, rdx",
        "sub rax, r9",
        "2:",
        "mov [rdi + {grown}], rax",
        "pop r9",
        "pop r8",
        "pop rcx",
        "pop rax",
        "ret",
        cap = const offsets::MEMORY_CAP,
        len = const offsets::MEMORY_LEN,
        grown = const offsets::GROWN,
    )
}

/// Word `k` of the scratch area, read limb by limb: native code stored the limbs one by one,
/// and a wider load spanning two of those stores stalls on store forwarding (it cost more
/// than the arithmetic of a MULMOD).
fn scratch_word(ctx: &JitContext, k: usize) -> U256 {
    // SAFETY: reads of in-bounds elements of a live array.
    U256(std::array::from_fn(|i| unsafe {
        std::ptr::read_volatile(&ctx.scratch[4 * k + i])
    }))
}

/// Stores `w` as scratch word 0, limb by limb (see [`scratch_word`]).
fn set_scratch_result(ctx: &mut JitContext, w: &U256) {
    for (i, limb) in w.0.iter().enumerate() {
        // SAFETY: writes of in-bounds elements of a live array.
        unsafe { std::ptr::write_volatile(&mut ctx.scratch[i], *limb) };
    }
}

/// The word instruction `OP` (DIV, MOD, ADDMOD, SAR, …: those [`instructions::word_op`]
/// answers; any other halts the frame with an internal error) on the context's scratch words:
/// its inputs in `scratch[0..4]` (top), `[4..8]` and `[8..12]`, its result back in
/// `scratch[0..4]`. No gas, no frame state: native code keeps its stack in registers across
/// the call. One function per opcode, so that no dispatch on the opcode runs at the call.
///
/// # Safety
/// As for [`exec`].
pub unsafe extern "C" fn word_op_of<const OP: u8>(ctx: *mut JitContext) -> u32 {
    // SAFETY: as in `exec`.
    let ctx = unsafe { &mut *ctx };
    // The words are read where they lie, not copied out and back in for the call (a tenth
    // of a curve program's time went there). The word code reads them limb by limb, so no
    // wide load meets native code's limb stores.
    // SAFETY: `U256` is `repr(C)` over `[u64; 4]`, and the scratch area holds three.
    let words = unsafe { &*(ctx.scratch.as_ptr() as *const [U256; 3]) };
    match catch_unwind(|| instructions::word_op(OP, &words[0], &words[1], &words[2])) {
        Ok(Some(r)) => {
            set_scratch_result(ctx, &r);
            exit::CONTINUE
        }
        _ => halt_internal(ctx),
    }
}

/// The word instruction `OP` (as [`word_op_of`]) for the baseline tier, on the stack in
/// place: `top` points at the top item, the other inputs lie below it, and the result
/// replaces the deepest input.
///
/// # Safety
/// As for [`exec`]; `top` and the items below it that `OP` reads are stack items.
pub unsafe extern "C" fn word_on_stack_of<const OP: u8>(
    ctx: *mut JitContext,
    top: *mut U256,
) -> u32 {
    let inputs = nestedvm_interp::opcode::OPCODES[OP as usize].map_or(0, |i| i.inputs as usize);
    // Limb by limb: baseline code has just stored them one by one, and a wider load
    // spanning two of those stores waits for both to leave the store buffer (a quarter of
    // the builtin's time on snailtracer).
    let read = |k: usize| {
        if k < inputs {
            // SAFETY: the caller guarantees the items `OP` reads.
            nestedvm_interp::stack::limbwise(unsafe { &*top.sub(k) })
        } else {
            U256::zero()
        }
    };
    let (a, b, c) = (read(0), read(1), read(2));
    match catch_unwind(|| instructions::word_op(OP, &a, &b, &c)) {
        Ok(Some(r)) => {
            // The word code returned `r` through memory a limb at a time: read it back so.
            let r = nestedvm_interp::stack::limbwise(&r);
            // SAFETY: as above: the deepest input's place.
            unsafe { top.sub(inputs - 1).write(r) };
            exit::CONTINUE
        }
        // SAFETY: as in `exec`.
        _ => halt_internal(unsafe { &mut *ctx }),
    }
}

/// Halts the frame behind `ctx` with an internal error (a word builtin's impossible case).
fn halt_internal(ctx: &mut JitContext) -> u32 {
    // SAFETY: as in `exec`.
    let frame = unsafe { &mut *ctx.frame };
    ctx.write_gas_and_memory(frame);
    frame.halt(HaltReason::Internal);
    ctx.reload_but_stack(frame);
    exit::STOPPED
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::tests::AnyHost;
    use nestedvm_interp::{Bytecode, FrameAction, Status};
    use std::sync::Arc;

    /// A frame with 100 gas on a one-byte code.
    fn test_frame() -> Frame {
        crate::compile::tests::test_frame(Arc::new(Bytecode::new(&[0])), 100)
    }

    #[test]
    fn each_builtin_has_a_table_place_of_its_own() {
        let mut seen = [false; Builtin::COUNT];
        for builtin in [
            Builtin::Exec,
            Builtin::MemoryOp,
            Builtin::GrowMemory,
            Builtin::WordOp(nestedvm_interp::opcode::ADD),
            Builtin::WordOnStack(nestedvm_interp::opcode::ADD),
        ] {
            assert!(!std::mem::replace(&mut seen[builtin.index()], true));
            assert_ne!(builtin.address::<AnyHost>(), 0);
        }
        assert!(seen.iter().all(|s| *s), "a builtin missing here");
        // One function per word opcode, the same one for a builtin's other opcodes.
        let word_op = |op| Builtin::WordOp(op).address::<AnyHost>();
        assert_eq!(word_op(nestedvm_interp::opcode::SLOAD), word_op(0));
        assert_ne!(word_op(nestedvm_interp::opcode::ADD), word_op(0));
    }

    #[test]
    fn a_panic_in_a_builtin_halts_the_frame_instead_of_unwinding() {
        let mut frame = test_frame();
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

    /// A frame and a context over it, as the runner builds them, for calling builtins.
    fn with_context(test: impl FnOnce(&mut JitContext)) {
        let mut frame = test_frame();
        let mut ctx = JitContext::detached(std::ptr::null_mut(), 100, &mut frame);
        test(&mut ctx);
    }

    #[test]
    fn each_word_builtin_computes_its_own_opcode() {
        let words = [
            U256::zero(),
            U256::one(),
            U256::from(7),
            U256::MAX,
            U256::MAX - 6,
            U256([0x1234_5678_9abc_def0, 3, 0, 0]),
            U256([5, 6, 7, 0x8000_0000_0000_0001]),
        ];
        // Every opcode the word code answers: one missing from `per_word_opcode`'s list would halt.
        let zero = U256::zero();
        let ops = (0..=u8::MAX).filter(|&op| {
            nestedvm_interp::instructions::stack_only(op, zero, zero, zero).is_some()
        });
        with_context(|ctx| {
            for op in ops {
                let f: unsafe extern "C" fn(*mut JitContext) -> u32 =
                    // SAFETY: the address of a function of this signature.
                    unsafe { std::mem::transmute(Builtin::WordOp(op).address::<AnyHost>()) };
                for (i, a) in words.iter().enumerate() {
                    let b = words[(i + 3) % words.len()];
                    let c = words[(i + 5) % words.len()];
                    ctx.scratch[..4].copy_from_slice(&a.0);
                    ctx.scratch[4..8].copy_from_slice(&b.0);
                    ctx.scratch[8..].copy_from_slice(&c.0);
                    // SAFETY: the context is valid for the call.
                    assert_eq!(unsafe { f(ctx) }, exit::CONTINUE, "opcode {op:#x}");
                    let expected = nestedvm_interp::instructions::stack_only(op, *a, b, c)
                        .expect("a word instruction");
                    assert_eq!(&ctx.scratch[..4], &expected.0, "opcode {op:#x} on word {i}");
                }
            }
        });
    }

    #[test]
    fn a_word_builtin_of_another_opcode_halts_with_an_internal_error() {
        with_context(|ctx| {
            let f: unsafe extern "C" fn(*mut JitContext) -> u32 =
                // SAFETY: as above.
                unsafe {
                    std::mem::transmute(
                        Builtin::WordOp(nestedvm_interp::opcode::SLOAD).address::<AnyHost>(),
                    )
                };
            // SAFETY: the context is valid for the call.
            assert_eq!(unsafe { f(ctx) }, exit::STOPPED);
            // SAFETY: the context's frame outlives the closure and nothing else borrows it.
            let frame = unsafe { &mut *ctx.frame };
            match frame.action.take() {
                Some(FrameAction::Return(r)) => assert_eq!(r.reason, Some(HaltReason::Internal)),
                _ => panic!("the frame must have halted"),
            }
        });
    }

    /// Calls the growth builtin (through the register-preserving entry where there is one,
    /// which must behave the same when called from Rust) and returns what it reports.
    fn grow(ctx: &mut JitContext, end: u64, gas: u64) -> u64 {
        // Read through `grown`, as native code does.
        let f: unsafe extern "C" fn(*mut JitContext, u64, u64) =
            // SAFETY: the address of a function of this signature.
            unsafe { std::mem::transmute(Builtin::GrowMemory.address::<AnyHost>()) };
        // SAFETY: the context is valid for the call.
        unsafe { f(ctx, end, gas) };
        ctx.grown
    }

    #[test]
    fn growth_in_place_pays_rounds_up_and_refuses_without_change() {
        with_context(|ctx| {
            ctx.memory_len = 64;
            ctx.memory_cap = 4096;
            // 2 words to 4 (97 bytes round up to 128): 3 * 2 gas, nothing quadratic yet.
            assert_eq!(grow(ctx, 97, 100), 94);
            assert_eq!(ctx.memory_len, 128);
            // Past the room, or short of gas by one: nothing changes.
            assert_eq!(grow(ctx, 4097, 1000), u64::MAX);
            assert_eq!(grow(ctx, 160, 2), u64::MAX);
            assert_eq!(ctx.memory_len, 128);
            // Exactly enough gas, up to the room's end (128 words: 3 * 124 + 32 gas).
            assert_eq!(grow(ctx, 4096, 404), 0);
            assert_eq!(ctx.memory_len, 4096);
        });
    }

    #[test]
    fn the_native_growth_entry_agrees_with_the_rust_one() {
        let lens = [0u64, 32, 64, 0x340, 0x360, 4096, 1 << 20, 1 << 29];
        let ends = [
            0u64,
            1,
            31,
            32,
            33,
            64,
            65,
            0x341,
            4095,
            4096,
            4097,
            1 << 20,
            (1 << 29) + 1,
        ];
        let gases = [0u64, 2, 3, 5, 6, 100, 405, 1 << 20, u64::MAX - 1];
        with_context(|ctx| {
            for cap in [4096u64, 1 << 30] {
                for len in lens.into_iter().filter(|l| *l <= cap) {
                    for end in ends {
                        for gas in gases {
                            let run = |ctx: &mut JitContext, f: &dyn Fn(&mut JitContext) -> u64| {
                                ctx.memory_len = len;
                                ctx.memory_cap = cap;
                                ctx.grown = 7;
                                (f(ctx), ctx.memory_len)
                            };
                            let rust = run(ctx, &|c| {
                                // SAFETY: the context is valid for the call.
                                unsafe { grow_memory(c, end, gas) };
                                c.grown
                            });
                            let native = run(ctx, &|c| grow(c, end, gas));
                            assert_eq!(native, rust, "len {len} end {end} gas {gas} cap {cap}");
                        }
                    }
                }
            }
        });
    }
}
