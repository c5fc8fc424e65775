//! `run --batch` throughput: executions per second of small `hyvm` payloads through the
//! batch protocol's own code ([`serve`], on one thread or more), with the defaults of `run --batch` (engine `auto`,
//! each guest also run as a plain contract for `evm_gas_used`). The lines come from memory
//! and the answers go to memory: reading each request line, parsing it, running it and
//! printing its JSON answer are timed, the pipes of a real `run --batch` are not.

use super::measure::median;
use nestedvm::batch::{serve, Serving};
use nestedvm::output::hex0x;
use nestedvm::{Config, Request};
use std::fmt;
use std::num::NonZeroUsize;
use std::time::Instant;

/// Payloads per batch: 10,000, enough that start-up is noise.
pub const BATCH_LEN: usize = 10_000;

/// What a batch holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Every payload different: nothing is hot, everything is interpreted, and each code is
    /// analysed once.
    Distinct,
    /// One payload over and over: `auto` compiles it once it is hot, then every run is a
    /// cache hit on native code.
    Repeated,
}

impl Workload {
    /// Both workloads.
    pub const ALL: [Workload; 2] = [Workload::Distinct, Workload::Repeated];

    /// Its name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Distinct => "distinct",
            Workload::Repeated => "repeated",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Payload `i`: a guest summing a 24-bit constant, storing it, logging it and returning it:
/// `x = i + 1; SSTORE(0, x); LOG1(x); RETURN x`, 29 bytes.
pub fn payload(i: u32) -> Vec<u8> {
    let [_, a, b, c] = (i & 0xff_ffff).to_be_bytes();
    vec![
        0x62, a, b, c, // PUSH3 i
        0x60, 0x01, 0x01, // PUSH1 1 ADD
        0x80, 0x5f, 0x55, // DUP1 PUSH0 SSTORE
        0x80, 0x5f, 0x52, // DUP1 PUSH0 MSTORE
        0x80, 0x60, 0x20, 0x5f, 0xa1, // DUP1 PUSH1 32 PUSH0 LOG1
        0x60, 0x20, 0x5f, 0xf3, // PUSH1 32 PUSH0 RETURN
    ]
}

/// The request lines of a batch of `len` payloads.
pub fn lines(workload: Workload, len: usize) -> Vec<String> {
    (0..len)
        .map(|i| {
            let i = match workload {
                Workload::Distinct => u32::try_from(i).unwrap_or(u32::MAX),
                Workload::Repeated => 0,
            };
            format!("{{\"code\":\"{}\"}}", hex0x(&payload(i)))
        })
        .collect()
}

/// The configuration of `run --batch` without flags.
pub fn batch_defaults() -> (Config, Request) {
    (
        Config {
            evm_gas: true,
            ..Config::default()
        },
        Request::new(Vec::new()),
    )
}

/// The throughput of one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Throughput {
    /// The workload.
    pub workload: Workload,
    /// Requests per batch.
    pub executions: usize,
    /// Threads answering them.
    pub jobs: usize,
    /// Median time of one whole batch, in nanoseconds.
    pub median_ns: f64,
    /// Batches timed.
    pub samples: usize,
    /// Compilations during one batch.
    pub compiles: u64,
}

impl Throughput {
    /// Executions per second, from the median batch.
    pub fn per_second(&self) -> f64 {
        self.executions as f64 * 1e9 / self.median_ns.max(1.0)
    }
}

/// Answers every line on a fresh batch (fresh VMs, as a new `run --batch` process has)
/// through [`serve`] on `jobs` threads, returning the time taken and the compilations done;
/// fails when a request did not succeed. The lines are read from memory and the answers
/// written to memory, inside the time.
pub fn run_batch(lines: &[String], jobs: NonZeroUsize) -> Result<(f64, u64), String> {
    let (config, request) = batch_defaults();
    let mut input = lines.join("\n").into_bytes();
    input.push(b'\n');
    // Room for every answer (about 300 bytes each), so the timed part does not regrow it.
    let mut out = Vec::with_capacity(lines.len() * 400);
    let start = Instant::now();
    let serving = Serving {
        jobs,
        ..Serving::new(config, request)
    };
    let served = serve(&input[..], &mut out, serving).map_err(|e| format!("batch: {e}"))?;
    let ns = start.elapsed().as_nanos() as f64;
    if let Some(bad) = out
        .split(|&b| b == b'\n')
        .find(|a| !a.is_empty() && !a.starts_with(b"{\"status\":\"success\""))
    {
        let bad = String::from_utf8_lossy(bad);
        return Err(format!("batch: a payload did not succeed: {bad}"));
    }
    if served.answers != lines.len() as u64 {
        return Err(format!(
            "batch: {} answers to {} lines",
            served.answers,
            lines.len()
        ));
    }
    Ok((ns, served.compiles))
}

/// Times `samples` batches (at least one) of `len` requests of `workload` on each number of
/// threads in `jobs`, side by side: each round answers one batch per entry, in turn, with
/// the order reversed every other round, so that a machine slowing down or speeding up
/// weighs on every entry alike. One [`Throughput`] per entry of `jobs`, in its order.
pub fn measure_throughput(
    workload: Workload,
    len: usize,
    samples: usize,
    jobs: &[NonZeroUsize],
) -> Result<Vec<Throughput>, String> {
    let lines = lines(workload, len);
    let mut times = vec![Vec::new(); jobs.len()];
    let mut compiles = vec![0; jobs.len()];
    for round in 0..samples.max(1) {
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (ns, c) = run_batch(&lines, jobs[i])?;
            times[i].push(ns);
            compiles[i] = c;
        }
    }
    Ok(jobs
        .iter()
        .zip(times.iter().zip(compiles))
        .map(|(jobs, (times, compiles))| Throughput {
            workload,
            executions: len,
            jobs: jobs.get(),
            median_ns: median(times),
            samples: times.len(),
            compiles,
        })
        .collect())
}
