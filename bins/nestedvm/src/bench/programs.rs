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
}

impl Program {
    /// The profiles it can run in: `hyvm` gives the guest no call data, so a program that
    /// needs some runs in `evm` only.
    pub fn profiles(&self) -> &'static [Profile] {
        if self.calldata.is_empty() {
            &[Profile::Evm, Profile::Hyvm]
        } else {
            &[Profile::Evm]
        }
    }

    /// The request that runs it, in the default environment of `run`.
    pub fn request(&self, profile: Profile) -> Request {
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

/// Every built-in program: revm's two, the evm-benchmarks ones (main, then micro), then the
/// synthetic ones.
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
        });
    }
    for (name, text) in STATE_TESTS {
        out.extend(state_test_programs(name, text).expect("a benchmark state test"));
    }
    out.extend(synthetic::programs());
    out
}

/// The programs of a state test in the evm-benchmarks form (the contract is the
/// transaction's `to` account, each `data` entry an input), named `name` when it has one
/// input and `name/label` (the test's label of that input, else its index) when it has more.
pub fn state_test_programs(name: &str, json: &str) -> Result<Vec<Program>, String> {
    let value: Value = serde_json::from_str(json).map_err(|e| format!("{name}: {e}"))?;
    let test = value
        .as_object()
        .and_then(|o| o.values().next())
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
