//! The driver loop: runs a frame, and when it asks for a call or a create, prepares the callee
//! (depth and balance checks, value transfer, precompiles, the hypervisor account, collisions),
//! runs it on its own frame, then resumes the caller with the outcome. Frames live in a
//! `Vec`, so call depth never touches the native stack.

use crate::engine::{Engine, JitConfig};
use crate::precompiles::PrecompileSet;
use crate::trace::{Enter, Exit, FrameKind, Tracer};
use crate::world::{delegation_target, Checkpoint, World};
use foldhash::HashMap;
use nestedvm_interp::budget::ANALYSIS_BYTES_PER_CODE_BYTE;
use nestedvm_interp::frame::Gas;
use nestedvm_interp::hyvm_gas;
use nestedvm_interp::instructions::InstructionTable;
use nestedvm_interp::memory::Memory;
use nestedvm_interp::trace::{run_traced, StepTracer, StepView};
use nestedvm_interp::{
    keccak256, run_frame, Address, Bytecode, CallContext, CallInputs, CallKind, CallOutcome, Cause,
    CauseKind, CreateInputs, CreateKind, Deadline, Fork, Frame, FrameAction, FrameResult,
    HaltReason, Profile, Spec, Status, B256, CALL_DEPTH_LIMIT, MAX_CODE_SIZE, U256,
};
use nestedvm_jit::{run_frame_tiered, JitCache, Tiered, Tiering};
use std::sync::Arc;

/// The JIT's state kept between runs: compiled code and the heat of the code not compiled
/// yet (shareable across threads and VMs).
#[derive(Debug)]
pub struct JitState {
    /// Compiled code.
    pub cache: Arc<JitCache>,
}

impl JitState {
    /// State over a shared cache.
    pub fn new(cache: Arc<JitCache>) -> Self {
        JitState { cache }
    }
}

impl Default for JitState {
    fn default() -> Self {
        JitState::new(Arc::new(JitCache::new(256)))
    }
}

/// Analysed code, shared across frames and runs: by keccak when the caller knows it (an
/// account's code hash), else by content, so a request's code is not keccak-hashed on every
/// run (for a contract of a few KiB that hash cost more than running it).
#[derive(Default)]
pub struct CodeCache {
    by_hash: HashMap<B256, Arc<Bytecode>>,
    by_content: HashMap<u64, Vec<Arc<Bytecode>>>,
    /// Seeds the content hash per cache, so codes a guest picks cannot be aimed at one key.
    content_hasher: foldhash::fast::RandomState,
    /// The code asked for last: a run asks for its code twice (the account, the frame), and a
    /// simulator runs the same code over and over; a byte comparison settles those.
    last: Option<Arc<Bytecode>>,
    /// The shared code [`CodeCache::get_shared`] was last asked for, with its analysis: an
    /// account's code is the same `Arc` run after run, and a pointer settles it where the
    /// byte comparison read the whole code (a quarter of a short call to a 20 KB router). The
    /// `Arc` is held, so no other code can come to live at that address.
    last_shared: Option<(Arc<[u8]>, Arc<Bytecode>)>,
    /// [`Bytecode::heap_bytes`] of the live codes this cache made, against
    /// [`CodeCache::BYTE_BUDGET`]: kept current by the codes themselves as their block
    /// tables appear and as they are freed.
    held: Arc<std::sync::atomic::AtomicUsize>,
}

impl CodeCache {
    /// The most entries kept; past it the cache starts over (simulations of many distinct
    /// payloads must not grow memory without bound).
    pub const CAPACITY: usize = 4096;

    /// The most heap bytes of analysed code kept ([`Bytecode::heap_bytes`]: the padded code,
    /// its shared copy, and the interpreter's block tables, about 6 bytes per code byte for
    /// ordinary contracts and 20 for code of JUMPDESTs). Room for [`CodeCache::CAPACITY`]
    /// contracts of 10 KiB (so for ordinary contracts the count binds first), or a dozen
    /// 1 MiB `hyvm` guests at their worst; the same as the JIT cache's
    /// [`nestedvm_jit::cache::DEFAULT_BYTE_BUDGET`]. Checked when a code is added, against what the
    /// codes hold then: the codes a run uses build their tables as it runs, so until the
    /// next code is added the cache may hold one run's worth more.
    pub const BYTE_BUDGET: usize = 256 << 20;

    /// The longest code kept. Longer code can only be a `hyvm` guest made at run time (call
    /// data entering the hypervisor; a request's code is at most [`crate::MAX_CODE_LEN`]):
    /// it is analysed for the run that asks and freed with it, so a few such guests cannot
    /// take the budget, nor one pass it many times over.
    pub const MAX_KEPT_LEN: usize = crate::MAX_CODE_LEN;

    /// Bytes held by the analysed code this cache made ([`Bytecode::heap_bytes`] each),
    /// codes it let go that a run still holds included.
    pub fn held_bytes(&self) -> usize {
        self.held.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `code` analysed and counted, after starting over when keeping it would pass a bound.
    fn admit(&mut self, code: Bytecode) -> Arc<Bytecode> {
        let needed = code.heap_bytes();
        if self.by_content.len() + self.by_hash.len() >= Self::CAPACITY
            || self.held_bytes() + needed > Self::BYTE_BUDGET
        {
            self.by_content.clear();
            self.by_hash.clear();
        }
        Arc::new(code.counted_in(self.held.clone()))
    }

    /// The analysis of `code`, from the cache when it was seen before (its keccak is computed
    /// only when first asked for, and then once).
    pub fn get(&mut self, code: &[u8]) -> Arc<Bytecode> {
        use std::hash::BuildHasher;
        if let Some(last) = self.last.as_ref().filter(|b| b.code() == code) {
            return last.clone();
        }
        if code.len() > Self::MAX_KEPT_LEN {
            return Arc::new(Bytecode::new(code));
        }
        let key = self.content_hasher.hash_one(code);
        let found = self
            .by_content
            .get(&key)
            .and_then(|same| same.iter().find(|b| b.code() == code))
            .cloned();
        let b = found.unwrap_or_else(|| {
            let b = self.admit(Bytecode::new(code));
            self.by_content.entry(key).or_default().push(b.clone());
            b
        });
        self.last = Some(b.clone());
        b
    }

    /// The analysis of `code`, an account's shared copy: [`CodeCache::get`], settled by
    /// pointer when it is the code asked for last.
    pub fn get_shared(&mut self, code: &Arc<[u8]>) -> Arc<Bytecode> {
        if let Some((_, b)) = self
            .last_shared
            .as_ref()
            .filter(|(last, _)| Arc::ptr_eq(last, code))
        {
            return b.clone();
        }
        let b = self.get(code);
        self.last_shared = Some((code.clone(), b.clone()));
        b
    }

    /// The analysis of `code` whose keccak256 the caller already knows (an account's code
    /// hash, CREATE2's init code hash), so it is not hashed again.
    pub fn get_hashed(&mut self, hash: B256, code: &[u8]) -> Arc<Bytecode> {
        if let Some(b) = self.by_hash.get(&hash) {
            return b.clone();
        }
        if code.len() > Self::MAX_KEPT_LEN {
            return Arc::new(Bytecode::with_hash(code, hash.0));
        }
        let b = self.admit(Bytecode::with_hash(code, hash.0));
        self.by_hash.insert(hash, b.clone());
        b
    }
}

/// What stays fixed for a whole run.
#[derive(Clone, Copy, Debug)]
pub struct ExecConfig {
    /// Host fork.
    pub fork: Fork,
    /// Whether DELEGATECALLs into the hypervisor run the contract-verifier build.
    pub verifier: bool,
    /// Where the hypervisor lives; `None` in a world without one (a mined transaction in
    /// `evm`, where that address is an ordinary account).
    pub hypervisor: Option<Address>,
    /// Who runs frames.
    pub engine: Engine,
    /// How the JIT compiles.
    pub jit: JitConfig,
    /// Bytes of buffers the whole run may hold ([`nestedvm_interp::budget`]); a frame that
    /// would make it hold more halts with `memory_limit`.
    pub memory_limit: u64,
    /// When the run must stop ([`Deadline::NEVER`] for none): every frame halts with
    /// `timeout` past it.
    pub deadline: Deadline,
}

/// The message of a transaction: a call, or the creation of a contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A call to an account (or a precompile).
    Call(CallInputs),
    /// A contract creation.
    Create(CreateInputs),
}

enum Pending {
    Call(Checkpoint),
    Create(Checkpoint, Address),
}

/// Whether a frame runs on native code.
enum Native {
    /// Not decided yet.
    Unchecked,
    /// The interpreter runs it.
    No,
    /// Native code runs what is compiled of it (all of it under `jit`, its hot parts under
    /// `auto`).
    Code(Arc<Tiered>),
}

struct Entry {
    frame: Frame,
    pending: Pending,
    native: Native,
    /// What the frame held when it was suspended for a callee, counted in
    /// [`Executor::suspended`] until it resumes.
    held: u64,
}

enum Prepared {
    Done(CallOutcome),
    Frame(Box<Entry>),
}

/// The instruction tables of one (fork, verifier) pair: guest frames run `hyvm`, every
/// contract frame runs `evm`. Built once and kept by [`crate::Vm`].
pub struct Tables {
    hyvm: InstructionTable<World>,
    evm: InstructionTable<World>,
}

impl Tables {
    /// The tables for `fork`, with the verifier build's guards when `verifier`.
    pub fn new(fork: Fork, verifier: bool) -> Self {
        Tables {
            hyvm: InstructionTable::new(Spec::get(Profile::Hyvm, fork, verifier)),
            evm: InstructionTable::new(Spec::get(Profile::Evm, fork, false)),
        }
    }
}

/// Runs frames against a world.
pub struct Executor<'a> {
    world: &'a mut World,
    config: ExecConfig,
    precompiles: PrecompileSet,
    codes: &'a mut CodeCache,
    tables: &'a Tables,
    jit: &'a mut JitState,
    ran_native: bool,
    /// Bytes held by the frames waiting for their callees (see [`held_by`]).
    suspended: u64,
    /// What sees inside the run, when it is traced: then every frame is interpreted, one
    /// instruction at a time.
    tracer: Option<&'a mut dyn Tracer>,
}

/// Bytes `frame` makes the run hold: its memory, call data and return data, and the
/// analysis of its code when it is a `hyvm` guest (counted at the bound, see
/// [`ANALYSIS_BYTES_PER_CODE_BYTE`]). `with_memory` leaves memory out, for the running frame
/// whose limit is on its memory.
fn held_by(frame: &Frame, with_memory: bool) -> u64 {
    let memory = if with_memory { frame.memory.len() } else { 0 };
    let buffers = (memory + frame.input.len() + frame.return_data.len()) as u64;
    buffers.saturating_add(guest_analysis_bytes(frame.spec, frame.code.len()))
}

/// What the analysis of a `hyvm` guest's code of `len` bytes counts in the run's budget.
fn guest_analysis_bytes(spec: &Spec, len: usize) -> u64 {
    if spec.is_hyvm() {
        (len as u64).saturating_mul(ANALYSIS_BYTES_PER_CODE_BYTE)
    } else {
        0
    }
}

impl<'a> Executor<'a> {
    /// An executor over `world`; `tables` must be those of `config`'s fork and verifier.
    pub fn new(
        world: &'a mut World,
        config: ExecConfig,
        codes: &'a mut CodeCache,
        tables: &'a Tables,
        jit: &'a mut JitState,
    ) -> Self {
        world.deadline = config.deadline;
        if world.source_failed() {
            // A read before the executor started failed: nothing should run on its zeros.
            world.deadline = Deadline::PASSED;
        }
        Executor {
            world,
            config,
            precompiles: PrecompileSet::for_fork(config.fork),
            codes,
            tables,
            jit,
            ran_native: false,
            suspended: 0,
            tracer: None,
        }
    }

    /// The same executor reporting every step and frame of its runs to `tracer`.
    pub fn with_tracer(mut self, tracer: &'a mut dyn Tracer) -> Self {
        self.tracer = Some(tracer);
        self
    }

    /// A `hyvm` frame running guest `code` for the hypervisor at `hypervisor`, its host
    /// memory laid out as the hypervisor's start-up leaves it.
    pub fn guest_frame(
        spec: &'static Spec,
        hypervisor: Address,
        code: Arc<Bytecode>,
        context: CallContext,
        gas: u64,
    ) -> Frame {
        let mut frame = Frame::new(spec, code, Vec::new(), context, gas);
        nestedvm_interp::hyvm::init_host_memory(&mut frame.memory, spec.verifier, hypervisor);
        frame
    }

    /// The analysis of `code`.
    pub fn bytecode(&mut self, code: &[u8]) -> Arc<Bytecode> {
        self.codes.get(code)
    }

    /// Runs `top` and every call and create it makes, returning how `top` ended, its memory
    /// and where it stopped (the offset after its last instruction). The caller owns
    /// checkpointing and value transfer of the top frame.
    pub fn run(&mut self, top: Frame) -> (FrameResult, Memory, usize) {
        if let Some(tracer) = self.tracer.as_deref_mut() {
            // A guest's code is the hypervisor's call data.
            let input = if top.spec.is_hyvm() {
                top.code.code()
            } else {
                &top.input[..]
            };
            tracer.enter(&Enter {
                kind: FrameKind::Call,
                from: top.context.caller,
                to: Some(top.context.address),
                value: Some(top.context.value),
                gas: top.gas.limit,
                input,
            });
        }
        // A message call to code-less code: revm and geth return before running anything, so
        // their step traces have no step. Ours runs the frame, whose one instruction is the
        // padding's STOP, for its result, but out of the step tracer's sight (the frame makes
        // no call, so no other step is hidden). Only here can a frame run code-less code as a
        // message call (a nested one is answered without a frame); a creation with empty init
        // code comes through `run_message` and shows its STOP, as in revm.
        let unseen = top.code.is_empty() && !top.spec.is_hyvm();
        let hidden = if unseen { self.tracer.take() } else { None };
        let top = Entry {
            frame: top,
            pending: Pending::Call(self.world.checkpoint()),
            // A traced run is interpreted, this frame too; an untraced one is as ever.
            native: if hidden.is_some() {
                Native::No
            } else {
                Native::Unchecked
            },
            held: 0,
        };
        let (_, result, memory, pc) = self.drive(top);
        if hidden.is_some() {
            self.tracer = hidden;
        }
        if let Some(tracer) = self.tracer.as_deref_mut() {
            tracer.exit(&Exit {
                status: result.status,
                reason: result.reason,
                output: &result.output,
                gas_used: result.gas.limit - result.gas.remaining,
                created: None,
                cause: result.cause,
            });
        }
        (result, memory, pc)
    }

    /// Runs a transaction's message as the top frame, value transfer, precompiles, the
    /// creation's collision check and code deposit included, and returns how it ended (the
    /// world reverted to before it unless it succeeded). The caller has checked depth 0,
    /// balance and nonce as a transaction's validation does.
    pub fn run_message(&mut self, message: Message) -> CallOutcome {
        let gas = match &message {
            Message::Call(inputs) => {
                self.trace_call(inputs.caller, inputs);
                inputs.gas_limit
            }
            Message::Create(inputs) => {
                self.trace_create(inputs);
                inputs.gas_limit
            }
        };
        let prepared = match message {
            Message::Call(inputs) => {
                let room = self
                    .config
                    .memory_limit
                    .saturating_sub(self.world.held_bytes());
                self.prepare_call(inputs, room, 0)
            }
            Message::Create(inputs) => self.prepare_create(inputs),
        };
        match prepared {
            Prepared::Done(outcome) => {
                self.trace_exit(gas, &outcome, None, None);
                outcome
            }
            Prepared::Frame(top) => {
                let (pending, result, _, _) = self.drive(*top);
                let traced = self.ran_for_trace(&pending, &result);
                let outcome = self.finish(pending, result);
                self.trace_ran(gas, traced, &outcome);
                outcome
            }
        }
    }

    /// Runs `top` and everything it calls; returns its pending finish, result, memory and
    /// final pc.
    fn drive(&mut self, top: Entry) -> (Pending, FrameResult, Memory, usize) {
        let mut stack: Vec<Entry> = Vec::new();
        let mut current = top;
        loop {
            if self.world.deadline.passed() {
                // Between frames: a callee that timed out (or a precompile the deadline cut
                // short) ends its callers too, each halting here in turn, so the run's
                // outcome is the timeout; a frame about to start is not compiled or run.
                current.frame.halt(HaltReason::Timeout);
                current.native = Native::No;
            }
            let table = if current.frame.spec.is_hyvm() {
                &self.tables.hyvm
            } else {
                &self.tables.evm
            };
            if matches!(current.native, Native::Unchecked) {
                current.native = if self.tracer.is_some() {
                    Native::No
                } else {
                    self.native_code(&current.frame)
                };
            }
            self.give_budget(&mut current.frame);
            let action = match (&current.native, self.tracer.as_deref_mut()) {
                (_, Some(tracer)) => {
                    let depth = current.frame.context.depth + 1;
                    let mut steps = Steps { tracer, depth };
                    run_traced(&mut current.frame, self.world, table, &mut steps)
                }
                (native, None) => match native {
                    Native::Code(tiered) => run_frame_tiered(
                        &mut current.frame,
                        self.world,
                        table,
                        tiered,
                        Tiering {
                            hot: self.config.jit.hot_after,
                            background: self.config.jit.background,
                            baseline: self.config.jit.baseline,
                        },
                        &mut self.ran_native,
                    ),
                    _ => run_frame(&mut current.frame, self.world, table),
                },
            };
            match action {
                FrameAction::Call(inputs) => {
                    let gas = inputs.gas_limit;
                    self.trace_call(current.frame.context.address, &inputs);
                    let room = self.room_for_callee(&current.frame);
                    match self.prepare_call(inputs, room, current.frame.calling_pc()) {
                        Prepared::Done(outcome) => {
                            self.trace_exit(gas, &outcome, None, None);
                            current.frame.resume_call(outcome)
                        }
                        Prepared::Frame(child) => self.descend(&mut stack, &mut current, *child),
                    }
                }
                FrameAction::Create(inputs) => {
                    let gas = inputs.gas_limit;
                    self.trace_create(&inputs);
                    match self.prepare_create(inputs) {
                        Prepared::Done(outcome) => {
                            self.trace_exit(gas, &outcome, None, None);
                            current.frame.resume_create(outcome)
                        }
                        Prepared::Frame(child) => self.descend(&mut stack, &mut current, *child),
                    }
                }
                FrameAction::Return(result) => {
                    let Some(parent) = stack.pop() else {
                        let memory = std::mem::take(&mut current.frame.memory);
                        return (current.pending, result, memory, current.frame.pc);
                    };
                    self.suspended -= parent.held;
                    let finished = std::mem::replace(&mut current, parent);
                    let is_create = matches!(finished.pending, Pending::Create(..));
                    let traced = self.ran_for_trace(&finished.pending, &result);
                    let gas = finished.frame.gas.limit;
                    let outcome = self.finish(finished.pending, result);
                    self.trace_ran(gas, traced, &outcome);
                    if is_create {
                        current.frame.resume_create(outcome);
                    } else {
                        current.frame.resume_call(outcome);
                    }
                }
            }
        }
    }

    /// Tells the tracer a call made by `from`'s code starts.
    fn trace_call(&mut self, from: Address, inputs: &CallInputs) {
        let Some(tracer) = self.tracer.as_deref_mut() else {
            return;
        };
        let kind = match inputs.kind {
            CallKind::Call => FrameKind::Call,
            CallKind::StaticCall => FrameKind::StaticCall,
            CallKind::DelegateCall => FrameKind::DelegateCall,
            CallKind::CallCode => FrameKind::CallCode,
        };
        tracer.enter(&Enter {
            kind,
            from,
            to: Some(inputs.code_address),
            value: inputs.transfers_value.then_some(inputs.value),
            gas: inputs.gas_limit,
            input: &inputs.input,
        });
    }

    /// Tells the tracer a create starts.
    fn trace_create(&mut self, inputs: &CreateInputs) {
        let Some(tracer) = self.tracer.as_deref_mut() else {
            return;
        };
        let kind = match inputs.kind {
            CreateKind::Create => FrameKind::Create,
            CreateKind::Create2 { .. } => FrameKind::Create2,
        };
        tracer.enter(&Enter {
            kind,
            from: inputs.caller,
            to: None,
            value: Some(inputs.value),
            gas: inputs.gas_limit,
            input: &inputs.init_code,
        });
    }

    /// What the call tree shows of a frame that ran and its outcome does not carry, taken
    /// before [`Executor::finish`] consumes its result: its halt reason, its output (a
    /// create's deployed code) and a create's address. `None` when nothing is traced.
    fn ran_for_trace(
        &self,
        pending: &Pending,
        result: &FrameResult,
    ) -> Option<(Option<HaltReason>, Vec<u8>, Option<Address>)> {
        self.tracer.as_ref()?;
        let created = match pending {
            Pending::Create(_, address) => Some(*address),
            Pending::Call(_) => None,
        };
        Some((result.reason, result.output.clone(), created))
    }

    /// Tells the tracer a frame that ran, given `gas`, ended with `outcome`.
    fn trace_ran(
        &mut self,
        gas: u64,
        ran: Option<(Option<HaltReason>, Vec<u8>, Option<Address>)>,
        outcome: &CallOutcome,
    ) {
        let (Some((reason, output, created)), Some(tracer)) = (ran, self.tracer.as_deref_mut())
        else {
            return;
        };
        // A create that failed to deposit its code halts with no reason of the frame's own.
        let reason = (outcome.status == Status::Halt).then_some(reason).flatten();
        let deployed = created.is_some() && outcome.status == Status::Success;
        tracer.exit(&Exit {
            status: outcome.status,
            reason,
            output: if deployed { &output } else { &outcome.output },
            gas_used: gas - outcome.gas_remaining.min(gas),
            created,
            cause: outcome.cause,
        });
    }

    /// Tells the tracer a call or create answered without running a frame ended.
    fn trace_exit(
        &mut self,
        gas: u64,
        outcome: &CallOutcome,
        reason: Option<HaltReason>,
        created: Option<Address>,
    ) {
        if let Some(tracer) = self.tracer.as_deref_mut() {
            tracer.exit(&Exit {
                status: outcome.status,
                reason,
                output: &outcome.output,
                gas_used: gas - outcome.gas_remaining.min(gas),
                created: created.or(outcome.created),
                cause: outcome.cause,
            });
        }
    }

    /// Ends a finished frame's call or create: reverts on failure, deposits created code.
    fn finish(&mut self, pending: Pending, result: FrameResult) -> CallOutcome {
        match pending {
            Pending::Call(cp) => self.finish_call(cp, result),
            Pending::Create(cp, address) => self.finish_create(cp, address, result),
        }
    }

    /// Whether any frame of this run has run native code.
    pub fn ran_native(&self) -> bool {
        self.ran_native
    }

    /// The native code a frame runs on, as the engine decides: all of it compiled now (`jit`,
    /// or `auto` with `hot_after` 0), its hot parts as they heat up (`auto`), or none. Code the
    /// JIT cannot compile is interpreted.
    fn native_code(&mut self, frame: &Frame) -> Native {
        if self.config.engine == Engine::Interpreter {
            return Native::No;
        }
        let cache = &self.jit.cache;
        let options = nestedvm_jit::CompileOptions {
            // Code for runs with a deadline is compiled with its check points, so runs without
            // one keep code that pays nothing for them.
            deadline_checks: self.config.jit.options.deadline_checks
                || self.config.deadline != Deadline::NEVER,
            ..self.config.jit.options
        };
        let (spec, code) = (frame.spec, &frame.code);
        let eager = self.config.engine == Engine::Jit || self.config.jit.hot_after == 0;
        let tiered = if eager {
            cache.get_or_compile::<World>(spec, code, options)
        } else {
            cache.tiered::<World>(spec, code, options)
        };
        match tiered {
            Ok(tiered) => Native::Code(tiered),
            Err(_) => Native::No,
        }
    }

    /// Makes `child` the running frame, counting what its caller holds meanwhile.
    fn descend(&mut self, stack: &mut Vec<Entry>, current: &mut Entry, child: Entry) {
        current.held = held_by(&current.frame, true);
        self.suspended += current.held;
        stack.push(std::mem::replace(current, child));
    }

    /// Bytes of the run's budget left for a callee of the running frame once it and every
    /// frame waiting holds what it does now.
    fn room_for_callee(&self, caller: &Frame) -> u64 {
        let held = self
            .suspended
            .saturating_add(held_by(caller, true))
            .saturating_add(self.world.held_bytes());
        self.config.memory_limit.saturating_sub(held)
    }

    /// Gives the frame about to run what is left of the run's budget for its memory; a frame
    /// that does not fit (a callee, or a caller whose callees left the world bigger) halts.
    fn give_budget(&self, frame: &mut Frame) {
        let host_held = self.world.held_bytes();
        let others = self
            .suspended
            .saturating_add(host_held)
            .saturating_add(held_by(frame, false));
        let fits = frame.set_memory_budget(self.config.memory_limit, others, host_held);
        if let (Err(reason), None) = (fits, &frame.action) {
            frame.halt(reason);
        }
    }

    /// A callee the hypervisor refused (`cause`) after spending `used` gas: it reverts, or runs
    /// out of gas before that (a halt, which has no cause).
    fn refused_after(gas_limit: u64, used: u64, cause: Cause) -> Prepared {
        let (status, gas_remaining, cause) = match gas_limit.checked_sub(used) {
            Some(left) => (Status::Revert, left, Some(cause)),
            None => (Status::Halt, 0, None),
        };
        Prepared::Done(CallOutcome {
            status,
            output: Vec::new(),
            gas_remaining,
            refund: 0,
            created: None,
            cause,
        })
    }

    /// A callee that cannot fit in what is left of the run's budget: it halts, as a frame
    /// growing past the budget does.
    fn over_budget(&mut self, cp: Checkpoint) -> Prepared {
        self.world.revert_to(cp);
        Prepared::Done(CallOutcome {
            status: Status::Halt,
            output: Vec::new(),
            gas_remaining: 0,
            refund: 0,
            created: None,
            cause: None,
        })
    }

    fn refused(gas_limit: u64) -> Prepared {
        Prepared::Done(CallOutcome {
            status: Status::Revert,
            output: Vec::new(),
            gas_remaining: gas_limit,
            refund: 0,
            created: None,
            cause: None,
        })
    }

    /// Prepares a call, `room` bytes of the run's budget left for it, made by the instruction
    /// at `caller_pc` (0 for a transaction's message, which no code makes).
    fn prepare_call(&mut self, inputs: CallInputs, room: u64, caller_pc: usize) -> Prepared {
        if inputs.depth > CALL_DEPTH_LIMIT {
            return Self::refused(inputs.gas_limit);
        }
        let cp = self.world.checkpoint();
        // A STATICCALL moves no value but touches its target as a transfer of zero would
        // (EIP-161), as revm does.
        let transfers = inputs.transfers_value || inputs.kind == CallKind::StaticCall;
        if transfers
            && !self
                .world
                .transfer(inputs.caller, inputs.address, inputs.value)
        {
            self.world.revert_to(cp);
            return Self::refused(inputs.gas_limit);
        }
        if let Some(hypervisor) = self.config.hypervisor.filter(|h| *h == inputs.code_address) {
            if matches!(inputs.kind, CallKind::Call | CallKind::StaticCall) {
                // Called directly, the hypervisor's start-up finds its own address and reverts,
                // having spent a little gas. Under DELEGATECALL or CALLCODE it runs in the
                // caller's context.
                self.world.revert_to(cp);
                let cause = Cause {
                    pc: caller_pc,
                    kind: CauseKind::DirectCall,
                };
                return Self::refused_after(inputs.gas_limit, hyvm_gas::DIRECT_CALL, cause);
            }
            let spec = Spec::get(Profile::Hyvm, self.config.fork, self.config.verifier);
            // Guest code is the call's input, as long as the memory the caller paid for: its
            // analysis must fit before it is made.
            let needs = guest_analysis_bytes(spec, inputs.input.len());
            if needs.saturating_add(inputs.input.len() as u64) > room {
                return self.over_budget(cp);
            }
            let code = self.codes.get(&inputs.input);
            let frame = Self::guest_frame(
                spec,
                hypervisor,
                code,
                context_of(&inputs),
                inputs.gas_limit,
            );
            return Prepared::Frame(Box::new(Entry {
                frame,
                pending: Pending::Call(cp),
                native: Native::Unchecked,
                held: 0,
            }));
        }
        if let Some(out) = self.precompiles.call(
            &inputs.code_address,
            &inputs.input,
            inputs.gas_limit,
            self.world.deadline,
        ) {
            if (out.output.len() + inputs.input.len()) as u64 > room {
                return self.over_budget(cp);
            }
            if out.status != Status::Success {
                self.world.revert_to(cp);
            }
            return Prepared::Done(CallOutcome {
                status: out.status,
                output: out.output,
                gas_remaining: inputs.gas_limit - out.gas_used.min(inputs.gas_limit),
                refund: 0,
                created: None,
                cause: None,
            });
        }
        let (mut code, mut hash) = self.world.code_and_hash(&inputs.code_address);
        if let Some(delegate) = delegation_target(&code) {
            (code, hash) = self.world.code_and_hash(&delegate);
        }
        if code.is_empty() {
            return Prepared::Done(CallOutcome {
                status: Status::Success,
                output: Vec::new(),
                gas_remaining: inputs.gas_limit,
                refund: 0,
                created: None,
                cause: None,
            });
        }
        let spec = Spec::get(Profile::Evm, self.config.fork, false);
        let bytecode = self.codes.get_hashed(hash, &code);
        let context = context_of(&inputs);
        let frame = Frame::new(spec, bytecode, inputs.input, context, inputs.gas_limit);
        Prepared::Frame(Box::new(Entry {
            frame,
            pending: Pending::Call(cp),
            native: Native::Unchecked,
            held: 0,
        }))
    }

    fn finish_call(&mut self, cp: Checkpoint, result: FrameResult) -> CallOutcome {
        if result.status != Status::Success {
            self.world.revert_to(cp);
        }
        CallOutcome {
            status: result.status,
            output: result.output,
            gas_remaining: result.gas.remaining,
            refund: result.gas.refund,
            created: None,
            cause: result.cause,
        }
    }

    fn prepare_create(&mut self, inputs: CreateInputs) -> Prepared {
        if inputs.depth > CALL_DEPTH_LIMIT || self.world.balance_of(&inputs.caller) < inputs.value {
            return Self::refused(inputs.gas_limit);
        }
        let nonce = self.world.nonce_of(&inputs.caller);
        let Some(next_nonce) = nonce.checked_add(1) else {
            return Self::refused(inputs.gas_limit);
        };
        self.world.set_nonce(inputs.caller, next_nonce);
        let init_hash = B256::from(keccak256(&inputs.init_code));
        let address = match inputs.kind {
            CreateKind::Create => create_address(&inputs.caller, nonce),
            CreateKind::Create2 { salt } => {
                create2_address_of_hash(&inputs.caller, &salt, &init_hash)
            }
        };
        self.world.warm_created(address);
        let cp = self.world.checkpoint();
        if self.world.has_code_nonce_or_storage(&address) {
            self.world.revert_to(cp);
            return Prepared::Done(CallOutcome {
                status: Status::Halt,
                output: Vec::new(),
                gas_remaining: 0,
                refund: 0,
                created: None,
                cause: None,
            });
        }
        self.world.mark_created(address);
        self.world.set_nonce(address, 1);
        self.world.transfer(inputs.caller, address, inputs.value);
        let spec = Spec::get(Profile::Evm, self.config.fork, false);
        let code = self.codes.get_hashed(init_hash, &inputs.init_code);
        let context = CallContext {
            address,
            caller: inputs.caller,
            value: inputs.value,
            is_static: false,
            depth: inputs.depth,
        };
        let frame = Frame::new(spec, code, Vec::new(), context, inputs.gas_limit);
        Prepared::Frame(Box::new(Entry {
            frame,
            pending: Pending::Create(cp, address),
            native: Native::Unchecked,
            held: 0,
        }))
    }

    fn finish_create(
        &mut self,
        cp: Checkpoint,
        address: Address,
        result: FrameResult,
    ) -> CallOutcome {
        let mut gas = result.gas;
        if result.status != Status::Success {
            self.world.revert_to(cp);
            return CallOutcome {
                status: result.status,
                output: result.output,
                gas_remaining: gas.remaining,
                refund: 0,
                created: None,
                cause: result.cause,
            };
        }
        let code = result.output;
        // Too long, 0xEF-prefixed (EIP-3541), or not enough gas to deposit: all gas is lost.
        let failed = code.len() > MAX_CODE_SIZE
            || code.first() == Some(&0xef)
            || !gas.charge(code.len() as u64 * nestedvm_interp::gas::CODE_DEPOSIT);
        if failed {
            self.world.revert_to(cp);
            return CallOutcome {
                status: Status::Halt,
                output: Vec::new(),
                gas_remaining: 0,
                refund: 0,
                created: None,
                cause: None,
            };
        }
        self.world.set_code(address, code);
        CallOutcome {
            status: Status::Success,
            output: Vec::new(),
            gas_remaining: gas.remaining,
            refund: gas.refund,
            created: Some(address),
            cause: None,
        }
    }
}

fn context_of(inputs: &CallInputs) -> CallContext {
    CallContext {
        address: inputs.address,
        caller: inputs.caller,
        value: inputs.value,
        is_static: inputs.is_static,
        depth: inputs.depth,
    }
}

/// Hands a frame's steps to the run's tracer with the frame's depth.
struct Steps<'t> {
    tracer: &'t mut dyn Tracer,
    depth: usize,
}

impl StepTracer for Steps<'_> {
    fn step(&mut self, step: &StepView<'_>) {
        self.tracer.step(self.depth, step);
    }
}

/// CREATE's address: keccak(rlp([sender, nonce]))[12..].
pub fn create_address(sender: &Address, nonce: u64) -> Address {
    let mut rlp = Vec::with_capacity(32);
    let nonce_bytes = nonce.to_be_bytes();
    let skip = nonce_bytes.iter().take_while(|b| **b == 0).count();
    let nonce_enc: Vec<u8> = match nonce {
        0 => vec![0x80],
        1..=0x7f => vec![nonce as u8],
        _ => {
            let mut v = vec![0x80 + (8 - skip) as u8];
            v.extend_from_slice(&nonce_bytes[skip..]);
            v
        }
    };
    let payload_len = 21 + nonce_enc.len();
    rlp.push(0xc0 + payload_len as u8);
    rlp.push(0x94);
    rlp.extend_from_slice(sender.as_bytes());
    rlp.extend_from_slice(&nonce_enc);
    Address::from_slice(&keccak256(&rlp)[12..])
}

/// CREATE2's address: keccak(0xff ++ sender ++ salt ++ keccak(init_code))[12..].
pub fn create2_address(sender: &Address, salt: &U256, init_code: &[u8]) -> Address {
    create2_address_of_hash(sender, salt, &B256::from(keccak256(init_code)))
}

/// CREATE2's address from the init code's hash.
fn create2_address_of_hash(sender: &Address, salt: &U256, init_code_hash: &B256) -> Address {
    let mut buf = Vec::with_capacity(85);
    buf.push(0xff);
    buf.extend_from_slice(sender.as_bytes());
    buf.extend_from_slice(&salt.to_big_endian());
    buf.extend_from_slice(init_code_hash.as_bytes());
    Address::from_slice(&keccak256(&buf)[12..])
}

/// The gas of a finished top frame, for reporting: used (all after a halt) and refund.
pub fn gas_report(result: &FrameResult) -> (u64, i64) {
    let Gas {
        limit,
        remaining,
        refund,
    } = result.gas;
    (
        limit - remaining,
        if result.status == Status::Success {
            refund
        } else {
            0
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused callee's cause rides on its call's outcome (for the call tree). A direct call
    /// has no frame of its own, so its cause is decided here, with the pc of the calling
    /// instruction; the engines only hand the call over, so the driver alone is tested.
    #[test]
    fn refused_calls_carry_their_cause_to_the_caller() {
        let hypervisor = crate::DEFAULT_HYPERVISOR;
        let mut world = World::default();
        let config = ExecConfig {
            fork: Fork::Osaka,
            verifier: false,
            hypervisor: Some(hypervisor),
            engine: Engine::Interpreter,
            jit: JitConfig::default(),
            memory_limit: nestedvm_interp::memory::MEMORY_LIMIT,
            deadline: Deadline::NEVER,
        };
        let (mut codes, tables, mut jit) = (
            CodeCache::default(),
            Tables::new(Fork::Osaka, false),
            JitState::default(),
        );
        let mut executor = Executor::new(&mut world, config, &mut codes, &tables, &mut jit);
        let call = |kind, gas_limit| CallInputs {
            kind,
            code_address: hypervisor,
            address: hypervisor,
            caller: Address::from_low_u64_be(0xc0de),
            value: U256::zero(),
            transfers_value: kind == CallKind::Call,
            input: vec![0x00],
            gas_limit,
            is_static: kind == CallKind::StaticCall,
            depth: 1,
        };
        for kind in [CallKind::Call, CallKind::StaticCall] {
            let Prepared::Done(outcome) = executor.prepare_call(call(kind, 1000), u64::MAX, 7)
            else {
                panic!("{kind:?}: the hypervisor ran a frame");
            };
            let cause = Cause {
                pc: 7,
                kind: CauseKind::DirectCall,
            };
            assert_eq!(
                (outcome.status, outcome.output.len()),
                (Status::Revert, 0),
                "{kind:?}"
            );
            assert_eq!(
                (outcome.gas_remaining, outcome.cause),
                (1000 - hyvm_gas::DIRECT_CALL, Some(cause)),
                "{kind:?}"
            );
            // Too little gas for the start-up's check: out of gas, a halt, which has no cause.
            let Prepared::Done(outcome) = executor.prepare_call(call(kind, 100), u64::MAX, 7)
            else {
                panic!("{kind:?}: the hypervisor ran a frame");
            };
            assert_eq!((outcome.status, outcome.cause), (Status::Halt, None));
        }
        // A callee frame the hypervisor refused (a nested guest) hands its cause to its call.
        let cause = Cause {
            pc: 2,
            kind: CauseKind::BadJump { to: U256::from(5) },
        };
        let refused = FrameResult {
            status: Status::Revert,
            reason: None,
            output: Vec::new(),
            gas: Gas::new(1000),
            cause: Some(cause),
        };
        let cp = executor.world.checkpoint();
        let outcome = executor.finish(Pending::Call(cp), refused);
        assert_eq!((outcome.gas_remaining, outcome.cause), (1000, Some(cause)));
    }

    #[test]
    fn create_addresses_match_known_values() {
        // Known vector: sender 0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0.
        let sender: Address = "6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0".parse().unwrap();
        let a0: Address = "cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d".parse().unwrap();
        let a1: Address = "343c43a37d37dff08ae8c4a11544c718abb4fcf8".parse().unwrap();
        assert_eq!(create_address(&sender, 0), a0);
        assert_eq!(create_address(&sender, 1), a1);
        // EIP-1014 example 0: address 0, salt 0, init code 0x00.
        let expected: Address = "4d1a2e2bb4f88f0250f26ffff098b0b30b26bf38".parse().unwrap();
        assert_eq!(
            create2_address(&Address::zero(), &U256::zero(), &[0x00]),
            expected
        );
    }
}

#[cfg(test)]
mod code_cache_tests {
    use super::*;

    #[test]
    fn code_is_found_by_content_and_hashed_only_on_demand() {
        let mut cache = CodeCache::default();
        let a = cache.get(&[0x60, 1, 0x00]);
        let again = cache.get(&[0x60, 1, 0x00]);
        assert!(Arc::ptr_eq(&a, &again));
        let b = cache.get(&[0x60, 2, 0x00]);
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(b.code(), &[0x60, 2, 0x00]);
        assert_eq!(a.hash(), keccak256(&[0x60, 1, 0x00]));
        let known = B256::from(keccak256(&[0x00]));
        let c = cache.get_hashed(known, &[0x00]);
        assert!(Arc::ptr_eq(&c, &cache.get_hashed(known, &[0x00])));
        assert_eq!(c.hash(), known.0);
    }

    #[test]
    fn shared_code_is_settled_by_pointer_and_by_content_alike() {
        let mut cache = CodeCache::default();
        let code: Arc<[u8]> = Arc::from(&[0x60, 1, 0x00][..]);
        let a = cache.get_shared(&code);
        assert!(Arc::ptr_eq(&a, &cache.get_shared(&code)));
        // Another copy of the same bytes, and the bytes themselves, find the same analysis.
        let copy: Arc<[u8]> = Arc::from(&[0x60, 1, 0x00][..]);
        assert!(Arc::ptr_eq(&a, &cache.get_shared(&copy)));
        assert!(Arc::ptr_eq(&a, &cache.get(&[0x60, 1, 0x00])));
        let other: Arc<[u8]> = Arc::from(&[0x60, 2, 0x00][..]);
        assert_eq!(cache.get_shared(&other).code(), &[0x60, 2, 0x00]);
        assert!(Arc::ptr_eq(&a, &cache.get_shared(&code)));
    }

    /// [`Bytecode::heap_bytes`] of every code the cache holds, each once.
    fn heap_bytes_of_entries(cache: &CodeCache) -> usize {
        let mut seen = std::collections::HashSet::new();
        cache
            .by_content
            .values()
            .flatten()
            .chain(cache.by_hash.values())
            .chain(&cache.last)
            .filter(|b| seen.insert(Arc::as_ptr(b)))
            .map(|b| b.heap_bytes())
            .sum()
    }

    #[test]
    fn the_cache_holds_at_most_its_byte_budget_of_analysis() {
        let mut cache = CodeCache::default();
        // The largest code kept, all JUMPDESTs: a block per byte in both specs' tables, the
        // most analysis a code byte can cost.
        let size = CodeCache::MAX_KEPT_LEN;
        let code = |i: u64| {
            let mut code = vec![0x5b; size];
            code[..8].copy_from_slice(&i.to_be_bytes());
            code
        };
        let specs = [
            Spec::get(Profile::Hyvm, Fork::Osaka, false),
            Spec::get(Profile::Evm, Fork::Osaka, false),
        ];
        // Held weakly: a code a caller holds counts until freed, though the cache let it go.
        let first = Arc::downgrade(&cache.get(&code(0)));
        let mut starts = 0;
        for i in 1..30 {
            let before = cache.by_content.len();
            let b = cache.get(&code(i));
            if cache.by_content.len() <= before {
                starts += 1;
            }
            assert!(
                cache.held_bytes() <= CodeCache::BYTE_BUDGET,
                "{} bytes",
                cache.held_bytes()
            );
            assert_eq!(cache.held_bytes(), heap_bytes_of_entries(&cache));
            // What a run of it builds (a `hyvm` guest also run as a plain contract) counts
            // as it appears.
            b.shared_code();
            for spec in specs {
                b.blocks(spec);
            }
            assert_eq!(cache.held_bytes(), heap_bytes_of_entries(&cache));
        }
        assert!(starts >= 2, "the budget filled {starts} times");
        // The first code was freed when the budget ran out.
        assert!(first.upgrade().is_none());
    }

    #[test]
    fn code_longer_than_any_request_is_analysed_but_not_kept() {
        let mut cache = CodeCache::default();
        let long = vec![0x5b; CodeCache::MAX_KEPT_LEN + 1];
        let a = cache.get(&long);
        assert!(!Arc::ptr_eq(&a, &cache.get(&long)));
        let hash = B256::from(keccak256(&long));
        assert!(!Arc::ptr_eq(
            &cache.get_hashed(hash, &long),
            &cache.get_hashed(hash, &long)
        ));
        assert_eq!(cache.held_bytes(), 0);
    }
}
