//! The state-test runner: every copied GeneralStateTests vector passes through the library,
//! and the `statetest` command keeps its output and exit-code contract.

use nestedvm::Engine;
use nestedvm_cli::statetest::Suite;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state")
}

/// A small fixture that passes: one file, one vector.
fn small_fixture() -> PathBuf {
    fixtures().join("stChainId/chainId.json")
}

/// A scratch folder of this test binary, named after `what`.
fn scratch(what: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("statetest-{what}"));
    std::fs::create_dir_all(&dir).expect("creates a scratch folder");
    dir
}

/// A copy of the small fixture with `change` applied to its one test, written as `name`.
fn variant(name: &str, change: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let text = std::fs::read_to_string(small_fixture()).expect("reads the fixture");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("parses");
    change(&mut json["chainId"]);
    let path = scratch(name).join(format!("{name}.json"));
    std::fs::write(&path, json.to_string()).expect("writes");
    path
}

/// A copy of the small fixture whose expected state root is wrong: one failing vector.
fn failing_fixture() -> PathBuf {
    variant("wrong_root", |test| {
        test["post"]["Cancun"][0]["hash"] = serde_json::json!(format!("0x{}", "00".repeat(32)));
    })
}

/// The error of the one vector of `path`.
fn only_error(path: &Path) -> String {
    let suite = Suite::load(&[path.to_path_buf()]).expect("loads");
    let mut errors = Vec::new();
    suite
        .run(Engine::Auto, None, |r| errors.push(r.error.clone()))
        .expect("runs");
    assert_eq!(errors.len(), 1, "one vector");
    errors.remove(0).unwrap_or_default()
}

fn nestedvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .arg("statetest")
        .args(args)
        .output()
        .expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn every_copied_fixture_passes_on(engine: Engine) {
    let suite = Suite::load(&[fixtures()]).expect("the fixtures load");
    let mut failures = Vec::new();
    let summary = suite
        .run(engine, None, |r| {
            if !r.passed() {
                failures.push(r.to_string());
            }
        })
        .expect("the engine runs");
    assert!(
        failures.is_empty(),
        "{engine}: {} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every Cancun vector of the 750 files ran.
    assert_eq!(summary.passed, 2434);
    assert_eq!(suite.vector_count(), 2434);
}

#[test]
fn every_copied_fixture_passes_on_the_interpreter() {
    every_copied_fixture_passes_on(Engine::Interpreter);
}

#[test]
fn every_copied_fixture_passes_on_the_jit() {
    every_copied_fixture_passes_on(Engine::Jit);
}

#[test]
fn a_wrong_expectation_is_reported_with_its_vector() {
    let suite = Suite::load(&[failing_fixture()]).expect("loads");
    let mut results = Vec::new();
    let summary = suite
        .run(Engine::Interpreter, None, |r| results.push(r.clone()))
        .expect("runs");
    assert_eq!((summary.passed, summary.failed), (0, 1));
    let error = results[0].error.as_deref().expect("a failure");
    assert!(
        error.starts_with("state root expected 0x0000000000000000000000000000000000000000000000000000000000000000 got 0x"),
        "{error}"
    );
    assert_eq!(results[0].name, "chainId");
    assert_eq!(results[0].file, failing_fixture());
    assert_eq!((results[0].d, results[0].g, results[0].v), (0, 0, 0));
}

#[test]
fn cli_runs_the_jit() {
    let o = nestedvm(&["--engine", "jit", small_fixture().to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "1 passed, 0 failed\n");
}

#[test]
fn cli_passes_with_exit_0_and_the_closing_line() {
    let o = nestedvm(&[small_fixture().to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "1 passed, 0 failed\n");
    // No progress bar when stderr is not a terminal.
    assert_eq!(text(&o.stderr), "");
}

#[test]
fn cli_lists_failures_and_exits_1() {
    let failing = failing_fixture();
    let o = nestedvm(&[
        failing.to_str().expect("utf-8"),
        small_fixture().to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(&format!(
            "FAIL {} chainId cancun d=0 g=0 v=0: state root expected 0x00",
            failing.display()
        )),
        "{out}"
    );
    assert_eq!(lines[1], "1 passed, 1 failed");
}

#[test]
fn cli_json_is_one_object_per_vector() {
    let o = nestedvm(&["--json", small_fixture().to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["file"], small_fixture().display().to_string());
    assert_eq!(v["name"], "chainId");
    assert_eq!(v["fork"], "cancun");
    assert_eq!(
        (v["d"].as_u64(), v["g"].as_u64(), v["v"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(v["pass"], true);
    assert!(v["error"].is_null());
    // The closing line goes to stderr, so stdout stays JSON lines.
    assert_eq!(text(&o.stderr), "1 passed, 0 failed\n");
}

#[test]
fn cli_bad_input_is_one_line_naming_the_file_and_exit_2() {
    let missing = scratch("missing").join("nothing-here.json");
    let o = nestedvm(&[missing.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("error: {}: cannot read", missing.display())),
        "{err}"
    );

    let malformed = scratch("malformed").join("broken.json");
    std::fs::write(&malformed, "{\"t\": {\"env\": 1}").expect("writes");
    let o = nestedvm(&[malformed.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: {}: malformed state test",
            malformed.display()
        )),
        "{err}"
    );
    assert_eq!(
        text(&o.stdout),
        "",
        "nothing runs before the input is known good"
    );

    let o = nestedvm(&[]);
    assert_eq!(o.status.code(), Some(2));
    let o = nestedvm(&["--engine", "fast", small_fixture().to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.starts_with("error: invalid value 'fast'"), "{err}");
    assert!(
        err.contains("[possible values: interp, jit, auto]"),
        "{err}"
    );
    assert!(!err.contains("Usage:"), "{err}");
}

#[test]
fn vectors_that_cannot_be_built_or_break_their_expectation_fail_with_the_reason() {
    use serde_json::json;
    type Change = fn(&mut serde_json::Value);
    let cases: [(&str, Change, &str); 6] = [
        (
            "valid_but_exception_expected",
            |t| t["post"]["Cancun"][0]["expectException"] = json!("TransactionException.X"),
            "exception TransactionException.X expected, but the transaction was valid",
        ),
        (
            "rejected_unexpectedly",
            |t| t["transaction"]["nonce"] = json!("0x05"),
            "unexpected exception: nonce 5 is not the sender's nonce 0",
        ),
        (
            "authorizations_before_prague",
            |t| t["transaction"]["authorizationList"] = json!([]),
            "unexpected exception: set-code transaction before prague",
        ),
        (
            "no_sender_no_key",
            |t| {
                let tx = t["transaction"].as_object_mut().expect("an object");
                tx.remove("sender");
                tx.remove("secretKey");
            },
            "neither `sender` nor `secretKey`",
        ),
        (
            "bad_key",
            |t| {
                let tx = t["transaction"].as_object_mut().expect("an object");
                tx.remove("sender");
                tx["secretKey"] = json!(format!("0x{}", "00".repeat(32)));
            },
            "`secretKey` is not a valid secp256k1 key",
        ),
        (
            "index_out_of_range",
            |t| t["post"]["Cancun"][0]["indexes"]["data"] = json!(3),
            "data index 3 out of range (the transaction has 1)",
        ),
    ];
    for (name, change, expected) in cases {
        let error = only_error(&variant(name, change));
        assert!(error.starts_with(expected), "{name}: {error}");
    }
}

#[test]
fn the_sender_is_derived_from_the_secret_key_when_absent() {
    let path = variant("sender_from_key", |t| {
        let tx = t["transaction"].as_object_mut().expect("an object");
        tx.remove("sender");
    });
    assert_eq!(only_error(&path), "", "passes as with `sender`");
}

/// A copy of the small fixture whose Cancun vector is at `forks` instead, as `name`.
fn at_forks(name: &str, forks: &[&str]) -> PathBuf {
    let forks: Vec<String> = forks.iter().map(|f| f.to_string()).collect();
    variant(name, move |t| {
        let entries = t["post"]["Cancun"].clone();
        t["post"] = serde_json::json!({});
        for fork in forks {
            t["post"][fork] = entries.clone();
        }
    })
}

#[test]
fn cli_running_nothing_is_an_error_naming_the_skipped_forks() {
    let path = at_forks("only_old_forks", &["London", "Berlin"]);
    let o = nestedvm(&[path.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stderr),
        "error: no vector ran: skipped 2 vectors at forks not supported (Berlin, London)\n"
    );
    assert_eq!(text(&o.stdout), "", "no `0 passed, 0 failed`");
}

#[test]
fn cli_says_how_many_vectors_it_skipped_beside_those_it_ran() {
    let path = at_forks("old_and_new_forks", &["Berlin", "Cancun"]);
    let o = nestedvm(&[path.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "1 passed, 0 failed\n");
    assert_eq!(
        text(&o.stderr),
        "note: skipped 1 vector at forks not supported (Berlin)\n"
    );
}

#[test]
fn forks_the_project_does_not_support_are_not_run() {
    let path = variant("older_fork", |t| {
        let entries = t["post"]["Cancun"].clone();
        t["post"]["Berlin"] = entries;
    });
    let suite = Suite::load(&[path]).expect("loads");
    assert_eq!(suite.vector_count(), 1, "only the Cancun entry");
}

#[cfg(unix)]
#[test]
fn a_folder_linking_to_itself_is_walked_once() {
    let dir = scratch("self-link");
    std::fs::copy(small_fixture(), dir.join("chainId.json")).expect("copies the fixture");
    let link = dir.join("self");
    if link.symlink_metadata().is_err() {
        std::os::unix::fs::symlink(".", &link).expect("links the folder to itself");
    }
    // Following `self` would find chainId.json again at every depth, without end.
    let suite = Suite::load(std::slice::from_ref(&dir)).expect("loads");
    assert_eq!(suite.vector_count(), 1);
    let o = nestedvm(&[dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "1 passed, 0 failed\n");
}

/// `statetest --trace` writes, per vector, the steps, a summary line and the post-state root
/// on stderr, as goevmlab reads a client's trace, and passes the vectors it passed untraced.
#[test]
fn trace_writes_each_vectors_steps_summary_and_state_root() {
    let dir = fixtures().join("Cancun/stEIP1153-transientStorage");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("reads the folder")
        .map(|e| e.expect("an entry").path())
        .take(3)
        .collect();
    let suite = Suite::load(&files).expect("loads");
    let mut vectors = Vec::new();
    let mut traced = Vec::new();
    let summary = suite
        .run(Engine::Auto, Some(&mut traced), |r| {
            vectors.push(r.passed())
        })
        .expect("writes");
    assert_eq!(summary.failed, 0);
    let text = String::from_utf8(traced).expect("UTF-8");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let roots = lines
        .iter()
        .filter(|l| l.get("stateRoot").is_some())
        .count();
    assert_eq!(roots, vectors.len(), "one state root per vector");
    let summaries = lines.iter().filter(|l| l.get("gasUsed").is_some()).count();
    assert_eq!(summaries, roots, "one summary per vector");
    let steps = lines.iter().filter(|l| l.get("pc").is_some()).count();
    assert!(steps > 3 * roots, "{steps} steps for {roots} vectors");
    // Each vector's root is the state root its test expects (every vector passed).
    let out = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .arg("statetest")
        .arg("--trace")
        .args(&files)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("{\"stateRoot\":\"0x"))
            .count(),
        roots
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{roots} passed, 0 failed")
    );
}
