//! A live chain as a [`StateSource`]: accounts, slots and block hashes read over JSON-RPC
//! from a node at a block pinned when the source is made, each read once and kept for the
//! life of the source (shared by every world and thread that uses it).
//!
//! Only with the `fork` feature, so that a library user who does not fork compiles no HTTP
//! client; HTTPS only with `fork-https`, since TLS costs far more to build than the rest.
//!
//! With a disk cache ([`RpcSource::connect_cached`], module `disk`), the reads are also kept
//! in files, so a rerun at the same block reads them from there.

mod disk;

pub use disk::CALL as CACHE_CALL;

mod blocks;

pub use blocks::{RpcChain, MAX_FORKED_BLOCKS};

use crate::parse::{parse_address, parse_hex, parse_u256};
use crate::world::hashing::HashMap;
use crate::world::source::{SourceError, StateSource};
use crate::world::Account;
use nestedvm_interp::{Address, Env, B256, U256};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How long one HTTP exchange with the node may take, in seconds: a public node answers a
/// batch of three reads in well under a second; a stalled one should not hang a run.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// How many times a read that failed in transport (unreachable, timed out, a 5xx or 429
/// answer) is tried again, with a growing pause: enough for a node's hiccup, bounded so an
/// unreachable one fails within seconds.
pub const RETRIES: u32 = 2;

/// Which block to fork at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockTag {
    /// The node's newest block, resolved to its number once, when the source is made.
    Latest,
    /// A block by number.
    Number(u64),
}

impl BlockTag {
    /// Reads `latest` or a block number (decimal or 0x-hex), as `--block` takes it.
    pub fn parse(text: &str) -> Result<BlockTag, String> {
        if text == "latest" {
            return Ok(BlockTag::Latest);
        }
        let n = parse_u256("--block", text)?;
        if n > U256::from(u64::MAX) {
            return Err(format!("--block: `{text}` is too large"));
        }
        Ok(BlockTag::Number(n.as_u64()))
    }
}

/// The pinned block's header fields a run's environment takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Timestamp in seconds.
    pub timestamp: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Base fee per gas (zero before London).
    pub basefee: U256,
    /// Fee recipient (`miner`).
    pub coinbase: Address,
    /// `mixHash`, which PREVRANDAO reads since the merge.
    pub prevrandao: U256,
}

/// What a source has read so far.
#[derive(Debug, Default)]
struct Cache {
    accounts: HashMap<Address, Option<Account>>,
    slots: HashMap<(Address, U256), U256>,
    hashes: HashMap<u64, B256>,
}

/// A node's state at a pinned block, read over JSON-RPC (HTTP POST).
#[derive(Debug)]
pub struct RpcSource {
    url: String,
    header: Header,
    chain_id: u64,
    timeout_secs: u64,
    cache: Mutex<Cache>,
    /// HTTP exchanges made, so tests (and benchmarks) can tell a warm cache from a cold one.
    exchanges: AtomicU64,
    /// Where reads are also kept, with `connect_cached`.
    disk: Option<disk::Disk>,
    /// The chain id and header came from the disk cache, not the node: before the first read
    /// of the node, the node must be found to serve that very block, or its answers could be
    /// another chain's.
    unconfirmed: AtomicBool,
}

impl RpcSource {
    /// Connects to the node at `url` and pins `block`: its chain id and header are read now,
    /// so an unreachable node fails here, before any run.
    pub fn connect(url: &str, block: BlockTag) -> Result<RpcSource, SourceError> {
        let mut source = RpcSource::unpinned(url);
        (source.chain_id, source.header) = source.read_pinned(block)?;
        Ok(source)
    }

    /// Like [`RpcSource::connect`], with every read also kept in the directory `dir` (made if
    /// missing, shared by any number of processes), keyed by chain id and block number, so a
    /// rerun at the same block reads from there what it read before. With a numeric `block`
    /// whose header the cache holds for the chain `url` last served, the node is not asked
    /// anything until a read misses, and then first to confirm that it serves that very block.
    /// A directory that cannot be made or written fails here, with a [`SourceError`] whose
    /// `call` is [`CACHE_CALL`] and whose `location` is the path.
    pub fn connect_cached(
        url: &str,
        block: BlockTag,
        dir: &Path,
    ) -> Result<RpcSource, SourceError> {
        let root = disk::Root::open(dir)?;
        let mut source = RpcSource::unpinned(url);
        let cached = match block {
            BlockTag::Number(n) => root
                .chain_of(url)
                .and_then(|chain_id| Some((chain_id, root.header(chain_id, n)?))),
            BlockTag::Latest => None,
        };
        (source.chain_id, source.header) = match cached {
            Some(pinned) => {
                source.unconfirmed = AtomicBool::new(true);
                pinned
            }
            None => {
                let pinned = source.read_pinned(block)?;
                root.note_chain(url, pinned.0)?;
                pinned
            }
        };
        let cache = source.cache.get_mut().unwrap_or_else(|e| e.into_inner());
        source.disk = Some(root.block(source.chain_id, &source.header, url, cache)?);
        Ok(source)
    }

    /// A source of `url` pinned at no block yet.
    fn unpinned(url: &str) -> RpcSource {
        RpcSource {
            url: url.to_string(),
            header: Header {
                number: 0,
                hash: B256::zero(),
                timestamp: 0,
                gas_limit: 0,
                basefee: U256::zero(),
                coinbase: Address::zero(),
                prevrandao: U256::zero(),
            },
            chain_id: 0,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            cache: Mutex::new(Cache::default()),
            exchanges: AtomicU64::new(0),
            disk: None,
            unconfirmed: AtomicBool::new(false),
        }
    }

    /// The node's chain id and the header of `block`, in one exchange.
    fn read_pinned(&self, block: BlockTag) -> Result<(u64, Header), SourceError> {
        let tag = match block {
            BlockTag::Latest => json!("latest"),
            BlockTag::Number(n) => json!(quantity(n)),
        };
        let answers = self.batch(&[
            ("eth_chainId", json!([])),
            ("eth_getBlockByNumber", json!([tag, false])),
        ])?;
        let chain_id = self.field_u64("eth_chainId", &answers[0], None)?;
        let block = &answers[1];
        if block.is_null() {
            return Err(self.error("eth_getBlockByNumber", "the node has no such block"));
        }
        let call = "eth_getBlockByNumber";
        let header = Header {
            number: self.field_u64(call, block, Some("number"))?,
            hash: B256::from_slice(&self.field_bytes(call, block, "hash", Some(32))?),
            timestamp: self.field_u64(call, block, Some("timestamp"))?,
            gas_limit: self.field_u64(call, block, Some("gasLimit"))?,
            basefee: match block.get("baseFeePerGas") {
                Some(Value::Null) | None => U256::zero(),
                Some(_) => self.field_u256(call, block, Some("baseFeePerGas"))?,
            },
            coinbase: self.field_address(call, block, "miner")?,
            prevrandao: match block.get("mixHash") {
                Some(Value::Null) | None => U256::zero(),
                Some(_) => {
                    U256::from_big_endian(&self.field_bytes(call, block, "mixHash", Some(32))?)
                }
            },
        };
        Ok((chain_id, header))
    }

    /// Before the first read of the node by a source pinned from the disk cache: the node must
    /// still serve the cached chain and block.
    fn confirm_pinned(&self) -> Result<(), SourceError> {
        if !self.unconfirmed.load(Ordering::Acquire) {
            return Ok(());
        }
        let (chain_id, header) = self.read_pinned(BlockTag::Number(self.header.number))?;
        if (chain_id, &header) != (self.chain_id, &self.header) {
            return Err(self.error(
                "eth_getBlockByNumber",
                format!(
                    "the node serves block {} of chain {chain_id} with hash {:?}, but the \
                     --rpc-cache holds chain {}'s with hash {:?}: use another cache directory \
                     for this node",
                    header.number, header.hash, self.chain_id, self.header.hash
                ),
            ));
        }
        self.unconfirmed.store(false, Ordering::Release);
        Ok(())
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The pinned block's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The node's chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// HTTP exchanges with the node so far (a JSON-RPC batch is one).
    pub fn exchanges(&self) -> u64 {
        self.exchanges.load(Ordering::Relaxed)
    }

    /// Sets the block environment of `env` from the pinned header and the chain id, as the
    /// node's `eth_call` at that block sees it.
    pub fn apply_env(&self, env: &mut Env) {
        let h = &self.header;
        env.number = h.number;
        env.timestamp = h.timestamp;
        env.gas_limit = h.gas_limit;
        env.basefee = h.basefee;
        env.coinbase = h.coinbase;
        env.prevrandao = h.prevrandao;
        env.chain_id = self.chain_id;
    }

    fn error(&self, call: &str, detail: impl Into<String>) -> SourceError {
        SourceError {
            location: self.url.clone(),
            call: call.to_string(),
            detail: detail.into(),
        }
    }

    /// The pinned block, as the `block` parameter of a read.
    fn at(&self) -> Value {
        json!(quantity(self.header.number))
    }

    /// Sends `calls` as one JSON-RPC batch and returns their results in order: one HTTP
    /// exchange for the reads of an account, as the node allows.
    fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Value>, SourceError> {
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(id, (method, params))| {
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
            })
            .collect();
        // Errors of the exchange itself name the first call: the one a user would retry.
        let first = calls.first().map_or("", |(method, _)| method);
        let answer = self.post(first, &Value::Array(body).to_string())?;
        let Value::Array(answers) = answer else {
            return Err(self.error(first, format!("not a batch answer: {}", clip(&answer))));
        };
        let mut results = vec![None; calls.len()];
        for answer in answers {
            let id = answer.get("id").and_then(Value::as_u64);
            let Some(slot) = id.and_then(|id| results.get_mut(id as usize)) else {
                return Err(self.error(first, format!("an answer of no call: {}", clip(&answer))));
            };
            *slot = Some(answer);
        }
        calls
            .iter()
            .zip(results)
            .map(|((method, _), answer)| match answer {
                None => Err(self.error(method, "no answer in the batch")),
                Some(answer) => self.result(method, answer),
            })
            .collect()
    }

    /// The `result` of one JSON-RPC answer, or its `error` as a [`SourceError`].
    fn result(&self, method: &str, mut answer: Value) -> Result<Value, SourceError> {
        if let Some(error) = answer.get("error") {
            let code = error.get("code").map_or(String::new(), |c| format!(" {c}"));
            let message = error.get("message").and_then(Value::as_str).unwrap_or("");
            return Err(self.error(method, format!("JSON-RPC error{code}: {message}")));
        }
        match answer.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(self.error(method, format!("no result: {}", clip(&answer)))),
        }
    }

    /// One HTTP exchange, tried again on transport failures ([`RETRIES`]).
    fn post(&self, method: &str, body: &str) -> Result<Value, SourceError> {
        let mut attempt = 0;
        loop {
            self.exchanges.fetch_add(1, Ordering::Relaxed);
            let sent = minreq::post(&self.url)
                .with_header("Content-Type", "application/json")
                .with_body(body)
                .with_timeout(self.timeout_secs)
                .send();
            let failure = match sent {
                Ok(response) if (200..300).contains(&response.status_code) => {
                    return serde_json::from_slice(response.as_bytes()).map_err(|e| {
                        let text = String::from_utf8_lossy(response.as_bytes());
                        self.error(method, format!("not JSON ({e}): {}", clip_str(&text)))
                    });
                }
                Ok(response) => {
                    let status = format!(
                        "HTTP {} {}: {}",
                        response.status_code,
                        response.reason_phrase,
                        clip_str(&String::from_utf8_lossy(response.as_bytes()))
                    );
                    let transient = response.status_code == 429 || response.status_code >= 500;
                    if !transient {
                        return Err(self.error(method, status));
                    }
                    status
                }
                // No retry can help a build without TLS; say which feature brings it.
                Err(minreq::Error::HttpsFeatureNotEnabled) => {
                    let why = "an https:// URL needs the `fork-https` feature of nestedvm";
                    return Err(self.error(method, why));
                }
                Err(e) => e.to_string(),
            };
            if attempt == RETRIES {
                let tries = RETRIES + 1;
                return Err(self.error(method, format!("{failure} (after {tries} tries)")));
            }
            attempt += 1;
            std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
        }
    }

    fn field<'a>(
        &self,
        call: &str,
        value: &'a Value,
        name: Option<&str>,
    ) -> Result<&'a str, SourceError> {
        let field = match name {
            Some(name) => value.get(name),
            None => Some(value),
        };
        field.and_then(Value::as_str).ok_or_else(|| {
            let what = name.map_or("the result".to_string(), |n| format!("`{n}`"));
            self.error(call, format!("{what} is not a hex string: {}", clip(value)))
        })
    }

    fn field_u256(
        &self,
        call: &str,
        value: &Value,
        name: Option<&str>,
    ) -> Result<U256, SourceError> {
        let text = self.field(call, value, name)?;
        // ganache answers a zero slot with `0x`, no digits.
        if text == "0x" {
            return Ok(U256::zero());
        }
        parse_u256(call, text).map_err(|e| self.error(call, e))
    }

    fn field_u64(&self, call: &str, value: &Value, name: Option<&str>) -> Result<u64, SourceError> {
        let n = self.field_u256(call, value, name)?;
        if n > U256::from(u64::MAX) {
            return Err(self.error(call, format!("{n} does not fit in 64 bits")));
        }
        Ok(n.as_u64())
    }

    fn field_bytes(
        &self,
        call: &str,
        value: &Value,
        name: &str,
        len: Option<usize>,
    ) -> Result<Vec<u8>, SourceError> {
        let text = self.field(call, value, Some(name))?;
        let bytes = parse_hex(call, text).map_err(|e| self.error(call, e))?;
        match len {
            Some(len) if bytes.len() != len => {
                Err(self.error(call, format!("`{name}` is not {len} bytes: {text}")))
            }
            _ => Ok(bytes),
        }
    }

    fn field_address(&self, call: &str, value: &Value, name: &str) -> Result<Address, SourceError> {
        let text = self.field(call, value, Some(name))?;
        parse_address(call, text).map_err(|e| self.error(call, e))
    }
}

impl StateSource for RpcSource {
    fn account(&self, address: Address) -> Result<Option<Account>, SourceError> {
        if let Some(known) = lock(&self.cache).accounts.get(&address) {
            return Ok(known.clone());
        }
        self.confirm_pinned()?;
        let (who, at) = (json!(format!("{address:?}")), self.at());
        let answers = self.batch(&[
            ("eth_getBalance", json!([who, at])),
            ("eth_getTransactionCount", json!([who, at])),
            ("eth_getCode", json!([who, at])),
        ])?;
        let balance = self.field_u256("eth_getBalance", &answers[0], None)?;
        let nonce = self.field_u64("eth_getTransactionCount", &answers[1], None)?;
        let code = parse_hex("eth_getCode", self.field("eth_getCode", &answers[2], None)?)
            .map_err(|e| self.error("eth_getCode", e))?;
        if let Some(disk) = &self.disk {
            disk.account(address, balance, nonce, &code);
        }
        let account = account_of(balance, nonce, code);
        lock(&self.cache).accounts.insert(address, account.clone());
        Ok(account)
    }

    fn storage(&self, address: Address, key: U256) -> Result<U256, SourceError> {
        if let Some(value) = lock(&self.cache).slots.get(&(address, key)) {
            return Ok(*value);
        }
        self.confirm_pinned()?;
        let params = json!([format!("{address:?}"), format!("{key:#x}"), self.at()]);
        let [answer] = <[Value; 1]>::try_from(self.batch(&[("eth_getStorageAt", params)])?)
            .map_err(|_| self.error("eth_getStorageAt", "no answer"))?;
        let value = self.field_u256("eth_getStorageAt", &answer, None)?;
        if let Some(disk) = &self.disk {
            disk.slot(address, key, value);
        }
        lock(&self.cache).slots.insert((address, key), value);
        Ok(value)
    }

    fn block_hash(&self, number: u64) -> Result<B256, SourceError> {
        if let Some(hash) = lock(&self.cache).hashes.get(&number) {
            return Ok(*hash);
        }
        self.confirm_pinned()?;
        let call = "eth_getBlockByNumber";
        let [block] =
            <[Value; 1]>::try_from(self.batch(&[(call, json!([quantity(number), false]))])?)
                .map_err(|_| self.error(call, "no answer"))?;
        if block.is_null() {
            return Err(self.error(call, format!("the node has no block {number}")));
        }
        let hash = B256::from_slice(&self.field_bytes(call, &block, "hash", Some(32))?);
        if let Some(disk) = &self.disk {
            disk.block_hash(number, hash);
        }
        lock(&self.cache).hashes.insert(number, hash);
        Ok(hash)
    }
}

/// An account as the chain holds it: none when empty, which no rule of a supported fork tells
/// apart from absent.
fn account_of(balance: U256, nonce: u64, code: Vec<u8>) -> Option<Account> {
    (!balance.is_zero() || nonce != 0 || !code.is_empty())
        .then(|| Account::new(balance, nonce, code))
}

/// The cache, even if a thread panicked holding it: it only ever holds complete answers.
fn lock(cache: &Mutex<Cache>) -> std::sync::MutexGuard<'_, Cache> {
    cache.lock().unwrap_or_else(|e| e.into_inner())
}

/// A JSON-RPC quantity: 0x-hex without leading zeros.
fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

/// An answer shortened for an error line.
fn clip(value: &Value) -> String {
    clip_str(&value.to_string())
}

fn clip_str(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_node_fails_at_connect_naming_the_url_and_the_call() {
        // Port 9 (discard) on loopback: nothing listens there on a test machine.
        let url = "http://127.0.0.1:9";
        let error = RpcSource::connect(url, BlockTag::Latest).unwrap_err();
        assert_eq!(
            (error.location.as_str(), error.call.as_str()),
            (url, "eth_chainId")
        );
        let line = error.to_string();
        assert!(
            !line.contains('\n') && line.contains("after 3 tries"),
            "{line}"
        );
    }

    #[test]
    fn an_https_url_is_taken_or_refused_in_one_line_naming_the_feature() {
        let url = "https://127.0.0.1:9";
        let error = RpcSource::connect(url, BlockTag::Latest).unwrap_err();
        assert_eq!(
            (error.location.as_str(), error.call.as_str()),
            (url, "eth_chainId")
        );
        let line = error.to_string();
        assert!(!line.contains('\n'), "{line}");
        if cfg!(feature = "fork-https") {
            assert!(line.contains("after 3 tries"), "{line}");
        } else {
            assert!(line.contains("`fork-https`"), "{line}");
        }
    }

    #[test]
    fn block_tags_read_as_the_flag_gives_them() {
        assert_eq!(BlockTag::parse("latest"), Ok(BlockTag::Latest));
        assert_eq!(BlockTag::parse("0x10"), Ok(BlockTag::Number(16)));
        assert_eq!(BlockTag::parse("17"), Ok(BlockTag::Number(17)));
        assert!(BlockTag::parse("soon").is_err());
    }
}
