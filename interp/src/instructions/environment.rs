//! The message, code, call data, return data, accounts and block environment.
//!
//! In `hyvm` the guest frame is given no call data, so CALLDATALOAD pushes 0, CALLDATASIZE 0
//! and CALLDATACOPY writes zeros, exactly as the hypervisor does, without a special case.

use super::{address_word, as_u64, charge, copy_padded, memory_range, to_address, try_halt, Step};
use crate::frame::{Frame, HaltReason};
use crate::gas;
use crate::host::Host;
use crate::U256;

macro_rules! push_value {
    ($name:ident, $doc:literal, |$frame:ident, $host:ident| $value:expr) => {
        #[doc = $doc]
        pub fn $name<H: Host>($frame: &mut Frame, $host: &mut H) -> Step {
            let value = $value;
            $frame.stack.push(value);
            Step::Continue
        }
    };
}

push_value!(address, "ADDRESS.", |frame, _h| address_word(
    &frame.context.address
));
push_value!(origin, "ORIGIN.", |frame, h| address_word(&h.env().origin));
push_value!(caller, "CALLER.", |frame, _h| address_word(
    &frame.context.caller
));
push_value!(callvalue, "CALLVALUE.", |frame, _h| frame.context.value);
push_value!(calldatasize, "CALLDATASIZE.", |frame, _h| U256::from(
    frame.input.len()
));
push_value!(codesize, "CODESIZE.", |frame, _h| U256::from(
    frame.code.len()
));
push_value!(gasprice, "GASPRICE.", |frame, h| h.env().gas_price);
push_value!(returndatasize, "RETURNDATASIZE.", |frame, _h| U256::from(
    frame.return_data.len()
));
push_value!(coinbase, "COINBASE.", |frame, h| address_word(
    &h.env().coinbase
));
push_value!(timestamp, "TIMESTAMP.", |frame, h| U256::from(
    h.env().timestamp
));
push_value!(number, "NUMBER.", |frame, h| U256::from(h.env().number));
push_value!(prevrandao, "PREVRANDAO.", |frame, h| h.env().prevrandao);
push_value!(gaslimit, "GASLIMIT.", |frame, h| U256::from(
    h.env().gas_limit
));
push_value!(chainid, "CHAINID.", |frame, h| U256::from(h.env().chain_id));
push_value!(basefee, "BASEFEE.", |frame, h| h.env().basefee);
push_value!(blobbasefee, "BLOBBASEFEE.", |frame, h| h
    .env()
    .blob_base_fee);
push_value!(selfbalance, "SELFBALANCE.", |frame, h| h
    .balance(frame.context.address)
    .0);

/// CALLDATALOAD: 32 bytes of call data, zero padded.
pub fn calldataload<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let top = frame.stack.top();
    let mut word = [0u8; 32];
    if let Some(offset) = as_u64(top) {
        let input = &frame.input;
        let start = (offset as usize).min(input.len());
        let end = start.saturating_add(32).min(input.len());
        word[..end - start].copy_from_slice(&input[start..end]);
    }
    *top = U256::from_big_endian(&word);
    Step::Continue
}

/// Pays copy gas and memory for a copy of `len` bytes to guest offset `dst`; returns the host range.
#[inline]
fn copy_target(frame: &mut Frame, dst: &U256, len: &U256) -> Result<(usize, usize), HaltReason> {
    if len.is_zero() {
        return Ok((0, 0));
    }
    let n = as_u64(len).ok_or(HaltReason::OutOfGas)?;
    let cost = gas::per_word(n, gas::COPY_WORD).ok_or(HaltReason::OutOfGas)?;
    if !frame.gas.charge(cost) {
        return Err(HaltReason::OutOfGas);
    }
    memory_range(frame, dst, len)
}

/// CALLDATACOPY.
pub fn calldatacopy<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let dst = frame.stack.pop();
    let src = frame.stack.pop();
    let len = frame.stack.pop();
    let (off, n) = try_halt!(frame, copy_target(frame, &dst, &len));
    let input = std::mem::take(&mut frame.input);
    copy_padded(frame, off, n, &input, &src);
    frame.input = input;
    Step::Continue
}

/// CODECOPY.
pub fn codecopy<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let dst = frame.stack.pop();
    let src = frame.stack.pop();
    let len = frame.stack.pop();
    let (off, n) = try_halt!(frame, copy_target(frame, &dst, &len));
    let code = frame.code.clone();
    copy_padded(frame, off, n, code.code(), &src);
    Step::Continue
}

/// RETURNDATACOPY: reading past the return data halts.
pub fn returndatacopy<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let dst = frame.stack.pop();
    let src = frame.stack.pop();
    let len = frame.stack.pop();
    let end = as_u64(&src)
        .zip(as_u64(&len))
        .and_then(|(s, l)| s.checked_add(l));
    if end.is_none_or(|e| e > frame.return_data.len() as u64) {
        frame.halt(HaltReason::ReturnDataOutOfBounds);
        return Step::Exit;
    }
    let (off, n) = try_halt!(frame, copy_target(frame, &dst, &len));
    let data = std::mem::take(&mut frame.return_data);
    copy_padded(frame, off, n, &data, &src);
    frame.return_data = data;
    Step::Continue
}

/// BALANCE.
pub fn balance<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    let address = to_address(&frame.stack.pop());
    let (value, cold) = host.balance(address);
    charge!(frame, gas::account_access(cold));
    try_halt!(frame, frame.take_host_growth(host));
    frame.stack.push(value);
    Step::Continue
}

/// EXTCODESIZE.
pub fn extcodesize<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    let address = to_address(&frame.stack.pop());
    let (code, cold) = host.code(address);
    charge!(frame, gas::account_access(cold));
    try_halt!(frame, frame.take_host_growth(host));
    frame.stack.push(U256::from(code.len()));
    Step::Continue
}

/// EXTCODEHASH.
pub fn extcodehash<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    let address = to_address(&frame.stack.pop());
    let (hash, cold) = host.code_hash(address);
    charge!(frame, gas::account_access(cold));
    try_halt!(frame, frame.take_host_growth(host));
    frame.stack.push(U256::from_big_endian(hash.as_bytes()));
    Step::Continue
}

/// EXTCODECOPY.
pub fn extcodecopy<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    let address = to_address(&frame.stack.pop());
    let dst = frame.stack.pop();
    let src = frame.stack.pop();
    let len = frame.stack.pop();
    let (code, cold) = host.code(address);
    charge!(frame, gas::account_access(cold));
    try_halt!(frame, frame.take_host_growth(host));
    let (off, n) = try_halt!(frame, copy_target(frame, &dst, &len));
    copy_padded(frame, off, n, &code, &src);
    Step::Continue
}

/// BLOCKHASH: the 256 blocks before the current one, else zero.
pub fn blockhash<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    let requested = frame.stack.pop();
    let current = host.env().number;
    let hash = match as_u64(&requested) {
        Some(n) if n < current && current - n <= 256 => {
            U256::from_big_endian(host.block_hash(n).as_bytes())
        }
        _ => U256::zero(),
    };
    frame.stack.push(hash);
    Step::Continue
}

/// BLOBHASH (EIP-4844).
pub fn blobhash<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    let top = frame.stack.top();
    let hashes = &host.env().blob_hashes;
    *top = match as_u64(top) {
        Some(i) if (i as usize) < hashes.len() => hashes[i as usize],
        _ => U256::zero(),
    };
    Step::Continue
}
