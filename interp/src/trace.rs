//! Step tracing: a frame run one checked instruction at a time, each instruction reported
//! with the state it ran in and what it cost, as EIP-3155 traces need.
//!
//! Traced runs take this loop instead of the block runner ([`crate::interpreter`]): the block
//! runner charges a block's static gas on entry, so its gas figures are exact only at block
//! boundaries. Both loops run the same instruction functions with the same checks
//! (`step_checked`), so a traced run ends as an untraced one does; the untraced loop has no
//! trace hook, so tracing off costs nothing.

use crate::frame::{Frame, FrameAction, HaltReason, Status};
use crate::host::Host;
use crate::instructions::InstructionTable;
use crate::interpreter::{end_of_run, step_checked};
use crate::U256;

/// How an instruction failed, for a step's `error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepError {
    /// It halted the frame, all its gas consumed.
    Halt(HaltReason),
    /// It reverted the frame (REVERT, or a `hyvm` refusal that reverts as the chain does).
    Revert,
}

/// One instruction as it ran: the frame's state before it, and its cost.
#[derive(Clone, Copy, Debug)]
pub struct StepView<'a> {
    /// Offset of the instruction (a guest offset in `hyvm`).
    pub pc: usize,
    /// Its opcode.
    pub op: u8,
    /// Gas left before it.
    pub gas: u64,
    /// Gas it took: what it charged the frame, the gas it gave a callee included. A halting
    /// instruction is charged what it had charged before it failed (the frame then loses
    /// the rest of its gas as it ends).
    pub gas_cost: u64,
    /// The stack before it, bottom first.
    pub stack: &'a [U256],
    /// Memory size before it, in bytes (the guest's `MSIZE` in `hyvm`).
    pub mem_size: usize,
    /// Return data of the frame's last call before it.
    pub return_data: &'a [u8],
    /// The frame's refund counter before it.
    pub refund: i64,
    /// How it failed, when it ended the frame with a failure.
    pub error: Option<StepError>,
}

/// Receives the steps of a traced run.
pub trait StepTracer {
    /// Called after each instruction (a step that ends the frame included).
    fn step(&mut self, step: &StepView<'_>);
}

/// Runs `frame` like [`crate::run_frame`], one instruction at a time, reporting each to
/// `tracer`. Resume a suspended frame and call this again, as with [`crate::run_frame`].
pub fn run_traced<H: Host, T: StepTracer + ?Sized>(
    frame: &mut Frame,
    host: &mut H,
    table: &InstructionTable<H>,
    tracer: &mut T,
) -> FrameAction {
    if let Some(action) = frame.action.take() {
        // Resumed into an ending (the verifier refused a call): no instruction runs.
        return action;
    }
    let code = frame.code.clone();
    let bytes = code.padded();
    let deadline = host.deadline();
    // One buffer for the stack's copies, reused step after step.
    let mut stack = Vec::with_capacity(frame.stack.len());
    loop {
        if deadline.passed() {
            frame.halt(HaltReason::Timeout);
            break;
        }
        let (pc, gas) = (frame.pc, frame.gas.remaining);
        stack.clear();
        stack.extend_from_slice(frame.stack.as_slice());
        let mem_size = frame.memory.guest_size();
        let refund = frame.gas.refund;
        let op = bytes[pc];
        let exited = step_checked(frame, host, table, bytes);
        let (gas_cost, error) = match &frame.action {
            Some(FrameAction::Return(result)) if exited => match result.status {
                Status::Success => (gas - result.gas.remaining, None),
                Status::Revert => (gas - result.gas.remaining, Some(StepError::Revert)),
                // A halt takes all the frame's gas at once: the step's own cost is its static
                // gas when it could pay that (what failed came after), else nothing.
                Status::Halt => {
                    let static_gas = frame.spec.static_gas[op as usize];
                    let cost = if gas >= static_gas { static_gas } else { 0 };
                    let reason = result.reason.unwrap_or(HaltReason::InvalidOpcode);
                    (cost, Some(StepError::Halt(reason)))
                }
            },
            _ => (gas.saturating_sub(frame.gas.remaining), None),
        };
        tracer.step(&StepView {
            pc,
            op,
            gas,
            gas_cost,
            stack: &stack,
            mem_size,
            // An instruction never changes the return data: a call's arrives when the frame
            // is resumed, after its step.
            return_data: &frame.return_data,
            refund,
            error,
        });
        if exited {
            break;
        }
    }
    end_of_run(frame)
}
