//! The interpreter against the JIT under both dynamic-jump policies, tiered and on the
//! baseline tier, in both profiles (and the verifier build).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nestedvm::{Profile, Vm};
use nestedvm_cli::engines::ToolEngine;
use nestedvm_fuzz::{check, Input};
use std::cell::RefCell;

const ENGINES: [ToolEngine; 5] = [
    ToolEngine::Interp,
    ToolEngine::JitInterp,
    ToolEngine::JitTable,
    ToolEngine::JitTiered,
    ToolEngine::JitBaseline,
];

thread_local! {
    // One VM for the whole run: its tables and caches are built once, not per input.
    static VM: RefCell<Vm> = RefCell::new(Vm::new());
}

fuzz_target!(|input: Input| {
    let profile = if input.hyvm {
        Profile::Hyvm
    } else {
        Profile::Evm
    };
    VM.with_borrow_mut(|vm| check(vm, &ENGINES, &input.case(profile)));
});
