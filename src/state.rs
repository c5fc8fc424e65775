//! State in and out of a run, in the geth alloc shape users already have files in:
//! `{"0xADDR": {"balance": "0x..", "nonce": "0x..", "code": "0x..", "storage": {"0xslot":
//! "0xvalue"}}}`. [`parse_accounts`] reads a pre-state (`run --prestate`, the batch's
//! `accounts`), [`parse_block`] the block (`"block"`), [`dump`] takes the state after a run
//! ([`Config::dump_state`](crate::Config::dump_state)) and [`StateJson`] prints it.
//!
//! A `hyvm` payload calling a contract of the pre-state, in a chosen block, with the state
//! after it (the README runs one against WETH the same way):
//!
//! ```
//! use nestedvm::interp::asm::assemble;
//! use nestedvm::{Account, Address, Config, Request, Vm, U256};
//!
//! // A counter at 0xbbbb that has counted 41 calls in slot 0.
//! let counter = Address::from_low_u64_be(0xbbbb);
//! let code = assemble("PUSH1 0 SLOAD PUSH1 1 ADD PUSH1 0 SSTORE STOP").unwrap();
//! let account = Account::new(U256::zero(), 1, code).with_storage([(U256::zero(), U256::from(41))]);
//! // The payload: CALL(GAS, 0xbbbb, 0, 0, 0, 0, 0).
//! let guest = assemble("PUSH1 0 DUP1 DUP1 DUP1 DUP1 PUSH2 0xbbbb GAS CALL").unwrap();
//! let mut request = Request::new(guest);
//! request.accounts = vec![(counter, account)];
//! request.env.number = 20_000_000;
//! let config = Config { dump_state: true, ..Config::default() };
//! let outcome = Vm::new().run(&config, &request).unwrap();
//! let state = outcome.state.expect("dumped");
//! assert_eq!(state[&counter].storage[&U256::zero()], U256::from(42));
//! // {"0x…bbbb":{"balance":"0x0","nonce":"0x1","code":"0x…","storage":{"0x0":"0x2a"}},…}
//! let json = serde_json::to_string(&nestedvm::state::StateJson(&state)).unwrap();
//! assert!(json.contains(r#""storage":{"0x0":"0x2a"}"#));
//! ```

use crate::parse::{parse_address, parse_hex, parse_u256, parse_u64};
use crate::world::{Account, World};
use crate::{Address, Env, U256};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One account of a dumped state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountState {
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Code (empty for none).
    pub code: Vec<u8>,
    /// Non-zero storage, by slot.
    pub storage: BTreeMap<U256, U256>,
}

/// A dumped state: accounts by address.
pub type State = BTreeMap<Address, AccountState>;

/// The keys an account of the alloc shape may have.
const ACCOUNT_KEYS: &str = "balance, nonce, code, storage";

/// The keys `"block"` may have.
const BLOCK_KEYS: &str =
    "number, timestamp, basefee, coinbase, gaslimit, prevrandao, chainid, blobbasefee, gasprice";

/// A number given as a JSON integer or a decimal or `0x` hex string, as text for the
/// `parse` functions (which name `what` in their errors).
fn number_text(what: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(format!("{what}: must be a number or a string")),
    }
}

fn text<'a>(what: &str, value: &'a Value) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("{what}: must be a string"))
}

/// Reads a pre-state in the alloc shape: every inner field optional (an absent balance or
/// nonce is zero), numbers as JSON integers or decimal or `0x` hex strings. `what` names the
/// input in errors (`accounts`, `--prestate FILE`), which are one line naming the account and
/// the field.
pub fn parse_accounts(what: &str, value: &Value) -> Result<Vec<(Address, Account)>, String> {
    let map = value
        .as_object()
        .ok_or_else(|| format!("{what}: must be an object of address to account"))?;
    let mut accounts: Vec<(Address, Account)> = Vec::with_capacity(map.len());
    for (key, fields) in map {
        let address = parse_address(&format!("{what}: address"), key)?;
        // `0xAB..` and `0xab..` are one account: taking the later silently would hide a typo.
        if accounts.iter().any(|(a, _)| *a == address) {
            return Err(format!("{what}: {key} is given twice"));
        }
        accounts.push((address, parse_account(&format!("{what}: {key}"), fields)?));
    }
    Ok(accounts)
}

fn parse_account(what: &str, value: &Value) -> Result<Account, String> {
    let fields = value
        .as_object()
        .ok_or_else(|| format!("{what}: an account must be an object ({ACCOUNT_KEYS})"))?;
    let (mut balance, mut nonce, mut code, mut storage) = (U256::zero(), 0, Vec::new(), vec![]);
    for (key, v) in fields {
        let field = format!("{what}: {key}");
        match key.as_str() {
            "balance" => balance = parse_u256(&field, &number_text(&field, v)?)?,
            "nonce" => nonce = parse_u64(&field, &number_text(&field, v)?)?,
            "code" => code = parse_hex(&field, text(&field, v)?)?,
            "storage" => storage = parse_storage(&field, v)?,
            _ => {
                return Err(format!(
                    "{what}: unknown field `{key}` (expected {ACCOUNT_KEYS})"
                ))
            }
        }
    }
    Ok(Account::new(balance, nonce, code).with_storage(storage))
}

fn parse_storage(what: &str, value: &Value) -> Result<Vec<(U256, U256)>, String> {
    let map = value
        .as_object()
        .ok_or_else(|| format!("{what}: must be an object of slot to value"))?;
    map.iter()
        .map(|(k, v)| {
            let key = parse_u256(&format!("{what}: slot"), k)?;
            let field = format!("{what}: {k}");
            Ok((key, parse_u256(&field, &number_text(&field, v)?)?))
        })
        .collect()
}

/// Applies a `"block"` object to `env`: each of `number`, `timestamp`, `basefee`,
/// `coinbase`, `gaslimit`, `prevrandao`, `chainid`, `blobbasefee`, `gasprice` is optional
/// (what is absent keeps `env`'s value); any other key is an error naming it.
pub fn parse_block(what: &str, value: &Value, env: &mut Env) -> Result<(), String> {
    let map: &Map<String, Value> = value
        .as_object()
        .ok_or_else(|| format!("{what}: must be an object ({BLOCK_KEYS})"))?;
    for (key, v) in map {
        let field = format!("{what}: {key}");
        match key.as_str() {
            "coinbase" => env.coinbase = parse_address(&field, text(&field, v)?)?,
            _ => set_block_number(&field, key, &number_text(&field, v)?, env).map_err(|e| {
                if e.is_empty() {
                    format!("{what}: unknown field `{key}` (expected {BLOCK_KEYS})")
                } else {
                    e
                }
            })?,
        }
    }
    Ok(())
}

/// Sets the block number field `key` (a `"block"` key) of `env` to `value`; an empty error
/// for a key that is no block number field. The command line's block flags use it too.
pub fn set_block_number(what: &str, key: &str, value: &str, env: &mut Env) -> Result<(), String> {
    match key {
        "number" => env.number = parse_u64(what, value)?,
        "timestamp" => env.timestamp = parse_u64(what, value)?,
        "gaslimit" => env.gas_limit = parse_u64(what, value)?,
        "chainid" => env.chain_id = parse_u64(what, value)?,
        "basefee" => env.basefee = parse_u256(what, value)?,
        "prevrandao" => env.prevrandao = parse_u256(what, value)?,
        "blobbasefee" => env.blob_base_fee = parse_u256(what, value)?,
        "gasprice" => env.gas_price = parse_u256(what, value)?,
        _ => return Err(String::new()),
    }
    Ok(())
}

/// The accounts of `world` in the alloc shape, leaving out `hidden` (the hypervisor account
/// `run` puts in every world, which is not the user's state unless they gave it).
pub fn dump(world: &World, hidden: Option<Address>) -> State {
    world
        .accounts()
        .filter(|(a, _)| Some(**a) != hidden)
        .map(|(a, account)| {
            (
                *a,
                AccountState {
                    balance: account.balance,
                    nonce: account.nonce,
                    code: account.code.to_vec(),
                    storage: account.storage(),
                },
            )
        })
        .collect()
}

/// A state printed in the alloc shape: addresses in order as lowercase hex, numbers as
/// minimal hex, `code` and `storage` only when not empty.
pub struct StateJson<'a>(pub &'a State);

struct AccountJson<'a>(&'a AccountState);

struct StorageJson<'a>(&'a BTreeMap<U256, U256>);

impl Serialize for StateJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (address, account) in self.0 {
            map.serialize_entry(
                &crate::output::hex0x(address.as_bytes()),
                &AccountJson(account),
            )?;
        }
        map.end()
    }
}

impl Serialize for AccountJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("balance", &crate::output::min_hex(&a.balance))?;
        map.serialize_entry("nonce", &format!("{:#x}", a.nonce))?;
        if !a.code.is_empty() {
            map.serialize_entry("code", &crate::output::Hex(&a.code))?;
        }
        if !a.storage.is_empty() {
            map.serialize_entry("storage", &StorageJson(&a.storage))?;
        }
        map.end()
    }
}

impl Serialize for StorageJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(&crate::output::min_hex(k), &crate::output::min_hex(v))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accounts_take_hex_or_integers_and_every_field_is_optional() {
        let value = json!({
            "0x00000000000000000000000000000000000000aA": {
                "balance": "0x10", "nonce": 3, "code": "0x6000",
                "storage": {"0x1": "0x2", "3": 4}
            },
            "0x00000000000000000000000000000000000000bb": {}
        });
        let accounts = parse_accounts("accounts", &value).expect("parses");
        assert_eq!(accounts.len(), 2);
        let (address, a) = &accounts[0];
        assert_eq!(*address, Address::from_low_u64_be(0xaa));
        assert_eq!(
            (a.balance, a.nonce, &a.code[..]),
            (16.into(), 3, &[0x60, 0][..])
        );
        assert_eq!(
            a.storage(),
            BTreeMap::from([(1.into(), 2.into()), (3.into(), 4.into())])
        );
        assert_eq!(accounts[1].1, Account::default());
    }

    #[test]
    fn bad_accounts_and_blocks_are_one_line_naming_the_field() {
        let a = "0x00000000000000000000000000000000000000aa";
        let cases = [
            (json!({a: {"balanse": "0x1"}}), "unknown field `balanse`"),
            (json!({a: {"nonce": "0x1ffffffffffffffff"}}), "nonce"),
            (json!({a: {"code": "0x6"}}), "code: odd number"),
            (json!({a: {"storage": {"0x1": true}}}), "must be a number"),
            (json!({"0x12": {}}), "address"),
            (
                json!({a: {}, a.to_uppercase().replace("0X", "0x"): {}}),
                "given twice",
            ),
            (json!([1]), "must be an object"),
        ];
        for (value, wanted) in cases {
            let e = parse_accounts("accounts", &value).expect_err(wanted);
            assert!(e.contains(wanted) && !e.contains('\n'), "{e}");
        }
        let mut env = Env::default();
        let e = parse_block("block", &json!({"numbr": 1}), &mut env).unwrap_err();
        assert!(e.contains("unknown field `numbr`"), "{e}");
        parse_block(
            "block",
            &json!({"number": 5, "gasprice": "0x9", "coinbase": a}),
            &mut env,
        )
        .expect("parses");
        assert_eq!((env.number, env.gas_price), (5, 9.into()));
        assert_eq!(env.coinbase, Address::from_low_u64_be(0xaa));
        assert_eq!(env.timestamp, Env::default().timestamp);
    }

    #[test]
    fn a_dump_prints_minimal_hex_and_leaves_out_empty_code_and_storage() {
        let mut state = State::new();
        state.insert(
            Address::from_low_u64_be(1),
            AccountState {
                balance: 255.into(),
                nonce: 0,
                code: vec![],
                storage: BTreeMap::from([(U256::from(16), U256::one())]),
            },
        );
        let printed = serde_json::to_string(&StateJson(&state)).expect("prints");
        assert_eq!(
            printed,
            r#"{"0x0000000000000000000000000000000000000001":{"balance":"0xff","nonce":"0x0","storage":{"0x10":"0x1"}}}"#
        );
    }
}
