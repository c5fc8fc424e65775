//! revm 43 applying a state-test vector's whole transaction, as a block would: revm's own
//! mainnet handler at the vector's fork, with none of the switches that make the message-call
//! oracle ([`super::revm`]) skip fees, nonces or the calldata floor. Validation, intrinsic
//! gas, access lists, fees, nonce and value, creations, EIP-7702 authorizations and the
//! EIP-7623 floor are all revm's. The traced run is the reference of our transaction traces
//! (`statetest --trace`, [`crate::statetest::Vector::trace`]).
//!
//! Everything revm is given is read from the test's own types
//! ([`crate::statetest::fixture`]), not from the transaction our runner builds, so that a
//! mistake of ours in reading a test shows as a difference rather than being shared. Only
//! the sender's address is ours when the test gives a secret key: revm has no key to address.

use super::{bytecode_of, spec_of, to_addr, to_b256, to_ru};
use crate::statetest::fixture::{Quantity, TestCase};
use crate::statetest::{sender_of, Vector};
use nestedvm::{Address, Fork, Status, U256};
use revm::{
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::{
        block::BlobExcessGasAndPrice,
        result::{EVMError, ExecutionResult},
        transaction::{AccessList, AccessListItem, Authorization, SignedAuthorization},
    },
    database::{CacheDB, EmptyDB},
    inspector::inspectors::TracerEip3155,
    primitives::{hardfork::SpecId, Bytes, TxKind},
    state::AccountInfo,
    Context, InspectEvm, MainBuilder, MainContext,
};
use std::io::Write;

/// How revm ended a transaction it applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevmReceipt {
    /// How the top frame ended (any exceptional halt is [`Status::Halt`]).
    pub status: Status,
    /// Gas charged: after the refund, at least the EIP-7623 floor (revm's `tx_gas_used`).
    pub gas_used: u64,
    /// The return or revert data of a call (empty for a creation and for a halt).
    pub output: Vec<u8>,
    /// The created contract, for a successful creation.
    pub created: Option<Address>,
}

/// Applies `vector`'s transaction in revm under its EIP-3155 tracer, which writes its steps
/// and its summary line to `out` (nothing for a rejected transaction). `Ok(Err(why))` when
/// revm rejects the transaction (then nothing changed); `Err` when revm cannot be given the
/// vector (an index out of range, no sender or gas price) or fails otherwise.
pub fn run_vector_traced(
    vector: &Vector<'_>,
    out: impl Write + 'static,
) -> Result<Result<RevmReceipt, String>, String> {
    let spec = spec_of(vector.fork);
    let db = pre_state(vector.case)?;
    let tx = tx_env(vector)?;
    // Every check of a real chain stays on: only the chain id is the tests' own.
    let mut cfg = CfgEnv::new_with_spec(spec);
    cfg.chain_id = CHAIN_ID;
    let ctx = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block_env(vector.case, vector.fork, spec));
    // Buffered: revm writes each line in many small pieces.
    let mut evm = ctx.build_mainnet_with_inspector(TracerEip3155::buffered(out));
    let result = match evm.inspect_tx(tx) {
        Ok(result) => result.result,
        Err(EVMError::Transaction(e)) => return Ok(Err(e.to_string())),
        Err(e) => {
            return Err(format!(
                "oracle: revm could not apply the transaction: {e:?}"
            ))
        }
    };
    let status = match &result {
        ExecutionResult::Success { .. } => Status::Success,
        ExecutionResult::Revert { .. } => Status::Revert,
        ExecutionResult::Halt { .. } => Status::Halt,
    };
    // revm's output of a creation is the deployed code; a receipt has none.
    let output = match (&tx_kind(vector), result.output()) {
        (TxKind::Call(_), Some(data)) => data.to_vec(),
        _ => Vec::new(),
    };
    Ok(Ok(RevmReceipt {
        status,
        gas_used: result.tx_gas_used(),
        output,
        created: result.created_address().map(|a| Address(a.into_array())),
    }))
}

/// The chain id of the state tests.
const CHAIN_ID: u64 = 1;

/// A quantity revm holds in 64 bits, saturating as our runner does (a value past 2^64 is
/// refused either way: no block has that much gas, no sender a nonce that high).
fn u64_of(q: Quantity) -> u64 {
    q.saturating_u64()
}

/// A price revm holds in 128 bits, saturating: no sender can pay 2^128 wei a gas.
fn u128_of(q: Quantity) -> u128 {
    u128::try_from(q.0).unwrap_or(u128::MAX)
}

/// The pre-state as revm's database.
fn pre_state(case: &TestCase) -> Result<CacheDB<EmptyDB>, String> {
    let mut db = CacheDB::<EmptyDB>::default();
    for (address, account) in &case.pre {
        let address = to_addr(address.0);
        let mut info = AccountInfo::default()
            .with_balance(to_ru(account.balance.0))
            .with_nonce(u64_of(account.nonce));
        if !account.code.0.is_empty() {
            info = info.with_code(bytecode_of(&account.code.0));
        }
        db.insert_account_info(address, info);
        for (key, value) in &account.storage {
            if !value.0.is_zero() {
                db.insert_account_storage(address, to_ru(key.0), to_ru(value.0))
                    .map_err(|e| format!("oracle: {e:?}"))?;
            }
        }
    }
    Ok(db)
}

/// The block of a test at `fork`.
fn block_env(case: &TestCase, fork: Fork, spec: SpecId) -> BlockEnv {
    let env = &case.env;
    // Tests filled before the merge give a difficulty, which PREVRANDAO replaced.
    let random = env
        .current_random
        .or(env.current_difficulty)
        .map_or(U256::zero(), |q| q.0);
    BlockEnv {
        number: to_ru(env.current_number.0),
        beneficiary: to_addr(env.current_coinbase.0),
        timestamp: to_ru(env.current_timestamp.0),
        gas_limit: u64_of(env.current_gas_limit),
        basefee: env.current_base_fee.map_or(0, u64_of),
        difficulty: env
            .current_difficulty
            .map_or(Default::default(), |q| to_ru(q.0)),
        prevrandao: Some(to_b256(random)),
        // The blob gas price follows from the excess by revm's own schedule of the fork.
        blob_excess_gas_and_price: (fork >= Fork::Cancun).then(|| {
            let excess = env.current_excess_blob_gas.map_or(0, u64_of);
            BlobExcessGasAndPrice::new_with_spec(excess, spec)
        }),
        ..BlockEnv::default()
    }
}

/// The called account, or a creation.
fn tx_kind(vector: &Vector<'_>) -> TxKind {
    match vector.case.transaction.to {
        Some(to) => TxKind::Call(to_addr(to.0)),
        None => TxKind::Create,
    }
}

/// The transaction variant `vector.entry` names, its type told by the fields the test gives,
/// as the signed transaction it stands for would have it.
fn tx_env(vector: &Vector<'_>) -> Result<TxEnv, String> {
    let t = &vector.case.transaction;
    let ix = vector.entry.indexes;
    let pick = |what: &str, list: &[Quantity], i: usize| {
        list.get(i)
            .copied()
            .ok_or_else(|| format!("{what} index {i} out of range"))
    };
    let data = t
        .data
        .get(ix.data)
        .ok_or_else(|| format!("data index {} out of range", ix.data))?;
    let access_list = t
        .access_lists
        .as_ref()
        .and_then(|lists| lists.get(ix.data).cloned().flatten());
    let (gas_price, gas_priority_fee) = match (t.gas_price, t.max_fee_per_gas) {
        (Some(price), _) => (u128_of(price), None),
        (None, Some(max_fee)) => (
            u128_of(max_fee),
            Some(t.max_priority_fee_per_gas.map_or(0, u128_of)),
        ),
        (None, None) => return Err("neither gasPrice nor maxFeePerGas".into()),
    };
    let tx_type = if t.authorization_list.is_some() {
        4
    } else if t.max_fee_per_blob_gas.is_some() || !t.blob_versioned_hashes.is_empty() {
        3
    } else if gas_priority_fee.is_some() {
        2
    } else if access_list.is_some() {
        1
    } else {
        0
    };
    let mut tx = TxEnv {
        tx_type,
        caller: to_addr(sender_of(t)?),
        gas_limit: u64_of(pick("gas", &t.gas_limit, ix.gas)?),
        gas_price,
        kind: tx_kind(vector),
        value: to_ru(pick("value", &t.value, ix.value)?.0),
        data: Bytes::copy_from_slice(&data.0),
        nonce: u64_of(t.nonce),
        chain_id: Some(CHAIN_ID),
        access_list: AccessList(
            access_list
                .unwrap_or_default()
                .iter()
                .map(|item| AccessListItem {
                    address: to_addr(item.address.0),
                    storage_keys: item.storage_keys.iter().map(|k| to_b256(k.0)).collect(),
                })
                .collect(),
        ),
        gas_priority_fee,
        blob_hashes: t
            .blob_versioned_hashes
            .iter()
            .map(|h| to_b256(h.0))
            .collect(),
        max_fee_per_blob_gas: t.max_fee_per_blob_gas.map_or(0, u128_of),
        ..TxEnv::default()
    };
    // revm recovers each authority from the signature itself.
    let authorizations = t.authorization_list.iter().flatten().map(|a| {
        // A parity past a byte is invalid, as 2 is: never one that truncation makes valid.
        let parity = a.y_parity.or(a.v).map_or(U256::zero(), |q| q.0);
        let parity = u8::try_from(parity).unwrap_or(u8::MAX);
        SignedAuthorization::new_unchecked(
            Authorization {
                chain_id: to_ru(a.chain_id.0),
                address: to_addr(a.address.0),
                nonce: u64_of(a.nonce),
            },
            parity,
            to_ru(a.r.0),
            to_ru(a.s.0),
        )
    });
    tx.set_signed_authorization(authorizations.collect());
    Ok(tx)
}
