//! Frame memory: one buffer holding the reserved host region followed by guest memory.
//!
//! In `evm` the reserved region is empty. In `hyvm` it is the hypervisor's own 0x340 (or 0x460)
//! bytes: the execution pointer, the opcode jump table and scratch space, so that memory
//! expansion and MSIZE are computed on host memory exactly as on chain.

use crate::gas;

/// The most host memory all frames of one run may hold together; growing past it halts the
/// growing frame with `memory_limit`. One frame reaching it pays about 2.2e12 gas, far beyond
/// any block; the shared budget keeps 1024 nested frames from each taking that much.
pub const MEMORY_LIMIT: u64 = 1 << 30;

/// Guest memory a new frame has room for before its buffer is reallocated.
const INITIAL_ROOM: usize = 1024;

/// Host memory of one frame.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    data: Vec<u8>,
    reserved: usize,
}

impl Memory {
    /// A memory whose first `reserved` bytes (a multiple of 32) are the host's region.
    pub fn new(reserved: usize) -> Self {
        debug_assert!(reserved.is_multiple_of(32));
        // Room for the first words a contract uses (Solidity's scratch space and free memory
        // pointer, a few arguments) without growing the buffer a word at a time.
        let mut data = Vec::with_capacity(reserved + INITIAL_ROOM);
        data.resize(reserved, 0);
        Memory { data, reserved }
    }

    /// Host size in bytes (always a multiple of 32).
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether host memory is empty (only in `evm` before any access).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Guest MSIZE: host size less the reserved region.
    #[inline]
    pub fn guest_size(&self) -> usize {
        self.data.len() - self.reserved
    }

    /// Gas to grow host memory so that it covers `[0, end)` (saturating at `u64::MAX`); zero
    /// when it already does. Growing past the frame's budget is refused separately, after gas.
    #[inline]
    pub fn expansion_cost(&self, end: u64) -> u64 {
        if end <= self.data.len() as u64 {
            return 0;
        }
        let old_words = (self.data.len() / 32) as u64;
        gas::memory_cost(gas::words(end)).saturating_sub(gas::memory_cost(old_words))
    }

    /// Grows host memory to cover `[0, end)`, rounded up to whole words (gas already paid).
    #[inline]
    pub fn grow(&mut self, end: u64) {
        let new_len = (gas::words(end) * 32) as usize;
        if new_len > self.data.len() {
            self.data.resize(new_len, 0);
        }
    }

    /// The host bytes `[offset, offset + len)`; the range must already be inside memory.
    #[inline]
    pub fn slice(&self, offset: usize, len: usize) -> &[u8] {
        &self.data[offset..offset + len]
    }

    /// The host bytes `[offset, offset + len)`, mutable; the range must already be inside memory.
    #[inline]
    pub fn slice_mut(&mut self, offset: usize, len: usize) -> &mut [u8] {
        &mut self.data[offset..offset + len]
    }

    /// Copies `src` to `offset`, zero-filling the rest of `len` bytes (for copies past a source's end).
    pub fn set_padded(&mut self, offset: usize, len: usize, src: &[u8]) {
        let n = src.len().min(len);
        self.data[offset..offset + n].copy_from_slice(&src[..n]);
        self.data[offset + n..offset + len].fill(0);
    }

    /// Moves `len` bytes from `src` to `dst` within memory (MCOPY).
    pub fn copy_within(&mut self, src: usize, dst: usize, len: usize) {
        self.data.copy_within(src..src + len, dst);
    }

    /// The whole host memory, reserved region included.
    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }

    /// The buffer's address, for native code's in-bounds loads and stores (valid until the
    /// memory next grows).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.data.as_mut_ptr()
    }

    /// The host memory buffer, without copying.
    pub fn into_vec(self) -> Vec<u8> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_is_charged_on_host_words() {
        let evm = Memory::new(0);
        assert_eq!(evm.expansion_cost(32), 3);
        let hyvm = Memory::new(0x340);
        // 26 host words are already there: the 27th costs memory_cost(27) - memory_cost(26).
        assert_eq!(hyvm.expansion_cost(0x340 + 32), 3 * 27 + 27 * 27 / 512 - 79);
        assert_eq!(hyvm.expansion_cost(0x340), 0);
        assert!(
            hyvm.expansion_cost(u64::MAX) > 1 << 62,
            "unaffordable, without overflow"
        );
        assert_eq!(hyvm.guest_size(), 0);
    }
}
