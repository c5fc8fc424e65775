//! The `evm` profile's EIP-3155 step traces against revm 43's own tracer (`TracerEip3155`),
//! step for step: pc, op, gas, gasCost, stack, depth, refund, memSize, opName and error
//! (`nestedvm_cli::trace` says how the two writers' lines are read into one shape; returnData
//! is not compared, revm always writing `0x`). On the VM fixtures, the message calls of the
//! shared state tests, generated programs (the small world and the revmc world) and the revmc
//! fixtures with their pre-state. Each comparison also checks that the traced run gives the
//! untraced run's result. A last test changes each field of a real trace in turn and checks
//! the comparison names it.

mod common;

use common::evm_config;
use common::gen::{request, Rng};
use nestedvm::trace::Eip3155Writer;
use nestedvm::{Fork, Profile, Request, Vm};
use nestedvm_cli::difftest::{Case, World};
use nestedvm_cli::fixture::fixture_calls;
use nestedvm_cli::oracle::revm::{run_revm_traced, OracleRequest};
use nestedvm_cli::trace::{compare_with_revm, Recorder, TraceComparison, TraceDiff, Writer};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The most gas a call gets by default in the fixture tests: the long runs (revmc's
/// `erc20_transfer`, `burntpix` and `snailtracer`, 13.5M to 205M gas and up to 19M steps and
/// 15 GB of trace text a side; the state tests' `vmPerformance` loops) are compared up to
/// this much gas, where both sides run out of it. `NESTEDVM_SOAK` compares every call with
/// its own gas.
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
    parted: Vec<String>,
    known: BTreeMap<&'static str, usize>,
    /// The call that took longest: its time, name and steps.
    slowest: (std::time::Duration, String, usize),
}

impl Tally {
    /// Compares the traces of `req` at `fork`, naming it `name` in failures.
    fn compare(&mut self, vm: &mut Vm, name: &str, fork: Fork, req: &Request) {
        self.calls += 1;
        let start = std::time::Instant::now();
        let compared = compare_with_revm(vm, &evm_config(fork), req);
        let took = start.elapsed();
        if took > self.slowest.0 {
            let steps = compared.as_ref().map_or(0, |c| c.steps);
            self.slowest = (took, name.to_string(), steps);
        }
        match compared {
            Err(e) => self.parted.push(format!("{name} at {fork}: {e}")),
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
                    self.parted.push(format!("{name} at {fork}: {d}"));
                }
                if !same_result {
                    self.parted
                        .push(format!("{name} at {fork}: tracing changed the result"));
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
        eprintln!(
            "{what}: {} calls, {} steps equal to revm's; known differences in naming a failure: {:?}; slowest {} ({} steps, {:.1?})",
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

/// The state tests' transactions as message calls (what `run FILE.json` runs: `to`'s code,
/// the sender as caller and origin, the whole gas limit for the top frame, the pre-state),
/// at Cancun, the fork they were filled for, with at most [`GAS_CAP`]. Full transaction rules (intrinsic gas, access
/// lists, fees, creations) are the `statetest` runner's, whose traces are not compared here;
/// files holding a creation, which is no message call, are left out.
#[test]
fn state_test_message_calls_trace_as_revm_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bins/nestedvm/tests/fixtures/state");
    let (mut vm, mut tally) = (Vm::new(), Tally::default());
    let mut creations = 0;
    for file in json_files(&dir) {
        let what = file
            .strip_prefix(&dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).expect("readable");
        match fixture_calls(&what, &text) {
            Ok(calls) => {
                for call in calls {
                    let name = format!("{what}: {}", call.name);
                    tally.compare(&mut vm, &name, Fork::Cancun, &capped(call.request));
                }
            }
            Err(e) if e.contains("creates a contract") => creations += 1,
            Err(e) => panic!("{e}"),
        }
    }
    eprintln!("{creations} files hold a creation and are left out");
    assert!(tally.calls >= 1500, "too few calls: {}", tally.calls);
    tally.check("state-test message calls");
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
