//! The `evm` profile (interpreter and JIT) against revm 43.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nestedvm::{Profile, Vm};
use nestedvm_cli::engines::ToolEngine;
use nestedvm_fuzz::{check, Input};
use std::cell::RefCell;

const ENGINES: [ToolEngine; 3] = [ToolEngine::Interp, ToolEngine::JitInterp, ToolEngine::Revm];

thread_local! {
    // One VM for the whole run: its tables and caches are built once, not per input.
    static VM: RefCell<Vm> = RefCell::new(Vm::new());
}

fuzz_target!(|input: Input| {
    VM.with_borrow_mut(|vm| check(vm, &ENGINES, &input.case(Profile::Evm)));
});
