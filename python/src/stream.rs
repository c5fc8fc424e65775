//! `run_batch`'s output for [`nestedvm::batch::serve`]: the answer lines read into Python
//! values by the threads answering them.
//!
//! Reading an answer needs the GIL; running a request does not. Done after `serve`, reading
//! the answers was one thread's work after the runs, and two jobs gained little on small
//! requests. Here `serve`'s thread writing the answers in order reads them, taking the GIL
//! for a turn of lines, while the other threads run.
//!
//! The requests are written before `serve`, on the calling thread: written by `serve`'s
//! threads as they read, a turn at a time, the writing thread and the reading one took the
//! GIL in turn and two jobs ran one at a time (measured: CPU time equal to wall time).

use crate::answer;
use pyo3::prelude::*;
use std::io;

/// Bytes of answers gathered before they are read into Python values in one turn with the
/// GIL (at the end, whatever is left).
const WRITE_TURN: usize = 16 << 10;

/// The answers `serve` writes, read into Python values a turn at a time.
pub struct Answers {
    /// Answer text not yet read (whole lines once a turn has been read).
    text: Vec<u8>,
    /// The values of the answers read, in order.
    pub results: Vec<Py<PyAny>>,
    /// Why reading an answer failed (raised by `run_batch`; `serve` sees a write error).
    pub error: Option<PyErr>,
}

impl Answers {
    /// No answer yet.
    pub fn new() -> Self {
        Answers {
            text: Vec::new(),
            results: Vec::new(),
            error: None,
        }
    }

    /// Reads every whole line gathered into Python values, with the GIL.
    pub fn read_lines(&mut self) -> PyResult<()> {
        let Some(end) = self.text.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let text = std::str::from_utf8(&self.text[..end])
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        Python::attach(|py| {
            for line in text.split('\n') {
                self.results.push(answer::parse(py, line)?.unbind());
            }
            Ok::<_, PyErr>(())
        })?;
        self.text.drain(..=end);
        Ok(())
    }
}

impl io::Write for Answers {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Err(io::Error::other("an answer could not be read"));
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    /// `serve` flushes after the answers it has in order: a turn of reading them once
    /// enough are gathered, so that reading runs beside the other threads' runs.
    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_none() && self.text.len() >= WRITE_TURN {
            if let Err(e) = self.read_lines() {
                self.error = Some(e);
            }
        }
        if self.error.is_some() {
            return Err(io::Error::other("an answer could not be read"));
        }
        Ok(())
    }
}
