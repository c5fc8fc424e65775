//! Test-only revm oracle: runs ONE message call in revm 43 and reports the
//! frame-level result (status, output, frame gas, refund counter, logs,
//! post-state storage of the executing account).
//!
//! Only depends on `revm`, `primitive-types`, `serde_json` and `std`.
//!
//! Required revm cargo features (besides "std"), for the CfgEnv knobs used below:
//!   revm = { version = "43.0.3", default-features = false, features = [
//!       "std",
//!       "optional_fee_charge",      // CfgEnv::disable_fee_charge: no up-front fee, no reimbursement, no coinbase reward
//!       "optional_block_gas_limit", // CfgEnv::disable_block_gas_limit: tx gas may exceed the block gas limit
//!       "optional_eip7623",         // CfgEnv::disable_eip7623: no calldata floor (it never changes the frame's gas)
//!       "optional_no_base_fee",     // CfgEnv::disable_base_fee: gas_price < basefee not rejected (prices NOT zeroed)
//!       "optional_eip3607",         // CfgEnv::disable_eip3607: origin may hold code
//!   ] }
//!
//! Semantics: the top frame is a CALL from `env.origin` to `address` with
//! `calldata`, `value` and exactly `gas` gas. The transaction gas limit is
//! `gas + intrinsic` where the intrinsic gas is computed by revm's own
//! `GasParams::initial_tx_gas` for the fork (legacy tx, no access list).
//! The EIP-7825 cap is lifted with `tx_gas_limit_cap = Some(u64::MAX)`.
//! No fee is charged: during execution the caller holds `balance - value`.
//! GASPRICE returns `env.gas_price`, BASEFEE returns `env.basefee`,
//! BLOBBASEFEE returns `env.blob_base_fee`.
#![allow(dead_code)]

use primitive_types::{H160, U256};
use std::collections::BTreeMap;

use revm::{
    bytecode::Bytecode,
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::{block::BlobExcessGasAndPrice, cfg::GasParams, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
    inspector::Inspector,
    interpreter::{CallInputs, CallOutcome},
    primitives::{hardfork::SpecId, Address, Bytes, TxKind, B256, U256 as RU256},
    state::AccountInfo,
    Context, DatabaseCommit, InspectEvm, MainBuilder, MainContext,
};

/// An account of the pre-state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OracleAccount {
    pub address: H160,
    pub balance: U256,
    pub nonce: u64,
    pub code: Vec<u8>,
    pub storage: Vec<(U256, U256)>,
}

/// Block / transaction environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleEnv {
    pub number: u64,
    pub timestamp: u64,
    pub coinbase: H160,
    pub gas_limit: u64,
    pub basefee: u64,
    pub prevrandao: U256,
    /// The blob gas price: the BLOBBASEFEE opcode returns exactly this.
    pub blob_base_fee: u128,
    pub chain_id: u64,
    pub gas_price: u128,
    /// Origin = caller of the top frame.
    pub origin: H160,
}

/// `0x000…00XXXX` style helper.
pub fn addr_low(v: u64) -> H160 {
    H160::from_low_u64_be(v)
}

pub const DEFAULT_ADDRESS: u64 = 0xc0de;
pub const DEFAULT_ORIGIN: u64 = 0xca11;
pub const DEFAULT_COINBASE: u64 = 0xc014;

/// 10^24: the default balance of the origin when it is not in `accounts`.
pub fn default_origin_balance() -> U256 {
    U256::exp10(24)
}

impl Default for OracleEnv {
    fn default() -> Self {
        OracleEnv {
            number: 1,
            timestamp: 1000,
            coinbase: addr_low(DEFAULT_COINBASE),
            gas_limit: 30_000_000,
            basefee: 7,
            prevrandao: U256::from(2u64),
            blob_base_fee: 1,
            chain_id: 1,
            gas_price: 7,
            origin: addr_low(DEFAULT_ORIGIN),
        }
    }
}

/// One message call to run.
#[derive(Clone, Debug)]
pub struct OracleRequest {
    /// "shanghai" | "cancun" | "prague" | "osaka"
    pub fork: &'static str,
    pub env: OracleEnv,
    /// Executing account (default 0x…c0de, balance 0, nonce 1 unless in `accounts`).
    pub address: H160,
    /// Code placed at `address` (overrides any code given for it in `accounts`).
    pub code: Vec<u8>,
    pub calldata: Vec<u8>,
    /// The FRAME's gas limit (intrinsic gas excluded).
    pub gas: u64,
    pub value: U256,
    /// Pre-state storage of `address` (added to any storage given in `accounts`).
    pub storage: Vec<(U256, U256)>,
    /// Extra accounts (may also describe `address` or the origin to override defaults).
    pub accounts: Vec<OracleAccount>,
}

impl Default for OracleRequest {
    fn default() -> Self {
        OracleRequest {
            fork: "osaka",
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleLog {
    pub address: H160,
    pub topics: Vec<U256>,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleOutcome {
    /// "success" | "revert" | "halt" (revm's classification of the top frame's result).
    pub status: &'static str,
    /// The top frame's return data.
    pub output: Vec<u8>,
    /// Top frame gas limit minus its remaining gas (before refunds).
    pub gas_used: u64,
    /// The top frame's refund counter (0 unless success).
    pub gas_refund: i64,
    /// The transaction's logs (empty unless success).
    pub logs: Vec<OracleLog>,
    /// Non-zero storage of `address` after the call, as committed.
    pub storage: BTreeMap<U256, U256>,
    /// Post balance of every touched account, sorted by address.
    pub balances: Vec<(H160, U256)>,
    /// The gas limit the top frame was given, as seen by the inspector (should equal `req.gas`).
    pub frame_gas_limit: u64,
}

// ---------------------------------------------------------------- conversions

pub fn to_addr(a: H160) -> Address {
    Address::from(a.0)
}

pub fn from_addr(a: Address) -> H160 {
    H160(a.into_array())
}

pub fn to_ru(v: U256) -> RU256 {
    RU256::from_be_bytes(v.to_big_endian())
}

pub fn from_ru(v: RU256) -> U256 {
    U256::from_big_endian(&v.to_be_bytes::<32>())
}

pub fn to_b256(v: U256) -> B256 {
    B256::from(v.to_big_endian())
}

pub fn spec_of(fork: &str) -> SpecId {
    match fork.to_ascii_lowercase().as_str() {
        "shanghai" => SpecId::SHANGHAI,
        "cancun" => SpecId::CANCUN,
        "prague" => SpecId::PRAGUE,
        "osaka" => SpecId::OSAKA,
        other => panic!("oracle: unsupported fork {other:?}"),
    }
}

pub fn bytecode_of(code: &[u8]) -> Bytecode {
    let raw = Bytes::copy_from_slice(code);
    // A malformed 0xEF01 (EIP-7702 marker) prefix would make `new_raw` panic;
    // fall back to plain legacy bytecode then.
    Bytecode::new_raw_checked(raw.clone()).unwrap_or_else(|_| Bytecode::new_legacy(raw))
}

/// Intrinsic gas of a legacy CALL transaction carrying `calldata`, computed by
/// revm for `fork` (21000 + 4/16 per zero/non-zero calldata byte on these forks).
/// Returns (initial regular gas, EIP-7623 floor gas).
pub fn intrinsic_gas(fork: &str, calldata: &[u8]) -> (u64, u64) {
    let gp = GasParams::new_spec(spec_of(fork));
    let g = gp.initial_tx_gas(calldata, false, 0, 0, 0, None);
    (g.initial_regular_gas(), g.floor_gas())
}

// ---------------------------------------------------------------- inspector

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

// ---------------------------------------------------------------- run

/// Run one message call in revm and report the top frame's result.
/// The configuration that makes revm run a transaction as `run` runs a message call: no fee
/// charged, no block gas limit or EIP-7825 cap, no calldata floor, base fee unchecked (prices
/// kept), no nonce check, origin may have code.
pub fn message_call_cfg(spec: SpecId, env: &OracleEnv) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(spec);
    cfg.chain_id = env.chain_id;
    cfg.tx_gas_limit_cap = Some(u64::MAX); // lift EIP-7825 (Osaka 2^24 cap)
    cfg.disable_nonce_check = true;
    cfg.disable_fee_charge = true; // message call: no gas fee up front / after
    cfg.disable_block_gas_limit = true;
    cfg.disable_eip7623 = true; // the floor only matters at tx level; never reject
    cfg.disable_base_fee = true; // only skips the "gas_price >= basefee" check
    cfg.disable_eip3607 = true;
    cfg
}

/// The block of `env`.
pub fn block_env(env: &OracleEnv) -> BlockEnv {
    BlockEnv {
        number: RU256::from(env.number),
        beneficiary: to_addr(env.coinbase),
        timestamp: RU256::from(env.timestamp),
        gas_limit: env.gas_limit,
        basefee: env.basefee,
        difficulty: to_ru(env.prevrandao),
        prevrandao: Some(to_b256(env.prevrandao)),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice {
            excess_blob_gas: 0,
            blob_gasprice: env.blob_base_fee,
        }),
        ..BlockEnv::default()
    }
}

/// The non-zero storage of `address` in a committed database.
pub fn storage_of(db: &CacheDB<EmptyDB>, address: H160) -> BTreeMap<U256, U256> {
    db.cache
        .accounts
        .get(&to_addr(address))
        .map(|a| {
            a.storage
                .iter()
                .filter(|(_, v)| !v.is_zero())
                .map(|(k, v)| (from_ru(*k), from_ru(*v)))
                .collect()
        })
        .unwrap_or_default()
}

/// A frame's status, gas used, refund and output as `run` reports them.
///
/// revm 43 settles a frame's gas in the PARENT (handler `last_frame_result` /
/// `handle_reservoir_remaining_gas`), after `call_end`: an exceptional halt other than
/// OutOfGas still shows its pre-halt remaining gas here, and a revert/halt still shows its
/// refund counter. Apply the same settlement.
pub fn frame_figures(outcome: &CallOutcome) -> (&'static str, u64, i64, Vec<u8>) {
    let ir = &outcome.result;
    let status = if ir.result.is_ok() {
        "success"
    } else if ir.result.is_revert() {
        "revert"
    } else {
        "halt"
    };
    let gas_used = if status == "halt" {
        ir.gas.limit()
    } else {
        ir.gas.limit() - ir.gas.remaining()
    };
    let gas_refund = if status == "success" {
        ir.gas.refunded()
    } else {
        0
    };
    (status, gas_used, gas_refund, ir.output.to_vec())
}

pub fn run_revm(req: &OracleRequest) -> OracleOutcome {
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
        let code = if acc.address == req.address {
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
                .expect("EmptyDB cannot fail");
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
            .expect("EmptyDB cannot fail");
    }

    let cfg = message_call_cfg(spec, env);
    let block = block_env(env);

    // ---- tx: gas limit = frame gas + intrinsic
    let (intrinsic, _floor) = intrinsic_gas(req.fork, &req.calldata);
    let tx = TxEnv {
        tx_type: 0,
        caller: to_addr(origin),
        gas_limit: req.gas.saturating_add(intrinsic),
        gas_price: env.gas_price,
        kind: TxKind::Call(to_addr(req.address)),
        value: to_ru(req.value),
        data: Bytes::copy_from_slice(&req.calldata),
        nonce: 0,
        chain_id: Some(env.chain_id),
        ..TxEnv::default()
    };

    let ctx = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block);
    let mut evm = ctx.build_mainnet_with_inspector(TopFrameProbe::default());
    let res = evm
        .inspect_tx(tx)
        .unwrap_or_else(|e| panic!("oracle: revm rejected the transaction: {e:?}"));

    let probe = &evm.inspector;
    let frame_gas_limit = probe
        .frame_gas_limit
        .expect("oracle: top frame call() not seen");
    let outcome = probe
        .outcome
        .clone()
        .expect("oracle: top frame call_end() not seen");
    let (status, gas_used, gas_refund, output) = frame_figures(&outcome);

    let logs = match &res.result {
        ExecutionResult::Success { logs, .. } => logs
            .iter()
            .map(|l| OracleLog {
                address: from_addr(l.address),
                topics: l
                    .topics()
                    .iter()
                    .map(|t| U256::from_big_endian(t.as_slice()))
                    .collect(),
                data: l.data.data.to_vec(),
            })
            .collect(),
        _ => Vec::new(),
    };

    let mut balances: Vec<(H160, U256)> = res
        .state
        .iter()
        .filter(|(_, a)| a.is_touched())
        .map(|(addr, a)| (from_addr(*addr), from_ru(a.info.balance)))
        .collect();
    balances.sort();

    // ---- commit and read the post-state storage of `address`
    let db = &mut evm.ctx.journaled_state.database;
    db.commit(res.state);
    let storage = storage_of(db, req.address);

    OracleOutcome {
        status,
        output,
        gas_used,
        gas_refund,
        logs,
        storage,
        balances,
        frame_gas_limit,
    }
}
