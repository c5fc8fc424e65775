//! The transaction layer (`Vm::transact`) against revm 43 running the same transactions with
//! all its transaction rules on (fees, refunds, floor, caps, validation), at every fork: the
//! state tests cover Cancun only, so Prague's EIP-7623 floor and Osaka's gas cap are held to
//! revm here.

mod common;

use common::oracle::{
    block_env, bytecode_of, from_ru, spec_of, to_addr, to_b256, to_ru, OracleEnv,
};
use nestedvm::authorization::Authorization;
use nestedvm::interp::asm::assemble;
use nestedvm::transaction::{Block, GasPrice, Transaction, TxError};
use nestedvm::{Account, Address, Engine, Env, Fork, Vm, World, B256, U256};
use revm::context::{CfgEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::transaction::{
    AccessList, AccessListItem, Authorization as RevmAuthorization, SignedAuthorization,
};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{Bytes, TxKind};
use revm::state::AccountInfo;
use revm::{Context, DatabaseCommit, ExecuteEvm, MainBuilder, MainContext};
use std::collections::BTreeMap;

const SENDER: u64 = 0x5e;
const CONTRACT: u64 = 0xc0de;

fn addr(n: u64) -> Address {
    Address::from_low_u64_be(n)
}

/// An account as both sides compare it: balance, nonce, code hash, non-zero storage.
type Summary = (U256, u64, B256, BTreeMap<U256, U256>);

/// What a transaction left: `Err` when rejected, else gas used, created address, and every
/// non-empty account.
type Effect = Result<(u64, Option<Address>, BTreeMap<Address, Summary>), String>;

/// A pre-state: the sender (10^18 wei) and a contract running `code` whose slots 0 and 1
/// hold 1.
fn pre_state(code: &str) -> Vec<(Address, Account)> {
    let code = assemble(code).expect("assembles");
    vec![
        (addr(SENDER), Account::new(U256::exp10(18), 0, Vec::new())),
        (
            addr(CONTRACT),
            Account::new(U256::zero(), 1, code)
                .with_storage([(U256::zero(), U256::one()), (U256::one(), U256::one())]),
        ),
    ]
}

/// What the tests vary of the block: its gas limit and excess blob gas.
#[derive(Clone, Copy)]
struct Limits {
    gas: u64,
    excess_blob_gas: u64,
}

const BLOCK: Limits = Limits {
    gas: 30_000_000,
    excess_blob_gas: 0,
};

fn block(limits: Limits) -> Block {
    Block {
        env: Env {
            gas_limit: limits.gas,
            ..Env::default()
        },
        excess_blob_gas: limits.excess_blob_gas,
    }
}

fn ours(fork: Fork, pre: &[(Address, Account)], limits: Limits, tx: &Transaction) -> Effect {
    let mut world = World::default();
    for (a, acc) in pre {
        world.insert_account(*a, acc.clone());
    }
    let receipt =
        match Vm::new().transact(&mut world, fork, Engine::Interpreter, &block(limits), tx) {
            Ok(r) => r,
            Err(TxError::Invalid(e)) => return Err(e.to_string()),
        };
    let accounts = world
        .accounts()
        .filter(|(_, a)| !a.is_empty())
        .map(|(address, a)| (*address, (a.balance, a.nonce, a.code_hash(), a.storage())))
        .collect();
    Ok((receipt.gas_used, receipt.created, accounts))
}

fn revm(fork: Fork, pre: &[(Address, Account)], limits: Limits, tx: &Transaction) -> Effect {
    let mut db = CacheDB::<EmptyDB>::default();
    for (a, acc) in pre {
        let mut info = AccountInfo::default()
            .with_balance(to_ru(acc.balance))
            .with_nonce(acc.nonce);
        if !acc.code.is_empty() {
            info = info.with_code(bytecode_of(&acc.code));
        }
        db.insert_account_info(to_addr(*a), info);
        for (k, v) in acc.storage() {
            db.insert_account_storage(to_addr(*a), to_ru(k), to_ru(v))
                .expect("EmptyDB cannot fail");
        }
    }
    let mut cfg = CfgEnv::new_with_spec(spec_of(fork));
    cfg.chain_id = 1;
    // revm takes the blob limit from the chain's blob schedule (EIP-7840): mainnet's, with
    // Osaka's per-transaction cap of EIP-7594.
    cfg.set_max_blobs_per_tx(if fork == Fork::Prague { 9 } else { 6 });
    let env = OracleEnv {
        gas_limit: limits.gas,
        ..OracleEnv::default()
    };
    let mut block = block_env(&env);
    block.blob_excess_gas_and_price = Some(BlobExcessGasAndPrice::new_with_spec(
        limits.excess_blob_gas,
        spec_of(fork),
    ));
    let (tx_type, gas_price, gas_priority_fee) = match tx.gas_price {
        GasPrice::Legacy(p) => (u8::from(!tx.access_list.is_empty()), p.as_u128(), None),
        GasPrice::Dynamic {
            max_fee,
            max_priority_fee,
        } => (2, max_fee.as_u128(), Some(max_priority_fee.as_u128())),
    };
    let access_list = AccessList(
        tx.access_list
            .iter()
            .map(|(a, keys)| AccessListItem {
                address: to_addr(*a),
                storage_keys: keys.iter().map(|k| to_b256(*k)).collect(),
            })
            .collect(),
    );
    let tx_type = match (&tx.authorization_list, tx.blob_hashes.is_empty()) {
        (Some(_), _) => 4,
        (None, false) => 3,
        (None, true) => tx_type,
    };
    let mut revm_tx = TxEnv {
        tx_type,
        blob_hashes: tx.blob_hashes.iter().map(|h| to_b256(*h)).collect(),
        max_fee_per_blob_gas: tx.max_fee_per_blob_gas.as_u128(),
        caller: to_addr(tx.sender),
        gas_limit: tx.gas_limit,
        gas_price,
        gas_priority_fee,
        kind: match tx.to {
            Some(to) => TxKind::Call(to_addr(to)),
            None => TxKind::Create,
        },
        value: to_ru(tx.value),
        data: Bytes::copy_from_slice(&tx.data),
        nonce: tx.nonce,
        chain_id: Some(1),
        access_list,
        ..TxEnv::default()
    };
    if let Some(list) = &tx.authorization_list {
        revm_tx.set_signed_authorization(
            list.iter()
                .map(|a| {
                    let inner = RevmAuthorization {
                        chain_id: to_ru(a.chain_id),
                        address: to_addr(a.address),
                        nonce: a.nonce,
                    };
                    let parity = u8::try_from(a.y_parity).unwrap_or(u8::MAX);
                    SignedAuthorization::new_unchecked(inner, parity, to_ru(a.r), to_ru(a.s))
                })
                .collect(),
        );
    }
    let mut evm = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block)
        .build_mainnet();
    let res = evm.transact(revm_tx).map_err(|e| format!("{e:?}"))?;
    let gas_used = res.result.tx_gas_used();
    let created = res
        .result
        .created_address()
        .map(|a| Address::from(a.into_array()));
    let db = &mut evm.ctx.journaled_state.database;
    db.commit(res.state);
    let accounts = db
        .cache
        .accounts
        .iter()
        .filter_map(|(a, acc)| {
            let info = acc.info()?;
            let storage: BTreeMap<U256, U256> = acc
                .storage
                .iter()
                .filter(|(_, v)| !v.is_zero())
                .map(|(k, v)| (from_ru(*k), from_ru(*v)))
                .collect();
            let empty = info.balance.is_zero() && info.nonce == 0 && info.is_empty_code_hash();
            (!empty).then(|| {
                (
                    Address::from(a.into_array()),
                    (
                        from_ru(info.balance),
                        info.nonce,
                        B256::from(info.code_hash.0),
                        storage,
                    ),
                )
            })
        })
        .collect();
    Ok((gas_used, created, accounts))
}

/// Runs `tx` on both sides at every fork; `valid` lists the forks where it must be accepted.
fn agree(what: &str, code: &str, limits: Limits, tx: &Transaction, valid: &[Fork]) {
    agree_from(what, &pre_state(code), limits, tx, valid);
}

/// [`agree`] from a given pre-state.
fn agree_from(
    what: &str,
    pre: &[(Address, Account)],
    limits: Limits,
    tx: &Transaction,
    valid: &[Fork],
) {
    for fork in Fork::ALL {
        let a = ours(fork, pre, limits, tx);
        let b = revm(fork, pre, limits, tx);
        assert_eq!(a.is_ok(), valid.contains(&fork), "{what} at {fork}: {a:?}");
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{what} at {fork}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{what} at {fork}: ours {a:?}, revm {b:?}"),
        }
    }
}

fn call() -> Transaction {
    Transaction::call(addr(SENDER), addr(CONTRACT), 200_000, U256::from(10))
}

#[test]
fn valid_calls_charge_refund_and_pay_alike() {
    let all = &Fork::ALL;
    agree("store", "PUSH1 2 PUSH0 SSTORE", BLOCK, &call(), all);
    // Two cleared slots: the refund is capped.
    let clear = "PUSH0 PUSH0 SSTORE PUSH0 PUSH1 1 SSTORE";
    agree("refund cap", clear, BLOCK, &call(), all);
    let mut t = call();
    t.gas_price = GasPrice::Dynamic {
        max_fee: U256::from(100),
        max_priority_fee: U256::from(3),
    };
    t.value = U256::from(5);
    agree("1559 with value", clear, BLOCK, &t, all);
    agree("revert keeps fees", "PUSH0 PUSH0 REVERT", BLOCK, &t, all);
    agree("halt takes all gas", "INVALID", BLOCK, &t, all);
    let log = "PUSH1 7 PUSH0 MSTORE PUSH1 9 PUSH1 32 PUSH0 LOG1";
    agree("log", log, BLOCK, &call(), all);
    // Prague's floor: 100 non-zero bytes cost more as tokens than the call does.
    let mut t = call();
    t.data = vec![1; 100];
    agree("floor", "STOP", BLOCK, &t, all);
    let mut t = call();
    t.access_list = vec![
        (addr(CONTRACT), vec![U256::zero(), U256::from(5)]),
        (addr(0xabc), vec![]),
    ];
    agree("access list", "PUSH0 SLOAD PUSH1 5 SLOAD", BLOCK, &t, all);
    let mut t = call();
    t.to = Some(addr(0x2));
    t.data = vec![1, 2, 3];
    agree("precompile", "STOP", BLOCK, &t, all);
    let mut t = call();
    t.to = Some(addr(0x999));
    agree("empty target, no value", "STOP", BLOCK, &t, all);
    t.value = U256::one();
    agree("empty target, value", "STOP", BLOCK, &t, all);
}

#[test]
fn blob_transactions_agree() {
    let mut t = call();
    t.gas_price = GasPrice::Dynamic {
        max_fee: U256::from(100),
        max_priority_fee: U256::from(3),
    };
    t.blob_hashes = vec![U256::one() << 248, (U256::one() << 248) + 7];
    t.max_fee_per_blob_gas = U256::from(2);
    let after_shanghai = &[Fork::Cancun, Fork::Prague, Fork::Osaka];
    agree(
        "blob fee",
        "BLOBBASEFEE PUSH0 SSTORE",
        BLOCK,
        &t,
        after_shanghai,
    );
    t.max_fee_per_blob_gas = U256::zero();
    agree("blob fee cap too low", "STOP", BLOCK, &t, &[]);
    t.max_fee_per_blob_gas = U256::one();
    t.blob_hashes = vec![U256::from(7)];
    agree("blob version", "STOP", BLOCK, &t, &[]);
    // Seven blobs: over Cancun's six and Osaka's per-transaction six, under Prague's nine.
    t.blob_hashes = vec![U256::one() << 248; 7];
    agree("seven blobs", "STOP", BLOCK, &t, &[Fork::Prague]);
    t.blob_hashes = vec![U256::one() << 248; 10];
    agree("ten blobs", "STOP", BLOCK, &t, &[]);
    // A price from the excess blob gas by each fork's update fraction: about 400 at Cancun,
    // about 55 from Prague on.
    let crowded = Limits {
        excess_blob_gas: 20_000_000,
        ..BLOCK
    };
    t.blob_hashes = vec![U256::one() << 248];
    t.max_fee_per_blob_gas = U256::from(1000);
    let all_blob_forks = &[Fork::Cancun, Fork::Prague, Fork::Osaka];
    agree(
        "blob price",
        "BLOBBASEFEE PUSH0 SSTORE",
        crowded,
        &t,
        all_blob_forks,
    );
    t.max_fee_per_blob_gas = U256::from(100);
    agree(
        "blob price above the cap",
        "STOP",
        crowded,
        &t,
        &[Fork::Prague, Fork::Osaka],
    );
}

#[test]
fn creations_agree() {
    let all = &Fork::ALL;
    let mut t = call();
    t.to = None;
    t.data = assemble("PUSH1 1 PUSH0 RETURN").expect("assembles");
    agree("create", "STOP", BLOCK, &t, all);
    t.data = assemble("PUSH1 1 PUSH0 SSTORE PUSH0 PUSH0 REVERT").expect("assembles");
    agree("create reverting", "STOP", BLOCK, &t, all);
    t.data = assemble("PUSH1 1 PUSH0 MSTORE8 PUSH1 1 PUSH0 RETURN").expect("assembles");
    agree("create 0xef code", "STOP", BLOCK, &t, all);
    t.value = U256::from(3);
    t.data = assemble("PUSH1 42 PUSH0 SSTORE").expect("assembles");
    agree("create with value and storage", "STOP", BLOCK, &t, all);
}

#[test]
fn invalid_transactions_are_rejected_alike() {
    let none: &[Fork] = &[];
    let mut t = call();
    t.nonce = 1;
    agree("nonce", "STOP", BLOCK, &t, none);
    let mut t = call();
    t.value = U256::exp10(18);
    agree("balance", "STOP", BLOCK, &t, none);
    let mut t = call();
    t.gas_price = GasPrice::Legacy(U256::from(6));
    agree("fee cap", "STOP", BLOCK, &t, none);
    let mut t = call();
    t.gas_price = GasPrice::Dynamic {
        max_fee: U256::from(10),
        max_priority_fee: U256::from(11),
    };
    agree("priority above cap", "STOP", BLOCK, &t, none);
    let mut t = call();
    t.gas_limit = 20_999;
    agree("intrinsic", "STOP", BLOCK, &t, none);
    let mut t = call();
    t.gas_limit = BLOCK.gas + 1;
    agree("above the block", "STOP", BLOCK, &t, none);
    let mut t = call();
    t.to = None;
    t.data = vec![0; 2 * 0x6000 + 1];
    t.gas_limit = 1_000_000;
    agree("initcode", "STOP", BLOCK, &t, none);
    // Valid before Prague, under Prague's floor after.
    let mut t = call();
    t.data = vec![1; 100];
    t.gas_limit = 24_999;
    agree("floor", "STOP", BLOCK, &t, &[Fork::Shanghai, Fork::Cancun]);
    // Over Osaka's 2^24 cap, under the block's limit.
    let mut t = call();
    t.gas_limit = (1 << 24) + 1;
    let mut pre = pre_state("STOP");
    pre[0].1 = Account::new(U256::exp10(18), 0, vec![0]);
    agree_from("sender with code", &pre, BLOCK, &call(), none);
    agree(
        "osaka cap",
        "STOP",
        Limits {
            gas: 100_000_000,
            ..BLOCK
        },
        &t,
        &[Fork::Shanghai, Fork::Cancun, Fork::Prague],
    );
}

/// The authority of the set-code tests.
const AUTHORITY_KEY: [u8; 32] = [0x11; 32];

/// `AUTHORITY_KEY`'s signature of (chain id, delegate, nonce).
fn sign(chain_id: u64, delegate: Address, nonce: u64) -> Authorization {
    let mut auth = Authorization {
        chain_id: U256::from(chain_id),
        address: delegate,
        nonce,
        y_parity: U256::zero(),
        r: U256::zero(),
        s: U256::zero(),
    };
    let key = k256::ecdsa::SigningKey::from_slice(&AUTHORITY_KEY).expect("a key");
    let (sig, parity) = key
        .sign_prehash_recoverable(&auth.signing_hash())
        .expect("signs");
    auth.y_parity = U256::from(parity.to_byte());
    auth.r = U256::from_big_endian(&sig.r().to_bytes());
    auth.s = U256::from_big_endian(&sig.s().to_bytes());
    auth
}

fn authority() -> Address {
    nestedvm::signer::address_of_secret_key(&AUTHORITY_KEY).expect("valid key")
}

/// A set-code call to the authority carrying `list`.
fn set_code(list: Vec<Authorization>) -> Transaction {
    let mut t = call();
    t.to = Some(authority());
    t.gas_price = GasPrice::Dynamic {
        max_fee: U256::from(100),
        max_priority_fee: U256::from(3),
    };
    t.authorization_list = Some(list);
    t
}

#[test]
fn set_code_transactions_agree() {
    let prague_on = &[Fork::Prague, Fork::Osaka];
    let store = "PUSH1 2 PUSH0 SSTORE";
    let delegate = addr(CONTRACT);
    // The authority does not exist yet: no refund; then it runs the delegate's code.
    let t = set_code(vec![sign(1, delegate, 0)]);
    agree("new authority", store, BLOCK, &t, prague_on);
    let (_, _, accounts) = ours(Fork::Prague, &pre_state(store), BLOCK, &t).expect("valid");
    let (_, nonce, _, storage) = &accounts[&authority()];
    assert_eq!(
        (*nonce, storage[&U256::zero()]),
        (1, U256::from(2)),
        "delegated"
    );
    // It exists: 12500 refunded.
    let mut pre = pre_state(store);
    pre.push((authority(), Account::new(U256::from(9), 0, Vec::new())));
    let t = set_code(vec![sign(1, delegate, 0)]);
    agree_from("existing authority", &pre, BLOCK, &t, prague_on);
    // Chain id 0 applies anywhere; another chain, a wrong nonce, a high s are skipped.
    let t = set_code(vec![sign(0, delegate, 0)]);
    agree("any chain", store, BLOCK, &t, prague_on);
    let t = set_code(vec![sign(2, delegate, 0), sign(1, delegate, 5)]);
    agree("skipped", store, BLOCK, &t, prague_on);
    let mut high_s = sign(1, delegate, 0);
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .expect("hex");
    high_s.s = n - high_s.s;
    high_s.y_parity = U256::one() - high_s.y_parity;
    agree("high s", store, BLOCK, &set_code(vec![high_s]), prague_on);
    // Two in a row, the second at the bumped nonce clearing the delegation.
    let t = set_code(vec![sign(1, delegate, 0), sign(1, Address::zero(), 1)]);
    agree("set then clear", store, BLOCK, &t, prague_on);
    // A reverting delegate: the delegation and its refund stay.
    let mut pre = pre_state("PUSH1 2 PUSH0 SSTORE PUSH0 PUSH0 REVERT");
    pre.push((authority(), Account::new(U256::from(9), 0, Vec::new())));
    agree_from("revert", &pre, BLOCK, &t, prague_on);
    // The sender as its own authority signs for its nonce after the bump.
    let mut pre = pre_state(store);
    pre[0].0 = authority();
    let mut t = set_code(vec![sign(1, delegate, 1)]);
    t.sender = authority();
    agree_from("sender authority", &pre, BLOCK, &t, prague_on);
    // Invalid: no authorizations.
    agree("empty list", store, BLOCK, &set_code(vec![]), &[]);
    // A set-code transaction has a `to` (it cannot be decoded without one); revm's TxEnv does
    // not check it, so the rule alone holds here.
    let mut t = set_code(vec![sign(1, delegate, 0)]);
    t.to = None;
    for fork in Fork::ALL {
        assert!(ours(fork, &pre_state(store), BLOCK, &t).is_err(), "{fork}");
    }
}
