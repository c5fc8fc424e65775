//! A mined transaction around the message call: validation (nonce, balance, fee caps, gas
//! limits, init code, blob and set-code rules), intrinsic gas (with Prague's EIP-7623
//! calldata floor), buying gas up front, access-list warming, EIP-7702 authorizations, the
//! refund cap, paying the priority fee to the coinbase and removing touched empty accounts.
//!
//! `run` simulates one message call with none of this; [`Vm::transact`] applies it all, as a
//! block would.

use crate::authorization::{apply_authorizations, Authorization, PER_EMPTY_ACCOUNT_COST};
use crate::engine::{Engine, JitConfig};
use crate::executor::{ExecConfig, Executor, Message};
use crate::precompiles::PrecompileSet;
use crate::run::Vm;
use crate::trace::Tracer;
use crate::world::{delegation_target, World};
use nestedvm_interp::{
    Address, CallInputs, CallKind, CreateInputs, CreateKind, Deadline, Env, Fork, Log, Status,
    MAX_INITCODE_SIZE, U256,
};
use std::fmt;

/// Gas every transaction pays.
pub const TX_BASE_GAS: u64 = 21_000;
/// Extra gas of a contract-creation transaction.
pub const TX_CREATE_GAS: u64 = 32_000;
/// Call data gas per zero byte.
pub const TX_DATA_ZERO_GAS: u64 = 4;
/// Call data gas per non-zero byte.
pub const TX_DATA_NON_ZERO_GAS: u64 = 16;
/// Gas per 32-byte word of a creation's init code (EIP-3860).
pub const INITCODE_WORD_GAS: u64 = 2;
/// Gas per access-list address (EIP-2930).
pub const ACCESS_LIST_ADDRESS_GAS: u64 = 2_400;
/// Gas per access-list storage key (EIP-2930).
pub const ACCESS_LIST_STORAGE_KEY_GAS: u64 = 1_900;
/// Gas per call data token of the EIP-7623 floor (Prague).
pub const FLOOR_GAS_PER_TOKEN: u64 = 10;
/// The most gas one transaction may have from Osaka on (EIP-7825).
pub const OSAKA_TX_GAS_LIMIT_CAP: u64 = 1 << 24;
/// Blob gas per blob (EIP-4844).
pub const GAS_PER_BLOB: u64 = 1 << 17;
/// The version byte of a KZG versioned blob hash.
pub const BLOB_HASH_VERSION_KZG: u8 = 0x01;
/// The refund is capped at the gas used divided by this (EIP-3529, since London).
pub const REFUND_QUOTIENT: u64 = 5;

/// What the sender pays per gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GasPrice {
    /// A fixed price (legacy and EIP-2930 transactions).
    Legacy(U256),
    /// EIP-1559: a cap on the total price and on the priority fee above the base fee.
    Dynamic {
        /// `maxFeePerGas`.
        max_fee: U256,
        /// `maxPriorityFeePerGas`.
        max_priority_fee: U256,
    },
}

impl GasPrice {
    /// The most the sender may pay per gas (what the balance check uses).
    pub fn cap(self) -> U256 {
        match self {
            GasPrice::Legacy(p) => p,
            GasPrice::Dynamic { max_fee, .. } => max_fee,
        }
    }

    /// The price actually paid under `basefee` (validated: the cap is at least `basefee`).
    pub fn effective(self, basefee: U256) -> U256 {
        match self {
            GasPrice::Legacy(p) => p,
            GasPrice::Dynamic {
                max_fee,
                max_priority_fee,
            } => max_fee.min(basefee.saturating_add(max_priority_fee)),
        }
    }
}

/// A transaction, signature already checked (the sender is given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// The sender (origin).
    pub sender: Address,
    /// The called account, or `None` for a contract creation.
    pub to: Option<Address>,
    /// Value sent.
    pub value: U256,
    /// Call data, or the init code of a creation.
    pub data: Vec<u8>,
    /// Gas limit.
    pub gas_limit: u64,
    /// The sender's nonce it claims.
    pub nonce: u64,
    /// Price per gas.
    pub gas_price: GasPrice,
    /// EIP-2930 access list: addresses and their storage keys, warm from the start.
    pub access_list: Vec<(Address, Vec<U256>)>,
    /// EIP-4844 versioned blob hashes (empty: not a blob transaction).
    pub blob_hashes: Vec<U256>,
    /// EIP-4844 cap on the blob gas price.
    pub max_fee_per_blob_gas: U256,
    /// EIP-7702 authorizations: `Some` makes it a set-code transaction (Prague on), which
    /// must be a call and list at least one.
    pub authorization_list: Option<Vec<Authorization>>,
}

impl Transaction {
    /// A legacy call from `sender` to `to` paying `gas_price`, nonce 0, no value or data.
    pub fn call(sender: Address, to: Address, gas_limit: u64, gas_price: U256) -> Self {
        Transaction {
            sender,
            to: Some(to),
            value: U256::zero(),
            data: Vec::new(),
            gas_limit,
            nonce: 0,
            gas_price: GasPrice::Legacy(gas_price),
            access_list: Vec::new(),
            blob_hashes: Vec::new(),
            max_fee_per_blob_gas: U256::zero(),
            authorization_list: None,
        }
    }

    /// Blob gas the transaction uses.
    pub fn blob_gas(&self) -> u64 {
        self.blob_hashes.len() as u64 * GAS_PER_BLOB
    }
}

/// The block a transaction is mined in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Its chain id, number, timestamp, gas limit (no transaction may ask for more),
    /// coinbase, base fee and PREVRANDAO. The transaction's own fields (origin, gas price,
    /// blob hashes) and the blob base fee are set by [`Vm::transact`].
    pub env: Env,
    /// Excess blob gas, from which the blob gas price follows (Cancun on).
    pub excess_blob_gas: u64,
}

/// The blob schedule of a fork: (most blobs per transaction, base fee update fraction).
fn blob_params(fork: Fork) -> (usize, u64) {
    match fork {
        Fork::Shanghai | Fork::Cancun => (6, 3_338_477),
        Fork::Prague => (9, 5_007_716),
        // EIP-7594 caps a transaction at 6 blobs; the block schedule is Prague's.
        Fork::Osaka => (6, 5_007_716),
    }
}

/// The blob gas price for `excess_blob_gas` under `fork`'s update fraction (EIP-4844:
/// `fake_exponential(1, excess, fraction)`), saturating at `U256::MAX`.
pub fn blob_gas_price(fork: Fork, excess_blob_gas: u64) -> U256 {
    let denominator = U256::from(blob_params(fork).1);
    let numerator = U256::from(excess_blob_gas);
    let mut output = U256::zero();
    let mut term = denominator;
    let mut i = 1u64;
    while !term.is_zero() {
        output = output.saturating_add(term);
        let Some(next) = term.checked_mul(numerator) else {
            return U256::MAX;
        };
        term = next / (denominator * U256::from(i));
        i += 1;
    }
    output / denominator
}

/// Intrinsic gas: what a transaction costs before its first instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntrinsicGas {
    /// Charged up front: base, call data, creation, init code words, access list.
    pub initial: u64,
    /// The least gas the transaction is charged in the end (EIP-7623, Prague on; 0 before).
    pub floor: u64,
}

/// The intrinsic gas of `tx` at `fork`.
pub fn intrinsic_gas(fork: Fork, tx: &Transaction) -> IntrinsicGas {
    let zeros = tx.data.iter().filter(|b| **b == 0).count() as u64;
    let non_zeros = tx.data.len() as u64 - zeros;
    let mut initial = TX_BASE_GAS + zeros * TX_DATA_ZERO_GAS + non_zeros * TX_DATA_NON_ZERO_GAS;
    if tx.to.is_none() {
        initial += TX_CREATE_GAS + (tx.data.len() as u64).div_ceil(32) * INITCODE_WORD_GAS;
    }
    for (_, keys) in &tx.access_list {
        initial += ACCESS_LIST_ADDRESS_GAS + keys.len() as u64 * ACCESS_LIST_STORAGE_KEY_GAS;
    }
    let authorizations = tx.authorization_list.as_ref().map_or(0, Vec::len);
    initial += authorizations as u64 * PER_EMPTY_ACCOUNT_COST;
    let floor = if fork >= Fork::Prague {
        // A non-zero byte is four tokens, as its gas is four times a zero byte's.
        let tokens = zeros + non_zeros * (TX_DATA_NON_ZERO_GAS / TX_DATA_ZERO_GAS);
        TX_BASE_GAS + tokens * FLOOR_GAS_PER_TOKEN
    } else {
        0
    };
    IntrinsicGas { initial, floor }
}

/// Why a transaction cannot be included in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvalidTransaction {
    /// The nonce is not the sender's.
    NonceMismatch {
        /// The transaction's.
        tx: u64,
        /// The sender's.
        state: u64,
    },
    /// The sender's nonce is 2^64-1 and cannot be bumped (EIP-2681).
    NonceIsMax,
    /// The sender cannot pay gas limit × fee cap + value (+ blob fees).
    InsufficientFunds {
        /// What it must hold.
        needed: U256,
        /// What it holds.
        balance: U256,
    },
    /// The fee cap is below the block's base fee.
    FeeCapBelowBaseFee,
    /// The priority fee cap is above the fee cap.
    PriorityFeeAboveFeeCap,
    /// The gas limit does not cover the intrinsic gas (or the EIP-7623 floor).
    IntrinsicGasTooLow {
        /// The least gas limit that would do.
        needed: u64,
        /// The transaction's.
        limit: u64,
    },
    /// The gas limit is above the block's.
    GasLimitAboveBlock,
    /// The gas limit is above the EIP-7825 cap (Osaka).
    GasLimitAboveCap,
    /// The creation's init code is longer than EIP-3860 allows.
    InitcodeTooLarge(usize),
    /// The sender has code other than an EIP-7702 delegation (EIP-3607).
    SenderHasCode,
    /// A blob transaction before Cancun.
    BlobsBeforeCancun,
    /// A blob transaction without blobs or with more than the fork allows.
    BadBlobCount(usize),
    /// A blob transaction creating a contract.
    BlobCreate,
    /// A blob hash without the KZG version byte.
    BadBlobVersion,
    /// The blob fee cap is below the blob gas price.
    BlobFeeCapTooLow,
    /// A set-code transaction before Prague.
    SetCodeBeforePrague,
    /// A set-code transaction creating a contract.
    SetCodeCreate,
    /// A set-code transaction without authorizations.
    EmptyAuthorizationList,
}

impl fmt::Display for InvalidTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonceMismatch { tx, state } => {
                write!(f, "nonce {tx} is not the sender's nonce {state}")
            }
            Self::NonceIsMax => f.write_str("the sender's nonce is at its maximum"),
            Self::InsufficientFunds { needed, balance } => {
                write!(f, "sender balance {balance} below the {needed} needed")
            }
            Self::FeeCapBelowBaseFee => f.write_str("fee cap below the base fee"),
            Self::PriorityFeeAboveFeeCap => f.write_str("priority fee above the fee cap"),
            Self::IntrinsicGasTooLow { needed, limit } => {
                write!(f, "gas limit {limit} below the intrinsic gas {needed}")
            }
            Self::GasLimitAboveBlock => f.write_str("gas limit above the block's"),
            Self::GasLimitAboveCap => f.write_str("gas limit above the 2^24 cap"),
            Self::InitcodeTooLarge(n) => {
                write!(f, "init code of {n} bytes is over {MAX_INITCODE_SIZE}")
            }
            Self::SenderHasCode => f.write_str("the sender has code"),
            Self::BlobsBeforeCancun => f.write_str("blob transaction before cancun"),
            Self::BadBlobCount(n) => write!(f, "{n} blobs is not an allowed count"),
            Self::BlobCreate => f.write_str("blob transaction creating a contract"),
            Self::BadBlobVersion => f.write_str("blob hash with a version other than 0x01"),
            Self::BlobFeeCapTooLow => f.write_str("blob fee cap below the blob gas price"),
            Self::SetCodeBeforePrague => f.write_str("set-code transaction before prague"),
            Self::SetCodeCreate => f.write_str("set-code transaction creating a contract"),
            Self::EmptyAuthorizationList => {
                f.write_str("set-code transaction without authorizations")
            }
        }
    }
}

impl std::error::Error for InvalidTransaction {}

/// Why [`Vm::transact`] did not apply a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxError {
    /// The transaction is invalid: nothing changed.
    Invalid(InvalidTransaction),
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::Invalid(e) => write!(f, "invalid transaction: {e}"),
        }
    }
}

impl std::error::Error for TxError {}

impl From<InvalidTransaction> for TxError {
    fn from(e: InvalidTransaction) -> Self {
        TxError::Invalid(e)
    }
}

/// What an applied transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// How the message ended.
    pub status: Status,
    /// Gas charged: after the refund, at least the EIP-7623 floor.
    pub gas_used: u64,
    /// Logs (empty unless success).
    pub logs: Vec<Log>,
    /// Return or revert data of a call (empty for a creation).
    pub output: Vec<u8>,
    /// The created contract, for a successful creation.
    pub created: Option<Address>,
}

/// Checks `tx` against the state and block, as a block builder would before running it.
pub fn validate(
    world: &World,
    fork: Fork,
    block: &Block,
    tx: &Transaction,
) -> Result<(), InvalidTransaction> {
    if let GasPrice::Dynamic {
        max_fee,
        max_priority_fee,
    } = tx.gas_price
    {
        if max_priority_fee > max_fee {
            return Err(InvalidTransaction::PriorityFeeAboveFeeCap);
        }
    }
    if tx.gas_price.cap() < block.env.basefee {
        return Err(InvalidTransaction::FeeCapBelowBaseFee);
    }
    let is_blob = !tx.blob_hashes.is_empty() || !tx.max_fee_per_blob_gas.is_zero();
    if is_blob {
        if fork < Fork::Cancun {
            return Err(InvalidTransaction::BlobsBeforeCancun);
        }
        if tx.to.is_none() {
            return Err(InvalidTransaction::BlobCreate);
        }
        let n = tx.blob_hashes.len();
        if n == 0 || n > blob_params(fork).0 {
            return Err(InvalidTransaction::BadBlobCount(n));
        }
        if tx
            .blob_hashes
            .iter()
            .any(|h| h.to_big_endian()[0] != BLOB_HASH_VERSION_KZG)
        {
            return Err(InvalidTransaction::BadBlobVersion);
        }
        if tx.max_fee_per_blob_gas < blob_gas_price(fork, block.excess_blob_gas) {
            return Err(InvalidTransaction::BlobFeeCapTooLow);
        }
    }
    if let Some(list) = &tx.authorization_list {
        if fork < Fork::Prague {
            return Err(InvalidTransaction::SetCodeBeforePrague);
        }
        if tx.to.is_none() {
            return Err(InvalidTransaction::SetCodeCreate);
        }
        if list.is_empty() {
            return Err(InvalidTransaction::EmptyAuthorizationList);
        }
    }
    if fork >= Fork::Osaka && tx.gas_limit > OSAKA_TX_GAS_LIMIT_CAP {
        return Err(InvalidTransaction::GasLimitAboveCap);
    }
    if tx.gas_limit > block.env.gas_limit {
        return Err(InvalidTransaction::GasLimitAboveBlock);
    }
    if tx.to.is_none() && tx.data.len() > MAX_INITCODE_SIZE {
        return Err(InvalidTransaction::InitcodeTooLarge(tx.data.len()));
    }
    let intrinsic = intrinsic_gas(fork, tx);
    let needed = intrinsic.initial.max(intrinsic.floor);
    if tx.gas_limit < needed {
        return Err(InvalidTransaction::IntrinsicGasTooLow {
            needed,
            limit: tx.gas_limit,
        });
    }
    let sender = world.account(&tx.sender);
    if sender.is_some_and(|a| !a.code.is_empty() && delegation_target(&a.code).is_none()) {
        return Err(InvalidTransaction::SenderHasCode);
    }
    let nonce = world.nonce_of(&tx.sender);
    if nonce == u64::MAX {
        return Err(InvalidTransaction::NonceIsMax);
    }
    if tx.nonce != nonce {
        return Err(InvalidTransaction::NonceMismatch {
            tx: tx.nonce,
            state: nonce,
        });
    }
    let balance = world.balance_of(&tx.sender);
    let needed = max_cost(tx).filter(|needed| *needed <= balance);
    match needed {
        Some(_) => Ok(()),
        None => Err(InvalidTransaction::InsufficientFunds {
            needed: max_cost(tx).unwrap_or(U256::MAX),
            balance,
        }),
    }
}

/// The most the transaction can cost the sender: gas limit × fee cap, value and the blob fee
/// cap; `None` past 2^256.
fn max_cost(tx: &Transaction) -> Option<U256> {
    let gas = U256::from(tx.gas_limit).checked_mul(tx.gas_price.cap())?;
    let blobs = U256::from(tx.blob_gas()).checked_mul(tx.max_fee_per_blob_gas)?;
    gas.checked_add(tx.value)?.checked_add(blobs)
}

/// The environment instructions see while `tx` runs in `block`.
fn env_of(fork: Fork, block: &Block, tx: &Transaction) -> Env {
    Env {
        blob_base_fee: blob_gas_price(fork, block.excess_blob_gas),
        origin: tx.sender,
        gas_price: tx.gas_price.effective(block.env.basefee),
        blob_hashes: tx.blob_hashes.clone(),
        ..block.env.clone()
    }
}

/// Takes the gas limit's price and the blob fee from the sender, bumps its nonce for a call,
/// and warms what a transaction starts with warm (EIP-2929 and EIP-2930).
fn buy_gas_and_warm(world: &mut World, fork: Fork, block: &Block, tx: &Transaction) {
    let price = world.env.gas_price;
    let blob_fee = U256::from(tx.blob_gas()) * world.env.blob_base_fee;
    // Validation bounded gas limit × fee cap + blob fee cap by the balance.
    let upfront = U256::from(tx.gas_limit) * price + blob_fee;
    let balance = world.balance_of(&tx.sender);
    world.set_balance(tx.sender, balance - upfront);
    if tx.to.is_some() {
        // A creation's nonce is bumped by the executor, as CREATE's is.
        world.set_nonce(tx.sender, tx.nonce + 1);
    }
    for a in PrecompileSet::for_fork(fork).addresses() {
        world.warm(a);
    }
    world.warm(tx.sender);
    world.warm(block.env.coinbase);
    if let Some(to) = tx.to {
        world.warm(to);
    }
    for (address, keys) in &tx.access_list {
        world.warm(*address);
        for key in keys {
            world.warm_slot(*address, *key);
        }
    }
}

/// The top-level message of `tx`, given `gas` after the intrinsic charge.
fn message_of(tx: &Transaction, gas: u64) -> Message {
    match tx.to {
        Some(to) => Message::Call(CallInputs {
            kind: CallKind::Call,
            code_address: to,
            address: to,
            caller: tx.sender,
            value: tx.value,
            transfers_value: true,
            input: tx.data.clone(),
            gas_limit: gas,
            is_static: false,
            depth: 0,
        }),
        None => Message::Create(CreateInputs {
            kind: CreateKind::Create,
            caller: tx.sender,
            value: tx.value,
            init_code: tx.data.clone(),
            gas_limit: gas,
            depth: 0,
        }),
    }
}

/// The gas `tx` is charged after its message spent `spent` with `refund` to give back:
/// refunds are capped at a fifth of what was spent (EIP-3529), and the calldata floor
/// (EIP-7623) is the least charged. The sender gets back the gas not charged and the
/// coinbase the priority fee of what was, paid (and so touched) even when zero.
fn settle(
    world: &mut World,
    block: &Block,
    tx: &Transaction,
    floor: u64,
    spent: u64,
    refund: u64,
) -> u64 {
    let price = world.env.gas_price;
    let gas_used = (spent - refund.min(spent / REFUND_QUOTIENT)).max(floor);
    let sender_balance = world.balance_of(&tx.sender);
    let returned = U256::from(tx.gas_limit - gas_used) * price;
    world.set_balance(tx.sender, sender_balance.saturating_add(returned));
    let coinbase = block.env.coinbase;
    let tip = U256::from(gas_used) * (price - block.env.basefee);
    let coinbase_balance = world.balance_of(&coinbase);
    world.set_balance(coinbase, coinbase_balance.saturating_add(tip));
    gas_used
}

impl Vm {
    /// Applies `tx` to `world` in the `evm` profile at `fork`, as a block would: validates it
    /// (an invalid transaction changes nothing), buys its gas, runs its message, refunds
    /// (capped at a fifth of the gas used), pays the coinbase its priority fee and removes
    /// touched empty accounts. The world has no hypervisor account here.
    pub fn transact(
        &mut self,
        world: &mut World,
        fork: Fork,
        engine: Engine,
        block: &Block,
        tx: &Transaction,
    ) -> Result<Receipt, TxError> {
        self.transact_with(world, fork, engine, block, tx, None)
    }

    /// [`Vm::transact`], reporting the message's steps and frames to `tracer` (an invalid
    /// transaction reports nothing). The message is interpreted, as every traced run is.
    pub fn transact_traced(
        &mut self,
        world: &mut World,
        fork: Fork,
        block: &Block,
        tx: &Transaction,
        tracer: &mut dyn Tracer,
    ) -> Result<Receipt, TxError> {
        self.transact_with(world, fork, Engine::Interpreter, block, tx, Some(tracer))
    }

    fn transact_with(
        &mut self,
        world: &mut World,
        fork: Fork,
        engine: Engine,
        block: &Block,
        tx: &Transaction,
        tracer: Option<&mut dyn Tracer>,
    ) -> Result<Receipt, TxError> {
        validate(world, fork, block, tx)?;
        let intrinsic = intrinsic_gas(fork, tx);
        world.env = env_of(fork, block, tx);
        world.fork = fork;
        world.begin_transaction();
        buy_gas_and_warm(world, fork, block, tx);
        // Delegations set here persist even if the message fails, and so does their refund.
        let authorization_refund = tx.authorization_list.as_deref().map_or(0, |list| {
            apply_authorizations(world, block.env.chain_id, list)
        });
        if let Some(delegate) = tx.to.and_then(|to| delegation_target(&world.code_of(&to))) {
            // The code the call runs is loaded, and so warmed, as revm does.
            world.warm(delegate);
        }
        let message = message_of(tx, tx.gas_limit - intrinsic.initial);
        let exec = ExecConfig {
            fork,
            verifier: false,
            hypervisor: None,
            engine,
            jit: JitConfig::default(),
            memory_limit: nestedvm_interp::memory::MEMORY_LIMIT,
            deadline: Deadline::NEVER,
        };
        let (codes, tables, jit) = self.executor_parts(fork, false);
        let mut executor = Executor::new(world, exec, codes, tables, jit);
        if let Some(tracer) = tracer {
            executor = executor.with_tracer(tracer);
        }
        let outcome = executor.run_message(message);
        let frame_refund = if outcome.status == Status::Success {
            u64::try_from(outcome.refund).unwrap_or(0)
        } else {
            0
        };
        let spent = tx.gas_limit - outcome.gas_remaining;
        let refund = frame_refund + authorization_refund;
        let gas_used = settle(world, block, tx, intrinsic.floor, spent, refund);
        let logs = world.take_logs();
        world.remove_touched_empty();
        world.end_transaction();
        Ok(Receipt {
            status: outcome.status,
            gas_used,
            logs,
            output: if tx.to.is_some() {
                outcome.output
            } else {
                Vec::new()
            },
            created: outcome.created,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_root::state_root;
    use crate::world::Account;
    use nestedvm_interp::asm::assemble;

    const SENDER: u64 = 0x5e;
    const TARGET: u64 = 0x7a;
    const COINBASE: u64 = 0xc014;

    fn addr(n: u64) -> Address {
        Address::from_low_u64_be(n)
    }

    fn block() -> Block {
        // The default environment: basefee 7, gas limit 30M, coinbase 0xc014.
        Block {
            env: Env::default(),
            excess_blob_gas: 0,
        }
    }

    /// A sender with 10^18 wei and a target running `code`, whose slots 0 and 1 hold 1.
    fn world(code: &str) -> World {
        let mut w = World::default();
        w.insert_account(addr(SENDER), Account::new(U256::exp10(18), 0, Vec::new()));
        let code = assemble(code).expect("assembles");
        let target = Account::new(U256::zero(), 1, code)
            .with_storage([(U256::zero(), U256::one()), (U256::one(), U256::one())]);
        w.insert_account(addr(TARGET), target);
        w
    }

    fn tx() -> Transaction {
        Transaction::call(addr(SENDER), addr(TARGET), 100_000, U256::from(10))
    }

    fn transact(w: &mut World, fork: Fork, tx: &Transaction) -> Result<Receipt, TxError> {
        Vm::new().transact(w, fork, Engine::Auto, &block(), tx)
    }

    #[test]
    fn intrinsic_gas_counts_data_creation_init_words_and_access_lists() {
        let mut t = tx();
        t.data = vec![0, 1, 2, 0];
        assert_eq!(
            intrinsic_gas(Fork::Cancun, &t).initial,
            21_000 + 2 * 4 + 2 * 16
        );
        assert_eq!(
            intrinsic_gas(Fork::Cancun, &t).floor,
            0,
            "no floor before prague"
        );
        // Prague's floor: a zero byte is 1 token, a non-zero byte 4, each 10 gas.
        assert_eq!(intrinsic_gas(Fork::Prague, &t).floor, 21_000 + 10 * 10);
        t.to = None;
        t.data = vec![1; 33];
        assert_eq!(
            intrinsic_gas(Fork::Shanghai, &t).initial,
            21_000 + 33 * 16 + 32_000 + 2 * 2
        );
        t = tx();
        t.access_list = vec![
            (addr(1), vec![U256::one(), U256::from(2)]),
            (addr(2), vec![U256::one()]),
        ];
        assert_eq!(
            intrinsic_gas(Fork::Cancun, &t).initial,
            21_000 + 2 * 2_400 + 3 * 1_900
        );
    }

    #[test]
    fn invalid_transactions_are_rejected_and_change_nothing() {
        type Change = fn(&mut Transaction, &mut World);
        let cases: [(&str, Change, Fork); 12] = [
            ("nonce", |t, _| t.nonce = 1, Fork::Cancun),
            (
                "nonce max",
                |t, w| w.set_nonce(t.sender, u64::MAX),
                Fork::Cancun,
            ),
            ("balance", |t, _| t.value = U256::exp10(18), Fork::Cancun),
            (
                "initcode",
                |t, _| {
                    t.to = None;
                    t.data = vec![0; MAX_INITCODE_SIZE + 1];
                    t.gas_limit = 1_000_000;
                },
                Fork::Cancun,
            ),
            (
                "fee cap",
                |t, _| t.gas_price = GasPrice::Legacy(U256::from(6)),
                Fork::Cancun,
            ),
            (
                "priority",
                |t, _| {
                    t.gas_price = GasPrice::Dynamic {
                        max_fee: U256::from(10),
                        max_priority_fee: U256::from(11),
                    }
                },
                Fork::Cancun,
            ),
            ("intrinsic", |t, _| t.gas_limit = 20_999, Fork::Cancun),
            (
                "floor",
                |t, _| {
                    t.data = vec![1; 100];
                    t.gas_limit = 24_999;
                },
                Fork::Prague,
            ),
            ("block limit", |t, _| t.gas_limit = 30_000_001, Fork::Cancun),
            ("osaka cap", |t, _| t.gas_limit = (1 << 24) + 1, Fork::Osaka),
            (
                "sender code",
                |t, w| w.set_code(t.sender, vec![0]),
                Fork::Cancun,
            ),
            (
                "blob fee cap",
                |t, _| {
                    t.blob_hashes = vec![U256::one() << 248];
                    t.max_fee_per_blob_gas = U256::zero();
                },
                Fork::Cancun,
            ),
        ];
        for (what, change, fork) in cases {
            let mut w = world("STOP");
            let mut t = tx();
            change(&mut t, &mut w);
            w.end_transaction();
            let before = state_root(&w);
            let got = transact(&mut w, fork, &t);
            assert!(matches!(got, Err(TxError::Invalid(_))), "{what}: {got:?}");
            assert_eq!(state_root(&w), before, "{what}: the state changed");
        }
        // The same transaction, unchanged, is valid; so is the floor one with enough gas.
        assert!(transact(&mut world("STOP"), Fork::Cancun, &tx()).is_ok());
        let mut t = tx();
        t.data = vec![1; 100];
        t.gas_limit = 25_000;
        assert!(transact(&mut world("STOP"), Fork::Prague, &t).is_ok());
    }

    #[test]
    fn gas_is_bought_refunded_and_the_priority_fee_paid_to_the_coinbase() {
        let mut w = world("STOP");
        let mut t = tx();
        t.gas_price = GasPrice::Dynamic {
            max_fee: U256::from(100),
            max_priority_fee: U256::from(3),
        };
        let r = transact(&mut w, Fork::Cancun, &t).expect("valid");
        assert_eq!(r.gas_used, 21_000);
        // Effective price: min(100, 7 + 3) = 10 per gas, 3 of it to the coinbase.
        assert_eq!(
            w.balance_of(&addr(SENDER)),
            U256::exp10(18) - U256::from(21_000 * 10)
        );
        assert_eq!(w.balance_of(&addr(COINBASE)), U256::from(21_000 * 3));
        assert_eq!(w.nonce_of(&addr(SENDER)), 1);
    }

    #[test]
    fn the_refund_is_capped_at_a_fifth_of_the_gas_used() {
        // One cleared slot: 4800 refund under the cap of (21000 + 5004) / 5.
        let mut w = world("PUSH0 PUSH0 SSTORE");
        let r = transact(&mut w, Fork::Cancun, &tx()).expect("valid");
        assert_eq!(r.gas_used, 26_004 - 4_800);
        // Two cleared slots: 9600 earned, capped at 31009 / 5.
        let mut w = world("PUSH0 PUSH0 SSTORE PUSH0 PUSH1 1 SSTORE");
        let r = transact(&mut w, Fork::Cancun, &tx()).expect("valid");
        assert_eq!(r.gas_used, 31_009 - 31_009 / 5);
        // Prague's floor wins over a refunded total below it.
        let mut t = tx();
        t.data = vec![1; 100];
        let mut w = world("STOP");
        let r = transact(&mut w, Fork::Prague, &t).expect("valid");
        assert_eq!(r.gas_used, 21_000 + 400 * 10);
    }

    #[test]
    fn a_creation_deploys_at_the_senders_nonce_address() {
        let mut w = world("STOP");
        let mut t = tx();
        t.to = None;
        // Init code returning the one-byte runtime 0x00.
        t.data = assemble("PUSH1 1 PUSH0 RETURN").expect("assembles");
        let r = transact(&mut w, Fork::Cancun, &t).expect("valid");
        let expected = crate::executor::create_address(&addr(SENDER), 0);
        assert_eq!(r.created, Some(expected));
        assert_eq!(w.code_of(&expected).len(), 1);
        assert_eq!(w.nonce_of(&expected), 1);
        assert_eq!(w.nonce_of(&addr(SENDER)), 1);
    }

    #[test]
    fn touched_empty_accounts_are_removed_untouched_ones_kept() {
        let empty = Account::new(U256::zero(), 0, Vec::new());
        let mut w = world("STOP");
        w.insert_account(addr(1), empty.clone());
        w.insert_account(addr(2), empty);
        // A call of zero value touches its target; the coinbase, paid nothing, is not created.
        let mut t = tx();
        t.to = Some(addr(1));
        t.gas_price = GasPrice::Legacy(U256::from(7));
        transact(&mut w, Fork::Cancun, &t).expect("valid");
        assert!(w.account(&addr(1)).is_none());
        assert!(w.account(&addr(2)).is_some());
        assert!(w.account(&addr(COINBASE)).is_none());
    }

    #[test]
    fn a_staticcall_touches_its_target() {
        // STATICCALL(gas, 0x01…, 0, 0, 0, 0) to an empty account: touched, so removed.
        let code = format!(
            "PUSH0 PUSH0 PUSH0 PUSH0 PUSH20 0x{} GAS STATICCALL",
            "01".repeat(20)
        );
        let mut w = world(&code);
        let empty = Address::from_slice(&[1; 20]);
        w.insert_account(empty, Account::default());
        transact(&mut w, Fork::Cancun, &tx()).expect("valid");
        assert!(w.account(&empty).is_none());
    }

    #[test]
    fn the_hypervisor_address_is_an_ordinary_account() {
        // `run` makes DELEGATECALLs to 0x…4879 run guest code; a transaction's world has no
        // hypervisor, so its code runs as a contract's: SSTORE(0, 7) lands in its storage.
        let hypervisor = crate::run::DEFAULT_HYPERVISOR;
        let mut w = world("PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x4879 GAS DELEGATECALL");
        let store = assemble("PUSH1 7 PUSH0 SSTORE").expect("assembles");
        w.insert_account(hypervisor, Account::new(U256::zero(), 1, store));
        transact(&mut w, Fork::Cancun, &tx()).expect("valid");
        assert_eq!(w.storage_of(&addr(TARGET))[&U256::zero()], U256::from(7));
    }

    #[test]
    fn blob_gas_price_follows_the_excess() {
        assert_eq!(blob_gas_price(Fork::Cancun, 0), U256::one());
        // fake_exponential(1, f, f) is e, rounded down.
        assert_eq!(blob_gas_price(Fork::Cancun, 3_338_477), U256::from(2));
        assert_eq!(blob_gas_price(Fork::Prague, 5_007_716), U256::from(2));
        assert_eq!(blob_gas_price(Fork::Cancun, u64::MAX), U256::MAX);
        // A blob transaction pays its blob gas at that price, burnt.
        let mut w = world("STOP");
        let mut t = tx();
        t.gas_price = GasPrice::Legacy(U256::from(7));
        t.blob_hashes = vec![U256::one() << 248];
        t.max_fee_per_blob_gas = U256::one();
        transact(&mut w, Fork::Cancun, &t).expect("valid");
        assert_eq!(
            w.balance_of(&addr(SENDER)),
            U256::exp10(18) - U256::from(21_000 * 7 + GAS_PER_BLOB)
        );
    }

    #[test]
    fn the_jit_gives_the_interpreters_receipt() {
        let code = "PUSH1 1 PUSH0 SSTORE PUSH1 7 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";
        let mut by_interp = world(code);
        let mut by_jit = world(code);
        let a = Vm::new().transact(
            &mut by_interp,
            Fork::Cancun,
            Engine::Interpreter,
            &block(),
            &tx(),
        );
        let b = Vm::new().transact(&mut by_jit, Fork::Cancun, Engine::Jit, &block(), &tx());
        assert!(a.is_ok(), "{a:?}");
        assert_eq!(a, b);
        assert_eq!(
            by_interp.storage_of(&addr(TARGET)),
            by_jit.storage_of(&addr(TARGET))
        );
    }
}
