//! Parsing of user input shared by the command line and the batch protocol: hex, addresses,
//! numbers. Every error is one line naming the problem.

use crate::{Address, U256};
use std::time::Duration;

/// Parses hex bytes, with or without `0x`, ignoring surrounding white space.
pub fn parse_hex(what: &str, s: &str) -> Result<Vec<u8>, String> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if !t.len().is_multiple_of(2) {
        return Err(format!("{what}: odd number of hex digits ({})", t.len()));
    }
    // Code and call data come this way on every batch line (a contract's code in a pre-state
    // is kilobytes): decoded a pair at a time, the digits found bad left to the scan below,
    // which names the first. A digit at a time through `from_str_radix` was half of a line
    // carrying a 3 KB contract.
    if let Some(bytes) = decode_hex_pairs(t.as_bytes()) {
        return Ok(bytes);
    }
    if let Some((i, c)) = t.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!("{what}: `{c}` at position {i} is not a hex digit"));
    }
    crate::interp::asm::decode_hex(t).ok_or_else(|| format!("{what}: not valid hex"))
}

/// The bytes of hex digits of even length, or `None` if one is not a hex digit.
fn decode_hex_pairs(digits: &[u8]) -> Option<Vec<u8>> {
    /// Each byte's value as a hex digit, 0xff for a byte that is not one.
    const NIBBLE: [u8; 256] = {
        let mut table = [0xff; 256];
        let mut d = 0;
        while d < 10 {
            table[b'0' as usize + d] = d as u8;
            d += 1;
        }
        let mut d = 0;
        while d < 6 {
            table[b'a' as usize + d] = 10 + d as u8;
            table[b'A' as usize + d] = 10 + d as u8;
            d += 1;
        }
        table
    };
    // A loop into a vector of the right size, one check for the whole text: collecting
    // `Option`s a digit at a time would not vectorise.
    let mut bytes = Vec::with_capacity(digits.len() / 2);
    let mut bad = 0;
    for pair in digits.chunks_exact(2) {
        let (high, low) = (NIBBLE[pair[0] as usize], NIBBLE[pair[1] as usize]);
        bad |= high | low;
        bytes.push(high << 4 | (low & 0xf));
    }
    (bad & 0xf0 == 0).then_some(bytes)
}

/// Parses an address (`0x` and 40 hex digits).
pub fn parse_address(what: &str, s: &str) -> Result<Address, String> {
    let bytes = parse_hex(what, s)?;
    if bytes.len() != 20 {
        return Err(format!(
            "{what}: an address is 20 bytes, got {}",
            bytes.len()
        ));
    }
    Ok(Address::from_slice(&bytes))
}

/// Parses a 256-bit number, decimal or `0x` hex.
pub fn parse_u256(what: &str, s: &str) -> Result<U256, String> {
    let t = s.trim();
    let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if h.is_empty() || h.len() > 64 {
            Err(())
        } else {
            U256::from_str_radix(h, 16).map_err(|_| ())
        }
    } else if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        Err(())
    } else {
        U256::from_dec_str(t).map_err(|_| ())
    };
    parsed.map_err(|_| format!("{what}: `{t}` is not a 256-bit number"))
}

/// Parses a 64-bit number, decimal or `0x` hex.
pub fn parse_u64(what: &str, s: &str) -> Result<u64, String> {
    let v = parse_u256(what, s)?;
    if v > U256::from(u64::MAX) {
        return Err(format!("{what}: `{}` does not fit in 64 bits", s.trim()));
    }
    Ok(v.low_u64())
}

/// Parses a duration: a decimal number of seconds, or one followed by `ms`, `s`, `m` or `h`
/// (`500ms`, `2s`, `1.5s`, `1m`, `30`).
pub fn parse_duration(what: &str, s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || format!("{what}: `{t}` is not a duration (e.g. 500ms, 2s, 1.5s, 1m, or seconds)");
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let seconds_per_unit = match unit {
        "ms" => 1e-3,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    // Digits with at most one point, at least one digit: what `f64` parses beyond that
    // (`inf`, `1e3`, a sign) is not a duration a user writes.
    if number.matches('.').count() > 1 || !number.bytes().any(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    Duration::try_from_secs_f64(value * seconds_per_unit).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_errors_name_the_problem() {
        assert_eq!(parse_hex("code", "0x6001").unwrap(), vec![0x60, 0x01]);
        assert_eq!(parse_hex("code", "").unwrap(), Vec::<u8>::new());
        assert!(parse_hex("code", "0x600")
            .unwrap_err()
            .contains("odd number"));
        assert!(parse_hex("code", "0x60zz")
            .unwrap_err()
            .contains("not a hex digit"));
        assert!(parse_address("--caller", "0x12").is_err());
        assert_eq!(parse_u256("--value", "0x10").unwrap(), U256::from(16));
        assert_eq!(parse_u64("--gas", "100").unwrap(), 100);
        assert!(parse_u64("--gas", "-1").is_err());
        assert!(parse_u64("--gas", "18446744073709551616").is_err());
    }

    #[test]
    fn hex_of_every_byte_in_either_case_decodes() {
        let bytes: Vec<u8> = (0..=255).collect();
        let lower: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_hex("code", &lower).unwrap(), bytes);
        assert_eq!(
            parse_hex("code", &format!("0X{}", lower.to_uppercase())).unwrap(),
            bytes
        );
        assert_eq!(
            parse_hex("code", "0x60g1").unwrap_err(),
            "code: `g` at position 2 is not a hex digit"
        );
        assert_eq!(
            parse_hex("code", "0x60é").unwrap_err(),
            "code: `é` at position 2 is not a hex digit"
        );
    }

    #[test]
    fn durations_take_a_unit_or_mean_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("t", "500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("t", "2s"), Ok(ms(2000)));
        assert_eq!(parse_duration("t", "1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("t", "1m"), Ok(ms(60_000)));
        assert_eq!(parse_duration("t", "1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("t", " 3 "), Ok(ms(3000)));
        assert_eq!(parse_duration("t", ".25"), Ok(ms(250)));
        for bad in [
            "", "s", "abc", "1.2.3s", "-1s", "1e3", "inf", "5 s", "2d", "1e400",
        ] {
            let e = parse_duration("--timeout", bad).expect_err(bad);
            assert!(e.starts_with("--timeout: `"), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
