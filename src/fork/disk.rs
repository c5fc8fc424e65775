//! The disk cache of an [`RpcSource`](super::RpcSource) (`--rpc-cache DIR`): every read kept in
//! files, so a rerun at the same block asks the node nothing.
//!
//! The layout, one directory shared by any number of processes:
//!
//! - `DIR/urls.jsonl`: `{"url":"0x…","chain_id":N}` lines, the keccak of a node's URL (a
//!   provider's URL holds its API key, which has no business in a cache that may be shared) and
//!   the chain it served; the last line of a URL wins.
//! - `DIR/<chain id>/<block>.jsonl`: the reads at one block of one chain. Its first line is the
//!   header, `{"chain_id":N,"header":{…}}`, in the file from its creation (it is made whole and
//!   linked into place), then one read a line: `{"account":"0x…","balance":"0x…","nonce":N}`
//!   (with `"code":"0xKECCAK"` when it has code), `{"slot":"0x…","key":"0x…","value":"0x…"}`,
//!   `{"block_hash":N,"hash":"0x…"}`.
//! - `DIR/code/<keccak>`: code, raw bytes, once for every block and chain that holds it.
//!
//! Lines are appended with one `write` on a file opened with `O_APPEND`, so lines of several
//! writers never interleave. What cannot be trusted is a miss, never an answer: a line cut short
//! (by a killed process) or otherwise malformed, an account whose code file is missing or does
//! not hash to its name, a block file whose first line is not its header.

use super::{account_of, Cache, Header};
use crate::parse::{parse_address, parse_hex, parse_u256};
use crate::world::source::SourceError;
use crate::world::Account;
use nestedvm_interp::{keccak256, Address, B256, U256};
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The `call` of a [`SourceError`] about the cache rather than the node, so a command line can
/// name its own flag.
pub const CALL: &str = "--rpc-cache";

/// A cache directory, made and found writable.
#[derive(Debug)]
pub(super) struct Root {
    dir: PathBuf,
    urls: File,
}

/// The cache of one block of one chain: where its reads are appended.
#[derive(Debug)]
pub(super) struct Disk {
    code_dir: PathBuf,
    /// `None` when the block's file is not usable (its first line is not a header): the source
    /// then runs as if without a disk cache rather than guess.
    out: Option<File>,
}

fn error(path: &Path, detail: impl Into<String>) -> SourceError {
    SourceError {
        location: path.display().to_string(),
        call: CALL.to_string(),
        detail: detail.into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(2 + 2 * bytes.len());
    text.push_str("0x");
    for b in bytes {
        text.push_str(&format!("{b:02x}"));
    }
    text
}

/// The lines of `bytes` that end in a newline: a last one without is a write cut short.
fn whole_lines(bytes: &[u8]) -> impl Iterator<Item = Value> + '_ {
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes[..complete]
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
}

impl Root {
    /// Makes `dir` (and its `code/`) if need be and opens its URL index for appending, so a
    /// directory that cannot be written fails here, at connect, naming itself.
    pub(super) fn open(dir: &Path) -> Result<Root, SourceError> {
        let code = dir.join("code");
        std::fs::create_dir_all(&code)
            .map_err(|e| error(&code, format!("cannot create the cache directory: {e}")))?;
        let path = dir.join("urls.jsonl");
        let urls = append_to(&path, true)?;
        Ok(Root {
            dir: dir.to_path_buf(),
            urls,
        })
    }

    /// The chain the node at `url` served when last asked, if the cache knows it.
    pub(super) fn chain_of(&self, url: &str) -> Option<u64> {
        let key = hex(&keccak256(url.as_bytes()));
        let bytes = std::fs::read(self.dir.join("urls.jsonl")).ok()?;
        whole_lines(&bytes)
            .filter(|line| line.get("url").and_then(Value::as_str) == Some(key.as_str()))
            .filter_map(|line| line.get("chain_id").and_then(Value::as_u64))
            .last()
    }

    /// Records that the node at `url` serves `chain_id` (once, unless it changed).
    pub(super) fn note_chain(&self, url: &str, chain_id: u64) -> Result<(), SourceError> {
        if self.chain_of(url) == Some(chain_id) {
            return Ok(());
        }
        let line = json!({"url": hex(&keccak256(url.as_bytes())), "chain_id": chain_id});
        append_line(&self.urls, &line)
            .map_err(|e| error(&self.dir.join("urls.jsonl"), format!("cannot append: {e}")))
    }

    fn block_path(&self, chain_id: u64, number: u64) -> PathBuf {
        self.dir
            .join(chain_id.to_string())
            .join(format!("{number}.jsonl"))
    }

    /// The header of block `number` of `chain_id`, if the cache holds that block.
    pub(super) fn header(&self, chain_id: u64, number: u64) -> Option<Header> {
        let bytes = std::fs::read(self.block_path(chain_id, number)).ok()?;
        let (chain, header) = read_header(&whole_lines(&bytes).next()?)?;
        (chain == chain_id && header.number == number).then_some(header)
    }

    /// The cache of `header`'s block of `chain_id`: made (with its header line) if missing,
    /// read into `cache` if present. A file that holds another block under that number (a
    /// reorganisation, or another chain with the same id, as development nodes restarted) is an
    /// error: its reads are not this block's.
    pub(super) fn block(
        &self,
        chain_id: u64,
        header: &Header,
        url: &str,
        cache: &mut Cache,
    ) -> Result<Disk, SourceError> {
        let path = self.block_path(chain_id, header.number);
        let folder = path.parent().unwrap_or(self.dir.as_path());
        std::fs::create_dir_all(folder)
            .map_err(|e| error(folder, format!("cannot create the cache directory: {e}")))?;
        if !path.exists() {
            create_whole(&path, &header_line(chain_id, header))?;
        }
        let out = append_to(&path, false)?;
        let bytes = std::fs::read(&path).map_err(|e| error(&path, format!("cannot read: {e}")))?;
        let mut lines = whole_lines(&bytes);
        let code_dir = self.dir.join("code");
        match lines.next().as_ref().and_then(read_header) {
            Some((chain, held)) if chain == chain_id && held == *header => {}
            Some((_, held)) => {
                return Err(error(
                    &path,
                    format!(
                        "holds block {} with hash {:?}, but the node at {url} has {:?} (a \
                         reorganisation, or another chain with the same id): remove the file \
                         or use another cache directory",
                        held.number, held.hash, header.hash
                    ),
                ))
            }
            None => {
                return Ok(Disk {
                    code_dir,
                    out: None,
                })
            }
        }
        for line in lines {
            load(&line, &code_dir, cache);
        }
        Ok(Disk {
            code_dir,
            out: Some(out),
        })
    }
}

impl Disk {
    /// Keeps an account read from the node (its code in `code/` first, so a line never names
    /// code that is not there). A failed write is a later miss, not an error of the run.
    pub(super) fn account(&self, address: Address, balance: U256, nonce: u64, code: &[u8]) {
        let mut line = json!({
            "account": format!("{address:?}"),
            "balance": format!("{balance:#x}"),
            "nonce": nonce,
        });
        if !code.is_empty() {
            let hash = keccak256(code);
            if self.save_code(&hash, code).is_err() {
                return;
            }
            line["code"] = json!(hex(&hash));
        }
        self.append(&line);
    }

    /// Keeps a slot read from the node.
    pub(super) fn slot(&self, address: Address, key: U256, value: U256) {
        self.append(&json!({
            "slot": format!("{address:?}"),
            "key": format!("{key:#x}"),
            "value": format!("{value:#x}"),
        }));
    }

    /// Keeps a block hash read from the node.
    pub(super) fn block_hash(&self, number: u64, hash: B256) {
        self.append(&json!({"block_hash": number, "hash": format!("{hash:?}")}));
    }

    fn append(&self, line: &Value) {
        if let Some(out) = &self.out {
            let _ = append_line(out, line);
        }
    }

    /// Writes code under its hash, whole or not at all: written aside, then renamed into place
    /// (a concurrent writer of the same hash writes the same bytes).
    fn save_code(&self, hash: &[u8; 32], code: &[u8]) -> std::io::Result<()> {
        let path = self.code_dir.join(&hex(hash)[2..]);
        if path.exists() {
            return Ok(());
        }
        let aside = aside(&path);
        std::fs::write(&aside, code)?;
        std::fs::rename(&aside, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&aside);
        })
    }
}

/// A file name beside `path` no other writer uses.
fn aside(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_os_string());
    let mut aside = name;
    aside.push(format!(".{}.{n}.tmp", std::process::id()));
    path.with_file_name(aside)
}

fn append_to(path: &Path, create: bool) -> Result<File, SourceError> {
    OpenOptions::new()
        .append(true)
        .create(create)
        .open(path)
        .map_err(|e| error(path, format!("cannot open for appending: {e}")))
}

/// Appends `line` and its newline with one `write`: with `O_APPEND`, the whole line lands at
/// the end at once, whatever other processes append.
fn append_line(out: &File, line: &Value) -> std::io::Result<()> {
    let mut bytes = line.to_string().into_bytes();
    bytes.push(b'\n');
    let written = (&*out).write(&bytes)?;
    if written != bytes.len() {
        // The part written has no newline yet: the next line's start ends it as garbage.
        return Err(std::io::Error::other("a short write"));
    }
    Ok(())
}

/// Makes `path` holding `line` alone, so that no reader ever sees it without it: written
/// aside, then hard-linked into place, which fails if another writer made it first (then its
/// header is read and compared like any other).
fn create_whole(path: &Path, line: &Value) -> Result<(), SourceError> {
    let aside = aside(path);
    let mut bytes = line.to_string().into_bytes();
    bytes.push(b'\n');
    std::fs::write(&aside, &bytes).map_err(|e| error(&aside, format!("cannot write: {e}")))?;
    let linked = std::fs::hard_link(&aside, path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(error(path, format!("cannot create: {e}")))
        }
        _ => Ok(()),
    }
}

fn header_line(chain_id: u64, h: &Header) -> Value {
    json!({
        "chain_id": chain_id,
        "header": {
            "number": h.number,
            "hash": format!("{:?}", h.hash),
            "timestamp": h.timestamp,
            "gas_limit": h.gas_limit,
            "basefee": format!("{:#x}", h.basefee),
            "coinbase": format!("{:?}", h.coinbase),
            "prevrandao": format!("{:#x}", h.prevrandao),
        },
    })
}

fn read_header(line: &Value) -> Option<(u64, Header)> {
    let h = line.get("header")?;
    let header = Header {
        number: u64_of(h, "number")?,
        hash: b256_of(h, "hash")?,
        timestamp: u64_of(h, "timestamp")?,
        gas_limit: u64_of(h, "gas_limit")?,
        basefee: u256_of(h, "basefee")?,
        coinbase: address_of(h, "coinbase")?,
        prevrandao: u256_of(h, "prevrandao")?,
    };
    Some((u64_of(line, "chain_id")?, header))
}

/// Puts the read of one line into `cache`, unless the cache has it already (the first line of
/// a read wins: a later one is the same read made again by another process).
fn load(line: &Value, code_dir: &Path, cache: &mut Cache) {
    if line.get("account").is_some() {
        if let Some((address, account)) = read_account(line, code_dir) {
            cache.accounts.entry(address).or_insert(account);
        }
    } else if line.get("slot").is_some() {
        let read = (|| {
            let key = (address_of(line, "slot")?, u256_of(line, "key")?);
            Some((key, u256_of(line, "value")?))
        })();
        if let Some((key, value)) = read {
            cache.slots.entry(key).or_insert(value);
        }
    } else if let (Some(number), Some(hash)) = (u64_of(line, "block_hash"), b256_of(line, "hash")) {
        cache.hashes.entry(number).or_insert(hash);
    }
}

fn read_account(line: &Value, code_dir: &Path) -> Option<(Address, Option<Account>)> {
    let address = address_of(line, "account")?;
    let balance = u256_of(line, "balance")?;
    let nonce = u64_of(line, "nonce")?;
    let code = match line.get("code") {
        None => Vec::new(),
        Some(hash) => {
            let hash = parse_hex("code", hash.as_str()?).ok()?;
            let code = std::fs::read(code_dir.join(&hex(&hash)[2..])).ok()?;
            if keccak256(&code)[..] != hash[..] {
                return None;
            }
            code
        }
    };
    Some((address, account_of(balance, nonce, code)))
}

fn text_of<'a>(line: &'a Value, name: &str) -> Option<&'a str> {
    line.get(name)?.as_str()
}

fn u64_of(line: &Value, name: &str) -> Option<u64> {
    line.get(name)?.as_u64()
}

fn u256_of(line: &Value, name: &str) -> Option<U256> {
    parse_u256(name, text_of(line, name)?).ok()
}

fn address_of(line: &Value, name: &str) -> Option<Address> {
    parse_address(name, text_of(line, name)?).ok()
}

fn b256_of(line: &Value, name: &str) -> Option<B256> {
    let bytes = parse_hex(name, text_of(line, name)?).ok()?;
    (bytes.len() == 32).then(|| B256::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary one, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!(
                "nestedvm-disk-{name}-{}-{:?}",
                std::process::id(),
                std::time::SystemTime::now()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn header(number: u64) -> Header {
        Header {
            number,
            hash: B256::from_low_u64_be(0xb10c + number),
            timestamp: 1_700_000_000,
            gas_limit: 30_000_000,
            basefee: U256::from(7),
            coinbase: Address::from_low_u64_be(0xc0),
            prevrandao: U256::from(0x5eed),
        }
    }

    fn at(n: u64) -> Address {
        Address::from_low_u64_be(n)
    }

    const URL: &str = "https://node.example/v3/secret-key";

    /// Opens the cache of block 5 of chain 1337 as a source would, returning what it loaded.
    fn open(dir: &Path) -> (Disk, Cache) {
        let root = Root::open(dir).unwrap();
        root.note_chain(URL, 1337).unwrap();
        let mut cache = Cache::default();
        let disk = root.block(1337, &header(5), URL, &mut cache).unwrap();
        (disk, cache)
    }

    #[test]
    fn what_is_written_reads_back_and_the_url_is_kept_only_hashed() {
        let scratch = Scratch::new("round-trip");
        let (disk, cache) = open(&scratch.0);
        assert!(cache.accounts.is_empty() && cache.slots.is_empty());
        let code = vec![0x60, 1, 0x54, 0x00];
        disk.account(at(1), U256::from(5), 3, &code);
        disk.account(at(2), U256::zero(), 0, &[]);
        disk.account(at(3), U256::MAX, u64::MAX, &[]);
        disk.slot(at(1), U256::MAX, U256::from(40));
        disk.slot(at(1), U256::one(), U256::zero());
        disk.block_hash(4, B256::from_low_u64_be(0x44));
        drop(disk);

        let root = Root::open(&scratch.0).unwrap();
        assert_eq!(root.chain_of(URL), Some(1337));
        assert_eq!(root.chain_of("http://other"), None);
        assert_eq!(root.header(1337, 5), Some(header(5)));
        assert_eq!(root.header(1, 5), None);
        let index = std::fs::read_to_string(scratch.0.join("urls.jsonl")).unwrap();
        assert!(!index.contains("secret"), "{index}");

        let (_, cache) = open(&scratch.0);
        let one = cache.accounts[&at(1)].as_ref().unwrap();
        assert_eq!(
            (one.balance, one.nonce, &one.code[..]),
            (5.into(), 3, &code[..])
        );
        assert_eq!(
            cache.accounts[&at(2)],
            None,
            "an empty account is no account"
        );
        let three = cache.accounts[&at(3)].as_ref().unwrap();
        assert_eq!((three.balance, three.nonce), (U256::MAX, u64::MAX));
        assert_eq!(cache.slots[&(at(1), U256::MAX)], U256::from(40));
        assert_eq!(cache.slots[&(at(1), U256::one())], U256::zero());
        assert_eq!(cache.hashes[&4], B256::from_low_u64_be(0x44));
        // The code is kept once, under its hash.
        let codes = std::fs::read_dir(scratch.0.join("code")).unwrap().count();
        assert_eq!(codes, 1);
    }

    #[test]
    fn a_line_cut_short_garbage_and_corrupt_code_are_misses() {
        let scratch = Scratch::new("garbage");
        let (disk, _) = open(&scratch.0);
        disk.slot(at(1), U256::one(), U256::from(11));
        disk.account(at(2), U256::one(), 1, &[0xfe]);
        drop(disk);
        let file = scratch.0.join("1337/5.jsonl");
        let mut out = OpenOptions::new().append(true).open(&file).unwrap();
        let cut =
            r#"{"slot":"0x0000000000000000000000000000000000000001","key":"0x2","value":"0x1"#;
        let garbage = [
            "not json at all",
            r#"{"slot":"0x01","key":"0x3","value":"0x5"}"#,
            r#"{"slot":"0x0000000000000000000000000000000000000001","key":"0x4"}"#,
            r#"{"account":"0x0000000000000000000000000000000000000004","balance":"0x1"}"#,
            r#"{"block_hash":"seven","hash":"0x00"}"#,
            "[]",
            "",
        ];
        out.write_all(format!("{}\n{cut}", garbage.join("\n")).as_bytes())
            .unwrap();
        drop(out);
        // Code that no longer hashes to its name is no code.
        let code_file = scratch.0.join("code").join(&hex(&keccak256(&[0xfe]))[2..]);
        std::fs::write(code_file, [0xff]).unwrap();

        let (disk, cache) = open(&scratch.0);
        assert_eq!(cache.slots.len(), 1, "{:?}", cache.slots);
        assert_eq!(cache.slots[&(at(1), U256::one())], U256::from(11));
        assert!(cache.accounts.is_empty() && cache.hashes.is_empty());
        // A line appended after the cut one ends it as garbage and is itself lost, but the
        // ones after it are read.
        disk.slot(at(1), U256::from(2), U256::from(22));
        disk.slot(at(1), U256::from(3), U256::from(33));
        drop(disk);
        let (_, cache) = open(&scratch.0);
        assert_eq!(cache.slots.get(&(at(1), U256::from(2))), None);
        assert_eq!(cache.slots[&(at(1), U256::from(3))], U256::from(33));
    }

    #[test]
    fn writers_appending_at_once_lose_no_line() {
        let scratch = Scratch::new("writers");
        open(&scratch.0);
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let dir = scratch.0.clone();
                std::thread::spawn(move || {
                    // Each writer opens the file itself, as another process would.
                    let (disk, _) = open(&dir);
                    for i in 0..500u64 {
                        disk.slot(at(w), U256::from(i), U256::from(w * 1000 + i));
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let (_, cache) = open(&scratch.0);
        assert_eq!(cache.slots.len(), 2000);
        for w in 0..4u64 {
            for i in 0..500u64 {
                let value = cache.slots[&(at(w), U256::from(i))];
                assert_eq!(value, U256::from(w * 1000 + i));
            }
        }
    }

    #[test]
    fn another_block_under_the_same_number_is_an_error_naming_the_file() {
        let scratch = Scratch::new("reorg");
        open(&scratch.0);
        let root = Root::open(&scratch.0).unwrap();
        let mut other = header(5);
        other.hash = B256::from_low_u64_be(0xdead);
        let error = root
            .block(1337, &other, URL, &mut Cache::default())
            .unwrap_err();
        assert_eq!(error.call, CALL);
        assert!(error.location.ends_with("5.jsonl"), "{error}");
        assert!(error.to_string().contains("remove the file"), "{error}");
    }

    #[test]
    fn a_directory_that_cannot_be_made_fails_naming_it() {
        let scratch = Scratch::new("unwritable");
        std::fs::create_dir_all(&scratch.0).unwrap();
        let file = scratch.0.join("a-file");
        std::fs::write(&file, "").unwrap();
        let error = Root::open(&file.join("cache")).unwrap_err();
        assert_eq!(error.call, CALL);
        assert!(error.location.contains("a-file"), "{error}");
        assert!(!error.to_string().contains('\n'));
    }
}
