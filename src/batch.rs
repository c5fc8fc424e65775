//! The `run --batch` protocol: one JSON request per line, one JSON result per line in the
//! `--json` shape, a malformed line answered with `{"error":"…"}`. The command line reads
//! stdin through it; the benchmarks measure its throughput through the same code.
//!
//! Lines are read as raw bytes ([`read_line`]), at most [`MAX_LINE_LEN`] of them kept: a line
//! that is too long, not UTF-8, not a request, or that makes the VM panic is answered with an
//! error and the stream goes on.

use crate::parse::{parse_address, parse_hex, parse_u256, parse_u64};
use crate::{output, Config, Engine, Fork, Profile, Request, Vm};
use serde_json::{Map, Value};
use std::io::{self, BufRead};
use std::panic::{catch_unwind, AssertUnwindSafe};
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

/// Answers batch requests with one VM, so analysed and compiled code is reused between them.
pub struct Batch {
    vm: Vm,
    config: Config,
    request: Request,
}

impl Batch {
    /// A batch whose requests start from `config` and `request` (the flags of `run --batch`)
    /// and run on `vm`.
    pub fn new(vm: Vm, config: Config, request: Request) -> Self {
        Batch {
            vm,
            config,
            request,
        }
    }

    /// The VM the requests run on.
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// The answer to one request line: the result in the `--json` shape, or
    /// `{"error":"…"}`.
    pub fn answer(&mut self, line: &str) -> String {
        self.guarded(|batch| batch.try_answer(line))
            .unwrap_or_else(|e| serde_json::json!({ "error": e }).to_string())
    }

    /// The answer to one line as [`read_line`] gives it: [`Batch::answer`], or an error for a
    /// line too long or not UTF-8.
    pub fn answer_line(&mut self, line: &Line) -> String {
        let error = match line {
            Line::Request(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => return self.answer(text),
                Err(e) => format!(
                    "the request is not UTF-8 (byte {} of the line)",
                    e.valid_up_to()
                ),
            },
            Line::TooLong(len) => {
                format!("the request line is {len} bytes, longer than the limit of {MAX_LINE_LEN}")
            }
        };
        serde_json::json!({ "error": error }).to_string()
    }

    /// Runs `answer` and turns a panic into an error, so one request cannot end the stream.
    /// The VM is replaced after a panic: its caches may hold what the panic left half done.
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

    fn try_answer(&mut self, line: &str) -> Result<String, String> {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?;
        let obj = value.as_object().ok_or("a request must be a JSON object")?;
        let mut config = self.config;
        let mut request = self.request.clone();
        let code = field_str(obj, "code")?;
        if let Some(code) = code {
            request.code = parse_hex("code", code)?;
        }
        if let Some(cd) = field_str(obj, "calldata")? {
            request.calldata = parse_hex("calldata", cd)?;
        }
        if let Some(g) = number_text(obj, "gas")? {
            request.gas = parse_u64("gas", &g)?;
        }
        if let Some(v) = number_text(obj, "value")? {
            request.value = parse_u256("value", &v)?;
        }
        if let Some(ms) = number_text(obj, "timeout_ms")? {
            config.timeout = Some(Duration::from_millis(parse_u64("timeout_ms", &ms)?));
        }
        if let Some(p) = field_str(obj, "profile")? {
            config.profile = p.parse::<Profile>()?;
        }
        if let Some(e) = field_str(obj, "engine")? {
            config.engine = e.parse::<Engine>()?;
        }
        if let Some(f) = field_str(obj, "fork")? {
            config.fork = f.parse::<Fork>()?;
        }
        if let Some(a) = field_str(obj, "address")? {
            request.address = parse_address("address", a)?;
        }
        if let Some(c) = field_str(obj, "caller")? {
            request.caller = parse_address("caller", c)?;
            request.env.origin = request.caller;
        }
        match obj.get("storage") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let key = parse_u256("storage slot", k)?;
                    let v = v.as_str().ok_or("storage values must be strings")?;
                    request.storage.push((key, parse_u256("storage value", v)?));
                }
            }
            Some(_) => return Err("`storage` must be an object".into()),
        }
        state_fields(obj, &mut config, &mut request)?;
        if code.is_none() && !runs_account_code(&config, &request) {
            return Err("missing `code` (in evm it may come from the `address` account's code in `accounts`)".into());
        }
        let mut outcome = self.vm.run(&config, &request).map_err(|e| e.to_string())?;
        // The line does not show memory: it need not be held while the line is written.
        outcome.memory = Vec::new();
        Ok(output::to_json(&outcome))
    }
}

/// The fields of a request about state and environment: `accounts` (the pre-state in the
/// alloc shape), `origin` (after `caller`, which sets it too), `block`, and `dump`.
fn state_fields(
    obj: &Map<String, Value>,
    config: &mut Config,
    request: &mut Request,
) -> Result<(), String> {
    if let Some(accounts) = obj.get("accounts").filter(|v| !v.is_null()) {
        request.accounts = crate::state::parse_accounts("accounts", accounts)?;
    }
    if let Some(o) = field_str(obj, "origin")? {
        request.env.origin = parse_address("origin", o)?;
    }
    if let Some(block) = obj.get("block").filter(|v| !v.is_null()) {
        crate::state::parse_block("block", block, &mut request.env)?;
    }
    match obj.get("dump") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => config.dump_state = *b,
        Some(_) => return Err("`dump` must be true or false".into()),
    }
    Ok(())
}

/// Whether a request without `code` runs the executing account's code from `accounts`
/// (`evm` only: in `hyvm` the code is the guest, which no account holds).
fn runs_account_code(config: &Config, request: &Request) -> bool {
    config.profile == Profile::Evm
        && request
            .accounts
            .iter()
            .any(|(a, account)| *a == request.address && !account.code.is_empty())
}

fn field_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

fn number_text(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!("`{key}` must be a number or a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
