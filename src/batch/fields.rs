//! A request line's fields: the one list of known fields, each read by its own parser, and
//! numbers read exactly from the JSON text.

use crate::parse::{parse_address, parse_hex};
use crate::{Address, Config, Engine, Fork, Profile, Request, U256};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::time::Duration;

/// What a request line has parsed into so far; each field's parser fills in its part.
pub(super) struct Parsed {
    pub(super) config: Config,
    pub(super) request: Request,
    pub(super) code: bool,
    /// `origin`, set after every field: `caller` sets the origin too, whatever the order.
    pub(super) origin: Option<Address>,
    /// `trace`: the EIP-3155 steps in the result.
    pub(super) trace: bool,
    /// `call_trace`: the call tree in the result.
    pub(super) call_trace: bool,
    /// `block` as given: on a forked chain its `number` names the block to fork at, whose
    /// environment its other keys then override.
    pub(super) block: Option<serde_json::Value>,
}

/// A field's parser: its JSON value (never `null`, which means the field is absent) into the
/// request.
pub(super) type FieldParser = fn(&mut Parsed, &RawValue) -> Result<(), String>;

/// Every field a request line may have, with its parser: the one list a new field joins.
/// `id` and `world` are read before the others (an error line carries the id; the world is
/// known before the line runs), so their parsers here only accept them.
pub(super) const FIELDS: &[(&str, FieldParser)] = &[
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
    ("trace", |p, v| flag("trace", v).map(|on| p.trace = on)),
    ("call_trace", |p, v| {
        flag("call_trace", v).map(|on| p.call_trace = on)
    }),
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
    let block = json(v)?;
    crate::state::parse_block("block", &block, &mut p.request.env)?;
    p.block = Some(block);
    Ok(())
}

fn field_dump(p: &mut Parsed, v: &RawValue) -> Result<(), String> {
    p.config.dump_state = flag("dump", v)?;
    Ok(())
}

/// A field that is `true` or `false`.
fn flag(name: &str, v: &RawValue) -> Result<bool, String> {
    match v.get() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("`{name}` must be true or false")),
    }
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
pub(super) struct Fields<'a>(pub(super) Vec<(String, &'a RawValue)>);

impl<'a> Fields<'a> {
    /// The members of the object `text`, or why it is not one.
    pub(super) fn parse(text: &'a str) -> Result<Fields<'a>, String> {
        serde_json::from_str::<Fields<'a>>(text).map_err(|e| {
            if e.is_data() {
                "a request must be a JSON object".to_string()
            } else {
                format!("bad JSON: {e}")
            }
        })
    }

    /// The value of the first member named `name`, unless it is `null`.
    pub(super) fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
            .filter(|v| v.get() != "null")
    }

    /// The name of the world the request runs in, if it names one; an error when `world` is
    /// not a string.
    pub(super) fn world(&self) -> Result<Option<String>, String> {
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
