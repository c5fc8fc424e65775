//! Running one message call: the request, the configuration, the outcome.
//!
//! `run` simulates one message call, not a mined transaction: no fee is taken up front (the
//! caller holds its balance minus the value sent), intrinsic gas is not charged, and
//! `gas_used` is the top frame's gas before refunds.

use crate::engine::{Engine, JitConfig};
use crate::executor::{gas_report, CodeCache, ExecConfig, Executor, JitState, Tables};
use crate::precompiles::PrecompileSet;
use crate::trace::Tracer;
use crate::world::source::{SourceError, StateSource};
use crate::world::{Account, World};
use nestedvm_interp::deadline::Armed;
use nestedvm_interp::{
    Address, Bytecode, CallContext, Deadline, Env, Fork, Frame, HaltReason, Log, Profile, Spec,
    Status, U256,
};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where the hypervisor lives by default (`0x…4879`).
pub const DEFAULT_HYPERVISOR: Address = Address([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x79,
]);

/// The longest code `run` accepts (1 MiB): guest code is call data in `hyvm`, so EIP-170 does
/// not bound it, but memory and analysis time must be.
pub const MAX_CODE_LEN: usize = 1 << 20;

/// How to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// `hyvm` (default) or `evm`.
    pub profile: Profile,
    /// Host fork (default `osaka`).
    pub fork: Fork,
    /// Engine (default `auto`).
    pub engine: Engine,
    /// How the JIT compiles, and when `auto` starts compiling.
    pub jit: JitConfig,
    /// The contract-verifier build of the hypervisor (`hyvm` only).
    pub verifier: bool,
    /// Run the top frame read-only.
    pub is_static: bool,
    /// Address of the hypervisor account.
    pub hypervisor: Address,
    /// Host memory all frames of a run may hold together, in bytes (default 1 GiB); a frame
    /// growing past it halts with `memory_limit`.
    pub memory_limit: u64,
    /// In `hyvm`, also run the same code as a plain contract (`evm` profile, same fork and
    /// pre-state) to report [`Outcome::evm_gas_used`]. Off by default: it doubles the work.
    pub evm_gas: bool,
    /// Wall-clock time a run may take (default `None`: no limit but gas). A run past it ends
    /// with status `halt`, reason `timeout`, its state changes discarded, within about a
    /// millisecond (see [`nestedvm_interp::deadline`]).
    pub timeout: Option<Duration>,
    /// Report the state after the run in [`Outcome::state`] (`run --dump`): every account of
    /// the pre-state or made by the call. Off by default: it copies every account.
    pub dump_state: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            profile: Profile::Hyvm,
            fork: Fork::Osaka,
            engine: Engine::Auto,
            jit: JitConfig::default(),
            verifier: false,
            is_static: false,
            hypervisor: DEFAULT_HYPERVISOR,
            memory_limit: nestedvm_interp::memory::MEMORY_LIMIT,
            evm_gas: false,
            timeout: None,
            dump_state: false,
        }
    }
}

/// One message call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Guest code (`hyvm`) or the executing contract's code (`evm`; when empty, the code
    /// `accounts` gives the executing account, if any).
    pub code: Vec<u8>,
    /// Call data (`evm` only).
    pub calldata: Vec<u8>,
    /// Gas of the top frame.
    pub gas: u64,
    /// Executing account (the wallet in `hyvm`).
    pub address: Address,
    /// Caller of the top frame (also the origin unless `env` says otherwise).
    pub caller: Address,
    /// Value sent.
    pub value: U256,
    /// Storage of the executing account before the call.
    pub storage: Vec<(U256, U256)>,
    /// The pre-state's accounts. An entry for the caller replaces its default account. One
    /// for the executing account gives its balance, nonce and storage, and its code: in
    /// `hyvm` the wallet's code (what runs when something calls back into the wallet), in
    /// `evm` the code that runs when `code` is empty. `storage` applies on top.
    pub accounts: Vec<(Address, Account)>,
    /// Block and transaction environment.
    pub env: Env,
}

impl Request {
    /// A request to run `code` in the default environment.
    pub fn new(code: Vec<u8>) -> Self {
        Request {
            code,
            calldata: Vec::new(),
            gas: 30_000_000,
            address: Address::from_low_u64_be(0xc0de),
            caller: Address::from_low_u64_be(0xca11),
            value: U256::zero(),
            storage: Vec::new(),
            accounts: Vec::new(),
            env: Env::default(),
        }
    }
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Success, revert or halt.
    pub status: Status,
    /// Why it halted.
    pub reason: Option<HaltReason>,
    /// Return or revert data.
    pub output: Vec<u8>,
    /// Gas used by the top frame, before refunds: in `hyvm`, what the deployed hypervisor
    /// spends running the guest (docs/hyvm.md).
    pub gas_used: u64,
    /// What the same code costs as a plain contract at the same fork: `gas_used` in `evm`;
    /// in `hyvm`, the `evm` profile's figure when [`Config::evm_gas`] asked for it.
    pub evm_gas_used: Option<u64>,
    /// Refund counter of the top frame (0 unless success).
    pub gas_refund: i64,
    /// Logs (empty unless success).
    pub logs: Vec<Log>,
    /// Non-zero storage of the executing account after the call.
    pub storage: BTreeMap<U256, U256>,
    /// The engine that ran it.
    pub engine: Engine,
    /// Host memory of the top frame at its end (reserved region included in `hyvm`).
    pub memory: Vec<u8>,
    /// Where the top frame stopped: the offset just past its last instruction (0 when it
    /// never ran).
    pub pc: usize,
    /// In `hyvm`, why the hypervisor itself reverted the top frame (a bad jump, a refused
    /// opcode, a verifier-build guard): `status` and `output` stay as on chain (revert, empty),
    /// this says which refusal it was. `None` for every other end, including a frame that
    /// goes on after a call the hypervisor refused (docs/hyvm.md).
    pub cause: Option<nestedvm_interp::Cause>,
    /// With [`Config::dump_state`], the state after the call: every account of the
    /// pre-state or made by the call, as it is after the call (as it was before, after a
    /// revert or halt); self-destructed accounts are absent. [`Vm::run`] leaves out the
    /// hypervisor account it adds unless the request gave it; [`Vm::run_in`] dumps the
    /// caller's whole world.
    pub state: Option<crate::state::State>,
}

impl Outcome {
    /// The revert data decoded, when the run reverted with at least a selector's worth.
    pub fn revert_reason(&self) -> Option<crate::trace::RevertReason> {
        (self.status == Status::Revert)
            .then(|| crate::trace::RevertReason::decode(&self.output))
            .flatten()
    }
}

/// Why a request cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Call data was given in `hyvm`, where the guest code is the hypervisor's call data.
    CalldataInHyvm,
    /// Code longer than [`MAX_CODE_LEN`].
    CodeTooLong(usize),
    /// `--verifier` outside `hyvm`.
    VerifierOutsideHyvm,
    /// A read of the forked chain's state failed, so the run saw no true state: no outcome.
    Source(SourceError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::CalldataInHyvm => f.write_str("calldata is not allowed in the hyvm profile (the guest code is the hypervisor's calldata); use --profile evm"),
            Error::CodeTooLong(n) => write!(f, "code is {n} bytes, longer than the limit of {MAX_CODE_LEN}"),
            Error::VerifierOutsideHyvm => f.write_str("--verifier applies only to the hyvm profile"),
            Error::Source(error) => write!(f, "reading the forked state: {error}"),
        }
    }
}

impl std::error::Error for Error {}

/// Runs requests, keeping what can be reused between them: analysed code, compiled code and
/// `auto`'s heat counts, the hypervisor account, a world's tables.
///
/// One `Vm` per thread; VMs on several threads share compiled code through one
/// [`JitCache`](nestedvm_jit::JitCache):
///
/// ```
/// use nestedvm::{Config, Request, Vm};
/// use std::sync::Arc;
///
/// let cache = Arc::new(nestedvm::jit::JitCache::new(256)); // at most 256 compiled codes
/// let code = nestedvm::parse::parse_hex("code", "0x6001600255").unwrap(); // SSTORE(2, 1)
/// let threads: Vec<_> = (0..2)
///     .map(|_| {
///         let (cache, code) = (cache.clone(), code.clone());
///         std::thread::spawn(move || {
///             let mut vm = Vm::with_jit_cache(cache);
///             vm.run(&Config::default(), &Request::new(code)).unwrap()
///         })
///     })
///     .collect();
/// for t in threads {
///     let outcome = t.join().unwrap();
///     assert_eq!(outcome.storage.get(&2.into()), Some(&1.into()));
/// }
/// ```
#[derive(Default)]
pub struct Vm {
    codes: CodeCache,
    /// The hypervisor account per (verifier build, address): its code is hashed once.
    hypervisors: Vec<((bool, Address), Account)>,
    /// Instruction tables per (fork, verifier build), built once.
    tables: Vec<((Fork, bool), Tables)>,
    /// Compiled code and `auto`'s run counts.
    jit: JitState,
    /// The world of the last run, emptied by the next: its tables' memory is reused.
    spare: Option<Box<World>>,
    /// Where [`Vm::run`]'s worlds read the state a request does not give (a forked chain).
    source: Option<Arc<dyn StateSource>>,
}

/// What the caller of a run holds when the request does not give it an account: enough for
/// any value a test sends (10^24 wei).
const CALLER_BALANCE: U256 = U256([0x1bce_cced_a100_0000, 0xd3c2, 0, 0]);

impl Vm {
    /// A fresh VM.
    pub fn new() -> Self {
        Vm::default()
    }

    /// A fresh VM whose compiled code lives in `cache`, which other VMs (on other threads)
    /// may share.
    pub fn with_jit_cache(cache: std::sync::Arc<nestedvm_jit::JitCache>) -> Self {
        Vm {
            jit: JitState::new(cache),
            ..Vm::default()
        }
    }

    /// The cache holding this VM's compiled code (shared with other VMs when made by
    /// [`Vm::with_jit_cache`]); its [`compiles`](nestedvm_jit::JitCache::compiles) counts
    /// compilations.
    pub fn jit_cache(&self) -> &Arc<nestedvm_jit::JitCache> {
        &self.jit.cache
    }

    /// Makes [`Vm::run`] read what a request's state does not give from `source` (a forked
    /// chain): the caller, the executing account and every account and slot the run reaches.
    /// The request's accounts and storage shadow the source's.
    pub fn set_source(&mut self, source: Option<Arc<dyn StateSource>>) {
        self.source = source;
    }

    /// Sets where [`Vm::run`] reads what a request's state does not give, and returns where
    /// it read before.
    pub fn swap_source(
        &mut self,
        source: Option<Arc<dyn StateSource>>,
    ) -> Option<Arc<dyn StateSource>> {
        std::mem::replace(&mut self.source, source)
    }

    /// Where [`Vm::run`] reads what a request's state does not give, if anywhere.
    pub fn source(&self) -> Option<&Arc<dyn StateSource>> {
        self.source.as_ref()
    }

    /// The account of the hypervisor `config` names, holding its deployed code.
    fn hypervisor_account(&mut self, config: &Config) -> Account {
        let key = (config.verifier, config.hypervisor);
        if let Some((_, account)) = self.hypervisors.iter().find(|(k, _)| *k == key) {
            return account.clone();
        }
        let code = nestedvm_interp::hyvm::deployed_code(config.verifier, config.hypervisor);
        let account = Account::new(U256::zero(), 1, code);
        if self.hypervisors.len() >= 8 {
            self.hypervisors.clear();
        }
        self.hypervisors.push((key, account.clone()));
        account
    }

    /// Checks a request against a configuration.
    pub fn validate(config: &Config, request: &Request) -> Result<(), Error> {
        if request.code.len() > MAX_CODE_LEN {
            return Err(Error::CodeTooLong(request.code.len()));
        }
        if config.profile == Profile::Hyvm && !request.calldata.is_empty() {
            return Err(Error::CalldataInHyvm);
        }
        if config.profile == Profile::Evm && config.verifier {
            return Err(Error::VerifierOutsideHyvm);
        }
        Ok(())
    }

    /// Runs `request` in a fresh world built from it.
    pub fn run(&mut self, config: &Config, request: &Request) -> Result<Outcome, Error> {
        self.run_with(config, request, None)
    }

    /// [`Vm::run`], reporting every step and frame to `tracer` (see [`crate::trace`]). The
    /// run is interpreted, one instruction at a time, and ends as an untraced one does; with
    /// [`Config::evm_gas`], the plain rerun behind `evm_gas_used` is not traced.
    pub fn run_traced(
        &mut self,
        config: &Config,
        request: &Request,
        tracer: &mut dyn Tracer,
    ) -> Result<Outcome, Error> {
        self.run_with(config, request, Some(tracer))
    }

    fn run_with(
        &mut self,
        config: &Config,
        request: &Request,
        tracer: Option<&mut dyn Tracer>,
    ) -> Result<Outcome, Error> {
        Self::validate(config, request)?;
        let mut world = self.spare.take().unwrap_or_default();
        // The source first: a forked world starts with what the source's last runs read.
        world.set_source(self.source.clone());
        world.reset(request.env.clone(), config.fork);
        if !request.accounts.iter().any(|(a, _)| *a == request.caller) {
            // A caller the forked chain holds keeps its state there.
            world.fetch(request.caller);
            if world.account(&request.caller).is_none() {
                world.insert_account(request.caller, Account::new(CALLER_BALANCE, 0, Vec::new()));
            }
        }
        let given = request
            .accounts
            .iter()
            .find(|(a, _)| *a == request.address)
            .map(|(_, account)| account);
        // The executing account the forked chain holds, when the request gives none: its code
        // runs in `evm` when the request's is empty, and a `hyvm` guest runs on it. Without a
        // fork, an account the request does not give is made new.
        let kept = match given {
            None if self.source.is_some() => {
                world.fetch(request.address);
                world.account(&request.address)
            }
            _ => given,
        };
        let fresh = kept.is_none();
        let code = match kept {
            Some(account) if config.profile == Profile::Evm && request.code.is_empty() => {
                self.codes.get_shared(&account.code)
            }
            _ => self.codes.get(&request.code),
        };
        // In `evm` the executing account at the hypervisor's address is the request's, not the
        // hypervisor's.
        if config.profile == Profile::Hyvm || request.address != config.hypervisor {
            world.insert_account(config.hypervisor, self.hypervisor_account(config));
        }
        for (address, account) in &request.accounts {
            world.insert_account(*address, account.clone());
        }
        match config.profile {
            // The analysed code carries the code an account holds and its keccak, each made
            // once however often it runs, and the keccak only if asked for: the executing
            // account gets that copy, in place when given or forked (not cloned once more).
            Profile::Evm if fresh => {
                let own = Account::with_shared_code_hash(
                    U256::zero(),
                    1,
                    code.shared_code(),
                    code.hash_cell(),
                );
                world.insert_account(request.address, own);
            }
            Profile::Evm => {
                world.share_code(request.address, code.shared_code(), code.hash_cell());
            }
            Profile::Hyvm if fresh => {
                world.insert_account(request.address, Account::new(U256::zero(), 1, Vec::new()));
            }
            Profile::Hyvm => {}
        }
        for (key, value) in &request.storage {
            world.set_storage(request.address, *key, *value);
        }
        let mut outcome = self.execute(&mut world, config, request, Some(code), tracer);
        if let Some(error) = world.take_source_error() {
            self.spare = Some(world);
            return Err(Error::Source(error));
        }
        if config.dump_state {
            outcome.state = Some(crate::state::dump(&world, hidden_account(config, request)));
        }
        self.spare = Some(world);
        Ok(outcome)
    }

    /// Runs `request` against `world`, a state the caller keeps from one call to the next
    /// (the batch protocol's `world` sequences): each call sees what the earlier ones
    /// committed, and a call that reverts or halts commits nothing.
    ///
    /// What the request needs and the world lacks is put in as [`Vm::run`] would: the
    /// caller with 10^24 wei, the executing account with nonce 1, the hypervisor account.
    /// Then the request's `accounts` replace the world's, its `storage` is set on top of the
    /// executing account's, and in `evm` the executing account's code becomes the request's
    /// code (keeping its balance, nonce and storage). So on an empty world this is
    /// [`Vm::run`].
    pub fn run_on(
        &mut self,
        world: &mut World,
        config: &Config,
        request: &Request,
    ) -> Result<Outcome, Error> {
        self.run_on_with(world, config, request, None)
    }

    /// [`Vm::run_on`], traced as [`Vm::run_traced`] is.
    pub fn run_on_traced(
        &mut self,
        world: &mut World,
        config: &Config,
        request: &Request,
        tracer: &mut dyn Tracer,
    ) -> Result<Outcome, Error> {
        self.run_on_with(world, config, request, Some(tracer))
    }

    fn run_on_with(
        &mut self,
        world: &mut World,
        config: &Config,
        request: &Request,
        tracer: Option<&mut dyn Tracer>,
    ) -> Result<Outcome, Error> {
        Self::validate(config, request)?;
        // What a world reading a forked chain lacks may be there.
        world.fetch(request.caller);
        world.fetch(request.address);
        if world.account(&request.caller).is_none() {
            world.insert_account(request.caller, Account::new(CALLER_BALANCE, 0, Vec::new()));
        }
        if world.account(&config.hypervisor).is_none() {
            world.insert_account(config.hypervisor, self.hypervisor_account(config));
        }
        for (address, account) in &request.accounts {
            world.insert_account(*address, account.clone());
        }
        // In `evm`, empty code runs the executing account's code, as in [`Vm::run`].
        let runs_own_code = config.profile == Profile::Evm && request.code.is_empty();
        let code = match world.account(&request.address) {
            Some(own) if runs_own_code => self.codes.get_shared(&own.code),
            _ => self.codes.get(&request.code),
        };
        match world.account(&request.address) {
            None => world.insert_account(request.address, own_account(config, &code)),
            // `set_code` journals the change, but the run's transaction starts with an empty
            // journal: the new code is part of the state the run starts from.
            Some(own) if config.profile == Profile::Evm && *own.code != *code.code() => {
                world.set_code(request.address, code.code().to_vec());
            }
            Some(_) => {}
        }
        for (key, value) in &request.storage {
            world.set_storage(request.address, *key, *value);
        }
        let mut outcome = self.execute(world, config, request, Some(code), tracer);
        if let Some(error) = world.take_source_error() {
            return Err(Error::Source(error));
        }
        if config.dump_state {
            outcome.state = Some(crate::state::dump(world, hidden_account(config, request)));
        }
        Ok(outcome)
    }

    /// Runs `request` as one transaction's top frame against `world` (whose accounts are
    /// used as they are; only the code, call data, gas, addresses and value of the request
    /// are read; in `evm`, empty code means the executing account's code in `world`).
    pub fn run_in(
        &mut self,
        world: &mut World,
        config: &Config,
        request: &Request,
    ) -> Result<Outcome, Error> {
        Self::validate(config, request)?;
        let code = (config.profile == Profile::Evm && request.code.is_empty())
            .then(|| self.codes.get(&world.code_of(&request.address)));
        let mut outcome = self.execute(world, config, request, code, None);
        if let Some(error) = world.take_source_error() {
            return Err(Error::Source(error));
        }
        if config.dump_state {
            outcome.state = Some(crate::state::dump(world, None));
        }
        Ok(outcome)
    }

    /// The analysed-code cache and the instruction tables of (`fork`, `verifier`), built on
    /// first use: what an [`Executor`] borrows from the VM.
    pub(crate) fn executor_parts(
        &mut self,
        fork: Fork,
        verifier: bool,
    ) -> (&mut CodeCache, &Tables, &mut JitState) {
        let key = (fork, verifier);
        let index = match self.tables.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.tables.push((key, Tables::new(fork, verifier)));
                self.tables.len() - 1
            }
        };
        (&mut self.codes, &self.tables[index].1, &mut self.jit)
    }

    /// Runs a validated request against `world`, and against a copy of it as a plain
    /// contract when the configuration asks for the `evm` gas figure; `code` is the
    /// analysis of the request's code when the caller already looked it up.
    fn execute(
        &mut self,
        world: &mut World,
        config: &Config,
        request: &Request,
        code: Option<Arc<Bytecode>>,
        tracer: Option<&mut dyn Tracer>,
    ) -> Outcome {
        // Armed for both runs: the plain one counts against the same time.
        let armed = config.timeout.map(Armed::after);
        let deadline = armed.as_ref().map_or(Deadline::NEVER, Armed::deadline);
        let plain_world =
            (config.profile == Profile::Hyvm && config.evm_gas).then(|| world.clone());
        let mut outcome = self.execute_once(world, config, request, code.clone(), deadline, tracer);
        outcome.evm_gas_used = match plain_world {
            None if config.profile == Profile::Evm => Some(outcome.gas_used),
            None => None,
            Some(mut plain_world) => {
                plain_world.set_code(request.address, request.code.clone());
                // One budget for both runs: the first one's outcome is still held.
                let logs: u64 = outcome.logs.iter().map(crate::world::log_bytes).sum();
                let held = (outcome.output.len() + outcome.memory.len()) as u64 + logs;
                let plain = Config {
                    profile: Profile::Evm,
                    verifier: false,
                    memory_limit: config.memory_limit.saturating_sub(held),
                    ..*config
                };
                let plain =
                    self.execute_once(&mut plain_world, &plain, request, code, deadline, None);
                if let Some(error) = plain_world.take_source_error() {
                    // Reported by the caller as if the first run had failed.
                    world.fail_with(error);
                }
                // A plain run stopped by a host limit (time or memory) has no figure to give.
                let limited = matches!(
                    plain.reason,
                    Some(HaltReason::Timeout | HaltReason::MemoryLimit)
                );
                (!limited).then_some(plain.gas_used)
            }
        };
        outcome
    }

    /// Runs a validated request against `world` (`code` as for [`Vm::execute`]) until it
    /// ends or `deadline` passes.
    fn execute_once(
        &mut self,
        world: &mut World,
        config: &Config,
        request: &Request,
        code: Option<Arc<Bytecode>>,
        deadline: Deadline,
        tracer: Option<&mut dyn Tracer>,
    ) -> Outcome {
        // `run` has set it already: a clone allocates when there are blob hashes.
        if world.env != request.env {
            world.env = request.env.clone();
        }
        world.fork = config.fork;
        world.begin_transaction();
        world.warm_precompiles(PrecompileSet::for_fork(config.fork));
        for a in [
            request.caller,
            world.env.origin,
            request.address,
            world.env.coinbase,
        ] {
            world.warm(a);
        }
        if config.profile == Profile::Hyvm {
            world.warm(config.hypervisor);
        }
        let cp = world.checkpoint();
        if !world.transfer(request.caller, request.address, request.value) {
            world.end_transaction();
            return Outcome {
                status: Status::Revert,
                reason: None,
                output: Vec::new(),
                gas_used: 0,
                evm_gas_used: None,
                gas_refund: 0,
                logs: Vec::new(),
                storage: world.storage_of(&request.address),
                engine: Engine::Interpreter,
                memory: Vec::new(),
                pc: 0,
                cause: None,
                state: None,
            };
        }
        let spec = Spec::get(config.profile, config.fork, config.verifier);
        let input = match config.profile {
            Profile::Evm => request.calldata.clone(),
            Profile::Hyvm => Vec::new(),
        };
        let context = CallContext {
            address: request.address,
            caller: request.caller,
            value: request.value,
            is_static: config.is_static,
            depth: 0,
        };
        let exec = ExecConfig {
            fork: config.fork,
            verifier: config.verifier,
            hypervisor: Some(config.hypervisor),
            engine: config.engine,
            jit: config.jit,
            memory_limit: config.memory_limit,
            deadline,
        };
        let (codes, tables, jit) = self.executor_parts(config.fork, config.verifier);
        let mut executor = Executor::new(world, exec, codes, tables, jit);
        if let Some(tracer) = tracer {
            executor = executor.with_tracer(tracer);
        }
        let code = code.unwrap_or_else(|| executor.bytecode(&request.code));
        let frame = match config.profile {
            Profile::Hyvm => {
                Executor::guest_frame(spec, config.hypervisor, code, context, request.gas)
            }
            Profile::Evm => Frame::new(spec, code, input, context, request.gas),
        };
        let (result, memory, pc) = executor.run(frame);
        let engine = if executor.ran_native() {
            Engine::Jit
        } else {
            Engine::Interpreter
        };
        // The world may outlive the run (`run_in`): its deadline must not stop later ones.
        world.deadline = Deadline::NEVER;
        if result.status != Status::Success {
            world.revert_to(cp);
        }
        let logs = world.take_logs();
        world.end_transaction();
        let (gas_used, gas_refund) = gas_report(&result);
        Outcome {
            status: result.status,
            reason: result.reason,
            output: result.output,
            gas_used,
            evm_gas_used: None,
            gas_refund,
            logs,
            storage: world.storage_of(&request.address),
            engine,
            memory: memory.into_bytes(),
            pc,
            cause: result.cause,
            state: None,
        }
    }
}

/// The executing account as a run starts it: nonce 1, and in `evm` the code (analysed as
/// `code`), which carries the code an account holds and its keccak, each made once however
/// often it runs, and the keccak only if asked for.
fn own_account(config: &Config, code: &Bytecode) -> Account {
    match config.profile {
        Profile::Evm => {
            Account::with_shared_code_hash(U256::zero(), 1, code.shared_code(), code.hash_cell())
        }
        Profile::Hyvm => Account::new(U256::zero(), 1, Vec::new()),
    }
}

/// The account a dump leaves out: the hypervisor's, unless the request gave it.
fn hidden_account(config: &Config, request: &Request) -> Option<Address> {
    let given = request
        .accounts
        .iter()
        .any(|(a, _)| *a == config.hypervisor);
    (!given).then_some(config.hypervisor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_caller_holds_ten_to_the_twenty_four_wei() {
        assert_eq!(CALLER_BALANCE, U256::exp10(24));
    }

    #[test]
    fn a_run_sees_nothing_of_the_run_before_it() {
        let hex = nestedvm_interp::asm::decode_hex;
        let config = Config {
            profile: Profile::Evm,
            engine: Engine::Interpreter,
            ..Config::default()
        };
        // Stores slot 1 and transient slot 2, logs, and sends 1 wei to 0xbeef (making it).
        let first = Request {
            value: U256::from(10),
            ..Request::new(
                hex("6005600155600760025d5f5fa05f5f5f5f600161beef5af15000").expect("hex"),
            )
        };
        // Returns slot 1 + transient slot 2 + 0xbeef's balance, and the gas left after the
        // cold or warm accesses.
        let second = Request {
            storage: vec![(U256::one(), U256::from(3))],
            ..Request::new(hex("60015460025c0161beef31015f525a60205260405ff3").expect("hex"))
        };
        let fresh = Vm::new().run(&config, &second).expect("runs");
        let mut vm = Vm::new();
        let before = vm.run(&config, &first).expect("runs");
        assert_eq!(before.logs.len(), 1);
        assert_eq!(vm.run(&config, &second).expect("runs"), fresh);
        assert_eq!(fresh.output[31], 3);
        assert!(fresh.logs.is_empty());
    }

    #[test]
    fn run_on_an_empty_world_is_run_and_the_world_keeps_what_it_commits() {
        let hex = nestedvm_interp::asm::decode_hex;
        // SLOAD(0) + 1 stored back and returned.
        let count = hex("5f546001018060005560005260206000f3").expect("hex");
        for profile in [Profile::Evm, Profile::Hyvm] {
            let config = Config {
                profile,
                evm_gas: true,
                ..Config::default()
            };
            let request = Request {
                storage: vec![(U256::zero(), U256::from(41))],
                value: U256::from(3),
                ..Request::new(count.clone())
            };
            let mut vm = Vm::new();
            let fresh = vm.run(&config, &request).expect("runs");
            let mut world = World::default();
            assert_eq!(
                vm.run_on(&mut world, &config, &request).expect("runs"),
                fresh
            );
            let again = Request::new(count.clone());
            let second = vm.run_on(&mut world, &config, &again).expect("runs");
            assert_eq!(second.output[31], 43, "{profile:?}");
            assert_eq!(world.balance_of(&request.address), U256::from(3));
        }
        // In `evm` new code replaces the executing account's, which keeps its storage.
        let config = Config {
            profile: Profile::Evm,
            ..Config::default()
        };
        let mut world = World::default();
        let vm = &mut Vm::new();
        vm.run_on(&mut world, &config, &Request::new(count))
            .expect("runs");
        // SLOAD(0) returned.
        let read = Request::new(hex("5f545f5260205ff3").expect("hex"));
        let out = vm.run_on(&mut world, &config, &read).expect("runs");
        assert_eq!(out.output[31], 1);
        assert_eq!(&*world.code_of(&read.address), &read.code[..]);
    }
}
