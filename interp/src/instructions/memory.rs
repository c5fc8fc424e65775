//! MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY: offsets go through the profile's rewrite.

use super::{as_u64, charge, memory_range, try_halt, Step};
use crate::frame::Frame;
use crate::gas;
use crate::host::Host;
use crate::U256;

const WORD: U256 = U256([32, 0, 0, 0]);

/// MLOAD.
pub fn mload<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let offset = frame.stack.pop();
    let (off, _) = try_halt!(frame, memory_range(frame, &offset, &WORD));
    let value = U256::from_big_endian(frame.memory.slice(off, 32));
    frame.stack.push(value);
    Step::Continue
}

/// MSTORE.
pub fn mstore<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let offset = frame.stack.pop();
    let value = frame.stack.pop();
    let (off, _) = try_halt!(frame, memory_range(frame, &offset, &WORD));
    frame
        .memory
        .slice_mut(off, 32)
        .copy_from_slice(&value.to_big_endian());
    Step::Continue
}

/// MSTORE8.
pub fn mstore8<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let offset = frame.stack.pop();
    let value = frame.stack.pop();
    let (off, _) = try_halt!(frame, memory_range(frame, &offset, &U256::one()));
    frame.memory.slice_mut(off, 1)[0] = value.byte(0);
    Step::Continue
}

/// MSIZE: guest memory size (host size less the reserved region).
pub fn msize<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.stack.push(U256::from(frame.memory.guest_size()));
    Step::Continue
}

/// MCOPY (EIP-5656).
pub fn mcopy<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let dst = frame.stack.pop();
    let src = frame.stack.pop();
    let len = frame.stack.pop();
    if len.is_zero() {
        return Step::Continue;
    }
    let n = as_u64(&len).unwrap_or(u64::MAX);
    charge!(frame, gas::per_word(n, gas::COPY_WORD).unwrap_or(u64::MAX));
    // Memory must cover both ranges: pay for the farther one.
    let (src_off, _) = try_halt!(frame, memory_range(frame, &src, &len));
    let (dst_off, n) = try_halt!(frame, memory_range(frame, &dst, &len));
    frame.memory.copy_within(src_off, dst_off, n);
    Step::Continue
}
