//! The hypervisor's own host memory and the contract-verifier build's guards.
//!
//! Host memory below the reserved size ([`Spec::reserved`](crate::Spec::reserved)) is the
//! hypervisor's: the execution pointer at 0x00, the opcode jump table at 0x20-0x220 (copied
//! from the end of its code at start-up), the word at 0x220 (the last 32 bytes of its deployed
//! code: 12 zero bytes and its own address), and in the verifier build the `verifyCall`
//! arguments from 0x240. The guest cannot address this region
//! (its offsets are masked to 160 bits and moved past it), but the verifier's answer lands at
//! 0x220 over what was there, which the call guard then reads.

use crate::cause::CauseKind;
use crate::frame::{CallInputs, CallKind, Frame, FrameAction, Guard, HaltReason};
use crate::gas;
use crate::host::Host;
use crate::hyvm_gas::{self, StorePath};
use crate::instructions::{address_word, as_u64, host_offset, memory_range, to_address};
use crate::memory::Memory;
use crate::opcode::OPCODES;
use crate::{Address, U256};

/// The deployed hypervisor's runtime (see `data/README.md`): held by the hypervisor account,
/// never executed.
pub const RUNTIME: &[u8] = include_bytes!("../data/hyvm-runtime.bin");
/// The contract-verifier build's runtime.
pub const VERIFIER_RUNTIME: &[u8] = include_bytes!("../data/hyvm-runtime-verifier.bin");
/// The plain build's opcode jump table: the last 512 bytes of its runtime.
pub const JUMP_TABLE: &[u8] = RUNTIME.split_at(RUNTIME.len() - 512).1;
/// The verifier build's opcode jump table.
pub const VERIFIER_JUMP_TABLE: &[u8] = VERIFIER_RUNTIME.split_at(VERIFIER_RUNTIME.len() - 512).1;

/// The code a deployed hypervisor account holds: its runtime followed by the 32 bytes the
/// constructor appends (12 zero bytes and its own address).
pub fn deployed_code(verifier: bool, address: Address) -> Vec<u8> {
    let runtime = if verifier { VERIFIER_RUNTIME } else { RUNTIME };
    let mut code = Vec::with_capacity(runtime.len() + 32);
    code.extend_from_slice(runtime);
    code.extend_from_slice(&[0; 12]);
    code.extend_from_slice(address.as_bytes());
    code
}

/// Host offset of the execution pointer.
pub const EXECUTION_POINTER: usize = 0x00;
/// Host offset of the jump table.
pub const JUMP_TABLE_OFFSET: usize = 0x20;
/// Host offset of the word the start-up check copies, and of the verifier's answer.
pub const VERDICT: usize = 0x220;
/// Host offset of the `verifyCall` call data.
pub const VERIFY_CALL_ARGS: usize = 0x240;
/// Length of the `verifyCall` call data.
pub const VERIFY_CALL_LEN: usize = 0x204;
/// Most call-input bytes passed to the verifier.
pub const VERIFY_DATA_MAX: u64 = 0x140;
/// `verifyCall(uint8,address,uint256,bytes,bool)`.
pub const VERIFY_CALL_SELECTOR: [u8; 4] = [0x1c, 0x8e, 0xb0, 0x44];

/// Storage slot holding the verifier contract's address (`0x58a8a9223af434080477cd2d1a2667aba3ce9f1301007611a4d07a0af708e65a`).
pub const VERIFIER_SLOT: U256 = U256([
    0xa4d07a0af708e65a,
    0xa3ce9f1301007611,
    0x0477cd2d1a2667ab,
    0x58a8a9223af43408,
]);

/// Storage slot holding the re-entrancy flag (`0xda8b995e2670b58d57272b2d0b50f8c7de2a7e927b4b9b06444cd9e378d215fb`).
pub const REENTRANCY_SLOT: U256 = U256([
    0x444cd9e378d215fb,
    0xde2a7e927b4b9b06,
    0x57272b2d0b50f8c7,
    0xda8b995e2670b58d,
]);

/// Storage slot holding the owner (`0x240bb37aa812ad108aae08a4b01536038aac1692fa2f4eabbc4a8a540d93e0be`).
pub const OWNER_SLOT: U256 = U256([
    0xbc4a8a540d93e0be,
    0x8aac1692fa2f4eab,
    0x8aae08a4b0153603,
    0x240bb37aa812ad10,
]);

/// Fills the reserved region as the hypervisor's start-up leaves it.
pub fn init_host_memory(memory: &mut Memory, verifier: bool, hypervisor: Address) {
    if memory.len() < VERDICT + 32 {
        return;
    }
    let table = if verifier {
        VERIFIER_JUMP_TABLE
    } else {
        JUMP_TABLE
    };
    memory
        .slice_mut(JUMP_TABLE_OFFSET, 512)
        .copy_from_slice(table);
    memory
        .slice_mut(VERDICT, 32)
        .copy_from_slice(&address_word(&hypervisor).to_big_endian());
}

fn write_word(frame: &mut Frame, offset: usize, value: U256) {
    frame
        .memory
        .slice_mut(offset, 32)
        .copy_from_slice(&value.to_big_endian());
}

/// Reads a slot of the executing (wallet) account, paying the SLOAD's warm/cold cost.
fn guard_sload<H: Host>(frame: &mut Frame, host: &mut H, key: U256) -> Result<U256, HaltReason> {
    let (value, cold) = host.sload(frame.context.address, key);
    if !frame.gas.charge(gas::sload_cost(cold)) {
        return Err(HaltReason::OutOfGas);
    }
    Ok(value)
}

/// What a guard decided.
pub enum Verdict {
    /// Go on with the guarded instruction.
    Proceed,
    /// The frame has stopped (revert or halt): its action is set.
    Stopped,
    /// The verifier must be asked first: the frame's action is the call to it.
    AskVerifier,
}

/// The call guard, run by CALL, STATICCALL and DELEGATECALL in the verifier build before
/// their own work. The first time, it writes the `verifyCall` arguments, reads the verifier
/// from storage and asks it (the instruction is dispatched again once the answer is in);
/// the second time it lets the call go ahead.
pub fn call_guard<H: Host>(frame: &mut Frame, host: &mut H, kind: CallKind) -> Verdict {
    match frame.guard {
        Guard::Approved => {
            frame.guard = Guard::None;
            // The guard needs fewer stack items than the call (see `Spec`): the native call
            // underflows only now, after the verifier has been asked.
            let op = frame.code.padded()[frame.pc - 1];
            if OPCODES[op as usize].is_some_and(|i| frame.stack.len() < i.inputs as usize) {
                frame.halt(HaltReason::StackUnderflow);
                return Verdict::Stopped;
            }
            return Verdict::Proceed;
        }
        Guard::None | Guard::AwaitingVerdict => {}
    }
    let (value, first_arg) = match kind {
        CallKind::Call | CallKind::CallCode => (frame.stack.peek(2), 3),
        CallKind::DelegateCall | CallKind::StaticCall => (U256::zero(), 2),
    };
    let args_offset = frame.stack.peek(first_arg);
    let args_len = frame.stack.peek(first_arg + 1);
    let truncated = args_len > U256::from(VERIFY_DATA_MAX);
    let len = as_u64(&args_len).unwrap_or(u64::MAX).min(VERIFY_DATA_MAX);
    // The data is copied in whole words, so loads can grow host memory past the input.
    let input_host = host_offset(frame.spec, &args_offset);
    for i in 0..gas::words(len) {
        let Some(src) = input_host.map(|o| o + 32 * i) else {
            frame.halt(HaltReason::OutOfGas);
            return Verdict::Stopped;
        };
        let src_guest = U256::from(src - frame.spec.reserved as u64);
        let word_off = match memory_range(frame, &src_guest, &U256::from(32)) {
            Ok((off, _)) => off,
            Err(reason) => {
                frame.halt(reason);
                return Verdict::Stopped;
            }
        };
        let word = U256::from_big_endian(frame.memory.slice(word_off, 32));
        write_word(frame, VERIFY_CALL_ARGS + 0xc4 + 32 * i as usize, word);
    }
    frame
        .memory
        .slice_mut(VERIFY_CALL_ARGS, 4)
        .copy_from_slice(&VERIFY_CALL_SELECTOR);
    let opcode_word = if kind == CallKind::Call { 0xf1 } else { 0xfa };
    write_word(frame, VERIFY_CALL_ARGS + 0x04, U256::from(opcode_word));
    write_word(frame, VERIFY_CALL_ARGS + 0x24, frame.stack.peek(1));
    write_word(frame, VERIFY_CALL_ARGS + 0x44, value);
    write_word(frame, VERIFY_CALL_ARGS + 0x64, U256::from(0xa0));
    write_word(frame, VERIFY_CALL_ARGS + 0x84, U256::from(truncated as u8));
    write_word(frame, VERIFY_CALL_ARGS + 0xa4, U256::from(len));

    let verifier = match guard_sload(frame, host, VERIFIER_SLOT) {
        Ok(v) => v,
        Err(reason) => {
            frame.halt(reason);
            return Verdict::Stopped;
        }
    };
    if verifier.is_zero() {
        frame.refuse(frame.pc - 1, CauseKind::NoVerifier);
        return Verdict::Stopped;
    }
    let verifier = to_address(&verifier);
    let account = host.load_account(verifier);
    if !frame.gas.charge(gas::account_access(account.is_cold)) {
        frame.halt(HaltReason::OutOfGas);
        return Verdict::Stopped;
    }
    let gas_limit = gas::all_but_one_64th(frame.gas.remaining);
    frame.gas.remaining -= gas_limit;
    let input = frame
        .memory
        .slice(VERIFY_CALL_ARGS, VERIFY_CALL_LEN)
        .to_vec();
    frame.pending_return = (VERDICT, 32);
    frame.guard = Guard::AwaitingVerdict;
    // Dispatch the guarded instruction again once the verdict is in, without paying twice.
    frame.pc -= 1;
    frame.gas.remaining += frame.spec.static_gas[frame.code.padded()[frame.pc] as usize];
    frame.action = Some(FrameAction::Call(CallInputs {
        kind: CallKind::StaticCall,
        code_address: verifier,
        address: verifier,
        caller: frame.context.address,
        value: U256::zero(),
        transfers_value: false,
        input,
        gas_limit,
        is_static: true,
        depth: frame.context.depth + 1,
    }));
    Verdict::AskVerifier
}

/// Reads the verifier's answer: the call succeeded and the lowest bit of the word at 0x220
/// (its output over what was there) is set.
pub fn verdict(frame: &Frame, success: bool) -> bool {
    success && frame.memory.slice(VERDICT + 31, 1)[0] & 1 == 1
}

/// What the store guard lets SSTORE do.
pub enum StoreGuard {
    /// A plain SSTORE of the guest's key and value.
    Plain,
    /// SSTORE(owner, key): the bytecode's own path when the caller is the owner; the guest's
    /// value stays on the stack.
    Redirect(U256),
    /// The frame has stopped (revert or halt): its action is set.
    Stopped,
}

/// The store guard, run by SSTORE in the verifier build, as its deployed bytecode does it, not
/// as a reading of its intent would have it: the comparisons chain their own results, not the
/// key.
/// With `e = (key == re-entrancy value)`, `r = e | (verifier value == e)` and
/// `g = r | (owner value == r)`: when `g` is 0 the store is plain; otherwise an owner equal to
/// CALLER makes it `SSTORE(owner, key)`, a zero owner makes it plain, and any other owner
/// reverts. Every SLOAD it makes is paid, and the guard's own gas ([`hyvm_gas::store_guard`]).
pub fn store_guard<H: Host>(frame: &mut Frame, host: &mut H) -> StoreGuard {
    let key = frame.stack.peek(0);
    let flag = |b: bool| U256::from(b as u8);
    let mut load = |frame: &mut Frame, slot: U256| guard_sload(frame, host, slot);
    let result = (|| {
        let e = flag(load(frame, REENTRANCY_SLOT)? == key);
        let r = e | flag(load(frame, VERIFIER_SLOT)? == e);
        let g = r | flag(load(frame, OWNER_SLOT)? == r);
        if g.is_zero() {
            return Ok((StoreGuard::Plain, StorePath::NoOwnerCheck));
        }
        let owner = load(frame, OWNER_SLOT)?;
        Ok(if owner == address_word(&frame.context.caller) {
            (StoreGuard::Redirect(owner), StorePath::OwnerIsCaller)
        } else if owner.is_zero() {
            (StoreGuard::Plain, StorePath::NoOwner)
        } else {
            (StoreGuard::Stopped, StorePath::Refused)
        })
    })()
    .and_then(|(guard, path)| {
        if !frame.gas.charge(hyvm_gas::store_guard(path)) {
            return Err(HaltReason::OutOfGas);
        }
        if matches!(guard, StoreGuard::Stopped) {
            frame.refuse(frame.pc - 1, CauseKind::StoreRefused);
        }
        Ok(guard)
    });
    result.unwrap_or_else(|reason| {
        frame.halt(reason);
        StoreGuard::Stopped
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_tables_are_the_published_ones() {
        let hex = |v: U256| format!("{v:064x}");
        assert_eq!(
            hex(VERIFIER_SLOT),
            "58a8a9223af434080477cd2d1a2667aba3ce9f1301007611a4d07a0af708e65a"
        );
        assert_eq!(
            hex(REENTRANCY_SLOT),
            "da8b995e2670b58d57272b2d0b50f8c7de2a7e927b4b9b06444cd9e378d215fb"
        );
        assert_eq!(
            hex(OWNER_SLOT),
            "240bb37aa812ad108aae08a4b01536038aac1692fa2f4eabbc4a8a540d93e0be"
        );
        assert_eq!(RUNTIME.len(), 5867);
        assert_eq!(VERIFIER_RUNTIME.len(), 6603);
        assert_eq!(
            hex(U256::from_big_endian(&crate::keccak256(RUNTIME))),
            "aeeae6b55cdc402d73f35e0f9db54e928b80fd905d073b9e879afe3f87bbc180"
        );
        assert_eq!(
            hex(U256::from_big_endian(&crate::keccak256(VERIFIER_RUNTIME))),
            "44a401eef9ea5b0298a3549ed148039ddc1c6ef5a53164ed00043655e649d3ac"
        );
        // The start-up copies the table from offset 0x14eb (0x17cb in the verifier build).
        assert_eq!(JUMP_TABLE, &RUNTIME[0x14eb..0x14eb + 512]);
        assert_eq!(VERIFIER_JUMP_TABLE, &VERIFIER_RUNTIME[0x17cb..0x17cb + 512]);
    }
}
