//! Revert data decoded: Solidity's `Error(string)` and `Panic(uint256)`, or a custom error's
//! 4-byte selector.

use crate::U256;
use std::fmt;

/// `bytes4(keccak256("Error(string)"))`.
const ERROR_SELECTOR: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
/// `bytes4(keccak256("Panic(uint256)"))`.
const PANIC_SELECTOR: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71];

/// Why a frame reverted, as its revert data says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevertReason {
    /// `require(…, "message")` or `revert("message")`: the message (invalid UTF-8 replaced).
    Error(String),
    /// A Solidity panic (`assert`, overflow, division by zero, …), by its code.
    Panic(U256),
    /// Any other data of at least 4 bytes: a custom error, by its selector.
    Custom([u8; 4]),
}

impl RevertReason {
    /// Decodes revert data; `None` when it is shorter than a selector (empty, usually).
    pub fn decode(data: &[u8]) -> Option<RevertReason> {
        let selector: [u8; 4] = data.get(..4)?.try_into().ok()?;
        let body = &data[4..];
        match selector {
            ERROR_SELECTOR => match abi_string(body) {
                Some(message) => Some(RevertReason::Error(message)),
                None => Some(RevertReason::Custom(selector)),
            },
            PANIC_SELECTOR if body.len() >= 32 => {
                Some(RevertReason::Panic(U256::from_big_endian(&body[..32])))
            }
            _ => Some(RevertReason::Custom(selector)),
        }
    }

    /// What a panic code means, as Solidity's documentation names it.
    pub fn panic_name(code: U256) -> &'static str {
        if code > U256::from(0xffu8) {
            return "unknown panic code";
        }
        match code.low_u32() {
            0x00 => "generic compiler panic",
            0x01 => "assertion failed",
            0x11 => "arithmetic underflow or overflow",
            0x12 => "division or modulo by zero",
            0x21 => "conversion to an invalid enum value",
            0x22 => "incorrectly encoded storage byte array",
            0x31 => "pop on an empty array",
            0x32 => "array index out of bounds",
            0x41 => "out of memory or too large an allocation",
            0x51 => "call to a zero-initialized internal function",
            _ => "unknown panic code",
        }
    }
}

impl fmt::Display for RevertReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevertReason::Error(message) => f.write_str(message),
            RevertReason::Panic(code) => {
                write!(f, "panic {code:#x}: {}", RevertReason::panic_name(*code))
            }
            RevertReason::Custom(selector) => {
                write!(
                    f,
                    "custom error 0x{}",
                    crate::output::Hex(selector)
                        .to_string()
                        .trim_start_matches("0x")
                )
            }
        }
    }
}

/// The string an ABI-encoded `(string)` holds: an offset, a length, the bytes.
fn abi_string(body: &[u8]) -> Option<String> {
    let word = |at: usize| -> Option<usize> {
        let w = body.get(at..at.checked_add(32)?)?;
        // A length or offset past 2^64 cannot fit in the data anyway.
        if w[..24].iter().any(|&b| b != 0) {
            return None;
        }
        usize::try_from(u64::from_be_bytes(w[24..].try_into().ok()?)).ok()
    };
    let offset = word(0)?;
    let len = word(offset)?;
    let start = offset.checked_add(32)?;
    let bytes = body.get(start..start.checked_add(len)?)?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(n: u64) -> Vec<u8> {
        U256::from(n).to_big_endian().to_vec()
    }

    #[test]
    fn error_panic_and_custom_errors_are_decoded() {
        let mut error = ERROR_SELECTOR.to_vec();
        error.extend(word(32));
        error.extend(word(5));
        error.extend(b"hello");
        error.extend([0; 27]);
        assert_eq!(
            RevertReason::decode(&error),
            Some(RevertReason::Error("hello".into()))
        );
        let mut panic = PANIC_SELECTOR.to_vec();
        panic.extend(word(0x11));
        let decoded = RevertReason::decode(&panic).expect("a panic");
        assert_eq!(decoded, RevertReason::Panic(U256::from(0x11)));
        assert_eq!(
            decoded.to_string(),
            "panic 0x11: arithmetic underflow or overflow"
        );
        let custom = RevertReason::decode(&[0xde, 0xad, 0xbe, 0xef, 1]).expect("custom");
        assert_eq!(custom.to_string(), "custom error 0xdeadbeef");
        assert_eq!(RevertReason::decode(&[1, 2, 3]), None);
        // A string that overruns the data is not a message: the selector is all there is.
        let mut short = ERROR_SELECTOR.to_vec();
        short.extend(word(32));
        short.extend(word(100));
        short.extend(b"hi");
        assert_eq!(
            RevertReason::decode(&short),
            Some(RevertReason::Custom(ERROR_SELECTOR))
        );
    }
}
