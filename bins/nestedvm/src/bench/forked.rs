//! `bench --rpc-url`: a fixture's call run against its pre-state held in memory beside the
//! same call forked from a node that holds that pre-state, once the fork's reads are cached.
//! The two are timed round-robin in one run; their ratio is what forking costs a simulator
//! that calls the same contracts again and again.

use super::measure::{config, difference, Checked, OurRunner, Ready, Runner, Sampled, Settings};
use super::programs::Program;
use crate::engines::ToolEngine;
use crate::observed::Observed;
use nestedvm::jit::JitCache;
use nestedvm::output::hex0x;
use nestedvm::world::source::StateSource;
use nestedvm::{Address, Profile, Request, U256};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// One program's figures on one engine.
#[derive(Clone, Debug, PartialEq)]
pub struct ForkedTime {
    /// The program's name.
    pub program: String,
    /// The engine.
    pub engine: ToolEngine,
    /// Median time of one run against the pre-state in memory, in nanoseconds.
    pub prestate_ns: f64,
    /// Median time of one forked run once every read is cached, in nanoseconds.
    pub forked_ns: f64,
    /// The first forked run, which read from the node, in nanoseconds.
    pub first_forked_ns: f64,
    /// Samples taken of each.
    pub samples: usize,
}

impl ForkedTime {
    /// How many times slower a warm forked run is than one against the pre-state.
    pub fn ratio(&self) -> f64 {
        self.forked_ns / self.prestate_ns
    }
}

/// Times `program`'s call in `evm` on `engine`, against its pre-state and forked from
/// `source`, after checking that both give the same result (status, output, gas, refund,
/// logs and the executing account's storage): a node that does not hold the pre-state
/// (`--rpc-seed` puts it there) is an error, not a figure.
pub fn measure_forked(
    program: &Program,
    engine: ToolEngine,
    source: &Arc<dyn StateSource>,
    settings: &Settings,
) -> Result<ForkedTime, String> {
    let name = &program.name;
    let profile = Profile::Evm;
    let request = program.request(profile);
    if request.accounts.is_empty() {
        return Err(format!("{name}: has no pre-state to fork"));
    }
    // The fork brings the state only: the environment stays the fixture's, so the two runs
    // differ in where the accounts come from and nothing else.
    let forked_request = Request {
        accounts: Vec::new(),
        ..request.clone()
    };
    let cache = Arc::new(JitCache::new(16));
    let ours = config(profile, engine, settings.options, settings.timeout);
    let mut prestate = OurRunner::new(ours, request, &cache);
    let mut forked = OurRunner::new(ours, forked_request, &cache).forking(source.clone());
    let (truth, _) = prestate.check().map_err(|e| format!("{name}: {e}"))?;
    let start = Instant::now();
    let (theirs, _) = forked
        .check()
        .map_err(|e| format!("{name} (forked): {e}"))?;
    let first_forked = start.elapsed();
    if let Some(d) = first_difference(&theirs.observed, &truth.observed) {
        return Err(format!(
            "{name}: the forked run differs from the run on the pre-state (does the node hold \
             the fixture's pre-state? --rpc-seed puts it there): {d}"
        ));
    }
    let ready = |runner| Ready {
        engine: Some(engine),
        runner: Runner::Ours(Box::new(runner)),
        first_run: None,
    };
    let mut items = [
        Sampled::new(ready(prestate), settings),
        Sampled::new(ready(forked), settings),
    ];
    let start = Instant::now();
    for round in 0.. {
        for k in 0..2 {
            // Each round starts with the other one, so neither always runs first.
            items[(round + k) % 2].sample();
        }
        let done = items[0].samples.len() >= settings.samples.max(1);
        if done || start.elapsed() >= settings.time {
            break;
        }
    }
    Ok(ForkedTime {
        program: name.clone(),
        engine,
        prestate_ns: items[0].median(),
        forked_ns: items[1].median(),
        first_forked_ns: first_forked.as_nanos() as f64,
        samples: items[0].samples.len(),
    })
}

/// What a forked run's result differs from the pre-state run's in, as one phrase: status,
/// output, gas, refund, logs, the executing account's storage. (The state dumps differ by
/// design: a forked world holds only what the run reached.)
fn first_difference(forked: &Observed, prestate: &Observed) -> Option<String> {
    let checked = |o: &Observed| Checked {
        observed: o.clone(),
        state: None,
    };
    if let Some(d) = difference("forked", &checked(forked), &checked(prestate)) {
        return Some(d.replace("interp:", "pre-state:"));
    }
    if forked.gas != prestate.gas {
        return Some(format!(
            "gas and refund differ: forked {:?}, pre-state {:?}",
            forked.gas, prestate.gas
        ));
    }
    if forked.logs != prestate.logs {
        return Some(format!(
            "the logs differ: forked {} logs, pre-state {}",
            forked.logs.len(),
            prestate.logs.len()
        ));
    }
    let slots = |o: &Observed| o.storage.len();
    (forked.storage != prestate.storage).then(|| {
        let first = forked
            .storage
            .iter()
            .find(|(k, v)| prestate.storage.get(k) != Some(v))
            .or_else(|| {
                prestate
                    .storage
                    .iter()
                    .find(|(k, _)| !forked.storage.contains_key(k))
            });
        format!(
            "the executing account's storage differs ({} slots forked, {} on the pre-state; \
             first at slot {:#x})",
            slots(forked),
            slots(prestate),
            first.map_or(U256::zero(), |(k, _)| *k)
        )
    })
}

/// The slots [`seed`] has written, by account: a later fixture at the same address (many use
/// 0xcc…cc) must not find an earlier one's storage there.
pub type Seeded = HashMap<Address, Vec<U256>>;

/// Writes `program`'s pre-state into the development node at `url` (its code, balance, nonce
/// and every slot, through ganache's `evm_setAccount*` methods; slots an earlier fixture
/// left in `seeded` are set back to zero), then mines a block so the state is at the node's
/// latest block. Only for a node of one's own: it overwrites state.
pub fn seed(url: &str, program: &Program, seeded: &mut Seeded) -> Result<(), String> {
    let request = program.request(Profile::Evm);
    for (address, account) in &request.accounts {
        let who = format!("{address:?}");
        let mut calls = vec![
            ("evm_setAccountCode", json!([who, hex0x(&account.code)])),
            (
                "evm_setAccountBalance",
                json!([who, format!("{:#x}", account.balance)]),
            ),
            (
                "evm_setAccountNonce",
                json!([who, format!("{:#x}", account.nonce)]),
            ),
        ];
        let storage = account.storage();
        let earlier = seeded.entry(*address).or_default();
        for key in earlier.iter().filter(|k| !storage.contains_key(k)) {
            calls.push((
                "evm_setAccountStorageAt",
                json!([who, format!("{key:#066x}"), format!("{:#066x}", 0)]),
            ));
        }
        *earlier = storage.keys().copied().collect();
        for (key, value) in &storage {
            calls.push((
                "evm_setAccountStorageAt",
                json!([who, format!("{key:#066x}"), format!("{value:#066x}")]),
            ));
        }
        for (method, params) in calls {
            rpc(url, method, params)?;
        }
    }
    rpc(url, "evm_mine", json!([]))?;
    Ok(())
}

/// One JSON-RPC call, its `result` or an error naming the URL and the method.
fn rpc(url: &str, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let failed = |why: String| format!("--rpc-seed: {method} failed at {url}: {why}");
    let response = minreq::post(url)
        .with_header("Content-Type", "application/json")
        .with_body(body.to_string())
        .with_timeout(30)
        .send()
        .map_err(|e| failed(e.to_string()))?;
    let mut answer: Value =
        serde_json::from_slice(response.as_bytes()).map_err(|e| failed(e.to_string()))?;
    match answer.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(failed(answer.to_string())),
    }
}
