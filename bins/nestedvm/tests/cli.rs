//! The `nestedvm` command: its output contract and its handling of bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn nestedvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .args(args)
        .output()
        .expect("runs")
}

fn with_stdin(args: &[&str], input: &str) -> Output {
    with_stdin_bytes(args, input.as_bytes())
}

fn with_stdin_bytes(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("writes");
    child.wait_with_output().expect("finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn readme_example_prints_seven() {
    let o = nestedvm(&["run", "0x600360040160005260ff6000f3"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("status:   success"), "{out}");
    assert!(out.contains("first 32-byte word = 7"), "{out}");
}

#[test]
fn sync_compile_tiers_up_before_the_run_goes_on() {
    // A loop of 50 iterations, hot after 10: compiled during the run when asked to wait for
    // it; in the background (the default) the short run may end first. Same result either way.
    let code = "0x5f5b600101806032116001575f5260205ff3";
    let args = [
        "run",
        code,
        "--profile",
        "evm",
        "--hot-after",
        "10",
        "--json",
    ];
    let sync = nestedvm(&[&args[..], &["--sync-compile"]].concat());
    assert_eq!(sync.status.code(), Some(0));
    let background = nestedvm(&args);
    assert_eq!(background.status.code(), Some(0));
    let sync = stdout(&sync);
    assert!(sync.contains("\"engine\":\"jit\""), "{sync}");
    let without_engine = |s: &str| s.split(",\"engine\"").next().unwrap_or("").to_string();
    assert_eq!(without_engine(&sync), without_engine(&stdout(&background)));
    assert!(sync.contains("0032\""), "{sync}");
}

#[test]
fn json_is_one_line_in_the_documented_shape() {
    let o = nestedvm(&["run", "0x600360040160005260206000f3", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "{\"status\":\"success\",\"reason\":null,\"output\":\"0x0000000000000000000000000000000000000000000000000000000000000007\",\"gas_used\":992,\"evm_gas_used\":24,\"gas_refund\":0,\"logs\":[],\"storage\":{},\"engine\":\"interp\"}\n"
    );
}

#[test]
fn a_hypervisor_refusal_prints_its_cause_on_one_line_and_one_json_key() {
    // PUSH1 5 JUMP: byte 5 is no JUMPDEST (it is past the end), so the hypervisor reverts.
    let text = stdout(&nestedvm(&["run", "0x600556"]));
    let causes: Vec<&str> = text.lines().filter(|l| l.starts_with("cause:")).collect();
    assert_eq!(causes, ["cause:    bad jump to 0x5 at pc 2"], "{text}");
    assert!(text.contains("status:   revert\n"), "{text}");
    // The on-chain result as it was, the cause last.
    let json = stdout(&nestedvm(&["run", "0x600556", "--json"]));
    assert_eq!(
        json,
        "{\"status\":\"revert\",\"reason\":null,\"output\":\"0x\",\"gas_used\":437,\"evm_gas_used\":30000000,\"gas_refund\":0,\"logs\":[],\"storage\":{},\"engine\":\"interp\",\"cause\":{\"kind\":\"bad_jump\",\"pc\":2,\"to\":\"0x5\"}}\n"
    );
    // A success, and the guest's own empty revert, have no cause.
    let json = stdout(&nestedvm(&["run", "0x600160005260206000f3", "--json"]));
    assert_eq!(
        json,
        "{\"status\":\"success\",\"reason\":null,\"output\":\"0x0000000000000000000000000000000000000000000000000000000000000001\",\"gas_used\":812,\"evm_gas_used\":18,\"gas_refund\":0,\"logs\":[],\"storage\":{},\"engine\":\"interp\"}\n"
    );
    for args in [&["run", "0x5f5ffd"][..], &["run", "0x5f5ffd", "--json"]] {
        let out = stdout(&nestedvm(args));
        assert!(!out.contains("cause"), "{out}");
    }
}

#[test]
fn hyvm_reports_the_on_chain_gas_and_the_plain_contract_gas() {
    let code = "0x600360040160005260206000f3";
    let text = stdout(&nestedvm(&["run", code]));
    assert!(text.contains("gas used: 992 (refund 0)"), "{text}");
    assert!(
        text.contains("evm gas:  24 as a plain contract (the hypervisor adds 968)"),
        "{text}"
    );
    let skipped = stdout(&nestedvm(&["run", code, "--json", "--no-evm-gas"]));
    let v: serde_json::Value = serde_json::from_str(skipped.trim()).expect("json");
    assert_eq!(
        (v["gas_used"].as_u64(), v["evm_gas_used"].is_null()),
        (Some(992), true)
    );
    let evm = stdout(&nestedvm(&["run", code, "--json", "--profile", "evm"]));
    let v: serde_json::Value = serde_json::from_str(evm.trim()).expect("json");
    assert_eq!(
        (v["gas_used"].as_u64(), v["evm_gas_used"].as_u64()),
        (Some(24), Some(24))
    );
    let text = stdout(&nestedvm(&["run", code, "--profile", "evm"]));
    assert!(!text.contains("evm gas:"), "{text}");
}

#[test]
fn json_lists_logs_storage_in_slot_order_and_halt_reasons() {
    // SSTORE(0x10, 1), SSTORE(2, 0x1f), LOG1(topic 5, data = 32 bytes of memory 0)
    let o = nestedvm(&["run", "0x6001601055601f600255600560205fa1", "--json"]);
    let text = stdout(&o);
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("json");
    assert_eq!(v["status"], "success");
    let storage = v["storage"].as_object().expect("object");
    assert_eq!(storage.len(), 2);
    // Numeric slot order in the text (serde_json's map would sort the keys as strings).
    assert!(
        text.find("\"0x2\":").unwrap() < text.find("\"0x10\":").unwrap(),
        "{text}"
    );
    assert_eq!(storage["0x10"], "0x1");
    assert_eq!(storage["0x2"], "0x1f");
    assert_eq!(
        v["logs"][0]["address"],
        "0x000000000000000000000000000000000000c0de"
    );
    assert_eq!(v["logs"][0]["topics"][0], format!("0x{:064x}", 5));
    assert_eq!(v["gas_refund"], 0);
    let halt = nestedvm(&["run", "0xfe", "--json", "--gas", "1000"]);
    let h: serde_json::Value = serde_json::from_str(stdout(&halt).trim()).expect("json");
    assert_eq!(
        (
            h["status"].as_str(),
            h["reason"].as_str(),
            h["gas_used"].as_u64()
        ),
        (Some("halt"), Some("invalid"), Some(1000))
    );
    assert_eq!(
        halt.status.code(),
        Some(0),
        "the guest ran: exit 0 whatever its status"
    );
}

#[test]
fn flags_reach_the_run() {
    // CALLDATALOAD(0) returned, in evm at cancun with a value and a caller.
    let o = nestedvm(&[
        "run",
        "0x5f355f5260205ff3",
        "--profile",
        "evm",
        "--calldata",
        "0x2a",
        "--fork",
        "cancun",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["output"], format!("0x2a{}", "0".repeat(62)));
    // CALLER SSTORE'd, value and address honoured.
    let o = nestedvm(&[
        "run",
        "0x335f553460015530600255",
        "--caller",
        "0x00000000000000000000000000000000000000aa",
        "--value",
        "3",
        "--address",
        "0x00000000000000000000000000000000000000bb",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["storage"]["0x0"], "0xaa");
    assert_eq!(v["storage"]["0x1"], "0x3");
    assert_eq!(v["storage"]["0x2"], "0xbb");
    // --static refuses SSTORE; --verifier moves guest memory (MSIZE after MSTORE is still 32).
    let o = nestedvm(&["run", "0x600160015500", "--static", "--json"]);
    assert!(stdout(&o).contains("\"reason\":\"state_change_during_static_call\""));
    let o = nestedvm(&["run", "0x60015f52595f5260205ff3", "--verifier", "--json"]);
    assert!(stdout(&o).contains(&format!("0x{:064x}", 32)));
}

#[test]
fn help_and_version_exit_zero() {
    for args in [&["--help"][..], &["run", "--help"], &["--version"]] {
        let o = nestedvm(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(!stdout(&o).is_empty());
    }
}

#[test]
fn code_file_is_read_as_hex_text() {
    let dir = std::env::temp_dir().join(format!("nestedvm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("code.hex");
    std::fs::write(&path, "0x600360040160005260206000f3\n").unwrap();
    let o = nestedvm(&["run", "--code-file", path.to_str().unwrap(), "--json"]);
    assert!(
        stdout(&o).contains("\"status\":\"success\""),
        "{}",
        stderr(&o)
    );
}

/// A bad-input error: exit code 2, nothing on stdout, and a short message on stderr: one
/// line of ours, or clap's error with the lines that name what is missing, the possible values
/// or a tip, never its usage and help boilerplate.
fn assert_short_error(args: &[&str], o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(stdout(o).is_empty(), "{args:?}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert!(err.trim_end().lines().count() <= 3, "{args:?}: {err}");
    assert!(!err.contains("Usage:"), "{args:?}: {err}");
    assert!(!err.contains("For more information"), "{args:?}: {err}");
    err
}

#[test]
fn bad_input_is_a_short_error_and_exit_code_2() {
    let cases: &[&[&str]] = &[
        &["run", "0x600"],
        &["run", "0xzz"],
        &["run", "0x00", "--engine", "fast"],
        &["run", "0x00", "--profile", "wasm"],
        &["run", "0x00", "--fork", "london"],
        &["run", "0x00", "--gas", "lots"],
        &["run", "0x00", "--calldata", "0x01"],
        &["run", "0x00", "--caller", "0x1234"],
        &["run", "0x00", "--hypervisor", "0x"],
        &["run", "0x00", "--value", "-1"],
        &["run", "0x00", "--profile", "evm", "--verifier"],
        &["run"],
        &["run", "0x00", "--dynamic-jumps", "sometimes"],
        &["run", "0x00", "--opt-level", "max"],
        &["run", "0x00", "--hot-after", "soon"],
        &["run", "0x00", "--timeout", "soon"],
        &["run", "0x00", "--timeout", "-1s"],
        &["run", "0x00", "--timeout", "2d"],
        &["run", "--batch", "--timeout", "1.2.3"],
        &["run", "--batch", "--jobs", "0"],
        &["run", "--batch", "--jobs", "many"],
        &["run", "--batch", "--jobs", "1025"],
        &["run", "0x00", "--jobs", "2"],
        &["bench", "--batch", "--jobs", "0"],
        &["bench", "fib", "--jobs", "2"],
        &["run", "0x00", "--no-such-flag"],
        &["run", "--code-file", "/nonexistent/file"],
        &["disasm", "0x6"],
        &["asm", "PUSH1 0x100"],
        &["frobnicate"],
        &[],
        &["bench", "no-such-program"],
        &["bench", "fib", "--samples", "0"],
        &["bench", "fib", "--samples", "many"],
        &["bench", "fib", "--time", "-1"],
        &["bench", "fib", "--time", "soon"],
        &["bench", "fib", "--engines", "interp,fast"],
        &["bench", "fib", "--engines", ""],
        &["bench", "fib", "--opt-level", "fastest"],
        &["bench", "fib", "--profile", "wasm"],
        &["bench", "snailtracer", "--profile", "hyvm"],
        &["bench", "fib", "--calldata", "0x01"],
        &["bench", "--code-file", "/nonexistent/code.hex"],
        &["bench", "--list", "--batch"],
        &["bench", "--compile", "fib"],
        &["bench", "--batch", "--batch-len", "0"],
    ];
    for args in cases {
        assert_short_error(args, &nestedvm(args));
    }
    // Names the problem.
    assert!(stderr(&nestedvm(&["run", "0x600"])).contains("odd number of hex digits"));
    assert!(stderr(&nestedvm(&["run", "0x00", "--calldata", "0x01"])).contains("calldata"));
    assert!(stderr(&nestedvm(&["run", "0x00", "--fork", "london"])).contains("london"));
    let err = stderr(&nestedvm(&["run", "0x00", "--timeout", "soon"]));
    assert_eq!(
        err.trim_end(),
        "error: --timeout: `soon` is not a duration (e.g. 500ms, 2s, 1.5s, 1m, or seconds)"
    );
    assert!(stderr(&nestedvm(&["bench", "no-such-program"])).contains("no-such-program"));
    let err = stderr(&nestedvm(&["run", "--batch", "--jobs", "0"]));
    assert_eq!(
        err.trim_end(),
        "error: --jobs: `0` is not between 1 and 1024"
    );
    assert!(stderr(&nestedvm(&["bench", "fib", "--engines", "interp,fast"])).contains("fast"));
}

#[test]
fn code_over_the_limit_is_refused() {
    let hex = "00".repeat(nestedvm::MAX_CODE_LEN + 1);
    let dir = std::env::temp_dir().join(format!("nestedvm-cli-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.hex");
    std::fs::write(&path, hex).unwrap();
    let o = nestedvm(&["run", "--code-file", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("longer than the limit"));
}

#[test]
fn batch_answers_every_line_in_order_and_survives_bad_ones() {
    let input = concat!(
        "{\"code\":\"0x600360040160005260206000f3\"}\n",
        "not json\n",
        "{\"code\":\"0x5f355f5260205ff3\",\"calldata\":\"0x07\",\"profile\":\"evm\",\"fork\":\"shanghai\",\"gas\":100000}\n",
        "{\"calldata\":\"0x\"}\n",
        "{\"code\":\"0x5f5460010160005500\",\"storage\":{\"0x0\":\"0x29\"},\"engine\":\"interp\"}\n",
        "{\"code\":\"0x600360040160005260206000f3\",\"engine\":\"jit\"}\n",
        "{\"code\":\"0x00\",\"gas\":\"0x10\"}\n",
    );
    let o = with_stdin(&["run", "--batch"], input);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0]["output"], format!("0x{:064x}", 7));
    assert!(lines[1]["error"].as_str().unwrap().contains("bad JSON"));
    assert_eq!(lines[2]["output"], format!("0x07{}", "0".repeat(62)));
    assert!(lines[3]["error"].as_str().unwrap().contains("code"));
    assert_eq!(lines[4]["storage"]["0x0"], "0x2a");
    assert_eq!(lines[5]["output"], format!("0x{:064x}", 7));
    assert_eq!(lines[5]["engine"], "jit");
    // 16 gas (hex) does not cover the hypervisor's start-up.
    assert_eq!(lines[6]["gas_used"], 16);
    assert_eq!(lines[6]["reason"], "out_of_gas");
}

#[test]
fn disasm_and_asm_round_trip() {
    let o = nestedvm(&["disasm", "0x600360040160005260ff6000f3"]);
    let text = stdout(&o);
    assert!(
        text.starts_with("0x0000: PUSH1 0x03\n0x0002: PUSH1 0x04\n0x0004: ADD\n"),
        "{text}"
    );
    let back = with_stdin(&["asm"], &text);
    assert_eq!(stdout(&back).trim(), "0x600360040160005260ff6000f3");
    let labels = nestedvm(&["asm", "start: JUMPDEST PUSH @start JUMP"]);
    assert_eq!(stdout(&labels).trim(), "0x5b61000056");
}

/// `run FLAG` on a small program: what it printed, after checking it exited 0.
fn dumped(flag: &str) -> String {
    let o = nestedvm(&[
        "run",
        flag,
        "--profile",
        "evm",
        "0x600160020160005260205ff3",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn dump_ir_prints_the_cranelift_function_instead_of_running() {
    let out = dumped("--dump-ir");
    assert!(out.starts_with("function "), "{out}");
    assert!(out.contains("return"), "{out}");
    assert!(!out.contains("status:"), "it does not run the code: {out}");
}

#[test]
fn dump_asm_prints_the_machine_code_instead_of_running() {
    let out = dumped("--dump-asm");
    // The host's instructions, the return native code ends with among them, not the IR.
    assert!(out.contains("ret"), "{out}");
    assert!(
        !out.contains("function "),
        "machine code, not the IR: {out}"
    );
    if cfg!(target_arch = "x86_64") {
        // Native code keeps its context in the pinned register.
        assert!(out.contains("%r15"), "{out}");
    }
    assert!(!out.contains("status:"), "it does not run the code: {out}");
    let both = nestedvm(&["run", "--dump-asm", "--dump-ir", "0x00"]);
    assert_eq!(both.status.code(), Some(2), "{}", stderr(&both));
}

#[test]
fn a_closed_output_pipe_ends_the_command_without_a_panic() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .args(["run", "--dump-ir", "--profile", "evm"])
        .arg(format!("0x{}", "600160020160005260205ff3".repeat(200)))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("reads a line");
    // The reader is gone: the rest of the IR goes to a closed pipe.
    let out = child.wait_with_output().expect("ends");
    assert!(first.starts_with("function "), "{first}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

fn json_lines(o: &Output) -> Vec<serde_json::Value> {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The fastest settings: one sample, no time budget.
const QUICK: [&str; 4] = ["--samples", "1", "--time", "0"];

#[test]
fn bench_json_has_one_line_per_program_profile_and_engine() {
    let mut args = vec!["bench", "analysis", "JUMPDEST_n0", "--json"];
    args.extend(QUICK);
    args.extend(["--engines", "revm,interp,jit"]);
    let lines = json_lines(&nestedvm(&args));
    let seen: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["program"].as_str().unwrap_or_default().to_string(),
                l["profile"].as_str().unwrap_or_default().to_string(),
                l["engine"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for (program, profile) in [
        ("analysis", "evm"),
        ("JUMPDEST_n0", "evm"),
        ("JUMPDEST_n0", "hyvm"),
    ] {
        for engine in ["interp", "jit", "revm"] {
            expected.push((program.into(), profile.into(), engine.into()));
        }
    }
    assert_eq!(seen, expected);
    for l in &lines {
        let keys: Vec<&str> = l
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 5, "{l}");
        assert!(l["median_ns"].as_u64().is_some_and(|n| n > 0), "{l}");
        if l["engine"] == "jit" {
            assert!(l["compile_ns"].as_u64().is_some_and(|n| n > 0), "{l}");
        } else {
            assert!(l["compile_ns"].is_null(), "{l}");
        }
    }
}

#[test]
fn bench_times_the_baseline_tier_from_cold_and_warm() {
    // From cold: a column of its own, each run compiling.
    let mut args = vec![
        "bench",
        "fib",
        "--profile",
        "evm",
        "--engines",
        "interp,baseline",
    ];
    args.extend(QUICK);
    let o = nestedvm(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].contains("baseline(cold)"), "{table}");
    args.push("--json");
    let lines = json_lines(&nestedvm(&args));
    let engines: Vec<&str> = lines
        .iter()
        .map(|l| l["engine"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(engines, ["interp", "baseline"]);
    assert!(lines
        .iter()
        .all(|l| l["median_ns"].as_u64().is_some_and(|n| n > 0)));
    // Warm, as `jit` with `--opt-level baseline`: its compilation timed apart.
    let mut args = vec!["bench", "fib", "--profile", "evm", "--engines", "jit"];
    args.extend(QUICK);
    args.extend(["--opt-level", "baseline", "--json"]);
    let lines = json_lines(&nestedvm(&args));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["engine"], "jit");
    assert!(lines[0]["compile_ns"].as_u64().is_some_and(|n| n > 0));
}

#[test]
fn bench_times_a_users_code_with_its_calldata_and_prints_a_table() {
    let dir = std::env::temp_dir().join(format!("nestedvm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("echo.hex");
    // Returns its first call data word.
    std::fs::write(&path, "0x5f355f5260205ff3\n").expect("writes");
    let path = path.to_str().expect("utf-8 path");
    let mut args = vec!["bench", "--code-file", path, "--calldata", "0x2a", "--json"];
    args.extend(QUICK);
    let lines = json_lines(&nestedvm(&args));
    // Call data makes it evm-only.
    assert!(lines
        .iter()
        .all(|l| l["program"] == "echo" && l["profile"] == "evm"));
    assert!(lines.iter().any(|l| l["engine"] == "jit"));
    // Without call data it runs in both profiles; the table has a header and a row each.
    let mut args = vec!["bench", path, "--engines", "interp"];
    args.extend(QUICK);
    let o = nestedvm(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[0].starts_with("program") && rows[0].contains("jit/revm"),
        "{table}"
    );
    assert!(
        rows[1].starts_with("echo") && rows[1].contains("evm"),
        "{table}"
    );
    assert!(rows[2].contains("hyvm"), "{table}");
}

#[test]
fn bench_batch_reports_both_workloads_and_their_compiles() {
    let mut args = vec!["bench", "--batch", "--batch-len", "100", "--json"];
    args.extend(QUICK);
    let lines = json_lines(&nestedvm(&args));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["workload"], "distinct");
    assert_eq!(lines[0]["executions"], 100);
    assert_eq!(lines[0]["compiles"], 0);
    assert_eq!(lines[1]["workload"], "repeated");
    // Each of the payload's blocks runs once a run: under the default hot threshold (10,000)
    // 100 runs compile nothing (tests/bench.rs checks cache hits with a low threshold).
    assert_eq!(lines[1]["compiles"], 0);
    assert!(lines[1]["per_second"].as_u64().is_some_and(|n| n > 0));
    assert!(lines.iter().all(|l| l.get("speedup").is_none()));
    // With two threads, one thread is timed beside them and the speed-up is their ratio.
    args.extend(["--jobs", "2"]);
    let lines = json_lines(&nestedvm(&args));
    let rows: Vec<(&str, u64)> = lines
        .iter()
        .map(|l| (l["workload"].as_str().unwrap(), l["jobs"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("distinct", 1),
            ("distinct", 2),
            ("repeated", 1),
            ("repeated", 2)
        ]
    );
    for pair in lines.chunks(2) {
        let ratio = pair[0]["median_ns"].as_f64().unwrap() / pair[1]["median_ns"].as_f64().unwrap();
        let speedup = pair[1]["speedup"].as_f64().expect("a speed-up");
        assert!((speedup - ratio).abs() < 0.01 + ratio * 0.01, "{pair:?}");
        assert!(pair[0].get("speedup").is_none());
    }
}

#[test]
fn clap_errors_keep_the_missing_argument_and_the_suggestion() {
    let o = nestedvm(&["disasm"]);
    let err = assert_short_error(&["disasm"], &o);
    assert_eq!(
        err,
        "error: the following required arguments were not provided:\n  <HEX>\n"
    );
    let o = nestedvm(&["run", "0x00", "--jsn"]);
    let err = assert_short_error(&["run", "--jsn"], &o);
    assert!(
        err.contains("tip: a similar argument exists: '--json'"),
        "{err}"
    );
    let o = nestedvm(&["run", "0x00", "--engine", "fast"]);
    let err = assert_short_error(&["--engine", "fast"], &o);
    assert!(
        err.contains("[possible values: interp, jit, auto]"),
        "{err}"
    );
}

#[test]
fn help_lists_the_possible_values_of_every_enum_flag() {
    // The help of `command`, which must list `values`.
    let lists = |command: &str, values: &[&str]| {
        let o = nestedvm(&[command, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{command}");
        let help = stdout(&o);
        for value in values {
            assert!(help.contains(value), "{command}: {value}: {help}");
        }
        help
    };
    let run_values = [
        "interp",
        "auto",
        "evm",
        "shanghai",
        "osaka",
        "jump-table",
        "baseline",
    ];
    lists("run", &run_values);
    lists(
        "difftest",
        &[
            "jit-interp",
            "jit-table",
            "jit-tiered",
            "jit-baseline",
            "hyvm-onchain",
        ],
    );
    let bench = lists("bench", &["baseline", "revm", "speed"]);
    assert!(!bench.contains("jit-tiered"), "bench does not time it");
}

#[test]
fn enum_flags_ignore_case_and_keep_their_old_spellings() {
    let engine = |args: &[&str]| {
        let o = nestedvm(&[&["run", "0x00", "--json"][..], args].concat());
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
        v["engine"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(engine(&["--engine", "JIT"]), "jit");
    assert_eq!(engine(&["--engine", "Interpreter"]), "interp");
    assert_eq!(
        engine(&["--engine", "jit", "--dynamic-jumps", "interp"]),
        "jit"
    );
    assert_eq!(
        engine(&["--engine", "jit", "--dynamic-jumps", "jump_table"]),
        "jit"
    );
    assert_eq!(engine(&["--engine", "jit", "--opt-level", "NONE"]), "jit");
    assert_eq!(
        engine(&["--engine", "interp", "--fork", "Cancun", "--profile", "EVM"]),
        "interp"
    );
    let o = nestedvm(&[
        "bench",
        "fib",
        "--engines",
        "Interpreter, JIT",
        "--profile",
        "Evm",
        "--samples",
        "1",
        "--time",
        "0",
        "--json",
    ]);
    let engines: Vec<String> = json_lines(&o)
        .iter()
        .map(|l| l["engine"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(engines, ["interp", "jit"]);
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = nestedvm(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(script.contains("nestedvm"), "{shell}");
        assert!(
            script.contains("difftest"),
            "{shell}: subcommands are completed"
        );
        if ["bash", "zsh", "fish"].contains(&shell) {
            assert!(
                script.contains("jit-tiered"),
                "{shell}: so are engine names"
            );
        }
    }
    assert_short_error(
        &["completions", "tcsh"],
        &nestedvm(&["completions", "tcsh"]),
    );
}

/// `0x600360040160005260206000f3`, which returns 7 as a word, written with white space in it.
const SEVEN_SPACED: &str = "0x6003 6004\n01 6000\t52\r\n6020 6000 f3\n";

fn returns_seven(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    let v: serde_json::Value = serde_json::from_str(&stdout(o)).expect("JSON");
    assert_eq!(v["output"], format!("0x{:064x}", 7));
}

#[test]
fn a_dash_reads_the_code_from_stdin() {
    returns_seven(&with_stdin(&["run", "-", "--json"], SEVEN_SPACED));
    returns_seven(&with_stdin(
        &["run", "--code-file", "-", "--json"],
        SEVEN_SPACED,
    ));
    let o = with_stdin(&["disasm", "-"], "60 03\n5f\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "0x0000: PUSH1 0x03\n0x0002: PUSH0\n");
    let o = with_stdin(&["asm", "-"], "PUSH1 3\nPUSH0\n");
    assert_eq!(stdout(&o).trim(), "0x60035f");
    let bench = [
        "bench",
        "--code-file",
        "-",
        "--engines",
        "interp",
        "--profile",
        "evm",
        "--samples",
        "1",
        "--time",
        "0",
        "--json",
    ];
    let lines = json_lines(&with_stdin(&bench, SEVEN_SPACED));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["program"], "stdin");
}

#[test]
fn hex_in_a_file_may_hold_white_space_anywhere() {
    let dir = std::env::temp_dir().join(format!("nestedvm-cli-spaced-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("seven.hex");
    std::fs::write(&path, SEVEN_SPACED).unwrap();
    let path = path.to_str().unwrap();
    returns_seven(&nestedvm(&["run", "--code-file", path, "--json"]));
    // The digits are counted without the white space: 9 here, though 12 characters.
    let odd = dir.join("odd.hex");
    std::fs::write(&odd, "6001 6002\n6\n").unwrap();
    let args = ["run", "--code-file", odd.to_str().unwrap()];
    let err = assert_short_error(&args, &nestedvm(&args));
    assert!(err.contains("odd number of hex digits (9)"), "{err}");
    let err = assert_short_error(&["run", "-"], &with_stdin(&["run", "-"], "60 0"));
    assert!(err.contains("odd number of hex digits (3)"), "{err}");
}

#[test]
fn asm_of_a_missing_file_says_so() {
    for path in ["/missing/file", "missing.asm", "prog.s", "notes.txt"] {
        let o = nestedvm(&["asm", path]);
        assert_short_error(&["asm", path], &o);
        assert_eq!(stderr(&o), format!("error: asm: {path}: no such file\n"));
    }
    // Text that is no path is still assembled (a `//` comment too), and a file that exists
    // is read.
    for text in ["PUSH1 3 PUSH0", "PUSH1 3 PUSH0 // three, then zero"] {
        assert_eq!(
            stdout(&nestedvm(&["asm", text])).trim(),
            "0x60035f",
            "{text}"
        );
    }
    let dir = std::env::temp_dir().join(format!("nestedvm-cli-asm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("prog.asm");
    std::fs::write(&file, "PUSH1 3\nPUSH0\n").unwrap();
    let o = nestedvm(&["asm", file.to_str().unwrap()]);
    assert_eq!(stdout(&o).trim(), "0x60035f", "{}", stderr(&o));
}

#[test]
fn batch_refuses_the_dump_flags() {
    for flag in ["--dump-ir", "--dump-asm"] {
        let args = ["run", "--batch", flag];
        // Refused before any line is read.
        let o = nestedvm(&args);
        let err = assert_short_error(&args, &o);
        assert!(
            err.contains(&format!(
                "the argument '--batch' cannot be used with '{flag}'"
            )),
            "{err}"
        );
    }
}

#[test]
fn batch_answers_lines_not_utf8_or_too_long_and_goes_on() {
    let ok = br#"{"code":"0x600160005260206000f3","profile":"evm"}"#;
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"code\":\"0x60\xff\"}\n");
    input.extend_from_slice(ok);
    input.push(b'\n');
    // One byte over the documented 64 MiB limit, then a good line.
    input.extend(std::iter::repeat_n(b' ', (64 << 20) + 1));
    input.push(b'\n');
    input.extend_from_slice(ok);
    input.push(b'\n');
    let o = with_stdin_bytes(&["run", "--batch"], &input);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].contains("not UTF-8"), "{}", lines[0]);
    assert!(
        lines[1].starts_with(r#"{"status":"success""#),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("67108865 bytes, longer than the limit of 67108864"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], lines[1]);
}

/// A loop with gas for years (`top: JUMPDEST PUSH0 JUMP`, in either profile): without a
/// working deadline these tests hang.
const ENDLESS: &str = "0x5b5f56";
const HUGE_GAS: &str = "1000000000000000000";

#[test]
fn timeout_halts_an_endless_loop_on_every_engine() {
    for engine in [
        &["--engine", "interp"][..],
        &["--engine", "jit"],
        &["--engine", "jit", "--opt-level", "baseline"],
        &["--engine", "auto", "--hot-after", "100", "--sync-compile"],
    ] {
        for profile in ["hyvm", "evm"] {
            let mut args = vec!["run", ENDLESS, "--gas", HUGE_GAS, "--timeout", "100ms"];
            args.extend(["--profile", profile, "--json"]);
            args.extend(engine);
            let o = nestedvm(&args);
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
            let line: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
            assert_eq!(line["status"], "halt", "{args:?}");
            assert_eq!(line["reason"], "timeout", "{args:?}");
        }
    }
    // The readable summary names the reason as for other halts.
    let o = nestedvm(&["run", ENDLESS, "--gas", HUGE_GAS, "--timeout", "0.1"]);
    assert!(
        stdout(&o).contains("status:   halt (timeout)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_generous_timeout_changes_nothing() {
    for timeout in ["1h", "90s", "1.5s", "2000ms", "30"] {
        let args = ["run", "0x600360040160005260ff6000f3", "--json"];
        let plain = stdout(&nestedvm(&args));
        let timed = stdout(&nestedvm(&[&args[..], &["--timeout", timeout]].concat()));
        assert_eq!(timed, plain, "--timeout {timeout}");
    }
}

#[test]
fn batch_timeouts_come_from_the_flag_or_the_line_and_the_batch_goes_on() {
    let endless = format!(r#"{{"code":"{ENDLESS}","gas":"{HUGE_GAS}""#);
    let input = [
        // The flag's default (1h) overridden by the line.
        format!(r#"{endless},"timeout_ms":100}}"#),
        // A good line after a timed-out one.
        r#"{"code":"0x600360040160005260206000f3"}"#.to_string(),
        format!(r#"{endless},"engine":"jit","profile":"evm","timeout_ms":"50"}}"#),
        format!(r#"{endless},"timeout_ms":"soon"}}"#),
        format!(r#"{endless},"timeout_ms":-5}}"#),
        r#"{"code":"0x600360040160005260206000f3","timeout_ms":60000}"#.to_string(),
    ]
    .join("\n");
    let o = with_stdin(&["run", "--batch", "--timeout", "1h"], &input);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 6);
    for i in [0, 2] {
        assert_eq!(lines[i]["reason"], "timeout", "line {i}: {}", lines[i]);
    }
    for i in [1, 5] {
        assert_eq!(lines[i]["output"], format!("0x{:064x}", 7), "line {i}");
    }
    for i in [3, 4] {
        let error = lines[i]["error"].as_str().unwrap_or_default();
        assert!(error.contains("timeout_ms"), "line {i}: {}", lines[i]);
    }
    // The flag alone sets every line's deadline.
    let o = with_stdin(
        &["run", "--batch", "--timeout", "100ms"],
        &format!("{endless}}}\n{endless},\"engine\":\"interp\"}}\n"),
    );
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 2, "{}", stderr(&o));
    assert!(lines.iter().all(|l| l["reason"] == "timeout"), "{lines:?}");
}

/// A scratch directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nestedvm-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn prestate_origin_block_and_dump_flags_are_the_batch_fields() {
    // Stores what the block and the transaction say; runs as the pre-state's 0xaaaa code.
    let code = nestedvm::interp::asm::assemble(
        "NUMBER PUSH1 0 SSTORE TIMESTAMP PUSH1 1 SSTORE BASEFEE PUSH1 2 SSTORE COINBASE PUSH1 3 SSTORE
         GASLIMIT PUSH1 4 SSTORE PREVRANDAO PUSH1 5 SSTORE CHAINID PUSH1 6 SSTORE
         BLOBBASEFEE PUSH1 7 SSTORE GASPRICE PUSH1 8 SSTORE ORIGIN PUSH1 9 SSTORE STOP",
    )
    .unwrap();
    let a = "0x000000000000000000000000000000000000aaaa";
    let accounts = format!(
        r#"{{"{a}":{{"balance":"0x5","nonce":2,"code":"{}","storage":{{"0x20":"0x1"}}}}}}"#,
        nestedvm::output::hex0x(&code)
    );
    let path = scratch("prestate").join("pre.json");
    std::fs::write(&path, &accounts).unwrap();
    let flags = nestedvm(&[
        "run",
        "--profile",
        "evm",
        "--prestate",
        path.to_str().unwrap(),
        "--address",
        a,
        "--origin",
        "0x0000000000000000000000000000000000000042",
        "--block-number",
        "100",
        "--timestamp",
        "0x3039",
        "--basefee",
        "3",
        "--coinbase",
        "0x0000000000000000000000000000000000c0ffee",
        "--block-gas-limit",
        "40000000",
        "--prevrandao",
        "0x1234",
        "--chain-id",
        "10",
        "--blob-base-fee",
        "2",
        "--gas-price",
        "9",
        "--dump",
        "--json",
    ]);
    assert_eq!(flags.status.code(), Some(0), "{}", stderr(&flags));
    let line = format!(
        r#"{{"profile":"evm","address":"{a}","origin":"0x0000000000000000000000000000000000000042","block":{{"number":100,"timestamp":"0x3039","basefee":3,"coinbase":"0x0000000000000000000000000000000000c0ffee","gaslimit":40000000,"prevrandao":"0x1234","chainid":10,"blobbasefee":2,"gasprice":9}},"dump":true,"accounts":{accounts}}}"#
    );
    let batch = with_stdin(&["run", "--batch"], &line);
    assert_eq!(stdout(&flags), stdout(&batch));
    let v: serde_json::Value = serde_json::from_str(stdout(&flags).trim()).unwrap();
    let stored: Vec<&str> = (0..10)
        .map(|i| v["storage"][format!("0x{i:x}")].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(
        stored,
        [
            "0x64",
            "0x3039",
            "0x3",
            "0xc0ffee",
            "0x2625a00",
            "0x1234",
            "0xa",
            "0x2",
            "0x9",
            "0x42"
        ]
    );
    let account = &v["state"][a];
    assert_eq!(account["balance"], "0x5");
    assert_eq!(account["nonce"], "0x2");
    assert_eq!(account["storage"]["0x20"], "0x1", "the pre-state's slot");
    // Without --dump the line is what it always was.
    let plain = nestedvm(&["run", "0x00", "--json"]);
    assert!(!stdout(&plain).contains("\"state\""));
}

#[test]
fn bad_state_input_is_a_short_error_naming_it() {
    let dir = scratch("bad-state");
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"0x00000000000000000000000000000000000000aa":{"balanse":"0x1"}}"#,
    )
    .unwrap();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/programs/revmc/counter.json"
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "0x00", "--prestate", "/nonexistent/pre.json"],
            "pre.json",
        ),
        (
            &["run", "0x00", "--prestate", bad.to_str().unwrap()],
            "unknown field `balanse`",
        ),
        (&["run", "0x00", "--block-number", "soon"], "--block-number"),
        (&["run", "0x00", "--gas-price", "many"], "--gas-price"),
        (&["run", "0x00", "--coinbase", "0x12"], "--coinbase"),
        (&["run", "0x00", "--origin", "0x12"], "--origin"),
        (&["run", "/nonexistent/fixture.json"], "fixture.json"),
        (&["run", fixture, "--calldata", "0x01"], "brings its own"),
    ];
    for (args, names) in cases {
        let err = assert_short_error(args, &nestedvm(args));
        assert!(err.contains(names), "{args:?}: {err}");
    }
    let input = concat!(
        r#"{"code":"0x00","block":{"numbr":1}}"#,
        "\n",
        r#"{"code":"0x00","accounts":{"0x00000000000000000000000000000000000000aa":{"codee":"0x"}}}"#,
        "\n",
        r#"{"profile":"evm"}"#,
        "\n",
        r#"{"code":"0x00","dump":"yes"}"#,
        "\n",
    );
    let out = stdout(&with_stdin(&["run", "--batch"], input));
    let errors: Vec<&str> = out.lines().collect();
    assert_eq!(errors.len(), 4, "{out}");
    for (line, names) in errors
        .iter()
        .zip(["`numbr`", "`codee`", "missing `code`", "`dump`"])
    {
        assert!(
            line.starts_with(r#"{"error":"#) && line.contains(names),
            "{line}"
        );
    }
}

#[test]
fn a_fixture_runs_each_transaction_against_its_pre_state() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/programs/revmc/counter.json"
    );
    let o = nestedvm(&["run", fixture, "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    // The counter's increment ran in its pre-state (slot 0 was 0 there).
    assert_eq!(v["status"], "success");
    assert_eq!(v["storage"]["0x0"], "0x1");
    let text = stdout(&nestedvm(&["run", fixture]));
    assert!(text.starts_with("== counter\nstatus:   success"), "{text}");
}

#[test]
fn bench_times_a_fixture_against_its_pre_state_by_name_or_file() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/programs/revmc/counter.json"
    );
    for program in ["revmc/counter", file] {
        let args = [
            "bench",
            program,
            "--engines",
            "interp,jit,revm",
            "--samples",
            "1",
            "--time",
            "0",
            "--json",
        ];
        let o = nestedvm(&args);
        assert_eq!(o.status.code(), Some(0), "{program}: {}", stderr(&o));
        let engines: Vec<String> = stdout(&o)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .inspect(|v| assert_eq!(v["profile"], "evm", "a fixture runs in evm only"))
            .map(|v| v["engine"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(engines, ["interp", "jit", "revm"], "{program}");
    }
}

#[test]
fn batch_echoes_ids_runs_worlds_in_order_and_answers_alike_on_any_number_of_jobs() {
    // A counter: SLOAD(0) + 1 stored back and returned.
    let count = "0x5f546001018060005560005260206000f3";
    let input = format!(
        "{{\"id\":\"a\",\"world\":\"w\",\"code\":\"{count}\"}}\n\
         \n\
         {{\"id\":2,\"code\":\"0x00\",\"calldta\":\"0x2a\"}}\n\
         {{\"code\":\"0x00\",\"gas\":18446744073709551616}}\n\
         {{\"id\":[3],\"world\":\"w\",\"code\":\"{count}\"}}\n"
    );
    let one = with_stdin(&["run", "--batch", "--jobs", "1"], &input);
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    let lines: Vec<&str> = std::str::from_utf8(&one.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[0].starts_with(r#"{"id":"a","status":"success""#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(r#"{"id":2,"error":"unknown field `calldta` (known: "#),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        r#"{"error":"`gas`: 18446744073709551616 is over the limit 2^64-1"}"#
    );
    assert!(lines[3].starts_with(r#"{"id":[3],"status":"success","reason":null,"output":"0x0000000000000000000000000000000000000000000000000000000000000002""#), "{}", lines[3]);
    for jobs in ["2", "4"] {
        let many = with_stdin(&["run", "--batch", "--jobs", jobs], &input);
        assert_eq!(many.stdout, one.stdout, "--jobs {jobs}");
    }
    // Without --jobs: the available cores, the same answers.
    assert_eq!(with_stdin(&["run", "--batch"], &input).stdout, one.stdout);
}

/// A program driving the batch one request at a time gets each answer before it sends the
/// next, on one thread or several: no line waits for more input.
#[test]
fn batch_answers_each_line_before_the_next_arrives() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;
    for jobs in ["1", "2", "3"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
            .args(["run", "--batch", "--jobs", jobs])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawns");
        let mut input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        let (answer, answers) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in output.lines() {
                if answer.send(line.expect("reads")).is_err() {
                    break;
                }
            }
        });
        // A counter in a world, so that the answers also show the requests' order.
        let count = "0x5f546001018060005560005260206000f3";
        for n in 1..=3u8 {
            let world = if n == 2 { "" } else { r#""world":"w","# };
            writeln!(input, r#"{{"id":{n},{world}"code":"{count}"}}"#).expect("writes");
            input.flush().expect("flushes");
            // Generous: a slow machine, not a line held back, is what this allows for.
            let got = answers
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("--jobs {jobs}: no answer to line {n} while it waits"));
            let value = if n == 3 { 2 } else { 1 };
            assert!(
                got.starts_with(&format!(r#"{{"id":{n},"status":"success""#))
                    && got.contains(&format!(r#""output":"0x{value:064x}""#)),
                "--jobs {jobs}, line {n}: {got}"
            );
        }
        drop(input);
        assert!(child.wait().expect("exits").success(), "--jobs {jobs}");
        reader.join().expect("reader");
    }
}
