//! A disassembler (`offset: MNEMONIC [immediate]`, one instruction a line) and an assembler that
//! reads that text back, or mnemonics with labels, so users need no external tool.
//!
//! Assembler syntax: instructions separated by white space or new lines; `PUSHn VALUE` or
//! `PUSH VALUE` (smallest PUSH that holds it); values in hex (`0x..`) or decimal, or a label
//! reference `@name` (a PUSH2 unless a size is given); `name:` defines a label (put a JUMPDEST
//! after it yourself); `DATA 0x..` inserts raw bytes; `;`, `#` and `//` start comments; a
//! leading `0x0004:` or `4:` offset, as the disassembler prints, is ignored.

use crate::analysis::immediate_len;
use crate::opcode::{self, OPCODES};
use crate::U256;
use std::collections::HashMap;
use std::fmt::Write;

/// Disassembles `code`, one instruction a line. Unassigned bytes and a PUSH cut short by the
/// end of code are printed as `DATA 0x..`, so that [`assemble`] gives the same bytes back.
pub fn disassemble(code: &[u8]) -> String {
    let mut out = String::new();
    let mut pc = 0;
    while pc < code.len() {
        let op = code[pc];
        let n = immediate_len(op);
        let _ = write!(out, "0x{pc:04x}: ");
        match OPCODES[op as usize] {
            Some(info) if pc + n < code.len() || n == 0 => {
                out.push_str(info.name);
                if n > 0 {
                    let _ = write!(out, " 0x{}", hex(&code[pc + 1..pc + 1 + n]));
                }
            }
            _ => {
                let end = (pc + 1 + n).min(code.len());
                let _ = write!(out, "DATA 0x{}", hex(&code[pc..end]));
            }
        }
        out.push('\n');
        pc += 1 + n;
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An assembler error, with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsmError {
    /// Line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for AsmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for AsmError {}

enum Item {
    Bytes(Vec<u8>),
    LabelPush {
        size: usize,
        label: String,
        line: usize,
    },
}

fn parse_value(token: &str) -> Option<U256> {
    if let Some(h) = token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
    {
        if h.is_empty() || h.len() > 64 {
            return None;
        }
        U256::from_str_radix(h, 16).ok()
    } else {
        U256::from_dec_str(token).ok()
    }
}

fn strip_comment(line: &str) -> &str {
    let mut end = line.len();
    for marker in [";", "#", "//"] {
        if let Some(i) = line.find(marker) {
            end = end.min(i);
        }
    }
    &line[..end]
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Assembles text into bytecode.
pub fn assemble(text: &str) -> Result<Vec<u8>, AsmError> {
    let mut items = Vec::new();
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut offset = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |message: String| AsmError {
            line: line_no,
            message,
        };
        let mut tokens = strip_comment(raw).split_whitespace().peekable();
        // A leading offset as printed by the disassembler.
        if let Some(first) = tokens.peek() {
            if let Some(num) = first.strip_suffix(':') {
                if parse_value(num).is_some() {
                    tokens.next();
                }
            }
        }
        while let Some(token) = tokens.next() {
            if let Some(name) = token.strip_suffix(':') {
                if !is_label_name(name) {
                    return Err(err(format!("bad label `{name}`")));
                }
                if labels.insert(name.to_string(), offset).is_some() {
                    return Err(err(format!("label `{name}` defined twice")));
                }
                continue;
            }
            let upper = token.to_ascii_uppercase();
            if upper == "DATA" {
                let v = tokens
                    .next()
                    .ok_or_else(|| err("DATA needs hex bytes".into()))?;
                let h = v.strip_prefix("0x").unwrap_or(v);
                let bytes = decode_hex(h).ok_or_else(|| err(format!("bad hex `{v}`")))?;
                offset += bytes.len();
                items.push(Item::Bytes(bytes));
                continue;
            }
            let explicit = if upper == "PUSH" {
                Some(None)
            } else if let Some(n) = upper.strip_prefix("PUSH") {
                match n.parse::<usize>() {
                    Ok(0) => None,
                    Ok(n) if (1..=32).contains(&n) => Some(Some(n)),
                    _ => return Err(err(format!("unknown instruction `{token}`"))),
                }
            } else {
                None
            };
            if let Some(size) = explicit {
                let v = tokens
                    .next()
                    .ok_or_else(|| err(format!("`{token}` needs a value")))?;
                if let Some(label) =
                    v.strip_prefix('@')
                        .or(if is_label_name(v) { Some(v) } else { None })
                {
                    let size = size.unwrap_or(2);
                    offset += 1 + size;
                    items.push(Item::LabelPush {
                        size,
                        label: label.to_string(),
                        line: line_no,
                    });
                    continue;
                }
                let value = parse_value(v).ok_or_else(|| err(format!("bad value `{v}`")))?;
                let min = value.bits().div_ceil(8).max(1);
                let size = size.unwrap_or(min);
                if min > size {
                    return Err(err(format!("value `{v}` does not fit in PUSH{size}")));
                }
                let bytes = value.to_big_endian();
                let mut out = vec![opcode::PUSH1 + (size - 1) as u8];
                out.extend_from_slice(&bytes[32 - size..]);
                offset += out.len();
                items.push(Item::Bytes(out));
                continue;
            }
            let op = opcode::by_name(token)
                .ok_or_else(|| err(format!("unknown instruction `{token}`")))?;
            offset += 1;
            items.push(Item::Bytes(vec![op]));
        }
    }
    let mut code = Vec::with_capacity(offset);
    for item in items {
        match item {
            Item::Bytes(b) => code.extend_from_slice(&b),
            Item::LabelPush { size, label, line } => {
                let target = *labels.get(&label).ok_or_else(|| AsmError {
                    line,
                    message: format!("unknown label `{label}`"),
                })?;
                let bytes = (target as u64).to_be_bytes();
                if size < 8 && target >> (8 * size) != 0 {
                    return Err(AsmError {
                        line,
                        message: format!("label `{label}` does not fit in PUSH{size}"),
                    });
                }
                code.push(opcode::PUSH1 + (size - 1) as u8);
                let mut imm = vec![0u8; size];
                let n = size.min(8);
                imm[size - n..].copy_from_slice(&bytes[8 - n..]);
                code.extend_from_slice(&imm);
            }
        }
    }
    Ok(code)
}

/// Decodes hex (no prefix); `None` on odd length or a non-hex character.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disassembly_round_trips() {
        let code = decode_hex("600360040160005260ff6000f30c61ab").unwrap();
        let text = disassemble(&code);
        assert!(text.starts_with("0x0000: PUSH1 0x03\n0x0002: PUSH1 0x04\n0x0004: ADD\n"));
        assert!(text.contains("0x000d: DATA 0x0c\n0x000e: DATA 0x61ab\n"));
        assert_eq!(assemble(&text).unwrap(), code);
    }

    #[test]
    fn labels_and_auto_sized_pushes() {
        let code = assemble("PUSH 3 PUSH 0x100 loop:\nJUMPDEST PUSH @loop JUMP ; forever").unwrap();
        assert_eq!(
            code,
            decode_hex("6003610100".to_owned().as_str())
                .unwrap()
                .into_iter()
                .chain([0x5b, 0x61, 0x00, 0x05, 0x56])
                .collect::<Vec<_>>()
        );
        assert_eq!(assemble("PUSH0 sha3").unwrap(), vec![0x5f, 0x20]);
        let e = assemble("ADD\nFOO").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(assemble("PUSH1 0x100").is_err());
        assert!(assemble("PUSH2 @nowhere").is_err());
    }
}
