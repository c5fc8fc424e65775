//! How outcomes are printed: the one-line JSON contract of `run --json` and `--batch`, and the
//! readable summary.

use crate::run::Outcome;
use crate::trace::CallFrame;
use crate::{Cause, CauseKind, U256};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The hex digits, lower case.
const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex with a `0x` prefix.
pub fn hex0x(bytes: &[u8]) -> String {
    // A digit table rather than `write!` per byte: the batch protocol prints host memory and
    // call data this way on every line, and formatting machinery was 15% of its time.
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// Bytes printed as [`hex0x`] prints them, but straight into the formatter or the JSON
/// being written, a piece at a time: an output of hundreds of megabytes is not copied into
/// a string first.
pub struct Hex<'a>(pub &'a [u8]);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const PIECE: usize = 2048;
        let mut digits = [0u8; 2 * PIECE];
        f.write_str("0x")?;
        for piece in self.0.chunks(PIECE) {
            for (pair, b) in digits.chunks_exact_mut(2).zip(piece) {
                pair[0] = DIGITS[(b >> 4) as usize];
                pair[1] = DIGITS[(b & 0xf) as usize];
            }
            let text =
                std::str::from_utf8(&digits[..2 * piece.len()]).map_err(|_| std::fmt::Error)?;
            f.write_str(text)?;
        }
        Ok(())
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Short ones (most outputs, log data) as one string: `collect_str` writes through a
        // formatter, a cost that only pays off for long ones, which it keeps from being copied.
        if self.0.len() <= 4096 {
            s.serialize_str(&hex0x(self.0))
        } else {
            s.collect_str(self)
        }
    }
}

/// A word as minimal hex (`0x0`, `0x1f`).
pub fn min_hex(v: &U256) -> String {
    // A digit table rather than `{:#x}`, whose formatting was most of a short call's answer.
    let bytes = v.to_big_endian();
    let digits = bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .skip_while(|&d| d == 0);
    let mut s = String::with_capacity(2 + 64);
    s.push_str("0x");
    s.extend(digits.map(|d| DIGITS[d as usize] as char));
    if s.len() == 2 {
        s.push('0');
    }
    s
}

#[derive(Serialize)]
struct JsonLog<'a> {
    address: String,
    topics: Vec<String>,
    data: Hex<'a>,
}

/// Storage in slot order (numeric, not textual).
struct JsonStorage<'a>(&'a BTreeMap<U256, U256>);

impl Serialize for JsonStorage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(&min_hex(k), &min_hex(v))?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct JsonOutcome<'a> {
    status: &'static str,
    reason: Option<&'static str>,
    output: Hex<'a>,
    gas_used: u64,
    evm_gas_used: Option<u64>,
    gas_refund: i64,
    logs: Vec<JsonLog<'a>>,
    storage: JsonStorage<'a>,
    engine: &'static str,
    /// Only with `--dump`: a run without it prints the line it always did.
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<crate::state::StateJson<'a>>,
    /// Only for a revert with data of at least 4 bytes ([`RevertReason`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    revert_reason: Option<String>,
    /// Only when the hypervisor itself reverted the run (`hyvm`): every other line stays as it
    /// was.
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<JsonCause>,
    /// Only when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    call_trace: Option<&'a CallFrame>,
    /// Only when asked for: the steps, an array already in JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<&'a RawValue>,
    /// Only when steps were left out of `trace` for want of room.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    trace_truncated: bool,
}

/// A [`Cause`] in JSON: `kind` and `pc`, then what that kind adds (`to` for a bad jump, as
/// minimal hex since a destination may be any word; `opcode` for a refused opcode).
#[derive(Serialize)]
pub(crate) struct JsonCause {
    kind: &'static str,
    pc: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opcode: Option<String>,
}

impl JsonCause {
    pub(crate) fn new(cause: &Cause) -> Self {
        let (to, opcode) = match cause.kind {
            CauseKind::BadJump { to } => (Some(min_hex(&to)), None),
            CauseKind::RefusedOpcode { opcode } => (None, Some(format!("{opcode:#04x}"))),
            _ => (None, None),
        };
        JsonCause {
            kind: cause.kind.name(),
            pc: cause.pc,
            to,
            opcode,
        }
    }
}

/// What a traced run adds to its result ([`to_json_traced`], [`Text`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Traces<'a> {
    /// The call tree.
    pub call_trace: Option<&'a CallFrame>,
    /// The EIP-3155 steps as a JSON array ([`crate::trace::Eip3155Lines::into_json`]).
    pub steps: Option<&'a RawValue>,
    /// Whether steps were left out of `steps` for want of room.
    pub steps_truncated: bool,
}

/// The outcome as one line of JSON, in the documented key order.
pub fn to_json(outcome: &Outcome) -> String {
    to_json_traced(outcome, &Traces::default())
}

/// The outcome and what tracing it gave as one line of JSON: [`to_json`]'s keys, then
/// `call_trace` and `trace` when given.
pub fn to_json_traced(outcome: &Outcome, traces: &Traces<'_>) -> String {
    let json = JsonOutcome {
        status: outcome.status.name(),
        reason: outcome.reason.map(|r| r.name()),
        output: Hex(&outcome.output),
        gas_used: outcome.gas_used,
        evm_gas_used: outcome.evm_gas_used,
        gas_refund: outcome.gas_refund,
        logs: outcome
            .logs
            .iter()
            .map(|l| JsonLog {
                address: hex0x(l.address.as_bytes()),
                topics: l.topics.iter().map(|t| hex0x(t.as_bytes())).collect(),
                data: Hex(&l.data),
            })
            .collect(),
        storage: JsonStorage(&outcome.storage),
        engine: outcome.engine.name(),
        state: outcome.state.as_ref().map(crate::state::StateJson),
        revert_reason: outcome.revert_reason().map(|r| r.to_string()),
        cause: outcome.cause.as_ref().map(JsonCause::new),
        call_trace: traces.call_trace,
        trace: traces.steps,
        trace_truncated: traces.steps_truncated,
    };
    serde_json::to_string(&json).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The readable summary printed by `run` without `--json`.
pub fn to_text(outcome: &Outcome) -> String {
    Text(outcome).to_string()
}

/// The readable summary as [`to_text`] gives it, written straight into a formatter (an
/// output of hundreds of megabytes is not copied into a string first).
pub struct Text<'a>(pub &'a Outcome);

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, s: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let outcome = self.0;
        let status = match outcome.reason {
            Some(r) => format!("{} ({})", outcome.status.name(), r.name()),
            None => outcome.status.name().to_string(),
        };
        writeln!(s, "status:   {status}")?;
        writeln!(
            s,
            "gas used: {} (refund {})",
            outcome.gas_used, outcome.gas_refund
        )?;
        if let Some(evm_gas) = outcome.evm_gas_used.filter(|g| *g != outcome.gas_used) {
            writeln!(
                s,
                "evm gas:  {evm_gas} as a plain contract (the hypervisor adds {})",
                outcome.gas_used as i128 - evm_gas as i128
            )?;
        }
        if outcome.output.is_empty() {
            writeln!(s, "output:   (empty)")?;
        } else if outcome.output.len() == 32 {
            let n = U256::from_big_endian(&outcome.output);
            writeln!(s, "output:   {} = {}", Hex(&outcome.output), n)?;
        } else {
            writeln!(
                s,
                "output:   {} ({} bytes)",
                Hex(&outcome.output),
                outcome.output.len()
            )?;
            if outcome.output.len() > 32 {
                let first = U256::from_big_endian(&outcome.output[..32]);
                writeln!(s, "          first 32-byte word = {first}")?;
            }
        }
        if let Some(reason) = outcome.revert_reason() {
            writeln!(s, "reverted: {reason}")?;
        }
        if let Some(cause) = &outcome.cause {
            writeln!(s, "cause:    {cause}")?;
        }
        if outcome.logs.is_empty() {
            writeln!(s, "logs:     none")?;
        } else {
            writeln!(s, "logs:")?;
            for log in &outcome.logs {
                let topics: Vec<String> = log.topics.iter().map(|t| hex0x(t.as_bytes())).collect();
                writeln!(
                    s,
                    "  {} topics [{}] data {}",
                    hex0x(log.address.as_bytes()),
                    topics.join(", "),
                    Hex(&log.data)
                )?;
            }
        }
        if outcome.storage.is_empty() {
            writeln!(s, "storage:  (empty)")?;
        } else {
            writeln!(s, "storage:")?;
            for (k, v) in &outcome.storage {
                writeln!(s, "  {} = {}", min_hex(k), min_hex(v))?;
            }
        }
        if let Some(state) = &outcome.state {
            writeln!(s, "state:")?;
            for (address, a) in state {
                write!(
                    s,
                    "  {} balance {} nonce {}",
                    hex0x(address.as_bytes()),
                    a.balance,
                    a.nonce
                )?;
                if !a.code.is_empty() {
                    write!(s, " code {} bytes", a.code.len())?;
                }
                writeln!(s)?;
                for (k, v) in &a.storage {
                    writeln!(s, "    {} = {}", min_hex(k), min_hex(v))?;
                }
            }
        }
        write!(s, "engine:   {}", outcome.engine.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_hex_is_the_formatters_minimal_hex() {
        let words = [
            U256::zero(),
            U256::one(),
            U256::from(0x1f),
            U256::from(0x100),
            U256::MAX,
        ]
        .into_iter()
        .chain((0..256).step_by(7).map(|i| U256::one() << i));
        for v in words {
            assert_eq!(min_hex(&v), format!("{v:#x}"));
        }
    }

    #[test]
    fn short_and_long_hex_serialize_alike() {
        for len in [0, 1, 4096, 4097, 9000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
            let json = serde_json::to_string(&Hex(&bytes)).expect("serializes");
            assert_eq!(json, format!("\"{}\"", hex0x(&bytes)), "{len}");
        }
    }

    #[test]
    fn hex_written_in_pieces_is_hex0x_across_piece_boundaries() {
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i * 37 % 256) as u8).collect();
        for len in [0, 1, 2047, 2048, 2049, 4096, 5000] {
            let piece = &bytes[..len];
            assert_eq!(Hex(piece).to_string(), hex0x(piece), "{len} bytes");
            let json = serde_json::to_string(&Hex(piece)).unwrap();
            assert_eq!(json, format!("\"{}\"", hex0x(piece)), "{len} bytes");
        }
    }
}
