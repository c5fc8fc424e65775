//! The operand stack: 1024 words, its bounds checked by the loop from the spec's tables (once
//! per block, or per instruction where a block's check fails), so the accessors here do not
//! check again.

use crate::{STACK_LIMIT, U256};

/// An EVM operand stack.
#[derive(Debug)]
pub struct Stack {
    data: Vec<U256>,
}

thread_local! {
    /// Stack buffers dropped on this thread (see [`crate::spare`]).
    static SPARE: crate::spare::Pool<U256> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Clone for Stack {
    fn clone(&self) -> Self {
        // With the full room: native code relies on it.
        let mut copy = Stack::new();
        copy.data.extend_from_slice(&self.data);
        copy
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let data = std::mem::take(&mut self.data);
        if data.capacity() >= STACK_LIMIT {
            // Stacks are all alike: the pool's count bounds them.
            crate::spare::give(&SPARE, data, usize::MAX, Vec::clear);
        }
    }
}

impl Default for Stack {
    fn default() -> Self {
        Self::new()
    }
}

impl Stack {
    /// An empty stack with room for the full 1024 items.
    pub fn new() -> Self {
        Stack {
            data: crate::spare::take(&SPARE, |_| true)
                .unwrap_or_else(|| Vec::with_capacity(STACK_LIMIT)),
        }
    }

    /// Number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the stack is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The items, bottom first.
    pub fn as_slice(&self) -> &[U256] {
        &self.data
    }

    /// Pushes a word; the loop has checked there is room.
    #[inline(always)]
    pub fn push(&mut self, v: U256) {
        debug_assert!(self.data.len() < STACK_LIMIT);
        self.data.push(v);
    }

    /// Pops the top word; the loop has checked it exists.
    #[inline(always)]
    pub fn pop(&mut self) -> U256 {
        debug_assert!(!self.data.is_empty());
        let top = self.data.last().map(limbwise).unwrap_or_default();
        self.data.pop();
        top
    }

    /// The top word, mutable; the loop has checked it exists.
    #[inline(always)]
    pub fn top(&mut self) -> &mut U256 {
        let n = self.data.len();
        debug_assert!(n > 0);
        &mut self.data[n - 1]
    }

    /// The `n`th word from the top (0 = top).
    #[inline(always)]
    pub fn peek(&self, n: usize) -> U256 {
        self.data[self.data.len() - 1 - n]
    }

    /// Duplicates the `n`th word (1 = top).
    #[inline(always)]
    pub fn dup(&mut self, n: usize) {
        let v = limbwise(&self.data[self.data.len() - n]);
        self.data.push(v);
    }

    /// Swaps the top with the `n`th word below it.
    #[inline(always)]
    pub fn swap(&mut self, n: usize) {
        let len = self.data.len();
        let (below, top) = (
            limbwise(&self.data[len - 1 - n]),
            limbwise(&self.data[len - 1]),
        );
        self.data[len - 1] = below;
        self.data[len - 1 - n] = top;
    }

    /// The buffer (room for 1024 items, never reallocated) and the item count, for native
    /// code that reads and writes the stack in place.
    pub fn raw_parts(&mut self) -> (*mut U256, usize) {
        (self.data.as_mut_ptr(), self.data.len())
    }

    /// Sets the item count after native code has written the items below it.
    ///
    /// # Safety
    /// `len` is at most 1024 and every item below it has been written.
    pub unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= self.data.capacity());
        // SAFETY: the caller guarantees the items are initialised and within capacity.
        unsafe { self.data.set_len(len) }
    }
}

/// A copy of `word` read one 64-bit limb at a time. Words on the stack are mostly written a
/// limb at a time (arithmetic results, PUSH immediates); a wider read of a word just written
/// that way cannot be forwarded from the store buffer and stalls, which made DUP and SWAP
/// the interpreter's costliest instructions. Volatile keeps the compiler from merging the
/// reads back into wide ones. The same holds for a word a called function returned through
/// memory: read it this way before storing it.
#[inline(always)]
pub fn limbwise(word: &U256) -> U256 {
    // SAFETY: each pointer comes from a reference to a live, aligned u64.
    U256(
        word.0
            .each_ref()
            .map(|limb| unsafe { std::ptr::read_volatile(limb) }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_buffer_starts_empty_with_the_full_room() {
        let mut s = Stack::new();
        for i in 0..10 {
            s.push(U256::from(i));
        }
        // A copy of a partly filled stack has the full room too (a derived clone would not).
        let copy = s.clone();
        assert_eq!(copy.as_slice(), s.as_slice());
        assert!(copy.data.capacity() >= STACK_LIMIT);
        drop(s);
        drop(copy);
        for _ in 0..3 {
            let s = Stack::new();
            assert!(s.is_empty());
            assert!(s.data.capacity() >= STACK_LIMIT);
        }
    }
}
