//! The `run --batch` protocol: one JSON request per line, one JSON result per line in the
//! `--json` shape, a malformed line answered with `{"error":"…"}`. The command line reads
//! stdin through it; the benchmarks measure its throughput through the same code.

use crate::parse::{parse_address, parse_hex, parse_u256, parse_u64};
use crate::{output, Config, Engine, Fork, Profile, Request, Vm};
use serde_json::{Map, Value};

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
        self.try_answer(line)
            .unwrap_or_else(|e| serde_json::json!({ "error": e }).to_string())
    }

    fn try_answer(&mut self, line: &str) -> Result<String, String> {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?;
        let obj = value.as_object().ok_or("a request must be a JSON object")?;
        let mut config = self.config;
        let mut request = self.request.clone();
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
        let outcome = self.vm.run(&config, &request).map_err(|e| e.to_string())?;
        Ok(output::to_json(&outcome))
    }
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
