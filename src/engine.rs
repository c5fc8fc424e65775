//! Who runs a frame.

use nestedvm_jit::CompileOptions;
use std::fmt;
use std::str::FromStr;

/// How the JIT compiles and when `auto` starts compiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JitConfig {
    /// Cranelift options and the dynamic-jump policy.
    pub options: CompileOptions,
    /// Under [`Engine::Auto`], how many times a block of code runs (counted across runs and
    /// threads sharing the cache) before the code around it is compiled; 0 compiles every
    /// code whole before it first runs.
    pub hot_after: u32,
    /// Under [`Engine::Auto`], compile hot code on the JIT's own threads while the run goes
    /// on in the interpreter and takes the native code once it is ready (the default: no run
    /// waits for a compilation), rather than compiling it before the run goes on.
    pub background: bool,
    /// Under [`Engine::Auto`], from a code's first tier-up on, run what no Cranelift unit
    /// holds yet on the JIT's baseline tier (the whole code compiled in one pass, hundreds of
    /// times faster than by Cranelift) rather than in the interpreter: a long first run goes
    /// native while Cranelift compiles its hot code. The default where the baseline tier is
    /// built (x86-64).
    pub baseline: bool,
}

impl Default for JitConfig {
    fn default() -> Self {
        JitConfig {
            options: CompileOptions::default(),
            hot_after: 10_000,
            background: true,
            baseline: nestedvm_jit::baseline::AVAILABLE,
        }
    }
}

/// The execution engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Engine {
    /// The reference interpreter.
    #[cfg_attr(feature = "clap", value(name = "interp", alias = "interpreter"))]
    Interpreter,
    /// The Cranelift JIT: every frame's code is compiled before it runs.
    Jit,
    /// Interpret cold code; compile the code around a block once it has run
    /// [`JitConfig::hot_after`] times (tiered compilation: only hot code is compiled).
    #[default]
    #[cfg_attr(feature = "clap", value(help = "Tiered: compiles hot code"))]
    Auto,
}

impl Engine {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Interpreter => "interp",
            Engine::Jit => "jit",
            Engine::Auto => "auto",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "interp" | "interpreter" => Ok(Engine::Interpreter),
            "jit" => Ok(Engine::Jit),
            "auto" => Ok(Engine::Auto),
            _ => Err(format!(
                "unknown engine `{s}` (expected interp, jit or auto)"
            )),
        }
    }
}

/// The machine code the JIT makes of `code` as the top frame's code under `config`, as
/// Cranelift's listing of its instructions (the `--dump-asm` of `run`).
pub fn jit_asm(config: &crate::Config, code: &[u8]) -> Result<String, String> {
    let spec = nestedvm_interp::Spec::get(config.profile, config.fork, config.verifier);
    let bytecode = nestedvm_interp::Bytecode::new(code);
    nestedvm_jit::dump_asm::<crate::World>(spec, &bytecode, config.jit.options)
        .map_err(|e| e.to_string())
}

/// The Cranelift IR the JIT builds for `code` as the top frame's code under `config` (the
/// `--dump-ir` of `run`).
pub fn jit_ir(config: &crate::Config, code: &[u8]) -> Result<String, String> {
    let spec = nestedvm_interp::Spec::get(config.profile, config.fork, config.verifier);
    let bytecode = nestedvm_interp::Bytecode::new(code);
    nestedvm_jit::dump_ir::<crate::World>(spec, &bytecode, config.jit.options)
        .map_err(|e| e.to_string())
}
