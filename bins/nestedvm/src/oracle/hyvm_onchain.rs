//! The real HyVM as the oracle of the `hyvm` profile: runs guest bytecode through the
//! hypervisor's published bytecode (`interp/data`, see its README for provenance)
//! inside revm 43 and reports the hypervisor frame's result.
//!
//! Pre-state:
//! - `HYPERVISOR` (0x…4879): the hypervisor runtime (plain or verifier build) followed by
//!   the 32 bytes its on-chain constructor appends: 12 zero bytes and the hypervisor's own
//!   address. The start-up check CODECOPYs them to host memory 0x220 and reverts when they
//!   equal ADDRESS (i.e. when it is called directly rather than through DELEGATECALL); the
//!   verifier build later uses that word at 0x220 as the default verifier result.
//! - `WALLET` (0x…c0de, balance 0, nonce 1 unless `accounts` says otherwise, storage
//!   `req.storage`): the wallet contract of [`wallet_code`]. It copies its calldata to
//!   memory, DELEGATECALLs `HYPERVISOR` with exactly `req.gas` gas (a PUSH8 constant) and
//!   the calldata as input, then copies the return data and RETURNs it on success or
//!   REVERTs it on failure.
//! - `STATIC_RUNNER` (0x…5747), only when `req.is_static`: the contract of
//!   [`static_runner_code`]. It STATICCALLs `WALLET` with all its gas and the calldata and
//!   relays the return data (RETURN on success, REVERT on failure). The wallet then runs
//!   (and DELEGATECALLs the hypervisor) inside that STATICCALL, so the guest is read-only.
//!   In static mode the guest sees CALLER = `STATIC_RUNNER` (0x…5747) and CALLVALUE = 0
//!   (a STATICCALL carries no value, so `req.value` must be zero: `run_hyvm` refuses
//!   anything else). ORIGIN is still `env.origin`.
//! - `env.origin` (default 0x…ca11): balance 10^24 unless given in `accounts`.
//!
//! The transaction: legacy, from `env.origin` to `WALLET` (or to `STATIC_RUNNER` when
//! `is_static`) with `req.value` and calldata = the guest code; no fee is charged
//! (`disable_fee_charge` & co., see [`message_call_cfg`]), EIP-7825 cap lifted, and a gas limit
//! with ample headroom for the wallet (and runner) around the hypervisor call: enough for
//! the 63/64 rule to leave exactly `req.gas` for the DELEGATECALL and for the relays to
//! copy any return data. `run_hyvm` checks that the hypervisor frame got exactly
//! `req.gas` and fails otherwise.
//!
//! The figures come from an inspector that picks THE hypervisor frame: the first call
//! frame at depth 1 (depth 2 when `is_static`; the transaction's own frame is depth 0)
//! whose scheme is DELEGATECALL and whose bytecode address is `HYPERVISOR`. Deeper frames
//! (e.g. a guest that itself DELEGATECALLs the hypervisor) are never picked. CREATE frames
//! are counted in the depth as well.

use super::{
    block_env, bytecode_of, call_tx, default_origin_balance, message_call_cfg, outcome_of, spec_of,
    to_addr, to_ru, OracleAccount, OracleEnv, OracleOutcome, PreparedCall,
};
pub use crate::difftest::wallet::wallet_code;
use nestedvm::{Address as H160, Fork, Status, U256};
use revm::{
    database::{CacheDB, EmptyDB},
    inspector::Inspector,
    interpreter::{CallInputs, CallOutcome, CallScheme, CreateInputs, CreateOutcome},
    primitives::Address,
    state::AccountInfo,
    Context, InspectEvm, MainBuilder, MainContext,
};

/// Where the hypervisor lives ("Hy" = 0x4879).
pub const HYPERVISOR: H160 = H160([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x79,
]);
/// The wallet that DELEGATECALLs the hypervisor (its storage, balance, logs are the guest's).
pub const WALLET: H160 = H160([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xde,
]);
/// The helper that STATICCALLs the wallet when `is_static` (the guest's CALLER then).
pub const STATIC_RUNNER: H160 = H160([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x57, 0x47,
]);

/// The verifier build reads the verifier's address from this wallet storage slot.
pub const VERIFIER_SLOT: [u8; 32] = [
    0x58, 0xa8, 0xa9, 0x22, 0x3a, 0xf4, 0x34, 0x08, 0x04, 0x77, 0xcd, 0x2d, 0x1a, 0x26, 0x67, 0xab,
    0xa3, 0xce, 0x9f, 0x13, 0x01, 0x00, 0x76, 0x11, 0xa4, 0xd0, 0x7a, 0x0a, 0xf7, 0x08, 0xe6, 0x5a,
];

/// One guest run.
#[derive(Clone, Debug)]
pub struct HyvmRequest {
    /// Guest bytecode = the hypervisor's calldata.
    pub guest: Vec<u8>,
    /// Gas given to the DELEGATECALL into the hypervisor (exactly).
    pub gas: u64,
    /// Use the verifier build (guest memory at 0x460).
    pub verifier: bool,
    /// Run the hypervisor inside a STATICCALL (tx -> STATIC_RUNNER -STATICCALL-> WALLET
    /// -DELEGATECALL-> HYPERVISOR). The guest then sees CALLER = STATIC_RUNNER, CALLVALUE 0.
    pub is_static: bool,
    /// Value sent to the wallet (CALLVALUE seen by the guest). Must be 0 when `is_static`.
    pub value: U256,
    /// The wallet's pre-state storage (added to any storage given for WALLET in `accounts`).
    pub storage: Vec<(U256, U256)>,
    /// Extra pre-state accounts (callees, verifier contracts, ...). An entry for WALLET sets
    /// its balance/nonce/storage (its code is always the wallet's); an entry for the origin
    /// overrides its default balance; code given for HYPERVISOR or STATIC_RUNNER is ignored.
    pub accounts: Vec<OracleAccount>,
    /// The fork.
    pub fork: Fork,
    /// Block and transaction environment.
    pub env: OracleEnv,
}

impl Default for HyvmRequest {
    fn default() -> Self {
        HyvmRequest {
            guest: Vec::new(),
            gas: 1_000_000,
            verifier: false,
            is_static: false,
            value: U256::zero(),
            storage: Vec::new(),
            accounts: Vec::new(),
            fork: Fork::Osaka,
            env: OracleEnv::default(),
        }
    }
}

impl HyvmRequest {
    /// The oracle's view of a nestedvm `hyvm` request at `fork`: the request's code is the
    /// guest, its accounts the pre-state (an entry for the wallet gives its balance, nonce
    /// and storage; the wallet's code is always the harness's), its caller the origin.
    pub fn from_request(fork: Fork, verifier: bool, req: &nestedvm::Request) -> Self {
        HyvmRequest {
            guest: req.code.clone(),
            gas: req.gas,
            verifier,
            is_static: false,
            value: req.value,
            storage: req.storage.clone(),
            accounts: req
                .accounts
                .iter()
                .map(|(a, acc)| OracleAccount::from_account(*a, acc))
                .collect(),
            fork,
            env: OracleEnv::from_env(&req.env, req.caller),
        }
    }
}

/// The hypervisor frame's result, in the shape of both oracles' results (its storage the
/// wallet's).
pub type HyvmOutcome = OracleOutcome;

// ---------------------------------------------------------------- bytecode

/// The hypervisor runtime as deployed: the runtime (plain or verifier build) followed by
/// the 32 bytes the constructor appends (12 zero bytes, then the hypervisor's address).
pub fn hyvm_code(verifier: bool) -> Vec<u8> {
    hyvm_code_at(verifier, HYPERVISOR)
}

/// As [`hyvm_code`], for a hypervisor deployed at `address`.
pub fn hyvm_code_at(verifier: bool, address: H160) -> Vec<u8> {
    nestedvm::interp::hyvm::deployed_code(verifier, address)
}

/// The static runner: STATICCALLs WALLET with all its gas and its calldata, relays the result.
/// ```text
/// 00: 36 6000 6000 37    CALLDATACOPY(0, 0, CALLDATASIZE)
/// 06: 6000 6000          PUSH1 0 (retSize), PUSH1 0 (retOffset)
/// 0a: 36 6000            CALLDATASIZE (argsSize), PUSH1 0 (argsOffset)
/// 0d: 73 <WALLET>        PUSH20 address
/// 22: 5a fa              GAS, STATICCALL
/// 24: 3d 6000 6000 3e    RETURNDATACOPY(0, 0, RETURNDATASIZE)
/// 2a: 6031 57            PUSH1 0x31, JUMPI     (success -> 0x31)
/// 2d: 3d 6000 fd         REVERT(0, RETURNDATASIZE)
/// 31: 5b 3d 6000 f3      JUMPDEST, RETURN(0, RETURNDATASIZE)
/// ```
pub fn static_runner_code() -> Vec<u8> {
    let mut c = vec![0x36, 0x60, 0x00, 0x60, 0x00, 0x37];
    c.extend_from_slice(&[0x60, 0x00, 0x60, 0x00, 0x36, 0x60, 0x00]);
    c.push(0x73);
    c.extend_from_slice(WALLET.as_bytes());
    c.extend_from_slice(&[0x5a, 0xfa]);
    c.extend_from_slice(&[0x3d, 0x60, 0x00, 0x60, 0x00, 0x3e]);
    c.extend_from_slice(&[0x60, 0x31, 0x57]);
    c.extend_from_slice(&[0x3d, 0x60, 0x00, 0xfd]);
    assert_eq!(c.len(), 0x31);
    c.extend_from_slice(&[0x5b, 0x3d, 0x60, 0x00, 0xf3]);
    c
}

// ---------------------------------------------------------------- conversions

/// Memory expansion cost of `bytes` bytes from zero.
fn mem_cost(bytes: u64) -> u64 {
    let w = bytes.div_ceil(32) as u128;
    (3 * w + w * w / 512).min(u64::MAX as u128) as u64
}

// ---------------------------------------------------------------- inspector

/// Finds the hypervisor frame: the first DELEGATECALL at `target_depth` whose bytecode
/// address is HYPERVISOR, and records its gas limit and outcome.
struct HyvmProbe {
    depth: usize,
    target_depth: usize,
    hypervisor: Address,
    /// Depth of the hypervisor frame while it runs.
    active: Option<usize>,
    seen: bool,
    gas_limit: Option<u64>,
    outcome: Option<CallOutcome>,
}

impl<CTX> Inspector<CTX> for HyvmProbe {
    fn call(&mut self, _context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        if !self.seen
            && self.depth == self.target_depth
            && inputs.scheme == CallScheme::DelegateCall
            && inputs.bytecode_address == self.hypervisor
        {
            self.seen = true;
            self.active = Some(self.depth);
            self.gas_limit = Some(inputs.gas_limit);
        }
        self.depth += 1;
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.depth -= 1;
        if self.active == Some(self.depth) {
            self.active = None;
            self.outcome = Some(outcome.clone());
        }
    }

    fn create(&mut self, _context: &mut CTX, _inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        self.depth += 1;
        None
    }

    fn create_end(
        &mut self,
        _context: &mut CTX,
        _inputs: &CreateInputs,
        _outcome: &mut CreateOutcome,
    ) {
        self.depth -= 1;
    }
}

// ---------------------------------------------------------------- run

/// The transaction that runs `req.guest` through the real hypervisor, ready for revm; `Err`
/// for a request the harness cannot express.
pub fn prepare(req: &HyvmRequest) -> Result<PreparedCall, String> {
    if req.is_static && !req.value.is_zero() {
        return Err(
            "hyvm oracle: is_static runs under STATICCALL, which carries no value; use value 0"
                .into(),
        );
    }
    let spec = spec_of(req.fork);
    let env = &req.env;
    let origin = env.origin;
    if origin == WALLET || origin == HYPERVISOR || origin == STATIC_RUNNER {
        return Err("hyvm oracle: the origin must not be one of the oracle's contracts".into());
    }

    // ---- pre-state
    let mut db = CacheDB::<EmptyDB>::default();
    let mut wallet_info = AccountInfo::default().with_nonce(1);
    let mut has_origin = false;
    for acc in &req.accounts {
        let info = AccountInfo::default()
            .with_balance(to_ru(acc.balance))
            .with_nonce(acc.nonce);
        if acc.address == WALLET {
            wallet_info = info;
        } else if acc.address == HYPERVISOR || acc.address == STATIC_RUNNER {
            // Code forced below; keep balance/nonce.
            db.insert_account_info(to_addr(acc.address), info);
        } else {
            has_origin |= acc.address == origin;
            let info = if acc.code.is_empty() {
                info
            } else {
                info.with_code(bytecode_of(&acc.code))
            };
            db.insert_account_info(to_addr(acc.address), info);
        }
    }
    db.insert_account_info(
        to_addr(WALLET),
        wallet_info.with_code(bytecode_of(&wallet_code(req.gas))),
    );
    let set_code = |db: &mut CacheDB<EmptyDB>, a: H160, code: Vec<u8>| {
        let info = db
            .cache
            .accounts
            .get(&to_addr(a))
            .map(|x| x.info.clone())
            .unwrap_or_else(|| AccountInfo::default().with_nonce(1));
        db.insert_account_info(to_addr(a), info.with_code(bytecode_of(&code)));
    };
    set_code(&mut db, HYPERVISOR, hyvm_code(req.verifier));
    if req.is_static {
        set_code(&mut db, STATIC_RUNNER, static_runner_code());
    }
    if !has_origin {
        db.insert_account_info(
            to_addr(origin),
            AccountInfo::default().with_balance(to_ru(default_origin_balance())),
        );
    }
    // Storage last, on accounts that already exist in the cache.
    let storage_entries = req
        .accounts
        .iter()
        .flat_map(|a| a.storage.iter().map(move |kv| (a.address, kv)))
        .chain(req.storage.iter().map(|kv| (WALLET, kv)));
    for (a, (k, v)) in storage_entries {
        db.insert_account_storage(to_addr(a), to_ru(*k), to_ru(*v))
            .map_err(|e| format!("hyvm oracle: {e:?}"))?;
    }

    // ---- tx. Headroom: each forwarding level keeps 1/64 (gas/16 covers two levels), the
    // wallet/runner pay calldata memory and copy the return data (whose memory the guest
    // paid for out of `gas`, hence 2 * gas), plus a fixed margin (cold accounts etc.).
    let frame_gas = req
        .gas
        .saturating_mul(3)
        .saturating_add(req.gas / 16)
        .saturating_add(mem_cost(req.guest.len() as u64).saturating_mul(3))
        .saturating_add(1_000_000);
    let to = if req.is_static { STATIC_RUNNER } else { WALLET };
    let tx = call_tx(req.fork, env, to, req.value, &req.guest, frame_gas);
    Ok(PreparedCall {
        db,
        cfg: message_call_cfg(spec, env),
        block: block_env(env),
        tx,
    })
}

/// Runs `req.guest` through the real hypervisor and reports the hypervisor frame's result.
pub fn run_hyvm(req: &HyvmRequest) -> Result<HyvmOutcome, String> {
    let PreparedCall { db, cfg, block, tx } = prepare(req)?;

    let ctx = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block);
    let probe = HyvmProbe {
        depth: 0,
        target_depth: if req.is_static { 2 } else { 1 },
        hypervisor: to_addr(HYPERVISOR),
        active: None,
        seen: false,
        gas_limit: None,
        outcome: None,
    };
    let mut evm = ctx.build_mainnet_with_inspector(probe);
    let res = evm
        .inspect_tx(tx)
        .map_err(|e| format!("hyvm oracle: revm rejected the transaction: {e:?}"))?;

    let probe = &evm.inspector;
    let gas_limit = probe
        .gas_limit
        .ok_or("hyvm oracle: the hypervisor DELEGATECALL frame was not seen")?;
    if gas_limit != req.gas {
        return Err(format!(
            "hyvm oracle: the hypervisor frame got {gas_limit} gas instead of {}",
            req.gas
        ));
    }
    let outcome = probe
        .outcome
        .clone()
        .ok_or("hyvm oracle: the hypervisor frame did not end")?;
    // Commit and read the wallet's post-state storage.
    let db = &mut evm.ctx.journaled_state.database;
    let o = outcome_of(&outcome, gas_limit, &res.result, res.state, db, WALLET);
    // The wallet (and runner) relay the hypervisor's status: the transaction succeeds iff
    // the hypervisor frame did. Anything else means the headroom above was too small.
    if res.result.is_success() != (o.status == Status::Success) {
        return Err(format!(
            "hyvm oracle: transaction result {:?} does not match the hypervisor frame ({})",
            res.result,
            o.status.name()
        ));
    }
    Ok(o)
}
