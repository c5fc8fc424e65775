//! Request lines read as raw bytes, a line too long dropped whole.

use std::io::{self, BufRead};

/// The longest request line read (64 MiB): room for the longest code (1 MiB, 2 MiB as hex)
/// with a large pre-state, while a stream without line breaks cannot take the memory.
pub const MAX_LINE_LEN: usize = 64 << 20;

/// One line of a batch stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// The line's bytes, without the line break.
    Request(Vec<u8>),
    /// A line longer than the limit, of this many bytes; none of it was kept.
    TooLong(usize),
}

/// Reads the next line of `input`, keeping at most `max` bytes of it; `None` at the end of
/// the input. A longer line is read to its end and dropped, so the next call starts on the
/// line after it.
pub fn read_line(input: &mut impl BufRead, max: usize) -> io::Result<Option<Line>> {
    let mut kept = Vec::new();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        any = true;
        let (chunk, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], true),
            None => (available, false),
        };
        if len + chunk.len() <= max {
            kept.extend_from_slice(chunk);
        } else {
            kept = Vec::new();
        }
        len += chunk.len();
        let used = chunk.len() + usize::from(ends);
        input.consume(used);
        if ends {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if kept.last() == Some(&b'\r') {
        kept.pop();
    }
    Ok(Some(if len > max {
        Line::TooLong(len)
    } else {
        Line::Request(kept)
    }))
}
