//! Tiered compilation: a code starts in the interpreter, which counts how often each of its
//! blocks runs (its heat). When a block has run `hot` times, the segments whose blocks are
//! warm are compiled into a new *unit* (one native function) and native code takes them over.
//! A jump from one unit to a segment of another returns to the runner, which enters the
//! other unit, and a jump to a segment not compiled hands over to the interpreter, which
//! keeps counting. A long contract run once pays for its hot code, not for all of it. The
//! heat lives with the code in the cache, so code that runs briefly but often (a simulator's
//! contract) heats up across runs and threads.
//!
//! A tier-up compiles either on the thread that found the hot block, which waits for it:
//! then each segment is compiled once, in one unit, so tiering never compiles more than
//! compiling the whole code would. Or in the [`background`], while that
//! thread goes on interpreting and picks the new unit up a little later: then a tier-up
//! whose new segments are at least as many as the units before it hold recompiles theirs
//! too, and its unit replaces them, so that hot code ends in one unit and its jumps do not
//! go through the runner, at the cost of at most about twice the compilation, none of it
//! on a running thread.

use crate::background;
use crate::compile::{compile_selected, CompileError, CompileOptions, CompiledCode, Selection};
use nestedvm_interp::{Bytecode, Host, Spec};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most units of one code made by tier-ups; the last one takes every segment that has run at
/// all, so a code that keeps finding new hot spots stops compiling.
pub const MAX_TIER_UPS: u32 = 8;

/// The native code of one code: its units, and which unit holds the segment at each offset.
#[derive(Default)]
pub struct Units {
    units: Vec<Arc<CompiledCode>>,
    /// Per offset: 0 when no unit starts a segment there, else the unit's index plus one.
    owner: Box<[u8]>,
    /// The baseline tier's code of every segment, for the segments no unit holds.
    baseline: Option<Arc<CompiledCode>>,
}

impl Units {
    /// The unit (and its index) whose segment starts at `pc`: a Cranelift unit's, else the
    /// baseline tier's (its index is past the units').
    #[inline]
    pub fn at(&self, pc: usize) -> Option<(usize, &CompiledCode)> {
        match self.owner.get(pc) {
            Some(&u) if u != 0 => {
                let i = u as usize - 1;
                self.units.get(i).map(|c| (i, &**c))
            }
            _ => self
                .baseline
                .as_deref()
                .filter(|b| b.is_entry(pc))
                .map(|b| (self.units.len(), b)),
        }
    }

    /// Whether native code holds no segment.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty() && self.baseline.is_none()
    }

    /// Bytes this native code holds: every unit and the baseline tier's
    /// ([`CompiledCode::held_bytes`]), and the table of segment owners.
    pub fn bytes(&self) -> usize {
        let units: usize = self.units.iter().map(|u| u.held_bytes()).sum();
        units + self.baseline.as_ref().map_or(0, |b| b.held_bytes()) + self.owner.len()
    }

    /// Whether the baseline tier's code is here.
    pub fn has_baseline(&self) -> bool {
        self.baseline.is_some()
    }

    /// These units and `unit`, which holds segments none of them does.
    fn with(&self, unit: CompiledCode, len: usize) -> Units {
        let index = self.units.len() + 1;
        let mut owner = if self.owner.is_empty() {
            vec![0u8; len].into_boxed_slice()
        } else {
            self.owner.clone()
        };
        for (pc, o) in owner.iter_mut().enumerate() {
            if *o == 0 && unit.is_entry(pc) {
                // At most MAX_TIER_UPS + 1 units, so the index fits.
                *o = index as u8;
            }
        }
        let mut units = self.units.clone();
        units.push(Arc::new(unit));
        Units {
            units,
            owner,
            baseline: self.baseline.clone(),
        }
    }
}

/// Below `hot`, how many runs make a block warm enough to join a tier-up: a fraction of the
/// hot count, so the code around a hot loop (its callees, the rest of its body) comes along.
const WARM_DIVISOR: u32 = 16;

/// One code's heat and the native code compiled from it so far.
pub struct Tiered {
    spec: &'static Spec,
    /// The code this is for (what the cache compares on a hit).
    code: Arc<[u8]>,
    options: CompileOptions,
    /// Runs of the block starting at each offset, counted by the interpreter (racy increments
    /// that may lose a count: it is a heuristic, and plain loads and stores keep it cheap).
    heat: Box<[AtomicU32]>,
    /// Whether the interpreter still counts heat for this code.
    profiling: AtomicBool,
    current: Mutex<Arc<Units>>,
    /// Units installed so far: a runner holding an older count has older units.
    installs: AtomicU32,
    /// Whether the baseline tier's code was made (or failed).
    baseline_tried: AtomicBool,
    plan: Mutex<Plan>,
    compiles: Arc<AtomicU64>,
    /// The bytes held by the live entries of the cache this one belongs to
    /// ([`Tiered::footprint`] each), kept current as units are installed and entries freed.
    held: Arc<AtomicUsize>,
    /// [`Units::bytes`] of `current`, readable without its lock.
    native_bytes: AtomicUsize,
}

/// What has been compiled, and how often.
struct Plan {
    /// Offsets whose segments the compiled code holds (or will at the next tier-up).
    selected: Vec<bool>,
    tier_ups: u32,
    /// Every segment is compiled.
    complete: bool,
    /// A tier-up is being compiled in the background.
    pending: bool,
    /// A block got hot while one was: another tier-up follows it.
    missed: bool,
}

/// Bytes an entry for `len` bytes of code holds before anything is compiled: the code, a heat
/// counter and a plan flag per byte, and the entry itself (a few hundred bytes, the most a
/// cache of many tiny codes holds).
fn cold_footprint(len: usize) -> usize {
    std::mem::size_of::<Tiered>()
        + std::mem::size_of::<Units>()
        + len * (1 + std::mem::size_of::<AtomicU32>() + 1)
}

impl Drop for Tiered {
    fn drop(&mut self) {
        self.held.fetch_sub(self.footprint(), Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Tiered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiered")
            .field("code_len", &self.heat.len())
            .field("profiling", &self.profiling.load(Ordering::Relaxed))
            .finish()
    }
}

impl Tiered {
    /// `code` with no heat and nothing compiled; every compilation counts in `compiles`.
    pub(crate) fn new(
        spec: &'static Spec,
        code: Arc<[u8]>,
        options: CompileOptions,
        compiles: Arc<AtomicU64>,
    ) -> Self {
        let len = code.len();
        Tiered {
            spec,
            code,
            options,
            heat: (0..len).map(|_| AtomicU32::new(0)).collect(),
            profiling: AtomicBool::new(true),
            current: Mutex::new(Arc::new(Units::default())),
            installs: AtomicU32::new(0),
            baseline_tried: AtomicBool::new(false),
            plan: Mutex::new(Plan {
                selected: vec![false; len],
                tier_ups: 0,
                complete: false,
                pending: false,
                missed: false,
            }),
            compiles,
            // Counted on its own until a cache counts it with its other entries.
            held: Arc::new(AtomicUsize::new(cold_footprint(len))),
            native_bytes: AtomicUsize::new(0),
        }
    }

    /// This entry, its [`Tiered::footprint`] counted in `held` from now until it is freed.
    pub(crate) fn counted_in(mut self, held: Arc<AtomicUsize>) -> Self {
        held.fetch_add(self.footprint(), Ordering::Relaxed);
        self.held = held;
        self
    }

    /// The code this is for.
    pub fn code(&self) -> &Arc<[u8]> {
        &self.code
    }

    /// Bytes this entry holds: itself, its code, a heat counter and a plan flag per code byte,
    /// and its native code ([`Units::bytes`]). What a cache of compiled code counts against
    /// its byte budget.
    pub fn footprint(&self) -> usize {
        cold_footprint(self.code.len()) + self.native_bytes.load(Ordering::Relaxed)
    }

    /// The native code compiled so far.
    pub fn compiled(&self) -> Arc<Units> {
        lock(&self.current).clone()
    }

    /// Whether any native code has been installed, read without taking the units' lock
    /// (every install adds code, none takes it all away).
    pub(crate) fn has_native(&self) -> bool {
        self.installs.load(Ordering::Acquire) > 0
    }

    /// How many units have been installed: read it before [`Tiered::compiled`], and a
    /// different count later means newer native code.
    pub fn installs(&self) -> &AtomicU32 {
        &self.installs
    }

    /// The heat counters, while the interpreter should still count them.
    pub fn heat(&self) -> Option<&[AtomicU32]> {
        self.profiling
            .load(Ordering::Relaxed)
            .then_some(&self.heat[..])
    }

    /// The heat counters, counted or not.
    #[cfg(test)]
    pub(crate) fn counters(&self) -> &[AtomicU32] {
        &self.heat
    }

    /// Compiles every segment of `code` (the code this was made for) that no unit holds yet.
    pub fn compile_all<H: Host>(&self, code: &Bytecode) -> Result<(), CompileError> {
        let mut plan = lock(&self.plan);
        if plan.complete {
            return Ok(());
        }
        let fresh = plan.selected.iter().all(|s| !s);
        self.compiles.fetch_add(1, Ordering::Relaxed);
        let unit = if fresh {
            compile_selected::<H>(self.spec, code, self.options, Selection::All)?
        } else {
            let done = &plan.selected;
            let select = |start: usize| !done.get(start).copied().unwrap_or(false);
            compile_selected::<H>(self.spec, code, self.options, Selection::Only(&select))?
        };
        plan.complete = true;
        plan.selected.fill(true);
        self.profiling.store(false, Ordering::Relaxed);
        self.install(unit, code.len(), false);
        Ok(())
    }

    /// Makes `unit` native code, with the units before it, or `replacing` them (it holds
    /// every segment they do). Runners holding the old units go on with them.
    fn install(&self, unit: CompiledCode, len: usize, replacing: bool) {
        self.publish(|current| {
            if replacing {
                Units {
                    baseline: current.baseline.clone(),
                    ..Units::default()
                }
                .with(unit, len)
            } else {
                current.with(unit, len)
            }
        });
    }

    /// Replaces the native code with what `next` makes of it, and counts an install.
    fn publish(&self, next: impl FnOnce(&Units) -> Units) {
        let mut current = lock(&self.current);
        let next = next(&current);
        let bytes = next.bytes();
        self.held.fetch_add(bytes, Ordering::Relaxed);
        let before = self.native_bytes.swap(bytes, Ordering::Relaxed);
        self.held.fetch_sub(before, Ordering::Relaxed);
        *current = Arc::new(next);
        self.installs.fetch_add(1, Ordering::Release);
    }

    /// Compiles the whole code with the baseline tier, counting heat, and installs it: `auto`
    /// runs it where no Cranelift unit holds the code yet, from the first tier-up on (the
    /// blocks are hot, Cranelift's unit may take a while).
    fn add_baseline<H: Host>(&self, code: &Bytecode, hot: u32) {
        // A panic while compiling (a bug) is an error here too, never the running thread's.
        let unit = crate::compile::without_panics(|| {
            // SAFETY: the unit lives in this `Tiered`'s units, so the counters outlive it.
            unsafe {
                crate::baseline::compile_counting::<H>(
                    self.spec,
                    code,
                    &self.heat,
                    hot,
                    self.options.deadline_checks,
                )
            }
        });
        // Failing (over-long code is never tiered; a compiler bug) leaves the interpreter.
        if let Ok(unit) = unit {
            self.publish(|current| Units {
                units: current.units.clone(),
                owner: current.owner.clone(),
                baseline: Some(Arc::new(unit)),
            });
        }
    }

    /// The block at `pc` of `code` has run `hot` times: compiles the warm segments no unit
    /// holds into a new unit, here or in the `background` (then [`Tiered::installs`] moves
    /// once it is in [`Tiered::compiled`]). Nothing when another thread is compiling this
    /// code (the caller goes on interpreting) or nothing new is warm. With `baseline`, the
    /// first tier-up also compiles the whole code with the baseline tier (hundreds of
    /// times faster than Cranelift; in the background, ahead of the tier-up, or here),
    /// which then runs what no unit holds.
    pub fn tier_up<H: Host>(
        self: &Arc<Self>,
        code: &Arc<Bytecode>,
        pc: usize,
        hot: u32,
        background: bool,
        baseline: bool,
    ) {
        if background && !background::has_room() {
            // The compiler is behind: drop this tier-up rather than queue without bound. The
            // block counts again from zero, so it asks again once the queue has drained.
            if let Some(heat) = self.heat.get(pc) {
                heat.store(0, Ordering::Relaxed);
            }
            return;
        }
        if baseline
            && crate::baseline::AVAILABLE
            && !self.baseline_tried.swap(true, Ordering::Relaxed)
        {
            if background {
                // Queued before the Cranelift tier-up below, so it lands first (hundreds of
                // times sooner), and the running thread never waits for it. Code evicted and
                // run by no one meanwhile is gone: nobody would run what it compiled.
                let (tiered, code) = (Arc::downgrade(self), Arc::downgrade(code));
                let compile: fn(&Tiered, &Bytecode, u32) = Tiered::add_baseline::<H>;
                background::submit(Box::new(move || {
                    if let (Some(tiered), Some(code)) = (tiered.upgrade(), code.upgrade()) {
                        compile(&tiered, &code, hot);
                    }
                }));
            } else {
                self.add_baseline::<H>(code, hot);
            }
        }
        let mut plan = match self.plan.try_lock() {
            Ok(plan) => plan,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        if plan.pending {
            // Unless the unit in flight has it, its turn comes when that unit is installed.
            if !plan.selected.get(pc).copied().unwrap_or(true) {
                plan.missed = true;
            }
            return;
        }
        let Some((added, last)) = self.select_warm(&mut plan, code, hot) else {
            return;
        };
        if !background {
            let unit = compile_added::<H>(self, code, &added);
            return self.finish_tier_up(&mut plan, unit, last, false);
        }
        plan.pending = true;
        let (added, replacing) = absorbing(&plan.selected, added);
        drop(plan);
        let (weak_tiered, weak_code) = (Arc::downgrade(self), Arc::downgrade(code));
        // Instantiated here, where the host type is known; the job only needs the pointer.
        let compile: CompileAdded = compile_added::<H>;
        background::submit(Box::new(move || {
            #[cfg(test)]
            let _held = background::hold_tier_ups();
            let (mut added, mut last, mut replacing) = (added, last, replacing);
            loop {
                // Evicted from the caches and run by no one: nobody would run the unit.
                let Some(tiered) = weak_tiered.upgrade() else {
                    return;
                };
                let Some(code) = weak_code.upgrade() else {
                    lock(&tiered.plan).pending = false;
                    return;
                };
                let unit = compile(&tiered, &code, &added);
                let mut plan = lock(&tiered.plan);
                tiered.finish_tier_up(&mut plan, unit, last, replacing);
                // Blocks that got hot while this compiled found the plan busy: their turn.
                let next = if std::mem::take(&mut plan.missed) {
                    tiered.select_warm(&mut plan, &code, hot)
                } else {
                    None
                };
                match next {
                    Some((more, more_last)) => {
                        (added, replacing) = absorbing(&plan.selected, more);
                        last = more_last;
                    }
                    None => {
                        plan.pending = false;
                        return;
                    }
                }
            }
        }));
    }

    /// Marks the warm segments no unit holds as selected and counts a tier-up: the segments
    /// (by start offset) and whether this is the last tier-up. `None` when tiering is over or
    /// nothing new is warm.
    fn select_warm(&self, plan: &mut Plan, code: &Bytecode, hot: u32) -> Option<(Vec<bool>, bool)> {
        if plan.complete || plan.tier_ups >= MAX_TIER_UPS {
            return None;
        }
        let last = plan.tier_ups + 1 == MAX_TIER_UPS;
        let threshold = if last { 1 } else { (hot / WARM_DIVISOR).max(1) };
        // An offset's heat is that of the block it lies in: blocks run whole unless they stop
        // the frame, so every segment inside a warm block ran as often.
        let blocks = code.blocks(self.spec);
        let mut covering = 0;
        let mut added = vec![false; plan.selected.len()];
        let mut any = false;
        for (pc, selected) in plan.selected.iter_mut().enumerate() {
            if blocks.at(pc).is_some() {
                covering = self.heat[pc].load(Ordering::Relaxed);
            }
            if !*selected && covering >= threshold {
                *selected = true;
                added[pc] = true;
                any = true;
            }
        }
        if !any {
            return None;
        }
        plan.tier_ups += 1;
        self.compiles.fetch_add(1, Ordering::Relaxed);
        Some((added, last))
    }

    /// Installs a tier-up's unit; after the last tier-up, or a failed one, the interpreter
    /// stops counting heat.
    fn finish_tier_up(
        &self,
        plan: &mut Plan,
        unit: Result<CompiledCode, CompileError>,
        last: bool,
        replacing: bool,
    ) {
        let failed = match unit {
            Ok(unit) => {
                self.install(unit, self.code.len(), replacing);
                false
            }
            Err(_) => {
                // Only over-long code fails, and that is never tiered; interpret from now on.
                plan.tier_ups = MAX_TIER_UPS;
                true
            }
        };
        if last || failed {
            self.profiling.store(false, Ordering::Relaxed);
        }
    }
}

/// What a background tier-up compiles, given the segments now `selected` of which `added` are
/// new, and whether its unit replaces the units before it. Off the running thread, one unit
/// holding every selected segment saves each jump between units its trip through the runner,
/// so the tier-up recompiles the older units' segments too, as long as they are no more
/// than the new ones: each recompilation at least doubles what is compiled, so all of them
/// together compile at most about twice the code that ends up native.
fn absorbing(selected: &[bool], added: Vec<bool>) -> (Vec<bool>, bool) {
    let count = |v: &[bool]| v.iter().filter(|s| **s).count();
    let new = count(&added);
    if count(selected) - new <= new {
        (selected.to_vec(), true)
    } else {
        (added, false)
    }
}

/// [`compile_added`] for one host type.
type CompileAdded = fn(&Tiered, &Bytecode, &[bool]) -> Result<CompiledCode, CompileError>;

/// Compiles the segments of `code` starting where `added` is set.
fn compile_added<H: Host>(
    tiered: &Tiered,
    code: &Bytecode,
    added: &[bool],
) -> Result<CompiledCode, CompileError> {
    let select = |start: usize| added.get(start).copied().unwrap_or(false);
    compile_selected::<H>(tiered.spec, code, tiered.options, Selection::Only(&select))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::tests::AnyHost;
    use nestedvm_interp::{Fork, Profile};

    /// `bytes` (EVM code) with no heat, its compilations counted in the returned counter.
    fn fresh(bytes: &[u8]) -> (Arc<Bytecode>, Arc<Tiered>, Arc<AtomicU64>) {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let code = Arc::new(Bytecode::new(bytes));
        let compiles = Arc::new(AtomicU64::new(0));
        let tiered = Arc::new(Tiered::new(
            spec,
            code.shared_code(),
            CompileOptions::default(),
            compiles.clone(),
        ));
        (code, tiered, compiles)
    }

    #[test]
    fn a_block_hot_while_a_unit_compiles_gets_a_tier_up_after_it_with_the_units_before() {
        // Two loops: a: JUMPDEST PUSH1 a JUMP at 0, b: the same at 4.
        let (code, tiered, compiles) = fresh(&[0x5b, 0x60, 0x00, 0x56, 0x5b, 0x60, 0x04, 0x56]);
        let hot = 32;
        let _queue = background::exclusive();
        let held = background::hold();
        tiered.heat[0].store(hot, Ordering::Relaxed);
        tiered.tier_up::<AnyHost>(&code, 0, hot, true, false);
        // `a` again (in the unit in flight), then `b`, get hot while `a`'s unit waits for the
        // compiler: only `b` makes another tier-up.
        tiered.tier_up::<AnyHost>(&code, 0, hot, true, false);
        assert!(!lock(&tiered.plan).missed);
        tiered.heat[4].store(hot, Ordering::Relaxed);
        tiered.tier_up::<AnyHost>(&code, 4, hot, true, false);
        assert_eq!(compiles.load(Ordering::Relaxed), 1, "one unit in flight");
        assert!(tiered.compiled().is_empty(), "nothing installed while held");
        assert_eq!(tiered.installs().load(Ordering::Relaxed), 0);
        drop(held);
        background::wait_idle();
        assert_eq!(compiles.load(Ordering::Relaxed), 2);
        assert_eq!(tiered.installs().load(Ordering::Relaxed), 2);
        let units = tiered.compiled();
        let (ua, a) = units.at(0).expect("a compiled");
        let (ub, b) = units.at(4).expect("b compiled");
        // Compiled with `a` again: one unit replaces `a`'s, so no jump crosses units.
        assert_eq!((ua, ub), (0, 0));
        assert!(std::ptr::eq(a, b));
        // Nothing is pending any more: the next hot block tiers up at once.
        assert!(!lock(&tiered.plan).pending);
    }

    #[test]
    fn a_background_tier_up_smaller_than_the_units_before_it_gets_a_unit_of_its_own() {
        // Three loops (JUMPDEST PUSH1 self JUMP) at 0, 4 and 8.
        let (code, tiered, compiles) = fresh(&[
            0x5b, 0x60, 0x00, 0x56, 0x5b, 0x60, 0x04, 0x56, 0x5b, 0x60, 0x08, 0x56,
        ]);
        let hot = 32;
        let _queue = background::exclusive();
        let held = background::hold();
        tiered.heat[0].store(hot, Ordering::Relaxed);
        tiered.heat[4].store(hot, Ordering::Relaxed);
        tiered.tier_up::<AnyHost>(&code, 0, hot, true, false);
        tiered.heat[8].store(hot, Ordering::Relaxed);
        tiered.tier_up::<AnyHost>(&code, 8, hot, true, false);
        drop(held);
        background::wait_idle();
        assert_eq!(compiles.load(Ordering::Relaxed), 2);
        let units = tiered.compiled();
        let owner = |pc| units.at(pc).map(|(i, _)| i);
        // One segment after two: recompiling them would more than double the work.
        assert_eq!((owner(0), owner(4), owner(8)), (Some(0), Some(0), Some(1)));
    }

    #[test]
    fn a_queued_tier_up_keeps_no_code_alive() {
        let (code, tiered, _) = fresh(&[0x5b, 0x60, 0x00, 0x56]);
        let hot = 32;
        let _queue = background::exclusive();
        let held = background::hold();
        tiered.heat[0].store(hot, Ordering::Relaxed);
        tiered.tier_up::<AnyHost>(&code, 0, hot, true, true);
        assert!(background::in_flight() >= 1, "queued");
        let (weak_tiered, weak_code) = (Arc::downgrade(&tiered), Arc::downgrade(&code));
        // The caches evict the code while its jobs wait: its analysis and heat are freed.
        drop((tiered, code));
        assert!(weak_tiered.upgrade().is_none() && weak_code.upgrade().is_none());
        drop(held);
        background::wait_idle();
    }

    #[test]
    fn a_full_queue_drops_tier_ups_and_the_block_counts_again() {
        let hot = 32;
        let _queue = background::exclusive();
        let held = background::hold();
        // Distinct codes, each hot in one loop: each asks for a tier-up.
        let codes: Vec<_> = (0..background::MAX_QUEUED + 4)
            .map(|k| fresh(&[0x5b, 0x60, 0x00, 0x56, 0x60, k as u8]))
            .collect();
        for (code, tiered, _) in &codes {
            tiered.heat[0].store(hot, Ordering::Relaxed);
            tiered.tier_up::<AnyHost>(code, 0, hot, true, false);
        }
        assert_eq!(background::in_flight(), background::MAX_QUEUED);
        let (code, tiered, compiles) = codes.last().expect("codes");
        // Dropped: nothing pending, the block's count back to zero to ask again later.
        assert!(!lock(&tiered.plan).pending);
        assert_eq!(tiered.heat[0].load(Ordering::Relaxed), 0);
        drop(held);
        background::wait_idle();
        assert_eq!(compiles.load(Ordering::Relaxed), 0);
        // With room again, the same block tiers up.
        tiered.heat[0].store(hot, Ordering::Relaxed);
        tiered.tier_up::<AnyHost>(code, 0, hot, true, false);
        background::wait_idle();
        assert_eq!(compiles.load(Ordering::Relaxed), 1);
        assert!(tiered.compiled().at(0).is_some());
    }
}
