//! The benchmark catalogue: every program with its name, code, call data and the profiles it
//! runs in. The copies in `benches/programs` are compiled into the library, so the command line
//! and the criterion benches see the same programs under the same names wherever they run.

use super::synthetic;
use nestedvm::parse::parse_hex;
use nestedvm::{Profile, Request};
use serde_json::Value;

/// Gas given to every catalogue program: the evm-benchmarks state tests' gas limit (10^9).
pub const CATALOGUE_GAS: u64 = 1_000_000_000;

/// One program with one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// Its name: `snailtracer`, `analysis`, an evm-benchmarks file stem (with `/label` when
    /// the test has several inputs), a synthetic program's name, or a user file's stem.
    pub name: String,
    /// The code (the contract's in `evm`, the guest's in `hyvm`).
    pub code: Vec<u8>,
    /// Call data (`evm` only).
    pub calldata: Vec<u8>,
    /// Gas of the top frame.
    pub gas: u64,
    /// The whole call, when the program runs against a pre-state (a fixture's): its
    /// accounts, block and caller, `code`, `calldata` and `gas` repeating its own. Such a
    /// program runs in `evm` only.
    pub world: Option<Box<Request>>,
}

impl Program {
    /// The profiles it can run in: `hyvm` gives the guest no call data, so a program that
    /// needs some runs in `evm` only.
    pub fn profiles(&self) -> &'static [Profile] {
        if self.calldata.is_empty() && self.world.is_none() {
            &[Profile::Evm, Profile::Hyvm]
        } else {
            &[Profile::Evm]
        }
    }

    /// The request that runs it, in the default environment of `run`.
    pub fn request(&self, profile: Profile) -> Request {
        if let Some(world) = &self.world {
            return (**world).clone();
        }
        let mut request = Request::new(self.code.clone());
        if profile == Profile::Evm {
            request.calldata = self.calldata.clone();
        }
        request.gas = self.gas;
        request
    }
}

/// The evm-benchmarks `main` suite and its `micro` one, as copied to `benches/programs`.
const STATE_TESTS: &[(&str, &str)] = &[
    (
        "blake2b_huff",
        include_str!("../../benches/programs/blake2b_huff.json"),
    ),
    (
        "blake2b_shifts",
        include_str!("../../benches/programs/blake2b_shifts.json"),
    ),
    (
        "sha1_divs",
        include_str!("../../benches/programs/sha1_divs.json"),
    ),
    (
        "sha1_shifts",
        include_str!("../../benches/programs/sha1_shifts.json"),
    ),
    // The same contract and input as revm's `snailtracer`, which keeps the plain name.
    (
        "snailtracer-evmbench",
        include_str!("../../benches/programs/snailtracer.json"),
    ),
    (
        "structarray_alloc",
        include_str!("../../benches/programs/structarray_alloc.json"),
    ),
    (
        "swap_math",
        include_str!("../../benches/programs/swap_math.json"),
    ),
    (
        "weierstrudel",
        include_str!("../../benches/programs/weierstrudel.json"),
    ),
    (
        "JUMPDEST_n0",
        include_str!("../../benches/programs/micro/JUMPDEST_n0.json"),
    ),
    (
        "jump_around",
        include_str!("../../benches/programs/micro/jump_around.json"),
    ),
    (
        "loop_with_many_jumpdests",
        include_str!("../../benches/programs/micro/loop_with_many_jumpdests.json"),
    ),
    (
        "memory_grow_mload",
        include_str!("../../benches/programs/micro/memory_grow_mload.json"),
    ),
    (
        "memory_grow_mstore",
        include_str!("../../benches/programs/micro/memory_grow_mstore.json"),
    ),
    (
        "signextend",
        include_str!("../../benches/programs/micro/signextend.json"),
    ),
];

/// revm's benchmark programs: name, code as hex, input.
const REVM_PROGRAMS: &[(&str, &str, &str)] = &[
    (
        "snailtracer",
        include_str!("../../benches/programs/snailtracer.hex"),
        "30627b7c",
    ),
    (
        "analysis",
        include_str!("../../benches/programs/analysis.hex"),
        "8035F0CE",
    ),
];

/// revmc's fixtures: real contracts with their pre-state, run against it (`revmc/NAME`).
const REVMC_FIXTURES: &[(&str, &str)] = &[
    (
        "airdrop",
        include_str!("../../benches/programs/revmc/airdrop.json"),
    ),
    (
        "bswap64",
        include_str!("../../benches/programs/revmc/bswap64.json"),
    ),
    (
        "bswap64_opt",
        include_str!("../../benches/programs/revmc/bswap64_opt.json"),
    ),
    (
        "burntpix",
        include_str!("../../benches/programs/revmc/burntpix.json"),
    ),
    (
        "counter",
        include_str!("../../benches/programs/revmc/counter.json"),
    ),
    (
        "eip2935",
        include_str!("../../benches/programs/revmc/eip2935.json"),
    ),
    (
        "eip4788",
        include_str!("../../benches/programs/revmc/eip4788.json"),
    ),
    (
        "erc20_transfer",
        include_str!("../../benches/programs/revmc/erc20_transfer.json"),
    ),
    (
        "factorial",
        include_str!("../../benches/programs/revmc/factorial.json"),
    ),
    (
        "fiat_token",
        include_str!("../../benches/programs/revmc/fiat_token.json"),
    ),
    (
        "fibonacci-calldata",
        include_str!("../../benches/programs/revmc/fibonacci-calldata.json"),
    ),
    (
        "hash_10k",
        include_str!("../../benches/programs/revmc/hash_10k.json"),
    ),
    (
        "push0_proxy",
        include_str!("../../benches/programs/revmc/push0_proxy.json"),
    ),
    (
        "snailtracer",
        include_str!("../../benches/programs/revmc/snailtracer.json"),
    ),
    (
        "uniswap_v2_pair",
        include_str!("../../benches/programs/revmc/uniswap_v2_pair.json"),
    ),
    (
        "univ2_router",
        include_str!("../../benches/programs/revmc/univ2_router.json"),
    ),
    (
        "usdc_proxy",
        include_str!("../../benches/programs/revmc/usdc_proxy.json"),
    ),
    (
        "weth",
        include_str!("../../benches/programs/revmc/weth.json"),
    ),
];

/// Every built-in program: revm's two, the evm-benchmarks ones (main, then micro), revmc's
/// fixtures, then the synthetic ones.
pub fn catalogue() -> Vec<Program> {
    let mut out = Vec::new();
    for (name, code, input) in REVM_PROGRAMS {
        // The copies are fixed files, checked by the tests: a bad one is a build defect.
        let code = parse_hex(name, code).expect("a benchmark program's hex");
        let calldata = parse_hex(name, input).expect("a benchmark program's input");
        out.push(Program {
            name: name.to_string(),
            code,
            calldata,
            gas: CATALOGUE_GAS,
            world: None,
        });
    }
    for (name, text) in STATE_TESTS {
        out.extend(state_test_programs(name, text).expect("a benchmark state test"));
    }
    for (name, text) in REVMC_FIXTURES {
        let name = format!("revmc/{name}");
        out.extend(fixture_programs(&name, text).expect("a revmc fixture"));
    }
    out.extend(synthetic::programs());
    out
}

/// The calls of a fixture with a pre-state ([`crate::fixture`]), each run against it: named
/// `name`, or `name/INDEX` when the fixture holds several calls.
pub fn fixture_programs(name: &str, json: &str) -> Result<Vec<Program>, String> {
    let calls = crate::fixture::fixture_calls(name, json)?;
    let several = calls.len() > 1;
    Ok(calls
        .into_iter()
        .enumerate()
        .map(|(i, call)| {
            let mut request = call.request;
            // The code the call runs, explicit: the compile timing and the JIT cache key on it.
            request.code = request
                .accounts
                .iter()
                .find(|(a, _)| *a == request.address)
                .map(|(_, account)| account.code.to_vec())
                .unwrap_or_default();
            Program {
                name: if several {
                    format!("{name}/{i}")
                } else {
                    name.to_string()
                },
                code: request.code.clone(),
                calldata: request.calldata.clone(),
                gas: request.gas,
                world: Some(Box::new(request)),
            }
        })
        .collect())
}

/// The programs of a state test in the evm-benchmarks form (the contract is the
/// transaction's `to` account, each `data` entry an input), named `name` when it has one
/// input and `name/label` (the test's label of that input, else its index) when it has more.
pub fn state_test_programs(name: &str, json: &str) -> Result<Vec<Program>, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("{name}: {e}"))?;
    let test = value
        .as_object()
        // The first test by name, whatever order the build keeps JSON objects in.
        .and_then(|o| o.iter().min_by(|a, b| a.0.cmp(b.0)).map(|(_, test)| test))
        .ok_or_else(|| format!("{name}: not a state test (no test object)"))?;
    let tx = &test["transaction"];
    let to = tx["to"]
        .as_str()
        .ok_or_else(|| format!("{name}: no transaction.to"))?
        .to_lowercase();
    let code = test["pre"]
        .as_object()
        .and_then(|pre| {
            pre.iter()
                .find(|(address, _)| address.to_lowercase() == to)
                .and_then(|(_, account)| account["code"].as_str())
        })
        .ok_or_else(|| format!("{name}: no code for the transaction's `to` account {to}"))?;
    let code = parse_hex(&format!("{name}: code"), code)?;
    let inputs = tx["data"]
        .as_array()
        .ok_or_else(|| format!("{name}: no transaction.data list"))?;
    let labels = &test["_info"]["labels"];
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let input = input
                .as_str()
                .ok_or_else(|| format!("{name}: transaction.data[{i}] is not a string"))?;
            let calldata = parse_hex(&format!("{name}: data[{i}]"), input)?;
            let name = if inputs.len() == 1 {
                name.to_string()
            } else {
                match labels[i.to_string()].as_str() {
                    Some(label) => format!("{name}/{label}"),
                    None => format!("{name}/{i}"),
                }
            };
            Ok(Program {
                name,
                code: code.clone(),
                calldata,
                gas: CATALOGUE_GAS,
                world: None,
            })
        })
        .collect()
}

/// The programs `selector` names: the one of that name, or every input of a state test
/// (`sha1_divs` selects `sha1_divs/empty` and `sha1_divs/5311`).
pub fn select<'a>(catalogue: &'a [Program], selector: &str) -> Vec<&'a Program> {
    let exact: Vec<&Program> = catalogue.iter().filter(|p| p.name == selector).collect();
    if !exact.is_empty() {
        return exact;
    }
    catalogue
        .iter()
        .filter(|p| {
            p.name
                .strip_prefix(selector)
                .is_some_and(|rest| rest.starts_with('/'))
        })
        .collect()
}
