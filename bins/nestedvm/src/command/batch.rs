//! `run --batch`: one JSON request per line on stdin, one JSON result per line on stdout, in
//! order, through [`nestedvm::batch::serve`].

use crate::{base_request, fork_chain, RunArgs, UsageError};
use nestedvm::batch::{serve, Serving, StreamError};
use nestedvm::parse::parse_u64;
use nestedvm::world::source::ForkedChain;
use std::num::NonZeroUsize;
use std::sync::Arc;

/// The most threads `--jobs` takes: more than any machine this runs on has cores, few enough
/// that a typo cannot start a million threads.
const MAX_JOBS: u64 = 1024;

/// Runs the batch protocol over stdin and stdout.
pub fn run_batch(args: &RunArgs) -> Result<(), UsageError> {
    // Flags are checked once up front so that a bad flag is a usage error, not N line errors.
    let (config, mut request) = base_request(args)?;
    let chain = fork_chain(args, &mut request)?.map(|c| c as Arc<dyn ForkedChain>);
    let jobs = jobs(args.jobs.as_deref())?;
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let serving = Serving {
        jobs,
        chain,
        ..Serving::new(config, request)
    };
    serve(std::io::stdin(), &mut out, serving).map_err(|e| match e {
        StreamError::Read(e) => format!("stdin: {e}"),
        StreamError::Write(e) => format!("stdout: {e}"),
    })?;
    Ok(())
}

/// The `--jobs` value: 1 to [`MAX_JOBS`], by default the available cores.
pub fn jobs(flag: Option<&str>) -> Result<NonZeroUsize, UsageError> {
    let Some(text) = flag else {
        return Ok(std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));
    };
    let n = parse_u64("--jobs", text)?;
    (1..=MAX_JOBS)
        .contains(&n)
        .then(|| NonZeroUsize::new(n as usize))
        .flatten()
        .ok_or_else(|| UsageError(format!("--jobs: `{n}` is not between 1 and {MAX_JOBS}")))
}
