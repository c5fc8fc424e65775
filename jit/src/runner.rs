//! Running a frame on compiled code: native code from every segment start it holds, the
//! interpreter wherever native code hands over (dynamic jumps, failed entry checks, segments
//! not compiled), and back to native code at the next block boundary where it can enter.
//! Under tiered compilation the interpreter counts the heat of the blocks it runs and
//! compiles the code around a block once it is hot, on this thread or in the background.

use crate::compile::CompiledCode;
use crate::context::{exit, JitContext};
use crate::tiered::{Tiered, Units};
use nestedvm_interp::instructions::InstructionTable;
use nestedvm_interp::interpreter::{end_of_run, run_probed, Probe};
use nestedvm_interp::{Frame, FrameAction, HaltReason, Host};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// When and how code tiers up under `auto` (see [`run_frame_tiered`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiering {
    /// Runs of a block before the code around it is compiled.
    pub hot: u32,
    /// Compile tier-ups on the background threads while the run goes on, rather than before.
    pub background: bool,
    /// From the first tier-up on, run the code no Cranelift unit holds on the baseline tier
    /// (compiled whole at that point, counting heat itself) rather than interpreting it.
    pub baseline: bool,
}

/// Runs `frame` until it finishes or needs the driver, like [`nestedvm_interp::run_frame`],
/// on whatever `tiered` has compiled of the frame's code, counting heat while interpreting
/// (or in baseline code) and tiering up when a block has run `tiering.hot` times. Sets
/// `native` when the frame ran with native code compiled for it (even if it stopped before
/// entering it).
pub fn run_frame_tiered<H: Host>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    tiered: &Arc<Tiered>,
    tiering: Tiering,
    native: &mut bool,
) -> FrameAction {
    let Tiering {
        hot,
        background,
        baseline,
    } = tiering;
    let hot = hot.max(1);
    let mut seen = tiered.installs().load(Ordering::Acquire);
    let mut units = tiered.compiled();
    *native |= !units.is_empty();
    if let Some(action) = frame.action.take() {
        return action;
    }
    // The unit native code last left, when it left at a segment start of its own: its entry
    // check failed there, so the interpreter takes that segment.
    let mut left = None;
    let deadline = host.deadline();
    loop {
        if deadline.passed() {
            // Native code leaves for the interpreter past the deadline, which halts the
            // frame; checked here too so that no way between units and tiers can skip it.
            frame.halt(HaltReason::Timeout);
            break;
        }
        if let Some((i, unit)) = units.at(frame.pc) {
            if left != Some(i) {
                *native = true;
                match enter(frame, host, table, unit) {
                    exit::STOPPED => break,
                    exit::YIELD => {
                        // Baseline code counted a block hot, or polls for newer units.
                        let pc = frame.pc;
                        let heat = tiered.heat().and_then(|h| h.get(pc));
                        if heat.is_some_and(|n| n.load(Ordering::Relaxed) == hot) {
                            tiered.tier_up::<H>(&frame.code, pc, hot, background, baseline);
                        }
                        take_newer(tiered, &mut seen, &mut units);
                        left = None;
                        continue;
                    }
                    // A jump to a segment of another unit comes back here and enters it.
                    _ => left = Some(i),
                }
                continue;
            }
        }
        left = None;
        let mut watch = Watch {
            units: (!units.is_empty()).then_some(&*units),
            heat: tiered.heat(),
            hot,
            installs: (tiered.installs(), seen),
            fired: false,
            stale: false,
        };
        if run_probed(frame, host, table, &mut watch) {
            break;
        }
        let (fired, stale) = (watch.fired, watch.stale);
        if fired {
            tiered.tier_up::<H>(&frame.code, frame.pc, hot, background, baseline);
        }
        if fired || stale {
            take_newer(tiered, &mut seen, &mut units);
        }
        *native |= !units.is_empty();
    }
    end_of_run(frame)
}

/// Takes the code's newer units when any were installed since `seen` (read before `units`).
fn take_newer(tiered: &Tiered, seen: &mut u32, units: &mut Arc<Units>) {
    let now = tiered.installs().load(Ordering::Acquire);
    if now != *seen {
        *seen = now;
        *units = tiered.compiled();
    }
}

/// The interpreter's probe: stops where native code can take over, where a block has just
/// become hot, and now and then (every 1024 runs of a block) once a unit compiled in the
/// background is installed.
struct Watch<'a> {
    units: Option<&'a Units>,
    heat: Option<&'a [AtomicU32]>,
    hot: u32,
    /// The code's install count, and its value when `units` was read.
    installs: (&'a AtomicU32, u32),
    fired: bool,
    stale: bool,
}

impl Probe for Watch<'_> {
    #[inline(always)]
    fn at_boundary(&mut self, pc: usize) -> bool {
        if self.units.is_some_and(|u| u.at(pc).is_some()) {
            return true;
        }
        if let Some(count) = self.heat.and_then(|h| h.get(pc)) {
            let n = count.load(Ordering::Relaxed).saturating_add(1);
            count.store(n, Ordering::Relaxed);
            if n == self.hot {
                self.fired = true;
                return true;
            }
            if n % 1024 == 0 && self.installs.0.load(Ordering::Relaxed) != self.installs.1 {
                self.stale = true;
                return true;
            }
        }
        false
    }
}

/// Runs native code from `frame.pc` and writes its state back to the frame.
fn enter<H: Host>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    code: &CompiledCode,
) -> u32 {
    let mut ctx = JitContext::from_frame(frame, host, table);
    let pc = frame.pc as u64;
    // SAFETY: the code was compiled for this frame's code, spec and host type; the context
    // points at live, exclusive state for the duration of the call, and builtins never let a
    // panic unwind through native code.
    let result = unsafe { (code.entry())(&mut ctx, pc) };
    // SAFETY: native code and builtins keep `stack_len` at a height whose items are written.
    unsafe { ctx.write_back(frame) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::background;
    use crate::compile::tests::AnyHost;
    use crate::compile::CompileOptions;
    use nestedvm_interp::{Bytecode, Fork, Profile, Spec, Status, U256};
    use std::sync::atomic::AtomicU64;

    fn evm() -> &'static Spec {
        Spec::get(Profile::Evm, Fork::Osaka, false)
    }

    fn frame(code: &Arc<Bytecode>, gas: u64) -> Frame {
        crate::compile::tests::test_frame(code.clone(), gas)
    }

    /// The word a finished frame returned (its first 32 bytes).
    fn returned(action: FrameAction) -> U256 {
        match action {
            FrameAction::Return(r) => {
                assert_eq!(r.status, Status::Success, "{r:?}");
                U256::from_big_endian(&r.output)
            }
            other => panic!("not finished: {other:?}"),
        }
    }

    /// A loop counting `n` down to 0 in the block at offset 3, returning the count of
    /// iterations kept in memory word 0.
    fn countdown(n: u16) -> Vec<u8> {
        let [hi, lo] = n.to_be_bytes();
        vec![
            0x61, hi, lo,   // PUSH2 n
            0x5b, // 3: JUMPDEST
            0x5f, 0x51, 0x60, 0x01, 0x01, 0x5f, 0x52, // MLOAD(0) + 1 -> MSTORE(0)
            0x60, 0x01, 0x90, 0x03, // n - 1
            0x80, 0x60, 0x03, 0x57, // DUP1 PUSH1 3 JUMPI
            0x60, 0x20, 0x5f, 0xf3, // RETURN(0, 32)
        ]
    }

    #[test]
    fn baseline_code_counts_no_heat_past_the_codes_end() {
        // PUSH1 1: its segment falls through to a STOP segment at offset 2, the code's end.
        let code = Bytecode::new(&[0x60, 0x01]);
        let counters: Vec<AtomicU32> = (0..3).map(|_| AtomicU32::new(0)).collect();
        // SAFETY: `counters` outlives the unit.
        let unit = unsafe {
            crate::baseline::compile_counting::<AnyHost>(evm(), &code, &counters[..2], 1000, false)
        }
        .expect("compiles");
        assert!(unit.is_entry(2), "a segment starts at the code's end");
        let code = Arc::new(code);
        let mut f = frame(&code, 1000);
        let table = InstructionTable::<AnyHost>::new(evm());
        assert_eq!(enter(&mut f, &mut AnyHost, &table, &unit), exit::STOPPED);
        assert_eq!(counters[0].load(Ordering::Relaxed), 1);
        // The third counter is past the slice the code was given: nothing wrote it.
        assert_eq!(counters[2].load(Ordering::Relaxed), 0);
    }

    #[test]
    fn auto_runs_baseline_code_while_cranelift_compiles_then_takes_the_unit() {
        let code = Arc::new(Bytecode::new(&countdown(5000)));
        let tiered = Arc::new(Tiered::new(
            evm(),
            code.shared_code(),
            CompileOptions::default(),
            Arc::new(AtomicU64::new(0)),
        ));
        let table = InstructionTable::<AnyHost>::new(evm());
        let tiering = Tiering {
            hot: 64,
            background: true,
            baseline: true,
        };
        // Cranelift's tier-up is held: the loop gets hot, the baseline tier compiles in the
        // background ahead of it, and the run goes on in the interpreter until it lands, then
        // in baseline code.
        let _queue = background::exclusive();
        let held = background::hold_tier_ups();
        let mut f = frame(&code, 10_000_000);
        let mut native = false;
        let action = run_frame_tiered(&mut f, &mut AnyHost, &table, &tiered, tiering, &mut native);
        assert_eq!(returned(action), U256::from(5000));
        let landed = std::time::Instant::now();
        while !tiered.compiled().has_baseline() {
            assert!(
                landed.elapsed().as_secs() < 60,
                "the baseline unit never landed"
            );
            std::thread::yield_now();
        }
        // A second run takes baseline code from its start.
        let mut f = frame(&code, 10_000_000);
        native = false;
        let action = run_frame_tiered(&mut f, &mut AnyHost, &table, &tiered, tiering, &mut native);
        assert_eq!(returned(action), U256::from(5000));
        assert!(native, "baseline code ran");
        let units = tiered.compiled();
        assert!(units.has_baseline());
        // The interpreter counted the first run's loop, baseline code the second's.
        assert!(tiered.counters()[3].load(Ordering::Relaxed) >= 2 * 5000 - 1);
        // The baseline's index is past the units': none yet.
        assert_eq!(units.at(3).map(|(i, _)| i), Some(0));
        drop(held);
        background::wait_idle();
        // The Cranelift unit holds the loop now, and a run entering baseline code at 0 goes
        // over to it when its loop yields (every 1024 counts): the loop's block then counts
        // no more than about that many runs.
        let units = tiered.compiled();
        assert_eq!(units.at(3).map(|(i, _)| i), Some(0));
        assert!(!std::ptr::eq(
            units.at(3).map(|(_, u)| u).expect("compiled"),
            units.at(0).map(|(_, u)| u).expect("baseline")
        ));
        let before = tiered.counters()[3].load(Ordering::Relaxed);
        let mut f = frame(&code, 10_000_000);
        let action = run_frame_tiered(&mut f, &mut AnyHost, &table, &tiered, tiering, &mut native);
        assert_eq!(returned(action), U256::from(5000));
        let counted = tiered.counters()[3].load(Ordering::Relaxed) - before;
        assert!(counted <= 1025, "baseline kept the loop for {counted} runs");
    }
}
