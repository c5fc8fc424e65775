//! The `evm` profile's EIP-3155 step traces against revm 43's own tracer (`TracerEip3155`),
//! step for step: pc, op, gas, gasCost, stack, depth, refund, memSize, opName and error
//! (`nestedvm_cli::trace` says how the two writers' lines are read into one shape; returnData
//! is not compared, revm always writing `0x`). On the VM fixtures, the shared state tests
//! (their message calls, and their whole transactions as a block applies them, against revm's
//! mainnet handler), transactions of other kinds, generated programs (the small world and the
//! revmc world) and the revmc fixtures with their pre-state. Each comparison also checks that
//! the traced run gives the untraced run's result. A last test changes each field of a real
//! trace in turn and checks the comparison names it.

mod common;

use common::evm_config;
use common::gen::{request, Rng};
use nestedvm::executor::create_address;
use nestedvm::trace::Eip3155Writer;
use nestedvm::{Engine, Fork, Profile, Request, Vm};
use nestedvm_cli::difftest::{Case, World};
use nestedvm_cli::fixture::fixture_calls;
use nestedvm_cli::oracle::revm::{run_revm_traced, OracleRequest};
use nestedvm_cli::statetest::fixture::{HexAddress, Quantity, TestCase, TestFile};
use nestedvm_cli::statetest::{Suite, Vector};
use nestedvm_cli::trace::{
    compare_vector_with_revm, compare_with_revm, Recorder, TraceComparison, TraceDiff,
    VectorComparison, Writer,
};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The most gas a call gets by default in the fixture tests: the long runs (revmc's
/// `erc20_transfer`, `burntpix` and `snailtracer`, 13.5M to 205M gas and up to 19M steps and
/// 15 GB of trace text a side) are compared up to this much gas, where both sides run out
/// of it. `NESTEDVM_SOAK` compares every call with its own gas.
const GAS_CAP: u64 = 5_000_000;

/// `req` with its gas capped at [`GAS_CAP`], unless `NESTEDVM_SOAK` is set.
fn capped(mut req: Request) -> Request {
    if std::env::var_os("NESTEDVM_SOAK").is_none() {
        req.gas = req.gas.min(GAS_CAP);
    }
    req
}

/// What a set of comparisons found: the traces that parted (the first few shown), how many
/// steps agreed, and the known differences in how a failure is named, by kind.
#[derive(Default)]
struct Tally {
    calls: usize,
    steps: usize,
    /// Transactions both sides rejected (no step on either).
    rejected: usize,
    parted: Vec<String>,
    known: BTreeMap<&'static str, usize>,
    /// The call that took longest: its time, name and steps.
    slowest: (std::time::Duration, String, usize),
}

impl Tally {
    /// Compares the traces of `req` at `fork`, naming it `name` in failures.
    fn compare(&mut self, vm: &mut Vm, name: &str, fork: Fork, req: &Request) {
        let start = std::time::Instant::now();
        let compared = compare_with_revm(vm, &evm_config(fork), req);
        self.count(&format!("{name} at {fork}"), start.elapsed(), compared);
    }

    /// Compares the traces of `vector`'s whole transaction, naming it `name` in failures.
    fn compare_vector(&mut self, vm: &mut Vm, name: &str, vector: &Vector<'_>) {
        let name = format!("{name} at {}", vector.fork);
        let start = std::time::Instant::now();
        let compared = compare_vector_with_revm(vm, vector);
        let took = start.elapsed();
        let compared = compared.map(
            |VectorComparison {
                 trace,
                 rejected,
                 outcome_differs,
             }| {
                self.rejected += usize::from(rejected);
                if let Some(how) = outcome_differs {
                    self.parted.push(format!("{name}: {how}"));
                }
                trace
            },
        );
        self.count(&name, took, compared);
    }

    /// Counts one comparison, named `name`, that took `took`.
    fn count(
        &mut self,
        name: &str,
        took: std::time::Duration,
        compared: Result<TraceComparison, String>,
    ) {
        self.calls += 1;
        if took > self.slowest.0 {
            let steps = compared.as_ref().map_or(0, |c| c.steps);
            self.slowest = (took, name.to_string(), steps);
        }
        match compared {
            Err(e) => self.parted.push(format!("{name}: {e}")),
            Ok(TraceComparison {
                steps,
                diff,
                known,
                same_result,
            }) => {
                self.steps += steps;
                for (_, kind) in known {
                    *self.known.entry(kind).or_default() += 1;
                }
                if let Some(d) = diff {
                    self.parted.push(format!("{name}: {d}"));
                }
                if !same_result {
                    self.parted
                        .push(format!("{name}: tracing changed the result"));
                }
            }
        }
    }

    /// Fails with the first traces that parted; says what agreed.
    fn check(self, what: &str) {
        assert!(
            self.parted.is_empty(),
            "{} of {} {what} trace otherwise than revm:\n{}",
            self.parted.len(),
            self.calls,
            self.parted[..self.parted.len().min(8)].join("\n")
        );
        let rejected = if self.rejected > 0 {
            format!(" ({} rejected by both, no step)", self.rejected)
        } else {
            String::new()
        };
        eprintln!(
            "{what}: {} calls{rejected}, {} steps equal to revm's; known differences in naming a failure: {:?}; slowest {} ({} steps, {:.1?})",
            self.calls, self.steps, self.known, self.slowest.1, self.slowest.2, self.slowest.0
        );
    }
}

#[test]
fn vm_fixtures_trace_as_revm_does() {
    let fixtures = common::vmfixture::all();
    let (mut vm, mut tally) = (Vm::new(), Tally::default());
    for f in &fixtures {
        for fork in Fork::ALL {
            tally.compare(
                &mut vm,
                &format!("{} ({})", f.name, f.file),
                fork,
                &f.request(),
            );
        }
    }
    tally.check("VM fixtures");
}

/// Every `.json` file below `dir`, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the fixtures are there") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(json_files(&path));
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The most gas a state test's transaction gets by default: the state tests' loops
/// (`vmPerformance`, 80M gas and more) are compared up to this much, where both sides run out
/// of it. Lower than [`GAS_CAP`] to keep the 2400 transactions within a minute; the tests'
/// other transactions use far less. `NESTEDVM_SOAK` runs each with its own gas limit.
const STATE_TEST_GAS_CAP: u64 = 1_000_000;

/// `case` with its transaction's gas limits capped at [`STATE_TEST_GAS_CAP`], when one is
/// above it and `NESTEDVM_SOAK` is not set: both sides then run the same cheaper transaction.
fn capped_case(case: &TestCase) -> Option<TestCase> {
    let cap = Quantity(STATE_TEST_GAS_CAP.into());
    let over = case.transaction.gas_limit.iter().any(|g| *g > cap);
    if !over || std::env::var_os("NESTEDVM_SOAK").is_some() {
        return None;
    }
    let mut case = case.clone();
    for g in &mut case.transaction.gas_limit {
        *g = (*g).min(cap);
    }
    Some(case)
}

/// Whether `vector` creates its contract at an address the pre-state gives storage but
/// neither code nor a nonce. EIP-7610 makes that a collision, and the state tests expect the
/// creation to fail; revm 43 checks code and nonce only (its own state-test runner skips
/// these tests), as no chain holds such an account.
fn creates_over_storage(vector: &Vector<'_>) -> bool {
    let Ok((_, _, tx)) = vector.parts() else {
        return false;
    };
    let Some(address) = tx
        .to
        .is_none()
        .then(|| create_address(&tx.sender, tx.nonce))
    else {
        return false;
    };
    vector.case.pre.get(&HexAddress(address)).is_some_and(|a| {
        a.code.0.is_empty() && a.nonce.0.is_zero() && a.storage.values().any(|v| !v.0.is_zero())
    })
}

/// The state tests' transactions as a block applies them (`statetest --trace`,
/// `Vm::transact_traced`), against revm's mainnet handler under its tracer: every vector at
/// every fork it lists that both support, creations and rejected transactions included. The
/// transactions' endings (a rejection on both sides, or the same status, gas used, output and
/// created contract) are compared too. Gas limits are capped (see [`capped_case`]): the state
/// tests' loops would otherwise run for many minutes traced. This replaces the comparison of
/// their message calls (`to`'s code run by `run FILE.json`), which ran the same code with
/// the same pre-state and left the creations out.
#[test]
fn state_test_transactions_trace_as_revm_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bins/nestedvm/tests/fixtures/state");
    let suite = Suite::load(std::slice::from_ref(&dir)).expect("the state tests load");
    let (mut vm, mut tally) = (Vm::new(), Tally::default());
    let (mut creations, mut over_storage) = (0, 0);
    for vector in suite.vectors() {
        let file = vector.file.strip_prefix(&dir).unwrap_or(vector.file);
        let ix = vector.entry.indexes;
        let name = format!(
            "{} {} d={} g={} v={}",
            file.display(),
            vector.name,
            ix.data,
            ix.gas,
            ix.value
        );
        creations += usize::from(vector.case.transaction.to.is_none());
        if creates_over_storage(&vector) {
            // Ours is judged by the test's own expectation instead, traced and untraced.
            let traced = vector
                .trace(&mut vm, &mut std::io::sink())
                .expect("written")
                .expect("built");
            let untraced = vector.apply(&mut vm, Engine::Auto).expect("built");
            assert_eq!(traced, untraced, "{name}: tracing changed the result");
            if let Err(e) = traced.check(vector.entry) {
                panic!("{name}: {e}");
            }
            over_storage += 1;
            continue;
        }
        match capped_case(vector.case) {
            Some(case) => tally.compare_vector(
                &mut vm,
                &name,
                &Vector {
                    case: &case,
                    ..vector
                },
            ),
            None => tally.compare_vector(&mut vm, &name, &vector),
        }
    }
    eprintln!(
        "{over_storage} vectors create over an account holding storage only: a collision \
         (EIP-7610) revm 43 misses, left to the tests' own expectation"
    );
    eprintln!("{creations} vectors create a contract");
    assert!(tally.calls >= 2400, "too few vectors: {}", tally.calls);
    assert!(creations >= 29, "too few creations: {creations}");
    assert!(
        tally.rejected >= 2,
        "too few rejections: {}",
        tally.rejected
    );
    tally.check("state-test transactions");
}

/// The sender of the synthetic state tests: ethereum/tests' usual key and its address.
const SECRET_KEY: &str = "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8";
const SENDER: &str = "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b";

/// A state test of one transaction at every fork both support, each of its (data, gas,
/// value) variants expected (the expectation is not what is compared here).
fn state_test(
    pre: serde_json::Value,
    transaction: serde_json::Value,
    variants: usize,
) -> serde_json::Value {
    let zero = format!("0x{}", "0".repeat(64));
    let entries: Vec<Value> = (0..variants)
        .map(|d| {
            serde_json::json!({
                "hash": zero, "logs": zero, "indexes": {"data": d, "gas": 0, "value": 0}
            })
        })
        .collect();
    let forks = ["Shanghai", "Cancun", "Prague", "Osaka"];
    let post: serde_json::Map<String, Value> = forks
        .iter()
        .map(|f| (f.to_string(), Value::from(entries.clone())))
        .collect();
    serde_json::json!({
        "env": {
            "currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
            "currentGasLimit": "0x1c9c380",
            "currentNumber": "0x01",
            "currentTimestamp": "0x03e8",
            "currentBaseFee": "0x0a",
            "currentRandom": "0x0000000000000000000000000000000000000000000000000000000000020000",
            "currentExcessBlobGas": "0x0e0000"
        },
        "pre": pre,
        "transaction": transaction,
        "post": post
    })
}

/// Code as hex.
fn code(asm: &str) -> String {
    format!(
        "0x{}",
        hex(&nestedvm::interp::asm::assemble(asm).expect("assembles"))
    )
}

/// Transactions the shared state tests do not hold, as state tests at Shanghai, Cancun, Prague
/// and Osaka, traced as a block applies them and compared with revm's: a creation with empty
/// init code (its one STOP step), a creation deploying code, a call paying the EIP-7623
/// calldata floor, an EIP-1559 transaction with an access list, blob and set-code
/// transactions (rejected before their forks), and transactions each side must reject.
#[test]
fn transaction_kinds_trace_as_revm_does() {
    let rich = serde_json::json!({"balance": "0x3635c9adc5dea00000", "nonce": "0x00"});
    let target = "0x00000000000000000000000000000000000c0de0";
    let pre = serde_json::json!({
        SENDER: rich,
        target: {
            "balance": "0x00", "nonce": "0x01",
            "code": code("PUSH1 0 CALLDATALOAD PUSH1 1 SSTORE PUSH1 1 SLOAD PUSH1 0 SLOAD \
                          ADD PUSH1 0 BLOBHASH BLOBBASEFEE PUSH2 0xdead BALANCE STOP"),
            "storage": {"0x00": "0x07"}
        }
    });
    let tx = |to: &str, data: Vec<String>, gas: &str, value: &str| {
        serde_json::json!({
            "data": data, "gasLimit": [gas], "value": [value], "gasPrice": "0x0a",
            "nonce": "0x00", "secretKey": SECRET_KEY, "to": to
        })
    };
    let deploy = code("PUSH1 1 PUSH1 0 SSTORE PUSH1 0x2a PUSH1 0 MSTORE8 PUSH1 1 PUSH1 0 RETURN");
    let reverting = code("PUSH1 0 PUSH1 0 REVERT");
    let floor = format!("0x{}", "ff".repeat(400));
    let mut tests = serde_json::Map::new();
    let mut add = |name: &str, transaction: Value| {
        let variants = transaction["data"].as_array().map_or(1, Vec::len);
        tests.insert(name.into(), state_test(pre.clone(), transaction, variants));
    };
    add(
        "emptyInitCode",
        tx("", vec!["0x".into()], "0x0186a0", "0x01"),
    );
    add(
        "creations",
        tx(
            "",
            vec![deploy, reverting, "0xfe".into()],
            "0x0186a0",
            "0x00",
        ),
    );
    add(
        "calldataFloor",
        tx(target, vec![floor, "0x01".into()], "0x0186a0", "0x00"),
    );
    let mut dynamic = tx(target, vec!["0x02".into()], "0x0186a0", "0x05");
    let fields = dynamic.as_object_mut().expect("an object");
    fields.remove("gasPrice");
    fields.insert("maxFeePerGas".into(), "0x14".into());
    fields.insert("maxPriorityFeePerGas".into(), "0x03".into());
    fields.insert(
        "accessLists".into(),
        serde_json::json!([[
            {"address": target, "storageKeys": ["0x00", "0x01"]},
            {"address": "0x000000000000000000000000000000000000dead", "storageKeys": []}
        ]]),
    );
    add("dynamicFeeAccessList", dynamic.clone());
    let mut blob = dynamic.clone();
    let fields = blob.as_object_mut().expect("an object");
    fields.remove("accessLists");
    fields.insert("maxFeePerBlobGas".into(), "0x0a".into());
    fields.insert(
        "blobVersionedHashes".into(),
        serde_json::json!([format!("0x01{}", "ab".repeat(31))]),
    );
    add("blob", blob);
    let mut set_code = dynamic.clone();
    let fields = set_code.as_object_mut().expect("an object");
    fields.remove("accessLists");
    // A signature no key made: the authority is skipped, its intrinsic gas is still paid.
    fields.insert(
        "authorizationList".into(),
        serde_json::json!([{
            "chainId": "0x01", "address": target, "nonce": "0x00",
            "v": "0x00", "r": "0x01", "s": "0x01"
        }]),
    );
    add("setCode", set_code);
    // Each refused by both sides, at some fork or all.
    let mut nonce = tx(target, vec!["0x".into()], "0x0186a0", "0x00");
    nonce["nonce"] = "0x05".into();
    add("wrongNonce", nonce);
    add(
        "intrinsicGasTooLow",
        tx(target, vec!["0x01".into()], "0x5208", "0x00"),
    );
    add(
        "floorAboveGasLimit",
        tx(
            target,
            vec![format!("0x{}", "ff".repeat(100))],
            "0x6000",
            "0x00",
        ),
    );
    let mut cheap = tx(target, vec!["0x".into()], "0x0186a0", "0x00");
    cheap["gasPrice"] = "0x09".into();
    add("gasPriceBelowBaseFee", cheap);
    add(
        "valueAboveBalance",
        tx(
            target,
            vec!["0x".into()],
            "0x0186a0",
            "0x3635c9adc5dea00000",
        ),
    );
    add(
        "gasAboveBlock",
        tx(target, vec!["0x".into()], "0x1c9c381", "0x00"),
    );
    add(
        "gasAboveOsakaCap",
        tx(target, vec!["0x".into()], "0x1000001", "0x00"),
    );
    let too_large = format!("0x{}", "00".repeat(49_153));
    add(
        "initCodeTooLarge",
        tx("", vec![too_large], "0xf42400", "0x00"),
    );

    let file: TestFile = serde_json::from_value(Value::Object(tests)).expect("state tests");
    let (mut vm, mut tally) = (Vm::new(), Tally::default());
    for (name, case) in &file {
        for (fork_name, entries) in &case.post {
            let fork: Fork = fork_name.parse().expect("a fork both support");
            for entry in entries {
                let vector = Vector {
                    file: Path::new("synthetic"),
                    name,
                    case,
                    fork,
                    entry,
                };
                if name == "emptyInitCode" {
                    let compared = compare_vector_with_revm(&mut vm, &vector).expect("compared");
                    assert_eq!(
                        compared.trace.steps, 1,
                        "a creation with empty init code runs its STOP at {fork}"
                    );
                }
                let what = format!("{name} d={}", entry.indexes.data);
                tally.compare_vector(&mut vm, &what, &vector);
            }
        }
    }
    assert!(
        tally.rejected >= 30,
        "too few rejections: {}",
        tally.rejected
    );
    tally.check("transaction kinds");
}

#[test]
fn generated_programs_trace_as_revm_does() {
    let (mut vm, mut tally) = (Vm::new(), Tally::default());
    let mut rng = Rng(0x7ace);
    for n in 0..common::campaign_size(2000) {
        let fork = Fork::ALL[n % Fork::ALL.len()];
        let req = request(&mut rng);
        tally.compare(
            &mut vm,
            &format!("#{n} code 0x{}", hex(&req.code)),
            fork,
            &req,
        );
    }
    // Programs calling the revmc world's real contracts (WETH, an ERC-20, a Uniswap V2
    // pair): deep frames, refunds, logs.
    for n in 0..common::campaign_size(2000) / 10 {
        let fork = Fork::ALL[n % Fork::ALL.len()];
        let case = Case::nth_in(0x7ace, n as u64, Profile::Evm, fork, false, World::Revmc);
        let name = format!("revmc world #{n} code 0x{}", hex(&case.request.code));
        tally.compare(&mut vm, &name, fork, &case.request);
    }
    tally.check("generated programs");
}

#[test]
fn revmc_fixtures_trace_as_revm_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bins/nestedvm/benches/programs/revmc");
    let (mut vm, mut tally) = (Vm::new(), Tally::default());
    for file in json_files(&dir) {
        let what = file.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).expect("readable");
        for call in fixture_calls(&what, &text).expect("a fixture") {
            tally.compare(&mut vm, &call.name, Fork::Osaka, &capped(call.request));
        }
    }
    assert!(tally.calls >= 18, "fixtures missing: {}", tally.calls);
    tally.check("revmc fixtures");
}

/// A writer that can be handed to revm and read afterwards.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Our trace's lines and revm's for `req` at Osaka.
fn both_traces(req: &Request) -> (Vec<String>, Vec<String>) {
    let mut writer = Eip3155Writer::new(Vec::new());
    let outcome = Vm::new()
        .run_traced(&evm_config(Fork::Osaka), req, &mut writer)
        .expect("runs");
    let ours = writer.finish(&outcome).expect("written");
    let theirs = Shared::default();
    run_revm_traced(
        &OracleRequest::from_request(Fork::Osaka, req),
        theirs.clone(),
    )
    .expect("revm");
    let lines = |b: &[u8]| -> Vec<String> {
        String::from_utf8(b.to_vec())
            .expect("UTF-8")
            .lines()
            .map(str::to_string)
            .collect()
    };
    let theirs = lines(&theirs.0.borrow());
    (lines(&ours), theirs)
}

/// Where `ours` parts from `theirs`, and in which fields.
fn parting(ours: &[String], theirs: &[String]) -> Option<(usize, Vec<&'static str>)> {
    let record = |writer, lines: &[String], keep| {
        let mut r = Recorder::keeping(writer, keep);
        for l in lines {
            writeln!(r, "{l}").expect("recorded");
        }
        r.finish().expect("readable")
    };
    let index = record(Writer::Ours, ours, 0..0)
        .compare(&record(Writer::Revm, theirs, 0..0))
        .first?;
    let (a, b) = (
        record(Writer::Ours, ours, TraceDiff::window(index)),
        record(Writer::Revm, theirs, TraceDiff::window(index)),
    );
    Some((
        index,
        TraceDiff::at(index, ("ours", &a), ("revm", &b)).fields(),
    ))
}

/// Each field of a real trace changed in turn is found, at its step and by its name; a
/// changed `returnData`, which is not compared, is not.
#[test]
fn every_field_is_compared() {
    // A call to the world's reverting contract (a nested frame, depth 2), memory, an SSTORE
    // clearing a slot (a refund), then a stack underflow that halts the top frame.
    let code = nestedvm::interp::asm::assemble(
        "PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH2 0xdead GAS CALL POP \
         PUSH1 1 PUSH1 0 MSTORE PUSH1 0 PUSH1 1 SSTORE ADD",
    )
    .expect("assembles");
    let mut req = Request::new(code);
    req.gas = 100_000;
    req.storage = vec![(1.into(), 5.into())];
    req.accounts = vec![(
        nestedvm::Address::from_low_u64_be(0xdead),
        nestedvm::Account::new(0.into(), 1, vec![0x60, 0x00, 0x60, 0x00, 0xfd]),
    )];
    let (ours, theirs) = both_traces(&req);
    assert_eq!(
        parting(&ours, &theirs),
        None,
        "the traces agree to start with"
    );
    let steps: Vec<Value> = ours
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .filter(|v: &Value| v.get("pc").is_some())
        .collect();
    let find = |what: &str, pick: &dyn Fn(&Value) -> bool| {
        steps
            .iter()
            .position(pick)
            .unwrap_or_else(|| panic!("the trace has {what}"))
    };
    let nested = find("a nested step", &|s| s["depth"] == 2);
    let refunded = find("a refund", &|s| s["refund"].as_i64() > Some(0));
    let memory = find("memory", &|s| s["memSize"].as_u64() > Some(0));
    let failed = find("a failure", &|s| s.get("error").is_some());
    let stacked = find("a stack", &|s| {
        s["stack"].as_array().is_some_and(|a| !a.is_empty())
    });
    let changes: [(&str, usize, Value); 11] = [
        ("pc", 3, Value::from(999)),
        ("op", 3, Value::from(0x5b)),
        ("gas", 3, Value::from("0x1")),
        ("gasCost", nested, Value::from("0x7")),
        ("stack", stacked, Value::from(vec!["0x2a"])),
        ("depth", nested, Value::from(7)),
        ("refund", refunded, Value::from(1)),
        ("memSize", memory, Value::from(64)),
        ("opName", 3, Value::from("NOP")),
        ("error", failed, Value::from("out of gas")),
        ("error", 2, Value::from("out of gas")),
    ];
    for (field, at, value) in changes {
        let mut changed = ours.clone();
        let line = steps_line(&ours, at);
        let mut step: Value = serde_json::from_str(&ours[line]).expect("JSON");
        step[field] = value;
        changed[line] = step.to_string();
        assert_eq!(
            parting(&changed, &theirs),
            Some((at, vec![field])),
            "changing {field} at step {at}"
        );
    }
    let mut changed = ours.clone();
    let mut step: Value = serde_json::from_str(&ours[0]).expect("JSON");
    step["returnData"] = Value::from("0x1234");
    changed[0] = step.to_string();
    assert_eq!(
        parting(&changed, &theirs),
        None,
        "returnData is not compared"
    );
    // A step left out, or one too many, is where the traces part.
    let at = steps_line(&ours, 5);
    let mut shorter = ours.clone();
    shorter.remove(at);
    assert_eq!(parting(&shorter, &theirs).map(|p| p.0), Some(5));
    // Step 5 repeated: the copy, step 6, is where they part.
    let mut longer = ours.clone();
    longer.insert(at, ours[at].clone());
    assert_eq!(parting(&longer, &theirs).map(|p| p.0), Some(6));
}

/// The line of step `n` (the summary line is no step).
fn steps_line(lines: &[String], n: usize) -> usize {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"pc\""))
        .nth(n)
        .expect("the step exists")
        .0
}

#[test]
fn opcode_names_are_revms() {
    for op in 0..=255u8 {
        let revm = revm::bytecode::opcode::OpCode::new(op).map_or("INVALID", |o| o.as_str());
        assert_eq!(nestedvm::trace::eip3155::op_name(op), revm, "{op:#04x}");
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
