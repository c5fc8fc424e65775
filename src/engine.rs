//! Who runs a frame.

use std::fmt;
use std::str::FromStr;

/// The execution engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Engine {
    /// The reference interpreter.
    Interpreter,
    /// The Cranelift JIT (not yet available: requesting it is an error).
    Jit,
    /// Interpret cold code, compile hot code (until the JIT lands: the interpreter).
    #[default]
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
