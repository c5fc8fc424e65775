//! The run's memory budget as a frame sees it.
//!
//! A run may hold [`crate::memory::MEMORY_LIMIT`] bytes of buffers in all (by default): the
//! memory of every frame, their call data and return data, the output being returned, logs,
//! the world's journal, and the analysis of `hyvm` guest code. The driver knows what every
//! other frame holds, so it gives the running frame what is left as
//! [`Frame::memory_limit`] when the frame (re)starts. While the frame runs, the frame itself
//! takes from that limit whatever else it makes the run hold: a copy out of its memory, or
//! what the host grew on its behalf. Going past the limit halts the frame with
//! [`HaltReason::MemoryLimit`]. Every check compares lengths, never buffer capacities, so
//! the halts fall at the same instruction on every engine.

use crate::frame::{Frame, HaltReason};
use crate::host::Host;

/// Heap bytes the analysis of one byte of code may take at its peak, for [`Bytecode`]
/// (padded and shared copies, jump destinations) and the interpreter's block tables of two
/// specs, with the decoder's scratch while it runs (a block per byte at worst: code of
/// `STOP`s). The driver counts a `hyvm` guest's code at this rate, since guest code can be
/// as long as memory the guest paid for; contract code is bounded by EIP-170 instead.
///
/// [`Bytecode`]: crate::Bytecode
pub const ANALYSIS_BYTES_PER_CODE_BYTE: u64 = 64;

impl Frame {
    /// Checks that a copy of `len` bytes out of memory (an output, log data, call data) fits
    /// beside memory in the frame's limit. The copy is not taken from the limit: once made,
    /// it belongs to whoever holds it next, which the driver counts.
    #[inline]
    pub fn reserve_copy(&self, len: usize) -> Result<(), HaltReason> {
        let held = (self.memory.len() as u64).saturating_add(len as u64);
        if held > self.memory_limit {
            return Err(HaltReason::MemoryLimit);
        }
        Ok(())
    }

    /// Takes from the frame's limit what `host` grew since the frame last looked (journal
    /// entries, logs, deposited code: [`Host::held_bytes`]), and halts the frame when its
    /// memory no longer fits.
    #[inline]
    pub fn take_host_growth<H: Host>(&mut self, host: &H) -> Result<(), HaltReason> {
        let held = host.held_bytes();
        if held > self.host_held {
            let grown = held - self.host_held;
            let room = self.memory_limit.saturating_sub(self.memory.len() as u64);
            if grown > room {
                return Err(HaltReason::MemoryLimit);
            }
            self.memory_limit -= grown;
            self.host_held = held;
        }
        Ok(())
    }

    /// Sets the frame's limit to what is left of `budget` when everything but its memory
    /// holds `others` bytes, `host_held` of them the host's. Fails when the frame's memory
    /// does not fit beside the others.
    #[inline]
    pub fn set_memory_budget(
        &mut self,
        budget: u64,
        others: u64,
        host_held: u64,
    ) -> Result<(), HaltReason> {
        self.memory_limit = budget.saturating_sub(others);
        self.host_held = host_held;
        if others.saturating_add(self.memory.len() as u64) > budget {
            return Err(HaltReason::MemoryLimit);
        }
        Ok(())
    }
}
