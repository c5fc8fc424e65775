//! The `run --batch` protocol: one JSON request per line, one JSON result per line in the
//! `--json` shape, a malformed line answered with `{"error":"…"}`, both carrying the request's
//! `id` when it gives one. The command line reads stdin through [`serve`]; the benchmarks
//! measure its throughput through the same code.
//!
//! Lines are read as raw bytes ([`read_line`]), at most [`MAX_LINE_LEN`] of them kept: a line
//! that is too long, not UTF-8, not a request, or that makes the VM panic is answered with an
//! error and the stream goes on. Blank lines are skipped.
//!
//! Requests naming the same `"world"` run one after another on one state that they evolve
//! ([`Vm::run_on`]); the others each run on a fresh world. [`serve`] answers on several
//! threads, the answers still in input order.

mod fields;
mod line;
mod serve;

use crate::trace::{either, CallTracer, Eip3155Lines, Tracer};
use crate::world::source::{ForkedChain, StateSource};
use crate::{output, Config, Profile, Request, Vm, World};
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use fields::{Fields, Parsed, FIELDS};
pub use line::{read_line, read_line_into, Line, MAX_LINE_LEN};
pub use serve::{serve, Served, Serving, StreamError, CHUNK_LINES, PENDING_BYTES, PENDING_LINES};

/// The most bytes of steps a request's `"trace"` holds (64 MiB): past it the steps stop and
/// the result says `"trace_truncated": true`.
pub const MAX_TRACE_BYTES: usize = 64 << 20;

/// The most worlds a batch keeps (128): the 129th name a batch meets is answered with an
/// error, as is every request naming it.
pub const MAX_WORLDS: usize = 128;

/// The most a world may hold between requests (8 MiB, as [`World::approx_bytes`] counts):
/// a request that leaves its world bigger is answered, and the world is then dropped, its
/// later requests answered with an error. With [`MAX_WORLDS`], kept worlds stay under 1 GiB.
pub const WORLD_BYTE_LIMIT: u64 = 8 << 20;

/// The defaults of a request of `nestedvm run --batch` given no flags: [`Config::default`]
/// with [`Config::evm_gas`] on (a hyvm result reports `evm_gas_used`), and
/// [`Request::new`] without code. Bindings that answer batch requests (the Python package)
/// start from these, so that a request means what it means to the command.
pub fn defaults() -> (Config, Request) {
    let config = Config {
        evm_gas: true,
        ..Config::default()
    };
    (config, Request::new(Vec::new()))
}

/// The world names a batch has met, in input order: the first [`MAX_WORLDS`] are kept.
#[derive(Default)]
struct WorldNames(HashSet<String>);

impl WorldNames {
    /// Whether `name` is (now) one of the kept worlds.
    fn admit(&mut self, name: &str) -> bool {
        if self.0.contains(name) {
            return true;
        }
        if self.0.len() >= MAX_WORLDS {
            return false;
        }
        self.0.insert(name.to_string());
        true
    }
}

/// A world of the batch, between its requests.
enum Kept {
    /// Ready for the next request.
    Live(Box<World>),
    /// Dropped after a request left it holding this many bytes, over [`WORLD_BYTE_LIMIT`].
    Full(u64),
    /// Dropped after an internal error in one of its requests: what the request had done to
    /// it cannot be trusted.
    Abandoned,
}

/// Answers batch requests with one VM, so analysed and compiled code is reused between them,
/// and keeps the batch's worlds.
pub struct Batch {
    vm: Vm,
    config: Config,
    request: Request,
    names: WorldNames,
    worlds: HashMap<String, Kept>,
    /// The chain the requests fork, when they do: the VM's source is its pinned block's.
    chain: Option<Arc<dyn ForkedChain>>,
}

impl Batch {
    /// A batch whose requests start from `config` and `request` (the flags of `run --batch`)
    /// and run on `vm`.
    pub fn new(vm: Vm, config: Config, request: Request) -> Self {
        Batch {
            vm,
            config,
            request,
            names: WorldNames::default(),
            worlds: HashMap::new(),
            chain: None,
        }
    }

    /// The batch with its requests forking `chain`: at its pinned block (whose environment
    /// `request` should hold), or at the block a request names (`"block": {"number": N}`).
    pub fn forking(mut self, chain: Option<Arc<dyn ForkedChain>>) -> Self {
        self.vm
            .set_source(chain.as_ref().map(|c| c.pinned().clone()));
        self.chain = chain;
        self
    }

    /// The VM the requests run on.
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// The answer to one request line: the result in the `--json` shape, or
    /// `{"error":"…"}`, after `"id":…` when the line gives an id.
    pub fn answer(&mut self, line: &str) -> String {
        self.answer_text(line, None)
    }

    /// The answer to one line as [`read_line`] gives it: [`Batch::answer`], or an error for a
    /// line too long or not UTF-8.
    pub fn answer_line(&mut self, line: &Line) -> String {
        self.answer_admitted(line.as_read(), None)
    }

    /// [`Batch::answer_line`], where `refused` (when given) says whether the line's world was
    /// refused by whoever counts the worlds in input order ([`serve`] on several threads).
    /// The line is given as [`Line::as_read`] gives it.
    fn answer_admitted(&mut self, line: Result<&[u8], usize>, refused: Option<bool>) -> String {
        let error = match line {
            Ok(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => return self.answer_text(text, refused),
                Err(e) => format!(
                    "the request is not UTF-8 (byte {} of the line)",
                    e.valid_up_to()
                ),
            },
            Err(len) => {
                format!("the request line is {len} bytes, longer than the limit of {MAX_LINE_LEN}")
            }
        };
        error_line(None, &error)
    }

    fn answer_text(&mut self, line: &str, refused: Option<bool>) -> String {
        let fields = match Fields::parse(line) {
            Ok(f) => f,
            Err(e) => return error_line(None, &e),
        };
        // Any JSON value is an id, `null` too: it is echoed as written.
        let id = fields
            .0
            .iter()
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.get());
        let answer = self.guarded(|batch| batch.try_answer(&fields, refused));
        match answer {
            Ok(json) => match id {
                // The answer is an object: the id goes in as its first member.
                Some(id) => format!("{{\"id\":{id},{}", &json[1..]),
                None => json,
            },
            Err(e) => error_line(id, &e),
        }
    }

    /// Runs `answer` and turns a panic into an error, so one request cannot end the stream.
    /// The VM is replaced after a panic: its caches may hold what the panic left half done.
    /// A fresh VM's JIT cache is its own, for the same reason when the old one was shared.
    fn guarded(
        &mut self,
        answer: impl FnOnce(&mut Self) -> Result<String, String>,
    ) -> Result<String, String> {
        match catch_unwind(AssertUnwindSafe(|| answer(self))) {
            Ok(result) => result,
            Err(payload) => {
                // The pinned block's source: a request of another block may have panicked.
                self.vm = Vm::new();
                self.vm
                    .set_source(self.chain.as_ref().map(|c| c.pinned().clone()));
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                Err(format!(
                    "internal error, the request was abandoned (please report it): {what}"
                ))
            }
        }
    }

    fn try_answer(&mut self, fields: &Fields, refused: Option<bool>) -> Result<String, String> {
        // The world is counted before the other fields are checked, as `serve` counts it
        // from the line alone.
        let world = fields.world()?;
        let admitted = match (&world, refused) {
            (None, _) => true,
            (Some(_), Some(refused)) => !refused,
            (Some(name), None) => self.names.admit(name),
        };
        let mut parsed = Parsed {
            config: self.config,
            request: self.request.clone(),
            code: false,
            origin: None,
            trace: false,
            call_trace: false,
            block: None,
        };
        for (name, value) in &fields.0 {
            let Some((_, parse)) = FIELDS.iter().find(|(known, _)| known == name) else {
                let known: Vec<&str> = FIELDS.iter().map(|(k, _)| *k).collect();
                return Err(format!(
                    "unknown field `{name}` (known: {})",
                    known.join(", ")
                ));
            };
            if fields.0.iter().filter(|(k, _)| k == name).count() > 1 {
                return Err(format!("field `{name}` is given twice"));
            }
            if value.get() != "null" {
                parse(&mut parsed, value)?;
            }
        }
        let Parsed {
            config,
            mut request,
            code,
            origin,
            trace,
            call_trace,
            block,
        } = parsed;
        if let Some(origin) = origin {
            request.env.origin = origin;
        }
        let source = self.fork_block(block.as_ref(), &mut request)?;
        // A forked chain may hold the code: a missing one runs as an empty account would.
        let forked = self.vm.source().is_some();
        if !code && !runs_account_code(&config, &request, world.is_some() || forked) {
            return Err(
                "missing `code` (in evm it may come from the `address` account's code, \
                        in `accounts` or in the request's world)"
                    .into(),
            );
        }
        let mut steps = trace.then(|| Eip3155Lines::with_limit(MAX_TRACE_BYTES));
        let mut calls = call_trace.then(CallTracer::new);
        let mut outcome = either(steps.as_mut(), calls.as_mut(), |tracer| match world {
            None => {
                inject_panic(&request);
                let pinned = source.map(|s| self.vm.swap_source(Some(s)));
                let outcome = match tracer {
                    Some(tracer) => self.vm.run_traced(&config, &request, tracer),
                    None => self.vm.run(&config, &request),
                };
                if let Some(pinned) = pinned {
                    self.vm.set_source(pinned);
                }
                outcome.map_err(|e| e.to_string())
            }
            Some(name) if !admitted => Err(format!(
                "world `{name}`: the batch already keeps {MAX_WORLDS} worlds, the limit"
            )),
            Some(name) => self.run_in_world(name, &config, &request, source, tracer),
        })?;
        // The line does not show memory: it need not be held while the line is written.
        outcome.memory = Vec::new();
        let tree = calls.and_then(CallTracer::into_tree);
        let truncated = steps.as_ref().is_some_and(Eip3155Lines::truncated);
        let steps = steps
            .map(|s| RawValue::from_string(s.into_json()))
            .transpose()
            .map_err(|e| format!("internal error writing the trace: {e}"))?;
        let traces = output::Traces {
            call_trace: tree.as_ref(),
            steps: steps.as_deref(),
            steps_truncated: truncated,
        };
        Ok(output::to_json_traced(&outcome, &traces))
    }

    /// On a forked chain, the source of the block `block` names when it is not the pinned
    /// one, with that block's environment in `request` and `block`'s other keys over it;
    /// `None` for the pinned block (the VM's own source) or when nothing is forked.
    fn fork_block(
        &self,
        block: Option<&serde_json::Value>,
        request: &mut Request,
    ) -> Result<Option<Arc<dyn StateSource>>, String> {
        let (Some(chain), Some(block)) = (&self.chain, block) else {
            return Ok(None);
        };
        if block.get("number").is_none() || request.env.number == chain.pinned_number() {
            return Ok(None);
        }
        let source = chain
            .at(request.env.number, &mut request.env)
            .map_err(|e| e.to_string())?;
        crate::state::parse_block("block", block, &mut request.env)?;
        Ok(Some(source))
    }

    /// Runs a request on the world `name`, made empty on its first request (forking the
    /// block `source` is at, or the pinned one); the world is dropped when the run leaves it
    /// over [`WORLD_BYTE_LIMIT`].
    fn run_in_world(
        &mut self,
        name: String,
        config: &Config,
        request: &Request,
        source: Option<Arc<dyn StateSource>>,
        tracer: Option<&mut dyn Tracer>,
    ) -> Result<crate::Outcome, String> {
        let source = source.or_else(|| self.vm.source().cloned());
        let kept = self.worlds.entry(name.clone()).or_insert_with(|| {
            let mut world = World::new(request.env.clone(), config.fork);
            world.set_source(source.clone());
            Kept::Live(Box::new(world))
        });
        // Marked abandoned while it runs: if the run panics, it stays so.
        let mut world = match std::mem::replace(kept, Kept::Abandoned) {
            Kept::Live(world) => world,
            Kept::Full(bytes) => {
                *kept = Kept::Full(bytes);
                return Err(format!(
                    "world `{name}` was dropped when it held {bytes} bytes, over the limit of \
                     {WORLD_BYTE_LIMIT}"
                ));
            }
            Kept::Abandoned => {
                return Err(format!(
                    "world `{name}` was abandoned after an internal error in one of its requests"
                ))
            }
        };
        // A world's state is of one block: a request of another cannot join it.
        let same = |a: &Arc<dyn StateSource>, b: &Arc<dyn StateSource>| {
            std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
        };
        if let (Some(own), Some(asked)) = (world.source(), &source) {
            if !same(own, asked) {
                *kept = Kept::Live(world);
                return Err(format!(
                    "world `{name}` forks another block than this request's {}: a world's \
                     requests fork one block (each names it)",
                    request.env.number
                ));
            }
        }
        inject_panic(request);
        let outcome = match tracer {
            Some(tracer) => self.vm.run_on_traced(&mut world, config, request, tracer),
            None => self.vm.run_on(&mut world, config, request),
        };
        let bytes = world.approx_bytes();
        let kept = if bytes > WORLD_BYTE_LIMIT {
            Kept::Full(bytes)
        } else {
            Kept::Live(world)
        };
        self.worlds.insert(name, kept);
        outcome.map_err(|e| e.to_string())
    }
}

/// Whether a request without `code` runs the executing account's code: in `evm` only (in
/// `hyvm` the code is the guest, which no account holds), from `accounts` or from its world.
fn runs_account_code(config: &Config, request: &Request, in_world: bool) -> bool {
    config.profile == Profile::Evm
        && (in_world
            || request
                .accounts
                .iter()
                .any(|(a, account)| *a == request.address && !account.code.is_empty()))
}

/// The gas that makes a request panic in the tests, which need a panic in the middle of one
/// on any thread of [`serve`].
#[cfg(test)]
const PANIC_GAS: u64 = 0xdead;

#[cfg(test)]
fn inject_panic(request: &Request) {
    if request.gas == PANIC_GAS {
        panic!("injected");
    }
}

#[cfg(not(test))]
fn inject_panic(_: &Request) {}

/// `{"error":…}`, after `"id":…` when there is one.
fn error_line(id: Option<&str>, error: &str) -> String {
    let error = serde_json::Value::from(error).to_string();
    match id {
        Some(id) => format!("{{\"id\":{id},\"error\":{error}}}"),
        None => format!("{{\"error\":{error}}}"),
    }
}

/// The world a line names, when it is a JSON object whose `world` is a string: what [`serve`]
/// routes and counts it by, before a thread answers it.
fn world_of(bytes: &[u8]) -> Option<String> {
    // Most lines name no world: they are told apart without parsing them here as well as on
    // the thread that answers them. A key spelt with escapes has a backslash.
    // One searcher for every line: building it costs more than searching a short line.
    static WORLD_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"world\""));
    if WORLD_KEY.find(bytes).is_none() && memchr::memchr(b'\\', bytes).is_none() {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    Fields::parse(text).ok()?.world().ok()?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::io;
    use std::num::NonZeroUsize;

    fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut reader = io::BufReader::with_capacity(4, input);
        std::iter::from_fn(|| read_line(&mut reader, max).expect("reads")).collect()
    }

    #[test]
    fn lines_are_raw_bytes_and_a_long_one_is_dropped_whole() {
        let got = lines(b"ab\r\n\xff\xfe\n0123456789\nlast", 8);
        assert_eq!(
            got,
            vec![
                Line::Request(b"ab".to_vec()),
                Line::Request(vec![0xff, 0xfe]),
                Line::TooLong(10),
                Line::Request(b"last".to_vec()),
            ]
        );
        assert_eq!(lines(b"", 8), vec![]);
        assert_eq!(
            lines(b"\n\n", 8),
            vec![Line::Request(vec![]), Line::Request(vec![])]
        );
    }

    #[test]
    fn bad_lines_and_panics_are_answered_and_the_batch_goes_on() {
        let mut batch = Batch::new(Vm::new(), Config::default(), Request::new(Vec::new()));
        let not_utf8 = batch.answer_line(&Line::Request(vec![b'{', 0xff, b'}']));
        assert!(not_utf8.contains("not UTF-8 (byte 1"), "{not_utf8}");
        let too_long = batch.answer_line(&Line::TooLong(MAX_LINE_LEN + 1));
        assert!(too_long.contains("longer than the limit"), "{too_long}");
        let panicked = batch.guarded(|_| panic!("injected"));
        assert_eq!(
            panicked,
            Err("internal error, the request was abandoned (please report it): injected".into())
        );
        let ok = batch.answer_line(&Line::Request(
            br#"{"code":"0x600160005260206000f3"}"#.to_vec(),
        ));
        assert!(ok.starts_with(r#"{"status":"success""#), "{ok}");
    }

    #[test]
    fn batches_served_with_one_jit_cache_compile_a_code_once() {
        let cache = Arc::new(crate::jit::JitCache::new(16));
        let config = Config {
            engine: crate::Engine::Jit,
            ..Config::default()
        };
        let input = "{\"code\":\"0x600160020160005260206000f3\"}\n".repeat(3);
        let mut answers = Vec::new();
        for jobs in [1, 2, 1] {
            let serving = Serving {
                jobs: NonZeroUsize::new(jobs).expect("jobs"),
                jit_cache: Some(cache.clone()),
                ..Serving::new(config, Request::new(Vec::new()))
            };
            let mut out = Vec::new();
            let served = serve(input.as_bytes(), &mut out, serving).expect("serves");
            answers.push((served.compiles, String::from_utf8(out).expect("UTF-8")));
        }
        assert_eq!(answers[0].0, 1, "the first batch compiles the code");
        assert_eq!(
            (answers[1].0, answers[2].0),
            (0, 0),
            "the next ones find it"
        );
        assert!(answers.iter().all(|(_, a)| a == &answers[0].1));
        assert!(
            answers[0].1.contains("\"engine\":\"jit\""),
            "{}",
            answers[0].1
        );
    }

    /// The answers `serve` writes for `input` with `jobs` threads under `run --batch`'s
    /// defaults, one string a line.
    fn served(input: &str, jobs: usize) -> Vec<String> {
        let mut out = Vec::new();
        let jobs = NonZeroUsize::new(jobs).expect("jobs");
        let request = Request::new(Vec::new());
        let serving = Serving {
            jobs,
            ..Serving::new(Config::default(), request)
        };
        serve(input.as_bytes(), &mut out, serving).expect("serves");
        String::from_utf8(out)
            .expect("UTF-8")
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn json(line: &str) -> Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn answer(line: &str) -> String {
        Batch::new(Vm::new(), Config::default(), Request::new(Vec::new())).answer(line)
    }

    /// SLOAD(0) + 1 stored back in slot 0 and returned: a counter.
    const COUNT: &str = "0x5f546001018060005560005260206000f3";
    /// The counter's increment, then a revert.
    const COUNT_REVERT: &str = "0x5f546001015f5560015ffd";

    #[test]
    fn ids_of_any_json_value_are_echoed_first_on_results_and_errors() {
        for id in [
            "7",
            "\"a\\\"b\"",
            "{\"k\": [1, 2]}",
            "null",
            "123456789012345678901234567890",
        ] {
            let ok = answer(&format!("{{\"code\":\"0x00\",\"id\":{id}}}"));
            assert!(
                ok.starts_with(&format!("{{\"id\":{id},\"status\":\"success\"")),
                "{ok}"
            );
            json(&ok);
            let bad = answer(&format!("{{\"id\":{id},\"code\":\"0xzz\"}}"));
            assert!(
                bad.starts_with(&format!("{{\"id\":{id},\"error\":\"`code`")),
                "{bad}"
            );
            json(&bad);
        }
        // Without an id, or without JSON to find one in, the line has none.
        assert!(answer("{\"code\":\"0x00\"}").starts_with("{\"status\""));
        assert!(answer("{\"id\":1,").starts_with("{\"error\":\"bad JSON"));
        assert_eq!(
            answer("[1]"),
            r#"{"error":"a request must be a JSON object"}"#
        );
    }

    #[test]
    fn an_unknown_or_repeated_field_is_an_error_naming_it() {
        let e = json(&answer(r#"{"code":"0x00","calldta":"0x2a","id":3}"#));
        assert_eq!(e["id"], 3);
        let message = e["error"].as_str().expect("an error");
        let known: Vec<&str> = FIELDS.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            message,
            format!("unknown field `calldta` (known: {})", known.join(", "))
        );
        assert_eq!(
            answer(r#"{"code":"0x00","gas":1,"gas":2}"#),
            r#"{"error":"field `gas` is given twice"}"#
        );
        assert_eq!(
            answer(r#"{"code":"0x00","world":3}"#),
            r#"{"error":"`world` must be a string"}"#
        );
    }

    #[test]
    fn blank_lines_are_skipped_on_every_number_of_jobs() {
        let input = "\n   \n{\"code\":\"0x00\",\"id\":1}\r\n\t\r\n\n{\"code\":\"0x00\",\"id\":2}";
        for jobs in [1, 2] {
            let got = served(input, jobs);
            assert_eq!(got.len(), 2, "{got:?}");
            assert_eq!(json(&got[0])["id"], 1);
            assert_eq!(json(&got[1])["id"], 2);
        }
    }

    #[test]
    fn number_errors_name_the_field_and_the_limit() {
        let error = |fields: &str| {
            let line = answer(&format!("{{\"code\":\"0x00\",{fields}}}"));
            json(&line)["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{line}"))
                .to_string()
        };
        assert_eq!(
            error(r#""gas":18446744073709551616"#),
            "`gas`: 18446744073709551616 is over the limit 2^64-1"
        );
        assert_eq!(
            error(r#""gas":"0x10000000000000000""#),
            "`gas`: `0x10000000000000000` is over the limit 2^64-1"
        );
        assert_eq!(
            error(r#""timeout_ms":99999999999999999999"#),
            "`timeout_ms`: 99999999999999999999 is over the limit 2^64-1"
        );
        let two_to_the_256 =
            "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(
            error(&format!("\"value\":{two_to_the_256}")),
            format!("`value`: {two_to_the_256} is over the limit 2^256-1")
        );
        assert_eq!(error(r#""gas":-1"#), "`gas`: -1 is negative");
        assert_eq!(error(r#""gas":1.5"#), "`gas`: 1.5 is not a whole number");
        assert_eq!(error(r#""gas":1e3"#), "`gas`: 1e3 is not a whole number");
        assert_eq!(
            error(r#""gas":"12a""#),
            "`gas`: `12a` is not a number (decimal or 0x hex digits)"
        );
        assert_eq!(
            error(r#""gas":true"#),
            "`gas` must be a number or a string of decimal or 0x hex digits"
        );
        assert_eq!(
            error(r#""storage":{"0x1":-2}"#),
            "`storage`: -2 is negative"
        );
        // The largest values pass, read exactly (not through a float): slot 0 holds 2^256-1.
        let max = two_to_the_256.replace("936", "935");
        let line = answer(&format!(
            "{{\"code\":\"0x5f545f5260205ff3\",\"profile\":\"evm\",\"gas\":18446744073709551615,\
             \"storage\":{{\"0\":{max}}}}}"
        ));
        assert_eq!(
            json(&line)["output"],
            format!("0x{}", "f".repeat(64)),
            "{line}"
        );
    }

    #[test]
    fn a_world_evolves_in_input_order_and_a_revert_commits_nothing() {
        let evm = |world: &str, code: &str, extra: &str| {
            format!(
                "{{\"world\":\"{world}\",\"code\":\"{code}\",\"profile\":\"evm\",\"value\":5{extra}}}\n"
            )
        };
        let input = [
            evm("w", COUNT, ""),
            evm("v", COUNT, ""),
            evm("w", COUNT, ""),
            evm("w", COUNT_REVERT, ""),
            // Not a world: a fresh state.
            format!("{{\"code\":\"{COUNT}\",\"profile\":\"evm\"}}\n"),
            // A later request's storage is set on top of what the world holds.
            evm("w", COUNT, r#","storage":{"0x1":"0x9"}"#),
            // SELFBALANCE returned: the 5 wei each committed call sent (this one's too), not
            // the reverted one's.
            evm("w", "0x4760005260206000f3", ""),
            // In hyvm the counter lives in the wallet's storage.
            format!("{{\"world\":\"h\",\"code\":\"{COUNT}\"}}\n"),
            format!("{{\"world\":\"h\",\"code\":\"{COUNT}\"}}\n"),
        ]
        .concat();
        let out: Vec<Value> = served(&input, 1).iter().map(|l| json(l)).collect();
        let word = |n: u64| format!("0x{n:064x}");
        assert_eq!(out[0]["output"], word(1));
        assert_eq!(out[1]["output"], word(1));
        assert_eq!(out[2]["output"], word(2));
        assert_eq!(out[3]["status"], "revert");
        assert_eq!(out[4]["output"], word(1));
        assert_eq!(out[5]["output"], word(3));
        assert_eq!(
            out[5]["storage"],
            serde_json::json!({"0x0": "0x3", "0x1": "0x9"})
        );
        assert_eq!(out[6]["output"], word(20));
        assert_eq!(out[7]["output"], word(1));
        assert_eq!(out[8]["output"], word(2));
        assert_eq!(served(&input, 2), served(&input, 1));
    }

    #[test]
    fn worlds_are_capped_in_number_and_size() {
        let mut input: String = (0..=MAX_WORLDS)
            .map(|i| format!("{{\"world\":\"{i}\",\"code\":\"0x00\",\"id\":{i}}}\n"))
            .collect();
        input.push_str("{\"world\":\"0\",\"code\":\"0x00\"}\n");
        // Stores 60,000 slots: over the byte limit as the world counts them.
        let fill = "0x6200ea605b8080556001900380600457 00".replace(' ', "");
        for _ in 0..2 {
            input.push_str(&format!(
                "{{\"world\":\"big\",\"code\":\"{fill}\",\"profile\":\"evm\",\"gas\":2000000000}}\n"
            ));
        }
        for jobs in [1, 2] {
            let out: Vec<Value> = served(&input, jobs).iter().map(|l| json(l)).collect();
            assert_eq!(out[MAX_WORLDS - 1]["status"], "success");
            assert_eq!(
                out[MAX_WORLDS]["error"],
                format!(
                    "world `{MAX_WORLDS}`: the batch already keeps {MAX_WORLDS} worlds, the limit"
                )
            );
            assert_eq!(out[MAX_WORLDS + 1]["status"], "success");
            // `big` is past the cap too; a fresh batch takes it.
            assert!(out[MAX_WORLDS + 2]["error"].is_string());
        }
        let mut batch = Batch::new(Vm::new(), Config::default(), Request::new(Vec::new()));
        let line = format!(
            "{{\"world\":\"big\",\"code\":\"{fill}\",\"profile\":\"evm\",\"gas\":2000000000}}"
        );
        assert_eq!(json(&batch.answer(&line))["status"], "success");
        let dropped = json(&batch.answer(&line));
        let message = dropped["error"].as_str().expect("an error");
        assert!(
            message.starts_with("world `big` was dropped when it held "),
            "{message}"
        );
        assert!(message.ends_with(&format!("over the limit of {WORLD_BYTE_LIMIT}")));
    }

    #[test]
    fn a_panic_is_an_error_line_on_any_thread_and_abandons_its_world() {
        let input = [
            format!("{{\"world\":\"w\",\"code\":\"{COUNT}\"}}"),
            "{\"id\":\"p\",\"code\":\"0x00\",\"gas\":57005}".into(),
            "{\"id\":\"p\",\"world\":\"w\",\"code\":\"0x00\",\"gas\":57005}".into(),
            format!("{{\"world\":\"w\",\"code\":\"{COUNT}\"}}"),
            "{\"code\":\"0x00\",\"id\":5}".into(),
        ]
        .join("\n");
        let one = served(&input, 1);
        assert_eq!(served(&input, 2), one);
        let out: Vec<Value> = one.iter().map(|l| json(l)).collect();
        let panicked = "internal error, the request was abandoned (please report it): injected";
        assert_eq!(out[1]["id"], "p");
        assert_eq!(out[1]["error"], panicked);
        assert_eq!(out[2]["error"], panicked);
        assert_eq!(
            out[3]["error"],
            "world `w` was abandoned after an internal error in one of its requests"
        );
        assert_eq!(out[4]["status"], "success");
    }

    #[test]
    fn two_jobs_or_more_answer_exactly_as_one() {
        let mut input = String::new();
        for i in 0..300u32 {
            let line = match i % 10 {
                0 => format!("{{\"world\":\"w{}\",\"code\":\"{COUNT}\",\"id\":{i}}}", i % 3),
                1 => format!("{{\"world\":\"w{}\",\"code\":\"{COUNT_REVERT}\"}}", i % 3),
                2 => "not JSON".into(),
                3 => format!("{{\"code\":\"0x00\",\"gas\":1{i}e2,\"id\":\"s{i}\"}}"),
                4 => format!("{{\"code\":\"0x00\",\"calldta\":\"0x{i:02x}\"}}"),
                5 => String::new(),
                6 => format!("{{\"code\":\"0x62{i:06x}5f5260205ff3\",\"id\":[{i}]}}"),
                7 => format!("{{\"code\":\"0x62{i:06x}5f5260205ff3\",\"profile\":\"evm\"}}"),
                8 => format!(
                    "{{\"world\":\"e\",\"code\":\"{COUNT}\",\"profile\":\"evm\",\"value\":{i}}}"
                ),
                // The same world, its key spelt with an escape.
                9 if i % 20 == 9 => {
                    format!("{{\"\\u0077orld\":\"e\",\"code\":\"{COUNT}\",\"profile\":\"evm\"}}")
                }
                _ => "{\"code\":\"0x00\",\"value\":\"0x1\",\"profile\":\"hyvm\",\"calldata\":\"0x1\"}"
                    .into(),
            };
            input.push_str(&line);
            input.push('\n');
        }
        input.push_str("{\"code\":\"\u{e9}\"}\n");
        let one = served(&input, 1);
        assert_eq!(one.len(), 271, "{one:?}");
        assert_eq!(served(&input, 2), one);
        assert_eq!(served(&input, 3), one);
        let mut bytes = input.clone().into_bytes();
        bytes.extend_from_slice(b"{\"code\":\"\xff\"}\n");
        let run = |jobs| {
            let mut out = Vec::new();
            let jobs = NonZeroUsize::new(jobs).expect("jobs");
            let serving = Serving {
                jobs,
                ..Serving::new(Config::default(), Request::new(vec![]))
            };
            serve(&bytes[..], &mut out, serving).expect("serves");
            out
        };
        assert_eq!(run(2), run(1));
    }
}
