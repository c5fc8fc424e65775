//! MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY: offsets go through the profile's rewrite.

use super::{as_u64, charge, host_offset, memory_range, try_halt, Step};
use crate::frame::Frame;
use crate::frame::HaltReason;
use crate::gas;
use crate::host::Host;
use crate::U256;

const WORD: U256 = U256([32, 0, 0, 0]);

/// MLOAD.
pub fn mload<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let offset = frame.stack.pop();
    let off = try_halt!(frame, word_range(frame, &offset));
    let value = load_word(frame, off);
    frame.stack.push(value);
    Step::Continue
}

/// MSTORE.
pub fn mstore<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let offset = frame.stack.pop();
    let value = frame.stack.pop();
    let off = try_halt!(frame, word_range(frame, &offset));
    store_word(frame, off, &value);
    Step::Continue
}

/// The word at host offset `off`, inside memory: what MLOAD pushes.
#[inline(always)]
pub(crate) fn load_word(frame: &Frame, off: usize) -> U256 {
    word_from_be(frame.memory.slice(off, 32))
}

/// Writes `value` at host offset `off`, inside memory: what MSTORE does.
#[inline(always)]
pub(crate) fn store_word(frame: &mut Frame, off: usize, value: &U256) {
    frame
        .memory
        .slice_mut(off, 32)
        .copy_from_slice(&word_to_be(value));
}

/// The host offset of the word at guest `offset` when it is already inside memory (no
/// growth, nothing to pay), the common case of MLOAD and MSTORE.
#[inline(always)]
pub(crate) fn word_in_memory(frame: &Frame, offset: &U256) -> Option<usize> {
    let off = host_offset(frame.spec, offset)?;
    off.checked_add(32)
        .is_some_and(|end| end <= frame.memory.len() as u64)
        .then_some(off as usize)
}

/// The host offset of the word at guest `offset`: without a call into the general range
/// code when the word is already inside memory.
#[inline(always)]
fn word_range(frame: &mut Frame, offset: &U256) -> Result<usize, HaltReason> {
    match word_in_memory(frame, offset) {
        Some(off) => Ok(off),
        None => memory_range(frame, offset, &WORD).map(|(off, _)| off),
    }
}

/// A 32-byte big-endian word, read as four 64-bit loads.
#[inline(always)]
fn word_from_be(bytes: &[u8]) -> U256 {
    let limb = |i: usize| {
        bytes
            .get(i..i + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes)
    };
    U256([limb(24), limb(16), limb(8), limb(0)])
}

/// A word as 32 big-endian bytes, written as four 64-bit stores.
#[inline(always)]
fn word_to_be(word: &U256) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, limb) in out.chunks_exact_mut(8).zip(word.0.iter().rev()) {
        chunk.copy_from_slice(&limb.to_be_bytes());
    }
    out
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
