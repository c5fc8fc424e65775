//! One call frame's state, and what a frame hands back to the driver: a finished result, or a
//! request to run a call or a create first. Calls never recurse on the native stack: the driver
//! keeps the frames and resumes the caller with the callee's outcome.

use crate::analysis::Bytecode;
use crate::cause::{Cause, CauseKind};
use crate::memory::Memory;
use crate::spec::Spec;
use crate::stack::Stack;
use crate::{Address, U256};
use std::fmt;
use std::sync::Arc;

/// How a frame ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// STOP, RETURN, or running off the end.
    Success,
    /// REVERT (and, in `hyvm`, the hypervisor's own `revert(0,0)` cases): remaining gas is kept.
    Revert,
    /// Exceptional halt: all gas is consumed.
    Halt,
}

impl Status {
    /// The name used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Revert => "revert",
            Status::Halt => "halt",
        }
    }
}

/// Why a frame halted exceptionally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HaltReason {
    /// Not enough gas.
    OutOfGas,
    /// Memory would grow past the engine's limit.
    MemoryLimit,
    /// Too few stack items.
    StackUnderflow,
    /// More than 1024 stack items.
    StackOverflow,
    /// A jump to a byte that is not a JUMPDEST (`evm`).
    InvalidJump,
    /// An opcode not assigned at this fork (`evm`).
    InvalidOpcode,
    /// The designated INVALID opcode (0xFE).
    Invalid,
    /// A state change inside a static call.
    StateChangeDuringStaticCall,
    /// RETURNDATACOPY past the return data.
    ReturnDataOutOfBounds,
    /// CREATE/CREATE2 init code longer than EIP-3860 allows.
    InitcodeTooLarge,
    /// CREATE/CREATE2 to an address that already has code or a nonce.
    CreateCollision,
    /// Deployed code longer than EIP-170 allows.
    CodeSizeLimit,
    /// Deployed code starting with 0xEF (EIP-3541).
    InvalidCodePrefix,
    /// A precompile rejected its input or ran out of gas.
    PrecompileFailure,
    /// The creator's nonce would overflow.
    NonceOverflow,
    /// An engine bug caught at a JIT boundary: the frame ends instead of the process.
    Internal,
    /// The run's wall-clock deadline passed ([`crate::deadline`]): the whole run ends here,
    /// not only the frame that was running.
    Timeout,
}

impl HaltReason {
    /// The snake-case name used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            HaltReason::OutOfGas => "out_of_gas",
            HaltReason::Internal => "internal_error",
            HaltReason::MemoryLimit => "memory_limit",
            HaltReason::StackUnderflow => "stack_underflow",
            HaltReason::StackOverflow => "stack_overflow",
            HaltReason::InvalidJump => "invalid_jump",
            HaltReason::InvalidOpcode => "invalid_opcode",
            HaltReason::Invalid => "invalid",
            HaltReason::StateChangeDuringStaticCall => "state_change_during_static_call",
            HaltReason::ReturnDataOutOfBounds => "return_data_out_of_bounds",
            HaltReason::InitcodeTooLarge => "initcode_too_large",
            HaltReason::CreateCollision => "create_collision",
            HaltReason::CodeSizeLimit => "code_size_limit",
            HaltReason::InvalidCodePrefix => "invalid_code_prefix",
            HaltReason::PrecompileFailure => "precompile_failure",
            HaltReason::NonceOverflow => "nonce_overflow",
            HaltReason::Timeout => "timeout",
        }
    }
}

impl fmt::Display for HaltReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Gas of a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gas {
    /// What the frame was given.
    pub limit: u64,
    /// What is left.
    pub remaining: u64,
    /// Refund counter (may go negative inside a frame).
    pub refund: i64,
}

impl Gas {
    /// A fresh gas counter.
    pub fn new(limit: u64) -> Self {
        Gas {
            limit,
            remaining: limit,
            refund: 0,
        }
    }

    /// Charges `cost`, returning false (and charging nothing) when there is not enough.
    #[inline(always)]
    pub fn charge(&mut self, cost: u64) -> bool {
        match self.remaining.checked_sub(cost) {
            Some(r) => {
                self.remaining = r;
                true
            }
            None => false,
        }
    }
}

/// The message a frame runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallContext {
    /// Account whose storage, balance and logs the frame uses (ADDRESS).
    pub address: Address,
    /// CALLER.
    pub caller: Address,
    /// CALLVALUE.
    pub value: U256,
    /// Read-only (STATICCALL rules).
    pub is_static: bool,
    /// Call depth, 0 for the top frame.
    pub depth: usize,
}

/// The four call opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// CALL.
    Call,
    /// CALLCODE.
    CallCode,
    /// DELEGATECALL.
    DelegateCall,
    /// STATICCALL.
    StaticCall,
}

/// A call the frame asks the driver to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallInputs {
    /// Which opcode.
    pub kind: CallKind,
    /// Whose code runs.
    pub code_address: Address,
    /// Whose storage and balance the callee uses (ADDRESS in the callee).
    pub address: Address,
    /// CALLER in the callee.
    pub caller: Address,
    /// CALLVALUE in the callee.
    pub value: U256,
    /// Whether `value` moves from `caller` to `address` (CALL and CALLCODE).
    pub transfers_value: bool,
    /// Call data.
    pub input: Vec<u8>,
    /// Gas given to the callee (stipend included).
    pub gas_limit: u64,
    /// The callee runs read-only.
    pub is_static: bool,
    /// Depth of the callee.
    pub depth: usize,
}

/// The two create opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CreateKind {
    /// CREATE: address from (creator, nonce).
    Create,
    /// CREATE2: address from (creator, salt, init code hash).
    Create2 {
        /// The salt.
        salt: U256,
    },
}

/// A create the frame asks the driver to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateInputs {
    /// Which opcode.
    pub kind: CreateKind,
    /// The creating account.
    pub caller: Address,
    /// Endowment.
    pub value: U256,
    /// Init code.
    pub init_code: Vec<u8>,
    /// Gas given to the init code.
    pub gas_limit: u64,
    /// Depth of the new frame.
    pub depth: usize,
}

/// How a frame ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameResult {
    /// Success, revert or halt.
    pub status: Status,
    /// Why it halted, for `Status::Halt`.
    pub reason: Option<HaltReason>,
    /// Return or revert data.
    pub output: Vec<u8>,
    /// Gas at the end (remaining is 0 after a halt; refund is 0 unless success).
    pub gas: Gas,
    /// Why the hypervisor reverted the frame, when it did rather than the guest
    /// ([`Frame::refuse`]).
    pub cause: Option<Cause>,
}

/// What a frame hands to the driver when it stops running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameAction {
    /// The frame is finished.
    Return(FrameResult),
    /// Run this call, then resume the frame with [`Frame::resume_call`].
    Call(CallInputs),
    /// Run this create, then resume the frame with [`Frame::resume_create`].
    Create(CreateInputs),
}

/// The outcome of a call or create, as the caller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    /// How the callee ended.
    pub status: Status,
    /// Its output (return or revert data).
    pub output: Vec<u8>,
    /// Gas the callee did not use, returned to the caller.
    pub gas_remaining: u64,
    /// Refund the callee earned (counted only on success).
    pub refund: i64,
    /// For a successful create, the new account.
    pub created: Option<Address>,
    /// Why the hypervisor reverted the callee, when it did: a guest's refusal, or a call to
    /// the hypervisor itself. The caller's semantics never read it; it is for reports.
    pub cause: Option<Cause>,
}

/// Where the verifier build's call guard stands for the instruction at `pc`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Guard {
    /// No guard pending.
    #[default]
    None,
    /// The verifier has been asked; its answer resumes the frame.
    AwaitingVerdict,
    /// The verifier allowed the call: the instruction runs without asking again.
    Approved,
}

/// One call frame: everything an engine needs to run or resume it.
#[derive(Debug)]
pub struct Frame {
    /// Semantics.
    pub spec: &'static Spec,
    /// The code being run and its analysis.
    pub code: Arc<Bytecode>,
    /// Offset of the next instruction.
    pub pc: usize,
    /// Operand stack.
    pub stack: Stack,
    /// Host memory.
    pub memory: Memory,
    /// Gas counters.
    pub gas: Gas,
    /// Output of the last call or create.
    pub return_data: Vec<u8>,
    /// Call data (empty for a `hyvm` guest).
    pub input: Vec<u8>,
    /// The message.
    pub context: CallContext,
    /// Where a pending call's output goes in host memory (offset, length).
    pub pending_return: (usize, usize),
    /// Set by the instruction that stops the frame.
    pub action: Option<FrameAction>,
    /// The verifier build's call guard.
    pub guard: Guard,
    /// Host memory this frame may grow to: the run's budget less everything else the run
    /// holds (see [`crate::budget`]).
    pub memory_limit: u64,
    /// What the host held ([`Host::held_bytes`]) when `memory_limit` last counted it.
    ///
    /// [`Host::held_bytes`]: crate::Host::held_bytes
    pub host_held: u64,
}

impl Frame {
    /// A frame about to run `code` from offset 0, the profile's start-up paid (a frame that
    /// cannot pay it is already out of gas).
    pub fn new(
        spec: &'static Spec,
        code: Arc<Bytecode>,
        input: Vec<u8>,
        context: CallContext,
        gas_limit: u64,
    ) -> Self {
        let mut frame = Frame {
            spec,
            code,
            pc: 0,
            stack: Stack::new(),
            memory: Memory::new(spec.reserved),
            gas: Gas::new(gas_limit),
            return_data: Vec::new(),
            input,
            context,
            pending_return: (0, 0),
            action: None,
            guard: Guard::None,
            memory_limit: crate::memory::MEMORY_LIMIT,
            host_held: 0,
        };
        if !frame.gas.charge(spec.startup_gas) {
            frame.halt(HaltReason::OutOfGas);
        }
        frame
    }

    /// Ends the frame with `status` and `output`.
    #[inline]
    pub fn finish(&mut self, status: Status, output: Vec<u8>) {
        self.end(status, output, None);
    }

    /// Ends the frame as the hypervisor does when it refuses the instruction at `pc` (`hyvm`):
    /// `revert(0,0)` with the rest of the gas kept, exactly as on chain, and `kind` recorded
    /// as the result's [`Cause`]. Only refusals come here, so nothing else pays for it.
    #[cold]
    pub fn refuse(&mut self, pc: usize, kind: CauseKind) {
        self.end(Status::Revert, Vec::new(), Some(Cause { pc, kind }));
    }

    #[inline]
    fn end(&mut self, status: Status, output: Vec<u8>, cause: Option<Cause>) {
        let mut gas = self.gas;
        if status != Status::Success {
            gas.refund = 0;
        }
        self.action = Some(FrameAction::Return(FrameResult {
            status,
            reason: None,
            output,
            gas,
            cause,
        }));
    }

    /// Ends the frame with an exceptional halt: all gas is consumed.
    #[inline]
    pub fn halt(&mut self, reason: HaltReason) {
        self.gas.remaining = 0;
        self.gas.refund = 0;
        self.action = Some(FrameAction::Return(FrameResult {
            status: Status::Halt,
            reason: Some(reason),
            output: Vec::new(),
            gas: self.gas,
            cause: None,
        }));
    }

    /// Offset of the instruction whose call or create the frame waits on. A call instruction
    /// has moved past itself; the verifier build's call guard has stepped back onto the
    /// guarded instruction, which runs again once the verifier answers.
    pub fn calling_pc(&self) -> usize {
        match self.guard {
            Guard::AwaitingVerdict => self.pc,
            Guard::None | Guard::Approved => self.pc.saturating_sub(1),
        }
    }

    /// Resumes after a call: writes its output to the pending return range, pushes the success
    /// flag, takes back unused gas and, on success, the callee's refund.
    pub fn resume_call(&mut self, outcome: CallOutcome) {
        let (offset, len) = self.pending_return;
        let n = len.min(outcome.output.len());
        if n > 0 {
            self.memory
                .slice_mut(offset, n)
                .copy_from_slice(&outcome.output[..n]);
        }
        self.gas.remaining += outcome.gas_remaining;
        if self.guard == Guard::AwaitingVerdict {
            // The call was the verifier build's guard: its answer decides whether the guarded
            // call goes ahead (the instruction is dispatched again) or the frame reverts.
            self.return_data = outcome.output;
            self.action = None;
            let succeeded = outcome.status == Status::Success;
            if crate::hyvm::verdict(self, succeeded) {
                self.guard = Guard::Approved;
            } else {
                self.guard = Guard::None;
                // The guard stepped back onto the guarded instruction before asking.
                let kind = if succeeded {
                    CauseKind::CallRefused
                } else {
                    CauseKind::VerifierFailed
                };
                self.refuse(self.pc, kind);
            }
            return;
        }
        if outcome.status == Status::Success {
            self.gas.refund += outcome.refund;
        }
        self.stack
            .push(U256::from((outcome.status == Status::Success) as u8));
        self.return_data = outcome.output;
        self.action = None;
    }

    /// Resumes after a create: pushes the new address (or 0), takes back unused gas and, on
    /// success, the refund; return data is the output only when the init code reverted.
    pub fn resume_create(&mut self, outcome: CallOutcome) {
        self.gas.remaining += outcome.gas_remaining;
        let word = match (outcome.status, outcome.created) {
            (Status::Success, Some(address)) => {
                self.gas.refund += outcome.refund;
                U256::from_big_endian(address.as_bytes())
            }
            _ => U256::zero(),
        };
        self.stack.push(word);
        self.return_data = if outcome.status == Status::Revert {
            outcome.output
        } else {
            Vec::new()
        };
        self.action = None;
    }
}
