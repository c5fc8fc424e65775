//! An answer line of the batch protocol as the Python values `json.loads` gives for it,
//! built here while reading the text: objects as dicts (a repeated key keeps its first place
//! and its last value), arrays as lists, integers exact at any size, other numbers as floats.
//!
//! Answers are the library's own JSON (hex strings, small integers, the echoed id), which
//! this reads in one pass without the scanner's per-value machinery of `json.loads`, a large
//! part of a small `run` and most of one with thousands of logs. Text this does not read
//! (what no answer holds: `NaN`, a lone surrogate) is handed to `json.loads` whole.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};

/// Nesting past which the line is left to `json.loads` (answers hold the id as given, which
/// the batch reads only to 128 deep, and call trees under the EVM's 1024 frames).
const MAX_DEPTH: usize = 2048;

/// The Python values of one answer line, as `json.loads(line)` gives them.
pub fn parse<'py>(py: Python<'py>, line: &str) -> PyResult<Bound<'py, PyAny>> {
    let mut reader = Reader {
        py,
        line,
        text: line.as_bytes(),
        at: 0,
        keys: Vec::new(),
    };
    match reader.value(0) {
        Ok(Some(v)) if reader.skip_space().is_none() => Ok(v),
        Ok(_) => json_loads(py, line),
        Err(e) => Err(e),
    }
}

/// `json.loads(line)`.
fn json_loads<'py>(py: Python<'py>, line: &str) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    LOADS.import(py, "json", "loads")?.call1((line,))
}

/// The text being read. `Ok(None)` from a reading method means "not read here": the line
/// goes to `json.loads`; `Err` is a Python error building a value.
struct Reader<'py, 't> {
    py: Python<'py>,
    /// The line, and the same as bytes: a string between quotes is taken from `line` as it
    /// is (its ends are ASCII quotes, so it is UTF-8 already).
    line: &'t str,
    text: &'t [u8],
    at: usize,
    /// Object keys made so far, reused: the keys of logs and storage repeat on every entry.
    keys: Vec<(&'t [u8], Bound<'py, PyString>)>,
}

type Read<'py> = PyResult<Option<Bound<'py, PyAny>>>;

impl<'py, 't> Reader<'py, 't> {
    /// Skips white space; the next byte, if any.
    fn skip_space(&mut self) -> Option<u8> {
        while let Some(&b) = self.text.get(self.at) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    fn value(&mut self, depth: usize) -> Read<'py> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let py = self.py;
        match self.skip_space() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(self.string()?.map(Bound::into_any)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => Ok(self
                .word(b"true")
                .then(|| PyBool::new(py, true).to_owned().into_any())),
            Some(b'f') => Ok(self
                .word(b"false")
                .then(|| PyBool::new(py, false).to_owned().into_any())),
            Some(b'n') => Ok(self.word(b"null").then(|| py.None().into_bound(py))),
            _ => Ok(None),
        }
    }

    /// Whether `word` is next (then read).
    fn word(&mut self, word: &[u8]) -> bool {
        let found = self.text[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    fn object(&mut self, depth: usize) -> Read<'py> {
        self.at += 1;
        let dict = PyDict::new(self.py);
        if self.skip_space() == Some(b'}') {
            self.at += 1;
            return Ok(Some(dict.into_any()));
        }
        loop {
            if self.skip_space() != Some(b'"') {
                return Ok(None);
            }
            let Some(key) = self.key()? else {
                return Ok(None);
            };
            if self.skip_space() != Some(b':') {
                return Ok(None);
            }
            self.at += 1;
            let Some(item) = self.value(depth + 1)? else {
                return Ok(None);
            };
            dict.set_item(key, item)?;
            match self.skip_space() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Some(dict.into_any()));
                }
                _ => return Ok(None),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Read<'py> {
        self.at += 1;
        let list = PyList::empty(self.py);
        if self.skip_space() == Some(b']') {
            self.at += 1;
            return Ok(Some(list.into_any()));
        }
        loop {
            let Some(item) = self.value(depth + 1)? else {
                return Ok(None);
            };
            list.append(item)?;
            match self.skip_space() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Some(list.into_any()));
                }
                _ => return Ok(None),
            }
        }
    }

    /// An object key: a string, the same object as an earlier key of the same text.
    fn key(&mut self) -> PyResult<Option<Bound<'py, PyString>>> {
        let start = self.at;
        let Some(key) = self.string()? else {
            return Ok(None);
        };
        let text = &self.text[start..self.at];
        // Answers have a handful of distinct keys; past that, no reuse is worth a search.
        if let Some((_, k)) = self.keys.iter().find(|(t, _)| *t == text) {
            return Ok(Some(k.clone()));
        }
        if self.keys.len() < 32 {
            self.keys.push((text, key.clone()));
        }
        Ok(Some(key))
    }

    /// A string, its escapes decoded.
    fn string(&mut self) -> PyResult<Option<Bound<'py, PyString>>> {
        self.at += 1;
        let start = self.at;
        // The common case: no escape, taken as it is.
        while let Some(&b) = self.text.get(self.at) {
            match b {
                b'"' => {
                    let s = &self.line[start..self.at];
                    self.at += 1;
                    return Ok(Some(PyString::new(self.py, s)));
                }
                b'\\' => break,
                0..=0x1f => return Ok(None),
                _ => self.at += 1,
            }
        }
        let mut s = self.line[start..self.at].to_string();
        loop {
            let Some(&b) = self.text.get(self.at) else {
                return Ok(None);
            };
            self.at += 1;
            match b {
                b'"' => return Ok(Some(PyString::new(self.py, &s))),
                b'\\' => {
                    let Some(&e) = self.text.get(self.at) else {
                        return Ok(None);
                    };
                    self.at += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let Some(c) = self.unicode_escape() else {
                                return Ok(None);
                            };
                            c
                        }
                        _ => return Ok(None),
                    };
                    s.push(c);
                }
                0..=0x1f => return Ok(None),
                _ => {
                    // A character of several bytes is copied byte by byte: the text is
                    // UTF-8, and `s` gets exactly its bytes.
                    let end = self.text[self.at..]
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                        .map_or(self.text.len(), |n| self.at + n);
                    s.push_str(&self.line[self.at - 1..end]);
                    self.at = end;
                }
            }
        }
    }

    /// The character of a `\uXXXX` escape (the `\u` read), two for a surrogate pair; `None`
    /// for a lone surrogate, which a Rust string cannot hold (json.loads can).
    fn unicode_escape(&mut self) -> Option<char> {
        let unit = |r: &mut Self| -> Option<u32> {
            let digits = r.text.get(r.at..r.at + 4)?;
            let u = u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
            r.at += 4;
            Some(u)
        };
        let high = unit(self)?;
        if !(0xd800..0xe000).contains(&high) {
            return char::from_u32(high);
        }
        if high >= 0xdc00 || !self.text[self.at..].starts_with(b"\\u") {
            return None;
        }
        self.at += 2;
        let low = unit(self)?;
        if !(0xdc00..0xe000).contains(&low) {
            return None;
        }
        char::from_u32(0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00))
    }

    /// A number: an int when it has no fraction or exponent (any size), else a float.
    fn number(&mut self) -> Read<'py> {
        let start = self.at;
        if self.text[self.at] == b'-' {
            self.at += 1;
        }
        let digits = |r: &mut Self| {
            let from = r.at;
            while r.text.get(r.at).is_some_and(u8::is_ascii_digit) {
                r.at += 1;
            }
            r.at - from
        };
        let int_digits = digits(self);
        if int_digits == 0 || (int_digits > 1 && self.text[self.at - int_digits] == b'0') {
            return Ok(None);
        }
        let mut float = false;
        if self.text.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return Ok(None);
            }
            float = true;
        }
        if matches!(self.text.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.text.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Ok(None);
            }
            float = true;
        }
        let text = std::str::from_utf8(&self.text[start..self.at]).expect("ASCII digits");
        if float {
            // Correctly rounded, as Python's float() is (both give inf past the range).
            let Ok(f) = text.parse::<f64>() else {
                return Ok(None);
            };
            return Ok(Some(PyFloat::new(self.py, f).into_any()));
        }
        if let Ok(n) = text.parse::<i64>() {
            return Ok(Some(n.into_pyobject(self.py)?.into_any()));
        }
        // Larger than a machine word: Python's int() of the digits, as json.loads does.
        static INT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let int = INT.import(self.py, "builtins", "int")?;
        Ok(Some(int.call1((text,))?))
    }
}
