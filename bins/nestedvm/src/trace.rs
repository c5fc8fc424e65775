//! Step traces compared: EIP-3155 lines (ours, or revm's `TracerEip3155` with the `revm`
//! feature) read back into one normalized shape ([`TraceStep`]), recorded as they are written
//! ([`Recorder`]), and the first step where two traces part ([`TraceDiff`]).
//!
//! The two writers differ in form, not in what they say, and [`TraceStep`] holds what they
//! say: numbers may be JSON numbers or hex strings (revm writes `refund` and `memSize` as hex,
//! and the refund counter as its two's complement when negative), revm leaves `opName` out for
//! an opcode it has no name for (ours writes `INVALID`), and revm names a frame's ending by its
//! `InstructionResult` (`Stop`, `Return`, `Revert`, `OutOfGas`, …) where ours follows geth's
//! words and writes none on success ([`revm_error`] translates). `returnData` is not compared:
//! revm always writes `0x`, ours the frame's real return data, as geth does.
//!
//! A recorder keeps a hash of each step, so traces of millions of steps compare in little
//! memory; the steps around a difference are found by running both sides again keeping only
//! those ([`Recorder::keeping`]).

use nestedvm::trace::{error_text, Eip3155Writer};
use nestedvm::{Config, HaltReason, Outcome, Request, Status, Vm, U256};
use serde::Deserialize;
use std::cell::RefCell;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::ops::Range;
use std::rc::Rc;

/// Whose writer a trace line comes from: how to read its `error` and `opName`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// nestedvm's [`Eip3155Writer`]: geth's words.
    Ours,
    /// revm's `TracerEip3155`: `InstructionResult` names, no `opName` for unnamed opcodes.
    Revm,
}

/// One step of a trace, in the terms both writers share. Two traces agree when their steps
/// are equal one for one (a recorder compares hashes of the lines, taken to the same effect).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceStep {
    /// Offset of the instruction.
    pub pc: u64,
    /// Its opcode.
    pub op: u8,
    /// Gas left before it.
    pub gas: u64,
    /// What it cost.
    pub gas_cost: u64,
    /// The stack before it, bottom first.
    pub stack: Vec<U256>,
    /// Call depth (the top frame is 1).
    pub depth: u64,
    /// The refund counter before it.
    pub refund: i64,
    /// Memory size before it, in bytes.
    pub mem_size: u64,
    /// The opcode's name (`INVALID` for an opcode without one).
    pub op_name: String,
    /// How it failed, in geth's words (none when it ended its frame successfully).
    pub error: Option<String>,
}

/// A number as either writer puts it: a JSON number, or a string in hex (`0x…`) or decimal;
/// its 64 bits (a hex string is the bits of a two's complement when the field is signed).
struct Number(u64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, or a string of one in hex or decimal")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Number, E> {
                Ok(Number(n))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Number, E> {
                Ok(Number(n as u64))
            }
            fn visit_str<E: serde::de::Error>(self, t: &str) -> Result<Number, E> {
                match t.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16),
                    None => t.parse(),
                }
                .map(Number)
                .map_err(|e| E::custom(format!("{t:?}: {e}")))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// The fields of a line both writers write (others, like revm's `reservoir`, are ignored);
/// a line without `pc` is the summary. Stack words are borrowed from the line.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    pc: Option<u64>,
    #[serde(default)]
    op: u8,
    gas: Option<Number>,
    gas_cost: Option<Number>,
    #[serde(default, borrow)]
    stack: Vec<&'a str>,
    #[serde(default)]
    depth: u64,
    refund: Option<Number>,
    mem_size: Option<Number>,
    #[serde(borrow)]
    op_name: Option<&'a str>,
    error: Option<String>,
}

impl Line<'_> {
    /// A hash of everything but `error` (compared on its own, see [`known_difference`]),
    /// taken from the line as written: the numbers as numbers, each stack word's digits
    /// without leading zeros and in lower case, so that two lines saying the same hash alike
    /// and no word is parsed (words are most of a trace's text).
    fn hash(&self) -> Result<u64, String> {
        // A fixed seed: the hashes of two runs are compared.
        let mut h = foldhash::fast::FixedState::with_seed(0x3155).build_hasher();
        h.write_u64(self.pc.unwrap_or_default());
        h.write_u8(self.op);
        for (n, name) in [
            (&self.gas, "gas"),
            (&self.gas_cost, "gasCost"),
            (&self.refund, "refund"),
            (&self.mem_size, "memSize"),
        ] {
            h.write_u64(n.as_ref().ok_or_else(|| format!("no `{name}`"))?.0);
        }
        h.write_u64(self.depth);
        h.write(self.op_name.unwrap_or(UNNAMED).as_bytes());
        h.write_usize(self.stack.len());
        for w in &self.stack {
            let digits = w
                .strip_prefix("0x")
                .ok_or_else(|| format!("stack word {w:?}: no 0x"))?
                .trim_start_matches('0')
                .as_bytes();
            h.write_usize(digits.len());
            for chunk in digits.chunks(8) {
                let mut bytes = [0u8; 8];
                bytes[..chunk.len()].copy_from_slice(chunk);
                // Hex digits keep their value and A-F become a-f.
                h.write_u64(u64::from_le_bytes(bytes) | 0x2020_2020_2020_2020);
            }
        }
        Ok(h.finish())
    }
}

/// A stack word, `0x` and 1 to 64 hex digits (as both writers put it; a word is borrowed from
/// the line, neither writer escaping inside one). Read here rather than by `U256::from_str`,
/// which was a tenth of a comparison's time.
fn word(text: &str) -> Option<U256> {
    let hex = text.strip_prefix("0x")?.as_bytes();
    if hex.is_empty() || hex.len() > 64 {
        return None;
    }
    let mut limbs = [0u64; 4];
    for (limb, digits) in limbs.iter_mut().zip(hex.rchunks(16)) {
        for &c in digits {
            let digit = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return None,
            };
            *limb = *limb << 4 | u64::from(digit);
        }
    }
    Some(U256(limbs))
}

/// A number field a step must have.
fn field(n: Option<Number>, name: &str) -> Result<u64, String> {
    n.map(|n| n.0).ok_or_else(|| format!("no `{name}`"))
}

/// revm's `InstructionResult` name (its `Debug`) in geth's words, as ours writes them: `None`
/// for an ending that is a success. An unknown name is kept, so it shows as a difference.
pub fn revm_error(name: &str) -> Option<String> {
    use HaltReason as H;
    let (status, reason) = match name {
        "Stop" | "Return" | "SelfDestruct" => return None,
        "Revert" => (Status::Revert, None),
        // revm tells apart where the gas ran out; geth (and ours) do not.
        "OutOfGas"
        | "MemoryOOG"
        | "MemoryLimitOOG"
        | "PrecompileOOG"
        | "InvalidOperandOOG"
        | "ReentrancySentryOOG" => (Status::Halt, Some(H::OutOfGas)),
        "OpcodeNotFound" | "NotActivated" | "InvalidFEOpcode" => {
            (Status::Halt, Some(H::InvalidOpcode))
        }
        "InvalidJump" => (Status::Halt, Some(H::InvalidJump)),
        "StackUnderflow" => (Status::Halt, Some(H::StackUnderflow)),
        "StackOverflow" => (Status::Halt, Some(H::StackOverflow)),
        "StateChangeDuringStaticCall" | "CallNotAllowedInsideStatic" => {
            (Status::Halt, Some(H::StateChangeDuringStaticCall))
        }
        "OutOfOffset" => (Status::Halt, Some(H::ReturnDataOutOfBounds)),
        "CreateInitCodeSizeLimit" => (Status::Halt, Some(H::InitcodeTooLarge)),
        "CreateCollision" => (Status::Halt, Some(H::CreateCollision)),
        other => return Some(format!("revm: {other}")),
    };
    error_text(status, reason).map(str::to_string)
}

/// What ours writes as `opName` for an opcode without a name; revm leaves the field out.
const UNNAMED: &str = "INVALID";

impl TraceStep {
    /// Reads one line of `writer`'s trace: `Ok(None)` for a line that is no step (the
    /// summary).
    pub fn parse(writer: Writer, line: &str) -> Result<Option<TraceStep>, String> {
        let l: Line<'_> = serde_json::from_str(line).map_err(|e| format!("{e}: {line}"))?;
        TraceStep::from_line(writer, l)
    }

    fn from_line(writer: Writer, l: Line<'_>) -> Result<Option<TraceStep>, String> {
        let Some(pc) = l.pc else {
            return Ok(None);
        };
        let stack = l
            .stack
            .iter()
            .map(|w| {
                word(w).ok_or_else(|| format!("stack word {w:?}: not 0x and 1 to 64 hex digits"))
            })
            .collect::<Result<_, _>>()?;
        let error = match writer {
            Writer::Ours => l.error,
            Writer::Revm => l.error.as_deref().and_then(revm_error),
        };
        Ok(Some(TraceStep {
            pc,
            op: l.op,
            gas: field(l.gas, "gas")?,
            gas_cost: field(l.gas_cost, "gasCost")?,
            stack,
            depth: l.depth,
            refund: field(l.refund, "refund")? as i64,
            mem_size: field(l.mem_size, "memSize")?,
            op_name: l.op_name.unwrap_or(UNNAMED).to_string(),
            error,
        }))
    }

    /// The names of the fields in which `other` differs.
    pub fn differing_fields(&self, other: &TraceStep) -> Vec<&'static str> {
        let mut fields = Vec::new();
        let mut check = |differs: bool, name| {
            if differs {
                fields.push(name);
            }
        };
        check(self.pc != other.pc, "pc");
        check(self.op != other.op, "op");
        check(self.gas != other.gas, "gas");
        check(self.gas_cost != other.gas_cost, "gasCost");
        check(self.stack != other.stack, "stack");
        check(self.depth != other.depth, "depth");
        check(self.refund != other.refund, "refund");
        check(self.mem_size != other.mem_size, "memSize");
        check(self.op_name != other.op_name, "opName");
        check(self.error != other.error, "error");
        fields
    }
}

/// At most this many stack words are shown, the top ones.
const SHOWN_WORDS: usize = 4;

impl fmt::Display for TraceStep {
    /// One short line: `pc 7 SSTORE depth 1 gas 29991 cost 2200 refund 0 mem 0 stack [.., 0x1]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pc {} {} depth {} gas {} cost {} refund {} mem {} stack [",
            self.pc, self.op_name, self.depth, self.gas, self.gas_cost, self.refund, self.mem_size
        )?;
        let skip = self.stack.len().saturating_sub(SHOWN_WORDS);
        if skip > 0 {
            write!(f, "{skip} more, ")?;
        }
        for (i, w) in self.stack[skip..].iter().enumerate() {
            let comma = if i == 0 { "" } else { ", " };
            write!(f, "{comma}{w:#x}")?;
        }
        f.write_str("]")?;
        if let Some(e) = &self.error {
            write!(f, " error {e:?}")?;
        }
        Ok(())
    }
}

/// Reads a trace as it is written: a hash of every step, and the steps of one range in full.
#[derive(Debug)]
pub struct Recorder {
    writer: Writer,
    partial: Vec<u8>,
    hashes: Vec<u64>,
    keep: Range<usize>,
    kept: Vec<TraceStep>,
    failures: Vec<(usize, TraceStep)>,
    error: Option<String>,
}

impl Recorder {
    /// Records `writer`'s lines, keeping no step in full.
    pub fn new(writer: Writer) -> Self {
        Recorder::keeping(writer, 0..0)
    }

    /// Records `writer`'s lines, keeping the steps whose indices are in `keep`.
    pub fn keeping(writer: Writer, keep: Range<usize>) -> Self {
        Recorder {
            writer,
            partial: Vec::new(),
            hashes: Vec::new(),
            keep,
            kept: Vec::new(),
            failures: Vec::new(),
            error: None,
        }
    }

    fn line(&mut self, line: &[u8]) {
        if self.error.is_some() || line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if let Err(e) = self.read(line) {
            self.error = Some(format!("step {}: {e}", self.hashes.len()));
        }
    }

    /// Records one line: its hash, and the step in full when it is kept or failed.
    fn read(&mut self, line: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(line).map_err(|e| e.to_string())?;
        let l: Line<'_> = serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
        if l.pc.is_none() {
            return Ok(());
        }
        let index = self.hashes.len();
        self.hashes.push(l.hash()?);
        let kept = self.keep.contains(&index);
        if kept || l.error.is_some() {
            let step = TraceStep::from_line(self.writer, l)?.expect("a step has a pc");
            if kept {
                self.kept.push(step.clone());
            }
            if step.error.is_some() {
                self.failures.push((index, step));
            }
        }
        Ok(())
    }

    /// The trace as recorded, or the first line that could not be read.
    pub fn finish(mut self) -> Result<Recorded, String> {
        let rest = std::mem::take(&mut self.partial);
        self.line(&rest);
        match self.error {
            Some(e) => Err(format!("{:?}'s trace: {e}", self.writer)),
            None => Ok(Recorded {
                hashes: self.hashes,
                first_kept: self.keep.start,
                kept: self.kept,
                failures: self.failures,
            }),
        }
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            if self.partial.is_empty() {
                self.line(&rest[..end]);
            } else {
                self.partial.extend_from_slice(&rest[..end]);
                let line = std::mem::take(&mut self.partial);
                self.line(&line);
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A [`Recorder`] that can be handed away as a writer (revm's tracer takes a boxed
/// `'static` writer) and read back afterwards.
#[derive(Clone, Debug)]
pub struct SharedRecorder(Rc<RefCell<Recorder>>);

impl SharedRecorder {
    /// Shares `recorder`.
    pub fn new(recorder: Recorder) -> Self {
        SharedRecorder(Rc::new(RefCell::new(recorder)))
    }

    /// The trace recorded; every other handle must be gone.
    pub fn finish(self) -> Result<Recorded, String> {
        Rc::try_unwrap(self.0)
            .map_err(|_| "a trace writer is still alive".to_string())?
            .into_inner()
            .finish()
    }
}

impl Write for SharedRecorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A trace read back.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// A hash of each step.
    pub hashes: Vec<u64>,
    /// Index of the first kept step.
    pub first_kept: usize,
    /// The steps kept in full.
    pub kept: Vec<TraceStep>,
    /// Every step that failed, with its index (at most one a frame).
    pub failures: Vec<(usize, TraceStep)>,
}

impl Recorded {
    /// How many steps.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Step `index`, when it was kept.
    pub fn step(&self, index: usize) -> Option<&TraceStep> {
        index
            .checked_sub(self.first_kept)
            .and_then(|i| self.kept.get(i))
    }

    /// Where `other` parts from this trace: the first step where any field differs (a step
    /// one trace has and the other lacks included), and the differences in `error` before it
    /// that are known ([`known_difference`]).
    pub fn compare(&self, other: &Recorded) -> Parting {
        let common = self.hashes.len().min(other.hashes.len());
        let mut first = (0..common)
            .find(|&i| self.hashes[i] != other.hashes[i])
            .or((self.hashes.len() != other.hashes.len()).then_some(common));
        let mut known = Vec::new();
        fn failed(r: &Recorded, i: usize) -> Option<&TraceStep> {
            let k = r.failures.binary_search_by_key(&i, |(j, _)| *j).ok()?;
            Some(&r.failures[k].1)
        }
        let mut indices: Vec<usize> = self
            .failures
            .iter()
            .chain(&other.failures)
            .map(|(i, _)| *i)
            .collect();
        indices.sort_unstable();
        indices.dedup();
        for i in indices
            .into_iter()
            .take_while(|&i| first.is_none_or(|f| i < f))
        {
            let (a, b) = (failed(self, i), failed(other, i));
            if a.map(|s| &s.error) == b.map(|s| &s.error) {
                continue;
            }
            match a.zip(b).and_then(|(a, b)| known_difference(a, b)) {
                Some(label) => known.push((i, label)),
                None => {
                    first = Some(i);
                    break;
                }
            }
        }
        Parting { first, known }
    }
}

/// Where two traces part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parting {
    /// The first step that differs, if any.
    pub first: Option<usize>,
    /// Steps before it whose `error` differs in a known way, with what that way is.
    pub known: Vec<(usize, &'static str)>,
}

/// When ours and revm name the failure of the same step differently in a way that is known
/// and checked here from the step itself, what that way is. Both failures are exceptional
/// halts that take all the frame's gas, so the results are the same (and the step's other
/// fields are compared as usual); only the name differs, because revm misnames a failure or
/// checks in another order than ours. The halt reason is part of our result, which tracing
/// never changes, so the trace keeps ours.
pub fn known_difference(ours: &TraceStep, revm: &TraceStep) -> Option<&'static str> {
    use nestedvm::interp::opcode::{
        info, CALL, CREATE, CREATE2, LOG0, LOG4, RETURNDATACOPY, SELFDESTRUCT, SSTORE, TSTORE,
    };
    let errors = (ours.error.as_deref()?, revm.error.as_deref()?);
    let op = ours.op;
    let depth = ours.stack.len();
    // The word `n` places below the top, as the step found it.
    let nth = |n: usize| depth.checked_sub(n + 1).map(|i| ours.stack[i]);
    let static_gas = info(op).map_or(0, |i| u64::from(i.base_gas));
    let inputs = info(op).map_or(0, |i| usize::from(i.inputs));
    let writes = matches!(
        op,
        SSTORE | TSTORE | LOG0..=LOG4 | CREATE | CREATE2 | SELFDESTRUCT
    );
    match errors {
        ("stack underflow", "stack limit reached 1024")
            if (0x80..=0x8f).contains(&op) && depth < usize::from(op - 0x7f) =>
        {
            Some("revm names a DUPn underflow a stack overflow")
        }
        // An out-of-gas of revm's that left the gas (the step did not cost it all): an
        // operand over 64 bits, or memory it could not pay, met before what ours checks.
        (
            "max initcode size exceeded" | "return data out of bounds" | "stack underflow",
            "out of gas",
        ) if ours.gas_cost < ours.gas
            && matches!(op, CREATE | CREATE2 | RETURNDATACOPY | LOG0..=LOG4) =>
        {
            Some("revm fails on an operand over 64 bits or on memory before ours' check")
        }
        ("out of gas", "max initcode size exceeded" | "stack underflow" | "write protection")
            if ours.gas < static_gas =>
        {
            Some("ours charges the static gas before checks revm makes first")
        }
        // revm's charge took all the gas: it failed paying before its own check.
        ("stack underflow" | "invalid opcode" | "write protection", "out of gas")
            if ours.gas_cost == ours.gas =>
        {
            Some("revm charges gas before the check ours fails first")
        }
        ("stack underflow", "write protection")
            if depth < inputs
                && (writes || op == CALL && nth(2).is_some_and(|value| !value.is_zero())) =>
        {
            Some("revm checks a static frame before reading the stack")
        }
        _ => None,
    }
}

/// Runs `request` traced in `config` (which must be the interpreter: a traced run is
/// interpreted whatever the engine), recording ours: the outcome and the trace.
pub fn trace_ours(
    vm: &mut Vm,
    config: &Config,
    request: &Request,
    recorder: Recorder,
) -> Result<(Outcome, Recorded), String> {
    let mut writer = Eip3155Writer::new(recorder);
    let outcome = vm
        .run_traced(config, request, &mut writer)
        .map_err(|e| e.to_string())?;
    let recorder = writer.finish(&outcome).map_err(|e| e.to_string())?;
    Ok((outcome, recorder.finish()?))
}

/// Steps shown before the first difference.
pub const CONTEXT_STEPS: usize = 3;

/// Where two traces part: the steps before, and each side's step there (`None` past its end).
#[derive(Clone, Debug)]
pub struct TraceDiff {
    /// The first side's name.
    pub left_name: String,
    /// The second side's name.
    pub right_name: String,
    /// Index of the first differing step.
    pub index: usize,
    /// Steps in each trace.
    pub lengths: (usize, usize),
    /// The [`CONTEXT_STEPS`] steps before it (the same on both sides).
    pub before: Vec<TraceStep>,
    /// The first side's step there.
    pub left: Option<TraceStep>,
    /// The second side's step there.
    pub right: Option<TraceStep>,
}

impl TraceDiff {
    /// The range of steps to keep in full to report a difference at `index`.
    pub fn window(index: usize) -> Range<usize> {
        index.saturating_sub(CONTEXT_STEPS)..index + 1
    }

    /// The difference at `index` of two traces recorded keeping [`TraceDiff::window`].
    pub fn at(
        index: usize,
        (left_name, left): (&str, &Recorded),
        (right_name, right): (&str, &Recorded),
    ) -> TraceDiff {
        TraceDiff {
            left_name: left_name.to_string(),
            right_name: right_name.to_string(),
            index,
            lengths: (left.len(), right.len()),
            before: TraceDiff::window(index)
                .take_while(|&i| i < index)
                .filter_map(|i| left.step(i).cloned())
                .collect(),
            left: left.step(index).cloned(),
            right: right.step(index).cloned(),
        }
    }

    /// The difference in one line: the step, where it is, and what differs.
    pub fn headline(&self) -> String {
        let (l, r) = (&self.left_name, &self.right_name);
        match (&self.left, &self.right) {
            (Some(a), Some(_)) => format!(
                "step {} ({} at pc {}, depth {}) differs in {}",
                self.index,
                a.op_name,
                a.pc,
                a.depth,
                self.fields().join(", ")
            ),
            (Some(a), None) | (None, Some(a)) => {
                let (has, ended) = if self.left.is_some() { (l, r) } else { (r, l) };
                format!(
                    "step {}: {has} runs {} at pc {}, depth {}, where {ended}'s trace has ended",
                    self.index, a.op_name, a.pc, a.depth
                )
            }
            (None, None) => format!("the traces part at step {}", self.index),
        }
    }

    /// The fields that differ at the step (empty when one trace has no step there).
    pub fn fields(&self) -> Vec<&'static str> {
        match (&self.left, &self.right) {
            (Some(l), Some(r)) => l.differing_fields(r),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for TraceDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (l, r) = (&self.left_name, &self.right_name);
        let fields = self.fields();
        write!(
            f,
            "traces part at step {} ({l}: {} steps, {r}: {} steps)",
            self.index, self.lengths.0, self.lengths.1
        )?;
        if !fields.is_empty() {
            write!(f, ", in {}", fields.join(", "))?;
        }
        writeln!(f, ":")?;
        let width = l.len().max(r.len());
        for (i, step) in self.before.iter().enumerate() {
            let n = self.index - self.before.len() + i;
            writeln!(f, "  {n:>5} {:width$}  {step}", "both")?;
        }
        for (name, step) in [(l, &self.left), (r, &self.right)] {
            match step {
                Some(s) => writeln!(f, "  {:>5} {name:width$}  {s}", self.index)?,
                None => writeln!(
                    f,
                    "  {:>5} {name:width$}  (its trace has ended)",
                    self.index
                )?,
            }
        }
        Ok(())
    }
}

/// Runs `request` at `fork` in revm under its EIP-3155 tracer, recording its trace.
#[cfg(feature = "revm")]
pub fn trace_revm(
    fork: nestedvm::Fork,
    request: &Request,
    recorder: Recorder,
) -> Result<(crate::oracle::OracleOutcome, Recorded), String> {
    use crate::oracle::revm::{run_revm_traced, OracleRequest};
    let shared = SharedRecorder::new(recorder);
    let outcome = run_revm_traced(&OracleRequest::from_request(fork, request), shared.clone())?;
    Ok((outcome, shared.finish()?))
}

/// How the interpreter's trace of a request compares with revm's.
#[derive(Clone, Debug)]
pub struct TraceComparison {
    /// Steps in ours.
    pub steps: usize,
    /// Where they part, if they do.
    pub diff: Option<TraceDiff>,
    /// Steps where the two name a failure differently in a known way ([`known_difference`]).
    pub known: Vec<(usize, &'static str)>,
    /// Whether the traced run gave the untraced run's result.
    pub same_result: bool,
}

/// The interpreter's trace of `request` (an `evm` request at `config.fork`) against revm's.
/// Both sides run twice when they part, the second time keeping the steps around it. The
/// traced run's result is also compared with an untraced run's.
#[cfg(feature = "revm")]
pub fn compare_with_revm(
    vm: &mut Vm,
    config: &Config,
    request: &Request,
) -> Result<TraceComparison, String> {
    let record = |vm: &mut Vm, keep: Range<usize>| -> Result<_, String> {
        let ours = trace_ours(
            vm,
            config,
            request,
            Recorder::keeping(Writer::Ours, keep.clone()),
        )?;
        let (_, theirs) = trace_revm(config.fork, request, Recorder::keeping(Writer::Revm, keep))?;
        Ok((ours, theirs))
    };
    let ((outcome, ours), theirs) = record(vm, 0..0)?;
    let untraced = vm.run(config, request).map_err(|e| e.to_string())?;
    let same_result = crate::observed::Observed::from_outcome(&untraced)
        == crate::observed::Observed::from_outcome(&outcome);
    let Parting { first, known } = ours.compare(&theirs);
    let diff = match first {
        None => None,
        Some(index) => {
            let ((_, ours), theirs) = record(vm, TraceDiff::window(index))?;
            Some(TraceDiff::at(index, ("interp", &ours), ("revm", &theirs)))
        }
    };
    Ok(TraceComparison {
        steps: ours.len(),
        diff,
        known,
        same_result,
    })
}

/// How our trace of a state-test vector's whole transaction compares with revm's.
#[derive(Clone, Debug)]
pub struct VectorComparison {
    /// The traces, as for a message call; `same_result` here says the traced transaction
    /// gave the untraced one's receipt (or rejection) and state root.
    pub trace: TraceComparison,
    /// Whether both rejected the transaction, writing no step.
    pub rejected: bool,
    /// How revm ended the transaction otherwise, if it did: one side rejecting what the
    /// other applies, or another status, gas used, output or created contract.
    pub outcome_differs: Option<String>,
}

/// Our trace of `vector`'s transaction (`statetest --trace`, [`Vm::transact_traced`]) against
/// revm's (its mainnet handler under its tracer), with the transactions' endings compared
/// too. Both sides run twice when they part, the second time keeping the steps around it.
/// The traced transaction's receipt and state root are also compared with an untraced
/// run's. `Err` when the vector cannot be built or a trace cannot be read.
#[cfg(feature = "revm")]
pub fn compare_vector_with_revm(
    vm: &mut Vm,
    vector: &crate::statetest::Vector<'_>,
) -> Result<VectorComparison, String> {
    use crate::oracle::statetest::run_vector_traced;
    let record = |vm: &mut Vm, keep: Range<usize>| -> Result<_, String> {
        let mut ours = Recorder::keeping(Writer::Ours, keep.clone());
        let applied = vector.trace(vm, &mut ours).map_err(|e| e.to_string())??;
        let shared = SharedRecorder::new(Recorder::keeping(Writer::Revm, keep));
        let receipt = run_vector_traced(vector, shared.clone())?;
        Ok(((applied, ours.finish()?), (receipt, shared.finish()?)))
    };
    let ((applied, ours), (receipt, theirs)) = record(vm, 0..0)?;
    let untraced = vector.apply(vm, nestedvm::Engine::Auto)?;
    let Parting { first, known } = ours.compare(&theirs);
    let diff = match first {
        None => None,
        Some(index) => {
            let ((_, ours), (_, theirs)) = record(vm, TraceDiff::window(index))?;
            Some(TraceDiff::at(index, ("interp", &ours), ("revm", &theirs)))
        }
    };
    let outcome_differs = match (&applied.receipt, &receipt) {
        (Err(_), Err(_)) => None,
        (Err(e), Ok(_)) => Some(format!(
            "ours rejects the transaction ({e}), revm applies it"
        )),
        (Ok(_), Err(e)) => Some(format!(
            "revm rejects the transaction ({e}), ours applies it"
        )),
        (Ok(ours), Ok(revm)) => {
            let ours = (ours.status, ours.gas_used, &ours.output, ours.created);
            let revm = (revm.status, revm.gas_used, &revm.output, revm.created);
            (ours != revm).then(|| {
                format!(
                    "the transaction ends otherwise (status, gas used, output, created): \
                     ours {ours:?}, revm {revm:?}"
                )
            })
        }
    };
    Ok(VectorComparison {
        trace: TraceComparison {
            steps: ours.len(),
            diff,
            known,
            same_result: untraced == applied,
        },
        rejected: applied.receipt.is_err() && receipt.is_err(),
        outcome_differs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_writers_read_the_same() {
        let ours = r#"{"pc":2,"op":1,"gas":"0x2710","gasCost":"0x3","memSize":32,"stack":["0x1","0x2"],"depth":1,"returnData":"0x01","refund":-4800,"opName":"ADD"}"#;
        let revm = r#"{"pc":2,"depth":1,"opName":"ADD","op":1,"gas":"0x2710","reservoir":"0x0","stateGas":"0x0","gasCost":"0x3","stack":["0x1","0x2"],"returnData":"0x","refund":"0xffffffffffffed40","memSize":"0x20"}"#;
        let a = TraceStep::parse(Writer::Ours, ours).unwrap().unwrap();
        let b = TraceStep::parse(Writer::Revm, revm).unwrap().unwrap();
        assert_eq!(a, b);
        assert_eq!((a.refund, a.mem_size, a.gas), (-4800, 32, 10000));
        assert_eq!(word("0x0"), Some(U256::zero()));
        let max = format!("0x{}", "f".repeat(64));
        assert_eq!(word(&max), Some(U256::MAX));
        assert_eq!(
            word("0x1234567890abcdef1"),
            Some(U256::from(0x1234567890abcdef1u128))
        );
        for bad in ["0x", "12", "0xg", &format!("0x1{}", "0".repeat(64))] {
            assert_eq!(word(bad), None, "{bad}");
        }
        let summary = r#"{"stateRoot":"0x00","output":"0x","gasUsed":"0x5","pass":true}"#;
        assert_eq!(TraceStep::parse(Writer::Revm, summary).unwrap(), None);
    }

    #[test]
    fn revm_endings_in_geths_words() {
        assert_eq!(revm_error("Stop"), None);
        assert_eq!(revm_error("Return"), None);
        assert_eq!(revm_error("Revert").as_deref(), Some("execution reverted"));
        assert_eq!(revm_error("MemoryOOG").as_deref(), Some("out of gas"));
        assert_eq!(
            revm_error("OpcodeNotFound").as_deref(),
            Some("invalid opcode")
        );
        assert_eq!(revm_error("Weird").as_deref(), Some("revm: Weird"));
        let unnamed = r#"{"pc":0,"depth":1,"op":12,"gas":"0x0","gasCost":"0x0","stack":[],"refund":"0x0","memSize":"0x0","error":"OpcodeNotFound"}"#;
        let step = TraceStep::parse(Writer::Revm, unnamed).unwrap().unwrap();
        assert_eq!(
            (step.op_name.as_str(), step.error.as_deref()),
            ("INVALID", Some("invalid opcode"))
        );
    }

    #[test]
    fn a_recorder_finds_lines_across_writes_and_the_first_difference() {
        let line = |pc: u64| {
            format!(
                r#"{{"pc":{pc},"op":0,"gas":"0x1","gasCost":"0x0","memSize":0,"stack":[],"depth":1,"refund":0,"opName":"STOP"}}"#
            )
        };
        let mut a = Recorder::keeping(Writer::Ours, TraceDiff::window(2));
        let text = format!("{}\n{}\n{}\n", line(0), line(1), line(2));
        for chunk in text.as_bytes().chunks(7) {
            a.write_all(chunk).unwrap();
        }
        let a = a.finish().unwrap();
        let mut b = Recorder::keeping(Writer::Ours, TraceDiff::window(2));
        write!(b, "{}\n{}\n{}", line(0), line(1), line(5)).unwrap();
        let b = b.finish().unwrap();
        assert_eq!(a.compare(&b).first, Some(2));
        assert_eq!(a.compare(&a), Parting::default());
        let diff = TraceDiff::at(2, ("ours", &a), ("theirs", &b));
        assert_eq!(diff.fields(), vec!["pc"]);
        assert_eq!(diff.before.len(), 2);
        let shown = diff.to_string();
        assert!(
            shown.contains("traces part at step 2") && shown.contains("pc 5"),
            "{shown}"
        );
        let mut short = Recorder::new(Writer::Ours);
        writeln!(short, "{}", line(0)).unwrap();
        assert_eq!(a.compare(&short.finish().unwrap()).first, Some(1));
    }
}
