//! `run --batch`: one JSON request per line on stdin, one JSON result per line on stdout, in
//! order, through [`nestedvm::batch::Batch`].

use crate::{base_request, RunArgs, UsageError};
use nestedvm::batch::{read_line, Batch, Line, MAX_LINE_LEN};
use nestedvm::Vm;
use std::io::Write;

/// Runs the batch protocol over stdin and stdout.
pub fn run_batch(args: &RunArgs) -> Result<(), UsageError> {
    // Flags are checked once up front so that a bad flag is a usage error, not N line errors.
    let (config, request) = base_request(args)?;
    let mut batch = Batch::new(Vm::new(), config, request);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    while let Some(line) = read_line(&mut input, MAX_LINE_LEN).map_err(|e| format!("stdin: {e}"))? {
        if matches!(&line, Line::Request(bytes) if bytes.trim_ascii().is_empty()) {
            continue;
        }
        writeln!(out, "{}", batch.answer_line(&line))
            .and_then(|_| out.flush())
            .map_err(|e| format!("stdout: {e}"))?;
    }
    Ok(())
}
