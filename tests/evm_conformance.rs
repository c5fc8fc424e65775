//! The `evm` profile against revm (the oracle) on the VM conformance fixtures and on generated
//! programs: status, output, gas used, refund, logs and storage must be equal.
//!
//! Fixtures: `tests/fixtures/vm` (ethereum/tests VMTests, see tests/fixtures/README.md).

mod common;

use common::diff_evm;
use common::gen::{request, Rng};
use nestedvm::{Fork, Status};

#[test]
fn vm_fixtures_agree_with_revm_and_with_their_post_state() {
    let fixtures = common::vmfixture::all();
    let mut failures = Vec::new();
    for (f, fork) in fixtures
        .iter()
        .flat_map(|f| Fork::ALL.map(|fork| (f, fork)))
    {
        let req = f.request();
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
