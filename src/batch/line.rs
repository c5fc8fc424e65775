//! Request lines read as raw bytes, a line too long dropped whole.

use std::io::{self, BufRead};
use std::ops::Range;

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

impl Line {
    /// Its bytes, or for a line over the limit its length.
    pub fn as_read(&self) -> Result<&[u8], usize> {
        match self {
            Line::Request(bytes) => Ok(bytes),
            Line::TooLong(len) => Err(*len),
        }
    }
}

/// Reads the next line of `input`, keeping at most `max` bytes of it; `None` at the end of
/// the input. A longer line is read to its end and dropped, so the next call starts on the
/// line after it.
pub fn read_line(input: &mut impl BufRead, max: usize) -> io::Result<Option<Line>> {
    let mut kept = Vec::new();
    Ok(
        read_line_into(input, max, &mut kept)?.map(|line| match line {
            Ok(_) => Line::Request(kept),
            Err(len) => Line::TooLong(len),
        }),
    )
}

/// [`read_line`] onto the end of `buf`, so that many lines share one buffer: where the
/// line's bytes are in it, or for a line over the limit its length (nothing of it kept).
pub fn read_line_into(
    input: &mut impl BufRead,
    max: usize,
    buf: &mut Vec<u8>,
) -> io::Result<Option<Result<Range<usize>, usize>>> {
    let start = buf.len();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
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
            buf.extend_from_slice(chunk);
        } else {
            buf.truncate(start);
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
    if len > max {
        return Ok(Some(Err(len)));
    }
    if buf.len() > start && buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(Ok(start..buf.len())))
}
