//! JIT compile time against code size: snailtracer and adversarial code (JUMPDEST runs,
//! PUSH1/JUMP chains, DUP/SWAP runs, push data full of 0x5B in `hyvm`) at several sizes, so
//! the time per KiB can be compared across sizes (linear growth keeps it flat) and against
//! snailtracer's.

use super::measure::{median, Settings, FORK};
use super::programs::catalogue;
use nestedvm::interp::{Bytecode, Spec};
use nestedvm::jit::{compile, CompileOptions};
use nestedvm::{Profile, World};
use std::hint::black_box;
use std::time::Instant;

/// The sizes adversarial code is compiled at, in bytes: up to 48 KiB, the JIT's limit (the
/// largest init code; 24 KiB is the largest contract).
pub const ADVERSARIAL_SIZES: [usize; 4] = [6 * 1024, 12 * 1024, 24 * 1024, 48 * 1024];

/// Code to compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileCase {
    /// What the code is (`snailtracer`, `jumpdests`, `push1-jump`, …).
    pub name: String,
    /// The profile it is compiled for.
    pub profile: Profile,
    /// The code.
    pub code: Vec<u8>,
}

fn repeat_to(unit: &[u8], len: usize) -> Vec<u8> {
    unit.iter().copied().cycle().take(len).collect()
}

/// The adversarial cases of `len` bytes: every byte a JUMPDEST (in both profiles),
/// `PUSH1 3 JUMP JUMPDEST` chains, runs of PUSH0/DUP/SWAP/POP, and in `hyvm` PUSH32s whose
/// data is all 0x5B (each a jump destination there).
pub fn adversarial(len: usize) -> Vec<CompileCase> {
    let mut dup_swap = vec![0x5f; 16];
    dup_swap.extend(0x80..=0x8f);
    dup_swap.extend(0x90..=0x9e);
    dup_swap.extend([0x50; 32]);
    let mut push32_5b = vec![0x7f];
    push32_5b.extend([0x5b; 32]);
    let case = |name: &str, profile, code| CompileCase {
        name: name.to_string(),
        profile,
        code,
    };
    vec![
        case("jumpdests", Profile::Evm, vec![0x5b; len]),
        case("jumpdests-hyvm", Profile::Hyvm, vec![0x5b; len]),
        case(
            "push1-jump",
            Profile::Evm,
            repeat_to(&[0x60, 0x03, 0x56, 0x5b], len),
        ),
        case("dup-swap", Profile::Evm, repeat_to(&dup_swap, len)),
        case("push32-5b-hyvm", Profile::Hyvm, repeat_to(&push32_5b, len)),
    ]
}

/// snailtracer (the reference), then every adversarial case at every size.
pub fn cases() -> Vec<CompileCase> {
    let snailtracer = catalogue()
        .into_iter()
        .filter(|p| p.name == "snailtracer")
        .map(|p| CompileCase {
            name: p.name,
            profile: Profile::Evm,
            code: p.code,
        });
    let mut out: Vec<CompileCase> = snailtracer.collect();
    for len in ADVERSARIAL_SIZES {
        out.extend(adversarial(len));
    }
    out
}

/// The compile time of one case.
#[derive(Clone, Debug, PartialEq)]
pub struct CompileTime {
    /// The case's name.
    pub name: String,
    /// Its profile.
    pub profile: Profile,
    /// Its size in bytes.
    pub bytes: usize,
    /// Median compile time, in nanoseconds.
    pub median_ns: f64,
    /// Compilations timed.
    pub samples: usize,
    /// Bytes of machine code it compiles to.
    pub machine_bytes: usize,
}

impl CompileTime {
    /// Median compile time per KiB of code, in nanoseconds.
    pub fn ns_per_kib(&self) -> f64 {
        self.median_ns * 1024.0 / self.bytes.max(1) as f64
    }

    /// Bytes of machine code per byte of code.
    pub fn expansion(&self) -> f64 {
        self.machine_bytes as f64 / self.bytes.max(1) as f64
    }
}

/// Times the compilation of `case` with `options`: up to `settings.samples` compilations,
/// stopping once `settings.time` is spent (at least one).
pub fn measure_compile(
    case: &CompileCase,
    settings: &Settings,
    options: CompileOptions,
) -> Result<CompileTime, String> {
    let spec = Spec::get(case.profile, FORK, false);
    let code = Bytecode::new(&case.code);
    let mut samples = Vec::new();
    let mut machine_bytes = 0;
    let budget = Instant::now();
    while samples.len() < settings.samples.max(1) {
        let start = Instant::now();
        let compiled =
            compile::<World>(spec, &code, options).map_err(|e| format!("{}: {e}", case.name))?;
        machine_bytes = compiled.code_size();
        black_box(compiled);
        samples.push(start.elapsed().as_nanos() as f64);
        if budget.elapsed() >= settings.time {
            break;
        }
    }
    Ok(CompileTime {
        name: case.name.clone(),
        profile: case.profile,
        bytes: case.code.len(),
        median_ns: median(&samples),
        samples: samples.len(),
        machine_bytes,
    })
}
