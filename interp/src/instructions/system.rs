//! KECCAK256, LOG0-4, the call and create opcodes, SELFDESTRUCT.
//!
//! Calls and creates pay their costs here and then hand a request to the driver
//! ([`FrameAction::Call`] / [`FrameAction::Create`]); the frame is resumed with the outcome.

use super::stack::current_opcode;
use super::{
    as_u64_saturating, charge, memory_range, require_non_static, to_address, try_halt, Step,
};
use crate::frame::{
    CallInputs, CallKind, CreateInputs, CreateKind, Frame, FrameAction, HaltReason, Status,
};
use crate::gas;
use crate::host::{Host, Log};
use crate::{hyvm, opcode};
use crate::{keccak256_word, B256, MAX_INITCODE_SIZE, U256};

/// KECCAK256.
pub fn keccak256<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let offset = frame.stack.pop();
    let len = frame.stack.pop();
    let n = as_u64_saturating(&len);
    charge!(
        frame,
        gas::per_word(n, gas::KECCAK_WORD).unwrap_or(u64::MAX)
    );
    let (off, n) = try_halt!(frame, memory_range(frame, &offset, &len));
    let digest = keccak256_word(if n == 0 {
        &[]
    } else {
        frame.memory.slice(off, n)
    });
    frame.stack.push(digest);
    Step::Continue
}

/// LOG0-LOG4.
pub fn log<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    require_non_static!(frame);
    let topics_n = (current_opcode(frame) - opcode::LOG0) as usize;
    let offset = frame.stack.pop();
    let len = frame.stack.pop();
    let n = as_u64_saturating(&len);
    charge!(frame, n.saturating_mul(gas::LOG_DATA));
    let (off, n) = try_halt!(frame, memory_range(frame, &offset, &len));
    let mut topics = Vec::with_capacity(topics_n);
    for _ in 0..topics_n {
        topics.push(B256::from(frame.stack.pop().to_big_endian()));
    }
    try_halt!(frame, frame.reserve_copy(n));
    let data = if n == 0 {
        Vec::new()
    } else {
        frame.memory.slice(off, n).to_vec()
    };
    host.log(Log {
        address: frame.context.address,
        topics,
        data,
    });
    try_halt!(frame, frame.take_host_growth(host));
    Step::Continue
}

fn create_common(frame: &mut Frame, kind_is_create2: bool) -> Step {
    require_non_static!(frame);
    let value = frame.stack.pop();
    let offset = frame.stack.pop();
    let len = frame.stack.pop();
    let salt = if kind_is_create2 {
        frame.stack.pop()
    } else {
        U256::zero()
    };
    let n = as_u64_saturating(&len);
    if n > MAX_INITCODE_SIZE as u64 {
        frame.halt(HaltReason::InitcodeTooLarge);
        return Step::Exit;
    }
    charge!(frame, gas::words(n) * gas::INITCODE_WORD);
    if kind_is_create2 {
        charge!(frame, gas::words(n) * gas::KECCAK_WORD);
    }
    let (off, n) = try_halt!(frame, memory_range(frame, &offset, &len));
    try_halt!(frame, frame.reserve_copy(n));
    let init_code = if n == 0 {
        Vec::new()
    } else {
        frame.memory.slice(off, n).to_vec()
    };
    let gas_limit = gas::all_but_one_64th(frame.gas.remaining);
    frame.gas.remaining -= gas_limit;
    frame.action = Some(FrameAction::Create(CreateInputs {
        kind: if kind_is_create2 {
            CreateKind::Create2 { salt }
        } else {
            CreateKind::Create
        },
        caller: frame.context.address,
        value,
        init_code,
        gas_limit,
        depth: frame.context.depth + 1,
    }));
    Step::Exit
}

/// CREATE.
pub fn create<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    create_common(frame, false)
}

/// CREATE2.
pub fn create2<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    create_common(frame, true)
}

fn call_common<H: Host>(frame: &mut Frame, host: &mut H, kind: CallKind) -> Step {
    if frame.spec.verifier && kind != CallKind::CallCode {
        match hyvm::call_guard(frame, host, kind) {
            hyvm::Verdict::Proceed => {}
            hyvm::Verdict::Stopped | hyvm::Verdict::AskVerifier => return Step::Exit,
        }
    }
    let requested = frame.stack.pop();
    let target = to_address(&frame.stack.pop());
    let value = match kind {
        CallKind::Call | CallKind::CallCode => frame.stack.pop(),
        CallKind::DelegateCall => frame.context.value,
        CallKind::StaticCall => U256::zero(),
    };
    let transfers_value = matches!(kind, CallKind::Call | CallKind::CallCode);
    let has_value = transfers_value && !value.is_zero();
    if kind == CallKind::Call && has_value && frame.context.is_static {
        frame.halt(HaltReason::StateChangeDuringStaticCall);
        return Step::Exit;
    }
    let args_offset = frame.stack.pop();
    let args_len = frame.stack.pop();
    let ret_offset = frame.stack.pop();
    let ret_len = frame.stack.pop();
    let (in_off, in_len) = try_halt!(frame, memory_range(frame, &args_offset, &args_len));
    let (out_off, out_len) = try_halt!(frame, memory_range(frame, &ret_offset, &ret_len));
    try_halt!(frame, frame.reserve_copy(in_len));
    let input = if in_len == 0 {
        Vec::new()
    } else {
        frame.memory.slice(in_off, in_len).to_vec()
    };

    let account = host.load_account(target);
    let mut cost = gas::account_access(account.is_cold);
    if let Some(delegate_cold) = account.delegate_is_cold {
        cost += gas::account_access(delegate_cold);
    }
    if has_value {
        cost += gas::CALL_VALUE;
        if kind == CallKind::Call && account.is_empty {
            cost += gas::NEW_ACCOUNT;
        }
    }
    charge!(frame, cost);
    try_halt!(frame, frame.take_host_growth(host));
    let mut gas_limit =
        gas::all_but_one_64th(frame.gas.remaining).min(as_u64_saturating(&requested));
    frame.gas.remaining -= gas_limit;
    if has_value {
        gas_limit += gas::CALL_STIPEND;
    }
    let (address, caller) = match kind {
        CallKind::Call | CallKind::StaticCall => (target, frame.context.address),
        CallKind::CallCode => (frame.context.address, frame.context.address),
        CallKind::DelegateCall => (frame.context.address, frame.context.caller),
    };
    frame.pending_return = (out_off, out_len);
    frame.action = Some(FrameAction::Call(CallInputs {
        kind,
        code_address: target,
        address,
        caller,
        value,
        transfers_value,
        input,
        gas_limit,
        is_static: frame.context.is_static || kind == CallKind::StaticCall,
        depth: frame.context.depth + 1,
    }));
    Step::Exit
}

/// CALL.
pub fn call<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    call_common(frame, host, CallKind::Call)
}

/// CALLCODE.
pub fn callcode<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    call_common(frame, host, CallKind::CallCode)
}

/// DELEGATECALL.
pub fn delegatecall<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    call_common(frame, host, CallKind::DelegateCall)
}

/// STATICCALL.
pub fn staticcall<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    call_common(frame, host, CallKind::StaticCall)
}

/// SELFDESTRUCT (EIP-6780 from Cancun: the account is only deleted when created in the same
/// transaction; the host applies the fork's rule).
pub fn selfdestruct<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    require_non_static!(frame);
    let target = to_address(&frame.stack.pop());
    let r = host.selfdestruct(frame.context.address, target);
    let mut cost = if r.target_is_cold {
        gas::COLD_ACCOUNT_ACCESS
    } else {
        0
    };
    if r.had_value && !r.target_exists {
        cost += gas::NEW_ACCOUNT;
    }
    charge!(frame, cost);
    frame.finish(Status::Success, Vec::new());
    Step::Exit
}
