//! One run's result in the shape every engine and oracle can give (built from a
//! [`nestedvm::Outcome`] or from an oracle's result), what differs between two of them
//! (`difftest`), and what `bench` checks they agree on before it times them.

use nestedvm::output::hex0x;
use nestedvm::{Address, Cause, HaltReason, Log, Outcome, Status, U256};
use std::collections::BTreeMap;

/// A log: address, topics as numbers, data.
pub type LogEntry = (Address, Vec<U256>, Vec<u8>);

/// What an engine says a run gave. Fields an engine cannot report (an oracle's halt reason
/// or memory) are `None` and not compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// How the top frame ended.
    pub status: Status,
    /// The halt reason, from nestedvm's engines.
    pub reason: Option<HaltReason>,
    /// Return or revert data.
    pub output: Vec<u8>,
    /// Gas used and refund, when comparable.
    pub gas: Option<(u64, i64)>,
    /// Logs.
    pub logs: Vec<LogEntry>,
    /// Non-zero storage of the executing account after the call.
    pub storage: BTreeMap<U256, U256>,
    /// Host memory of the top frame at its end, from nestedvm's engines.
    pub memory: Option<Vec<u8>>,
    /// Where the top frame stopped, from nestedvm's engines.
    pub pc: Option<usize>,
    /// Why the hypervisor reverted the top frame (`Some(None)`: it did not), from nestedvm's
    /// engines: the JIT must name the interpreter's refusal.
    pub cause: Option<Option<Cause>>,
    /// For the JIT, when the code is within its size limit: whether it ran native (a code it
    /// cannot compile is interpreted, which would make the comparison prove nothing).
    pub native: Option<bool>,
}

/// One field that differs between two engines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The field (`status`, `gas_used`, …).
    pub field: &'static str,
    /// What each side said.
    pub text: String,
}

/// Logs as numbers, whatever engine produced them.
pub fn log_entries(logs: &[Log]) -> Vec<LogEntry> {
    logs.iter()
        .map(|l| {
            (
                l.address,
                l.topics
                    .iter()
                    .map(|t| U256::from_big_endian(t.as_bytes()))
                    .collect(),
                l.data.clone(),
            )
        })
        .collect()
}

impl Observed {
    /// What one of nestedvm's engines gave.
    pub fn from_outcome(o: &Outcome) -> Self {
        Observed {
            status: o.status,
            reason: o.reason,
            output: o.output.clone(),
            gas: Some((o.gas_used, o.gas_refund)),
            logs: log_entries(&o.logs),
            storage: o.storage.clone(),
            memory: Some(o.memory.clone()),
            pc: Some(o.pc),
            cause: Some(o.cause),
            native: None,
        }
    }

    /// What an oracle gave (`gas` `None` when not comparable).
    #[cfg(feature = "revm")]
    pub fn from_oracle(
        status: Status,
        output: &[u8],
        gas: Option<(u64, i64)>,
        logs: &[crate::oracle::OracleLog],
        storage: &BTreeMap<U256, U256>,
    ) -> Self {
        Observed {
            status,
            reason: None,
            output: output.to_vec(),
            gas,
            logs: logs
                .iter()
                .map(|l| (l.address, l.topics.clone(), l.data.clone()))
                .collect(),
            storage: storage.clone(),
            memory: None,
            pc: None,
            cause: None,
            native: None,
        }
    }

    /// What an oracle's run gave, its gas compared only when `gas_comparable`.
    #[cfg(feature = "revm")]
    pub fn from_oracle_outcome(o: &crate::oracle::OracleOutcome, gas_comparable: bool) -> Self {
        Observed::from_oracle(
            o.status,
            &o.output,
            gas_comparable.then_some((o.gas_used, o.gas_refund)),
            &o.logs,
            &o.storage,
        )
    }

    /// What `bench` checks every engine against the interpreter on before timing it: status,
    /// output and gas used.
    pub fn agrees_on_result(&self, other: &Observed) -> bool {
        (self.status, &self.output, self.gas.map(|g| g.0))
            == (other.status, &other.output, other.gas.map(|g| g.0))
    }

    /// Those three as one line: `success, gas used 24, output 0x…`.
    pub fn result_line(&self) -> String {
        let gas = match self.gas {
            Some((used, _)) => format!("gas used {used}"),
            None => "gas not compared".to_string(),
        };
        format!(
            "{}, {gas}, output {}",
            self.status.name(),
            hex0x(&self.output)
        )
    }

    /// Every field of `self` (engine `a`) that differs from `other` (engine `b`).
    pub fn differences(&self, a: &str, other: &Observed, b: &str) -> Vec<Difference> {
        let mut d = Vec::new();
        let mut push = |field, text| d.push(Difference { field, text });
        if self.status != other.status {
            push(
                "status",
                format!(
                    "{a} {} ({:?}) vs {b} {} ({:?})",
                    self.status.name(),
                    self.reason.map(HaltReason::name),
                    other.status.name(),
                    other.reason.map(HaltReason::name)
                ),
            );
        } else if let (Some(x), Some(y)) = (self.reason, other.reason) {
            if x != y {
                push("reason", format!("{a} {} vs {b} {}", x.name(), y.name()));
            }
        }
        if self.output != other.output {
            push(
                "output",
                format!(
                    "{a} {} vs {b} {}",
                    hex0x(&self.output),
                    hex0x(&other.output)
                ),
            );
        }
        if let (Some((ga, ra)), Some((gb, rb))) = (self.gas, other.gas) {
            if ga != gb {
                push("gas_used", format!("{a} {ga} vs {b} {gb}"));
            }
            if ra != rb {
                push("gas_refund", format!("{a} {ra} vs {b} {rb}"));
            }
        }
        if self.logs != other.logs {
            push(
                "logs",
                format!("{a} {:?} vs {b} {:?}", self.logs, other.logs),
            );
        }
        if self.storage != other.storage {
            push(
                "storage",
                format!("{a} {:?} vs {b} {:?}", self.storage, other.storage),
            );
        }
        if let (Some(x), Some(y)) = (&self.memory, &other.memory) {
            if x != y {
                let first = x.iter().zip(y).position(|(p, q)| p != q);
                push(
                    "memory",
                    format!(
                        "{a} {} bytes vs {b} {} bytes (first difference at {first:?})",
                        x.len(),
                        y.len()
                    ),
                );
            }
        }
        if let (Some(x), Some(y)) = (self.pc, other.pc) {
            if x != y {
                push("pc", format!("{a} stopped at {x} vs {b} at {y}"));
            }
        }
        if let (Some(x), Some(y)) = (self.cause, other.cause) {
            if x != y {
                let text = |c: Option<Cause>| c.map_or("none".to_string(), |c| c.to_string());
                push("cause", format!("{a} {} vs {b} {}", text(x), text(y)));
            }
        }
        for (name, o) in [(a, self), (b, other)] {
            if o.native == Some(false) {
                push(
                    "native",
                    format!("{name} ran on the interpreter, not native code"),
                );
            }
        }
        d
    }

    /// One line for a report.
    pub fn summary(&self) -> String {
        let mut s = format!("status {}", self.status.name());
        if let Some(r) = self.reason {
            s.push_str(&format!(" ({})", r.name()));
        }
        s.push_str(&format!(", output {}", hex0x(&self.output)));
        match self.gas {
            Some((used, refund)) => s.push_str(&format!(", gas_used {used}, gas_refund {refund}")),
            None => s.push_str(", gas not compared"),
        }
        s.push_str(&format!(", logs {}", self.logs.len()));
        for (address, topics, data) in &self.logs {
            s.push_str(&format!(" [{address:?} {topics:?} {}]", hex0x(data)));
        }
        s.push_str(&format!(", storage {:?}", self.storage));
        if let Some(m) = &self.memory {
            s.push_str(&format!(", memory {} bytes", m.len()));
        }
        if let Some(pc) = self.pc {
            s.push_str(&format!(", stopped at pc {pc}"));
        }
        if let Some(Some(cause)) = self.cause {
            s.push_str(&format!(", cause: {cause}"));
        }
        s
    }
}
