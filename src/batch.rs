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

use crate::parse::{parse_address, parse_hex};
use crate::{output, Address, Config, Engine, Fork, Profile, Request, Vm, World, U256};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::{self, BufRead, Write};
use std::num::NonZeroUsize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Duration;

/// The longest request line read (64 MiB): room for the longest code (1 MiB, 2 MiB as hex)
/// with a large pre-state, while a stream without line breaks cannot take the memory.
pub const MAX_LINE_LEN: usize = 64 << 20;

/// One line of a batch stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// The line's bytes, without the line break.
    Request(Vec<u8>),
    /// A line longer than the limit, of this many bytes; none of it was kept.
    TooLong(usize),
}

/// Reads the next line of `input`, keeping at most `max` bytes of it; `None` at the end of
/// the input. A longer line is read to its end and dropped, so the next call starts on the
/// line after it.
pub fn read_line(input: &mut impl BufRead, max: usize) -> io::Result<Option<Line>> {
    let mut kept = Vec::new();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        any = true;
        let (chunk, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], true),
            None => (available, false),
        };
        if len + chunk.len() <= max {
            kept.extend_from_slice(chunk);
        } else {
            kept = Vec::new();
        }
        len += chunk.len();
        let used = chunk.len() + usize::from(ends);
        input.consume(used);
        if ends {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if kept.last() == Some(&b'\r') {
        kept.pop();
    }
    Ok(Some(if len > max {
        Line::TooLong(len)
    } else {
        Line::Request(kept)
    }))
}

/// The most worlds a batch keeps (128): the 129th name a batch meets is answered with an
/// error, as is every request naming it.
pub const MAX_WORLDS: usize = 128;

/// The most a world may hold between requests (8 MiB, as [`World::approx_bytes`] counts):
/// a request that leaves its world bigger is answered, and the world is then dropped, its
/// later requests answered with an error. With [`MAX_WORLDS`], kept worlds stay under 1 GiB.
pub const WORLD_BYTE_LIMIT: u64 = 8 << 20;

/// The most lines [`serve`] has read but not yet written (1024): a slow line holds back the
/// answers after it, and this bounds how many wait.
pub const PENDING_LINES: usize = 1024;

/// The most bytes of request lines and answers [`serve`] holds for lines read but not yet
/// written (256 MiB), beyond those of the lines running (one a thread): past it no line is
/// read until answers are written.
pub const PENDING_BYTES: u64 = 256 << 20;

/// What a request line has parsed into so far; each field's parser fills in its part.
struct Parsed {
    config: Config,
    request: Request,
    code: bool,
    /// `origin`, set after every field: `caller` sets the origin too, whatever the order.
    origin: Option<Address>,
}

/// A field's parser: its JSON value (never `null`, which means the field is absent) into the
/// request.
type FieldParser = fn(&mut Parsed, &RawValue) -> Result<(), String>;

/// Every field a request line may have, with its parser: the one list a new field joins.
/// `id` and `world` are read before the others (an error line carries the id; the world is
/// known before the line runs), so their parsers here only accept them.
const FIELDS: &[(&str, FieldParser)] = &[
    ("id", |_, _| Ok(())),
    ("world", |_, _| Ok(())),
    ("code", field_code),
    ("calldata", field_calldata),
    ("gas", field_gas),
    ("value", field_value),
    ("timeout_ms", field_timeout_ms),
    ("profile", field_profile),
    ("engine", field_engine),
    ("fork", field_fork),
    ("address", field_address),
    ("caller", field_caller),
    ("storage", field_storage),
    ("accounts", field_accounts),
    ("origin", field_origin),
    ("block", field_block),
    ("dump", field_dump),
];

/// The JSON value of a field parsed whole, for the fields whose shape the state module
/// reads (`accounts`, `block`).
fn json(v: &RawValue) -> Result<serde_json::Value, String> {
    serde_json::from_str(v.get()).map_err(|e| e.to_string())
}

fn field_accounts(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.request.accounts = crate::state::parse_accounts("accounts", &json(v)?)?;
    Ok(())
}

fn field_origin(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.origin = Some(parse_address("`origin`", &string("origin", v)?)?);
    Ok(())
}

fn field_block(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    crate::state::parse_block("block", &json(v)?, &mut p.request.env)
}

fn field_dump(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.config.dump_state = match v.get() {
        "true" => true,
        "false" => false,
        _ => return Err("`dump` must be true or false".into()),
    };
    Ok(())
}

fn field_code(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.request.code = parse_hex("`code`", &string("code", v)?)?;
    p.code = true;
    Ok(())
}

fn field_calldata(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.request.calldata = parse_hex("`calldata`", &string("calldata", v)?)?;
    Ok(())
}

fn field_gas(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.request.gas = number("gas", v, 64)?.low_u64();
    Ok(())
}

fn field_value(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.request.value = number("value", v, 256)?;
    Ok(())
}

fn field_timeout_ms(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    let ms = number("timeout_ms", v, 64)?.low_u64();
    p.config.timeout = Some(Duration::from_millis(ms));
    Ok(())
}

fn field_profile(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.config.profile = string("profile", v)?.parse::<Profile>()?;
    Ok(())
}

fn field_engine(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.config.engine = string("engine", v)?.parse::<Engine>()?;
    Ok(())
}

fn field_fork(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.config.fork = string("fork", v)?.parse::<Fork>()?;
    Ok(())
}

fn field_address(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.request.address = parse_address("`address`", &string("address", v)?)?;
    Ok(())
}

fn field_caller(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.request.caller = parse_address("`caller`", &string("caller", v)?)?;
    p.request.env.origin = p.request.caller;
    Ok(())
}

fn field_storage(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    let slots = Fields::parse(v.get()).map_err(|_| "`storage` must be an object".to_string())?;
    for (slot, value) in &slots.0 {
        let key = number_text("storage", &format!("slot `{slot}`"), slot, 256)?;
        let value = number("storage", value, 256)?;
        p.request.storage.push((key, value));
    }
    Ok(())
}

/// A string field's value, escapes decoded.
fn string(field: &str, v: &RawValue) -> Result<String, String> {
    serde_json::from_str::<String>(v.get()).map_err(|_| format!("`{field}` must be a string"))
}

/// A number field's value, at most 2^`bits`-1: a JSON integer, or a string of decimal or
/// `0x` hex digits. The JSON text is read as written, so a big integer is not first turned
/// into a float.
fn number(field: &str, v: &RawValue, bits: u32) -> Result<U256, String> {
    let text = v.get();
    if text.starts_with('"') {
        let s = string(field, v)?;
        return number_text(field, &format!("`{s}`"), &s, bits);
    }
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(format!(
            "`{field}` must be a number or a string of decimal or 0x hex digits"
        ));
    }
    if text.starts_with('-') {
        return Err(format!("`{field}`: {text} is negative"));
    }
    if text.contains(['.', 'e', 'E']) {
        return Err(format!("`{field}`: {text} is not a whole number"));
    }
    number_text(field, text, text, bits)
}

/// The number `text` (decimal or `0x` hex), at most 2^`bits`-1; `shown` is how an error
/// shows it.
fn number_text(field: &str, shown: &str, text: &str, bits: u32) -> Result<U256, String> {
    let t = text.trim();
    let (digits, radix) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (t, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!(
            "`{field}`: {shown} is not a number (decimal or 0x hex digits)"
        ));
    }
    let over = || format!("`{field}`: {shown} is over the limit 2^{bits}-1");
    let digits = digits.trim_start_matches('0');
    let value = if radix == 16 {
        if digits.len() > 64 {
            return Err(over());
        }
        U256::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
            .map_err(|_| over())?
    } else {
        // The digits are checked: the only error left is a value past 2^256-1.
        U256::from_dec_str(if digits.is_empty() { "0" } else { digits }).map_err(|_| over())?
    };
    if bits < 256 && value >> bits != U256::zero() {
        return Err(over());
    }
    Ok(value)
}

/// A JSON object's members in order, their values as JSON text: numbers are read from that
/// text, and the line's `id` is echoed as written.
struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'a> Fields<'a> {
    /// The members of the object `text`, or why it is not one.
    fn parse(text: &'a str) -> Result<Fields<'a>, String> {
        serde_json::from_str::<Fields<'a>>(text).map_err(|e| {
            if e.is_data() {
                "a request must be a JSON object".to_string()
            } else {
                format!("bad JSON: {e}")
            }
        })
    }

    /// The value of the first member named `name`, unless it is `null`.
    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
            .filter(|v| v.get() != "null")
    }

    /// The name of the world the request runs in, if it names one; an error when `world` is
    /// not a string.
    fn world(&self) -> Result<Option<String>, String> {
        self.get("world").map(|v| string("world", v)).transpose()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Members<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Fields<'a>, M::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Fields(members))
            }
        }
        deserializer.deserialize_map(Members(std::marker::PhantomData))
    }
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
        }
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
        self.answer_admitted(line, None)
    }

    /// [`Batch::answer_line`], where `refused` (when given) says whether the line's world was
    /// refused by whoever counts the worlds in input order ([`serve`] on several threads).
    fn answer_admitted(&mut self, line: &Line, refused: Option<bool>) -> String {
        let error = match line {
            Line::Request(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => return self.answer_text(text, refused),
                Err(e) => format!(
                    "the request is not UTF-8 (byte {} of the line)",
                    e.valid_up_to()
                ),
            },
            Line::TooLong(len) => {
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
                self.vm = Vm::new();
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
        } = parsed;
        if let Some(origin) = origin {
            request.env.origin = origin;
        }
        if !code && !runs_account_code(&config, &request, world.is_some()) {
            return Err(
                "missing `code` (in evm it may come from the `address` account's code, \
                        in `accounts` or in the request's world)"
                    .into(),
            );
        }
        let mut outcome = match world {
            None => {
                inject_panic(&request);
                self.vm.run(&config, &request).map_err(|e| e.to_string())?
            }
            Some(name) if !admitted => {
                return Err(format!(
                    "world `{name}`: the batch already keeps {MAX_WORLDS} worlds, the limit"
                ))
            }
            Some(name) => self.run_in_world(name, &config, &request)?,
        };
        // The line does not show memory: it need not be held while the line is written.
        outcome.memory = Vec::new();
        Ok(output::to_json(&outcome))
    }

    /// Runs a request on the world `name`, made empty on its first request; the world is
    /// dropped when the run leaves it over [`WORLD_BYTE_LIMIT`].
    fn run_in_world(
        &mut self,
        name: String,
        config: &Config,
        request: &Request,
    ) -> Result<crate::Outcome, String> {
        let kept = self
            .worlds
            .entry(name.clone())
            .or_insert_with(|| Kept::Live(Box::new(World::new(request.env.clone(), config.fork))));
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
        inject_panic(request);
        let outcome = self.vm.run_on(&mut world, config, request);
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
fn world_of(line: &Line) -> Option<String> {
    let Line::Request(bytes) = line else {
        return None;
    };
    // Most lines name no world: they are told apart without parsing them here as well as on
    // the thread that answers them. A key spelt with escapes has a backslash.
    let named = |key: &[u8]| bytes.windows(key.len()).any(|w| w == key);
    if !named(b"\"world\"") && !bytes.contains(&b'\\') {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    Fields::parse(text).ok()?.world().ok()?
}

/// Why [`serve`] stopped before the end of its input.
#[derive(Debug)]
pub enum StreamError {
    /// Reading the requests failed.
    Read(io::Error),
    /// Writing the answers failed.
    Write(io::Error),
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Read(e) => write!(f, "reading the requests: {e}"),
            StreamError::Write(e) => write!(f, "writing the answers: {e}"),
        }
    }
}

impl std::error::Error for StreamError {}

/// What [`serve`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Lines answered (blank lines are not).
    pub answers: u64,
    /// JIT compilations done for the batch.
    pub compiles: u64,
}

/// Answers every request line of `input` on `output`, one answer a line in input order,
/// with `jobs` threads: requests start from `config` and `request` (the flags of
/// `run --batch`).
///
/// With one job the lines are answered on this thread, each written and flushed before the
/// next is read. With more, this thread reads the lines and hands them out: requests of one
/// world always to the same thread (so they run in input order), the others to the thread
/// with the fewest waiting; the threads' VMs share one JIT cache, and one more thread writes
/// the answers in input order, flushing whenever it has nothing more to write. Lines already
/// read in are handed out together, up to [`CHUNK_LINES`] at a time, so a stream of short
/// requests does not wake a thread per line; a line is never held back waiting for more input
/// (lines are handed out whenever the next whole line has not arrived yet).
/// At most [`PENDING_LINES`] lines and [`PENDING_BYTES`] of their text and answers are read
/// and not yet written. The answers are the same whatever `jobs` is.
pub fn serve(
    input: impl io::Read,
    output: &mut (impl Write + Send),
    config: Config,
    request: Request,
    jobs: NonZeroUsize,
) -> Result<Served, StreamError> {
    let mut input = io::BufReader::with_capacity(INPUT_BUFFER, input);
    if jobs.get() == 1 {
        let mut answers = 0;
        let mut batch = Batch::new(Vm::new(), config, request);
        while let Some(line) = read_line(&mut input, MAX_LINE_LEN).map_err(StreamError::Read)? {
            if is_blank(&line) {
                continue;
            }
            writeln!(output, "{}", batch.answer_line(&line))
                .and_then(|_| output.flush())
                .map_err(StreamError::Write)?;
            answers += 1;
        }
        return Ok(Served {
            answers,
            compiles: batch.vm().jit_cache().compiles(),
        });
    }
    let cache = Arc::new(crate::jit::JitCache::new(256));
    let jobs = jobs.get();
    let window = Window::default();
    let failed = AtomicBool::new(false);
    let waiting: Vec<AtomicUsize> = (0..jobs).map(|_| AtomicUsize::new(0)).collect();
    let mut read_error = None;
    let write_result = std::thread::scope(|scope| {
        let (done, answered) = mpsc::channel::<Vec<(u64, String)>>();
        let mut queues = Vec::with_capacity(jobs);
        for queue_waiting in &waiting {
            let (queue, chunks) = mpsc::channel::<Vec<Job>>();
            queues.push(queue);
            let (done, window, cache) = (done.clone(), &window, cache.clone());
            let request = request.clone();
            scope.spawn(move || {
                let mut batch = Batch::new(Vm::with_jit_cache(cache), config, request);
                for chunk in chunks {
                    let mut answers = Vec::with_capacity(chunk.len());
                    let (mut line_bytes, mut answer_bytes) = (0, 0);
                    for job in chunk {
                        let answer = batch.answer_admitted(&job.line, job.refused);
                        queue_waiting.fetch_sub(1, Ordering::Relaxed);
                        line_bytes += job.bytes;
                        answer_bytes += answer.len() as u64;
                        answers.push((job.seq, answer));
                    }
                    window.answered(line_bytes, answer_bytes);
                    if done.send(answers).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let (window, failed) = (&window, &failed);
        let writer = scope.spawn(move || write_in_order(answered, output, window, failed));
        let mut hand_out = HandOut {
            outboxes: (0..jobs).map(|_| Vec::new()).collect(),
            held: 0,
            queues,
            waiting: &waiting,
            names: WorldNames::default(),
            seq: 0,
        };
        while !failed.load(Ordering::Relaxed) {
            let line = match read_line(&mut input, MAX_LINE_LEN) {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            };
            if is_blank(&line) {
                continue;
            }
            let bytes = match &line {
                Line::Request(b) => b.len() as u64,
                Line::TooLong(_) => 0,
            };
            if !window.try_acquire(bytes) {
                // The lines held here must go out before waiting: their answers make room.
                hand_out.send();
                window.acquire(bytes);
            }
            hand_out.add(line, bytes);
            // Without a whole line in the buffer the next read may wait for input: what is
            // held goes out first. (The search stops at the next line's end.)
            if !input.buffer().contains(&b'\n') || hand_out.held >= CHUNK_LINES {
                hand_out.send();
            }
        }
        hand_out.send();
        drop(hand_out);
        writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the thread writing the answers panicked")))
    });
    let answers = write_result.map_err(StreamError::Write)?;
    if let Some(e) = read_error {
        return Err(StreamError::Read(e));
    }
    Ok(Served {
        answers,
        compiles: cache.compiles(),
    })
}

/// The bytes of input [`serve`] reads at a time (64 KiB): the lines already in it are handed
/// out together.
const INPUT_BUFFER: usize = 64 << 10;

/// The most lines [`serve`] hands out at a time (64).
pub const CHUNK_LINES: usize = 64;

/// The lines [`serve`] has read and not yet handed to a thread, and where each goes.
struct HandOut<'a> {
    /// Per thread, the lines for it.
    outboxes: Vec<Vec<Job>>,
    /// Lines in the outboxes.
    held: usize,
    queues: Vec<mpsc::Sender<Vec<Job>>>,
    /// Per thread, the lines handed to it and not yet answered.
    waiting: &'a [AtomicUsize],
    names: WorldNames,
    /// The next line's place in the input.
    seq: u64,
}

impl HandOut<'_> {
    /// Puts a line in the outbox of its thread: its world's, or the least busy.
    fn add(&mut self, line: Line, bytes: u64) {
        let world = world_of(&line);
        let refused = world.as_deref().map(|name| !self.names.admit(name));
        let load = |i: usize| self.waiting[i].load(Ordering::Relaxed) + self.outboxes[i].len();
        let target = match &world {
            Some(name) => {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                name.hash(&mut hasher);
                (hasher.finish() % self.outboxes.len() as u64) as usize
            }
            None => (0..self.outboxes.len())
                .min_by_key(|&i| load(i))
                .unwrap_or(0),
        };
        self.outboxes[target].push(Job {
            seq: self.seq,
            line,
            refused,
            bytes,
        });
        self.seq += 1;
        self.held += 1;
    }

    /// Hands every outbox to its thread.
    fn send(&mut self) {
        for (i, outbox) in self.outboxes.iter_mut().enumerate() {
            if outbox.is_empty() {
                continue;
            }
            self.waiting[i].fetch_add(outbox.len(), Ordering::Relaxed);
            // A thread gone (it cannot be: they end when the queues close) would leave its
            // lines unanswered; the writer then stops at the first of them.
            let _ = self.queues[i].send(std::mem::take(outbox));
        }
        self.held = 0;
    }
}

/// A line handed to a thread of [`serve`].
struct Job {
    /// Its place in the input, blank lines not counted.
    seq: u64,
    line: Line,
    /// For a line naming a world: whether the world was refused (over [`MAX_WORLDS`]).
    refused: Option<bool>,
    /// Bytes of the line held in the window.
    bytes: u64,
}

fn is_blank(line: &Line) -> bool {
    matches!(line, Line::Request(bytes) if bytes.trim_ascii().is_empty())
}

/// Writes answers as they come, each in its input order, and returns how many. After a write
/// error it writes no more but still takes every answer (so the window keeps moving and the
/// reader sees `failed`).
fn write_in_order(
    answered: mpsc::Receiver<Vec<(u64, String)>>,
    output: &mut impl Write,
    window: &Window,
    failed: &AtomicBool,
) -> io::Result<u64> {
    let mut next = 0u64;
    let mut held = BTreeMap::new();
    let mut error = None;
    while let Ok(first) = answered.recv() {
        held.extend(first);
        // Whatever else is already answered goes out before the flush.
        while let Ok(more) = answered.try_recv() {
            held.extend(more);
        }
        let (mut lines, mut bytes) = (0, 0);
        while let Some(answer) = held.remove(&next) {
            if error.is_none() {
                if let Err(e) = writeln!(output, "{answer}") {
                    error = Some(e);
                    failed.store(true, Ordering::Relaxed);
                }
            }
            lines += 1;
            bytes += answer.len() as u64;
            next += 1;
        }
        if error.is_none() && lines > 0 {
            if let Err(e) = output.flush() {
                error = Some(e);
                failed.store(true, Ordering::Relaxed);
            }
        }
        window.written(lines, bytes);
    }
    match error {
        Some(e) => Err(e),
        None => Ok(next),
    }
}

/// What [`serve`] holds for lines read and not yet written: how many, and the bytes of their
/// text (until answered) and answers (until written).
#[derive(Default)]
struct Window {
    held: Mutex<(usize, u64)>,
    moved: Condvar,
}

impl Window {
    /// Whether a line of `bytes` fits in now (always, when none is held).
    fn fits(held: (usize, u64), bytes: u64) -> bool {
        held.0 == 0 || (held.0 < PENDING_LINES && held.1 + bytes <= PENDING_BYTES)
    }

    /// Takes room for a line of `bytes` if there is some now.
    fn try_acquire(&self, bytes: u64) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let fits = Self::fits(*held, bytes);
        if fits {
            held.0 += 1;
            held.1 += bytes;
        }
        fits
    }

    /// Whether the window has drained to half full: where a reader waiting for room goes on,
    /// so that it then reads many lines at a time rather than one per answer written.
    fn drained(held: (usize, u64)) -> bool {
        held.0 <= PENDING_LINES / 2 && held.1 <= PENDING_BYTES / 2
    }

    /// Waits until a line of `bytes` may be read in (the window [drained](Window::drained),
    /// or empty), and takes its room.
    fn acquire(&self, bytes: u64) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        while !(held.0 == 0 || (Self::drained(*held) && Self::fits(*held, bytes))) {
            held = self.moved.wait(held).unwrap_or_else(|e| e.into_inner());
        }
        held.0 += 1;
        held.1 += bytes;
    }

    /// Lines of `line` bytes in all were answered with `answer` bytes.
    fn answered(&self, line: u64, answer: u64) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.1 = held.1.saturating_sub(line) + answer;
        // Only the reader waits, and only for the window to drain: a wake-up costs a system
        // call, so it is made only when the reader may go on.
        if Self::drained(*held) {
            self.moved.notify_all();
        }
    }

    /// `lines` answers of `answer` bytes in all were written.
    fn written(&self, lines: usize, answer: u64) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.0 -= lines;
        held.1 = held.1.saturating_sub(answer);
        if Self::drained(*held) {
            self.moved.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

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

    /// The answers `serve` writes for `input` with `jobs` threads under `run --batch`'s
    /// defaults, one string a line.
    fn served(input: &str, jobs: usize) -> Vec<String> {
        let mut out = Vec::new();
        let jobs = NonZeroUsize::new(jobs).expect("jobs");
        let request = Request::new(Vec::new());
        serve(
            &mut input.as_bytes(),
            &mut out,
            Config::default(),
            request,
            jobs,
        )
        .expect("serves");
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
            serve(
                &mut &bytes[..],
                &mut out,
                Config::default(),
                Request::new(vec![]),
                jobs,
            )
            .expect("serves");
            out
        };
        assert_eq!(run(2), run(1));
    }

    #[test]
    fn the_window_bounds_what_waits_to_be_written_and_drains_to_half() {
        let window = Window::default();
        for _ in 0..PENDING_LINES {
            assert!(window.try_acquire(1));
        }
        assert!(!window.try_acquire(1));
        // A reader that waits goes on once the writer has brought it down to half.
        std::thread::scope(|s| {
            s.spawn(|| {
                window.answered(PENDING_LINES as u64, 10 * PENDING_LINES as u64);
                for _ in 0..PENDING_LINES / 2 {
                    window.written(1, 10);
                }
            });
            window.acquire(1);
        });
        let half = PENDING_LINES / 2;
        assert_eq!(
            *window.held.lock().expect("lock"),
            (half + 1, 10 * half as u64 + 1)
        );
        // A line over the byte limit is still read when nothing else is held.
        let empty = Window::default();
        empty.acquire(PENDING_BYTES * 2);
        assert_eq!(*empty.held.lock().expect("lock"), (1, PENDING_BYTES * 2));
    }
}
