//! `run_batch`'s input and output for [`nestedvm::batch::serve`]: the requests written as
//! lines, and the answer lines read into Python values, by the threads answering them.
//!
//! Writing a request and reading an answer need the GIL; running a request does not. Done
//! before and after `serve`, the conversions were one thread's work on either side of the
//! runs, and two jobs gained nothing on small requests. Here `serve`'s threads do them as
//! they read and write (each taking the GIL for a chunk of lines), so with two jobs one
//! thread converts while the other runs.

use crate::{answer, request};
use pyo3::prelude::*;
use std::io;

/// Bytes of request lines written per turn with the GIL: enough for the threads' next
/// chunk of small requests, few enough that a thread waiting for lines is not kept long.
const READ_TURN: usize = 16 << 10;

/// Bytes of answers gathered before they are read into Python values in one turn with the
/// GIL (at the end, whatever is left).
const WRITE_TURN: usize = 16 << 10;

/// The requests as batch lines, written a chunk at a time as `serve` reads.
pub struct Requests<'a> {
    requests: &'a [Py<PyAny>],
    next: usize,
    text: Vec<u8>,
    at: usize,
    /// Why writing a request failed (raised by `run_batch`; `serve` sees a read error).
    pub error: Option<PyErr>,
}

impl<'a> Requests<'a> {
    /// The lines of `requests`, none written yet.
    pub fn new(requests: &'a [Py<PyAny>]) -> Self {
        Requests {
            requests,
            next: 0,
            text: Vec::new(),
            at: 0,
            error: None,
        }
    }

    /// Writes the next requests' lines into `text`, with the GIL.
    fn refill(&mut self) -> PyResult<()> {
        self.text.clear();
        self.at = 0;
        Python::attach(|py| {
            while self.text.len() < READ_TURN && self.next < self.requests.len() {
                let line = request::line(py, self.requests[self.next].bind(py))?;
                // A JSON text written on one line is never blank: one answer a request.
                self.text.extend_from_slice(line.as_bytes());
                self.text.push(b'\n');
                self.next += 1;
            }
            Ok(())
        })
    }
}

impl io::Read for Requests<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.text.len() && self.error.is_none() {
            if let Err(e) = self.refill() {
                self.error = Some(e);
            }
        }
        if self.error.is_some() {
            return Err(io::Error::other("a request could not be written"));
        }
        let n = buf.len().min(self.text.len() - self.at);
        buf[..n].copy_from_slice(&self.text[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

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
