//! The `nestedvm` command: run guest code, assemble and disassemble, run state tests, compare
//! engines on generated programs, time the engines.

mod command;

use command::{batch, bench, difftest, statetest};

use clap::{Args, Parser, Subcommand};
use nestedvm::interp::asm;
use nestedvm::jit::{CompileOptions, DynamicJumps, OptLevel};
use nestedvm::parse::{parse_address, parse_hex, parse_u256, parse_u64};
use nestedvm::{output, Config, Engine, Fork, JitConfig, Profile, Request, Vm};
use std::io::Read;
use std::process::ExitCode;

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
        /// Code as hex.
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
}

/// Options of `run`, also the defaults of every `--batch` request.
#[derive(Args, Clone)]
pub struct RunArgs {
    /// Code as hex (guest code in hyvm, the contract's code in evm).
    hex: Option<String>,
    /// Read the code (hex text) from a file.
    #[arg(long, value_name = "PATH")]
    code_file: Option<String>,
    /// interp, jit or auto.
    #[arg(long, default_value = "auto")]
    engine: String,
    /// hyvm or evm.
    #[arg(long, default_value = "hyvm")]
    profile: String,
    /// Run the contract-verifier build of the hypervisor (guest memory at 0x460).
    #[arg(long)]
    verifier: bool,
    /// Run read-only (STATICCALL rules).
    #[arg(long = "static")]
    is_static: bool,
    /// shanghai, cancun, prague or osaka.
    #[arg(long, default_value = "osaka")]
    fork: String,
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
    /// Address of the hypervisor account (DELEGATECALLs to it run guest code).
    #[arg(long, default_value = "0x0000000000000000000000000000000000004879")]
    hypervisor: String,
    /// Value sent, in wei.
    #[arg(long, default_value = "0")]
    value: String,
    /// Print one line of JSON.
    #[arg(long)]
    json: bool,
    /// In hyvm, skip the second run as a plain contract that reports `evm_gas_used`.
    #[arg(long)]
    no_evm_gas: bool,
    /// JIT: how jumps to computed targets are taken (interpreter or jump-table).
    #[arg(long, default_value = "jump-table")]
    dynamic_jumps: String,
    /// JIT: Cranelift's optimization level (speed or none), or baseline: machine code written
    /// in one pass without Cranelift, compiled in well under a millisecond (x86-64).
    #[arg(long, default_value = "speed")]
    opt_level: String,
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
    /// Read one JSON request per line on stdin, write one JSON result per line.
    #[arg(long)]
    batch: bool,
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
                    "error: a command is required: run, disasm, asm, statetest, difftest or bench (see --help)"
                );
                return ExitCode::from(2);
            }
            let rendered = e.render().to_string();
            let line = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!("{}", line.trim());
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(*args).map(|()| ExitCode::SUCCESS),
        Command::Disasm { hex } => parse_hex("code", &hex)
            .map(|code| {
                print!("{}", asm::disassemble(&code));
                ExitCode::SUCCESS
            })
            .map_err(UsageError),
        Command::Asm { source } => assemble(source).map(|()| ExitCode::SUCCESS),
        Command::Statetest(args) => statetest::statetest(args),
        Command::Difftest(args) => difftest::difftest(*args),
        Command::Bench(args) => bench::bench(*args),
    };
    match result {
        Ok(code) => code,
        Err(UsageError(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn assemble(source: Option<String>) -> Result<(), UsageError> {
    let text = match source.as_deref() {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("stdin: {e}"))?;
            s
        }
        Some(path) if std::path::Path::new(path).is_file() => {
            std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
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
        profile: args.profile.parse::<Profile>()?,
        fork: args.fork.parse::<Fork>()?,
        engine: args.engine.parse::<Engine>()?,
        verifier: args.verifier,
        is_static: args.is_static,
        hypervisor: parse_address("--hypervisor", &args.hypervisor)?,
        evm_gas: !args.no_evm_gas,
        jit: JitConfig {
            options: CompileOptions {
                opt_level: args.opt_level.parse::<OptLevel>()?,
                dynamic_jumps: args.dynamic_jumps.parse::<DynamicJumps>()?,
            },
            hot_after: u32::try_from(parse_u64("--hot-after", &args.hot_after)?)
                .map_err(|_| "--hot-after: too large".to_string())?,
            background: !args.sync_compile,
            baseline: !args.no_baseline && JitConfig::default().baseline,
        },
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
    Ok((config, request))
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
    let (config, mut request) = base_request(&args)?;
    let hex = match (&args.hex, &args.code_file) {
        (Some(_), Some(_)) => {
            return Err(UsageError(
                "give the code as HEX or --code-file, not both".into(),
            ))
        }
        (Some(h), None) => h.clone(),
        (None, Some(path)) => {
            std::fs::read_to_string(path).map_err(|e| format!("--code-file {path}: {e}"))?
        }
        (None, None) => return Err(UsageError("no code: give HEX or --code-file PATH".into())),
    };
    request.code = parse_hex("code", &hex)?;
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
    let outcome = Vm::new()
        .run(&config, &request)
        .map_err(|e| UsageError(e.to_string()))?;
    if args.json {
        println!("{}", output::to_json(&outcome));
    } else {
        println!("{}", output::to_text(&outcome));
    }
    Ok(())
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
