//! The `evm` profile (interpreter and JIT) against revm 43.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nestedvm_cli::difftest::DiffEngine;
use nestedvm::{Profile, Vm};
use nestedvm_fuzz::{check, Input};
use std::cell::RefCell;

const ENGINES: [DiffEngine; 3] = [DiffEngine::Interp, DiffEngine::JitInterp, DiffEngine::Revm];

thread_local! {
    // One VM for the whole run: its tables and caches are built once, not per input.
    static VM: RefCell<Vm> = RefCell::new(Vm::new());
}

fuzz_target!(|input: Input| {
    VM.with_borrow_mut(|vm| check(vm, &ENGINES, &input.case(Profile::Evm)));
});
