//! The `hyvm` profile against the real hypervisor: its published runtime bytecode
//! (`interp/data`, see the README there) run in revm as an oracle. The hypervisor's
//! bytecode is never run by the product; here it only judges.
//!
//! Compared: status, output, gas used, refund, logs and the wallet's storage. The one part of
//! the gas left unmodelled is the verifier build's call guard (see `reaches_call_guard`).

mod common;

use common::gen::{program_excluding, world_accounts, Choices, Rng};
use common::hyvm_oracle::{run_hyvm, wallet_code, HyvmRequest};
use common::oracle::OracleAccount;
use nestedvm::interp::{hyvm, opcode};
use nestedvm::{Account, Config, Engine, Outcome, Request, Status, Vm, U256};
use nestedvm_cli::difftest::case::{hyvm_storage, reaches_call_guard};

/// Storage slots of the wallet before the call.
type Storage = Vec<(U256, U256)>;

fn oracle_accounts() -> Vec<OracleAccount> {
    world_accounts()
        .into_iter()
        .map(|(address, a)| OracleAccount::from_account(address, &a))
        .collect()
}

fn ours(
    guest: &[u8],
    gas: u64,
    verifier: bool,
    storage: &[(U256, U256)],
    engine: Engine,
) -> Outcome {
    let mut req = Request::new(guest.to_vec());
    req.gas = gas;
    req.accounts = world_accounts();
    // On chain the wallet has code (the harness's DELEGATECALLing wallet): the guest can see
    // it (EXTCODEHASH, calls to itself), so ours holds the same.
    req.accounts
        .push((req.address, Account::new(U256::zero(), 1, wallet_code(gas))));
    req.storage = storage.to_vec();
    let config = Config {
        verifier,
        engine,
        jit: nestedvm::JitConfig {
            hot_after: 0,
            ..Default::default()
        },
        ..Config::default()
    };
    Vm::new().run(&config, &req).expect("valid request")
}

fn compare(
    guest: &[u8],
    gas: u64,
    verifier: bool,
    storage: &[(U256, U256)],
) -> Result<Status, String> {
    let t = run_hyvm(&HyvmRequest {
        guest: guest.to_vec(),
        gas,
        verifier,
        storage: storage.to_vec(),
        accounts: oracle_accounts(),
        ..HyvmRequest::default()
    });
    let mut status = None;
    // Every engine against the real hypervisor.
    for engine in [Engine::Interpreter, Engine::Jit] {
        let o = ours(guest, gas, verifier, storage, engine);
        common::differences(
            &o,
            common::Expected {
                who: "hypervisor",
                status: t.status,
                output: &t.output,
                gas: (!verifier || !reaches_call_guard(guest))
                    .then_some((t.gas_used, t.gas_refund)),
                logs: &t.logs,
                storage: &t.storage,
            },
        )
        .map_err(|e| format!("{engine}: {e}"))?;
        status = Some(o.status);
    }
    Ok(status.unwrap_or(Status::Halt))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn campaign(seed: u64, count: usize, verifier: bool) {
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    let mut statuses = std::collections::HashMap::new();
    for n in 0..count {
        let len = 5 + rng.below(50) as usize;
        let mut guest = program_excluding(&mut rng, len, &[]);
        if verifier && reaches_call_guard(&guest) {
            // GAS would see the unmodelled guard's cost.
            guest = program_excluding(&mut rng, len, &[opcode::GAS]);
        }
        let storage = hyvm_storage(&mut rng, verifier);
        match compare(&guest, 5_000_000, verifier, &storage) {
            Err(e) => failures.push(format!("#{n} guest 0x{}: {e}", hex(&guest))),
            Ok(status) => *statuses.entry(status).or_insert(0usize) += 1,
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(8)].join("\n")
    );
    for status in [Status::Success, Status::Revert, Status::Halt] {
        assert!(
            statuses.get(&status).copied().unwrap_or(0) * 20 >= count,
            "too few {status:?}: {statuses:?}"
        );
    }
}

#[test]
fn generated_guests_agree_with_the_real_hypervisor() {
    campaign(0x4879_0001, common::campaign_size(4000), false);
}

#[test]
fn generated_guests_agree_with_the_real_verifier_build() {
    campaign(0x4879_0002, common::campaign_size(2000), true);
}

/// Each quirk of the profile, and each regression found by the campaigns, against the real
/// hypervisor.
#[test]
fn quirk_programs_agree_with_the_real_hypervisor() {
    let hv = hyvm::VERIFIER_SLOT;
    let owner = hyvm::OWNER_SLOT;
    let allow = (hv, U256::from(0x7e71));
    let cases: Vec<(&str, bool, Storage)> = vec![
        ("PUSH1 3 PUSH1 4 ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN", false, vec![]),
        ("PUSH1 7 PUSH21 0x010000000000000000000000000000000000000000 MSTORE PUSH0 MLOAD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN", false, vec![]),
        ("MSIZE PUSH1 1 PUSH1 0x21 MSTORE8 MSIZE ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN", false, vec![]),
        ("PUSH0 CALLDATALOAD CALLDATASIZE CODESIZE PC ADD ADD ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN", false, vec![]),
        ("PUSH1 32 PUSH0 PUSH0 CODECOPY PUSH1 32 PUSH0 RETURN", false, vec![]),
        ("PUSH1 1 JUMP", false, vec![]),
        ("PUSH2 0xffff JUMP", false, vec![]),
        ("PUSH0 PUSH1 0x55 JUMPI PUSH1 1 PUSH0 SSTORE", false, vec![]),
        ("PUSH1 1 PUSH1 0x55 JUMPI", false, vec![]),
        ("PUSH1 1 INVALID", false, vec![]),
        ("PUSH1 1 PUSH0 TSTORE", false, vec![]),
        ("PUSH0 SELFDESTRUCT", false, vec![]),
        ("ADDRESS PUSH0 SSTORE CALLER PUSH1 1 SSTORE SELFBALANCE PUSH1 2 SSTORE PUSH1 1 PUSH0 PUSH0 LOG1", false, vec![]),
        ("PUSH0 PUSH0 PUSH0 CREATE PUSH0 SSTORE", false, vec![]),
        ("PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x4879 PUSH2 0xffff CALL PUSH0 SSTORE", false, vec![]),
        // Regressions of the 100k campaign: the wallet's own code is visible to the guest.
        ("PUSH2 0xc0de EXTCODEHASH PUSH0 SSTORE PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0xc0de PUSH0 STATICCALL PUSH1 1 SSTORE", false, vec![]),
        ("PUSH2 0x4879 EXTCODESIZE PUSH0 SSTORE PUSH2 0x4879 EXTCODEHASH PUSH1 1 SSTORE", false, vec![]),
        ("PUSH2 0x4879 EXTCODESIZE PUSH0 SSTORE PUSH2 0x4879 EXTCODEHASH PUSH1 1 SSTORE", true, vec![]),
        ("PUSH1 32 PUSH2 0x1600 PUSH0 PUSH2 0x4879 EXTCODECOPY PUSH1 32 PUSH0 RETURN", false, vec![]),
        ("PUSH1 32 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x6000 PUSH3 0xffffff CALL PUSH0 MLOAD PUSH1 2 SSTORE", false, vec![]),
        ("PUSH5 0x6001600755 PUSH0 MSTORE PUSH0 PUSH0 PUSH1 5 PUSH1 27 PUSH2 0x4879 PUSH3 0xffffff DELEGATECALL PUSH1 1 SSTORE", false, vec![]),
        ("PUSH1 32 PUSH0 PUSH1 3 PUSH0 PUSH0 PUSH2 0x1001 PUSH2 0xffff CALL PUSH0 SSTORE", true, vec![]),
        ("PUSH1 32 PUSH0 PUSH1 3 PUSH0 PUSH0 PUSH2 0x1001 PUSH2 0xffff CALL PUSH0 SSTORE", true, vec![allow]),
        ("PUSH1 32 PUSH0 PUSH1 3 PUSH0 PUSH0 PUSH2 0x1000 PUSH2 0xffff CALL PUSH0 SSTORE", true, vec![allow]),
        ("PUSH0 PUSH0 PUSH2 0x0150 PUSH0 PUSH2 0x1001 PUSH2 0xffff STATICCALL PUSH0 SSTORE", true, vec![allow]),
        ("PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 CALL", true, vec![]),
        ("PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH1 1 CALL", true, vec![allow]),
        ("PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 CALL", true, vec![]),
        ("PUSH0 PUSH0 PUSH0 PUSH0 STATICCALL", true, vec![]),
        ("PUSH1 1 PUSH1 5 SSTORE", true, vec![(owner, U256::from(0xbeef))]),
        ("PUSH1 1 PUSH1 5 SSTORE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN", true, vec![(owner, U256::from(0xca11))]),
        ("PUSH1 1 PUSH0 SSTORE", true, vec![allow, (owner, U256::from(0xbeef))]),
        ("PUSH1 1 PUSH2 0xbeef SSTORE", true, vec![allow, (owner, U256::from(0xbeef))]),
        ("PUSH1 5 SSTORE", true, vec![]),
        ("PUSH1 5 SSTORE", true, vec![(owner, U256::from(0xca11))]),
    ];
    let mut failures = Vec::new();
    for (text, verifier, storage) in &cases {
        let guest = nestedvm::interp::asm::assemble(text).expect("assembles");
        if let Err(e) = compare(&guest, 1_000_000, *verifier, storage) {
            failures.push(format!("{text} (verifier {verifier}): {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every opcode at the deepest stack its handler allows and one item deeper, against the real
/// hypervisor: the stack-depth column of docs/hyvm.md for all 256 bytes, with the gas.
#[test]
fn every_opcode_overflows_where_the_real_hypervisor_does() {
    let mut failures = Vec::new();
    for op in 0..=255u8 {
        let (_, extra) = nestedvm::interp::hyvm_gas::handler(op);
        let limit = 1024 - extra as usize;
        // PUSH0 itself stops at 1021 items: no guest gets deeper.
        for depth in [limit, limit + 1].into_iter().filter(|d| *d <= 1021) {
            let mut guest = vec![opcode::PUSH0; depth];
            guest.push(op);
            if let Err(e) = compare(&guest, 10_000_000, false, &[]) {
                failures.push(format!("{op:#04x} at depth {depth}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
