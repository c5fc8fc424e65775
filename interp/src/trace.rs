//! Step tracing: a frame run one checked instruction at a time, each instruction reported
//! with the state it ran in and what it cost, as EIP-3155 traces need.
//!
//! Traced runs take this loop instead of the block runner ([`crate::interpreter`]): the block
//! runner charges a block's static gas on entry, so its gas figures are exact only at block
//! boundaries. Both loops run the same instruction functions with the same checks
//! (`step_checked`), so a traced run ends as an untraced one does; the untraced loop has no
//! trace hook, so tracing off costs nothing.

use crate::frame::{Frame, FrameAction, HaltReason, Status};
use crate::gas;
use crate::host::Host;
use crate::instructions::InstructionTable;
use crate::interpreter::{end_of_run, step_checked};
use crate::opcode::{self, *};
use crate::spec::Spec;
use crate::{Fork, MAX_INITCODE_SIZE, U256};

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
    /// Gas it took: what it charged the frame, the gas it gave a callee included (a call's
    /// stipend excluded, as it is free). For an instruction that halted its frame, which then
    /// loses all its gas, a convention: in `evm` revm's (see `halted_cost`).
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
                // A halt takes all the frame's gas at once, so what the step itself cost is
                // a convention: see `halted_cost`.
                Status::Halt => {
                    let reason = result.reason.unwrap_or(HaltReason::InvalidOpcode);
                    let cost = halted_cost(
                        frame.spec,
                        &Failed {
                            op,
                            stack: &stack,
                            gas,
                            mem_size,
                            return_data: frame.return_data.len(),
                            is_static: frame.context.is_static,
                            reason,
                        },
                    );
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

/// A step that halted its frame, as the trace saw it before it ran.
struct Failed<'a> {
    op: u8,
    stack: &'a [U256],
    gas: u64,
    mem_size: usize,
    return_data: usize,
    is_static: bool,
    reason: HaltReason,
}

/// The `gasCost` of a step that halted its frame.
///
/// In `hyvm`, the step's static gas when it could pay that, else nothing. In `evm` it is what
/// revm 43's EIP-3155 tracer reports, so that the two traces are equal step for step: the gas
/// revm had taken when it found the failure, and all the gas left when the failure was a
/// charge it could not pay (revm's `OutOfGas` takes the frame's gas at once; its other
/// failures, an unaffordable memory expansion or an operand over 64 bits among them, leave it
/// to the frame's ending). What revm has taken by then depends on the order in which it
/// charges and checks, which differs from ours (it charges CREATE's 32000 after the memory,
/// the warm access of calls and account reads first, each LOG topic with its data, and an
/// opcode of a later fork its static gas before refusing it): [`revm_charges`] replays that
/// order, from the stack before the step, up to the first failure.
fn halted_cost(spec: &Spec, failed: &Failed<'_>) -> u64 {
    if spec.is_hyvm() {
        let static_gas = spec.static_gas[failed.op as usize];
        return if failed.gas >= static_gas {
            static_gas
        } else {
            0
        };
    }
    let mut meter = Meter {
        gas: failed.gas,
        charged: 0,
        words: failed.mem_size as u64 / 32,
        stack: failed.stack,
    };
    match revm_charges(spec.fork, failed, &mut meter) {
        Err(cost) => cost,
        // Nothing replayed fails: what failed is a later charge, whose cost is host state
        // (a cold account or slot, a new account, SSTORE), and revm's out-of-gas takes all.
        Ok(()) if failed.reason == HaltReason::OutOfGas => failed.gas,
        Ok(()) => meter.charged,
    }
}

/// Gas as revm takes it during one instruction; each method fails with the step's `gasCost`.
struct Meter<'a> {
    gas: u64,
    charged: u64,
    /// Memory size in words.
    words: u64,
    /// The stack not yet popped, bottom first.
    stack: &'a [U256],
}

impl Meter<'_> {
    /// A charge: revm's out-of-gas takes all the gas.
    fn charge(&mut self, cost: u64) -> Result<(), u64> {
        if self.gas - self.charged < cost {
            return Err(self.gas);
        }
        self.charged += cost;
        Ok(())
    }

    /// A check that fails without taking more gas.
    fn require(&self, ok: bool) -> Result<(), u64> {
        if ok {
            Ok(())
        } else {
            Err(self.charged)
        }
    }

    /// Pops `n` words, top first.
    fn pop<const N: usize>(&mut self) -> Result<[U256; N], u64> {
        let len = self.stack.len();
        self.require(len >= N)?;
        let mut words = [U256::zero(); N];
        for (i, w) in words.iter_mut().enumerate() {
            *w = self.stack[len - 1 - i];
        }
        self.stack = &self.stack[..len - N];
        Ok(words)
    }

    /// An operand that must fit 64 bits (revm: `InvalidOperandOOG`).
    fn operand(&self, v: &U256) -> Result<u64, u64> {
        if v.bits() > 64 {
            return Err(self.charged);
        }
        Ok(v.low_u64())
    }

    /// Memory grown to hold `[offset, offset + len)`; an expansion it cannot pay fails
    /// without taking the rest (revm: `MemoryOOG`).
    fn memory(&mut self, offset: u64, len: u64) -> Result<(), u64> {
        let words = gas::words(offset.saturating_add(len));
        if words > self.words {
            let cost = gas::memory_cost(words) - gas::memory_cost(self.words);
            if self.gas - self.charged < cost {
                return Err(self.charged);
            }
            self.charged += cost;
            self.words = words;
        }
        Ok(())
    }

    /// A length operand, then (when not zero) its offset operand and the memory they span;
    /// `between` runs after the length is read and before the offset is.
    fn range(
        &mut self,
        offset: &U256,
        len: &U256,
        between: impl FnOnce(&mut Self, u64) -> Result<(), u64>,
    ) -> Result<(), u64> {
        let len = self.operand(len)?;
        between(self, len)?;
        if len != 0 {
            let offset = self.operand(offset)?;
            self.memory(offset, len)?;
        }
        Ok(())
    }
}

/// revm's static gas of `op` at our forks (Berlin and later): its table charges the warm
/// access of account and slot reads and calls up front, one LOG's base without its topics,
/// and nothing for CREATE and CREATE2, whose costs come later; it knows four opcodes of a
/// fork after ours.
fn revm_static_gas(op: u8) -> u64 {
    match op {
        BALANCE | EXTCODESIZE | EXTCODECOPY | EXTCODEHASH | SLOAD | CALL | CALLCODE
        | DELEGATECALL | STATICCALL => gas::WARM_ACCESS,
        LOG0..=LOG4 => 375,
        CREATE | CREATE2 => 0,
        // SLOTNUM, then DUPN, SWAPN and EXCHANGE (EIP-7843, EIP-8024).
        0x4b => 2,
        0xe6..=0xe8 => 3,
        _ => opcode::info(op).map_or(0, |info| u64::from(info.base_gas)),
    }
}

/// Whether revm runs `op` at `fork` past its first checks: an opcode of a later fork is
/// refused once its static gas is taken.
fn revm_runs(op: u8, fork: Fork) -> bool {
    match op {
        0x4b | 0xe6..=0xe8 => false,
        _ => opcode::info(op).is_some_and(|info| info.since <= fork),
    }
}

/// Replays what revm charges and checks running `failed.op`, in its order, as far as the
/// stack before the step decides it: `Err` with the step's cost at the first failure, `Ok`
/// when none of these fails.
fn revm_charges(fork: Fork, failed: &Failed<'_>, m: &mut Meter<'_>) -> Result<(), u64> {
    let op = failed.op;
    m.charge(revm_static_gas(op))?;
    m.require(revm_runs(op, fork))?;
    let copy = |len: u64| gas::words(len).saturating_mul(gas::COPY_WORD);
    match op {
        KECCAK256 => {
            let [offset, len] = m.pop()?;
            m.range(&offset, &len, |m, n| {
                m.charge(gas::words(n).saturating_mul(gas::KECCAK_WORD))
            })
        }
        CALLDATACOPY | CODECOPY => {
            let [dest, _, len] = m.pop()?;
            m.range(&dest, &len, |m, n| m.charge(copy(n)))
        }
        EXTCODECOPY => {
            let [_, dest, _, len] = m.pop()?;
            m.range(&dest, &len, |m, n| m.charge(copy(n)))
        }
        RETURNDATACOPY => {
            let [dest, from, len] = m.pop()?;
            let start = if from.bits() > 64 {
                u64::MAX
            } else {
                from.low_u64()
            };
            let available = failed.return_data as u64;
            m.range(&dest, &len, |m, n| {
                m.require(start.saturating_add(n) <= available)?;
                m.charge(copy(n))
            })
        }
        MLOAD | MSTORE | MSTORE8 => {
            let offset = if op == MLOAD {
                m.pop::<1>()?[0]
            } else {
                m.pop::<2>()?[0]
            };
            let offset = m.operand(&offset)?;
            m.memory(offset, if op == MSTORE8 { 1 } else { 32 })
        }
        MCOPY => {
            let [dest, src, len] = m.pop()?;
            let len = m.operand(&len)?;
            m.charge(copy(len))?;
            if len != 0 {
                let (dest, src) = (m.operand(&dest)?, m.operand(&src)?);
                m.memory(dest.max(src), len)?;
            }
            Ok(())
        }
        LOG0..=LOG4 => {
            m.require(!failed.is_static)?;
            let topics = u64::from(op - LOG0);
            let [offset, len] = m.pop()?;
            m.range(&offset, &len, |m, n| {
                m.charge((375 * topics).saturating_add(n.saturating_mul(gas::LOG_DATA)))
            })?;
            m.require(m.stack.len() as u64 >= topics)
        }
        CREATE | CREATE2 => {
            m.require(!failed.is_static)?;
            let [_, offset, len] = m.pop()?;
            m.range(&offset, &len, |m, n| {
                m.require(n <= MAX_INITCODE_SIZE as u64)?;
                m.charge(gas::words(n) * gas::INITCODE_WORD)
            })?;
            let len = len.low_u64();
            if op == CREATE2 {
                m.pop::<1>()?;
                m.charge(32000 + gas::words(len) * gas::KECCAK_WORD)
            } else {
                m.charge(32000)
            }
        }
        CALL | CALLCODE | DELEGATECALL | STATICCALL => {
            if matches!(op, CALL | CALLCODE) {
                let [_, _, value] = m.pop()?;
                m.require(!(op == CALL && failed.is_static && !value.is_zero()))?;
            } else {
                m.pop::<2>()?;
            }
            let [in_offset, in_len, out_offset, out_len] = m.pop()?;
            m.range(&in_offset, &in_len, |_, _| Ok(()))?;
            m.range(&out_offset, &out_len, |_, _| Ok(()))
        }
        RETURN | REVERT => {
            let [offset, len] = m.pop()?;
            m.range(&offset, &len, |_, _| Ok(()))
        }
        SSTORE => {
            m.require(!failed.is_static)?;
            m.pop::<2>()?;
            // EIP-2200's guard: revm refuses the store before charging it.
            m.require(m.gas - m.charged > gas::SSTORE_STIPEND_GUARD)
        }
        TSTORE | SELFDESTRUCT => {
            m.require(!failed.is_static)?;
            if op == TSTORE {
                m.pop::<2>().map(drop)
            } else {
                m.pop::<1>().map(drop)
            }
        }
        _ => {
            let inputs = opcode::info(op).map_or(0, |info| info.inputs) as usize;
            m.require(m.stack.len() >= inputs)
        }
    }
}
