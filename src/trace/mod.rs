//! Seeing inside a run: EIP-3155 step traces ([`eip3155`]), the call tree ([`calls`]) and
//! revert data decoded ([`revert`]).
//!
//! A [`Tracer`] is handed to [`crate::Vm::run_traced`] (or [`crate::Vm::run_on_traced`]); a
//! traced run is interpreted, one instruction at a time
//! ([`nestedvm_interp::trace::run_traced`]), and ends exactly as an untraced run does. Runs
//! without a tracer take the untraced paths, which have no hooks, so tracing off costs nothing.

pub mod calls;
pub mod eip3155;
pub mod revert;

use crate::{Address, U256};
use nestedvm_interp::trace::StepView;
use nestedvm_interp::{HaltReason, Status};

pub use calls::{tree_text, CallFrame, CallTracer};
pub use eip3155::{Eip3155Lines, Eip3155Writer};
pub use revert::RevertReason;

/// What kind of frame a call tree node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// CALL (and the top frame of a run).
    Call,
    /// STATICCALL.
    StaticCall,
    /// DELEGATECALL.
    DelegateCall,
    /// CALLCODE.
    CallCode,
    /// CREATE.
    Create,
    /// CREATE2.
    Create2,
}

impl FrameKind {
    /// Its name as geth's call tracer writes it.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Call => "CALL",
            FrameKind::StaticCall => "STATICCALL",
            FrameKind::DelegateCall => "DELEGATECALL",
            FrameKind::CallCode => "CALLCODE",
            FrameKind::Create => "CREATE",
            FrameKind::Create2 => "CREATE2",
        }
    }
}

/// A frame about to start (or a call answered at once: a precompile, an account without
/// code, a call refused for depth or balance).
#[derive(Clone, Copy, Debug)]
pub struct Enter<'a> {
    /// Its kind.
    pub kind: FrameKind,
    /// The account whose code made it (the executing account of the calling frame).
    pub from: Address,
    /// The account whose code runs; for a create, the new account's address when known.
    pub to: Option<Address>,
    /// Value sent: `None` for STATICCALL and DELEGATECALL, which send none of their own.
    pub value: Option<U256>,
    /// Gas given to it.
    pub gas: u64,
    /// Its call data, or a create's init code.
    pub input: &'a [u8],
}

/// How the frame last entered ended.
#[derive(Clone, Copy, Debug)]
pub struct Exit<'a> {
    /// Success, revert or halt.
    pub status: Status,
    /// Why it halted.
    pub reason: Option<HaltReason>,
    /// Its return or revert data (a create's deployed code on success).
    pub output: &'a [u8],
    /// Gas it used (all it was given, after a halt).
    pub gas_used: u64,
    /// For a create that succeeded, the new account.
    pub created: Option<Address>,
    /// In `hyvm`, why the hypervisor itself reverted the frame, when it did.
    pub cause: Option<nestedvm_interp::Cause>,
}

/// Receives what a traced run does; every method does nothing unless overridden.
pub trait Tracer {
    /// An instruction ran at call depth `depth` (the top frame is 1).
    fn step(&mut self, depth: usize, step: &StepView<'_>) {
        let _ = (depth, step);
    }
    /// A frame starts; every `enter` is matched by one [`Tracer::exit`], innermost first.
    fn enter(&mut self, frame: &Enter<'_>) {
        let _ = frame;
    }
    /// The frame last entered and not yet exited ended.
    fn exit(&mut self, exit: &Exit<'_>) {
        let _ = exit;
    }
}

/// Both tracers get everything, the first first.
impl<A: Tracer + ?Sized, B: Tracer + ?Sized> Tracer for (&mut A, &mut B) {
    fn step(&mut self, depth: usize, step: &StepView<'_>) {
        self.0.step(depth, step);
        self.1.step(depth, step);
    }
    fn enter(&mut self, frame: &Enter<'_>) {
        self.0.enter(frame);
        self.1.enter(frame);
    }
    fn exit(&mut self, exit: &Exit<'_>) {
        self.0.exit(exit);
        self.1.exit(exit);
    }
}

/// Calls `run` with a tracer made of whichever of `first` and `second` are given: both in
/// turn, one, or `None`.
pub fn either<A: Tracer, B: Tracer, R>(
    first: Option<&mut A>,
    second: Option<&mut B>,
    run: impl FnOnce(Option<&mut dyn Tracer>) -> R,
) -> R {
    match (first, second) {
        (Some(a), Some(b)) => run(Some(&mut (a, b))),
        (Some(a), None) => run(Some(a)),
        (None, Some(b)) => run(Some(b)),
        (None, None) => run(None),
    }
}

/// A tracer that records nothing.
pub struct NoTracer;

impl Tracer for NoTracer {}

/// How geth words a failed frame's error, for the step traces' and the call tree's `error`.
pub fn error_text(status: Status, reason: Option<HaltReason>) -> Option<&'static str> {
    Some(match (status, reason) {
        (Status::Success, _) => return None,
        (Status::Revert, _) => "execution reverted",
        (Status::Halt, Some(reason)) => match reason {
            HaltReason::OutOfGas => "out of gas",
            HaltReason::StackUnderflow => "stack underflow",
            HaltReason::StackOverflow => "stack limit reached 1024",
            HaltReason::InvalidJump => "invalid jump destination",
            HaltReason::InvalidOpcode | HaltReason::Invalid => "invalid opcode",
            HaltReason::StateChangeDuringStaticCall => "write protection",
            HaltReason::ReturnDataOutOfBounds => "return data out of bounds",
            HaltReason::CreateCollision => "contract address collision",
            HaltReason::InitcodeTooLarge => "max initcode size exceeded",
            other => other.name(),
        },
        (Status::Halt, None) => "halted",
    })
}
