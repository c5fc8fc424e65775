//! Shared test support: the revm oracle (test-only, never on the execution path), the VM
//! fixture parser, and the bridge between nestedvm's requests and the oracle's.
#![allow(dead_code)]

pub mod gen;
pub mod hyvm_oracle;
pub mod oracle;
pub mod vmfixture;

use nestedvm::{Account, Config, Engine, Env, Fork, Outcome, Profile, Request, Vm, U256};
use oracle::{OracleAccount, OracleEnv, OracleOutcome, OracleRequest};

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

/// Runs `code` with `gas` in `config` in the default environment. When `config` asks for
/// the interpreter, the JIT runs it too and must agree on everything it reports, so every
/// test written against the interpreter checks the JIT as well.
pub fn run_code(config: &Config, code: &[u8], gas: u64) -> Outcome {
    let mut req = Request::new(code.to_vec());
    req.gas = gas;
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
        let fields = |o: &Outcome| {
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
            )
        };
        assert_eq!(fields(&native), fields(&truth), "JIT vs interpreter");
    }
    truth
}

/// Assembles and runs.
pub fn run_asm(config: &Config, text: &str, gas: u64) -> Outcome {
    let code = nestedvm::interp::asm::assemble(text).expect("assembles");
    run_code(config, &code, gas)
}

fn to_oracle_account(address: nestedvm::Address, a: &Account) -> OracleAccount {
    OracleAccount {
        address,
        balance: a.balance,
        nonce: a.nonce,
        code: a.code.to_vec(),
        storage: a.storage().into_iter().collect(),
    }
}

/// The oracle request equivalent to a nestedvm `evm` request.
pub fn to_oracle(fork: Fork, req: &Request) -> OracleRequest {
    let env = &req.env;
    OracleRequest {
        fork: fork.name(),
        env: OracleEnv {
            number: env.number,
            timestamp: env.timestamp,
            coinbase: env.coinbase,
            gas_limit: env.gas_limit,
            basefee: env.basefee.low_u64(),
            prevrandao: env.prevrandao,
            blob_base_fee: env.blob_base_fee.low_u128(),
            chain_id: env.chain_id,
            gas_price: env.gas_price.low_u128(),
            origin: req.caller,
        },
        address: req.address,
        code: req.code.clone(),
        calldata: req.calldata.clone(),
        gas: req.gas,
        value: req.value,
        storage: req.storage.clone(),
        accounts: req
            .accounts
            .iter()
            .map(|(a, acc)| to_oracle_account(*a, acc))
            .collect(),
    }
}

/// What an oracle says a run gave.
pub struct Expected<'a> {
    /// Who says so (for messages).
    pub who: &'a str,
    pub status: &'a str,
    pub output: &'a [u8],
    /// Gas used and refund, when the oracle's gas is comparable.
    pub gas: Option<(u64, i64)>,
    pub logs: &'a [oracle::OracleLog],
    pub storage: &'a std::collections::BTreeMap<U256, U256>,
}

/// Every field of `ours` that differs from `theirs`, or `Ok` when none does.
pub fn differences(ours: &Outcome, theirs: Expected) -> Result<(), String> {
    let who = theirs.who;
    let mut diffs = Vec::new();
    if ours.status.name() != theirs.status {
        diffs.push(format!(
            "status {} ({:?}) vs {who} {}",
            ours.status.name(),
            ours.reason,
            theirs.status
        ));
    }
    if ours.output != theirs.output {
        diffs.push(format!(
            "output {:02x?} vs {who} {:02x?}",
            ours.output, theirs.output
        ));
    }
    if let Some((gas_used, gas_refund)) = theirs.gas {
        if ours.gas_used != gas_used {
            diffs.push(format!("gas_used {} vs {who} {gas_used}", ours.gas_used));
        }
        if ours.gas_refund != gas_refund {
            diffs.push(format!(
                "gas_refund {} vs {who} {gas_refund}",
                ours.gas_refund
            ));
        }
    }
    let our_logs: Vec<_> = ours
        .logs
        .iter()
        .map(|l| {
            (
                l.address,
                l.topics
                    .iter()
                    .map(|t| U256::from_big_endian(t.as_bytes()))
                    .collect::<Vec<_>>(),
                l.data.clone(),
            )
        })
        .collect();
    let their_logs: Vec<_> = theirs
        .logs
        .iter()
        .map(|l| (l.address, l.topics.clone(), l.data.clone()))
        .collect();
    if our_logs != their_logs {
        diffs.push(format!("logs {our_logs:?} vs {who} {their_logs:?}"));
    }
    if &ours.storage != theirs.storage {
        diffs.push(format!(
            "storage {:?} vs {who} {:?}",
            ours.storage, theirs.storage
        ));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
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
