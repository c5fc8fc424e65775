//! `run --rpc-url` against a real node: ganache, installed by `scripts/local-node.sh install`
//! (`.ci/run` runs it, and so do these tests when it is missing), started here on a free port
//! of 127.0.0.1 and stopped at the end. The revmc fixtures' WETH is deployed through the
//! node's JSON-RPC, and nestedvm forked at the node's block must answer as the node's own
//! `eth_call` does.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const WETH: &str = "0xcccccccccccccccccccccccccccccccccccccccc";
const WALLET: &str = "0x1111111111111111111111111111111111111111";
/// WETH's `balanceOf(WALLET)` slot in the fixture, and the balance it holds (10^6).
const WALLET_SLOT: &str = "0xfc40ea33816453f766ebc0872d4b5152b468882abe7b6b35528069db4d6e41c4";
const WALLET_WETH: u64 = 1_000_000;

/// A node started for one test, stopped when dropped (the test passes or panics).
struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The local node's executable, installed from the npm registry on first use (so the test
/// command works on a fresh machine with Node.js and npm); the tests of this binary share one
/// install.
fn ganache() -> PathBuf {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = root.join(".local-node/node_modules/.bin/ganache");
    INSTALL.call_once(|| {
        if !bin.exists() {
            let status = std::process::Command::new("bash")
                .arg(root.join("scripts/local-node.sh"))
                .arg("install")
                .status();
            assert!(
                status.as_ref().is_ok_and(|s| s.success()),
                "installing the local node (scripts/local-node.sh install, Node.js 18+ and npm \
                 from the npm registry) failed: {status:?}"
            );
        }
    });
    assert!(
        bin.exists(),
        "the fork tests need a local node and {} is missing: install it with \
         `scripts/local-node.sh install` (Node.js 18+ and npm, from the npm registry)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
    listener.local_addr().expect("its address").port()
}

/// Starts ganache and waits until it answers.
fn start_node() -> Node {
    let port = free_port();
    let child = Command::new(ganache())
        .args([
            "--server.host",
            "127.0.0.1",
            "--server.port",
            &port.to_string(),
        ])
        .args([
            "--chain.chainId",
            "1337",
            "--wallet.deterministic",
            "--logging.quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting ganache (scripts/local-node.sh install): {e}"));
    let node = Node {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let start = Instant::now();
    while try_rpc(&node.url, "eth_chainId", json!([])).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "ganache did not answer on {} within a minute",
            node.url
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    node
}

fn try_rpc(url: &str, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let response = minreq::post(url)
        .with_header("Content-Type", "application/json")
        .with_body(body.to_string())
        .with_timeout(30)
        .send()
        .map_err(|e| e.to_string())?;
    let answer: Value = serde_json::from_slice(response.as_bytes()).map_err(|e| e.to_string())?;
    match answer.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(format!("{method}: {answer}")),
    }
}

fn rpc(url: &str, method: &str, params: Value) -> Value {
    try_rpc(url, method, params).unwrap_or_else(|e| panic!("{method} on {url}: {e}"))
}

/// Deploys the fixture's WETH (code, the wallet's balance slot, 10^6 wei to back it) and
/// gives the wallet one ether, through the node's own methods.
fn deploy_weth(url: &str) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/programs/revmc/weth.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("weth.json"))
        .expect("weth.json is JSON");
    let code = &fixture["weth"]["pre"][WETH]["code"];
    assert_eq!(
        rpc(url, "evm_setAccountCode", json!([WETH, code])),
        json!(true)
    );
    let value = format!("{WALLET_WETH:#066x}");
    let set = rpc(
        url,
        "evm_setAccountStorageAt",
        json!([WETH, WALLET_SLOT, value]),
    );
    assert_eq!(set, json!(true));
    let backing = format!("{WALLET_WETH:#x}");
    assert_eq!(
        rpc(url, "evm_setAccountBalance", json!([WETH, backing])),
        json!(true)
    );
    let ether = "0xde0b6b3a7640000";
    assert_eq!(
        rpc(url, "evm_setAccountBalance", json!([WALLET, ether])),
        json!(true)
    );
    rpc(url, "evm_mine", json!([]));
}

fn nestedvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .args(args)
        .output()
        .expect("runs nestedvm")
}

/// The `output` of a `--json` result line.
fn output_of(line: &str) -> String {
    let result: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(result["status"], "success", "{line}");
    result["output"].as_str().expect("an output").to_string()
}

fn word(n: u64) -> String {
    format!("{n:064x}")
}

#[test]
fn forked_weth_answers_as_the_nodes_eth_call() {
    let node = start_node();
    deploy_weth(&node.url);
    let holder = &WALLET[2..];
    let calls = [
        "0x18160ddd".to_string(),                            // totalSupply()
        format!("0x70a08231{:0>64}", holder),                // balanceOf(wallet)
        format!("0x70a08231{:0>64}", "22"),                  // balanceOf(nobody)
        "0x06fdde03".to_string(),                            // name()
        "0x313ce567".to_string(),                            // decimals()
        format!("0xa9059cbb{:0>64}{}", "01", word(1000)),    // transfer(0x01, 1000)
        format!("0xa9059cbb{:0>64}{}", "01", word(1 << 40)), // more than it holds
    ];
    for calldata in &calls {
        let call = json!({"from": WALLET, "to": WETH, "data": calldata});
        let expected = try_rpc(&node.url, "eth_call", json!([call, "latest"]));
        let args = [
            "run",
            "--profile",
            "evm",
            "--address",
            WETH,
            "--caller",
            WALLET,
        ];
        let rest = ["--calldata", calldata, "--rpc-url", &node.url, "--json"];
        let run = nestedvm(&[&args[..], &rest[..]].concat());
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        if calldata.ends_with(&word(1 << 40)) {
            // The node answers a revert with an error; nestedvm with a revert status.
            let reverted = expected.is_err_and(|e| e.contains("revert"));
            assert!(reverted, "the node did not revert {calldata}");
            assert!(stdout.contains("\"status\":\"revert\""), "{stdout}{stderr}");
            continue;
        }
        assert!(run.status.success(), "{calldata}: {stderr}");
        let expected = expected.unwrap_or_else(|e| panic!("eth_call {calldata}: {e}"));
        let output = Value::String(output_of(stdout.trim()));
        assert_eq!(output, expected, "{calldata}");
    }
    // The block is pinned: a later block's state is not seen by a fork at an earlier one.
    let pinned = rpc(&node.url, "eth_blockNumber", json!([]))
        .as_str()
        .unwrap()
        .to_string();
    rpc(&node.url, "evm_setAccountBalance", json!([WETH, "0x0"]));
    rpc(&node.url, "evm_mine", json!([]));
    let run = nestedvm(&[
        "run",
        "--profile",
        "evm",
        "--address",
        WETH,
        "--calldata",
        "0x18160ddd",
        "--rpc-url",
        &node.url,
        "--block",
        &pinned,
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(output_of(stdout.trim()), format!("0x{}", word(WALLET_WETH)));
}

/// Guest code run as the wallet (`hyvm`): deposits 5 wei of the wallet's node balance into
/// WETH, then returns the wallet's WETH balance.
fn guest() -> String {
    let weth = &WETH[2..];
    format!(
        "0x63d0e30db060e01b6000526000600060046000600573{weth}5af150\
         6370a0823160e01b600052306004526020608060246000600073{weth}5af150\
         60206080f3"
    )
}

#[test]
fn a_hyvm_guest_runs_against_a_wallet_on_the_node() {
    let node = start_node();
    deploy_weth(&node.url);
    let run = nestedvm(&[
        "run",
        &guest(),
        "--address",
        WALLET,
        "--rpc-url",
        &node.url,
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        output_of(stdout.trim()),
        format!("0x{}", word(WALLET_WETH + 5))
    );
    // A wallet the node gives no ether cannot deposit: the deposit reverts, its balance stays.
    let run = nestedvm(&[
        "run",
        &guest(),
        "--address",
        "0x2222222222222222222222222222222222222222",
        "--rpc-url",
        &node.url,
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(output_of(stdout.trim()), format!("0x{}", word(0)));
}

#[test]
fn an_unreachable_node_is_one_error_line_naming_it_with_exit_code_2() {
    // Over HTTPS too: refused, not turned away for want of TLS (the CLI has `fork-https`).
    for scheme in ["http", "https"] {
        let url = format!("{scheme}://127.0.0.1:{}", free_port());
        let run = nestedvm(&["run", "0x00", "--rpc-url", &url]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&url) && stderr.contains("eth_chainId"),
            "{stderr}"
        );
        assert!(!stderr.contains("https feature"), "{stderr}");
    }
}

#[test]
fn in_a_batch_a_failed_read_ends_its_request_and_the_others_go_on() {
    let mut node = start_node();
    deploy_weth(&node.url);
    let mut batch = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .args([
            "run",
            "--batch",
            "--jobs",
            "1",
            "--profile",
            "evm",
            "--rpc-url",
            &node.url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs nestedvm");
    let mut input = batch.stdin.take().expect("stdin");
    let mut answers = BufReader::new(batch.stdout.take().expect("stdout")).lines();
    let mut ask = |line: String| {
        writeln!(input, "{line}").expect("writes a request");
        input.flush().expect("flushes");
        answers.next().expect("an answer").expect("a line")
    };
    let total_supply = format!(r#"{{"id":1,"address":"{WETH}","calldata":"0x18160ddd"}}"#);
    let first = ask(total_supply.clone());
    assert!(first.contains(&word(WALLET_WETH)), "{first}");
    // The node goes away: what was read stays cached, a new read fails.
    let _ = node.child.kill();
    let _ = node.child.wait();
    let other =
        r#"{"id":2,"address":"0x3333333333333333333333333333333333333333","calldata":"0x"}"#;
    let failed = ask(other.to_string());
    assert!(
        failed.starts_with(r#"{"id":2,"error":"#) && failed.contains(&node.url),
        "{failed}"
    );
    let again = ask(total_supply.replace("\"id\":1", "\"id\":3"));
    assert!(
        again.starts_with(r#"{"id":3,"status":"success""#),
        "{again}"
    );
    assert!(again.contains(&word(WALLET_WETH)), "{again}");
    drop(input);
    assert!(batch.wait().expect("ends").success());
}

#[test]
fn a_batch_request_forks_at_the_block_it_names() {
    let node = start_node();
    deploy_weth(&node.url);
    let number = |url: &str| {
        let n = rpc(url, "eth_blockNumber", json!([]));
        u64::from_str_radix(n.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    let earlier = number(&node.url);
    // A later block where WETH holds nothing and the wallet 7.
    rpc(&node.url, "evm_setAccountBalance", json!([WETH, "0x0"]));
    let seven = format!("{:#066x}", 7);
    rpc(
        &node.url,
        "evm_setAccountStorageAt",
        json!([WETH, WALLET_SLOT, seven]),
    );
    rpc(&node.url, "evm_mine", json!([]));
    let later = number(&node.url);
    assert!(later > earlier);

    let total_supply = "0x18160ddd".to_string();
    let balance_of = format!("0x70a08231{:0>64}", &WALLET[2..]);
    // NUMBER, TIMESTAMP and CHAINID returned: the environment of the block forked at.
    let env_code = "0x43600052426020524660405260606000f3";
    let mut lines = Vec::new();
    let mut expected = Vec::new();
    for (block, tag) in [
        (None, later),
        (Some(earlier), earlier),
        (Some(later), later),
    ] {
        let block = block.map_or(String::new(), |n| format!(r#","block":{{"number":{n}}}"#));
        for calldata in [&total_supply, &balance_of] {
            lines.push(format!(
                r#"{{"address":"{WETH}","caller":"{WALLET}","calldata":"{calldata}"{block}}}"#
            ));
            let call = json!({"from": WALLET, "to": WETH, "data": calldata});
            expected.push(rpc(
                &node.url,
                "eth_call",
                json!([call, format!("{tag:#x}")]),
            ));
        }
        lines.push(format!(r#"{{"code":"{env_code}"{block}}}"#));
        let header = rpc(
            &node.url,
            "eth_getBlockByNumber",
            json!([format!("{tag:#x}"), false]),
        );
        let timestamp = header["timestamp"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x");
        let chain_id = rpc(&node.url, "eth_chainId", json!([]));
        let chain_id = chain_id.as_str().unwrap().trim_start_matches("0x");
        expected.push(json!(format!(
            "0x{}{:0>64}{:0>64}",
            word(tag),
            timestamp,
            chain_id
        )));
    }
    // Another key of `block` overrides the header of the block forked at.
    lines.push(format!(
        r#"{{"code":"{env_code}","block":{{"number":{earlier},"timestamp":5}}}}"#
    ));
    let beyond = later + 100;
    let after = [
        format!(r#"{{"id":"beyond","code":"0x00","block":{{"number":{beyond}}}}}"#),
        format!(
            r#"{{"id":"w1","world":"w","address":"{WETH}","calldata":"{total_supply}","block":{{"number":{earlier}}}}}"#
        ),
        format!(r#"{{"id":"w2","world":"w","address":"{WETH}","calldata":"{total_supply}"}}"#),
        format!(
            r#"{{"id":"w3","world":"w","address":"{WETH}","calldata":"{total_supply}","block":{{"number":{earlier}}}}}"#
        ),
    ];
    lines.extend(after.iter().cloned());
    for jobs in ["1", "2"] {
        let mut batch = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
            .args(["run", "--batch", "--jobs", jobs, "--profile", "evm"])
            .args(["--rpc-url", &node.url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("runs nestedvm");
        let mut input = batch.stdin.take().expect("stdin");
        writeln!(input, "{}", lines.join("\n")).expect("writes the requests");
        drop(input);
        let out = batch.wait_with_output().expect("ends");
        assert!(out.status.success());
        let answers: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(answers.len(), lines.len(), "{answers:?}");
        for (i, want) in expected.iter().enumerate() {
            let got = Value::String(output_of(&answers[i]));
            assert_eq!(&got, want, "jobs {jobs}: {}", lines[i]);
        }
        let overridden = output_of(&answers[expected.len()]);
        assert_eq!(&overridden[2..66], word(earlier), "{overridden}");
        assert_eq!(&overridden[66..130], word(5), "{overridden}");
        let rest = &answers[expected.len() + 1..];
        assert!(
            rest[0].starts_with(r#"{"id":"beyond","error":"#)
                && rest[0].contains(&node.url)
                && rest[0].contains("eth_getBlockByNumber"),
            "{}",
            rest[0]
        );
        assert_eq!(output_of(&rest[1]), format!("0x{}", word(WALLET_WETH)));
        assert!(
            rest[2].starts_with(r#"{"id":"w2","error":"#)
                && rest[2].contains("forks another block"),
            "{}",
            rest[2]
        );
        assert_eq!(output_of(&rest[3]), format!("0x{}", word(WALLET_WETH)));
    }
}

#[test]
fn bench_times_forked_runs_beside_the_pre_state_after_seeding_the_node() {
    let node = start_node();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/programs/revmc");
    let weth = format!("{fixtures}/weth.json");
    let pair = format!("{fixtures}/uniswap_v2_pair.json");
    let run = nestedvm(&[
        "bench",
        "--rpc-url",
        &node.url,
        "--rpc-seed",
        &weth,
        &pair,
        "--samples",
        "2",
        "--time",
        "0.2",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // Two fixtures with storage (and the same contract address) on interp and jit, every
    // forked run checked against the same call on the pre-state before it is timed.
    assert_eq!(lines.len(), 4, "{stdout}");
    for engine in ["interp", "jit"] {
        assert!(lines.iter().any(|l| l["engine"] == engine), "{stdout}");
    }
    for line in &lines {
        for key in ["prestate_ns", "forked_ns", "first_forked_ns"] {
            assert!(line[key].as_u64().is_some_and(|n| n > 0), "{line}");
        }
    }
    // Without seeding, a fresh node lacks WETH's balances: the check finds the forked run
    // differs, and says what to do.
    let fresh = start_node();
    let run = nestedvm(&["bench", "--rpc-url", &fresh.url, &weth, "--samples", "1"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("forked run differs") && stderr.contains("--rpc-seed"),
        "{stderr}"
    );
}

/// A fresh directory for a test's `--rpc-cache`, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "nestedvm-fork-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary directory")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `run --batch` with `args`, `input` on stdin, and returns its stdout.
fn batch(args: &[&str], input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nestedvm"))
        .args(["run", "--batch", "--profile", "evm"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs nestedvm");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(input.as_bytes())
        .expect("writes the requests");
    drop(stdin);
    let out = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8(out.stdout).expect("UTF-8 answers")
}

#[test]
fn a_batch_rerun_with_rpc_cache_needs_no_node() {
    let mut node = start_node();
    deploy_weth(&node.url);
    let pinned = rpc(&node.url, "eth_blockNumber", json!([]));
    let pinned = pinned.as_str().expect("a block number");
    let number = u64::from_str_radix(&pinned[2..], 16).expect("hex");
    let holder = &WALLET[2..];
    // PUSH8 (the pinned block - 1) BLOCKHASH PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
    let block_hash = format!("0x67{:016x}405f5260205ff3", number - 1);
    let requests = [
        format!(r#"{{"id":1,"address":"{WETH}","calldata":"0x18160ddd"}}"#),
        format!(r#"{{"id":2,"address":"{WETH}","calldata":"0x70a08231{holder:0>64}"}}"#),
        format!(
            r#"{{"id":3,"address":"{WETH}","calldata":"0x70a08231{:0>64}"}}"#,
            "22"
        ),
        format!(r#"{{"id":4,"address":"{WETH}","calldata":"0x06fdde03"}}"#),
        format!(r#"{{"id":5,"code":"{block_hash}","caller":"{WALLET}"}}"#),
        // Another block a request forks at is cached as well.
        format!(
            r#"{{"id":7,"address":"{WETH}","calldata":"0x18160ddd","block":{{"number":{}}}}}"#,
            number - 1
        ),
    ];
    let input = requests.join("\n") + "\n";
    let cache = Scratch::new("rerun");
    let args = [
        "--rpc-url",
        &node.url,
        "--block",
        pinned,
        "--rpc-cache",
        cache.path(),
    ];
    let first = batch(&args, &input);
    assert_eq!(first.lines().count(), requests.len(), "{first}");
    for line in first.lines() {
        assert!(line.contains(r#""status":"success""#), "{line}");
    }
    assert!(first.contains(&word(WALLET_WETH)), "{first}");
    let hash = rpc(
        &node.url,
        "eth_getBlockByNumber",
        json!([format!("{:#x}", number - 1), false]),
    );
    let hash = hash["hash"].as_str().expect("a hash");
    assert!(first.contains(&hash[2..]), "BLOCKHASH: {first}");
    // The reads are on disk, the code once, the URL's chain in the index.
    assert!(cache.0.join(format!("1337/{number}.jsonl")).is_file());
    assert!(cache.0.join(format!("1337/{}.jsonl", number - 1)).is_file());
    assert_eq!(std::fs::read_dir(cache.0.join("code")).unwrap().count(), 1);
    assert!(cache.0.join("urls.jsonl").is_file());

    // Without the node, the rerun answers the same from the cache alone.
    let _ = node.child.kill();
    let _ = node.child.wait();
    let second = batch(&args, &input);
    assert_eq!(second, first);
    // A read the cache does not hold goes to the node, which is gone: that request's error.
    let other =
        r#"{"id":6,"address":"0x3333333333333333333333333333333333333333","calldata":"0x"}"#;
    let third = batch(&args, &format!("{input}{other}\n"));
    assert!(third.starts_with(&first), "{third}");
    let last = third.lines().last().expect("an answer");
    assert!(
        last.starts_with(r#"{"id":6,"error":"#) && last.contains(&node.url),
        "{last}"
    );
}

#[test]
fn an_rpc_cache_that_cannot_be_made_is_one_error_line_naming_it_with_exit_code_2() {
    let scratch = Scratch::new("unwritable");
    std::fs::create_dir_all(&scratch.0).expect("a scratch directory");
    let file = scratch.0.join("a-file");
    std::fs::write(&file, "").expect("a file");
    let dir = file.join("cache");
    let url = format!("http://127.0.0.1:{}", free_port());
    let run = nestedvm(&[
        "run",
        "0x00",
        "--rpc-url",
        &url,
        "--rpc-cache",
        dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--rpc-cache") && stderr.contains("a-file"),
        "{stderr}"
    );
}
