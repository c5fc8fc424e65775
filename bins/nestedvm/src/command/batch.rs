//! `run --batch`: one JSON request per line on stdin, one JSON result per line on stdout, in
//! order, through [`nestedvm::batch::Batch`].

use crate::{base_request, RunArgs, UsageError};
use nestedvm::batch::Batch;
use nestedvm::Vm;
use std::io::{BufRead, Write};

/// Runs the batch protocol over stdin and stdout.
pub fn run_batch(args: &RunArgs) -> Result<(), UsageError> {
    // Flags are checked once up front so that a bad flag is a usage error, not N line errors.
    let (config, request) = base_request(args)?;
    let mut batch = Batch::new(Vm::new(), config, request);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        writeln!(out, "{}", batch.answer(&line))
            .and_then(|_| out.flush())
            .map_err(|e| format!("stdout: {e}"))?;
    }
    Ok(())
}
