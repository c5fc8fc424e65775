//! Shared test support: the oracles of the library (`revm` feature, which the dev-dependency
//! on the crate itself turns on) with test-side wrappers that fail the test when an oracle
//! refuses a request, the generator, the VM fixture parser, and the bridge between
//! nestedvm's requests and the oracle's.
#![allow(dead_code)]

pub mod vmfixture;

#[allow(unused_imports)]
pub use nestedvm_cli::difftest::gen;

/// revm running one message call, and the helpers shared by both oracles.
pub mod oracle {
    // Each test binary uses a different part.
    #[allow(unused_imports)]
    pub use nestedvm_cli::oracle::revm::{OracleOutcome, OracleRequest};
    #[allow(unused_imports)]
    pub use nestedvm_cli::oracle::{
        addr_low, block_env, bytecode_of, default_origin_balance, frame_figures, from_addr,
        from_ru, intrinsic_gas, message_call_cfg, spec_of, storage_of, to_addr, to_b256, to_ru,
        OracleAccount, OracleEnv, OracleLog, DEFAULT_ADDRESS, DEFAULT_COINBASE, DEFAULT_ORIGIN,
    };

    /// revm's result; a request it refuses fails the test.
    pub fn run_revm(req: &OracleRequest) -> OracleOutcome {
        nestedvm_cli::oracle::revm::run_revm(req).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The real hypervisor run in revm.
pub mod hyvm_oracle {
    #[allow(unused_imports)]
    pub use nestedvm_cli::oracle::hyvm_onchain::{
        hyvm_code, hyvm_code_at, static_runner_code, wallet_code, HyvmOutcome, HyvmRequest,
        HYPERVISOR, STATIC_RUNNER, VERIFIER_SLOT, WALLET,
    };

    /// The hypervisor frame's result; a request the harness refuses fails the test.
    pub fn run_hyvm(req: &HyvmRequest) -> HyvmOutcome {
        nestedvm_cli::oracle::hyvm_onchain::run_hyvm(req).unwrap_or_else(|e| panic!("{e}"))
    }
}

use nestedvm::jit::{CompileOptions, DynamicJumps, OptLevel};
use nestedvm::{Config, Engine, Env, Fork, JitConfig, Outcome, Profile, Request, Status, Vm, U256};
use nestedvm_cli::difftest::Observed;
use oracle::{OracleOutcome, OracleRequest};

/// How many generated programs a campaign runs: `NESTEDVM_SOAK` when set, else `default`.
pub fn campaign_size(default: usize) -> usize {
    std::env::var("NESTEDVM_SOAK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The evm profile at `fork`, interpreter engine.
pub fn evm_config(fork: Fork) -> Config {
    Config {
        profile: Profile::Evm,
        fork,
        engine: Engine::Interpreter,
        ..Config::default()
    }
}

/// The hyvm profile at osaka, interpreter engine.
pub fn hyvm_config() -> Config {
    Config {
        profile: Profile::Hyvm,
        engine: Engine::Interpreter,
        ..Config::default()
    }
}

/// Runs `code` with `gas` in `config` in the default environment, checked as
/// [`run_request`] checks it.
pub fn run_code(config: &Config, code: &[u8], gas: u64) -> Outcome {
    let mut req = Request::new(code.to_vec());
    req.gas = gas;
    run_request(config, &req)
}

/// Runs `req` in `config` and checks it against every other judge that can run it, so every
/// test written against one engine checks them all: when `config` asks for the interpreter,
/// the JIT must agree on everything it reports; in `hyvm`, the real hypervisor must agree
/// (see [`against_hypervisor`]), the wallet then holding the on-chain harness's code.
pub fn run_request(config: &Config, req: &Request) -> Outcome {
    let mut req = req.clone();
    let onchain = hypervisor_can_judge(config, &req);
    if onchain {
        give_wallet_its_code(&mut req);
    }
    let truth = Vm::new().run(config, &req).expect("valid request");
    if config.engine == Engine::Interpreter {
        let jit = Config {
            engine: Engine::Jit,
            jit: nestedvm::JitConfig {
                hot_after: 0,
                ..Default::default()
            },
            ..*config
        };
        let native = Vm::new().run(&jit, &req).expect("valid request");
        assert_eq!(native.engine, Engine::Jit, "the JIT compiled it");
        assert_eq!(
            engine_fields(&native),
            engine_fields(&truth),
            "JIT vs interpreter"
        );
    }
    if onchain {
        if let Err(e) = against_hypervisor(config, &req, &truth) {
            panic!("hyvm profile vs the real hypervisor: {e}");
        }
    }
    truth
}

/// The JIT configurations checked against the interpreter: every code compiled whole before
/// it first runs, by Cranelift under both dynamic-jump policies and both optimization levels,
/// and by the baseline tier where it is built.
pub fn jit_configs() -> Vec<(&'static str, JitConfig)> {
    let with = |opt_level, dynamic_jumps| JitConfig {
        options: CompileOptions {
            opt_level,
            dynamic_jumps,
            ..CompileOptions::default()
        },
        hot_after: 0,
        background: false,
        baseline: false,
    };
    let mut configs = vec![
        ("jit", with(OptLevel::Speed, DynamicJumps::Interpreter)),
        ("jit-table", with(OptLevel::Speed, DynamicJumps::JumpTable)),
        (
            "jit-O0-table",
            with(OptLevel::None, DynamicJumps::JumpTable),
        ),
    ];
    if nestedvm::jit::baseline::AVAILABLE {
        configs.push((
            "baseline",
            with(OptLevel::Baseline, DynamicJumps::JumpTable),
        ));
    }
    configs
}

/// `auto` tiering up on the running thread once a block has run twice, so a run moves between
/// the interpreter (or baseline code, from the first tier-up on, with `baseline`) and units
/// compiled from parts of its code.
pub fn tiered(baseline: bool) -> JitConfig {
    JitConfig {
        hot_after: 2,
        background: false,
        baseline,
        ..JitConfig::default()
    }
}

/// What every engine must report alike of a run: all of the outcome but the engine, the
/// plain-contract gas and the state dump.
#[allow(clippy::type_complexity)]
pub fn engine_fields(
    o: &Outcome,
) -> (
    Status,
    Option<nestedvm::HaltReason>,
    Vec<u8>,
    u64,
    i64,
    Vec<nestedvm::Log>,
    std::collections::BTreeMap<U256, U256>,
    Vec<u8>,
    usize,
    Option<nestedvm::Cause>,
) {
    (
        o.status,
        o.reason,
        o.output.clone(),
        o.gas_used,
        o.gas_refund,
        o.logs.clone(),
        o.storage.clone(),
        o.memory.clone(),
        o.pc,
        o.cause,
    )
}

/// Whether the on-chain harness can run `req` as `config` runs it: the `hyvm` profile with
/// the deployed hypervisor's address, no memory limit of ours, the wallet at the harness's
/// address and a caller that is none of the harness's contracts.
pub fn hypervisor_can_judge(config: &Config, req: &Request) -> bool {
    use hyvm_oracle::{HYPERVISOR, STATIC_RUNNER, WALLET};
    let default = Config::default();
    config.profile == Profile::Hyvm
        && config.hypervisor == default.hypervisor
        && config.memory_limit == default.memory_limit
        && req.address == WALLET
        && ![WALLET, HYPERVISOR, STATIC_RUNNER].contains(&req.caller)
        && (!config.is_static || req.value.is_zero())
}

/// Gives the wallet the on-chain harness's code (which the guest can see through EXTCODE*
/// and calls to itself), unless the request gives the wallet an account of its own.
pub fn give_wallet_its_code(req: &mut Request) {
    if !req.accounts.iter().any(|(a, _)| *a == req.address) {
        req.accounts.push((
            req.address,
            nestedvm::Account::new(U256::zero(), 1, hyvm_oracle::wallet_code(req.gas)),
        ));
    }
}

/// Compares `ours`, the outcome of `req` in `config`, with the real hypervisor's (its
/// deployed bytecode run in revm): status, output, gas used, refund, logs and storage. The
/// verifier build's call guard is not modelled in gas (docs/hyvm.md), so a guest that
/// reaches it is compared without gas.
pub fn against_hypervisor(config: &Config, req: &Request, ours: &Outcome) -> Result<(), String> {
    let t = hyvm_oracle::run_hyvm(&hyvm_oracle::HyvmRequest {
        is_static: config.is_static,
        ..hyvm_oracle::HyvmRequest::from_request(config.fork, config.verifier, req)
    });
    let unmodelled = config.verifier && nestedvm_cli::difftest::case::reaches_call_guard(&req.code);
    differences(
        ours,
        Expected {
            who: "the real hypervisor",
            status: t.status,
            output: &t.output,
            gas: (!unmodelled).then_some((t.gas_used, t.gas_refund)),
            logs: &t.logs,
            storage: &t.storage,
        },
    )
}

/// Assembles and runs.
pub fn run_asm(config: &Config, text: &str, gas: u64) -> Outcome {
    let code = nestedvm::interp::asm::assemble(text).expect("assembles");
    run_code(config, &code, gas)
}

/// The oracle request equivalent to a nestedvm `evm` request.
pub fn to_oracle(fork: Fork, req: &Request) -> OracleRequest {
    OracleRequest::from_request(fork, req)
}

/// What an oracle says a run gave.
pub struct Expected<'a> {
    /// Who says so (for messages).
    pub who: &'a str,
    pub status: Status,
    pub output: &'a [u8],
    /// Gas used and refund, when the oracle's gas is comparable.
    pub gas: Option<(u64, i64)>,
    pub logs: &'a [oracle::OracleLog],
    pub storage: &'a std::collections::BTreeMap<U256, U256>,
}

/// Every field of `ours` that differs from `theirs`, or `Ok` when none does.
pub fn differences(ours: &Outcome, theirs: Expected) -> Result<(), String> {
    let expected = Observed::from_oracle(
        theirs.status,
        theirs.output,
        theirs.gas,
        theirs.logs,
        theirs.storage,
    );
    let d = Observed::from_outcome(ours).differences("nestedvm", &expected, theirs.who);
    if d.is_empty() {
        Ok(())
    } else {
        Err(d.into_iter().map(|d| d.text).collect::<Vec<_>>().join("; "))
    }
}

/// Compares every field the contract promises with revm's; `Err` says what differs.
pub fn compare(ours: &Outcome, theirs: &OracleOutcome) -> Result<(), String> {
    differences(
        ours,
        Expected {
            who: "revm",
            status: theirs.status,
            output: &theirs.output,
            gas: Some((theirs.gas_used, theirs.gas_refund)),
            logs: &theirs.logs,
            storage: &theirs.storage,
        },
    )
}

/// Runs `req` in the evm profile through nestedvm and revm and compares.
pub fn diff_evm(fork: Fork, req: &Request) -> Result<Outcome, String> {
    let ours = Vm::new()
        .run(&evm_config(fork), req)
        .map_err(|e| e.to_string())?;
    let theirs = oracle::run_revm(&to_oracle(fork, req));
    compare(&ours, &theirs).map(|_| ours)
}

/// The default environment as a nestedvm `Env`, for tests that change one field.
pub fn default_env() -> Env {
    Env::default()
}
