//! EIP-3155 step traces: one JSON object per instruction, as geth's `evm --json` writes them
//! (`pc`, `op`, `gas`, `gasCost`, `memSize`, `stack`, `depth`, `returnData` when there is
//! some, `refund`, `opName`, `error` when the step failed), and a summary line at the end.

use super::{error_text, Tracer};
use crate::output::Hex;
use crate::{Outcome, U256};
use nestedvm_interp::opcode;
use nestedvm_interp::trace::{StepError, StepView};
use nestedvm_interp::Status;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Appends `step`, at call depth `depth`, to `line` as one JSON object (no line break).
pub fn write_step(line: &mut String, depth: usize, step: &StepView<'_>) {
    // Formatting into a String cannot fail.
    let _ = write!(
        line,
        "{{\"pc\":{},\"op\":{},\"gas\":\"{:#x}\",\"gasCost\":\"{:#x}\",\"memSize\":{},\"stack\":[",
        step.pc, step.op, step.gas, step.gas_cost, step.mem_size
    );
    for (i, word) in step.stack.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push('"');
        push_hex(line, word);
        line.push('"');
    }
    let _ = write!(line, "],\"depth\":{depth}");
    if !step.return_data.is_empty() {
        let _ = write!(line, ",\"returnData\":\"{}\"", Hex(step.return_data));
    }
    let _ = write!(line, ",\"refund\":{}", step.refund);
    let _ = write!(line, ",\"opName\":\"{}\"", op_name(step.op));
    if let Some(error) = step.error {
        let text = match error {
            StepError::Revert => error_text(Status::Revert, None),
            StepError::Halt(reason) => error_text(Status::Halt, Some(reason)),
        };
        let _ = write!(line, ",\"error\":\"{}\"", text.unwrap_or("halted"));
    }
    line.push('}');
}

/// Appends `word` as `0x` and its hex digits without leading zeros (`{:#x}`), which is most
/// of a step's text; formatted by hand, as `fmt`'s padding machinery took most of a traced
/// run's time.
fn push_hex(line: &mut String, word: &U256) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    line.push_str("0x");
    let bits = word.bits();
    if bits == 0 {
        line.push('0');
        return;
    }
    for nibble in (0..bits.div_ceil(4)).rev() {
        let digit = (word.0[nibble / 16] >> (4 * (nibble % 16))) & 0xf;
        line.push(char::from(DIGITS[digit as usize]));
    }
}

/// The name a step's `opName` gives `op`: the mnemonic, as revm's and geth's tracers write
/// it (`DIFFICULTY` for 0x44, which the disassembler calls `PREVRANDAO`, and the names revm
/// already gives the opcodes of a later fork, which no fork of ours runs), or `INVALID` for
/// an opcode without one.
pub fn op_name(op: u8) -> &'static str {
    match op {
        0x44 => "DIFFICULTY",
        0x4b => "SLOTNUM",
        0xe6 => "DUPN",
        0xe7 => "SWAPN",
        0xe8 => "EXCHANGE",
        _ => opcode::info(op).map_or("INVALID", |info| info.name),
    }
}

/// The summary line that closes a trace: `{"output":…,"gasUsed":…}`, and `"error"` when the
/// run failed (geth's wording).
pub fn summary(outcome: &Outcome) -> String {
    summary_of(
        &outcome.output,
        outcome.gas_used,
        outcome.status,
        outcome.reason,
    )
}

/// [`summary`] of a run that gave `output`, used `gas_used` and ended with `status`.
pub fn summary_of(
    output: &[u8],
    gas_used: u64,
    status: Status,
    reason: Option<nestedvm_interp::HaltReason>,
) -> String {
    let mut line = format!(
        "{{\"output\":\"{}\",\"gasUsed\":\"{:#x}\"",
        Hex(output),
        gas_used
    );
    if let Some(error) = error_text(status, reason) {
        let _ = write!(line, ",\"error\":\"{error}\"");
    }
    line.push('}');
    line
}

/// Writes each step as a line of `W` as it runs (`run --trace`). The first write error is
/// kept and nothing more is written.
pub struct Eip3155Writer<W: Write> {
    out: W,
    line: String,
    error: Option<io::Error>,
}

impl<W: Write> Eip3155Writer<W> {
    /// Steps go to `out` (buffer it: a trace is many small lines).
    pub fn new(out: W) -> Self {
        Eip3155Writer {
            out,
            line: String::new(),
            error: None,
        }
    }

    /// Flushes and gives back the writer, or the first error writing the trace.
    pub fn into_inner(mut self) -> io::Result<W> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.out)
    }

    /// Writes the summary line of `outcome`, flushes, and gives back the writer, or the
    /// first error writing the trace.
    pub fn finish(mut self, outcome: &Outcome) -> io::Result<W> {
        if let Some(e) = self.error {
            return Err(e);
        }
        writeln!(self.out, "{}", summary(outcome))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Tracer for Eip3155Writer<W> {
    fn step(&mut self, depth: usize, step: &StepView<'_>) {
        if self.error.is_some() {
            return;
        }
        self.line.clear();
        write_step(&mut self.line, depth, step);
        self.line.push('\n');
        if let Err(e) = self.out.write_all(self.line.as_bytes()) {
            self.error = Some(e);
        }
    }
}

/// Keeps the steps as the elements of a JSON array, up to a number of bytes (a batch
/// result's `"trace"`): past it no more are kept and the trace says it was cut short.
pub struct Eip3155Lines {
    json: String,
    limit: usize,
    steps: u64,
    truncated: bool,
}

impl Eip3155Lines {
    /// Keeps at most about `limit` bytes of steps.
    pub fn with_limit(limit: usize) -> Self {
        Eip3155Lines {
            json: String::from("["),
            limit,
            steps: 0,
            truncated: false,
        }
    }

    /// Whether steps were left out for want of room.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Steps kept.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The kept steps as a JSON array.
    pub fn into_json(mut self) -> String {
        self.json.push(']');
        self.json
    }
}

impl Tracer for Eip3155Lines {
    fn step(&mut self, depth: usize, step: &StepView<'_>) {
        if self.truncated {
            return;
        }
        let mark = self.json.len();
        if self.steps > 0 {
            self.json.push(',');
        }
        write_step(&mut self.json, depth, step);
        if self.json.len() > self.limit {
            self.json.truncate(mark);
            self.truncated = true;
            return;
        }
        self.steps += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_written_as_fmt_writes_them() {
        let words = [
            U256::zero(),
            U256::one(),
            U256::from(0xabcu64),
            U256::from(u64::MAX),
            U256::from(u64::MAX) + 1,
            U256::MAX,
            U256::one() << 255,
        ];
        for w in words {
            let mut line = String::new();
            push_hex(&mut line, &w);
            assert_eq!(line, format!("{w:#x}"));
        }
    }
}
