//! The fuzz targets' input: a structure `arbitrary` builds from libFuzzer's bytes, whose
//! `choices` drive the same generator as `nestedvm difftest` (so a mutation of the input is a
//! local change of the program), and one input in eight runs `choices` as raw code instead.

use arbitrary::Arbitrary;
use nestedvm::{Fork, Profile, Vm};
use nestedvm_cli::difftest::gen::ByteChoices;
use nestedvm_cli::difftest::{compare, Case};
use nestedvm_cli::engines::ToolEngine;

/// Raw code is capped: longer inputs add nothing but time.
const MAX_RAW: usize = 4096;

/// One fuzz case.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// `hyvm` rather than `evm` (where the target lets it choose).
    pub hyvm: bool,
    /// The verifier build, in `hyvm`.
    pub verifier: bool,
    /// The fork, modulo the four.
    pub fork: u8,
    /// Raw code when a multiple of eight, else a generated program.
    pub mode: u8,
    /// The generator's decisions, or the raw code.
    pub choices: Vec<u8>,
}

impl Input {
    /// The case this input describes in `profile`.
    pub fn case(&self, profile: Profile) -> Case {
        let fork = Fork::ALL[usize::from(self.fork) % Fork::ALL.len()];
        let verifier = self.verifier && profile == Profile::Hyvm;
        let case = Case::generate(&mut ByteChoices(&self.choices), profile, fork, verifier);
        if self.mode.is_multiple_of(8) {
            let raw = &self.choices[..self.choices.len().min(MAX_RAW)];
            case.with_code(raw.to_vec())
        } else {
            case
        }
    }
}

/// Runs `case` on `engines` and panics with every difference when they disagree: libFuzzer
/// keeps the input as a crash.
pub fn check(vm: &mut Vm, engines: &[ToolEngine], case: &Case) {
    let c = compare(vm, engines, case);
    if !c.agrees() {
        let diffs: Vec<String> = c
            .differences
            .iter()
            .map(|(e, d)| format!("{e} differs in {}: {}", d.field, d.text))
            .collect();
        panic!(
            "divergence ({} {}{}) on code {}: {}",
            case.profile,
            case.fork,
            if case.verifier { " verifier" } else { "" },
            nestedvm::output::hex0x(&case.request.code),
            diffs.join("; ")
        );
    }
}
