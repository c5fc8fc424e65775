//! `statetest PATH...`: runs ethereum/tests GeneralStateTests and reports each failing vector
//! (or, with `--json`, every vector) and the closing `N passed, M failed` line.

use super::progress::progress_bar;
use crate::UsageError;
use nestedvm::Engine;
use nestedvm_cli::statetest::Suite;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `statetest`.
#[derive(clap::Args, Clone)]
pub struct StatetestArgs {
    /// Test files or directories (searched recursively for `.json` files).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The engine.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Engine::Auto)]
    engine: Engine,
    /// Print one JSON object per vector, one per line (the closing line goes to stderr).
    #[arg(long)]
    json: bool,
    /// Trace each vector on stderr, as goevmlab reads a client: the message's EIP-3155 steps
    /// (interpreted), its summary line, then {"stateRoot":"0x…"}.
    #[arg(long)]
    trace: bool,
}

/// Runs the suite; exit code 0 when every vector passed, 1 otherwise.
pub fn statetest(args: StatetestArgs) -> Result<ExitCode, UsageError> {
    let engine = args.engine;
    let suite = Suite::load(&args.paths).map_err(|e| UsageError(e.to_string()))?;
    let skipped = suite.skipped();
    if suite.vector_count() == 0 {
        eprintln!("error: no vector ran: {}", skipped.describe());
        return Ok(ExitCode::from(1));
    }
    // A progress bar would land in the middle of the trace.
    let bar = if args.trace {
        indicatif::ProgressBar::hidden()
    } else {
        progress_bar(suite.vector_count() as u64, "vectors")
    };
    let mut stderr = std::io::BufWriter::new(std::io::stderr());
    let trace = args.trace.then_some(&mut stderr as &mut dyn std::io::Write);
    let summary = suite
        .run(engine, trace, |result| {
            bar.inc(1);
            if args.json {
                bar.suspend(|| println!("{}", result.to_json()));
            } else if !result.passed() {
                bar.suspend(|| println!("{result}"));
            }
        })
        .map_err(|e| UsageError(e.to_string()))?;
    bar.finish_and_clear();
    if skipped.vectors > 0 {
        eprintln!("note: {}", skipped.describe());
    }
    if args.json {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
