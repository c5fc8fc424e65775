//! A request (Python values) written as the line of the batch protocol that
//! `json.dumps(value, separators=(",", ":"))` would write once every `bytes` or `bytearray` in
//! it is a 0x-hex string: the same text, byte for byte, but written here by walking the
//! values, since `json.dumps` (a new encoder for every call with `separators`) and the copy
//! that turned bytes into hex were most of what a small `run` cost from Python.
//!
//! The kinds a request is made of (exact `dict`, `list`, `tuple`, `str`, `int`, `bool`,
//! `None`, `bytes`, `bytearray`) are written here; anything else (a float, a subclass, an
//! object with its own rules) is handed to `json.dumps`, which writes it, or raises, as it
//! always did. JSON text is compositional, so a value written by either gives the same line.

use pyo3::exceptions::PyRecursionError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

/// Nesting past which a value is left to `json.dumps` whole: its own recursion limit then
/// raises for a cycle or an absurd depth (the batch refuses lines nested deeper than 128
/// anyway), where walking on would overflow the stack.
const MAX_DEPTH: usize = 256;

/// `request` as a line of the batch protocol (without the line break).
pub fn line(py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<String> {
    let mut out = String::new();
    value(py, &mut out, request, 0)?;
    Ok(out)
}

/// Appends `v` as JSON to `out`.
fn value(py: Python<'_>, out: &mut String, v: &Bound<'_, PyAny>, depth: usize) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return dumps(py, out, v, true);
    }
    if let Ok(s) = v.cast_exact::<PyString>() {
        match s.to_cow() {
            Ok(text) => string(out, &text),
            // A lone surrogate, which UTF-8 cannot hold and json.dumps escapes.
            Err(_) => return dumps(py, out, v, false),
        }
    } else if v.is_none() {
        out.push_str("null");
    } else if let Ok(b) = v.cast_exact::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
    } else if let Ok(i) = v.cast_exact::<PyInt>() {
        int(out, i)?;
    } else if let Ok(d) = v.cast_exact::<PyDict>() {
        let start = out.len();
        out.push('{');
        // Where each key's text is, kept only once a key was bytes (see below).
        let mut keys: Option<Vec<std::ops::Range<usize>>> = None;
        for (n, (k, item)) in d.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let at = out.len();
            match key(out, &k)? {
                Key::Written => {}
                Key::Bytes => keys = Some(Vec::with_capacity(d.len())),
                Key::Other => {
                    // A key json.dumps turns into a string by rules of its own (a float, a
                    // subclass): the whole object is its to write.
                    out.truncate(start);
                    return dumps(py, out, v, false);
                }
            }
            if let Some(keys) = &mut keys {
                keys.push(at..out.len());
            }
            out.push(':');
            value(py, out, &item, depth + 1)?;
        }
        out.push('}');
        if let Some(keys) = keys {
            // Bytes and the str of their hex are two keys in Python but one once the bytes
            // are hex: json.dumps saw them merged (the first's place, the last's value).
            let mut seen = std::collections::HashSet::new();
            if keys.into_iter().any(|k| !seen.insert(&out[k])) {
                out.truncate(start);
                return dumps(py, out, v, false);
            }
        }
    } else if let Ok(l) = v.cast_exact::<PyList>() {
        out.push('[');
        for (n, item) in l.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            value(py, out, &item, depth + 1)?;
        }
        out.push(']');
    } else if let Ok(t) = v.cast_exact::<PyTuple>() {
        out.push('[');
        for (n, item) in t.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            value(py, out, &item, depth + 1)?;
        }
        out.push(']');
    } else if let Ok(b) = v.cast::<PyBytes>() {
        hex(out, b.as_bytes());
    } else if let Ok(b) = v.cast::<PyByteArray>() {
        hex(out, &b.to_vec());
    } else {
        return dumps(py, out, v, false);
    }
    Ok(())
}

/// What [`key`] did with a key.
enum Key {
    /// Written as json.dumps writes it.
    Written,
    /// Written as the hex of its bytes.
    Bytes,
    /// Not written: json.dumps writes it by rules not followed here.
    Other,
}

/// Appends `k` as a JSON object key, as json.dumps writes it once bytes are hex.
fn key(out: &mut String, k: &Bound<'_, PyAny>) -> PyResult<Key> {
    if let Ok(s) = k.cast_exact::<PyString>() {
        match s.to_cow() {
            Ok(text) => string(out, &text),
            Err(_) => return Ok(Key::Other),
        }
    } else if let Ok(b) = k.cast::<PyBytes>() {
        hex(out, b.as_bytes());
        return Ok(Key::Bytes);
    } else if k.is_none() {
        out.push_str("\"null\"");
    } else if let Ok(b) = k.cast_exact::<PyBool>() {
        out.push_str(if b.is_true() { "\"true\"" } else { "\"false\"" });
    } else if let Ok(i) = k.cast_exact::<PyInt>() {
        out.push('"');
        int(out, i)?;
        out.push('"');
    } else {
        return Ok(Key::Other);
    }
    Ok(Key::Written)
}

/// An int's decimal digits, exact at any size.
fn int(out: &mut String, i: &Bound<'_, PyInt>) -> PyResult<()> {
    use std::fmt::Write;
    match i.extract::<i64>() {
        Ok(n) => write!(out, "{n}").expect("writing to a String"),
        // Python's own digits (and its limit on them, as json.dumps meets it).
        Err(_) => out.push_str(&i.str()?.to_cow()?),
    }
    Ok(())
}

/// A JSON string as json.dumps writes it (`ensure_ascii`): `"` and `\` escaped, the usual
/// short escapes, every other character outside space to `~` as `\uXXXX` (lower-case
/// digits, a surrogate pair past U+FFFF).
fn string(out: &mut String, s: &str) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let unit = |out: &mut String, u: u32| {
        out.push_str("\\u");
        for shift in [12, 8, 4, 0] {
            out.push(DIGITS[((u >> shift) & 0xf) as usize] as char);
        }
    };
    out.push('"');
    // Most strings are hex or names, with nothing to escape: one pass over the bytes (which
    // vectorises) and one copy, not a test a character.
    if s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        if (' '..='~').contains(&c) && c != '"' && c != '\\' {
            continue;
        }
        out.push_str(&s[plain..i]);
        plain = i + c.len_utf8();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    unit(out, u32::from(*u));
                }
            }
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// Bytes as a JSON string of 0x-hex.
fn hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(4 + 2 * bytes.len());
    out.push_str("\"0x");
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out.push('"');
}

/// Appends what `json.dumps` writes for `v` (after its bytes are made hex, unless `as_is`:
/// past [`MAX_DEPTH`], where making them hex would recurse as deep).
fn dumps(py: Python<'_>, out: &mut String, v: &Bound<'_, PyAny>, as_is: bool) -> PyResult<()> {
    // Looked up once, not imported again for every value.
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let v = if as_is {
        v.clone()
    } else {
        hex_bytes(py, v, 0)?
    };
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("separators", (",", ":"))?;
    let text: String = DUMPS
        .import(py, "json", "dumps")?
        .call((v,), Some(&kwargs))?
        .extract()?;
    out.push_str(&text);
    Ok(())
}

/// `v` with every `bytes` or `bytearray` in it (dict keys included) turned into a 0x-hex
/// string, for `json.dumps`.
fn hex_bytes<'py>(
    py: Python<'py>,
    v: &Bound<'py, PyAny>,
    depth: usize,
) -> PyResult<Bound<'py, PyAny>> {
    if depth > MAX_DEPTH {
        return Err(PyRecursionError::new_err(
            "maximum recursion depth exceeded while encoding a JSON object",
        ));
    }
    let as_hex = |bytes: &[u8]| {
        let mut s = String::new();
        hex(&mut s, bytes);
        // Without the quotes `hex` writes for JSON.
        s[1..s.len() - 1].into_pyobject(py).map(Bound::into_any)
    };
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(as_hex(b.as_bytes())?);
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(as_hex(&b.to_vec())?);
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let out = PyDict::new(py);
        for (k, item) in d.iter() {
            out.set_item(
                hex_bytes(py, &k, depth + 1)?,
                hex_bytes(py, &item, depth + 1)?,
            )?;
        }
        return Ok(out.into_any());
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let out = PyList::empty(py);
        for item in v.try_iter()? {
            out.append(hex_bytes(py, &item?, depth + 1)?)?;
        }
        return Ok(out.into_any());
    }
    Ok(v.clone())
}
