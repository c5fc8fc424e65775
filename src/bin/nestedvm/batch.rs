//! `run --batch`: one JSON request per line on stdin, one JSON result per line on stdout, in
//! order. A malformed line gets `{"error":"…"}` and the batch goes on. Analysed code is reused
//! across requests.

use crate::{base_request, RunArgs, UsageError};
use nestedvm::input::{parse_address, parse_hex, parse_u256, parse_u64};
use nestedvm::{output, Engine, Fork, Profile, Vm};
use serde_json::Value;
use std::io::{BufRead, Write};

fn field_str<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

fn number_text(obj: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(format!("`{key}` must be a number or a string")),
    }
}

fn run_line(vm: &mut Vm, args: &RunArgs, line: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?;
    let obj = value.as_object().ok_or("a request must be a JSON object")?;
    let (mut config, mut request) = base_request(args).map_err(|UsageError(e)| e)?;
    let code = field_str(obj, "code")?.ok_or("missing `code`")?;
    request.code = parse_hex("code", code)?;
    if let Some(cd) = field_str(obj, "calldata")? {
        request.calldata = parse_hex("calldata", cd)?;
    }
    if let Some(g) = number_text(obj, "gas")? {
        request.gas = parse_u64("gas", &g)?;
    }
    if let Some(v) = number_text(obj, "value")? {
        request.value = parse_u256("value", &v)?;
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
    let outcome = vm.run(&config, &request).map_err(|e| e.to_string())?;
    Ok(output::to_json(&outcome))
}

/// Runs the batch protocol over stdin and stdout.
pub fn run_batch(args: &RunArgs) -> Result<(), UsageError> {
    // Flags are checked once up front so that a bad flag is a usage error, not N line errors.
    base_request(args)?;
    let mut vm = Vm::new();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = run_line(&mut vm, args, &line)
            .unwrap_or_else(|e| serde_json::json!({ "error": e }).to_string());
        writeln!(out, "{reply}")
            .and_then(|_| out.flush())
            .map_err(|e| format!("stdout: {e}"))?;
    }
    Ok(())
}
