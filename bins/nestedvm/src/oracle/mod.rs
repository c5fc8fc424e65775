//! Oracles for differential testing (cargo feature `revm`): revm 43 running one message call
//! ([`revm`](self::revm)) or a state test's whole transaction ([`statetest`]), and the real
//! HyVM hypervisor bytecode run in revm behind a DELEGATECALLing wallet ([`hyvm_onchain`]).
//! They judge; they are never on the execution path of `run`, and the product never executes
//! the hypervisor's bytecode.
//!
//! revm needs these cargo features (besides `std`) for the `CfgEnv` switches of
//! [`message_call_cfg`]: `optional_fee_charge` (no fee up front or after),
//! `optional_block_gas_limit` (the transaction may exceed the block's gas limit),
//! `optional_eip7623` (no calldata floor), `optional_no_base_fee` (a gas price under the base
//! fee is not rejected; prices are kept) and `optional_eip3607` (the origin may hold code).

pub mod hyvm_onchain;
pub mod revm;
pub mod statetest;

use ::revm::{
    bytecode::Bytecode,
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::{block::BlobExcessGasAndPrice, cfg::GasParams, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
    interpreter::CallOutcome,
    primitives::{
        hardfork::SpecId, Address as RAddress, Bytes, TxKind, B256 as RB256, U256 as RU256,
    },
    state::EvmState,
    DatabaseCommit,
};
use nestedvm::{Address, Fork, Status, U256};
use std::collections::BTreeMap;

/// An account of an oracle's pre-state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OracleAccount {
    /// Its address.
    pub address: Address,
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Code (empty for none).
    pub code: Vec<u8>,
    /// Storage slots.
    pub storage: Vec<(U256, U256)>,
}

impl OracleAccount {
    /// The oracle's view of one of nestedvm's pre-state accounts.
    pub fn from_account(address: Address, account: &nestedvm::Account) -> Self {
        OracleAccount {
            address,
            balance: account.balance,
            nonce: account.nonce,
            code: account.code.to_vec(),
            storage: account.storage().into_iter().collect(),
        }
    }
}

/// Block and transaction environment of an oracle run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleEnv {
    /// Block number.
    pub number: u64,
    /// Block timestamp.
    pub timestamp: u64,
    /// Block beneficiary.
    pub coinbase: Address,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Base fee.
    pub basefee: u64,
    /// PREVRANDAO.
    pub prevrandao: U256,
    /// The blob gas price: BLOBBASEFEE returns exactly this.
    pub blob_base_fee: u128,
    /// Chain id.
    pub chain_id: u64,
    /// Gas price of the transaction.
    pub gas_price: u128,
    /// Origin, the caller of the top frame.
    pub origin: Address,
}

/// A message call ready for revm: its pre-state, configuration, block and transaction. The
/// oracles run it once under an inspector; the benchmarks build revm's EVM from it once and
/// time the transaction alone.
pub struct PreparedCall {
    /// The pre-state.
    pub db: CacheDB<EmptyDB>,
    /// The chain configuration (fee, gas-limit and nonce checks off, see [`message_call_cfg`]).
    pub cfg: CfgEnv,
    /// The block.
    pub block: BlockEnv,
    /// The transaction.
    pub tx: TxEnv,
}

/// The default executing account (`0x…c0de`).
pub const DEFAULT_ADDRESS: u64 = 0xc0de;
/// The default origin (`0x…ca11`).
pub const DEFAULT_ORIGIN: u64 = 0xca11;
/// The default coinbase (`0x…c014`).
pub const DEFAULT_COINBASE: u64 = 0xc014;

/// `0x000…00XXXX`.
pub fn addr_low(v: u64) -> Address {
    Address::from_low_u64_be(v)
}

/// 10^24: the origin's balance when the pre-state does not give one.
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

impl OracleEnv {
    /// The oracle's view of nestedvm's environment, with `origin` as the transaction's sender.
    pub fn from_env(env: &nestedvm::Env, origin: Address) -> Self {
        OracleEnv {
            number: env.number,
            timestamp: env.timestamp,
            coinbase: env.coinbase,
            gas_limit: env.gas_limit,
            basefee: env.basefee.low_u64(),
            prevrandao: env.prevrandao,
            blob_base_fee: env.blob_base_fee.low_u128(),
            chain_id: env.chain_id,
            gas_price: env.gas_price.low_u128(),
            origin,
        }
    }
}

/// A log as an oracle reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleLog {
    /// Emitting account.
    pub address: Address,
    /// Topics as numbers.
    pub topics: Vec<U256>,
    /// Data.
    pub data: Vec<u8>,
}

/// revm's address of ours.
pub fn to_addr(a: Address) -> RAddress {
    RAddress::from(a.0)
}

/// Our address of revm's.
pub fn from_addr(a: RAddress) -> Address {
    Address(a.into_array())
}

/// revm's number of ours.
pub fn to_ru(v: U256) -> RU256 {
    RU256::from_be_bytes(v.to_big_endian())
}

/// Our number of revm's.
pub fn from_ru(v: RU256) -> U256 {
    U256::from_big_endian(&v.to_be_bytes::<32>())
}

/// A number as a revm 32-byte word.
pub fn to_b256(v: U256) -> RB256 {
    RB256::from(v.to_big_endian())
}

/// revm's spec of a fork.
pub fn spec_of(fork: Fork) -> SpecId {
    match fork {
        Fork::Shanghai => SpecId::SHANGHAI,
        Fork::Cancun => SpecId::CANCUN,
        Fork::Prague => SpecId::PRAGUE,
        Fork::Osaka => SpecId::OSAKA,
    }
}

/// Code as revm holds it.
pub fn bytecode_of(code: &[u8]) -> Bytecode {
    let raw = Bytes::copy_from_slice(code);
    // A malformed 0xEF01 (EIP-7702 marker) prefix makes `new_raw` panic: keep such code legacy.
    Bytecode::new_raw_checked(raw.clone()).unwrap_or_else(|_| Bytecode::new_legacy(raw))
}

/// Intrinsic gas of a legacy call transaction carrying `calldata` at `fork`, by revm's own
/// rules: (initial regular gas, EIP-7623 floor).
pub fn intrinsic_gas(fork: Fork, calldata: &[u8]) -> (u64, u64) {
    let gp = GasParams::new_spec(spec_of(fork));
    let g = gp.initial_tx_gas(calldata, false, 0, 0, 0, None);
    (g.initial_regular_gas(), g.floor_gas())
}

/// The configuration that makes revm run a transaction as `run` runs a message call: no fee
/// charged, no block gas limit or EIP-7825 cap, no calldata floor, base fee unchecked (prices
/// kept), no nonce check, origin may have code.
pub fn message_call_cfg(spec: SpecId, env: &OracleEnv) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(spec);
    cfg.chain_id = env.chain_id;
    cfg.tx_gas_limit_cap = Some(u64::MAX);
    cfg.disable_nonce_check = true;
    cfg.disable_fee_charge = true;
    cfg.disable_block_gas_limit = true;
    cfg.disable_eip7623 = true;
    cfg.disable_base_fee = true;
    cfg.disable_eip3607 = true;
    cfg
}

/// A legacy transaction from `env.origin` calling `to` with `value` and `data`, its gas limit
/// `frame_gas` plus the intrinsic gas of `data` at `fork`.
pub fn call_tx(
    fork: Fork,
    env: &OracleEnv,
    to: Address,
    value: U256,
    data: &[u8],
    frame_gas: u64,
) -> TxEnv {
    let (intrinsic, _floor) = intrinsic_gas(fork, data);
    TxEnv {
        tx_type: 0,
        caller: to_addr(env.origin),
        gas_limit: frame_gas.saturating_add(intrinsic),
        gas_price: env.gas_price,
        kind: TxKind::Call(to_addr(to)),
        value: to_ru(value),
        data: Bytes::copy_from_slice(data),
        nonce: 0,
        chain_id: Some(env.chain_id),
        ..TxEnv::default()
    }
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
pub fn storage_of(db: &CacheDB<EmptyDB>, address: Address) -> BTreeMap<U256, U256> {
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

/// The logs of a successful transaction (none otherwise).
pub fn logs_of(result: &ExecutionResult) -> Vec<OracleLog> {
    match result {
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
    }
}

/// What an oracle says the frame it watches gave: the top frame for revm, the hypervisor's
/// frame for the on-chain hypervisor. [`crate::observed::Observed::from_oracle_outcome`] puts
/// it in the shape of nestedvm's results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleOutcome {
    /// How the frame ended (revm's classification of its result; any exceptional halt,
    /// out of gas included, is [`Status::Halt`]).
    pub status: Status,
    /// The frame's return data.
    pub output: Vec<u8>,
    /// The frame's gas limit minus its remaining gas (before refunds); all of it for a halt.
    pub gas_used: u64,
    /// The frame's refund counter (0 unless success).
    pub gas_refund: i64,
    /// The transaction's logs (empty unless it succeeded).
    pub logs: Vec<OracleLog>,
    /// Non-zero storage of the executing account after the call, as committed.
    pub storage: BTreeMap<U256, U256>,
    /// Post balance of every touched account, sorted by address.
    pub balances: Vec<(Address, U256)>,
    /// The gas limit the frame was given, as seen by the inspector.
    pub frame_gas_limit: u64,
}

/// The outcome of a transaction whose watched frame ended with `frame` after being given
/// `frame_gas_limit`: its figures, the transaction's logs and touched balances, and the
/// storage of `account` once `state` is committed to `db`.
pub fn outcome_of(
    frame: &CallOutcome,
    frame_gas_limit: u64,
    result: &ExecutionResult,
    state: EvmState,
    db: &mut CacheDB<EmptyDB>,
    account: Address,
) -> OracleOutcome {
    let (status, gas_used, gas_refund, output) = frame_figures(frame);
    let mut balances: Vec<(Address, U256)> = state
        .iter()
        .filter(|(_, a)| a.is_touched())
        .map(|(addr, a)| (from_addr(*addr), from_ru(a.info.balance)))
        .collect();
    balances.sort();
    db.commit(state);
    OracleOutcome {
        status,
        output,
        gas_used,
        gas_refund,
        logs: logs_of(result),
        storage: storage_of(db, account),
        balances,
        frame_gas_limit,
    }
}

/// A frame's status, gas used, refund and output as `run` reports them.
///
/// revm 43 settles a frame's gas in the parent, after the inspector's `call_end`: an
/// exceptional halt other than out-of-gas still shows its remaining gas there, and a revert
/// or halt still shows its refund counter. This applies the settlement.
pub fn frame_figures(outcome: &CallOutcome) -> (Status, u64, i64, Vec<u8>) {
    let ir = &outcome.result;
    let status = if ir.result.is_ok() {
        Status::Success
    } else if ir.result.is_revert() {
        Status::Revert
    } else {
        Status::Halt
    };
    let gas_used = if status == Status::Halt {
        ir.gas.limit()
    } else {
        ir.gas.limit() - ir.gas.remaining()
    };
    let gas_refund = if status == Status::Success {
        ir.gas.refunded()
    } else {
        0
    };
    (status, gas_used, gas_refund, ir.output.to_vec())
}
