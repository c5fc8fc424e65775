//! The `nestedvm` command: run guest code, assemble and disassemble, run state tests, compare
//! engines on generated programs, time the engines.

mod command;

use command::input::{hex_text, read_text};
use command::{batch, bench, difftest, statetest};

use clap::{Args, CommandFactory, Parser, Subcommand};
use nestedvm::fork::{BlockTag, RpcChain, RpcSource, CACHE_CALL};
use nestedvm::interp::asm;
use nestedvm::jit::{CompileOptions, DynamicJumps, OptLevel};
use nestedvm::parse::{parse_address, parse_duration, parse_hex, parse_u256, parse_u64};
use nestedvm::trace::{CallTracer, Eip3155Writer};
use nestedvm::world::source::ForkedChain;
use nestedvm::{output, Config, Engine, Fork, JitConfig, Profile, Request, Vm};
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc rather than the system allocator: Cranelift's passes, the batch protocol's JSON
/// and a fresh world per run allocate and free small objects all the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "nestedvm",
    version,
    about = "An EVM hypervisor: run guest EVM bytecode as the on-chain HyVM does, or as a plain EVM"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one message call (or, with --batch, one per JSON line on stdin).
    Run(Box<RunArgs>),
    /// Print one instruction a line: `offset: MNEMONIC [immediate]`.
    Disasm {
        /// Code as hex, or `-` to read it from stdin.
        hex: String,
    },
    /// Assemble mnemonics (with labels) or disassembler output into hex.
    Asm {
        /// A file, `-` for stdin (the default), or the assembly text itself.
        source: Option<String>,
    },
    /// Run Ethereum GeneralStateTests (files or directories) in the evm profile.
    Statetest(statetest::StatetestArgs),
    /// Run generated programs through several engines and report the first divergence, shrunk.
    Difftest(Box<difftest::DifftestArgs>),
    /// Time the interpreter, the JIT and revm on benchmark programs (or --compile, --batch).
    Bench(Box<bench::BenchArgs>),
    /// Print a completion script for SHELL (e.g. `nestedvm completions bash > nestedvm.bash`).
    Completions {
        /// The shell.
        #[arg(value_enum, ignore_case = true)]
        shell: clap_complete::Shell,
    },
}

/// Options of `run`, also the defaults of every `--batch` request.
#[derive(Args, Clone)]
pub struct RunArgs {
    /// Code as hex (guest code in hyvm, the contract's code in evm), `-` to read it from
    /// stdin, or a fixture FILE.json (revmc benchmark or GeneralStateTests shape) whose
    /// transactions run as message calls against its pre-state, in evm.
    hex: Option<String>,
    /// Read the code (hex text) from a file, or from stdin with `-`.
    #[arg(long, value_name = "PATH")]
    code_file: Option<String>,
    /// The engine.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Engine::Auto)]
    engine: Engine,
    /// The profile.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Profile::Hyvm)]
    profile: Profile,
    /// Run the contract-verifier build of the hypervisor (guest memory at 0x460).
    #[arg(long)]
    verifier: bool,
    /// Run read-only (STATICCALL rules).
    #[arg(long = "static")]
    is_static: bool,
    /// The host fork.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Fork::Osaka)]
    fork: Fork,
    /// Gas of the top frame.
    #[arg(long, default_value = "30000000")]
    gas: String,
    /// Call data as hex (evm only).
    #[arg(long)]
    calldata: Option<String>,
    /// Executing account (the wallet in hyvm).
    #[arg(long, default_value = "0x000000000000000000000000000000000000c0de")]
    address: String,
    /// Caller and origin.
    #[arg(long, default_value = "0x000000000000000000000000000000000000ca11")]
    caller: String,
    /// Transaction origin (ORIGIN), when it differs from the caller.
    #[arg(long, value_name = "ADDRESS")]
    origin: Option<String>,
    /// Pre-state: a JSON file in the geth alloc shape, {"0xADDR": {"balance", "nonce",
    /// "code", "storage"}} (every field optional).
    #[arg(long, value_name = "FILE")]
    prestate: Option<String>,
    /// Add the state after the call (every account of the pre-state or made by the call)
    /// to the result.
    #[arg(long)]
    dump: bool,
    /// Block number (NUMBER).
    #[arg(long, value_name = "N", help_heading = "Block")]
    block_number: Option<String>,
    /// Block timestamp (TIMESTAMP).
    #[arg(long, value_name = "N", help_heading = "Block")]
    timestamp: Option<String>,
    /// Base fee (BASEFEE).
    #[arg(long, value_name = "WEI", help_heading = "Block")]
    basefee: Option<String>,
    /// Block beneficiary (COINBASE).
    #[arg(long, value_name = "ADDRESS", help_heading = "Block")]
    coinbase: Option<String>,
    /// Block gas limit (GASLIMIT).
    #[arg(long, value_name = "N", help_heading = "Block")]
    block_gas_limit: Option<String>,
    /// PREVRANDAO.
    #[arg(long, value_name = "WORD", help_heading = "Block")]
    prevrandao: Option<String>,
    /// Chain id (CHAINID).
    #[arg(long, value_name = "N", help_heading = "Block")]
    chain_id: Option<String>,
    /// Blob base fee (BLOBBASEFEE).
    #[arg(long, value_name = "WEI", help_heading = "Block")]
    blob_base_fee: Option<String>,
    /// Gas price of the transaction (GASPRICE).
    #[arg(long, value_name = "WEI", help_heading = "Block")]
    gas_price: Option<String>,
    /// Address of the hypervisor account (DELEGATECALLs to it run guest code).
    #[arg(long, default_value = "0x0000000000000000000000000000000000004879")]
    hypervisor: String,
    /// Value sent, in wei.
    #[arg(long, default_value = "0")]
    value: String,
    /// Wall-clock time the run may take (500ms, 2s, 1.5s, 1m, or seconds); past it the run
    /// halts with reason `timeout`. With --batch, every request's default (its `timeout_ms`
    /// overrides it).
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// Print one line of JSON.
    #[arg(long)]
    json: bool,
    /// In hyvm, skip the second run as a plain contract that reports `evm_gas_used`.
    #[arg(long)]
    no_evm_gas: bool,
    /// JIT: how jumps to computed targets are taken.
    #[arg(long, value_enum, ignore_case = true, default_value_t = DynamicJumps::JumpTable)]
    dynamic_jumps: DynamicJumps,
    /// JIT: Cranelift's optimization level (speed or none), or baseline: machine code written
    /// in one pass without Cranelift, compiled in well under a millisecond (x86-64).
    #[arg(long, value_enum, ignore_case = true, default_value_t = OptLevel::Speed)]
    opt_level: OptLevel,
    /// auto: runs of a block before the code around it is compiled (0: compile every code
    /// whole before it runs).
    #[arg(long, default_value = "10000")]
    hot_after: String,
    /// auto: compile hot code before the run goes on, rather than in the background while
    /// it goes on in the interpreter.
    #[arg(long)]
    sync_compile: bool,
    /// auto: keep the code no Cranelift unit holds in the interpreter, rather than running it
    /// on the baseline tier from the first tier-up on.
    #[arg(long)]
    no_baseline: bool,
    /// Print the Cranelift IR the JIT builds for the code instead of running it.
    #[arg(long, conflicts_with = "dump_asm")]
    dump_ir: bool,
    /// Print the machine code the JIT makes of the code (Cranelift's listing) instead of
    /// running it.
    #[arg(long)]
    dump_asm: bool,
    /// Write an EIP-3155 step trace (one JSON line per instruction, then a summary line) to
    /// stderr; the traced run is interpreted. With --batch, use the request field `trace`.
    #[arg(long, conflicts_with_all = ["dump_ir", "dump_asm", "batch"])]
    trace: bool,
    /// Write the step trace to this file instead of stderr.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["dump_ir", "dump_asm", "batch"])]
    trace_file: Option<String>,
    /// Add the call tree (geth's callTracer shape: every call, create and precompile, with
    /// decoded revert reasons). With --batch, use the request field `call_trace`.
    #[arg(long, conflicts_with_all = ["dump_ir", "dump_asm", "batch"])]
    call_trace: bool,
    /// Fork the chain of the JSON-RPC node at URL: every account, slot and block hash the run
    /// reaches and the pre-state does not give is read from it (once), and the block
    /// environment comes from the pinned block unless the block flags say otherwise.
    #[arg(long, value_name = "URL", help_heading = "Fork")]
    rpc_url: Option<String>,
    /// --rpc-url: the block to fork at, pinned when the command starts.
    #[arg(
        long,
        value_name = "N|latest",
        requires = "rpc_url",
        help_heading = "Fork"
    )]
    block: Option<String>,
    /// --rpc-url: keep every read in the directory DIR (made if missing, shareable by several
    /// processes), keyed by chain id and block, so a rerun at the same block reads it from
    /// there; with a numeric --block already cached, the node is asked nothing until a read
    /// misses.
    #[arg(long, value_name = "DIR", requires = "rpc_url", help_heading = "Fork")]
    rpc_cache: Option<String>,
    /// Read one JSON request per line on stdin, write one JSON result per line.
    #[arg(long, conflicts_with_all = ["dump_ir", "dump_asm"])]
    batch: bool,
    /// --batch: threads answering requests (default: the available cores); the answers stay
    /// in input order, the same whatever N is.
    #[arg(long, value_name = "N", requires = "batch")]
    jobs: Option<String>,
}

/// A bad-input error: printed on one line, exit code 2.
pub struct UsageError(pub String);

impl From<String> for UsageError {
    fn from(s: String) -> Self {
        UsageError(s)
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                eprintln!(
                    "error: a command is required: run, disasm, asm, statetest, difftest, bench or completions (see --help)"
                );
                return ExitCode::from(2);
            }
            eprintln!("{}", without_usage(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(*args).map(|()| ExitCode::SUCCESS),
        Command::Disasm { hex } => code_argument(&hex).map(|code| {
            print!("{}", asm::disassemble(&code));
            ExitCode::SUCCESS
        }),
        Command::Asm { source } => assemble(source).map(|()| ExitCode::SUCCESS),
        Command::Statetest(args) => statetest::statetest(args),
        Command::Difftest(args) => difftest::difftest(*args),
        Command::Bench(args) => bench::bench(*args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "nestedvm",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(UsageError(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// A clap error as the lines that say what is wrong (the error, the missing arguments, the
/// possible values, the tip), without the usage and the pointer to `--help`.
fn without_usage(rendered: &str) -> String {
    let lines: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.trim().is_empty())
        .map(str::trim_end)
        .collect();
    if lines.is_empty() {
        return "error: invalid arguments".to_string();
    }
    lines.join("\n")
}

/// Code given as a hex argument: the hex itself, or `-` for hex text on stdin.
fn code_argument(hex: &str) -> Result<Vec<u8>, UsageError> {
    match hex {
        "-" => hex_text("code", &read_text("code", "-")?),
        hex => Ok(parse_hex("code", hex)?),
    }
}

/// Whether an `asm` argument names a file rather than holding assembly text: one line ending
/// in `.asm`, `.txt` or `.s`, or holding a `/` and no white space (assembly text with a `//`
/// comment has both).
fn looks_like_path(source: &str) -> bool {
    let has_extension = [".asm", ".txt", ".s"].iter().any(|e| source.ends_with(e));
    let has_slash = source.contains('/') && !source.contains(char::is_whitespace);
    !source.contains('\n') && (has_extension || has_slash)
}

fn assemble(source: Option<String>) -> Result<(), UsageError> {
    let text = match source.as_deref() {
        None => read_text("asm", "-")?,
        Some(path) if path == "-" || std::path::Path::new(path).is_file() => {
            read_text(&format!("asm: {path}"), path)?
        }
        Some(path) if looks_like_path(path) => {
            return Err(UsageError(format!("asm: {path}: no such file")))
        }
        Some(text) => text.to_string(),
    };
    let code = asm::assemble(&text).map_err(|e| format!("asm: {e}"))?;
    println!("{}", output::hex0x(&code));
    Ok(())
}

/// The configuration and request the flags describe (code aside).
pub fn base_request(args: &RunArgs) -> Result<(Config, Request), UsageError> {
    let config = Config {
        profile: args.profile,
        fork: args.fork,
        engine: args.engine,
        verifier: args.verifier,
        is_static: args.is_static,
        hypervisor: parse_address("--hypervisor", &args.hypervisor)?,
        evm_gas: !args.no_evm_gas,
        timeout: args
            .timeout
            .as_deref()
            .map(|t| parse_duration("--timeout", t))
            .transpose()?,
        jit: JitConfig {
            options: CompileOptions {
                opt_level: args.opt_level,
                dynamic_jumps: args.dynamic_jumps,
                ..CompileOptions::default()
            },
            hot_after: u32::try_from(parse_u64("--hot-after", &args.hot_after)?)
                .map_err(|_| "--hot-after: too large".to_string())?,
            background: !args.sync_compile,
            baseline: !args.no_baseline && JitConfig::default().baseline,
        },
        dump_state: args.dump,
        ..Config::default()
    };
    let mut request = Request::new(Vec::new());
    request.gas = parse_u64("--gas", &args.gas)?;
    request.address = parse_address("--address", &args.address)?;
    request.caller = parse_address("--caller", &args.caller)?;
    request.env.origin = request.caller;
    request.value = parse_u256("--value", &args.value)?;
    if let Some(cd) = &args.calldata {
        request.calldata = parse_hex("--calldata", cd)?;
    }
    if let Some(path) = &args.prestate {
        let what = format!("--prestate {path}");
        let value: serde_json::Value = serde_json::from_str(&read_text(&what, path)?)
            .map_err(|e| format!("{what}: not JSON: {e}"))?;
        request.accounts = nestedvm::state::parse_accounts(&what, &value)?;
    }
    block_flags(args, &mut request)?;
    Ok((config, request))
}

/// The chain `--rpc-url` forks, connected and pinned now (so an unreachable node fails before
/// any run), with its block environment put in `request` under the block flags. A batch
/// request naming another block forks there through the same chain.
pub fn fork_chain(
    args: &RunArgs,
    request: &mut Request,
) -> Result<Option<Arc<RpcChain>>, UsageError> {
    let Some(url) = &args.rpc_url else {
        return Ok(None);
    };
    let block = match &args.block {
        Some(text) => BlockTag::parse(text)?,
        None => BlockTag::Latest,
    };
    // Every block a batch forks at is connected alike: the cache keeps each one's reads.
    let cache = args.rpc_cache.as_ref().map(std::path::PathBuf::from);
    let connect = move |url: &str, block| match &cache {
        Some(dir) => RpcSource::connect_cached(url, block, dir),
        None => RpcSource::connect(url, block),
    };
    let source = connect(url, block).map_err(|e| match e.call.as_str() {
        // The cache's own errors name their path, and the flag in their call.
        CACHE_CALL => UsageError(e.to_string()),
        _ => UsageError(format!("--rpc-url: {e}")),
    })?;
    source.apply_env(&mut request.env);
    block_flags(args, request)?;
    let url = url.clone();
    let chain = RpcChain::new(Arc::new(source), move |block| connect(&url, block));
    Ok(Some(Arc::new(chain)))
}

/// Applies `--origin` and the block flags to `request`'s environment (over a fixture's).
fn block_flags(args: &RunArgs, request: &mut Request) -> Result<(), UsageError> {
    if let Some(origin) = &args.origin {
        request.env.origin = parse_address("--origin", origin)?;
    }
    if let Some(coinbase) = &args.coinbase {
        request.env.coinbase = parse_address("--coinbase", coinbase)?;
    }
    let numbers = [
        ("--block-number", "number", &args.block_number),
        ("--timestamp", "timestamp", &args.timestamp),
        ("--basefee", "basefee", &args.basefee),
        ("--block-gas-limit", "gaslimit", &args.block_gas_limit),
        ("--prevrandao", "prevrandao", &args.prevrandao),
        ("--chain-id", "chainid", &args.chain_id),
        ("--blob-base-fee", "blobbasefee", &args.blob_base_fee),
        ("--gas-price", "gasprice", &args.gas_price),
    ];
    for (flag, key, value) in numbers {
        if let Some(value) = value {
            nestedvm::state::set_block_number(flag, key, value, &mut request.env)?;
        }
    }
    Ok(())
}

/// `run FIXTURE.json`: each of the fixture's transactions as a message call in `evm`,
/// printed one after another (a JSON line each with `--json`).
fn run_fixture(args: &RunArgs, path: &str) -> Result<(), UsageError> {
    if args.calldata.is_some() || args.prestate.is_some() || args.code_file.is_some() {
        return Err(UsageError(format!(
            "{path}: a fixture brings its own code, call data and pre-state"
        )));
    }
    let (mut config, _) = base_request(args)?;
    config.profile = Profile::Evm;
    let calls = nestedvm_cli::fixture::fixture_calls(path, &read_text(path, path)?)?;
    let mut vm = Vm::new();
    for call in calls {
        let mut request = call.request;
        block_flags(args, &mut request)?;
        if !args.json {
            println!("== {}", call.name);
        }
        run_and_print(args, &mut vm, &config, &request)
            .map_err(|e| UsageError(format!("{}: {}", call.name, e.0)))?;
    }
    Ok(())
}

/// Runs one request, traced as the flags ask, and prints its result.
fn run_and_print(
    args: &RunArgs,
    vm: &mut Vm,
    config: &Config,
    request: &Request,
) -> Result<(), UsageError> {
    let steps_to = match (&args.trace_file, args.trace) {
        (Some(path), _) => {
            let file = std::fs::File::create(path)
                .map_err(|e| UsageError(format!("--trace-file {path}: {e}")))?;
            Some(Box::new(file) as Box<dyn std::io::Write>)
        }
        (None, true) => Some(Box::new(std::io::stderr()) as Box<dyn std::io::Write>),
        (None, false) => None,
    };
    let mut steps = steps_to.map(|out| Eip3155Writer::new(std::io::BufWriter::new(out)));
    let mut calls = args.call_trace.then(CallTracer::new);
    let result = nestedvm::trace::either(steps.as_mut(), calls.as_mut(), |tracer| match tracer {
        Some(tracer) => vm.run_traced(config, request, tracer),
        None => vm.run(config, request),
    });
    let mut outcome = result.map_err(|e| UsageError(e.to_string()))?;
    // Neither shape shows memory: it need not be held while they are written.
    outcome.memory = Vec::new();
    if let Some(steps) = steps {
        steps
            .finish(&outcome)
            .map_err(|e| UsageError(format!("writing the trace: {e}")))?;
    }
    let tree = calls.and_then(CallTracer::into_tree);
    if args.json {
        let traces = output::Traces {
            call_trace: tree.as_ref(),
            ..output::Traces::default()
        };
        println!("{}", output::to_json_traced(&outcome, &traces));
    } else {
        println!("{}", output::Text(&outcome));
        if let Some(tree) = &tree {
            print!("calls:\n{}", nestedvm::trace::tree_text(tree));
        }
    }
    Ok(())
}

fn run(args: RunArgs) -> Result<(), UsageError> {
    if args.batch {
        if args.hex.is_some() || args.code_file.is_some() {
            return Err(UsageError(
                "--batch reads code from stdin; do not also give code".into(),
            ));
        }
        return batch::run_batch(&args);
    }
    if let Some(path) = args
        .hex
        .as_deref()
        .filter(|h| h.to_ascii_lowercase().ends_with(".json"))
    {
        return run_fixture(&args, path);
    }
    let (config, mut request) = base_request(&args)?;
    request.code = match (&args.hex, &args.code_file) {
        (Some(_), Some(_)) => {
            return Err(UsageError(
                "give the code as HEX or --code-file, not both".into(),
            ))
        }
        (Some(h), None) => code_argument(h)?,
        (None, Some(path)) => hex_text(
            &format!("--code-file {path}"),
            &read_text(&format!("--code-file {path}"), path)?,
        )?,
        // In evm the code may be the executing account's in the pre-state or the fork.
        (None, None) if config.profile == Profile::Evm && args.rpc_url.is_some() => Vec::new(),
        (None, None)
            if config.profile == Profile::Evm
                && request
                    .accounts
                    .iter()
                    .any(|(a, acc)| *a == request.address && !acc.code.is_empty()) =>
        {
            Vec::new()
        }
        (None, None) => return Err(UsageError("no code: give HEX or --code-file PATH".into())),
    };
    if args.dump_ir {
        let ir = nestedvm::engine::jit_ir(&config, &request.code)
            .map_err(|e| UsageError(format!("--dump-ir: {e}")))?;
        println!("{ir}");
        return Ok(());
    }
    if args.dump_asm {
        let asm = nestedvm::engine::jit_asm(&config, &request.code)
            .map_err(|e| UsageError(format!("--dump-asm: {e}")))?;
        println!("{asm}");
        return Ok(());
    }
    let mut vm = Vm::new();
    let chain = fork_chain(&args, &mut request)?;
    vm.set_source(chain.map(|c| c.pinned().clone()));
    run_and_print(&args, &mut vm, &config, &request)
}

/// Ends the process quietly when its output pipe closes (`nestedvm run --dump-ir ... | head`),
/// as command-line tools do, instead of Rust's default of ignoring SIGPIPE and then
/// panicking in `println!`.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first in `main`, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Python package answers requests from the library's batch defaults: they must be
    /// what `run --batch` without flags starts from, or the same request would mean two
    /// things.
    #[test]
    fn batch_without_flags_starts_from_the_library_defaults() {
        let cli = Cli::try_parse_from(["nestedvm", "run", "--batch"]).expect("parses");
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        let Ok((config, request)) = base_request(&args) else {
            panic!("the defaults are refused")
        };
        assert_eq!((config, request), nestedvm::batch::defaults());
    }
}
