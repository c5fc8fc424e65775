//! One small function per opcode, grouped by kind, and the table that maps opcodes to them.
//!
//! The loop has already charged the opcode's static gas and checked the stack bounds from the
//! spec's tables when an instruction runs, so instructions only pay dynamic gas and pop freely.

pub mod arithmetic;
pub mod bitwise;
pub mod control;
pub mod environment;
pub mod memory;
pub mod stack;
pub mod storage;
pub mod system;

use crate::frame::{Frame, HaltReason};
use crate::host::Host;
use crate::opcode::*;
use crate::spec::{OpKind, Spec};
use crate::{Address, U256};

/// What the loop does after an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Go on with the next instruction.
    Continue,
    /// Stop: the frame's `action` says why.
    Exit,
}

/// An instruction.
pub type Instr<H> = fn(&mut Frame, &mut H) -> Step;

/// The result of an instruction that only turns stack words into one word, with no gas beyond
/// its static cost and no other effect, for engines that keep the stack elsewhere: `a` is the
/// top input, then `b`, then `c`. `None` for every other opcode.
#[inline(always)]
pub fn stack_only(op: u8, a: U256, b: U256, c: U256) -> Option<U256> {
    word_op(op, &a, &b, &c)
}

/// [`stack_only`] on words where they lie: the one place each word instruction's semantics
/// are written. The instruction functions of the table, the interpreter's block runner and the
/// JIT's builtins and constant folding all compute through it.
// Always inlined: with `op` known at the call (one call per opcode in the table's functions,
// the block runner's arms and the JIT's builtins) the match folds away, and the words are
// read in place rather than copied for the call.
#[inline(always)]
pub fn word_op(op: u8, a: &U256, b: &U256, c: &U256) -> Option<U256> {
    use crate::word::{self, flag};
    Some(match op {
        ADD => word::add(a, b),
        SUB => word::sub(a, b),
        MUL => word::mul(a, b),
        LT => flag(word::lt(a, b)),
        GT => flag(word::lt(b, a)),
        SLT => flag(word::slt(a, b)),
        SGT => flag(word::slt(b, a)),
        EQ => flag(word::eq(a, b)),
        ISZERO => flag(word::is_zero(a)),
        AND => word::and(a, b),
        OR => word::or(a, b),
        XOR => word::xor(a, b),
        NOT => word::not(a),
        DIV => word::div(a, b),
        SDIV => word::sdiv(a, b),
        MOD => word::rem(a, b),
        SMOD => word::smod(a, b),
        ADDMOD => word::addmod(a, b, c),
        MULMOD => word::mulmod(a, b, c),
        SIGNEXTEND => word::signextend(a, b),
        BYTE => word::byte(a, b),
        SHL => word::shl(a, b),
        SHR => word::shr(a, b),
        SAR => word::sar(a, b),
        _ => return None,
    })
}

/// [`word_op`] for a caller that knows `op` is a word instruction (it dispatched on it).
#[inline(always)]
pub(crate) fn word_result(op: u8, a: &U256, b: &U256, c: &U256) -> U256 {
    match word_op(op, a, b, c) {
        Some(v) => v,
        None => {
            debug_assert!(false, "opcode {op:#04x} is not a word instruction");
            U256::zero()
        }
    }
}

/// The instruction of every opcode under one spec.
pub struct InstructionTable<H: Host> {
    /// Indexed by opcode.
    pub table: [Instr<H>; 256],
}

impl<H: Host> InstructionTable<H> {
    /// The table for `spec`: unsupported opcodes map to the profile's refusal.
    pub fn new(spec: &Spec) -> Self {
        let mut table: [Instr<H>; 256] = [control::unsupported::<H>; 256];
        for (op, slot) in table.iter_mut().enumerate() {
            if spec.kind[op] == OpKind::Run {
                *slot = instruction::<H>(op as u8);
            }
        }
        InstructionTable { table }
    }
}

/// The instruction behind an opcode (the profile and fork decide elsewhere whether it runs).
fn instruction<H: Host>(op: u8) -> Instr<H> {
    use arithmetic as a;
    use bitwise as b;
    use control as c;
    use environment as e;
    use memory as m;
    use stack as s;
    use storage as st;
    use system as sy;
    match op {
        STOP => c::stop,
        ADD => a::add,
        MUL => a::mul,
        SUB => a::sub,
        DIV => a::div,
        SDIV => a::sdiv,
        MOD => a::rem,
        SMOD => a::smod,
        ADDMOD => a::addmod,
        MULMOD => a::mulmod,
        EXP => a::exp,
        SIGNEXTEND => a::signextend,
        LT => b::lt,
        GT => b::gt,
        SLT => b::slt,
        SGT => b::sgt,
        EQ => b::eq,
        ISZERO => b::iszero,
        AND => b::and,
        OR => b::or,
        XOR => b::xor,
        NOT => b::not,
        BYTE => b::byte,
        SHL => b::shl,
        SHR => b::shr,
        SAR => b::sar,
        CLZ => b::clz,
        KECCAK256 => sy::keccak256,
        ADDRESS => e::address,
        BALANCE => e::balance,
        ORIGIN => e::origin,
        CALLER => e::caller,
        CALLVALUE => e::callvalue,
        CALLDATALOAD => e::calldataload,
        CALLDATASIZE => e::calldatasize,
        CALLDATACOPY => e::calldatacopy,
        CODESIZE => e::codesize,
        CODECOPY => e::codecopy,
        GASPRICE => e::gasprice,
        EXTCODESIZE => e::extcodesize,
        EXTCODECOPY => e::extcodecopy,
        RETURNDATASIZE => e::returndatasize,
        RETURNDATACOPY => e::returndatacopy,
        EXTCODEHASH => e::extcodehash,
        BLOCKHASH => e::blockhash,
        COINBASE => e::coinbase,
        TIMESTAMP => e::timestamp,
        NUMBER => e::number,
        PREVRANDAO => e::prevrandao,
        GASLIMIT => e::gaslimit,
        CHAINID => e::chainid,
        SELFBALANCE => e::selfbalance,
        BASEFEE => e::basefee,
        BLOBHASH => e::blobhash,
        BLOBBASEFEE => e::blobbasefee,
        POP => s::pop,
        MLOAD => m::mload,
        MSTORE => m::mstore,
        MSTORE8 => m::mstore8,
        SLOAD => st::sload,
        SSTORE => st::sstore,
        JUMP => c::jump,
        JUMPI => c::jumpi,
        PC => c::pc,
        MSIZE => m::msize,
        GAS => c::gas,
        JUMPDEST => c::jumpdest,
        TLOAD => st::tload,
        TSTORE => st::tstore,
        MCOPY => m::mcopy,
        PUSH0 => s::push0,
        PUSH1..=PUSH32 => stack_instruction::<H>(op),
        0x80..=0x8f => stack_instruction::<H>(op),
        0x90..=0x9f => stack_instruction::<H>(op),
        LOG0..=LOG4 => sy::log,
        CREATE => sy::create,
        CALL => sy::call,
        CALLCODE => sy::callcode,
        RETURN => c::ret,
        DELEGATECALL => sy::delegatecall,
        CREATE2 => sy::create2,
        STATICCALL => sy::staticcall,
        REVERT => c::revert,
        INVALID => c::invalid,
        SELFDESTRUCT => sy::selfdestruct,
        _ => c::unsupported,
    }
}

/// PUSH1-32, DUP1-16 and SWAP1-16, one monomorphic function per opcode.
fn stack_instruction<H: Host>(op: u8) -> Instr<H> {
    macro_rules! sized {
        ($f:ident, $first:expr, $op:expr, [$($n:literal)*]) => {
            match $op - $first + 1 {
                $($n => stack::$f::<$n, H>,)*
                _ => control::unsupported::<H>,
            }
        };
    }
    match op {
        PUSH1..=PUSH32 => {
            sized!(push, PUSH1, op, [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32])
        }
        0x80..=0x8f => sized!(dup, 0x80, op, [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16]),
        0x90..=0x9f => sized!(swap, 0x90, op, [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16]),
        _ => control::unsupported::<H>,
    }
}

/// Charges dynamic gas or halts the frame with out-of-gas.
macro_rules! charge {
    ($frame:expr, $cost:expr) => {
        if !$frame.gas.charge($cost) {
            $frame.halt($crate::frame::HaltReason::OutOfGas);
            return $crate::instructions::Step::Exit;
        }
    };
}
pub(crate) use charge;

/// Unwraps a `Result<_, HaltReason>`, halting the frame on error.
macro_rules! try_halt {
    ($frame:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(reason) => {
                $frame.halt(reason);
                return $crate::instructions::Step::Exit;
            }
        }
    };
}
pub(crate) use try_halt;

/// Halts when the frame is read-only.
macro_rules! require_non_static {
    ($frame:expr) => {
        if $frame.context.is_static {
            $frame.halt($crate::frame::HaltReason::StateChangeDuringStaticCall);
            return $crate::instructions::Step::Exit;
        }
    };
}
pub(crate) use require_non_static;

/// A word as a `u64`, or `None` when it does not fit.
#[inline(always)]
pub(crate) fn as_u64(v: &U256) -> Option<u64> {
    if v.0[1] | v.0[2] | v.0[3] == 0 {
        Some(v.0[0])
    } else {
        None
    }
}

/// A word as a `u64`, saturating.
#[inline(always)]
pub(crate) fn as_u64_saturating(v: &U256) -> u64 {
    as_u64(v).unwrap_or(u64::MAX)
}

/// The low 160 bits of a word, as an address.
#[inline]
pub(crate) fn to_address(v: &U256) -> Address {
    Address::from_slice(&v.to_big_endian()[12..])
}

/// An address as a word.
#[inline]
pub(crate) fn address_word(a: &Address) -> U256 {
    U256::from_big_endian(a.as_bytes())
}

const MASK_160: U256 = U256([u64::MAX, u64::MAX, u32::MAX as u64, 0]);

/// Translates a guest memory offset to a host offset: `evm` takes it as it is, `hyvm` masks it
/// to 160 bits and adds the reserved region. `None` when it cannot be a real offset.
#[inline(always)]
pub(crate) fn host_offset(spec: &Spec, guest: &U256) -> Option<u64> {
    if spec.mask_offsets {
        let masked = *guest & MASK_160;
        as_u64(&masked)?.checked_add(spec.reserved as u64)
    } else {
        as_u64(guest)
    }
}

/// Makes the guest range `[offset, offset + len)` addressable: rewrites the offset to host
/// memory, pays expansion and grows memory. Returns the host offset and the length; a zero
/// length touches nothing, whatever the offset.
#[inline]
pub fn memory_range(
    frame: &mut Frame,
    offset: &U256,
    len: &U256,
) -> Result<(usize, usize), HaltReason> {
    if len.is_zero() {
        return Ok((0, 0));
    }
    let len = as_u64(len).ok_or(HaltReason::OutOfGas)?;
    let offset = host_offset(frame.spec, offset).ok_or(HaltReason::OutOfGas)?;
    let end = offset.checked_add(len).ok_or(HaltReason::OutOfGas)?;
    let cost = frame.memory.expansion_cost(end);
    if cost > 0 {
        if !frame.gas.charge(cost) {
            return Err(HaltReason::OutOfGas);
        }
        if end > frame.memory_limit {
            return Err(HaltReason::MemoryLimit);
        }
        frame.memory.grow(end, frame.memory_limit);
    }
    Ok((offset as usize, len as usize))
}

/// Copies `src[src_offset..src_offset+len]` (zero padded past its end) into host memory.
pub(crate) fn copy_padded(
    frame: &mut Frame,
    dst: usize,
    len: usize,
    src: &[u8],
    src_offset: &U256,
) {
    if len == 0 {
        return;
    }
    let start = as_u64(src_offset).map_or(src.len(), |o| (o as usize).min(src.len()));
    let end = start.saturating_add(len).min(src.len());
    frame.memory.set_padded(dst, len, &src[start..end]);
}
