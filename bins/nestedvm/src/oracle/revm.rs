//! revm 43 as the oracle of the `evm` profile: runs one message call and reports the top
//! frame's result (status, output, gas, refund counter, logs, storage of the executing
//! account).
//!
//! The top frame is a CALL from `env.origin` to `address` with `calldata`, `value` and exactly
//! `gas` gas: the transaction's gas limit is `gas` plus revm's own intrinsic gas for the fork
//! (legacy, no access list), and the EIP-7825 cap is lifted. No fee is charged, so during
//! execution the caller holds its balance minus the value. GASPRICE, BASEFEE and BLOBBASEFEE
//! return the environment's figures.

use super::from_addr;
use super::from_ru;
pub use super::OracleOutcome;
use super::{
    addr_low, block_env, bytecode_of, call_tx, default_origin_balance, message_call_cfg,
    outcome_of, spec_of, to_addr, to_ru, OracleAccount, OracleEnv, PreparedCall, DEFAULT_ADDRESS,
};
use nestedvm::{Address, Fork, State, U256};
use revm::{
    database::{AccountState, CacheDB, EmptyDB},
    handler::MainnetContext,
    inspector::{inspectors::TracerEip3155, Inspector},
    interpreter::{CallInputs, CallOutcome},
    state::AccountInfo,
    Context, InspectEvm, MainBuilder, MainContext,
};
use std::io::Write;

/// One message call to run.
#[derive(Clone, Debug)]
pub struct OracleRequest {
    /// The fork.
    pub fork: Fork,
    /// Block and transaction environment.
    pub env: OracleEnv,
    /// Executing account (default 0x…c0de, balance 0, nonce 1 unless in `accounts`).
    pub address: Address,
    /// Code placed at `address` (overrides any code given for it in `accounts`).
    pub code: Vec<u8>,
    /// Call data.
    pub calldata: Vec<u8>,
    /// The frame's gas limit (intrinsic gas excluded).
    pub gas: u64,
    /// Value sent.
    pub value: U256,
    /// Pre-state storage of `address` (added to any storage given in `accounts`).
    pub storage: Vec<(U256, U256)>,
    /// Extra accounts (may also describe `address` or the origin to override defaults).
    pub accounts: Vec<OracleAccount>,
}

impl Default for OracleRequest {
    fn default() -> Self {
        OracleRequest {
            fork: Fork::Osaka,
            env: OracleEnv::default(),
            address: addr_low(DEFAULT_ADDRESS),
            code: Vec::new(),
            calldata: Vec::new(),
            gas: 1_000_000,
            value: U256::zero(),
            storage: Vec::new(),
            accounts: Vec::new(),
        }
    }
}

impl OracleRequest {
    /// The oracle's view of a nestedvm `evm` request at `fork` (the caller is the origin).
    pub fn from_request(fork: Fork, req: &nestedvm::Request) -> Self {
        OracleRequest {
            fork,
            env: OracleEnv::from_env(&req.env, req.caller),
            address: req.address,
            code: req.code.clone(),
            calldata: req.calldata.clone(),
            gas: req.gas,
            value: req.value,
            storage: req.storage.clone(),
            accounts: req
                .accounts
                .iter()
                .map(|(a, acc)| OracleAccount::from_account(*a, acc))
                .collect(),
        }
    }
}

/// Records the top frame's gas limit and its CallOutcome.
#[derive(Default)]
struct TopFrameProbe {
    depth: usize,
    frame_gas_limit: Option<u64>,
    outcome: Option<CallOutcome>,
}

impl<CTX> Inspector<CTX> for TopFrameProbe {
    fn call(&mut self, _context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        if self.depth == 0 {
            self.frame_gas_limit = Some(inputs.gas_limit);
        }
        self.depth += 1;
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.depth -= 1;
        if self.depth == 0 {
            self.outcome = Some(outcome.clone());
        }
    }
}

/// The call `req` describes, ready for revm; `Err` when its pre-state cannot be built.
pub fn prepare(req: &OracleRequest) -> Result<PreparedCall, String> {
    let spec = spec_of(req.fork);
    let env = &req.env;
    let origin = env.origin;

    // ---- pre-state
    let mut db = CacheDB::<EmptyDB>::default();
    let mut has_origin = false;
    let mut has_target = false;
    for acc in &req.accounts {
        has_origin |= acc.address == origin;
        has_target |= acc.address == req.address;
        // As `run`: the request's code wins, and empty code means the account's.
        let code = if acc.address == req.address && !req.code.is_empty() {
            &req.code
        } else {
            &acc.code
        };
        let mut info = AccountInfo::default()
            .with_balance(to_ru(acc.balance))
            .with_nonce(acc.nonce);
        if !code.is_empty() {
            info = info.with_code(bytecode_of(code));
        }
        db.insert_account_info(to_addr(acc.address), info);
        for (k, v) in &acc.storage {
            db.insert_account_storage(to_addr(acc.address), to_ru(*k), to_ru(*v))
                .map_err(|e| format!("oracle: {e:?}"))?;
        }
    }
    if !has_target {
        let mut info = AccountInfo::default().with_nonce(1);
        if !req.code.is_empty() {
            info = info.with_code(bytecode_of(&req.code));
        }
        db.insert_account_info(to_addr(req.address), info);
    }
    if !has_origin && origin != req.address {
        db.insert_account_info(
            to_addr(origin),
            AccountInfo::default().with_balance(to_ru(default_origin_balance())),
        );
    }
    for (k, v) in &req.storage {
        db.insert_account_storage(to_addr(req.address), to_ru(*k), to_ru(*v))
            .map_err(|e| format!("oracle: {e:?}"))?;
    }

    // ---- tx: gas limit = frame gas + intrinsic
    let tx = call_tx(
        req.fork,
        env,
        req.address,
        req.value,
        &req.calldata,
        req.gas,
    );
    Ok(PreparedCall {
        db,
        cfg: message_call_cfg(spec, env),
        block: block_env(env),
        tx,
    })
}

/// Runs one message call in revm and reports the top frame's result; `Err` when revm rejects
/// the transaction or the top frame is not seen.
pub fn run_revm(req: &OracleRequest) -> Result<OracleOutcome, String> {
    run_revm_with_state(req).map(|(outcome, _)| outcome)
}

/// [`run_revm`], with the state after the call as `run --dump` reports it: every account
/// revm's database holds that exists and is not empty, or that the pre-state gave. The
/// sender's nonce is the one it had before: revm runs a transaction, which bumps it, where
/// `run` runs a message call. revm also keeps accounts it only loaded or touched with zero
/// value, as empty; `run` only holds accounts it was given or changed, hence the filter.
pub fn run_revm_with_state(req: &OracleRequest) -> Result<(OracleOutcome, State), String> {
    run_inspected(req, NoInspector)
}

/// [`run_revm`] under revm's own EIP-3155 tracer (`TracerEip3155`), which writes its lines,
/// steps and closing summary, to `out`: the reference the `evm` profile's step traces are
/// compared with.
pub fn run_revm_traced(
    req: &OracleRequest,
    out: impl Write + 'static,
) -> Result<OracleOutcome, String> {
    // Buffered: revm writes each line in many small pieces.
    let tracer = TracerEip3155::buffered(out);
    run_inspected(req, tracer).map(|(outcome, _)| outcome)
}

/// An inspector that sees nothing.
struct NoInspector;

impl<CTX> Inspector<CTX> for NoInspector {}

/// Runs `req` under the top-frame probe and `extra`, which comes second: revm's tracers
/// settle a halted frame's gas in `call_end`, and the probe must see the outcome as revm
/// gave it.
fn run_inspected<X>(req: &OracleRequest, extra: X) -> Result<(OracleOutcome, State), String>
where
    (TopFrameProbe, X): Inspector<MainnetContext<CacheDB<EmptyDB>>>,
{
    let PreparedCall { db, cfg, block, tx } = prepare(req)?;
    let ctx = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block);
    let mut evm = ctx.build_mainnet_with_inspector((TopFrameProbe::default(), extra));
    let res = evm
        .inspect_tx(tx)
        .map_err(|e| format!("oracle: revm rejected the transaction: {e:?}"))?;

    let probe = &evm.inspector.0;
    let frame_gas_limit = probe
        .frame_gas_limit
        .ok_or("oracle: top frame call() not seen")?;
    let outcome = probe
        .outcome
        .clone()
        .ok_or("oracle: top frame call_end() not seen")?;
    // Commit and read the post-state storage of `address`.
    let db = &mut evm.ctx.journaled_state.database;
    let outcome = outcome_of(
        &outcome,
        frame_gas_limit,
        &res.result,
        res.state,
        db,
        req.address,
    );
    let given: Vec<Address> = req
        .accounts
        .iter()
        .map(|a| a.address)
        .chain([req.address, req.env.origin])
        .collect();
    let mut state = State::new();
    for (address, account) in &db.cache.accounts {
        let address = from_addr(*address);
        if matches!(account.account_state, AccountState::NotExisting) {
            continue;
        }
        let code = account
            .info
            .code
            .as_ref()
            .map(|c| c.original_bytes().to_vec())
            .unwrap_or_default();
        let mut dumped = nestedvm::AccountState {
            balance: from_ru(account.info.balance),
            nonce: account.info.nonce,
            code,
            storage: account
                .storage
                .iter()
                .filter(|(_, v)| !v.is_zero())
                .map(|(k, v)| (from_ru(*k), from_ru(*v)))
                .collect(),
        };
        if address == req.env.origin {
            dumped.nonce = dumped.nonce.saturating_sub(1);
        }
        let empty = dumped == nestedvm::AccountState::default();
        if !empty || given.contains(&address) {
            state.insert(address, dumped);
        }
    }
    Ok((outcome, state))
}
