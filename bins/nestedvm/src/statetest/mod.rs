//! The Ethereum GeneralStateTests runner: for every post entry at a supported fork and every
//! (data, gas, value) variant it lists, builds the pre-state, applies the transaction with
//! [`Vm::transact`] and checks the state root, the logs hash and the expected exception.
//!
//! Files are all read and parsed before anything runs, so bad input is reported (as a
//! [`LoadError`] naming the file) before any result.

pub mod fixture;

use fixture::{PostEntry, TestCase, TestFile, TestTransaction};
use nestedvm::authorization::Authorization;
use nestedvm::engine::Engine;
use nestedvm::run::Vm;
use nestedvm::signer::address_of_secret_key;
use nestedvm::state_root::{logs_hash, state_root};
use nestedvm::trace::eip3155::{summary_of, Eip3155Writer};
use nestedvm::transaction::{Block, GasPrice, Receipt, Transaction, TxError};
use nestedvm::world::{Account, World};
use nestedvm::{Address, Env, Fork, B256, U256};
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file or directory that could not be read, or a file that is not a state test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The path cannot be read.
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The file is not state-test JSON.
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, with serde's line and column.
        message: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Unreadable { path, message } => {
                write!(f, "{}: cannot read: {message}", path.display())
            }
            LoadError::Malformed { path, message } => {
                write!(f, "{}: malformed state test: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// The result of one vector: (file, test, fork, data/gas/value indexes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorResult {
    /// The file it came from.
    pub file: PathBuf,
    /// The test's name.
    pub name: String,
    /// The fork it ran at.
    pub fork: Fork,
    /// Index into the transaction's data.
    pub d: usize,
    /// Index into its gas limits.
    pub g: usize,
    /// Index into its values.
    pub v: usize,
    /// What differed from the expectation; `None` when the vector passed.
    pub error: Option<String>,
}

impl VectorResult {
    /// Whether the vector passed.
    pub fn passed(&self) -> bool {
        self.error.is_none()
    }

    /// One line of JSON: file, name, fork, d, g, v, pass, error.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "file": self.file.display().to_string(),
            "name": self.name,
            "fork": self.fork.name(),
            "d": self.d,
            "g": self.g,
            "v": self.v,
            "pass": self.passed(),
            "error": self.error,
        })
        .to_string()
    }
}

impl fmt::Display for VectorResult {
    /// `PASS|FAIL file name fork d=… g=… v=…[: what differed]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        write!(
            f,
            "{verdict} {} {} {} d={} g={} v={}",
            self.file.display(),
            self.name,
            self.fork,
            self.d,
            self.g,
            self.v
        )?;
        match &self.error {
            Some(e) => write!(f, ": {e}"),
            None => Ok(()),
        }
    }
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Vectors that passed.
    pub passed: usize,
    /// Vectors that failed.
    pub failed: usize,
}

impl fmt::Display for Summary {
    /// The closing line, `N passed, M failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)
    }
}

/// The vectors a suite does not run: those at forks the project does not support.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    /// How many.
    pub vectors: usize,
    /// The forks they are at, as the files name them, sorted.
    pub forks: Vec<String>,
}

impl Skipped {
    /// `skipped 12 vectors at forks not supported (Berlin, London)`, or that there were none.
    pub fn describe(&self) -> String {
        if self.vectors == 0 {
            return "the files hold no test vectors".to_string();
        }
        format!(
            "skipped {} vector{} at forks not supported ({})",
            self.vectors,
            if self.vectors == 1 { "" } else { "s" },
            self.forks.join(", ")
        )
    }
}

/// Parsed test files, ready to run.
#[derive(Clone, Debug, Default)]
pub struct Suite {
    files: Vec<(PathBuf, TestFile)>,
}

/// Every `.json` file at or below `path`, sorted. A directory reached through a symbolic link
/// below `path` is not entered: a link back up the tree (`self -> .`) would make the walk
/// endless, and one elsewhere would run files nobody named. A linked file is read.
fn json_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let unreadable = |e: std::io::Error| LoadError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries = std::fs::read_dir(path)
        .map_err(unreadable)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            let linked = entry
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink());
            if !linked {
                json_files(&entry, out)?;
            }
        } else if entry.extension().is_some_and(|e| e == "json") {
            out.push(entry);
        }
    }
    Ok(())
}

impl Suite {
    /// Reads and parses `paths`: files as given, directories recursively (their `.json`
    /// files, in name order).
    pub fn load(paths: &[PathBuf]) -> Result<Suite, LoadError> {
        let mut files = Vec::new();
        for path in paths {
            json_files(path, &mut files)?;
        }
        let mut suite = Suite::default();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| LoadError::Unreadable {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let parsed: TestFile =
                serde_json::from_str(&text).map_err(|e| LoadError::Malformed {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            suite.files.push((path, parsed));
        }
        Ok(suite)
    }

    /// How many vectors [`Suite::run`] will report.
    pub fn vector_count(&self) -> usize {
        self.vectors().count()
    }

    /// The vectors [`Suite::run`] leaves out: those at forks the project does not support.
    pub fn skipped(&self) -> Skipped {
        let mut forks = std::collections::BTreeSet::new();
        let mut vectors = 0;
        for (_, file) in &self.files {
            for case in file.values() {
                for (fork_name, entries) in &case.post {
                    if fork_name.parse::<Fork>().is_err() && !entries.is_empty() {
                        vectors += entries.len();
                        forks.insert(fork_name.clone());
                    }
                }
            }
        }
        Skipped {
            vectors,
            forks: forks.into_iter().collect(),
        }
    }

    /// Every vector at a supported fork, in file, test, fork and post-entry order: those
    /// [`Suite::run`] runs.
    pub fn vectors(&self) -> impl Iterator<Item = Vector<'_>> {
        self.files.iter().flat_map(|(path, file)| {
            file.iter().flat_map(move |(name, case)| {
                case.post.iter().flat_map(move |(fork_name, entries)| {
                    // Forks the project does not support (older ones) are not run.
                    let fork = fork_name.parse::<Fork>().ok();
                    entries.iter().filter_map(move |entry| {
                        fork.map(|fork| Vector {
                            file: path.as_path(),
                            name: name.as_str(),
                            case,
                            fork,
                            entry,
                        })
                    })
                })
            })
        })
    }

    /// Runs every vector with `engine`, handing each result to `on_result` as it is known.
    /// With `trace`, each vector's message is traced there as goevmlab reads a client's
    /// trace: its EIP-3155 steps, the summary line, then `{"stateRoot":"0x…"}` (the steps are
    /// interpreted whatever `engine` is).
    pub fn run(
        &self,
        engine: Engine,
        mut trace: Option<&mut dyn Write>,
        mut on_result: impl FnMut(&VectorResult),
    ) -> io::Result<Summary> {
        let mut vm = Vm::new();
        let mut summary = Summary::default();
        for vector in self.vectors() {
            let out = trace.as_mut().map(|t| &mut **t as &mut dyn Write);
            let applied = match out {
                None => Ok(vector.apply(&mut vm, engine)),
                Some(out) => vector.trace(&mut vm, out),
            }?;
            let result = VectorResult {
                file: vector.file.to_path_buf(),
                name: vector.name.to_string(),
                fork: vector.fork,
                d: vector.entry.indexes.data,
                g: vector.entry.indexes.gas,
                v: vector.entry.indexes.value,
                error: applied.and_then(|a| a.check(vector.entry)).err(),
            };
            if result.passed() {
                summary.passed += 1;
            } else {
                summary.failed += 1;
            }
            on_result(&result);
        }
        Ok(summary)
    }
}

/// One vector: a test's transaction variant (a post entry's data, gas and value) at one fork.
/// Its fields are public so that a caller may run a changed copy of a test (the trace
/// comparison caps the gas of long ones).
#[derive(Clone, Copy, Debug)]
pub struct Vector<'a> {
    /// The file it came from.
    pub file: &'a Path,
    /// The test's name.
    pub name: &'a str,
    /// The test.
    pub case: &'a TestCase,
    /// The fork it runs at.
    pub fork: Fork,
    /// The expected result, which names the variant.
    pub entry: &'a PostEntry,
}

/// What a vector's transaction did to its pre-state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The receipt, or why the transaction was rejected (then nothing changed).
    pub receipt: Result<Receipt, TxError>,
    /// The state root after it.
    pub state_root: B256,
}

impl Applied {
    /// Whether this is what `entry` expects: its state root, its logs hash, and a rejection
    /// exactly when it expects an exception. `Err` says what differed.
    pub fn check(&self, entry: &PostEntry) -> Result<(), String> {
        let mut problems = Vec::new();
        let logs = match (&self.receipt, &entry.expect_exception) {
            (Ok(receipt), None) => &receipt.logs[..],
            (Ok(receipt), Some(expected)) => {
                problems.push(format!(
                    "exception {expected} expected, but the transaction was valid"
                ));
                &receipt.logs[..]
            }
            (Err(TxError::Invalid(_)), Some(_)) => &[],
            (Err(TxError::Invalid(e)), None) => {
                problems.push(format!("unexpected exception: {e}"));
                &[]
            }
        };
        if self.state_root != entry.hash.0 {
            problems.push(format!(
                "state root expected {:?} got {:?}",
                entry.hash.0, self.state_root
            ));
        }
        let hash = logs_hash(logs);
        if hash != entry.logs.0 {
            problems.push(format!(
                "logs hash expected {:?} got {:?}",
                entry.logs.0, hash
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

impl Vector<'_> {
    /// The world before the transaction (the pre-state, at the vector's fork), the block and
    /// the transaction; `Err` when the variant cannot be built (an index out of range, no
    /// sender, no gas price).
    pub fn parts(&self) -> Result<(World, Block, Transaction), String> {
        let tx = transaction_of(self.case, self.entry)?;
        let mut world = World::new(Env::default(), self.fork);
        for (address, account) in &self.case.pre {
            let slots = account.storage.iter().map(|(k, v)| (k.0, v.0));
            let acc = Account::new(
                account.balance.0,
                account.nonce.saturating_u64(),
                account.code.0.clone(),
            )
            .with_storage(slots.filter(|(_, v)| *v != U256::zero()));
            world.insert_account(address.0, acc);
        }
        Ok((world, block_of(self.case), tx))
    }

    /// Applies the transaction with `engine`, as [`Vm::transact`] does; `Err` when the
    /// variant cannot be built.
    pub fn apply(&self, vm: &mut Vm, engine: Engine) -> Result<Applied, String> {
        let (mut world, block, tx) = self.parts()?;
        let receipt = vm.transact(&mut world, self.fork, engine, &block, &tx);
        Ok(Applied {
            receipt,
            state_root: state_root(&world),
        })
    }

    /// Applies the transaction traced ([`Vm::transact_traced`], interpreted), writing to
    /// `out` what `statetest --trace` writes for it, as goevmlab reads a client's trace: the
    /// EIP-3155 steps (none for a rejected transaction), the summary line (`{"error":…}` for
    /// a rejected one), then `{"stateRoot":"0x…"}`. The outer `Err` is `out`'s; the inner
    /// one says the variant cannot be built, and then nothing is written.
    pub fn trace(&self, vm: &mut Vm, out: &mut dyn Write) -> io::Result<Result<Applied, String>> {
        let (mut world, block, tx) = match self.parts() {
            Ok(parts) => parts,
            Err(e) => return Ok(Err(e)),
        };
        let mut steps = Eip3155Writer::new(out);
        let receipt = vm.transact_traced(&mut world, self.fork, &block, &tx, &mut steps);
        let out = steps.into_inner()?;
        let summary = match &receipt {
            Ok(r) => summary_of(&r.output, r.gas_used, r.status, None),
            Err(e) => format!("{{\"error\":{}}}", serde_json::Value::from(e.to_string())),
        };
        let root = state_root(&world);
        writeln!(out, "{summary}")
            .and_then(|()| writeln!(out, "{{\"stateRoot\":\"{root:?}\"}}"))
            .and_then(|()| out.flush())?;
        Ok(Ok(Applied {
            receipt,
            state_root: root,
        }))
    }
}

/// The block of a test.
fn block_of(case: &TestCase) -> Block {
    let env = &case.env;
    let random = env.current_random.or(env.current_difficulty);
    Block {
        env: Env {
            chain_id: 1,
            number: env.current_number.saturating_u64(),
            timestamp: env.current_timestamp.saturating_u64(),
            gas_limit: env.current_gas_limit.saturating_u64(),
            coinbase: env.current_coinbase.0,
            basefee: env.current_base_fee.map(|q| q.0).unwrap_or_default(),
            prevrandao: random.map(|q| q.0).unwrap_or_default(),
            ..Env::default()
        },
        excess_blob_gas: env
            .current_excess_blob_gas
            .map(|q| q.saturating_u64())
            .unwrap_or_default(),
    }
}

/// The sender of a test's transaction: `sender`, or the address of `secretKey`. Shared with
/// the revm oracle of the state tests, which has no key to address of its own.
pub(crate) fn sender_of(t: &TestTransaction) -> Result<Address, String> {
    match (t.sender, &t.secret_key) {
        (Some(sender), _) => Ok(sender.0),
        (None, Some(key)) => {
            let key: [u8; 32] = key
                .0
                .as_slice()
                .try_into()
                .map_err(|_| "`secretKey` is not 32 bytes")?;
            address_of_secret_key(&key)
                .ok_or_else(|| "`secretKey` is not a valid secp256k1 key".into())
        }
        (None, None) => Err("neither `sender` nor `secretKey`".into()),
    }
}

/// The transaction variant `entry` names, or why it cannot be built.
fn transaction_of(case: &TestCase, entry: &PostEntry) -> Result<Transaction, String> {
    let t = &case.transaction;
    let ix = entry.indexes;
    let out_of_range = |what: &str, i: usize, n: usize| {
        format!("{what} index {i} out of range (the transaction has {n})")
    };
    let data = t
        .data
        .get(ix.data)
        .ok_or_else(|| out_of_range("data", ix.data, t.data.len()))?;
    let gas = t
        .gas_limit
        .get(ix.gas)
        .ok_or_else(|| out_of_range("gas", ix.gas, t.gas_limit.len()))?;
    let value = t
        .value
        .get(ix.value)
        .ok_or_else(|| out_of_range("value", ix.value, t.value.len()))?;
    let sender = sender_of(t)?;
    let gas_price = match (t.gas_price, t.max_fee_per_gas) {
        (Some(p), _) => GasPrice::Legacy(p.0),
        (None, Some(max_fee)) => GasPrice::Dynamic {
            max_fee: max_fee.0,
            max_priority_fee: t.max_priority_fee_per_gas.map(|q| q.0).unwrap_or_default(),
        },
        (None, None) => return Err("neither gasPrice nor maxFeePerGas".into()),
    };
    let access_list = t
        .access_lists
        .as_ref()
        .and_then(|lists| lists.get(ix.data))
        .and_then(Option::as_ref)
        .map(|items| {
            items
                .iter()
                .map(|i| (i.address.0, i.storage_keys.iter().map(|k| k.0).collect()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Transaction {
        sender,
        to: t.to.map(|a| a.0),
        value: value.0,
        data: data.0.clone(),
        gas_limit: gas.saturating_u64(),
        nonce: t.nonce.saturating_u64(),
        gas_price,
        access_list,
        blob_hashes: t.blob_versioned_hashes.iter().map(|h| h.0).collect(),
        max_fee_per_blob_gas: t.max_fee_per_blob_gas.map(|q| q.0).unwrap_or_default(),
        authorization_list: t.authorization_list.as_ref().map(|list| {
            list.iter()
                .map(|a| Authorization {
                    chain_id: a.chain_id.0,
                    address: a.address.0,
                    nonce: a.nonce.saturating_u64(),
                    y_parity: a.y_parity.or(a.v).map(|q| q.0).unwrap_or_default(),
                    r: a.r.0,
                    s: a.s.0,
                })
                .collect()
        }),
    })
}
