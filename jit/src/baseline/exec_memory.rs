//! Pages holding the baseline tier's machine code: mapped writable, filled, then made
//! read-and-execute (never both writable and executable), unmapped when dropped.

use crate::compile::CompileError;

/// Executable pages holding one unit's machine code.
pub struct ExecMemory {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the pages are immutable once made executable; nothing else aliases them.
unsafe impl Send for ExecMemory {}
// SAFETY: as above.
unsafe impl Sync for ExecMemory {}

impl ExecMemory {
    /// Maps `code` into fresh executable pages.
    pub fn new(code: &[u8]) -> Result<ExecMemory, CompileError> {
        let len = code.len().max(1);
        // SAFETY: an anonymous private mapping of fresh pages, checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(CompileError(format!(
                "could not map {len} bytes for machine code"
            )));
        }
        let memory = ExecMemory {
            ptr: ptr as *mut u8,
            len,
        };
        // SAFETY: the mapping is `len` writable bytes, `code` is at most that long.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), memory.ptr, code.len()) };
        // SAFETY: changes the protection of our own mapping.
        let made = unsafe { libc::mprotect(ptr, len, libc::PROT_READ | libc::PROT_EXEC) };
        if made != 0 {
            return Err(CompileError(
                "could not make machine code executable".to_string(),
            ));
        }
        Ok(memory)
    }

    /// The first byte of the code.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }
}

impl Drop for ExecMemory {
    fn drop(&mut self) {
        // SAFETY: our own mapping, which nothing runs any more (units are dropped only when
        // no runner holds them).
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}
