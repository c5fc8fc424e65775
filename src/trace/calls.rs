//! The call tree of a run, in the shape of geth's `callTracer`: every frame (calls of each
//! kind, creates, precompiles, calls answered at once) with its gas, input, output, error and
//! decoded revert reason, and the frames it made.

use super::{error_text, Enter, Exit, FrameKind, RevertReason, Tracer};
use crate::output::{hex0x, Hex};
use crate::{Address, Status, U256};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// One frame of the call tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFrame {
    /// Its kind.
    pub kind: FrameKind,
    /// The account whose code made it.
    pub from: Address,
    /// The account whose code ran (a create's new account; `None` when a create was refused
    /// before its address was known).
    pub to: Option<Address>,
    /// Value sent (`None` for STATICCALL and DELEGATECALL).
    pub value: Option<U256>,
    /// Gas given to it.
    pub gas: u64,
    /// Gas it used.
    pub gas_used: u64,
    /// Call data or init code.
    pub input: Vec<u8>,
    /// Return or revert data (a create's deployed code).
    pub output: Vec<u8>,
    /// How it ended.
    pub status: Status,
    /// Why it halted.
    pub reason: Option<nestedvm_interp::HaltReason>,
    /// In `hyvm`, why the hypervisor itself reverted it, when it did (a `cause` key beside
    /// geth's, which the chain's own trace cannot give).
    pub cause: Option<nestedvm_interp::Cause>,
    /// The frames it made, in order.
    pub calls: Vec<CallFrame>,
}

impl CallFrame {
    /// Geth's wording of how it failed; `None` on success.
    pub fn error(&self) -> Option<&'static str> {
        error_text(self.status, self.reason)
    }

    /// Its revert data decoded, when it reverted with some.
    pub fn revert_reason(&self) -> Option<RevertReason> {
        (self.status == Status::Revert)
            .then(|| RevertReason::decode(&self.output))
            .flatten()
    }
}

/// Geth's keys and formats: lowercase hex addresses, quantities as `0x` hex, `value` left out
/// where the call sends none of its own, `output`, `error`, `revertReason` and `calls` left
/// out when empty.
impl Serialize for CallFrame {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", self.kind.name())?;
        map.serialize_entry("from", &hex0x(self.from.as_bytes()))?;
        if let Some(to) = &self.to {
            map.serialize_entry("to", &hex0x(to.as_bytes()))?;
        }
        if let Some(value) = &self.value {
            map.serialize_entry("value", &format!("{value:#x}"))?;
        }
        map.serialize_entry("gas", &format!("{:#x}", self.gas))?;
        map.serialize_entry("gasUsed", &format!("{:#x}", self.gas_used))?;
        map.serialize_entry("input", &Hex(&self.input))?;
        if !self.output.is_empty() {
            map.serialize_entry("output", &Hex(&self.output))?;
        }
        if let Some(error) = self.error() {
            map.serialize_entry("error", error)?;
        }
        if let Some(reason) = self.revert_reason() {
            map.serialize_entry("revertReason", &reason.to_string())?;
        }
        if let Some(cause) = &self.cause {
            map.serialize_entry("cause", &crate::output::JsonCause::new(cause))?;
        }
        if !self.calls.is_empty() {
            map.serialize_entry("calls", &self.calls)?;
        }
        map.end()
    }
}

/// Builds the call tree of a run.
#[derive(Debug, Default)]
pub struct CallTracer {
    /// The frames entered and not yet exited, outermost first.
    open: Vec<CallFrame>,
    /// The top frame, once it has exited.
    root: Option<CallFrame>,
}

impl CallTracer {
    /// An empty tracer.
    pub fn new() -> Self {
        CallTracer::default()
    }

    /// The tree, once the run's top frame has ended.
    pub fn into_tree(self) -> Option<CallFrame> {
        self.root
    }
}

impl Tracer for CallTracer {
    fn enter(&mut self, frame: &Enter<'_>) {
        self.open.push(CallFrame {
            kind: frame.kind,
            from: frame.from,
            to: frame.to,
            value: frame.value,
            gas: frame.gas,
            gas_used: 0,
            input: frame.input.to_vec(),
            output: Vec::new(),
            status: Status::Success,
            reason: None,
            cause: None,
            calls: Vec::new(),
        });
    }

    fn exit(&mut self, exit: &Exit<'_>) {
        let Some(mut frame) = self.open.pop() else {
            return;
        };
        frame.status = exit.status;
        frame.reason = exit.reason;
        frame.output = exit.output.to_vec();
        frame.gas_used = exit.gas_used;
        frame.cause = exit.cause;
        if let Some(created) = exit.created {
            frame.to = Some(created);
        }
        match self.open.last_mut() {
            Some(parent) => parent.calls.push(frame),
            None => self.root = Some(frame),
        }
    }
}

/// The call tree as readable text, one line a frame, indented by depth:
/// `CALL 0x…ca11 -> 0x…c0de value 0x0 gas 30000000 used 2300: execution reverted (reason)`.
pub fn tree_text(root: &CallFrame) -> String {
    let mut text = String::new();
    write_frame(&mut text, root, 0);
    text
}

fn write_frame(text: &mut String, frame: &CallFrame, depth: usize) {
    use std::fmt::Write as _;
    let to = frame
        .to
        .map_or_else(|| "(no address)".to_string(), |a| hex0x(a.as_bytes()));
    let _ = write!(
        text,
        "{:indent$}{} {} -> {}",
        "",
        frame.kind.name(),
        hex0x(frame.from.as_bytes()),
        to,
        indent = 2 * depth
    );
    if let Some(value) = frame.value.filter(|v| !v.is_zero()) {
        let _ = write!(text, " value {value}");
    }
    let _ = write!(text, " gas {} used {}", frame.gas, frame.gas_used);
    match (frame.error(), frame.revert_reason()) {
        (None, _) => text.push_str(": ok"),
        (Some(error), None) => {
            let _ = write!(text, ": {error}");
        }
        (Some(error), Some(reason)) => {
            let _ = write!(text, ": {error} ({reason})");
        }
    }
    if let Some(cause) = &frame.cause {
        let _ = write!(text, " [hypervisor: {cause}]");
    }
    text.push('\n');
    for call in &frame.calls {
        write_frame(text, call, depth + 1);
    }
}
