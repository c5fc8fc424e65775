//! `difftest`: generated programs through several engines; the first divergence is shrunk and
//! printed with each engine's result and a one-line reproducer. Ends with `N passed, M failed`.

use super::progress::progress_bar;
use crate::UsageError;
use nestedvm::interp::asm;
use nestedvm::output::hex0x;
use nestedvm::parse::{parse_hex, parse_u64};
use nestedvm::{Fork, Profile};
use nestedvm_cli::difftest::{default_engines, select_engines, Campaign, Divergence, World};
use nestedvm_cli::engines::{ToolEngine, ORACLES_BUILT};
use std::process::ExitCode;

/// Options of `difftest`.
#[derive(clap::Args, Clone)]
pub struct DifftestArgs {
    /// The profile.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Profile::Hyvm)]
    profile: Profile,
    /// The campaign's seed (decimal or 0x hex).
    #[arg(long, default_value = "1")]
    seed: String,
    /// How many programs.
    #[arg(long, default_value = "1000")]
    count: String,
    /// Comma-separated engines; the first is the reference. revm runs the evm profile,
    /// hyvm-onchain the hyvm profile. Default: interp, jit and the profile's oracle when built
    /// with the `revm` feature.
    #[arg(
        long,
        value_delimiter = ',',
        ignore_case = true,
        value_parser = ToolEngine::parser(ToolEngine::DIFFTEST)
    )]
    engines: Option<Vec<ToolEngine>>,
    /// The host fork.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Fork::Osaka)]
    fork: Fork,
    /// The contract-verifier build of the hypervisor (hyvm only).
    #[arg(long)]
    verifier: bool,
    /// The contracts the programs call: `small` (a handful of synthetic contracts) or
    /// `revmc` (also the revmc fixtures' WETH, ERC-20 and Uniswap V2 pair, with balances,
    /// called with well-formed ABI call data).
    #[arg(long, default_value = "small")]
    world: String,
    /// Run this code (hex) in every case's environment instead of the generated program.
    #[arg(long)]
    code: Option<String>,
    /// Worker threads (default: the available parallelism).
    #[arg(long)]
    jobs: Option<String>,
    /// Most comparisons the shrinker may spend on a divergence.
    #[arg(long, default_value = "2000")]
    shrink_budget: String,
    /// Also compare the interpreter's EIP-3155 step trace with revm's on every program
    /// (evm, with revm among the engines).
    #[arg(long)]
    compare_traces: bool,
}

/// The campaign the flags describe.
fn campaign(args: &DifftestArgs) -> Result<Campaign, UsageError> {
    let (profile, fork) = (args.profile, args.fork);
    if args.verifier && profile != Profile::Hyvm {
        return Err(UsageError(
            "--verifier applies only to the hyvm profile".into(),
        ));
    }
    let named = args
        .engines
        .clone()
        .unwrap_or_else(|| default_engines(profile, ORACLES_BUILT));
    let engines = select_engines(&named, profile, ORACLES_BUILT)?;
    if args.compare_traces && !engines.contains(&ToolEngine::Revm) {
        return Err(UsageError(
            "--compare-traces: compares the interpreter's trace with revm's, so it needs the evm profile and revm among --engines".into(),
        ));
    }
    let jobs = match &args.jobs {
        Some(j) => match parse_u64("--jobs", j)? {
            0 => return Err(UsageError("--jobs: must be at least 1".into())),
            n => usize::try_from(n).map_err(|_| "--jobs: too large".to_string())?,
        },
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    Ok(Campaign {
        profile,
        fork,
        verifier: args.verifier,
        engines,
        seed: parse_u64("--seed", &args.seed)?,
        count: parse_u64("--count", &args.count)?,
        world: World::parse(&args.world)?,
        code: args
            .code
            .as_deref()
            .map(|c| parse_hex("--code", c))
            .transpose()?,
        compare_traces: args.compare_traces,
        jobs,
        shrink_budget: usize::try_from(parse_u64("--shrink-budget", &args.shrink_budget)?)
            .map_err(|_| "--shrink-budget: too large".to_string())?,
    })
}

/// The command that replays the shrunk divergence.
fn reproducer(c: &Campaign, d: &Divergence) -> String {
    let engines: Vec<&str> = c.engines.iter().map(|e| e.name()).collect();
    format!(
        "nestedvm difftest --profile {} --fork {}{}{}{} --engines {} --seed {:#x} --count 1 --code {}",
        c.profile,
        c.fork,
        if c.verifier { " --verifier" } else { "" },
        if c.compare_traces {
            " --compare-traces"
        } else {
            ""
        },
        match c.world {
            World::Small => String::new(),
            w => format!(" --world {}", w.name()),
        },
        engines.join(","),
        d.case_seed,
        hex0x(&d.case.request.code)
    )
}

fn print_divergence(c: &Campaign, d: &Divergence) {
    let r = &d.case.request;
    println!(
        "divergence in program #{} (case seed {:#x}), shrunk from {} to {} bytes in {} tries",
        d.index,
        d.case_seed,
        d.original.len(),
        r.code.len(),
        d.tries
    );
    for (engine, diff) in &d.comparison.differences {
        println!("  {engine} differs in {}: {}", diff.field, diff.text);
    }
    println!(
        "environment: gas {}, value {}, calldata {}, storage {:?}",
        r.gas,
        r.value,
        hex0x(&r.calldata),
        r.storage
    );
    println!("program: {}", hex0x(&r.code));
    print!("{}", asm::disassemble(&r.code));
    println!("results:");
    for (engine, result) in &d.comparison.results {
        match result {
            Ok(o) => println!("  {engine}: {}", o.summary()),
            Err(e) => println!("  {engine}: could not run: {e}"),
        }
    }
    if let Some(traces) = &d.traces {
        print!("{traces}");
    }
    println!("original program: {}", hex0x(&d.original));
    println!("reproduce: {}", reproducer(c, d));
}

/// Runs the campaign; exit code 0 when every program agreed, 1 on a divergence.
pub fn difftest(args: DifftestArgs) -> Result<ExitCode, UsageError> {
    let campaign = campaign(&args)?;
    let bar = progress_bar(campaign.count, "programs");
    let summary = campaign.run(|| bar.inc(1));
    bar.finish_and_clear();
    if let Some(d) = &summary.divergence {
        print_divergence(&campaign, d);
    }
    println!("{} passed, {} failed", summary.passed, summary.failed);
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
