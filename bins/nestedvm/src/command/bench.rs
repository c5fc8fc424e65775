//! `bench`: times the engines on the benchmark catalogue or the user's programs, interleaving
//! the engines, and prints one row per program and profile (or JSON lines); `--compile` and
//! `--batch` time compilation per KiB and `run --batch` throughput instead, `--rpc-url`
//! forked runs beside runs on the same pre-state.

use super::input::{hex_text, read_text};
use crate::UsageError;
use nestedvm::fork::{BlockTag, RpcSource};
use nestedvm::jit::{CompileOptions, OptLevel};
use nestedvm::parse::{parse_duration, parse_hex, parse_u64};
use nestedvm::world::source::StateSource;
use nestedvm::Profile;
use nestedvm_cli::bench::compile::{cases, measure_compile, CompileTime};
use nestedvm_cli::bench::forked;
use nestedvm_cli::bench::measure::{
    default_engines, select_engines, Measurement, Session, Settings,
};
use nestedvm_cli::bench::programs::{catalogue, fixture_programs, select, Program, CATALOGUE_GAS};
use nestedvm_cli::bench::throughput::{measure_throughput, Workload};
use nestedvm_cli::engines::ToolEngine;
use serde::Serialize;
use std::num::NonZeroUsize;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Options of `bench`.
#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// Programs to time: catalogue names (see --list; a state test's name selects all its
    /// inputs, `revmc` every revmc fixture), or files: a fixture (.json: revmc or
    /// GeneralStateTests shape, run against its pre-state) or hex code. Default: the whole
    /// catalogue.
    programs: Vec<String>,
    /// Comma-separated engines to time. Default: interp and jit, and revm when built with the
    /// `revm` feature.
    #[arg(
        long,
        value_delimiter = ',',
        ignore_case = true,
        value_parser = ToolEngine::parser(ToolEngine::BENCH)
    )]
    engines: Option<Vec<ToolEngine>>,
    /// The profile. Default: every profile each program runs in (hyvm only without call data).
    #[arg(long, value_enum, ignore_case = true)]
    profile: Option<Profile>,
    /// Samples per engine (compilations: at most 3 per program).
    #[arg(long, default_value = "10")]
    samples: String,
    /// Time budget per program and profile (or compile case), in seconds: sampling stops
    /// after the round that spends it.
    #[arg(long, default_value = "2")]
    time: String,
    /// Print one JSON line per program and engine.
    #[arg(long)]
    json: bool,
    /// Also time this code (hex text in a file, or on stdin with `-`), named after the file
    /// (`stdin` for `-`).
    #[arg(long, value_name = "PATH")]
    code_file: Option<String>,
    /// Call data (hex) for the code of --code-file and hex files (evm only).
    #[arg(long)]
    calldata: Option<String>,
    /// List the catalogue's programs and their profiles instead of timing.
    #[arg(long)]
    list: bool,
    /// Time JIT compilation per KiB: snailtracer and adversarial code.
    #[arg(long)]
    compile: bool,
    /// Time `run --batch` throughput: distinct payloads, and one payload repeated.
    #[arg(long)]
    batch: bool,
    /// --batch: requests per batch.
    #[arg(long, default_value = "10000")]
    batch_len: String,
    /// --batch: threads answering the requests, as `run --batch --jobs N` (default 1, so
    /// the figures stay those of one core). With N over 1, one thread is timed too, batch for
    /// batch in turn, and the speed-up is their ratio.
    #[arg(long, value_name = "N", requires = "batch")]
    jobs: Option<String>,
    /// How `jit` and `compile` (and --compile) compile: speed or none (Cranelift's
    /// optimization levels), or baseline (the one-pass tier).
    #[arg(long, value_enum, ignore_case = true, default_value_t = OptLevel::Speed)]
    opt_level: OptLevel,
    /// Run nestedvm's engines with a deadline this far off (e.g. 1h), to time what checking
    /// it costs against a run without one.
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// Time each fixture's call forked from the node at URL, once its reads are cached,
    /// beside the same call on its pre-state in memory (the node must hold that pre-state:
    /// see --rpc-seed). Programs: fixtures with a pre-state (default: the revmc ones).
    #[arg(long, value_name = "URL", help_heading = "Fork")]
    rpc_url: Option<String>,
    /// --rpc-url: the block to fork at (default: the latest).
    #[arg(
        long,
        value_name = "N|latest",
        requires = "rpc_url",
        conflicts_with = "rpc_seed",
        help_heading = "Fork"
    )]
    block: Option<String>,
    /// --rpc-url: first write each fixture's pre-state into the node, a development node
    /// of your own (ganache's evm_setAccount* methods): it overwrites those accounts.
    #[arg(long, requires = "rpc_url", help_heading = "Fork")]
    rpc_seed: bool,
}

fn settings(args: &BenchArgs) -> Result<Settings, UsageError> {
    let samples = parse_u64("--samples", &args.samples)?;
    if samples == 0 {
        return Err(UsageError("--samples: must be at least 1".into()));
    }
    let time = args
        .time
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite() && *t >= 0.0 && *t <= 1e6)
        .ok_or_else(|| format!("--time: `{}` is not a number of seconds", args.time))?;
    let options = CompileOptions {
        opt_level: args.opt_level,
        ..CompileOptions::default()
    };
    Ok(Settings {
        samples: usize::try_from(samples).map_err(|_| "--samples: too large".to_string())?,
        time: Duration::from_secs_f64(time),
        options,
        timeout: args
            .timeout
            .as_deref()
            .map(|t| parse_duration("--timeout", t))
            .transpose()?,
        ..Settings::default()
    })
}

/// The programs a file holds: a fixture's calls against its pre-state, or hex code with
/// `--calldata`.
fn file_programs(path: &str, calldata: &[u8]) -> Result<Vec<Program>, UsageError> {
    let text = read_text(path, path)?;
    let stem = match path {
        "-" => "stdin".to_string(),
        path => Path::new(path)
            .file_stem()
            .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned()),
    };
    if path.ends_with(".json") {
        if !calldata.is_empty() {
            return Err(UsageError(format!(
                "{path}: a fixture brings its own inputs; --calldata applies to hex code"
            )));
        }
        // A fixture runs against its pre-state, revm given the same.
        return Ok(fixture_programs(&stem, &text)?);
    }
    Ok(vec![Program {
        name: stem,
        code: hex_text(path, &text)?,
        calldata: calldata.to_vec(),
        gas: CATALOGUE_GAS,
        world: None,
    }])
}

/// The (program, profile) pairs to time.
fn targets(args: &BenchArgs) -> Result<Vec<(Program, Profile)>, UsageError> {
    let profile = args.profile;
    let calldata = match &args.calldata {
        Some(cd) => parse_hex("--calldata", cd)?,
        None => Vec::new(),
    };
    let all = catalogue();
    let mut programs: Vec<Program> = Vec::new();
    let mut hex_files = 0;
    for item in &args.programs {
        let found = select(&all, item);
        if !found.is_empty() {
            programs.extend(found.into_iter().cloned());
        } else if Path::new(item).is_file() {
            hex_files += usize::from(!item.ends_with(".json"));
            programs.extend(file_programs(item, &calldata)?);
        } else {
            return Err(UsageError(format!(
                "unknown program `{item}`: not in the catalogue (see `nestedvm bench --list`) and not a file"
            )));
        }
    }
    if let Some(path) = &args.code_file {
        hex_files += 1;
        programs.extend(file_programs(path, &calldata)?);
    }
    if args.calldata.is_some() && hex_files == 0 {
        return Err(UsageError(
            "--calldata applies to code given with --code-file or as a hex file".into(),
        ));
    }
    let explicit = !programs.is_empty();
    if !explicit {
        programs = all;
    }
    let mut out = Vec::new();
    for program in programs {
        match profile {
            Some(p) if program.profiles().contains(&p) => out.push((program, p)),
            Some(p) if explicit => {
                return Err(UsageError(format!(
                    "{}: runs in evm only ({p} gives the guest no call data)",
                    program.name
                )))
            }
            Some(_) => {}
            None => out.extend(program.profiles().iter().map(|p| (program.clone(), *p))),
        }
    }
    Ok(out)
}

/// `1.23 ms`: three significant digits in a fitting unit.
fn duration(ns: f64) -> String {
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

fn optional(value: Option<f64>, show: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "-".to_string(), show)
}

#[derive(Serialize)]
struct EngineLine<'a> {
    program: &'a str,
    profile: &'a str,
    engine: &'a str,
    median_ns: u64,
    compile_ns: Option<u64>,
}

fn print_measurement(m: &Measurement, json: bool) {
    if json {
        for t in &m.engines {
            let line = EngineLine {
                program: &m.program,
                profile: m.profile.name(),
                engine: t.engine.name(),
                median_ns: t.median_ns.round() as u64,
                compile_ns: match t.engine {
                    ToolEngine::Jit => m.compile_ns.map(|c| c.round() as u64),
                    _ => None,
                },
            };
            println!("{}", serde_json::to_string(&line).unwrap_or_default());
        }
        return;
    }
    let time = |e| optional(m.median(e), duration);
    let ratio = |e| optional(m.speedup_vs_revm(e), |r| format!("{r:.2}x"));
    print!(
        "{:<32} {:<7} {:>10} {:>10} {:>10} {:>11} {:>9} {:>10}",
        m.program,
        m.profile.name(),
        time(ToolEngine::Interp),
        time(ToolEngine::Jit),
        time(ToolEngine::Revm),
        ratio(ToolEngine::Interp),
        ratio(ToolEngine::Jit),
        optional(m.compile_ns, duration),
    );
    for cold in [ToolEngine::Auto, ToolEngine::Baseline] {
        if m.median(cold).is_some() {
            let vs_interp = m
                .median(ToolEngine::Interp)
                .zip(m.median(cold))
                .map(|(i, a)| i / a);
            print!(
                " {:>14} {:>16}",
                time(cold),
                optional(vs_interp, |r| format!("{r:.2}x"))
            );
        }
    }
    println!();
}

fn list() {
    for p in catalogue() {
        let profiles: Vec<&str> = p.profiles().iter().map(|p| p.name()).collect();
        println!(
            "{:<32} {:>6} bytes  calldata {:>5} bytes  {}",
            p.name,
            p.code.len(),
            p.calldata.len(),
            profiles.join(",")
        );
    }
}

#[derive(Serialize)]
struct CompileLine<'a> {
    case: &'a str,
    profile: &'a str,
    bytes: usize,
    compile_ns: u64,
    ns_per_kib: u64,
    machine_bytes: usize,
}

fn compile_times(settings: &Settings, json: bool) -> Result<ExitCode, UsageError> {
    if !json {
        println!(
            "{:<16} {:<7} {:>9} {:>10} {:>10} {:>15} {:>13}",
            "case", "profile", "size", "compile", "per KiB", "vs snailtracer", "machine code"
        );
    }
    let mut reference: Option<f64> = None;
    // Per case: its time per KiB at the smallest size and at the largest, with the sizes.
    let mut growth: Vec<(String, f64, usize, f64, usize)> = Vec::new();
    for case in cases() {
        let t: CompileTime = match measure_compile(&case, settings, settings.options) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(1));
            }
        };
        let per_kib = t.ns_per_kib();
        let reference = *reference.get_or_insert(per_kib);
        let key = format!("{} ({})", t.name, t.profile.name());
        match growth.iter_mut().find(|g| g.0 == key) {
            Some(g) => (g.3, g.4) = (per_kib, t.bytes),
            None => growth.push((key, per_kib, t.bytes, per_kib, t.bytes)),
        }
        if json {
            let line = CompileLine {
                case: &t.name,
                profile: t.profile.name(),
                bytes: t.bytes,
                compile_ns: t.median_ns.round() as u64,
                ns_per_kib: per_kib.round() as u64,
                machine_bytes: t.machine_bytes,
            };
            println!("{}", serde_json::to_string(&line).unwrap_or_default());
        } else {
            println!(
                "{:<16} {:<7} {:>5.1} KiB {:>10} {:>10} {:>14.2}x {:>6.0} B/byte",
                t.name,
                t.profile.name(),
                t.bytes as f64 / 1024.0,
                duration(t.median_ns),
                duration(per_kib),
                per_kib / reference,
                t.expansion()
            );
        }
    }
    if !json {
        println!("time per KiB at the largest size over the smallest (1.00x: linear):");
        for (case, first, from, last, to) in growth.iter().filter(|g| g.2 != g.4) {
            println!(
                "  {case:<24} {:>4.0} -> {:>2.0} KiB: {:.2}x",
                *from as f64 / 1024.0,
                *to as f64 / 1024.0,
                last / first
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct BatchLine {
    workload: &'static str,
    executions: usize,
    jobs: usize,
    median_ns: u64,
    per_second: u64,
    compiles: u64,
    /// Executions per second against those of one thread in the same run (absent for one).
    #[serde(skip_serializing_if = "Option::is_none")]
    speedup: Option<f64>,
}

fn batch_throughput(args: &BenchArgs, settings: &Settings) -> Result<ExitCode, UsageError> {
    let len = parse_u64("--batch-len", &args.batch_len)?;
    let len = usize::try_from(len)
        .ok()
        .filter(|n| (1..=10_000_000).contains(n))
        .ok_or_else(|| format!("--batch-len: `{len}` is not between 1 and 10000000"))?;
    // More than one thread is timed beside one thread, so the speed-up is a ratio measured
    // side by side.
    let jobs = match &args.jobs {
        Some(text) => super::batch::jobs(Some(text))?,
        None => NonZeroUsize::MIN,
    };
    let counts: Vec<NonZeroUsize> = if jobs.get() == 1 {
        vec![jobs]
    } else {
        vec![NonZeroUsize::MIN, jobs]
    };
    if !args.json {
        println!(
            "{:<9} {:>10} {:>4} {:>11} {:>13} {:>8} {:>8}",
            "workload", "executions", "jobs", "batch time", "executions/s", "compiles", "speed-up"
        );
    }
    for workload in Workload::ALL {
        let timed = match measure_throughput(workload, len, settings.samples, &counts) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(1));
            }
        };
        let one = timed[0].median_ns;
        for t in &timed {
            let speedup = (t.jobs > 1).then(|| one / t.median_ns.max(1.0));
            if args.json {
                let line = BatchLine {
                    workload: workload.name(),
                    executions: t.executions,
                    jobs: t.jobs,
                    median_ns: t.median_ns.round() as u64,
                    per_second: t.per_second().round() as u64,
                    compiles: t.compiles,
                    speedup: speedup.map(|x| (x * 100.0).round() / 100.0),
                };
                println!("{}", serde_json::to_string(&line).unwrap_or_default());
            } else {
                println!(
                    "{:<9} {:>10} {:>4} {:>11} {:>13.0} {:>8} {:>8}",
                    workload.name(),
                    t.executions,
                    t.jobs,
                    duration(t.median_ns),
                    t.per_second(),
                    t.compiles,
                    speedup.map_or(String::new(), |x| format!("{x:.2}x"))
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct ForkedLine<'a> {
    program: &'a str,
    engine: &'a str,
    prestate_ns: u64,
    forked_ns: u64,
    first_forked_ns: u64,
    ratio: f64,
}

/// `bench --rpc-url`: each fixture's call on its pre-state beside the same call forked.
fn forked_runs(args: &BenchArgs, url: &str, settings: &Settings) -> Result<ExitCode, UsageError> {
    if args.profile == Some(Profile::Hyvm) {
        return Err(UsageError("--rpc-url: bench forks in evm only".into()));
    }
    let engines = match &args.engines {
        Some(named) => select_engines(named)?,
        None => vec![ToolEngine::Interp, ToolEngine::Jit],
    };
    if let Some(other) = engines
        .iter()
        .find(|e| !matches!(e, ToolEngine::Interp | ToolEngine::Jit))
    {
        return Err(UsageError(format!(
            "--rpc-url: times interp and jit (a VM kept warm), not `{other}`"
        )));
    }
    let programs: Vec<Program> = if args.programs.is_empty() && args.code_file.is_none() {
        select(&catalogue(), "revmc").into_iter().cloned().collect()
    } else {
        targets(args)?.into_iter().map(|(p, _)| p).collect()
    };
    let mut programs: Vec<Program> = programs
        .into_iter()
        .filter(|p| !p.request(Profile::Evm).accounts.is_empty())
        .collect();
    programs.dedup_by(|a, b| a.name == b.name);
    if programs.is_empty() {
        return Err(UsageError(
            "--rpc-url: none of these programs has a pre-state to fork".into(),
        ));
    }
    let block = match &args.block {
        Some(text) => BlockTag::parse(text)?,
        None => BlockTag::Latest,
    };
    let connect = |block| -> Result<Arc<dyn StateSource>, UsageError> {
        let source =
            RpcSource::connect(url, block).map_err(|e| UsageError(format!("--rpc-url: {e}")))?;
        Ok(Arc::new(source))
    };
    // Seeded fixtures may share addresses: each is seeded and forked at its own block.
    let fixed = if args.rpc_seed {
        None
    } else {
        Some(connect(block)?)
    };
    let mut seeded = forked::Seeded::new();
    if !args.json {
        println!(
            "{:<32} {:<7} {:>10} {:>13} {:>13} {:>15}",
            "program", "engine", "pre-state", "forked(warm)", "forked/pre", "forked(first)"
        );
    }
    for program in &programs {
        let source = match &fixed {
            Some(source) => source.clone(),
            None => {
                forked::seed(url, program, &mut seeded).map_err(UsageError)?;
                connect(BlockTag::Latest)?
            }
        };
        for &engine in &engines {
            let t = match forked::measure_forked(program, engine, &source, settings) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            if args.json {
                let line = ForkedLine {
                    program: &t.program,
                    engine: engine.name(),
                    prestate_ns: t.prestate_ns.round() as u64,
                    forked_ns: t.forked_ns.round() as u64,
                    first_forked_ns: t.first_forked_ns.round() as u64,
                    ratio: (t.ratio() * 100.0).round() / 100.0,
                };
                println!("{}", serde_json::to_string(&line).unwrap_or_default());
            } else {
                println!(
                    "{:<32} {:<7} {:>10} {:>13} {:>13} {:>15}",
                    t.program,
                    engine.name(),
                    duration(t.prestate_ns),
                    duration(t.forked_ns),
                    format!("{:.2}x", t.ratio()),
                    duration(t.first_forked_ns),
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `bench`; exit code 1 when an engine disagrees with the interpreter or cannot run.
pub fn bench(args: BenchArgs) -> Result<ExitCode, UsageError> {
    let settings = settings(&args)?;
    let modes = usize::from(args.list) + usize::from(args.compile) + usize::from(args.batch);
    if modes > 1 || (modes == 1 && args.rpc_url.is_some()) {
        return Err(UsageError(
            "--list, --compile, --batch and --rpc-url exclude each other".into(),
        ));
    }
    let timing_flags = !args.programs.is_empty()
        || args.code_file.is_some()
        || args.calldata.is_some()
        || args.engines.is_some()
        || args.profile.is_some();
    if modes == 1 && timing_flags {
        return Err(UsageError(
            "--list, --compile and --batch take no programs, --code-file, --calldata, --engines or --profile"
                .into(),
        ));
    }
    if args.list {
        list();
        return Ok(ExitCode::SUCCESS);
    }
    if args.compile {
        return compile_times(&settings, args.json);
    }
    if args.batch {
        return batch_throughput(&args, &settings);
    }
    if let Some(url) = &args.rpc_url {
        return forked_runs(&args, url, &settings);
    }
    let engines = match &args.engines {
        Some(named) => select_engines(named)?,
        None => default_engines(),
    };
    let targets = targets(&args)?;
    if !args.json {
        print!(
            "{:<32} {:<7} {:>10} {:>10} {:>10} {:>11} {:>9} {:>10}",
            "program", "profile", "interp", "jit", "revm", "interp/revm", "jit/revm", "compile"
        );
        if engines.contains(&ToolEngine::Auto) {
            print!(" {:>14} {:>16}", "auto(cold)", "auto/interp");
        }
        if engines.contains(&ToolEngine::Baseline) {
            print!(" {:>14} {:>16}", "baseline(cold)", "baseline/interp");
        }
        println!();
    }
    let mut session = Session::new(engines, settings);
    for (program, profile) in &targets {
        match session.measure(program, *profile) {
            Ok(m) => print_measurement(&m, args.json),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
