//! POP, PUSH0-PUSH32, DUP1-16, SWAP1-16.

use super::Step;
use crate::frame::Frame;
use crate::host::Host;

use crate::U256;

/// The opcode being executed (the loop has already moved `pc` past it).
#[inline(always)]
pub(crate) fn current_opcode(frame: &Frame) -> u8 {
    frame.code.padded()[frame.pc - 1]
}

/// POP.
pub fn pop<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.stack.pop();
    Step::Continue
}

/// PUSH0.
pub fn push0<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.stack.push(U256::zero());
    Step::Continue
}

/// PUSH1-PUSH32 (`N` immediate bytes): the immediate is zero padded past the end of code.
/// One function per size, so the word is assembled from whole 64-bit loads of the code.
pub fn push<const N: usize, H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let value = immediate::<N>(frame.code.padded(), frame.pc);
    frame.stack.push(value);
    frame.pc += N;
    Step::Continue
}

/// The `N`-byte big-endian immediate at `start`; the code's padding holds its tail.
#[inline(always)]
pub(crate) fn immediate<const N: usize>(code: &[u8], start: usize) -> U256 {
    let end = start + N;
    let mut limbs = [0u64; 4];
    for (k, limb) in limbs.iter_mut().enumerate().take(N.div_ceil(8)) {
        let limb_end = end - 8 * k;
        let bytes = (N - 8 * k).min(8);
        // Eight bytes ending at the limb's end, then the ones below it masked off: no byte
        // loop, and the loads never straddle a fresh store.
        *limb = match limb_end
            .checked_sub(8)
            .and_then(|from| code.get(from..limb_end))
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
        {
            Some(w) if bytes == 8 => u64::from_be_bytes(w),
            Some(w) => u64::from_be_bytes(w) & ((1u64 << (8 * bytes)) - 1),
            None => code
                .get(limb_end.saturating_sub(bytes)..limb_end)
                .map_or(0, |b| b.iter().fold(0u64, |acc, x| acc << 8 | *x as u64)),
        };
    }
    U256(limbs)
}

/// DUP1-DUP16.
pub fn dup<const N: usize, H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.stack.dup(N);
    Step::Continue
}

/// SWAP1-SWAP16.
pub fn swap<const N: usize, H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.stack.swap(N);
    Step::Continue
}
