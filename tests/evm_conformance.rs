//! The `evm` profile against revm (the oracle) on the VM conformance fixtures and on generated
//! programs: status, output, gas used, refund, logs and storage must be equal.
//!
//! Fixtures: `tests/fixtures/vm` (ethereum/tests VMTests, see tests/fixtures/README.md).

mod common;

use common::gen::{request, Rng};
use common::vmfixture::load_all;
use common::{diff_evm, oracle::OracleAccount};
use nestedvm::{Account, Fork, Request, Status};
use std::path::Path;

fn fixture_request(f: &common::vmfixture::VmFixture) -> Request {
    let mut req = Request::new(f.code.clone());
    req.calldata = f.calldata.clone();
    req.gas = f.gas;
    req.address = f.address;
    req.caller = f.caller;
    req.value = f.value;
    req.env.number = f.env.number;
    req.env.timestamp = f.env.timestamp;
    req.env.coinbase = f.env.coinbase;
    req.env.gas_limit = f.env.gas_limit;
    req.env.basefee = f.env.basefee.into();
    req.env.prevrandao = f.env.prevrandao;
    req.env.gas_price = f.env.gas_price.into();
    req.env.origin = f.caller;
    req.accounts = f
        .pre
        .iter()
        .map(|a: &OracleAccount| {
            (
                a.address,
                Account::new(a.balance, a.nonce, a.code.clone())
                    .with_storage(a.storage.iter().copied()),
            )
        })
        .collect();
    req
}

#[test]
fn vm_fixtures_agree_with_revm_and_with_their_post_state() {
    let fixtures = load_all(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vm"
    )));
    assert!(
        fixtures.len() >= 300,
        "fixtures missing: {}",
        fixtures.len()
    );
    let mut failures = Vec::new();
    for (f, fork) in fixtures
        .iter()
        .flat_map(|f| Fork::ALL.map(|fork| (f, fork)))
    {
        let req = fixture_request(f);
        match diff_evm(fork, &req) {
            Err(e) => failures.push(format!("{} ({}) at {fork}: {e}", f.name, f.file)),
            Ok(ours) => {
                // The fixture's own post state and output (its gas figures are pre-Berlin).
                if let (Some(exp), Some(storage)) = (&f.expected, f.expected_storage()) {
                    if ours.status != Status::Success
                        || ours.output != exp.out
                        || ours.storage != storage
                    {
                        failures.push(format!(
                            "{} ({}): post state differs from the fixture",
                            f.name, f.file
                        ));
                    }
                } else if ours.status == Status::Success {
                    failures.push(format!(
                        "{} ({}): fixture expects an exception",
                        f.name, f.file
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures fail:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n")
    );
}

#[test]
fn generated_programs_agree_with_revm_at_every_fork() {
    let mut failures = Vec::new();
    let mut statuses = std::collections::HashMap::new();
    let mut gas_total = 0u64;
    for (i, fork) in Fork::ALL.into_iter().enumerate() {
        let mut rng = Rng(0x5eed_0000 + i as u64);
        for n in 0..common::campaign_size(800) {
            let req = request(&mut rng);
            match diff_evm(fork, &req) {
                Err(e) => failures.push(format!("{fork} #{n} code 0x{}: {e}", hex(&req.code))),
                Ok(o) => {
                    *statuses.entry(o.status).or_insert(0usize) += 1;
                    gas_total += o.gas_used;
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} divergences:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    // The generator must reach every ending, or the comparison proves little.
    eprintln!("statuses {statuses:?}, gas {gas_total}");
    for status in [Status::Success, Status::Revert, Status::Halt] {
        assert!(
            statuses.get(&status).copied().unwrap_or(0) >= 100,
            "too few {status:?}: {statuses:?}"
        );
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
