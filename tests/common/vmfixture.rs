//! Parser for ethereum/tests VMTests fixtures (tests/fixtures/vm/**.json).
//! Uses serde_json::Value; depends only on serde_json, primitive-types, std, nestedvm (for
//! the request a fixture makes) and the sibling `oracle` module (for OracleEnv /
//! OracleAccount).
#![allow(dead_code)]

use super::oracle::{OracleAccount, OracleEnv};
use primitive_types::{H160, U256};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What a fixture expects when execution ends normally (absent `post` = exception expected).
#[derive(Clone, Debug)]
pub struct VmExpected {
    pub out: Vec<u8>,
    pub post: Vec<OracleAccount>,
    /// The fixture's top-level "gas": gas left after the call.
    pub gas_left: u64,
}

#[derive(Clone, Debug)]
pub struct VmFixture {
    /// Test name (the key inside the JSON file).
    pub name: String,
    /// Path of the JSON file relative to the directory given to `load_all`.
    pub file: String,
    /// From the fixture's env plus exec.gasPrice / exec.origin. basefee = 0
    /// (currentBaseFee is absent: the fixtures are pre-London), prevrandao =
    /// currentRandom or else currentDifficulty, blob_base_fee 1, chain_id 1.
    pub env: OracleEnv,
    pub address: H160,
    pub caller: H160,
    pub code: Vec<u8>,
    pub calldata: Vec<u8>,
    /// exec.gas (up to 2^40 in these fixtures; saturated at u64::MAX, never clamped otherwise).
    pub gas: u64,
    pub value: U256,
    pub pre: Vec<OracleAccount>,
    pub expected: Option<VmExpected>,
}

impl VmFixture {
    /// The fixture's call as a nestedvm request (the `evm` profile's message call).
    pub fn request(&self) -> nestedvm::Request {
        let mut req = nestedvm::Request::new(self.code.clone());
        req.calldata = self.calldata.clone();
        req.gas = self.gas;
        req.address = self.address;
        req.caller = self.caller;
        req.value = self.value;
        req.env.number = self.env.number;
        req.env.timestamp = self.env.timestamp;
        req.env.coinbase = self.env.coinbase;
        req.env.gas_limit = self.env.gas_limit;
        req.env.basefee = self.env.basefee.into();
        req.env.prevrandao = self.env.prevrandao;
        req.env.gas_price = self.env.gas_price.into();
        req.env.origin = self.caller;
        req.accounts = self
            .pre
            .iter()
            .map(|a| {
                (
                    a.address,
                    nestedvm::Account::new(a.balance, a.nonce, a.code.clone())
                        .with_storage(a.storage.iter().copied()),
                )
            })
            .collect();
        req
    }

    /// Expected post storage of `address` (non-zero slots), if the fixture has a post state.
    pub fn expected_storage(&self) -> Option<std::collections::BTreeMap<U256, U256>> {
        let exp = self.expected.as_ref()?;
        Some(
            exp.post
                .iter()
                .find(|a| a.address == self.address)
                .map(|a| {
                    a.storage
                        .iter()
                        .filter(|(_, v)| !v.is_zero())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        )
    }
}

fn strip0x(s: &str) -> &str {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

pub fn parse_bytes(s: &str) -> Vec<u8> {
    let h = strip0x(s.trim());
    let h = if h.len() % 2 == 1 {
        format!("0{h}")
    } else {
        h.to_string()
    };
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex {s:?}")))
        .collect()
}

pub fn parse_u256(s: &str) -> U256 {
    let s = s.trim();
    if s.starts_with("0x") || s.starts_with("0X") {
        let h = strip0x(s);
        if h.is_empty() {
            U256::zero()
        } else {
            U256::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad hex number {s:?}"))
        }
    } else {
        U256::from_dec_str(s).unwrap_or_else(|_| panic!("bad number {s:?}"))
    }
}

pub fn parse_u64(s: &str) -> u64 {
    let v = parse_u256(s);
    if v > U256::from(u64::MAX) {
        u64::MAX
    } else {
        v.low_u64()
    }
}

pub fn parse_h160(s: &str) -> H160 {
    let b = parse_bytes(s);
    assert!(b.len() <= 20, "address too long: {s:?}");
    let mut a = [0u8; 20];
    a[20 - b.len()..].copy_from_slice(&b);
    H160(a)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|x| x.as_str())
}

fn req_str<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a str {
    str_of(v, key).unwrap_or_else(|| panic!("{ctx}: missing string field {key:?}"))
}

fn parse_accounts(v: &Value) -> Vec<OracleAccount> {
    let mut out: Vec<OracleAccount> = v
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(addr, a)| {
                    let mut storage: Vec<(U256, U256)> = a
                        .get("storage")
                        .and_then(|s| s.as_object())
                        .map(|s| {
                            s.iter()
                                .map(|(k, v)| {
                                    (parse_u256(k), parse_u256(v.as_str().unwrap_or("0x0")))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    storage.sort();
                    OracleAccount {
                        address: parse_h160(addr),
                        balance: str_of(a, "balance").map(parse_u256).unwrap_or_default(),
                        nonce: str_of(a, "nonce").map(parse_u64).unwrap_or(0),
                        code: str_of(a, "code").map(parse_bytes).unwrap_or_default(),
                        storage,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|a| a.address);
    out
}

/// Parse every test of one fixture file. `file` is the name recorded in `VmFixture::file`.
pub fn parse_file(text: &str, file: &str) -> Vec<VmFixture> {
    let root: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: bad JSON: {e}"));
    let obj = root
        .as_object()
        .unwrap_or_else(|| panic!("{file}: top level is not an object"));
    let mut out = Vec::new();
    for (name, t) in obj {
        let ctx = format!("{file}:{name}");
        let env = t.get("env").unwrap_or_else(|| panic!("{ctx}: no env"));
        let exec = t.get("exec").unwrap_or_else(|| panic!("{ctx}: no exec"));
        let caller = parse_h160(req_str(exec, "caller", &ctx));
        let origin = str_of(exec, "origin").map(parse_h160).unwrap_or(caller);
        let prevrandao = str_of(env, "currentRandom")
            .or_else(|| str_of(env, "currentDifficulty"))
            .map(parse_u256)
            .unwrap_or_default();
        let oenv = OracleEnv {
            number: str_of(env, "currentNumber").map(parse_u64).unwrap_or(0),
            timestamp: str_of(env, "currentTimestamp").map(parse_u64).unwrap_or(0),
            coinbase: str_of(env, "currentCoinbase")
                .map(parse_h160)
                .unwrap_or_default(),
            gas_limit: str_of(env, "currentGasLimit")
                .map(parse_u64)
                .unwrap_or(u64::MAX),
            basefee: str_of(env, "currentBaseFee").map(parse_u64).unwrap_or(0),
            prevrandao,
            blob_base_fee: 1,
            chain_id: 1,
            gas_price: str_of(exec, "gasPrice")
                .map(|s| parse_u256(s).low_u128())
                .unwrap_or(0),
            origin,
        };
        let expected = t.get("post").map(|post| VmExpected {
            out: str_of(t, "out").map(parse_bytes).unwrap_or_default(),
            post: parse_accounts(post),
            gas_left: str_of(t, "gas").map(parse_u64).unwrap_or(0),
        });
        out.push(VmFixture {
            name: name.clone(),
            file: file.to_string(),
            env: oenv,
            address: parse_h160(req_str(exec, "address", &ctx)),
            caller,
            code: parse_bytes(req_str(exec, "code", &ctx)),
            calldata: str_of(exec, "data").map(parse_bytes).unwrap_or_default(),
            gas: parse_u64(req_str(exec, "gas", &ctx)),
            value: str_of(exec, "value").map(parse_u256).unwrap_or_default(),
            pre: t.get("pre").map(parse_accounts).unwrap_or_default(),
            expected,
        });
    }
    out
}

fn collect_json(dir: &Path, acc: &mut Vec<PathBuf>) {
    let rd = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()));
    for entry in rd {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            collect_json(&p, acc);
        } else if p.extension().map(|e| e == "json").unwrap_or(false) {
            acc.push(p);
        }
    }
}

/// Load every `*.json` fixture under `dir` (recursively), sorted by path, then by test name.
pub fn load_all(dir: &Path) -> Vec<VmFixture> {
    let mut files = Vec::new();
    collect_json(dir, &mut files);
    files.sort();
    let mut out = Vec::new();
    for p in files {
        let rel = p
            .strip_prefix(dir)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        let text =
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
        let mut fx = parse_file(&text, &rel);
        fx.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(fx);
    }
    out
}

/// Every fixture of `tests/fixtures/vm` (at least 300, or the copy is broken).
pub fn all() -> Vec<VmFixture> {
    let fixtures = load_all(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/vm"
    )));
    assert!(
        fixtures.len() >= 300,
        "fixtures missing: {}",
        fixtures.len()
    );
    fixtures
}
