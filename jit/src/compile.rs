//! Finalizing: the lowered IR compiled by Cranelift for the host ISA into one native function
//! per unit (a whole contract, or the segments a tier-up selected), owned by a
//! [`CompiledCode`] that frees its memory when dropped.

use crate::builtins::Builtins;
use crate::context::EntryFn;
use crate::lower::{entry_signature, DynamicJumps, Lowering};
use crate::segments::segments;
use cranelift_codegen::ir::{Function, UserFuncName};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::Module;
use nestedvm_interp::{Bytecode, Host, Spec};
use std::fmt;

/// Cranelift's optimization level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OptLevel {
    /// No optimization: fastest compile.
    None,
    /// Optimize for speed (the default).
    #[default]
    Speed,
    /// No Cranelift at all: the baseline tier's one-pass machine code ([`crate::baseline`]),
    /// compiled about a thousand times faster and running slower.
    Baseline,
}

impl std::str::FromStr for OptLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(OptLevel::None),
            "speed" => Ok(OptLevel::Speed),
            "baseline" => Ok(OptLevel::Baseline),
            _ => Err(format!(
                "unknown opt level `{s}` (expected speed, none or baseline)"
            )),
        }
    }
}

/// How to compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CompileOptions {
    /// Cranelift's optimization level.
    pub opt_level: OptLevel,
    /// How jumps to targets known only at run time are taken.
    pub dynamic_jumps: DynamicJumps,
    /// Check the run's deadline before jumps back and computed jumps (see
    /// [`nestedvm_interp::deadline`]). Without it native code has no check points and costs
    /// nothing more; runs with a deadline ask for it, and get code of their own from the cache.
    pub deadline_checks: bool,
}

/// Why code could not be compiled (the caller interprets it instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError(pub String);

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JIT compilation failed: {}", self.0)
    }
}

impl std::error::Error for CompileError {}

/// A contract compiled to native code.
pub struct CompiledCode {
    memory: Memory,
    entry: EntryFn,
    entries: Vec<u64>,
    code_size: usize,
}

// SAFETY: the machine code is immutable once finalized and reads no shared state of its own
// (every run passes its own context); the memory holding it is reached only to free it, by
// `Drop` through `&mut self`: Cranelift's module through `module::Owner`, which offers
// nothing through a shared reference.
unsafe impl Send for CompiledCode {}
// SAFETY: as above.
unsafe impl Sync for CompiledCode {}

/// The Cranelift module behind a unit, owned only to free its memory.
mod module {
    use cranelift_jit::JITModule;

    /// A finalized module. `JITModule` keeps its symbol table in a `RefCell` that its `&self`
    /// lookups borrow mutably, so calling it from two threads at once would race: `Owner`
    /// therefore has no method taking `&self`, and its field is private to this module, so
    /// nothing can reach the module through the shared references that `CompiledCode: Sync`
    /// hands out. A method added here taking `&self` would break that.
    pub(super) struct Owner(Box<JITModule>);

    impl Owner {
        /// Owns `module`, finalized.
        pub(super) fn new(module: JITModule) -> Owner {
            Owner(Box::new(module))
        }

        /// Frees the module's machine code.
        ///
        /// # Safety
        /// Nothing runs that code any more.
        pub(super) unsafe fn free(self) {
            // SAFETY: the caller guarantees it.
            unsafe { self.0.free_memory() }
        }
    }
}

/// The page size machine code is mapped in (x86-64's and AArch64 Linux's usual size; a
/// larger page only makes the count low by the difference).
const PAGE: usize = 4096;

/// What a Cranelift unit holds besides its machine code's pages: its module (symbol and
/// declaration tables, the page of any read-only constants). Measured over 250 distinct
/// codes compiled whole: a 100-byte code's entry took 9.1 KB resident more than under the
/// interpreter, counted at 1.7 KB from the machine code's bytes alone, at 9.1 KB with its
/// pages and this; a 4,000-byte code's 33 KB, counted at 37 KB.
const CRANELIFT_MODULE_BYTES: usize = 4096;

/// Where a unit's machine code lives.
enum Memory {
    /// Cranelift's module.
    Cranelift(module::Owner),
    /// The baseline tier's pages (unmapped when dropped).
    #[cfg(all(target_arch = "x86_64", unix))]
    Baseline(#[allow(dead_code)] crate::baseline::ExecMemory),
    /// Freed (while dropping).
    Freed,
}

impl Drop for CompiledCode {
    fn drop(&mut self) {
        if let Memory::Cranelift(module) = std::mem::replace(&mut self.memory, Memory::Freed) {
            // SAFETY: nothing runs this code any more: runners hold an `Arc` while they use it.
            unsafe { module.free() };
        }
    }
}

impl fmt::Debug for CompiledCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledCode")
            .field("code_size", &self.code_size)
            .finish()
    }
}

impl CompiledCode {
    /// Code the baseline tier wrote into `memory`.
    #[cfg(all(target_arch = "x86_64", unix))]
    pub(crate) fn from_baseline(
        memory: crate::baseline::ExecMemory,
        entries: Vec<u64>,
        code_size: usize,
    ) -> CompiledCode {
        // SAFETY: the code starts with the baseline's entry function, which has `EntryFn`'s
        // ABI (see `baseline::emit`).
        let entry: EntryFn = unsafe { std::mem::transmute::<*const u8, EntryFn>(memory.as_ptr()) };
        CompiledCode {
            memory: Memory::Baseline(memory),
            entry,
            entries,
            code_size,
        }
    }

    /// Whether native code can be entered at `pc` (a segment start).
    #[inline]
    pub fn is_entry(&self, pc: usize) -> bool {
        self.entries
            .get(pc / 64)
            .is_some_and(|w| w & (1 << (pc % 64)) != 0)
    }

    /// The native function.
    pub fn entry(&self) -> EntryFn {
        self.entry
    }

    /// Bytes of machine code.
    pub fn code_size(&self) -> usize {
        self.code_size
    }

    /// Bytes this unit holds: its machine code in whole pages (both tiers map code by the
    /// page), its map of entries, and for a Cranelift unit the rest of its module (4 KiB,
    /// measured). What the JIT cache counts against its byte budget.
    pub fn held_bytes(&self) -> usize {
        let module = match self.memory {
            Memory::Cranelift(_) => CRANELIFT_MODULE_BYTES,
            _ => 0,
        };
        self.code_size.div_ceil(PAGE) * PAGE
            + self.entries.capacity() * std::mem::size_of::<u64>()
            + module
    }
}

fn isa(options: &CompileOptions) -> Result<cranelift_codegen::isa::OwnedTargetIsa, CompileError> {
    let err = |e: &dyn fmt::Display| CompileError(e.to_string());
    let mut flags = settings::builder();
    let level = match options.opt_level {
        OptLevel::None => "none",
        OptLevel::Speed => "speed",
        OptLevel::Baseline => {
            return Err(CompileError(
                "the baseline tier does not use Cranelift".to_string(),
            ))
        }
    };
    flags.set("opt_level", level).map_err(|e| err(&e))?;
    flags
        .set("use_colocated_libcalls", "false")
        .map_err(|e| err(&e))?;
    flags.set("is_pic", "false").map_err(|e| err(&e))?;
    // Native code keeps its context in the pinned register (see `lower`).
    flags
        .set("enable_pinned_reg", "true")
        .map_err(|e| err(&e))?;
    if options.opt_level == OptLevel::None {
        flags
            .set("regalloc_algorithm", "single_pass")
            .map_err(|e| err(&e))?;
    }
    // Also in this crate's tests, release builds included, so invalid IR fails them rather
    // than only a debug build (where a verifier error falls back to the interpreter).
    let verify = if cfg!(debug_assertions) || cfg!(test) {
        "true"
    } else {
        "false"
    };
    flags.set("enable_verifier", verify).map_err(|e| err(&e))?;
    let isa = cranelift_native::builder()
        .map_err(|e| err(&e))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| err(&e))?;
    Ok(isa)
}

/// Which segments to compile, by start offset.
#[derive(Clone, Copy)]
pub enum Selection<'a> {
    /// All of them.
    All,
    /// Those this says yes to; jumps to the others hand over to the interpreter.
    Only(&'a dyn Fn(usize) -> bool),
}

/// Lowers the selected segments of `code` into a fresh function (the IR, before Cranelift's
/// passes).
fn build_function<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    options: &CompileOptions,
    selection: Selection<'_>,
    call_conv: cranelift_codegen::isa::CallConv,
) -> (Function, Vec<u64>) {
    #[cfg(test)]
    if PANIC_IN_COMPILE.with(|p| p.replace(false)) {
        panic!("injected");
    }
    let segments = selected_segments(spec, code, selection);
    let entries = entry_bits(code, &segments);
    let mut func =
        Function::with_name_signature(UserFuncName::user(0, 0), entry_signature(call_conv));
    let mut fctx = FunctionBuilderContext::new();
    Lowering {
        spec,
        code,
        segments: &segments,
        builtins: Builtins::of::<H>(),
        dynamic_jumps: options.dynamic_jumps,
        deadline_checks: options.deadline_checks,
    }
    .lower(&mut func, &mut fctx);
    (func, entries)
}

/// The segments of `code` under `spec` that `selection` keeps, by start offset.
pub(crate) fn selected_segments(
    spec: &Spec,
    code: &Bytecode,
    selection: Selection<'_>,
) -> std::collections::BTreeMap<usize, crate::segments::Segment> {
    let mut segments = segments(spec, code);
    if let Selection::Only(select) = selection {
        segments.retain(|&start, _| select(start));
    }
    segments
}

/// The segment starts of `segments` as a bit set over the code's offsets.
pub(crate) fn entry_bits(
    code: &Bytecode,
    segments: &std::collections::BTreeMap<usize, crate::segments::Segment>,
) -> Vec<u64> {
    let mut entries = vec![0u64; (code.len() + 34).div_ceil(64)];
    for &start in segments.keys() {
        if start / 64 < entries.len() {
            entries[start / 64] |= 1 << (start % 64);
        }
    }
    entries
}

/// The longest code the JIT compiles: the largest init code (EIP-3860), so every deployable
/// contract and init code compiles. Compile time and memory grow with code size (about
/// 50 ms and 15 MB per KiB today), so longer code (only `hyvm` guests can be longer, up to
/// 1 MiB) is interpreted rather than compiled.
pub const MAX_COMPILE_LEN: usize = nestedvm_interp::MAX_INITCODE_SIZE;

/// Compiles `code` under `spec` for host type `H`.
pub fn compile<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    options: CompileOptions,
) -> Result<CompiledCode, CompileError> {
    compile_selected::<H>(spec, code, options, Selection::All)
}

/// Compiles the selected segments of `code` under `spec` for host type `H`.
pub fn compile_selected<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    options: CompileOptions,
    selection: Selection<'_>,
) -> Result<CompiledCode, CompileError> {
    if code.len() > MAX_COMPILE_LEN {
        return Err(CompileError(format!(
            "{} bytes of code is over the JIT's limit of {MAX_COMPILE_LEN}",
            code.len()
        )));
    }
    // The code is interpreted instead.
    without_panics(|| compile_unguarded::<H>(spec, code, options, selection))
}

/// Runs `build`, turning a panic in the lowering or in Cranelift (a bug of ours or theirs,
/// on some input) into an error: it must not take the process down.
pub(crate) fn without_panics<T>(
    build: impl FnOnce() -> Result<T, CompileError>,
) -> Result<T, CompileError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(CompileError(format!("the compiler panicked: {why}")))
    })
}

#[cfg(test)]
std::thread_local! {
    /// Makes the next function built on this thread panic (tests of the guard).
    static PANIC_IN_COMPILE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// [`compile_selected`] without its guard against panics.
fn compile_unguarded<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    options: CompileOptions,
    selection: Selection<'_>,
) -> Result<CompiledCode, CompileError> {
    if options.opt_level == OptLevel::Baseline {
        return crate::baseline::compile::<H>(spec, code, selection, options.deadline_checks);
    }
    let isa = isa(&options)?;
    let call_conv = isa.default_call_conv();
    let builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
    let mut module = JITModule::new(builder);
    let (func, entries) = build_function::<H>(spec, code, &options, selection, call_conv);
    let id = module
        .declare_anonymous_function(&func.signature)
        .map_err(|e| CompileError(e.to_string()))?;
    let mut ctx = Context::for_function(func);
    module
        .define_function(id, &mut ctx)
        .map_err(|e| CompileError(format!("{e:?}")))?;
    let code_size = ctx
        .compiled_code()
        .map(|c| c.code_buffer().len())
        .unwrap_or(0);
    module
        .finalize_definitions()
        .map_err(|e| CompileError(e.to_string()))?;
    let ptr = module.get_finalized_function(id);
    // SAFETY: the function was built with `entry_signature`, which is `EntryFn`'s ABI.
    let entry: EntryFn = unsafe { std::mem::transmute::<*const u8, EntryFn>(ptr) };
    Ok(CompiledCode {
        memory: Memory::Cranelift(module::Owner::new(module)),
        entry,
        entries,
        code_size,
    })
}

/// The machine code the JIT makes of `code` under `spec`, as Cranelift's listing of the
/// final instructions (for `--dump-asm`: what runs, where `--dump-ir` shows what goes in).
pub fn dump_asm<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    options: CompileOptions,
) -> Result<String, CompileError> {
    without_panics(|| {
        let (func, isa) = whole_function::<H>(spec, code, &options)?;
        let mut ctx = Context::for_function(func);
        ctx.set_disasm(true);
        let compiled = ctx
            .compile(&*isa, &mut Default::default())
            .map_err(|e| CompileError(format!("{:?}", e.inner)))?;
        Ok(compiled.vcode.clone().unwrap_or_default())
    })
}

/// The Cranelift IR of `code` under `spec`, as text (for `--dump-ir`).
pub fn dump_ir<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    options: CompileOptions,
) -> Result<String, CompileError> {
    without_panics(|| {
        let (func, _) = whole_function::<H>(spec, code, &options)?;
        Ok(func.display().to_string())
    })
}

/// The function of all of `code`, and the ISA it is built for (for the dumps).
fn whole_function<H: Host>(
    spec: &'static Spec,
    code: &Bytecode,
    options: &CompileOptions,
) -> Result<(Function, cranelift_codegen::isa::OwnedTargetIsa), CompileError> {
    let isa = isa(options)?;
    let (func, _) =
        build_function::<H>(spec, code, options, Selection::All, isa.default_call_conv());
    Ok((func, isa))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::context::{exit, JitContext};
    use nestedvm_interp::host::AccountLoad;
    use nestedvm_interp::{
        Address, Fork, Log, Profile, SStoreResult, SelfDestructResult, B256, U256,
    };

    /// A top frame of `code` in `evm` (Osaka) with `gas`, called by the zero address.
    pub(crate) fn test_frame(code: std::sync::Arc<Bytecode>, gas: u64) -> nestedvm_interp::Frame {
        let context = nestedvm_interp::CallContext {
            address: Address::zero(),
            caller: Address::zero(),
            value: U256::zero(),
            is_static: false,
            depth: 0,
        };
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        nestedvm_interp::Frame::new(spec, code, Vec::new(), context, gas)
    }

    /// A host type for tests whose code uses no host state: every query panics.
    pub(crate) struct AnyHost;

    impl Host for AnyHost {
        fn env(&self) -> &nestedvm_interp::Env {
            unreachable!()
        }
        fn balance(&mut self, _: Address) -> (U256, bool) {
            unreachable!()
        }
        fn code(&mut self, _: Address) -> (std::sync::Arc<[u8]>, bool) {
            unreachable!()
        }
        fn code_hash(&mut self, _: Address) -> (B256, bool) {
            unreachable!()
        }
        fn load_account(&mut self, _: Address) -> AccountLoad {
            unreachable!()
        }
        fn sload(&mut self, _: Address, _: U256) -> (U256, bool) {
            unreachable!()
        }
        fn sstore(&mut self, _: Address, _: U256, _: U256) -> SStoreResult {
            unreachable!()
        }
        fn tload(&mut self, _: Address, _: U256) -> U256 {
            unreachable!()
        }
        fn tstore(&mut self, _: Address, _: U256, _: U256) {
            unreachable!()
        }
        fn block_hash(&mut self, _: u64) -> B256 {
            unreachable!()
        }
        fn log(&mut self, _: Log) {
            unreachable!()
        }
        fn selfdestruct(&mut self, _: Address, _: Address) -> SelfDestructResult {
            unreachable!()
        }
    }

    #[test]
    fn lowered_code_passes_cranelifts_verifier() {
        // Memory accesses at run-time offsets (the growth call), a computed jump, word
        // builtins, a call to the interpreter's code: in both profiles, both optimization
        // levels and both dynamic-jump policies. The verifier is on in this crate's tests.
        let code = nestedvm_interp::asm::assemble(
            "PUSH0 CALLDATALOAD DUP1 MLOAD PUSH1 7 DUP3 MSTORE8 DUP2 MSTORE \
             PUSH1 3 PUSH1 5 MULMOD PUSH1 2 SDIV PUSH1 9 EXP BALANCE POP \
             PUSH1 0x20 JUMP JUMPDEST STOP",
        )
        .expect("assembles");
        for profile in [Profile::Evm, Profile::Hyvm] {
            let spec = Spec::get(profile, Fork::Osaka, false);
            for opt_level in [OptLevel::Speed, OptLevel::None] {
                for dynamic_jumps in [DynamicJumps::Interpreter, DynamicJumps::JumpTable] {
                    let options = CompileOptions {
                        opt_level,
                        dynamic_jumps,
                        ..CompileOptions::default()
                    };
                    let compiled = compile::<AnyHost>(spec, &Bytecode::new(&code), options);
                    assert!(compiled.is_ok(), "{profile} {options:?}: {compiled:?}");
                }
            }
        }
    }

    #[test]
    fn a_panic_while_compiling_is_a_compile_error() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let code = Bytecode::new(&[0x60, 0x01, 0x00]);
        PANIC_IN_COMPILE.with(|p| p.set(true));
        let err = compile::<AnyHost>(spec, &code, CompileOptions::default())
            .expect_err("the injected panic is reported");
        assert!(err.0.contains("panicked: injected"), "{err}");
        // The guard leaves the thread able to compile.
        assert!(compile::<AnyHost>(spec, &code, CompileOptions::default()).is_ok());
        // The dumps build the same function under the same guard.
        type Dump = fn(&'static Spec, &Bytecode, CompileOptions) -> Result<String, CompileError>;
        for dump in [dump_ir::<AnyHost> as Dump, dump_asm::<AnyHost>] {
            PANIC_IN_COMPILE.with(|p| p.set(true));
            let err = dump(spec, &code, CompileOptions::default()).expect_err("reported");
            assert!(err.0.contains("panicked: injected"), "{err}");
            assert!(dump(spec, &code, CompileOptions::default()).is_ok());
        }
    }

    /// Calls `entry` with the pinned register (r15) holding a sentinel and returns the exit
    /// code and what r15 holds after the call.
    #[cfg(target_arch = "x86_64")]
    fn call_with_r15(entry: EntryFn, ctx: *mut JitContext, pc: u64, sentinel: u64) -> (u32, u64) {
        let code: u32;
        let after: u64;
        // SAFETY: `entry` follows the C ABI except for r15, which the block saves and restores
        // itself; two pushes keep the stack aligned for the call.
        unsafe {
            std::arch::asm!(
                "push r15",
                "push r15",
                "mov r15, r10",
                "call r11",
                "mov rdx, r15",
                "pop r15",
                "pop r15",
                in("r10") sentinel,
                in("r11") entry,
                lateout("rdx") after,
                in("rdi") ctx,
                in("rsi") pc,
                lateout("eax") code,
                clobber_abi("C"),
            );
        }
        (code, after)
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn native_code_gives_the_caller_its_pinned_register_back() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        // PUSH1 2 PUSH1 3 ADD GAS JUMP: the jump to a computed target hands over to the
        // interpreter, and nothing calls a builtin (the context has no frame).
        let code = Bytecode::new(&[0x60, 0x02, 0x60, 0x03, 0x01, 0x5a, 0x56]);
        let options = CompileOptions {
            dynamic_jumps: DynamicJumps::Interpreter,
            ..CompileOptions::default()
        };
        let compiled = compile::<AnyHost>(spec, &code, options).expect("a tiny program compiles");
        let sentinel = 0x5e17_1e15_0f0f_1234;
        // Enough gas runs to the computed jump; none leaves at the first entry check.
        for gas in [1_000, 0] {
            let mut stack = vec![0u64; 4 * nestedvm_interp::STACK_LIMIT];
            let mut ctx = JitContext::detached(stack.as_mut_ptr(), gas, std::ptr::null_mut());
            let (exit_code, r15) = call_with_r15(compiled.entry(), &mut ctx, 0, sentinel);
            assert_eq!(r15, sentinel, "gas {gas}: r15 not given back");
            assert_eq!(exit_code, exit::INTERPRET, "gas {gas}");
            if gas > 0 {
                assert_eq!((ctx.stack_len, stack[0]), (2, 5));
            } else {
                assert_eq!((ctx.stack_len, ctx.pc), (0, 0));
            }
        }
    }
}
