//! Fixtures with a pre-state run as message calls (`nestedvm run FIXTURE.json`): revmc's
//! benchmark fixtures (`{name: {env, pre, transaction: [{data, gasLimit, gasPrice, nonce,
//! sender, to, value}]}}`) and GeneralStateTests, whose `transaction` holds lists of data, gas
//! limits and values (each combination is one call).
//!
//! A call runs `to`'s code in the `evm` profile with `sender` as caller and origin, the
//! transaction's data, value and gas limit (all of it for the top frame: `run` charges no
//! intrinsic gas), `env` as the block and `pre` as the world.

use nestedvm::parse::{parse_address, parse_hex, parse_u256, parse_u64};
use nestedvm::{Address, Env, Request};
use serde_json::{Map, Value};

/// One message call of a fixture.
#[derive(Clone, Debug)]
pub struct FixtureCall {
    /// The test's name, with the transaction's index (`weth`, `weth tx 1`) or variant
    /// (`name d=0 g=1 v=0`) when the test has several.
    pub name: String,
    /// The call: empty `code` (the `to` account's runs), `to` as address, the sender as
    /// caller and origin, the pre-state as accounts.
    pub request: Request,
}

/// The calls of a fixture file's text, its tests in name order (each test's transactions in
/// file order); `what` names the file in errors.
pub fn fixture_calls(what: &str, text: &str) -> Result<Vec<FixtureCall>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("{what}: not JSON: {e}"))?;
    let tests = value
        .as_object()
        .ok_or_else(|| format!("{what}: a fixture is an object of test name to test"))?;
    // Sorted here, not by the map: a build with the `revm` feature keeps JSON objects in file
    // order (revm's tracer turns on serde_json's `preserve_order`), and the calls must not
    // depend on the build.
    let mut tests: Vec<(&String, &Value)> = tests.iter().collect();
    tests.sort_by(|a, b| a.0.cmp(b.0));
    let mut calls = Vec::new();
    for (name, test) in tests {
        let what = format!("{what}: {name}");
        let test = test
            .as_object()
            .ok_or_else(|| format!("{what}: a test must be an object"))?;
        let field = |key: &str| {
            test.get(key)
                .ok_or_else(|| format!("{what}: missing `{key}`"))
        };
        let mut base = Request::new(Vec::new());
        base.env = fixture_env(&format!("{what}: env"), field("env")?)?;
        base.accounts = nestedvm::state::parse_accounts(&format!("{what}: pre"), field("pre")?)?;
        let txs = transactions(&format!("{what}: transaction"), field("transaction")?)?;
        let several = txs.len() > 1;
        for (label, tx) in txs {
            let mut request = base.clone();
            apply_transaction(&format!("{what}: transaction"), &tx, &mut request)?;
            let name = if several {
                format!("{name} {label}")
            } else {
                name.clone()
            };
            calls.push(FixtureCall { name, request });
        }
    }
    if calls.is_empty() {
        return Err(format!("{what}: holds no test"));
    }
    Ok(calls)
}

fn text<'a>(what: &str, v: &'a Value) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{what}: must be a string"))
}

/// The number a fixture writes as hex text (or a JSON integer), as text.
fn number(what: &str, v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(format!("{what}: must be a number")),
    }
}

/// The block of a fixture's `env`; what it leaves out keeps `run`'s default environment.
fn fixture_env(what: &str, v: &Value) -> Result<Env, String> {
    let env_fields = v
        .as_object()
        .ok_or_else(|| format!("{what}: must be an object"))?;
    let mut env = Env::default();
    let get = |key: &str| env_fields.get(key).filter(|v| !v.is_null());
    let u64_of = |key: &str| -> Result<Option<u64>, String> {
        get(key)
            .map(|v| parse_u64(&format!("{what}: {key}"), &number(key, v)?))
            .transpose()
    };
    let u256_of = |key: &str| {
        get(key)
            .map(|v| parse_u256(&format!("{what}: {key}"), &number(key, v)?))
            .transpose()
    };
    if let Some(n) = u64_of("currentNumber")? {
        env.number = n;
    }
    if let Some(t) = u64_of("currentTimestamp")? {
        env.timestamp = t;
    }
    if let Some(g) = u64_of("currentGasLimit")? {
        env.gas_limit = g;
    }
    if let Some(c) = get("currentCoinbase") {
        env.coinbase = parse_address(&format!("{what}: currentCoinbase"), text(what, c)?)?;
    }
    if let Some(b) = u256_of("currentBaseFee")? {
        env.basefee = b;
    }
    // Tests from before the merge give the difficulty PREVRANDAO replaced.
    if let Some(r) = u256_of("currentRandom")?.or(u256_of("currentDifficulty")?) {
        env.prevrandao = r;
    }
    if let Some(b) = u256_of("currentBlobBaseFee")? {
        env.blob_base_fee = b;
    }
    Ok(env)
}

/// One transaction of a fixture, as its JSON fields.
type Transaction = Map<String, Value>;

/// A fixture's transactions, each with its label: a list of plain transactions (revmc), or
/// one whose `data`, `gasLimit` and `value` may be lists (GeneralStateTests), spread into
/// every combination.
fn transactions(what: &str, v: &Value) -> Result<Vec<(String, Transaction)>, String> {
    match v {
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, tx)| {
                let tx = tx
                    .as_object()
                    .ok_or_else(|| format!("{what}: {i}: must be an object"))?;
                Ok((format!("tx {i}"), tx.clone()))
            })
            .collect(),
        Value::Object(tx) => {
            let variants = |key: &str| match tx.get(key) {
                Some(Value::Array(list)) => list.clone(),
                Some(v) => vec![v.clone()],
                None => vec![Value::Null],
            };
            let (data, gas, value) = (variants("data"), variants("gasLimit"), variants("value"));
            let mut out = Vec::new();
            for (d, data) in data.iter().enumerate() {
                for (g, gas) in gas.iter().enumerate() {
                    for (v, value) in value.iter().enumerate() {
                        let mut one = tx.clone();
                        one.insert("data".into(), data.clone());
                        one.insert("gasLimit".into(), gas.clone());
                        one.insert("value".into(), value.clone());
                        out.push((format!("d={d} g={g} v={v}"), one));
                    }
                }
            }
            Ok(out)
        }
        _ => Err(format!("{what}: must be a list or an object")),
    }
}

/// Sets the call of one transaction on `request`.
fn apply_transaction(what: &str, tx: &Transaction, request: &mut Request) -> Result<(), String> {
    let get = |key: &str| tx.get(key).filter(|v| !v.is_null());
    let to = match get("to")
        .map(|v| text(&format!("{what}: to"), v))
        .transpose()?
    {
        Some(to) if !to.trim().is_empty() && to.trim() != "0x" => {
            parse_address(&format!("{what}: to"), to)?
        }
        _ => {
            return Err(format!(
                "{what}: creates a contract (no `to`); run takes message calls"
            ))
        }
    };
    let sender: Address = match (get("sender"), get("secretKey")) {
        (Some(s), _) => parse_address(&format!("{what}: sender"), text(what, s)?)?,
        (None, Some(key)) => {
            let key = parse_hex(&format!("{what}: secretKey"), text(what, key)?)?;
            let key: [u8; 32] = key
                .try_into()
                .map_err(|_| format!("{what}: secretKey must be 32 bytes"))?;
            nestedvm::signer::address_of_secret_key(&key)
                .ok_or_else(|| format!("{what}: secretKey is not a valid secp256k1 key"))?
        }
        (None, None) => return Err(format!("{what}: neither `sender` nor `secretKey`")),
    };
    request.address = to;
    request.caller = sender;
    request.env.origin = sender;
    if let Some(d) = get("data") {
        request.calldata = parse_hex(&format!("{what}: data"), text(what, d)?)?;
    }
    if let Some(g) = get("gasLimit") {
        request.gas = parse_u64(&format!("{what}: gasLimit"), &number(what, g)?)?;
    }
    if let Some(v) = get("value") {
        request.value = parse_u256(&format!("{what}: value"), &number(what, v)?)?;
    }
    let price = |key: &str| {
        get(key)
            .map(|p| parse_u256(&format!("{what}: {key}"), &number(what, p)?))
            .transpose()
    };
    if let Some(p) = price("gasPrice")? {
        request.env.gas_price = p;
    } else if let Some(cap) = price("maxFeePerGas")? {
        // EIP-1559's effective price: the base fee plus the tip, up to the fee cap.
        let tip = price("maxPriorityFeePerGas")?.unwrap_or_default();
        request.env.gas_price = cap.min(request.env.basefee.saturating_add(tip));
    }
    Ok(())
}
