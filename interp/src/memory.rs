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

/// Bytes of memory buffers a thread keeps for the next frames: room for small ones and one
/// of up to 16 MiB. A contract that builds megabytes in memory (snailtracer's image: 7.6 MB)
/// otherwise reallocates its way there every run, copying what it has and faulting in fresh
/// pages for the kernel to zero.
const SPARE_BYTES: usize = 17 << 20;

thread_local! {
    /// Zeroed memory buffers dropped on this thread (see [`crate::spare`]).
    static SPARE: crate::spare::Pool<u8> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Host memory of one frame.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    /// Host memory, then zeros to the end of the buffer: room that growing takes without
    /// reallocating, which native code grows into inline ([`Memory::grow_in_place`]).
    data: Vec<u8>,
    /// Host size in bytes (a multiple of 32, at most `data.len()`).
    len: usize,
    reserved: usize,
}

impl Memory {
    /// A memory whose first `reserved` bytes (a multiple of 32) are the host's region.
    pub fn new(reserved: usize) -> Self {
        debug_assert!(reserved.is_multiple_of(32));
        // Room for the first words a contract uses (Solidity's scratch space and free memory
        // pointer, a few arguments) without growing the buffer a word at a time.
        let size = reserved + INITIAL_ROOM;
        Memory {
            data: crate::spare::take(&SPARE, |b| b.len() >= size).unwrap_or_else(|| vec![0; size]),
            len: reserved,
            reserved,
        }
    }

    /// Host size in bytes (always a multiple of 32).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether host memory is empty (only in `evm` before any access).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Guest MSIZE: host size less the reserved region.
    #[inline]
    pub fn guest_size(&self) -> usize {
        self.len - self.reserved
    }

    /// Gas to grow host memory so that it covers `[0, end)` (saturating at `u64::MAX`); zero
    /// when it already does. Growing past the frame's budget is refused separately, after gas.
    #[inline]
    pub fn expansion_cost(&self, end: u64) -> u64 {
        if end <= self.len as u64 {
            return 0;
        }
        let old_words = (self.len / 32) as u64;
        gas::memory_cost(gas::words(end)).saturating_sub(gas::memory_cost(old_words))
    }

    /// Grows host memory to cover `[0, end)`, rounded up to whole words (gas already paid),
    /// keeping spare room in the buffer only up to `limit` bytes.
    #[inline]
    pub fn grow(&mut self, end: u64, limit: u64) {
        let new_len = (gas::words(end) * 32) as usize;
        if new_len > self.len {
            if new_len > self.data.len() {
                // Room for as much again: a frame growing a word at a time reallocates only
                // log n times, and native code grows in place meanwhile.
                let limit = usize::try_from(limit).unwrap_or(usize::MAX);
                let room = self.data.len().saturating_mul(2).min(limit);
                let want = new_len.max(room);
                match crate::spare::take(&SPARE, |b| b.len() >= want) {
                    Some(mut kept) => {
                        kept[..self.len].copy_from_slice(&self.data[..self.len]);
                        let old = std::mem::replace(&mut self.data, kept);
                        recycle(old, self.len);
                    }
                    None => self.data.resize(want, 0),
                }
            }
            self.len = new_len;
        }
    }

    /// Bytes of buffer: host memory can grow this far without reallocating.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// Sets the host size to `new_len` after native code grew memory within the buffer (gas
    /// paid): a multiple of 32, from the current size up to [`Memory::capacity`]. Other sizes
    /// are a bug of the caller and are ignored (debug builds panic).
    #[inline]
    pub fn grow_in_place(&mut self, new_len: usize) {
        let valid = new_len >= self.len && new_len <= self.data.len() && new_len.is_multiple_of(32);
        debug_assert!(valid, "native memory size {new_len} of {}", self.len);
        if valid {
            // The room past the old size is zeros already.
            self.len = new_len;
        }
    }

    /// The host bytes `[offset, offset + len)`; the range must already be inside memory.
    #[inline]
    pub fn slice(&self, offset: usize, len: usize) -> &[u8] {
        debug_assert!(offset + len <= self.len);
        &self.data[offset..offset + len]
    }

    /// The host bytes `[offset, offset + len)`, mutable; the range must already be inside memory.
    #[inline]
    pub fn slice_mut(&mut self, offset: usize, len: usize) -> &mut [u8] {
        debug_assert!(offset + len <= self.len);
        &mut self.data[offset..offset + len]
    }

    /// Copies `src` to `offset`, zero-filling the rest of `len` bytes (for copies past a source's end).
    pub fn set_padded(&mut self, offset: usize, len: usize, src: &[u8]) {
        debug_assert!(offset + len <= self.len);
        let n = src.len().min(len);
        self.data[offset..offset + n].copy_from_slice(&src[..n]);
        self.data[offset + n..offset + len].fill(0);
    }

    /// Moves `len` bytes from `src` to `dst` within memory (MCOPY).
    pub fn copy_within(&mut self, src: usize, dst: usize, len: usize) {
        debug_assert!(src.max(dst) + len <= self.len);
        self.data.copy_within(src..src + len, dst);
    }

    /// The whole host memory, reserved region included.
    pub fn as_slice(&self) -> &[u8] {
        &self.data[..self.len]
    }

    /// The buffer's address, for native code's in-bounds loads and stores (valid until the
    /// buffer is next reallocated: growing past [`Memory::capacity`]).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.data.as_mut_ptr()
    }

    /// The host memory's bytes: a copy when the buffer is small enough for the thread's
    /// spares to keep it for the next frame (growing into fresh pages costs more than the
    /// copy), the buffer itself otherwise (a copy of a big memory would double the run's
    /// peak).
    pub fn into_bytes(self) -> Vec<u8> {
        if self.data.len() <= SPARE_BYTES / 2 {
            self.as_slice().to_vec()
        } else {
            self.into_vec()
        }
    }

    /// The host memory buffer, without copying.
    pub fn into_vec(mut self) -> Vec<u8> {
        let mut data = std::mem::take(&mut self.data);
        data.truncate(self.len);
        data
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        recycle(std::mem::take(&mut self.data), self.len);
    }
}

/// Keeps `data`, of which the first `used` bytes were written, for a later frame, zeroed
/// again there (the room past them is zeros already).
fn recycle(data: Vec<u8>, used: usize) {
    if !data.is_empty() {
        crate::spare::give(&SPARE, data, SPARE_BYTES, |d| d[..used].fill(0));
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

    #[test]
    fn growth_keeps_zeroed_room_and_native_growth_stays_inside_it() {
        let mut m = Memory::new(0);
        m.grow(1, MEMORY_LIMIT);
        assert_eq!((m.len(), m.as_slice()), (32, &[0u8; 32][..]));
        m.slice_mut(0, 32).fill(0xaa);
        let room = m.capacity();
        assert_eq!(room, INITIAL_ROOM);
        // Past the room: reallocated with as much again, zeros after the old contents.
        m.grow(room as u64 + 1, MEMORY_LIMIT);
        assert_eq!(m.len(), room + 32);
        assert_eq!(m.capacity(), 2 * room);
        assert!(m.as_slice()[..32].iter().all(|&b| b == 0xaa));
        assert!(m.as_slice()[32..].iter().all(|&b| b == 0));
        // Native growth within the room, seen as zeros.
        let cap = m.capacity();
        m.grow_in_place(cap);
        assert_eq!(m.len(), cap);
        assert!(m.as_slice()[32..].iter().all(|&b| b == 0));
        assert_eq!(m.clone().into_vec().len(), cap);
    }

    #[test]
    fn a_reused_buffer_comes_back_zeroed() {
        // Memories written all over and dropped on this thread, then new ones (in `hyvm`,
        // with the reserved region): each must read as zeros to the end of its room.
        for round in 0..3 {
            let mut m = Memory::new(0x340);
            let end = 0x340 + 4096 * (round + 1);
            m.grow(end as u64, MEMORY_LIMIT);
            let len = m.len();
            m.slice_mut(0, len).fill(0xff);
            drop(m);
            let mut fresh = Memory::new(0x340);
            assert_eq!(fresh.len(), 0x340);
            let room = fresh.capacity();
            assert!(room >= 0x340 + INITIAL_ROOM);
            fresh.grow_in_place(room);
            assert!(fresh.as_slice().iter().all(|&b| b == 0), "round {round}");
        }
    }

    #[test]
    fn a_memory_outgrowing_its_buffer_takes_a_kept_big_one_with_its_bytes() {
        // A frame grows to 1 MiB, writes all of it, and is dropped after a small one: both
        // buffers are kept, the small one on top.
        let small = Memory::new(0x340);
        let mut first = Memory::new(0);
        first.grow(1 << 20, MEMORY_LIMIT);
        let len = first.len();
        first.slice_mut(0, len).fill(0xab);
        let kept = first.data.as_ptr();
        drop(first);
        drop(small);
        // The next frame starts in the small buffer, writes some words, then grows past it:
        // it moves into the kept big buffer, its words with it, and the rest reads as zeros.
        let mut next = Memory::new(0x340);
        next.grow(0x340 + 64, MEMORY_LIMIT);
        next.slice_mut(0x340, 64).fill(0x5b);
        next.grow(200_000, MEMORY_LIMIT);
        assert_eq!(next.data.as_ptr(), kept, "the big buffer is reused");
        let room = next.capacity();
        assert!(room >= 1 << 20);
        next.grow_in_place(room);
        let bytes = next.as_slice();
        assert!(bytes[..0x340].iter().all(|&b| b == 0));
        assert!(bytes[0x340..0x380].iter().all(|&b| b == 0x5b));
        assert!(bytes[0x380..].iter().all(|&b| b == 0), "zeroed again");
    }
}
