//! How outcomes are printed: the one-line JSON contract of `run --json` and `--batch`, and the
//! readable summary.

use crate::run::Outcome;
use crate::U256;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Lower-case hex with a `0x` prefix.
pub fn hex0x(bytes: &[u8]) -> String {
    // A digit table rather than `write!` per byte: the batch protocol prints host memory and
    // call data this way on every line, and formatting machinery was 15% of its time.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// A word as minimal hex (`0x0`, `0x1f`).
pub fn min_hex(v: &U256) -> String {
    format!("{v:#x}")
}

#[derive(Serialize)]
struct JsonLog {
    address: String,
    topics: Vec<String>,
    data: String,
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
    output: String,
    gas_used: u64,
    evm_gas_used: Option<u64>,
    gas_refund: i64,
    logs: Vec<JsonLog>,
    storage: JsonStorage<'a>,
    engine: &'static str,
}

/// The outcome as one line of JSON, in the documented key order.
pub fn to_json(outcome: &Outcome) -> String {
    let json = JsonOutcome {
        status: outcome.status.name(),
        reason: outcome.reason.map(|r| r.name()),
        output: hex0x(&outcome.output),
        gas_used: outcome.gas_used,
        evm_gas_used: outcome.evm_gas_used,
        gas_refund: outcome.gas_refund,
        logs: outcome
            .logs
            .iter()
            .map(|l| JsonLog {
                address: hex0x(l.address.as_bytes()),
                topics: l.topics.iter().map(|t| hex0x(t.as_bytes())).collect(),
                data: hex0x(&l.data),
            })
            .collect(),
        storage: JsonStorage(&outcome.storage),
        engine: outcome.engine.name(),
    };
    serde_json::to_string(&json).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The readable summary printed by `run` without `--json`.
pub fn to_text(outcome: &Outcome) -> String {
    let mut s = String::new();
    let status = match outcome.reason {
        Some(r) => format!("{} ({})", outcome.status.name(), r.name()),
        None => outcome.status.name().to_string(),
    };
    let _ = writeln!(s, "status:   {status}");
    let _ = writeln!(
        s,
        "gas used: {} (refund {})",
        outcome.gas_used, outcome.gas_refund
    );
    if let Some(evm_gas) = outcome.evm_gas_used.filter(|g| *g != outcome.gas_used) {
        let _ = writeln!(
            s,
            "evm gas:  {evm_gas} as a plain contract (the hypervisor adds {})",
            outcome.gas_used as i128 - evm_gas as i128
        );
    }
    if outcome.output.is_empty() {
        let _ = writeln!(s, "output:   (empty)");
    } else if outcome.output.len() == 32 {
        let n = U256::from_big_endian(&outcome.output);
        let _ = writeln!(s, "output:   {} = {}", hex0x(&outcome.output), n);
    } else {
        let _ = writeln!(
            s,
            "output:   {} ({} bytes)",
            hex0x(&outcome.output),
            outcome.output.len()
        );
        if outcome.output.len() > 32 {
            let first = U256::from_big_endian(&outcome.output[..32]);
            let _ = writeln!(s, "          first 32-byte word = {first}");
        }
    }
    if outcome.logs.is_empty() {
        let _ = writeln!(s, "logs:     none");
    } else {
        let _ = writeln!(s, "logs:");
        for log in &outcome.logs {
            let topics: Vec<String> = log.topics.iter().map(|t| hex0x(t.as_bytes())).collect();
            let _ = writeln!(
                s,
                "  {} topics [{}] data {}",
                hex0x(log.address.as_bytes()),
                topics.join(", "),
                hex0x(&log.data)
            );
        }
    }
    if outcome.storage.is_empty() {
        let _ = writeln!(s, "storage:  (empty)");
    } else {
        let _ = writeln!(s, "storage:");
        for (k, v) in &outcome.storage {
            let _ = writeln!(s, "  {} = {}", min_hex(k), min_hex(v));
        }
    }
    let _ = write!(s, "engine:   {}", outcome.engine.name());
    s
}
