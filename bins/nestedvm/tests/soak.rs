//! A soak: 10,000 distinct hot codes through one `nestedvm run --batch` with default flags
//! (the `auto` engine, background compilation, `evm_gas_used` on), the process's resident
//! memory sampled as it goes. Each code comes back once, [`REPEAT_AFTER`] lines later, when
//! what its first run queued has been compiled: the repeat runs native code. Every code fills the analysed-code cache, the JIT cache and the
//! background compile queue with something new, so once they are full the memory must stay
//! flat: a cache bounded loosely, or anything else that keeps a little of every request, shows
//! as a climb.
//!
//! Ignored by `cargo test` (it takes a minute or two and keeps a core busy); `.ci/run` runs it:
//! `cargo test --release -p nestedvm-cli --test soak -- --ignored --nocapture`, which prints
//! the curve (lines answered against resident MB).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::{Command, Stdio};

/// Distinct codes, two requests each.
const CODES: usize = 10_000;

/// Codes sent between a code's first request and its repeat.
const REPEAT_AFTER: usize = 32;

/// Lines the batch answers.
const LINES: usize = 2 * CODES - REPEAT_AFTER;

/// Bytes of each code: the longest the JIT compiles, so each holds the most the caches can
/// take per code (about 1 MB of analysis, with the block tables of two specs, and as much
/// of heat and baseline machine code). Each cache then fills within a few hundred requests:
/// 10,000 refill them dozens of times.
const CODE_LEN: usize = nestedvm::jit::MAX_COMPILE_LEN;

/// Turns of each code's loop: four times the default `--hot-after`, so its block asks for a
/// tier-up (baseline and Cranelift, queued in the background) with most of the run to go.
const TURNS: u16 = 40_000;

/// Lines between samples of the resident memory.
const SAMPLE_EVERY: usize = 200;

/// Lines after which every cache has filled: the analysed-code cache holds about 260 of
/// these codes (256 MiB), the JIT cache 256 entries or 256 MiB, the compile queue 16 jobs.
const FILLED_AFTER: usize = 2_000;

/// The most resident memory allowed at any point with one thread, in MB: the two caches'
/// budgets (256 MiB of analysis, 256 MiB of compiled code and heat), one run's working memory
/// and the allocator's slack. Measured at about 700 MB with `--jobs 1`.
const CEILING_MB: u64 = 1_024;

/// What each more thread of the default `--jobs` (one per core) may add, in MB: its own
/// analysed-code cache and run. Measured at about 1.1 GB in all with two threads.
const CEILING_MB_PER_THREAD: u64 = 256;

/// How far the memory of the last half may rise over that of the first quarter after the
/// caches fill: by a quarter, and a little more for the allocator's noise.
const GROWTH_FACTOR: f64 = 1.25;
const GROWTH_SLACK_MB: u64 = 64;

/// Code `n`: a loop of [`TURNS`] turns, then JUMPDESTs up to [`CODE_LEN`] bytes.
fn code(n: u32) -> Vec<u8> {
    let mut code = vec![0x63]; // PUSH4 n, POP: makes each code distinct.
    code.extend_from_slice(&n.to_be_bytes());
    code.extend_from_slice(&[0x50, 0x61]); // POP, PUSH2 TURNS
    code.extend_from_slice(&TURNS.to_be_bytes());
    let top = code.len() as u8;
    // top: JUMPDEST, PUSH1 1, SWAP1, SUB, DUP1, PUSH1 top, JUMPI; then POP, STOP.
    code.extend_from_slice(&[0x5b, 0x60, 1, 0x90, 0x03, 0x80, 0x60, top, 0x57, 0x50, 0x00]);
    code.resize(CODE_LEN, 0x5b);
    code
}

/// Each byte's two hex digits: the writer turns 500 MB of code into hex, which `format!`
/// made a core's work of its own.
const HEX: [[u8; 2]; 256] = {
    let digits = b"0123456789abcdef";
    let mut table = [[0; 2]; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = [digits[b >> 4], digits[b & 15]];
        b += 1;
    }
    table
};

/// The resident set of process `pid`, in MB.
fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .expect("VmRSS");
    kb / 1024
}

#[test]
#[ignore = "a minute or two; .ci/run runs it"]
fn memory_stays_flat_through_ten_thousand_distinct_hot_codes() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .args(["run", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawns");
    let pid = child.id();
    let stdin = child.stdin.take().expect("stdin");
    // Writes ahead while answers are read; gives the pipe back open, so the process is still
    // there to be sampled after the last answer.
    let writer = std::thread::spawn(move || {
        let mut out = BufWriter::new(stdin);
        let mut request = Vec::new();
        let mut send = |n: usize| {
            request.clear();
            request.extend_from_slice(br#"{"code":"0x"#);
            for b in code(n as u32) {
                request.extend_from_slice(&HEX[b as usize]);
            }
            request.extend_from_slice(b"\"}\n");
            out.write_all(&request).expect("writes a request");
        };
        for n in 0..CODES {
            send(n);
            if n >= REPEAT_AFTER {
                send(n - REPEAT_AFTER);
            }
        }
        out.into_inner().expect("flushes")
    });
    let mut answers = BufReader::new(child.stdout.take().expect("stdout"));
    let mut samples: Vec<(usize, u64)> = Vec::new();
    let mut engines: BTreeMap<String, usize> = BTreeMap::new();
    let mut line = String::new();
    println!(
        "soak: {CODES} codes of {CODE_LEN} bytes in {LINES} lines, resident MB every \
         {SAMPLE_EVERY} lines"
    );
    for n in 1..=LINES {
        line.clear();
        answers.read_line(&mut line).expect("reads an answer");
        let answer: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("line {n}: {e}: {line}"));
        assert_eq!(answer["status"], "success", "line {n}: {line}");
        let engine = answer["engine"].as_str().unwrap_or("?").to_string();
        *engines.entry(engine).or_default() += 1;
        if n % SAMPLE_EVERY == 0 {
            let mb = rss_mb(pid);
            println!("{n:6} {mb:5} MB");
            samples.push((n, mb));
        }
    }
    drop(writer.join().expect("the writer"));
    assert!(child.wait().expect("exits").success());
    println!("engines: {engines:?}");

    let max_between = |from: usize, to: usize| {
        samples
            .iter()
            .filter(|(n, _)| (from..=to).contains(n))
            .map(|&(_, mb)| mb)
            .max()
            .expect("samples in range")
    };
    let peak = max_between(0, LINES);
    let first_quarter = max_between(FILLED_AFTER + 1, FILLED_AFTER + (LINES - FILLED_AFTER) / 4);
    let last_half = max_between(LINES / 2 + 1, LINES);
    let bound = (first_quarter as f64 * GROWTH_FACTOR) as u64 + GROWTH_SLACK_MB;
    println!(
        "peak {peak} MB; after the caches fill: first quarter at most {first_quarter} MB, \
         last half at most {last_half} MB (bound {bound} MB)"
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let ceiling = CEILING_MB + CEILING_MB_PER_THREAD * (threads - 1);
    assert!(
        peak <= ceiling,
        "{peak} MB resident, over {ceiling} ({threads} threads)"
    );
    assert!(
        last_half <= bound,
        "resident memory grew after the caches filled: {last_half} MB in the last half, \
         {first_quarter} MB in the first quarter"
    );
}
