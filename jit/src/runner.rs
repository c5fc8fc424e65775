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
use nestedvm_interp::{Frame, FrameAction, Host};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Runs `frame` until it finishes or needs the driver, like [`nestedvm_interp::run_frame`],
/// on whatever `tiered` has compiled of the frame's code, counting heat while interpreting
/// and tiering up when a block has run `hot` times (compiling in the `background` or before
/// going on). Sets `native` when the frame ran with native code compiled for it (even if it
/// stopped before entering it).
pub fn run_frame_tiered<H: Host>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    tiered: &Arc<Tiered>,
    hot: u32,
    background: bool,
    native: &mut bool,
) -> FrameAction {
    let mut seen = tiered.installs().load(Ordering::Acquire);
    let mut units = tiered.compiled();
    *native |= !units.is_empty();
    if let Some(action) = frame.action.take() {
        return action;
    }
    // The unit native code last left, when it left at a segment start of its own: its entry
    // check failed there, so the interpreter takes that segment.
    let mut left = None;
    loop {
        if let Some((i, unit)) = units.at(frame.pc) {
            if left != Some(i) {
                *native = true;
                if enter(frame, host, table, unit) == exit::STOPPED {
                    break;
                }
                // A jump to a segment of another unit comes back here and enters it.
                left = Some(i);
                continue;
            }
        }
        left = None;
        let mut watch = Watch {
            units: (!units.is_empty()).then_some(&*units),
            heat: tiered.heat(),
            hot: hot.max(1),
            installs: (tiered.installs(), seen),
            fired: false,
            stale: false,
        };
        if run_probed(frame, host, table, &mut watch) {
            break;
        }
        let (fired, stale) = (watch.fired, watch.stale);
        if fired {
            tiered.tier_up::<H>(&frame.code, frame.pc, hot, background);
        }
        if fired || stale {
            seen = tiered.installs().load(Ordering::Acquire);
            units = tiered.compiled();
        }
        *native |= !units.is_empty();
    }
    end_of_run(frame)
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
    let (stack, stack_len) = frame.stack.raw_parts();
    let mut ctx = JitContext {
        stack: stack as *mut u64,
        stack_len: stack_len as u64,
        gas: frame.gas.remaining,
        memory: frame.memory.as_mut_ptr(),
        memory_len: frame.memory.len() as u64,
        memory_cap: crate::builtins::native_room(frame),
        pc: frame.pc as u64,
        frame: frame as *mut Frame,
        host: host as *mut H as *mut (),
        table: table as *const InstructionTable<H> as *const (),
        callers_pinned: 0,
        scratch: [0; 12],
    };
    let pc = frame.pc as u64;
    // SAFETY: the code was compiled for this frame's code, spec and host type; the context
    // points at live, exclusive state for the duration of the call, and builtins never let a
    // panic unwind through native code.
    let result = unsafe { (code.entry())(&mut ctx, pc) };
    // SAFETY: native code and builtins keep `stack_len` at a height whose items are written.
    unsafe { frame.stack.set_len(ctx.stack_len as usize) };
    crate::builtins::sync_in(&ctx, frame);
    frame.pc = ctx.pc as usize;
    result
}
