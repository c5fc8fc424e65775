//! What a guest costs on chain: the deployed hypervisor's gas and stack-depth model
//! (`docs/hyvm.md` derives it), as one table and a few constants.
//!
//! Every guest instruction pays the dispatch plus its handler's static gas `H(op)`, then the
//! native opcode's dynamic gas (memory expansion on host memory), and overflows the stack when
//! its depth plus the handler's own items `X(op)` passes 1024. [`crate::spec::Spec`] folds the
//! table into its `static_gas` and `stack_max`, so the interpreter and the JIT read the model
//! from the same place as the plain EVM schedule; the jump rules are the only extra costs,
//! charged where the jump is decided.

use crate::gas::memory_cost;
use crate::opcode::*;

/// Fetching, decoding and dispatching one guest instruction (a `GAS GAS` pair differs by
/// 65 + 2).
pub const DISPATCH: u64 = 65;

/// The start-up's fixed part: the delegatecall-context check, the zero word at the end of
/// the reserved region and the jump table's copy. Growing host memory to the reserved size
/// comes on top ([`startup_gas`]).
const STARTUP_FIXED: u64 = 125;

/// What a taken JUMPI costs on top of the not-taken path (its `H`): 16 + 1 + 49 - 18.
pub const JUMPI_TAKEN: u64 = 48;

/// What a jump to an invalid destination costs before its `revert(0,0)`.
pub const BAD_JUMP: u64 = 7;

/// `H` and `X` of the handlers that revert with empty data (unassigned opcodes, CALLCODE,
/// SELFDESTRUCT and every opcode after Shanghai).
pub const REVERTING_HANDLER: (u64, u16) = (6, 2);

/// Gas the hypervisor spends once per run before the first guest instruction, with
/// `reserved` bytes of host memory in front of guest memory (204 for the plain build).
pub fn startup_gas(reserved: usize) -> u64 {
    STARTUP_FIXED + memory_cost(reserved.div_ceil(32) as u64)
}

/// Gas a direct CALL or STATICCALL to the hypervisor uses before its start-up finds itself
/// outside a delegatecall and reverts (measured against the deployed runtime).
pub const DIRECT_CALL: u64 = 111;

/// The way the verifier build's store guard goes (see [`crate::hyvm::store_guard`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorePath {
    /// No guarded slot is involved: straight to the SSTORE.
    NoOwnerCheck,
    /// The owner is the caller.
    OwnerIsCaller,
    /// There is no owner.
    NoOwner,
    /// Someone else owns the wallet: the guard reverts.
    Refused,
}

/// The static gas of the store guard's path, on top of the SSTORE handler's (its SLOADs are
/// paid as they happen): 49 for the three slot comparisons, 24 to reload the owner and compare
/// it with the caller, 19 to compare it with zero, and the landing JUMPDESTs or the revert.
pub fn store_guard(path: StorePath) -> u64 {
    match path {
        StorePath::NoOwnerCheck => 49 + 1,
        StorePath::OwnerIsCaller => 49 + 24 + 2,
        StorePath::NoOwner => 49 + 24 + 19 + 2,
        StorePath::Refused => 49 + 24 + 19 + 6,
    }
}

/// The handler of `op`: its static gas `H` (the native opcode's static gas included, plus 12
/// per rewritten memory operand) and the stack items `X` it and the next dispatch add to the
/// guest's.
pub fn handler(op: u8) -> (u64, u16) {
    match op {
        STOP => (0, 3),
        ADD | SUB => (3, 2),
        MUL | DIV | SDIV | MOD | SMOD | SIGNEXTEND => (5, 2),
        ADDMOD | MULMOD => (8, 1),
        EXP => (10, 2),
        LT | GT | SLT | SGT | EQ | AND | OR | XOR | BYTE | SHL | SHR | SAR => (3, 2),
        ISZERO | NOT => (3, 3),
        KECCAK256 => (42, 2),
        ADDRESS | ORIGIN | CALLER | CALLVALUE | CODESIZE | GASPRICE | RETURNDATASIZE | COINBASE
        | TIMESTAMP | NUMBER | PREVRANDAO | GASLIMIT | CHAINID | BASEFEE | GAS => (2, 4),
        BALANCE | EXTCODESIZE | EXTCODEHASH | SLOAD | JUMPDEST | INVALID => (0, 3),
        CALLDATALOAD => (5, 3),
        CALLDATASIZE => (3, 4),
        CALLDATACOPY => (25, 1),
        CODECOPY | RETURNDATACOPY => (15, 1),
        EXTCODECOPY => (18, 1),
        BLOCKHASH => (20, 3),
        SELFBALANCE => (5, 4),
        POP => (2, 2),
        MLOAD => (15, 3),
        MSTORE | MSTORE8 => (15, 1),
        SSTORE => (0, 1),
        JUMP => (49, 2),
        JUMPI => (18, 1),
        PC => (12, 4),
        MSIZE => (20, 4),
        PUSH0 => (3, 4),
        PUSH1..=PUSH32 => (47, 5),
        0x80..=0x8f => (3, 4),
        0x90..=0x9f => (3, 3),
        LOG0..=LOG4 => (387 + 375 * (op - LOG0) as u64, 1),
        CREATE | CREATE2 => (32018, 1),
        CALL | DELEGATECALL | STATICCALL => (36, 1),
        RETURN | REVERT => (12, 1),
        _ => REVERTING_HANDLER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_of_the_plain_build_is_204() {
        assert_eq!(startup_gas(0x340), 204);
    }

    #[test]
    fn handlers_of_the_table() {
        assert_eq!(handler(LOG0), (387, 1));
        assert_eq!(handler(LOG4), (1887, 1));
        assert_eq!(handler(PUSH1 + 31), (47, 5));
        assert_eq!(handler(0x9f), (3, 3));
        assert_eq!(handler(TSTORE), REVERTING_HANDLER);
        assert_eq!(handler(CALLCODE), REVERTING_HANDLER);
        assert_eq!(handler(SELFDESTRUCT), REVERTING_HANDLER);
        assert_eq!(handler(0x0c), REVERTING_HANDLER);
    }
}
