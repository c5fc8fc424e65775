//! Every row of the `hyvm` on-chain gas and stack-depth spec (docs/hyvm.md, "Gas: the on-chain
//! figure" and its table), one test each, with the figures the spec gives.
//! `tests/hyvm_onchain.rs` checks the same model against the deployed hypervisor on generated
//! programs.

mod common;

use common::{hyvm_config, run_asm, run_code, run_request};
use nestedvm::interp::asm::assemble;
use nestedvm::interp::opcode::{ADD, DUP1, PUSH0, PUSH1};
use nestedvm::{HaltReason, Outcome, Status, U256};

const GAS: u64 = 1_000_000;
/// The hypervisor's start-up.
const STARTUP: u64 = 204;
/// One dispatch.
const D: u64 = 65;
/// A guest STOP, also what running off the end of the code costs.
const STOP: u64 = D;
/// PUSH1..PUSH32 and PUSH0 on chain.
const PUSH: u64 = D + 47;
const PUSH_ZERO: u64 = D + 3;

fn hyvm(text: &str) -> Outcome {
    run_asm(&hyvm_config(), text, GAS)
}

fn expect(o: &Outcome, status: Status, gas_used: u64) {
    assert_eq!((o.status, o.gas_used), (status, gas_used), "{o:?}");
}

#[test]
fn startup_and_running_off_the_end() {
    expect(&hyvm(""), Status::Success, STARTUP + STOP);
    expect(&hyvm("STOP"), Status::Success, STARTUP + STOP);
}

#[test]
fn a_run_without_gas_for_the_startup_is_out_of_gas() {
    let o = run_asm(&hyvm_config(), "STOP", STARTUP - 1);
    assert_eq!(o.reason, Some(HaltReason::OutOfGas));
    assert_eq!(o.gas_used, STARTUP - 1);
    let o = run_asm(&hyvm_config(), "STOP", STARTUP + STOP - 1);
    assert_eq!(o.reason, Some(HaltReason::OutOfGas));
    expect(
        &run_asm(&hyvm_config(), "STOP", STARTUP + STOP),
        Status::Success,
        STARTUP + STOP,
    );
}

#[test]
fn a_gas_gas_pair_differs_by_67() {
    let o = hyvm("GAS GAS SWAP1 SUB PUSH0 MSTORE PUSH1 32 PUSH0 RETURN");
    assert_eq!(U256::from_big_endian(&o.output), U256::from(67));
}

#[test]
fn gas_pushes_what_the_model_leaves() {
    let o = hyvm("GAS PUSH0 MSTORE PUSH1 32 PUSH0 RETURN");
    assert_eq!(
        U256::from_big_endian(&o.output),
        U256::from(GAS - STARTUP - (D + 2))
    );
}

#[test]
fn push1_costs_112() {
    expect(&hyvm("PUSH1 1"), Status::Success, STARTUP + 112 + STOP);
    expect(&hyvm("PUSH32 1"), Status::Success, STARTUP + 112 + STOP);
    expect(&hyvm("PUSH0"), Status::Success, STARTUP + 68 + STOP);
}

#[test]
fn jump_to_a_valid_destination_skips_the_jumpdest() {
    // 0: PUSH1 4, 2: JUMP, 3: INVALID, 4: JUMPDEST, then off the end.
    expect(
        &hyvm("PUSH1 4 JUMP INVALID JUMPDEST"),
        Status::Success,
        STARTUP + PUSH + (D + 49) + STOP,
    );
}

#[test]
fn a_jumpdest_reached_by_running_into_it_is_dispatched() {
    expect(&hyvm("JUMPDEST"), Status::Success, STARTUP + D + STOP);
}

#[test]
fn jump_to_an_invalid_destination_pays_seven_more_then_reverts() {
    expect(
        &hyvm("PUSH1 3 JUMP"),
        Status::Revert,
        STARTUP + PUSH + (D + 49 + 7),
    );
}

#[test]
fn jumpi_not_taken_costs_83() {
    expect(
        &hyvm("PUSH0 PUSH1 9 JUMPI"),
        Status::Success,
        STARTUP + PUSH_ZERO + PUSH + (D + 18) + STOP,
    );
}

#[test]
fn jumpi_taken_costs_131() {
    // 0: PUSH1 1, 2: PUSH1 6, 4: JUMPI, 5: INVALID, 6: JUMPDEST.
    expect(
        &hyvm("PUSH1 1 PUSH1 6 JUMPI INVALID JUMPDEST"),
        Status::Success,
        STARTUP + 2 * PUSH + (D + 16 + 1 + 49) + STOP,
    );
}

#[test]
fn jumpi_taken_to_an_invalid_destination_pays_seven_more_then_reverts() {
    expect(
        &hyvm("PUSH1 1 PUSH1 5 JUMPI"),
        Status::Revert,
        STARTUP + 2 * PUSH + (D + 16 + 1 + 49 + 7),
    );
}

#[test]
fn out_of_gas_in_the_hypervisors_jump() {
    let o = run_asm(
        &hyvm_config(),
        "PUSH1 1 PUSH1 6 JUMPI INVALID JUMPDEST",
        STARTUP + 2 * PUSH + D + 18,
    );
    assert_eq!(o.reason, Some(HaltReason::OutOfGas), "{o:?}");
    let o = run_asm(&hyvm_config(), "PUSH1 3 JUMP", STARTUP + PUSH + D + 49);
    assert_eq!(o.reason, Some(HaltReason::OutOfGas), "{o:?}");
}

#[test]
fn reverting_handlers_cost_71() {
    for text in [
        "TSTORE",
        "MCOPY",
        "CALLCODE",
        "SELFDESTRUCT",
        "BLOBHASH",
        "DATA 0x0c",
    ] {
        expect(&hyvm(text), Status::Revert, STARTUP + D + 6);
    }
}

#[test]
fn invalid_consumes_all_gas() {
    expect(&hyvm("INVALID"), Status::Halt, GAS);
}

#[test]
fn return_and_revert_pay_12_and_host_memory() {
    expect(
        &hyvm("PUSH0 PUSH0 RETURN"),
        Status::Success,
        STARTUP + 2 * PUSH_ZERO + D + 12,
    );
    // Returning one guest word grows host memory from 26 to 27 words: 82 - 79 = 3.
    expect(
        &hyvm("PUSH1 32 PUSH0 REVERT"),
        Status::Revert,
        STARTUP + PUSH + PUSH_ZERO + D + 12 + 3,
    );
}

#[test]
fn keccak_of_64_bytes() {
    // 30 + 12 static, 2 words at 6, host memory from 26 to 28 words: 85 - 79 = 6.
    expect(
        &hyvm("PUSH1 64 PUSH0 KECCAK256"),
        Status::Success,
        STARTUP + PUSH + PUSH_ZERO + (D + 42 + 12 + 6) + STOP,
    );
}

#[test]
fn mstore_grows_host_memory() {
    expect(
        &hyvm("PUSH0 PUSH0 MSTORE"),
        Status::Success,
        STARTUP + 2 * PUSH_ZERO + (D + 15 + 3) + STOP,
    );
    // A second store into the same word grows nothing.
    expect(
        &hyvm("PUSH0 PUSH0 MSTORE PUSH0 PUSH0 MSTORE"),
        Status::Success,
        STARTUP + 4 * PUSH_ZERO + (D + 15 + 3) + (D + 15) + STOP,
    );
}

#[test]
fn sstore_cold_then_warm() {
    let cold = D + 2100 + 20000;
    expect(
        &hyvm("PUSH1 1 PUSH0 SSTORE"),
        Status::Success,
        STARTUP + PUSH + PUSH_ZERO + cold + STOP,
    );
    expect(
        &hyvm("PUSH1 1 PUSH0 SSTORE PUSH1 2 PUSH0 SSTORE"),
        Status::Success,
        STARTUP + 2 * (PUSH + PUSH_ZERO) + cold + (D + 100) + STOP,
    );
}

#[test]
fn sload_cold_then_warm() {
    expect(
        &hyvm("PUSH0 SLOAD PUSH0 SLOAD"),
        Status::Success,
        STARTUP + 2 * PUSH_ZERO + (D + 2100) + (D + 100) + STOP,
    );
}

#[test]
fn a_call_pays_36_and_its_access() {
    // A call to an empty cold account with no gas and no value.
    expect(
        &hyvm("PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0xdead PUSH0 CALL"),
        Status::Success,
        STARTUP + 6 * PUSH_ZERO + PUSH + (D + 36 + 2600) + STOP,
    );
}

#[test]
fn a_call_forwards_63_64ths_of_what_the_model_leaves() {
    // The callee returns its GAS; the guest returns that word.
    let callee = assemble("GAS PUSH0 MSTORE PUSH1 32 PUSH0 RETURN").expect("assembles");
    let mut req = nestedvm::Request::new(
        assemble(
            "PUSH1 32 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0xbeef GAS CALL POP PUSH1 32 PUSH0 RETURN",
        )
        .expect("assembles"),
    );
    req.gas = GAS;
    req.accounts.push((
        nestedvm::Address::from_low_u64_be(0xbeef),
        nestedvm::Account::new(U256::zero(), 1, callee),
    ));
    let o = run_request(&hyvm_config(), &req);
    // Before CALL: start-up, PUSH1, 4 PUSH0, PUSH2, GAS; then CALL's handler, its cold access
    // and its return range growing host memory by one word (3).
    let before_call = STARTUP + PUSH + 4 * PUSH_ZERO + PUSH + (D + 2);
    let left = GAS - before_call - (D + 36 + 2600 + 3);
    let forwarded = left - left / 64;
    // The callee is a plain contract: GAS costs it 2.
    assert_eq!(U256::from_big_endian(&o.output), U256::from(forwarded - 2));
}

/// `depth` PUSH0s then `op` with its immediate, if any.
fn at_depth(depth: usize, op: u8) -> Vec<u8> {
    let mut code = vec![PUSH0; depth];
    code.push(op);
    if op == PUSH1 {
        code.push(1);
    }
    code
}

fn overflows_above(op: u8, extra_items: usize) {
    let fine = run_code(
        &hyvm_config(),
        &at_depth(1024 - extra_items, op),
        10_000_000,
    );
    assert_eq!(
        fine.status,
        Status::Success,
        "{op:#x} at depth {}",
        1024 - extra_items
    );
    let over = run_code(
        &hyvm_config(),
        &at_depth(1025 - extra_items, op),
        10_000_000,
    );
    assert_eq!(
        (over.status, over.reason, over.gas_used),
        (Status::Halt, Some(HaltReason::StackOverflow), 10_000_000),
        "{op:#x} at depth {}",
        1025 - extra_items
    );
}

#[test]
fn push1_overflows_at_depth_1020() {
    overflows_above(PUSH1, 5);
}

#[test]
fn dup1_overflows_at_depth_1021() {
    overflows_above(DUP1, 4);
}

/// ADD's handler adds 2 items, so it would overflow above depth 1022; but every handler that
/// grows the stack adds at least 4, so no guest gets deeper than 1021 and ADD there is fine.
#[test]
fn add_cannot_overflow_because_no_guest_gets_deeper_than_1021() {
    let deepest = run_code(&hyvm_config(), &at_depth(1021, ADD), 10_000_000);
    assert_eq!(deepest.status, Status::Success, "{deepest:?}");
    let mut code = vec![PUSH0; 1021];
    code.push(DUP1);
    let o = run_code(&hyvm_config(), &code, 10_000_000);
    assert_eq!(o.reason, Some(HaltReason::StackOverflow), "{o:?}");
    // The same ADD overflows in the plain EVM only on a full stack, never reached either.
    assert_eq!(
        run_code(
            &common::evm_config(nestedvm::Fork::Osaka),
            &at_depth(1024, ADD),
            GAS
        )
        .status,
        Status::Success
    );
}

#[test]
fn the_evm_profile_keeps_the_plain_schedule_and_depth() {
    let evm = common::evm_config(nestedvm::Fork::Osaka);
    let o = run_asm(&evm, "PUSH1 1 PUSH0 SSTORE", GAS);
    assert_eq!(o.gas_used, 3 + 2 + 22100);
    let o = run_code(&evm, &at_depth(1023, PUSH1), GAS);
    assert_eq!(o.status, Status::Success);
    let o = run_code(&evm, &at_depth(1024, PUSH1), GAS);
    assert_eq!(o.reason, Some(HaltReason::StackOverflow));
}
