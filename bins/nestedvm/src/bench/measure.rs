//! Timing the engines on one program in one profile: each engine is prepared once, checked
//! against the interpreter, then sampled round-robin (one sample of each engine in turn, so
//! drift of the machine hits them alike) and summarised by medians.
//!
//! What one timed run includes, per engine:
//! - `interp` and `jit`: one [`Vm::run`] on a VM kept across runs, exactly as a caller of the
//!   library pays it: the [`World`] rebuilt from the request (accounts,
//!   storage, warm addresses; its tables' memory kept from the last run), the analysed code looked up by content, the run, and the
//!   [`Outcome`](nestedvm::Outcome) (storage and memory copied out) dropped. `jit` finds its code
//!   compiled in the VM's cache (the agreement check compiled it); compilation is timed
//!   apart (`compile`).
//! - `revm` (cargo feature `revm`): revm 43's EVM is built once over its in-memory database
//!   holding the pre-state; a run is one `transact` of the same transaction (validation,
//!   intrinsic gas, the call, and the journal's state changes handed back and dropped; the
//!   database is never committed, so every run starts from the same state). In `evm` it runs
//!   the program as a contract; in `hyvm`, where revm has no such profile, it runs the
//!   deployed HyVM bytecode DELEGATECALLed by a wallet with the guest as call data (the
//!   `hyvm-onchain` oracle of `difftest`): what simulating the payload costs without
//!   nestedvm.
//! - `auto` (only when asked for): one [`Vm::run`] under [`Engine::Auto`] on a fresh VM,
//!   so nothing is compiled and nothing has heat: what a first run costs with tiered
//!   compilation, which compiles the code's hot parts while it runs.
//! - `baseline` (only when asked for): one [`Vm::run`] under [`Engine::Jit`] with the
//!   baseline tier ([`OptLevel::Baseline`](nestedvm::jit::OptLevel::Baseline)) on a fresh VM: compiling the whole code and
//!   running it, what a first run costs when the JIT compiles eagerly.
//! - `compile`: one Cranelift compilation of the top frame's code for the profile, as
//!   [`JitCache`] does on a miss.

use super::programs::Program;
use crate::engines::{ToolEngine, ORACLES_BUILT};
use crate::observed::{LogEntry, Observed};
use nestedvm::engine::{Engine, JitConfig};
use nestedvm::interp::{Bytecode, Spec};
use nestedvm::jit::{CompileOptions, JitCache};
use nestedvm::output::{hex0x, min_hex};
use nestedvm::{Address, Config, Fork, Profile, Request, State, Vm, World, U256};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The fork every benchmark runs at (the default of `run`).
pub const FORK: Fork = Fork::Osaka;

/// The engines of `bench --engines` (each of [`ToolEngine::BENCH`]), in table order, without
/// repeats; naming revm in a build without it is an error.
pub fn select_engines(named: &[ToolEngine]) -> Result<Vec<ToolEngine>, String> {
    if let Some(other) = named.iter().find(|e| !ToolEngine::BENCH.contains(e)) {
        return Err(format!("--engines: bench does not time `{other}`"));
    }
    if named.contains(&ToolEngine::Revm) && !ORACLES_BUILT {
        return Err(
            "--engines revm: this binary was built without revm; rebuild with `--features revm`"
                .into(),
        );
    }
    Ok(ToolEngine::BENCH
        .iter()
        .copied()
        .filter(|e| named.contains(e))
        .collect())
}

/// The default engines: interp and jit, and revm when built with it.
pub fn default_engines() -> Vec<ToolEngine> {
    let mut engines = vec![ToolEngine::Interp, ToolEngine::Jit];
    if ORACLES_BUILT {
        engines.push(ToolEngine::Revm);
    }
    engines
}

/// The position of `engine` in the table (the compilation after every engine).
fn table_position(engine: Option<ToolEngine>) -> usize {
    engine
        .and_then(|e| ToolEngine::BENCH.iter().position(|b| *b == e))
        .unwrap_or(ToolEngine::BENCH.len())
}

/// The configuration one of our engines runs benchmarks with ([`ToolEngine::config`]):
/// `jit` compiles with `options` before the first run, `auto` tiers up as by default, and
/// `hyvm` does not add a second run as a plain contract; `timeout` sets a deadline (so the
/// cost of its checks is timed).
///
/// # Panics
/// When `engine` is an oracle.
pub fn config(
    profile: Profile,
    engine: ToolEngine,
    options: CompileOptions,
    timeout: Option<Duration>,
) -> Config {
    let base = Config {
        profile,
        fork: FORK,
        jit: JitConfig {
            options,
            ..JitConfig::default()
        },
        evm_gas: false,
        timeout,
        ..Config::default()
    };
    engine
        .config(&base)
        .unwrap_or_else(|| panic!("`{engine}` is an oracle, not one of nestedvm's engines"))
}

/// One of our engines, prepared to run one request again and again.
pub struct OurRunner {
    vm: Vm,
    config: Config,
    request: Request,
    /// Every run on a fresh VM (`auto` from cold).
    cold: bool,
}

impl OurRunner {
    /// A runner of `request` under `config`, with a VM of its own whose compiled code lives
    /// in `cache`.
    pub fn new(config: Config, request: Request, cache: &Arc<JitCache>) -> Self {
        OurRunner {
            vm: Vm::with_jit_cache(cache.clone()),
            config,
            request,
            cold: false,
        }
    }

    /// A runner of `request` under `config` with a fresh VM (and JIT cache) for every run:
    /// `auto` from cold, or the baseline tier compiling at each run.
    pub fn cold(config: Config, request: Request) -> Self {
        OurRunner {
            vm: Vm::new(),
            config,
            request,
            cold: true,
        }
    }

    /// The runner with every run forking `source` for what its request does not give.
    pub fn forking(mut self, source: Arc<dyn nestedvm::world::source::StateSource>) -> Self {
        self.vm.set_source(Some(source));
        self
    }

    /// Runs it once, reporting what the agreement check compares and whether native code ran.
    /// Against a pre-state this run also dumps the state after the call: dumping copies every
    /// account, so only this run pays for it, never the timed ones.
    pub fn check(&mut self) -> Result<(Checked, bool), String> {
        let timed = self.config;
        self.config.dump_state = has_pre_state(&self.request);
        let outcome = self.run_once();
        self.config = timed;
        let outcome = outcome.map_err(|e| e.to_string())?;
        let native = outcome.engine == Engine::Jit;
        let checked = Checked {
            observed: Observed::from_outcome(&outcome),
            state: outcome.state,
        };
        Ok((checked, native))
    }

    /// Runs it once (the timed path).
    pub fn run(&mut self) {
        // The request was validated by `check`, so this cannot fail; the outcome is dropped
        // inside the timing, as a caller's would be.
        let _ = black_box(self.run_once());
    }

    fn run_once(&mut self) -> Result<nestedvm::Outcome, nestedvm::Error> {
        if self.cold {
            self.vm = Vm::new();
        }
        self.vm.run(&self.config, &self.request)
    }
}

/// One compilation of a program's top-frame code, prepared.
pub struct CompileRunner {
    spec: &'static Spec,
    code: Bytecode,
    options: CompileOptions,
}

impl CompileRunner {
    /// The compilation of `code` for `profile` with `options`; `Err` when the JIT does not
    /// compile it (over its size limit), as `jit` then interprets it.
    pub fn new(profile: Profile, code: &[u8], options: CompileOptions) -> Result<Self, String> {
        let runner = CompileRunner {
            spec: Spec::get(profile, FORK, false),
            code: Bytecode::new(code),
            options,
        };
        runner.compile()?;
        Ok(runner)
    }

    fn compile(&self) -> Result<(), String> {
        let compiled = nestedvm::jit::compile::<World>(self.spec, &self.code, self.options)
            .map_err(|e| e.to_string())?;
        black_box(compiled);
        Ok(())
    }

    /// Compiles once (the timed path); the compiled code is freed inside the timing.
    pub fn run(&mut self) {
        let _ = self.compile();
    }
}

/// How long to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Samples per engine (compilation: at most [`COMPILE_SAMPLES`]).
    pub samples: usize,
    /// Time budget per program and profile, checks excluded: once spent, sampling stops after
    /// the current round (every engine has at least one sample).
    pub time: Duration,
    /// A sample repeats the run until it lasts about this long, so fast programs are not
    /// measured at the clock's resolution.
    pub sample_time: Duration,
    /// How `jit` and `compile` compile (Cranelift's optimization level or the baseline
    /// tier, the dynamic-jump policy).
    pub options: CompileOptions,
    /// A deadline for each of our runs, far enough off never to pass: its checks are timed.
    pub timeout: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            samples: 10,
            time: Duration::from_secs(2),
            sample_time: Duration::from_millis(5),
            options: CompileOptions::default(),
            timeout: None,
        }
    }
}

/// The most compilations timed per program: each is 10 to 1000 times one run.
pub const COMPILE_SAMPLES: usize = 3;

/// One engine's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineTime {
    /// The engine.
    pub engine: ToolEngine,
    /// Median time of one run, in nanoseconds.
    pub median_ns: f64,
    /// Samples taken.
    pub samples: usize,
    /// Runs per sample.
    pub runs_per_sample: u64,
}

/// The figures of one program in one profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// The program's name.
    pub program: String,
    /// The profile.
    pub profile: Profile,
    /// The timed engines, in table order.
    pub engines: Vec<EngineTime>,
    /// Median compile time of the top frame's code, when `jit` was timed and compiles it.
    pub compile_ns: Option<f64>,
    /// What the interpreter gave, which every engine agreed with ([`difference`]).
    pub observed: Observed,
}

impl Measurement {
    /// The median of `engine`, when timed.
    pub fn median(&self, engine: ToolEngine) -> Option<f64> {
        self.engines
            .iter()
            .find(|t| t.engine == engine)
            .map(|t| t.median_ns)
    }

    /// How many times faster than revm `engine` is (revm's median over its own).
    pub fn speedup_vs_revm(&self, engine: ToolEngine) -> Option<f64> {
        Some(self.median(ToolEngine::Revm)? / self.median(engine)?)
    }
}

/// A prepared engine (or the compilation), run by the round-robin and the criterion benches.
pub enum Runner {
    /// The interpreter or the JIT.
    Ours(Box<OurRunner>),
    /// revm.
    #[cfg(feature = "revm")]
    Revm(Box<super::revm::RevmRunner>),
    /// The compilation of the code.
    Compile(CompileRunner),
}

impl Runner {
    /// Runs once (the timed path).
    pub fn run(&mut self) {
        match self {
            Runner::Ours(r) => r.run(),
            #[cfg(feature = "revm")]
            Runner::Revm(r) => r.run(),
            Runner::Compile(r) => r.run(),
        }
    }
}

/// An engine ready to be timed.
pub struct Ready {
    /// The engine; `None` for the compilation of the code (when `jit` is timed).
    pub engine: Option<ToolEngine>,
    /// Its runner.
    pub runner: Runner,
    /// How long the check's run on the timed path took, when it tells one run's time (it is
    /// only used when a run lasts a whole sample, which dwarfs the state a check dumps).
    pub first_run: Option<Duration>,
}

/// Prepares every engine of `engines` for `program` in `profile`, and the compilation of its
/// code when `compile` and `jit` is among them, and checks each against the interpreter. The
/// JIT keeps its code in `cache`, so inputs of one code share a compilation. Checks: each
/// engine must agree with the interpreter as [`difference`] compares them (against a
/// pre-state, refund, logs and the state after the call too), and `jit` must have run native
/// code unless the JIT leaves this code to the interpreter (over its size limit). Returns
/// what they agreed on and the runners in table order (the compilation last).
pub fn prepare(
    program: &Program,
    profile: Profile,
    engines: &[ToolEngine],
    compile: bool,
    cache: &Arc<JitCache>,
    options: CompileOptions,
    timeout: Option<Duration>,
) -> Result<(Checked, Vec<Ready>), String> {
    let name = &program.name;
    if !program.profiles().contains(&profile) {
        return Err(format!(
            "{name}: needs call data, which the hyvm profile does not give the guest"
        ));
    }
    let request = program.request(profile);
    let ours = |engine| config(profile, engine, options, timeout);
    let mut reference = OurRunner::new(ours(ToolEngine::Interp), request.clone(), cache);
    let start = Instant::now();
    let (truth, _) = reference
        .check()
        .map_err(|e| format!("{name} ({profile}): {e}"))?;
    let mut reference = Some((reference, start.elapsed()));
    let mut ready = Vec::new();
    for &engine in ToolEngine::BENCH.iter().filter(|e| engines.contains(e)) {
        let (runner, first_run) = match engine {
            ToolEngine::Interp => match reference.take() {
                Some((runner, first_run)) => (Runner::Ours(Box::new(runner)), Some(first_run)),
                None => continue,
            },
            ToolEngine::Jit => {
                let mut runner = OurRunner::new(ours(engine), request.clone(), cache);
                let (checked, native) = runner.check()?;
                disagreement(name, profile, "jit", &checked, &truth)?;
                let start = Instant::now();
                match CompileRunner::new(profile, &program.code, options) {
                    Ok(_) if !native => {
                        return Err(format!(
                            "{name} ({profile}): the JIT compiles this code but did not run it natively"
                        ))
                    }
                    Ok(compiler) if compile => ready.push(Ready {
                        engine: None,
                        runner: Runner::Compile(compiler),
                        first_run: Some(start.elapsed()),
                    }),
                    Ok(_) => {}
                    // Code the JIT refuses is interpreted by design.
                    Err(_) if !native => {}
                    Err(e) => return Err(format!("{name} ({profile}): {e}")),
                }
                // Its check compiled: no hint of one run's time.
                (Runner::Ours(Box::new(runner)), None)
            }
            engine if engine.cold() => {
                let runner = OurRunner::cold(ours(engine), request.clone());
                let (runner, first_run, native) =
                    checked_cold(runner, name, profile, engine.name(), &truth)?;
                let compilable = program.code.len() <= nestedvm::jit::MAX_COMPILE_LEN;
                if engine == ToolEngine::Baseline
                    && compilable
                    && !native
                    && nestedvm::jit::baseline::AVAILABLE
                {
                    return Err(format!(
                        "{name} ({profile}): the baseline tier did not run this code natively"
                    ));
                }
                (Runner::Ours(Box::new(runner)), Some(first_run))
            }
            ToolEngine::Revm => revm_runner(program, profile, &request, &truth)?,
            other => return Err(format!("bench does not time `{other}`")),
        };
        ready.push(Ready {
            engine: Some(engine),
            runner,
            first_run,
        });
    }
    ready.sort_by_key(|r| table_position(r.engine));
    Ok((truth, ready))
}

/// Runs a cold runner's first run (timed: a cold run's check is a run like any other) and
/// checks it against the interpreter's `truth`; returns it with the run's time and whether
/// native code ran.
fn checked_cold(
    mut runner: OurRunner,
    name: &str,
    profile: Profile,
    engine: &str,
    truth: &Checked,
) -> Result<(OurRunner, Duration, bool), String> {
    let start = Instant::now();
    let (checked, native) = runner.check()?;
    let first_run = start.elapsed();
    disagreement(name, profile, engine, &checked, truth)?;
    Ok((runner, first_run, native))
}

/// A runner sampled: how many runs a sample takes, and the samples so far.
pub(crate) struct Sampled {
    engine: Option<ToolEngine>,
    runner: Runner,
    runs_per_sample: u64,
    max_samples: usize,
    /// Each sample's time of one run, in nanoseconds.
    pub(crate) samples: Vec<f64>,
}

impl Sampled {
    /// Chooses how many runs a sample takes from `first_run`, the time of a run already done
    /// (a check), when that was long enough to tell; else times one run.
    pub(crate) fn new(ready: Ready, settings: &Settings) -> Self {
        let Ready {
            engine,
            mut runner,
            first_run,
        } = ready;
        let max_samples = match engine {
            Some(_) => settings.samples,
            None => settings.samples.min(COMPILE_SAMPLES),
        };
        let once = match first_run {
            Some(t) if t >= settings.sample_time => t.as_nanos(),
            _ => {
                let start = Instant::now();
                runner.run();
                start.elapsed().as_nanos().max(1)
            }
        };
        let runs = settings
            .sample_time
            .as_nanos()
            .div_ceil(once)
            .clamp(1, 1 << 20);
        // A compilation does the same work every time, so the check's counts as a sample
        // (a first run of an engine may pay for cold caches instead).
        let samples = match (engine, first_run) {
            (None, Some(t)) if runs == 1 => vec![t.as_nanos() as f64],
            _ => Vec::new(),
        };
        nestedvm::jit::background::wait_idle();
        Sampled {
            engine,
            runner,
            runs_per_sample: u64::try_from(runs).unwrap_or(1),
            max_samples,
            samples,
        }
    }

    /// Takes one more sample.
    pub(crate) fn sample(&mut self) {
        let start = Instant::now();
        for _ in 0..self.runs_per_sample {
            self.runner.run();
        }
        let ns = start.elapsed().as_nanos() as f64;
        self.samples.push(ns / self.runs_per_sample as f64);
        // `auto`'s background compilations finish here, untimed, rather than during the
        // next engine's samples.
        nestedvm::jit::background::wait_idle();
    }

    /// The median of the samples.
    pub(crate) fn median(&self) -> f64 {
        median(&self.samples)
    }
}

/// The median of `values` (the mean of the middle two for an even count; 0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// What the agreement check compares of one engine's check run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The run's result: status, output, gas used and refund, logs.
    pub observed: Observed,
    /// The state after the call, as `run --dump` reports it, for a program run against a
    /// pre-state (a fixture's); `None` for the others.
    pub state: Option<State>,
}

/// Whether `request` runs against a pre-state (a fixture's), so its check compares the state
/// after the call: the catalogue's other programs run in an empty world, whose state tells
/// nothing their result does not.
pub fn has_pre_state(request: &Request) -> bool {
    !request.accounts.is_empty()
}

/// What `theirs`, `engine`'s run, differs from the interpreter's `truth` in, as one phrase;
/// `None` when they agree. Every program is compared on status, output and gas used. A run
/// against a pre-state (`truth` has a state) is also compared on the refund, the logs in
/// order and the state after the call: a contract of the pre-state can return the right
/// word while it logs or stores the wrong one, and only those tell.
pub fn difference(engine: &str, theirs: &Checked, truth: &Checked) -> Option<String> {
    let (a, b) = (&theirs.observed, &truth.observed);
    if !a.agrees_on_result(b) {
        return Some(format!(
            "{engine}: {}; interp: {}",
            a.result_line(),
            b.result_line()
        ));
    }
    let Some(want) = &truth.state else {
        return None;
    };
    if let (Some((_, x)), Some((_, y))) = (a.gas, b.gas) {
        if x != y {
            return Some(format!("gas refund differs: {engine} {x}, interp {y}"));
        }
    }
    if let Some(d) = logs_difference(engine, &a.logs, &b.logs) {
        return Some(d);
    }
    match &theirs.state {
        Some(got) => state_difference(engine, got, want),
        None => Some(format!("{engine} reported no state after the call")),
    }
}

/// The first difference of two runs' logs, naming the log by its index.
fn logs_difference(engine: &str, theirs: &[LogEntry], truth: &[LogEntry]) -> Option<String> {
    if theirs.len() != truth.len() {
        return Some(format!(
            "logs differ: {engine} has {}, interp {}",
            theirs.len(),
            truth.len()
        ));
    }
    let (i, ((address, topics, data), (want_address, want_topics, want_data))) = theirs
        .iter()
        .zip(truth)
        .enumerate()
        .find(|(_, (x, y))| x != y)?;
    let what = if address != want_address {
        format!(
            "address {engine} {}, interp {}",
            hex0x(address.as_bytes()),
            hex0x(want_address.as_bytes())
        )
    } else if topics.len() != want_topics.len() {
        format!(
            "topics {engine} has {}, interp {}",
            topics.len(),
            want_topics.len()
        )
    } else if let Some((j, (x, y))) = topics
        .iter()
        .zip(want_topics)
        .enumerate()
        .find(|(_, (x, y))| x != y)
    {
        format!("topic {j} {engine} {}, interp {}", min_hex(x), min_hex(y))
    } else {
        format!("data {engine} {}, interp {}", hex0x(data), hex0x(want_data))
    };
    Some(format!("log {i} differs: {what}"))
}

/// The first account (in address order) two dumped states differ at, and in what: its
/// presence, balance, nonce, code, or its first differing storage slot (an absent slot is 0).
fn state_difference(engine: &str, theirs: &State, truth: &State) -> Option<String> {
    let addresses: std::collections::BTreeSet<&Address> =
        theirs.keys().chain(truth.keys()).collect();
    addresses.into_iter().find_map(|address| {
        let at = format!("state differs at {}", hex0x(address.as_bytes()));
        let (x, y) = match (theirs.get(address), truth.get(address)) {
            (Some(x), Some(y)) if x == y => return None,
            (Some(x), Some(y)) => (x, y),
            (Some(_), None) => return Some(format!("{at}: {engine} has the account, interp not")),
            (None, _) => return Some(format!("{at}: interp has the account, {engine} not")),
        };
        Some(if x.balance != y.balance {
            format!(
                "{at}: balance {engine} {}, interp {}",
                min_hex(&x.balance),
                min_hex(&y.balance)
            )
        } else if x.nonce != y.nonce {
            format!("{at}: nonce {engine} {}, interp {}", x.nonce, y.nonce)
        } else if x.code != y.code {
            format!(
                "{at}: code {engine} {} bytes, interp {} bytes",
                x.code.len(),
                y.code.len()
            )
        } else {
            let slots: std::collections::BTreeSet<&U256> =
                x.storage.keys().chain(y.storage.keys()).collect();
            let zero = U256::zero();
            let (slot, got, want) = slots.into_iter().find_map(|slot| {
                let got = x.storage.get(slot).unwrap_or(&zero);
                let want = y.storage.get(slot).unwrap_or(&zero);
                (got != want).then_some((slot, got, want))
            })?;
            format!(
                "{at}: slot {} {engine} {}, interp {}",
                min_hex(slot),
                min_hex(got),
                min_hex(want)
            )
        })
    })
}

/// A disagreement of `engine` with the interpreter, as one line, when there is one.
fn disagreement(
    program: &str,
    profile: Profile,
    engine: &str,
    theirs: &Checked,
    truth: &Checked,
) -> Result<(), String> {
    match difference(engine, theirs, truth) {
        Some(d) => Err(format!(
            "{program} ({profile}): {engine} disagrees with the interpreter: {d}"
        )),
        None => Ok(()),
    }
}

/// Measures programs with one set of engines and settings, compiling and timing the
/// compilation of each (code, profile) once however many inputs share that code.
pub struct Session {
    engines: Vec<ToolEngine>,
    settings: Settings,
    compile_times: HashMap<(Vec<u8>, Profile), f64>,
    cache: Arc<JitCache>,
}

impl Session {
    /// A session timing `engines` with `settings`.
    pub fn new(engines: Vec<ToolEngine>, settings: Settings) -> Self {
        Session {
            engines,
            settings,
            compile_times: HashMap::new(),
            cache: Arc::new(JitCache::new(64)),
        }
    }

    /// Prepares and checks the engines ([`prepare`]), then samples them round-robin.
    pub fn measure(&mut self, program: &Program, profile: Profile) -> Result<Measurement, String> {
        let key = (program.code.clone(), profile);
        let known = self.compile_times.get(&key).copied();
        let (truth, ready) = prepare(
            program,
            profile,
            &self.engines,
            known.is_none(),
            &self.cache,
            self.settings.options,
            self.settings.timeout,
        )?;
        let settings = &self.settings;
        let mut items: Vec<Sampled> = ready
            .into_iter()
            .map(|r| Sampled::new(r, settings))
            .collect();
        let start = Instant::now();
        for round in 0.. {
            let n = items.len();
            for k in 0..n {
                // Each round starts with the next item, so no engine always runs first.
                let sampled = &mut items[(round + k) % n];
                if sampled.samples.len() < sampled.max_samples.max(1) {
                    sampled.sample();
                }
            }
            let done = items
                .iter()
                .all(|s| s.samples.len() >= s.max_samples.max(1));
            if done || start.elapsed() >= settings.time {
                break;
            }
        }
        let mut timed = Vec::new();
        let mut compile_ns = known;
        for sampled in &items {
            match sampled.engine {
                Some(engine) => timed.push(EngineTime {
                    engine,
                    median_ns: sampled.median(),
                    samples: sampled.samples.len(),
                    runs_per_sample: sampled.runs_per_sample,
                }),
                None => compile_ns = Some(sampled.median()),
            }
        }
        if let (None, Some(ns)) = (known, compile_ns) {
            self.compile_times.insert(key, ns);
        }
        Ok(Measurement {
            program: program.name.clone(),
            profile,
            engines: timed,
            compile_ns,
            observed: truth.observed,
        })
    }
}

/// revm's runner, checked: what the oracle observed must be the interpreter's, and the timed
/// path must agree with the oracle. Returns the runner and how long the timed path's check run
/// took.
#[cfg(feature = "revm")]
fn revm_runner(
    program: &Program,
    profile: Profile,
    request: &Request,
    truth: &Checked,
) -> Result<(Runner, Option<Duration>), String> {
    let name = &program.name;
    let (mut runner, checked) = super::revm::RevmRunner::new(profile, request)
        .map_err(|e| format!("{name} ({profile}): {e}"))?;
    disagreement(name, profile, "revm", &checked, truth)?;
    let start = Instant::now();
    runner
        .check(&checked.observed)
        .map_err(|e| format!("{name} ({profile}): {e}"))?;
    Ok((Runner::Revm(Box::new(runner)), Some(start.elapsed())))
}

#[cfg(not(feature = "revm"))]
fn revm_runner(
    program: &Program,
    _profile: Profile,
    _request: &Request,
    _truth: &Checked,
) -> Result<(Runner, Option<Duration>), String> {
    Err(format!(
        "{}: timing revm needs a build with `--features revm`",
        program.name
    ))
}
