//! Pre-state in, state out: the batch protocol's `accounts`, `address`, `caller`, `origin`,
//! `block` and `dump` build the request the library runs; a run against a pre-state, in
//! a chosen block, agrees with revm (and, in `hyvm`, with the real hypervisor) on its result
//! and on the state it dumps.

mod common;

use common::hyvm_oracle::{wallet_code, WALLET};
use common::{compare, evm_config, hyvm_config, run_request};
use nestedvm::batch::Batch;
use nestedvm::interp::asm::assemble;
use nestedvm::{Account, Address, Config, Engine, Fork, Profile, Request, Status, Vm, U256};
use nestedvm_cli::oracle::revm::{run_revm_with_state, OracleRequest};

fn addr(v: u64) -> Address {
    Address::from_low_u64_be(v)
}

/// The JIT (every code compiled whole) in `config`'s profile.
fn jit(config: &Config) -> Config {
    Config {
        engine: Engine::Jit,
        jit: nestedvm::JitConfig {
            hot_after: 0,
            ..Default::default()
        },
        ..*config
    }
}

/// A contract that stores what the block and the transaction say, its own balance and a
/// pre-state slot, calls 0xbbbb (which counts its calls in slot 0) with 2 wei, and sends 1
/// wei to 0xdead, which does not exist yet.
const READER: &str = "
    NUMBER PUSH1 0x10 SSTORE  TIMESTAMP PUSH1 0x11 SSTORE  BASEFEE PUSH1 0x12 SSTORE
    COINBASE PUSH1 0x13 SSTORE  GASLIMIT PUSH1 0x14 SSTORE  PREVRANDAO PUSH1 0x15 SSTORE
    CHAINID PUSH1 0x16 SSTORE  BLOBBASEFEE PUSH1 0x17 SSTORE  GASPRICE PUSH1 0x18 SSTORE
    ORIGIN PUSH1 0x19 SSTORE  PUSH1 1 SLOAD PUSH1 0x1a SSTORE  SELFBALANCE PUSH1 0x1b SSTORE
    PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 2 PUSH2 0xbbbb GAS CALL POP
    PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 1 PUSH2 0xdead GAS CALL
    PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN";

/// Counts its calls in slot 0.
const COUNTER: &str = "PUSH1 0 SLOAD PUSH1 1 ADD PUSH1 0 SSTORE STOP";

const BLOCK: &str = r#"{"number":100,"timestamp":"0x3039","basefee":3,"coinbase":"0x0000000000000000000000000000000000c0ffee","gaslimit":40000000,"prevrandao":"0x1234","chainid":10,"blobbasefee":2,"gasprice":"9"}"#;

/// The batch line that runs READER at 0xaaaa from 0x7777 against a pre-state.
fn reader_line() -> String {
    let reader = nestedvm::output::hex0x(&assemble(READER).expect("assembles"));
    let counter = nestedvm::output::hex0x(&assemble(COUNTER).expect("assembles"));
    format!(
        r#"{{"profile":"evm","engine":"interp","address":"0x000000000000000000000000000000000000aaaa","caller":"0x0000000000000000000000000000000000007777","value":"0x3","block":{BLOCK},"dump":true,"accounts":{{"0x000000000000000000000000000000000000aaaa":{{"balance":"0x5","nonce":"0x3","code":"{reader}","storage":{{"0x1":"0x7"}}}},"0x000000000000000000000000000000000000bbbb":{{"code":"{counter}","storage":{{"0x0":41}}}},"0x0000000000000000000000000000000000007777":{{"balance":"1000000000000000000","nonce":5}}}}}}"#
    )
}

/// The request `reader_line` describes, built by hand.
fn reader_request() -> Request {
    let mut req = Request::new(Vec::new());
    req.address = addr(0xaaaa);
    req.caller = addr(0x7777);
    req.value = U256::from(3);
    req.env.origin = req.caller;
    req.env.number = 100;
    req.env.timestamp = 0x3039;
    req.env.basefee = 3.into();
    req.env.coinbase = addr(0xc0ffee);
    req.env.gas_limit = 40_000_000;
    req.env.prevrandao = 0x1234.into();
    req.env.chain_id = 10;
    req.env.blob_base_fee = 2.into();
    req.env.gas_price = 9.into();
    req.accounts = vec![
        (
            addr(0xaaaa),
            Account::new(5.into(), 3, assemble(READER).expect("assembles"))
                .with_storage([(1.into(), 7.into())]),
        ),
        (
            addr(0xbbbb),
            Account::new(U256::zero(), 0, assemble(COUNTER).expect("assembles"))
                .with_storage([(0.into(), 41.into())]),
        ),
        (addr(0x7777), Account::new(U256::exp10(18), 5, Vec::new())),
    ];
    req
}

#[test]
fn batch_fields_build_the_request_the_library_runs() {
    let config = Config {
        dump_state: true,
        ..evm_config(Fork::Osaka)
    };
    let mut batch = Batch::new(Vm::new(), Config::default(), Request::new(Vec::new()));
    let answer = batch.answer(&reader_line());
    let mut direct = Vm::new().run(&config, &reader_request()).expect("runs");
    direct.memory = Vec::new();
    assert_eq!(answer, nestedvm::output::to_json(&direct));
    assert!(answer.contains(r#""state":{"#), "{answer}");
    // The origin may differ from the caller.
    let line = reader_line().replacen(
        '{',
        r#"{"origin":"0x0000000000000000000000000000000000000042","#,
        1,
    );
    let with_origin = batch.answer(&line);
    assert!(
        with_origin.contains(r#""0x19":"0x42""#),
        "ORIGIN is the origin given: {with_origin}"
    );
}

#[test]
fn a_call_against_a_pre_state_in_a_chosen_block_agrees_with_revm_and_dumps_its_state() {
    let req = reader_request();
    let config = Config {
        dump_state: true,
        ..evm_config(Fork::Osaka)
    };
    // The interpreter, checked against the JIT on everything but the state.
    let ours = run_request(&config, &req);
    let (theirs, their_state) =
        run_revm_with_state(&OracleRequest::from_request(Fork::Osaka, &req)).expect("revm");
    compare(&ours, &theirs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ours.status, Status::Success);
    let state = ours.state.clone().expect("dumped");
    assert_eq!(state, their_state, "the dumped state");
    let native = Vm::new().run(&jit(&config), &req).expect("runs");
    assert_eq!(native.state, ours.state, "the JIT's dumped state");
    // What the test is about happened: 0xdead was made, 0xbbbb counted, the block was seen.
    assert!(state.contains_key(&addr(0xdead)));
    assert_eq!(state[&addr(0xbbbb)].storage[&U256::zero()], 42.into());
    assert_eq!(ours.storage[&U256::from(0x16)], 10.into());
}

#[test]
fn a_reverted_call_dumps_the_pre_state() {
    let mut req = reader_request();
    // Too little gas for the calls: the run halts and changes nothing.
    req.gas = 30_000;
    let config = Config {
        dump_state: true,
        ..evm_config(Fork::Osaka)
    };
    let ours = run_request(&config, &req);
    assert_eq!(ours.status, Status::Halt);
    let (_, their_state) =
        run_revm_with_state(&OracleRequest::from_request(Fork::Osaka, &req)).expect("revm");
    assert_eq!(ours.state.as_ref(), Some(&their_state));
    let before = Vm::new()
        .run(
            &config,
            &Request {
                code: vec![0x00],
                ..req.clone()
            },
        )
        .expect("runs");
    assert_eq!(
        ours.state.expect("dumped")[&addr(0xbbbb)],
        before.state.expect("dumped")[&addr(0xbbbb)]
    );
}

/// A hyvm guest that calls WETH's `deposit` with 1000 wei, then `transfer(0xbeef, 400)`,
/// and returns both calls' success as one word.
pub const WETH_GUEST: &str = "
    PUSH4 0xd0e30db0 PUSH1 0xe0 SHL PUSH1 0 MSTORE
    PUSH1 0 PUSH1 0 PUSH1 4 PUSH1 0 PUSH2 1000 PUSH20 0xcccccccccccccccccccccccccccccccccccccccc GAS CALL
    PUSH4 0xa9059cbb PUSH1 0xe0 SHL PUSH1 0 MSTORE PUSH2 0xbeef PUSH1 4 MSTORE PUSH2 400 PUSH1 36 MSTORE
    PUSH1 0 PUSH1 0 PUSH1 68 PUSH1 0 PUSH1 0 PUSH20 0xcccccccccccccccccccccccccccccccccccccccc GAS CALL
    AND PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN";

#[test]
fn a_hyvm_payload_calls_weth_on_a_pre_state_as_the_real_hypervisor_does() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bins/nestedvm/benches/programs/revmc/weth.json"
    ))
    .expect("the WETH fixture");
    let fixture = nestedvm_cli::fixture::fixture_calls("weth.json", &text).expect("parses");
    let weth = Address::repeat_byte(0xcc);
    let weth_account = fixture[0]
        .request
        .accounts
        .iter()
        .find(|(a, _)| *a == weth)
        .expect("WETH is in the pre-state")
        .clone();
    let guest = assemble(WETH_GUEST).expect("assembles");
    let mut req = Request::new(guest.clone());
    req.gas = 1_000_000;
    req.address = WALLET;
    // The wallet's own entry: its balance, nonce, storage, and its code (the harness's).
    req.accounts = vec![
        weth_account,
        (
            WALLET,
            Account::new(U256::exp10(18), 4, wallet_code(req.gas))
                .with_storage([(5.into(), 6.into())]),
        ),
    ];
    let config = Config {
        dump_state: true,
        ..hyvm_config()
    };
    // Checked against the JIT and the real hypervisor in revm.
    let ours = run_request(&config, &req);
    assert_eq!(ours.status, Status::Success);
    assert_eq!(ours.output[31], 1, "deposit and transfer both succeeded");
    assert_eq!(ours.logs.len(), 2, "Deposit and Transfer");
    assert_eq!(
        ours.storage[&U256::from(5)],
        6.into(),
        "the wallet's storage"
    );
    // The state the payload leaves is the one revm gives when a plain contract at the
    // wallet makes the same calls (the wallet's code aside).
    let plain = Request {
        code: guest,
        ..req.clone()
    };
    let (theirs, mut their_state) =
        run_revm_with_state(&OracleRequest::from_request(Fork::Osaka, &plain)).expect("revm");
    assert_eq!(theirs.status, Status::Success);
    let mut state = ours.state.expect("dumped");
    for s in [&mut state, &mut their_state] {
        s.get_mut(&WALLET).expect("the wallet").code = Vec::new();
    }
    assert_eq!(state, their_state);
    assert_eq!(state[&WALLET].balance, U256::exp10(18) - 1000);
    assert_eq!(state[&WALLET].nonce, 4);
    let evm = Config {
        profile: Profile::Evm,
        ..config
    };
    assert_eq!(
        Vm::new()
            .run(&evm, &plain)
            .expect("runs")
            .state
            .map(|mut s| {
                s.get_mut(&WALLET).expect("the wallet").code = Vec::new();
                s
            }),
        Some(state)
    );
}
