//! Every copied revmc fixture (`benches/programs/revmc`, real contracts with their pre-state)
//! run by `nestedvm run FIXTURE.json --json --dump` on the interpreter and the JIT, against
//! revm given the same pre-state: status, output, gas used, refund, logs and the dumped state
//! must agree.

use nestedvm::output::{hex0x, min_hex};
use nestedvm::state::StateJson;
use nestedvm::{Fork, Status};
use nestedvm_cli::fixture::fixture_calls;
use nestedvm_cli::oracle::revm::{run_revm_with_state, OracleRequest};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/programs/revmc");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the fixtures are there")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// The lines `run FILE --json --dump` prints with `flags`, parsed.
fn run_cli(file: &Path, flags: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .arg("run")
        .arg(file)
        .args(["--json", "--dump", "--fork", "osaka"])
        .args(flags)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// revm's result for one call, in the fields of the `--json` line it is compared on.
fn revm_line(request: &nestedvm::Request) -> Value {
    let oracle = OracleRequest::from_request(Fork::Osaka, request);
    let (outcome, state) = run_revm_with_state(&oracle).expect("revm runs it");
    let logs: Vec<Value> = outcome
        .logs
        .iter()
        .map(|l| {
            let topics: Vec<String> = l
                .topics
                .iter()
                .map(|t| hex0x(&t.to_big_endian()))
                .collect();
            json!({"address": hex0x(l.address.as_bytes()), "topics": topics, "data": hex0x(&l.data)})
        })
        .collect();
    let status = match outcome.status {
        Status::Success => "success",
        Status::Revert => "revert",
        Status::Halt => "halt",
    };
    json!({
        "status": status,
        "output": hex0x(&outcome.output),
        "gas_used": outcome.gas_used,
        "gas_refund": outcome.gas_refund,
        "logs": logs,
        "storage": outcome.storage.iter().map(|(k, v)| (min_hex(k), json!(min_hex(v)))).collect::<serde_json::Map<_, _>>(),
        "state": serde_json::to_value(StateJson(&state)).expect("serializes"),
    })
}

/// The fields of a `--json` line revm also reports.
fn compared(line: &Value) -> Value {
    let keys = [
        "status",
        "output",
        "gas_used",
        "gas_refund",
        "logs",
        "storage",
        "state",
    ];
    Value::Object(
        keys.iter()
            .map(|k| (k.to_string(), line[k].clone()))
            .collect(),
    )
}

#[test]
fn every_revmc_fixture_agrees_with_revm_on_the_interpreter_and_the_jit() {
    let files = fixtures();
    assert_eq!(files.len(), 18, "the 18 revmc fixtures are copied");
    let mut calls = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("reads");
        let what = file.display().to_string();
        let requests = fixture_calls(&what, &text).expect("a fixture");
        let expected: Vec<Value> = requests.iter().map(|c| revm_line(&c.request)).collect();
        for (engine, flags) in [
            ("interp", &["--engine", "interp"][..]),
            ("jit", &["--engine", "jit", "--hot-after", "0"][..]),
        ] {
            let lines = run_cli(file, flags);
            assert_eq!(lines.len(), expected.len(), "{what}: one line per call");
            for ((line, want), call) in lines.iter().zip(&expected).zip(&requests) {
                assert_eq!(
                    compared(line),
                    *want,
                    "{what} ({}) on {engine} against revm",
                    call.name
                );
                assert_eq!(line["engine"], engine, "{what}: {engine} ran it");
                assert_eq!(
                    line["status"], "success",
                    "{what}: the fixture's call succeeds"
                );
            }
        }
        calls += requests.len();
    }
    assert!(calls >= files.len());
}
