//! The opcode table: every assigned opcode with its mnemonic, immediate size, stack effect,
//! base (static) gas and the fork that introduced it.

use crate::spec::Fork;

/// Static facts about one opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpInfo {
    /// Mnemonic as printed by the disassembler.
    pub name: &'static str,
    /// Bytes of immediate data following the opcode (PUSHn).
    pub immediate: u8,
    /// Stack items the instruction reads (pops).
    pub inputs: u8,
    /// Stack items the instruction writes (pushes).
    pub outputs: u8,
    /// Gas charged before the instruction runs, in the plain EVM schedule.
    pub base_gas: u16,
    /// The first fork where the opcode exists.
    pub since: Fork,
}

const fn op(name: &'static str, inputs: u8, outputs: u8, base_gas: u16) -> Option<OpInfo> {
    Some(OpInfo {
        name,
        immediate: 0,
        inputs,
        outputs,
        base_gas,
        since: Fork::Shanghai,
    })
}

const fn op_since(
    name: &'static str,
    inputs: u8,
    outputs: u8,
    base_gas: u16,
    since: Fork,
) -> Option<OpInfo> {
    Some(OpInfo {
        name,
        immediate: 0,
        inputs,
        outputs,
        base_gas,
        since,
    })
}

macro_rules! opcodes {
    ($($val:literal $ident:ident $info:expr;)*) => {
        $(
            #[doc = concat!("Opcode `", stringify!($ident), "`.")]
            pub const $ident: u8 = $val;
        )*
        /// The opcode table, indexed by opcode byte.
        pub static OPCODES: [Option<OpInfo>; 256] = {
            let mut t: [Option<OpInfo>; 256] = [None; 256];
            $( t[$val] = $info; )*
            let mut i = 0;
            while i < 32 {
                t[0x60 + i] = Some(OpInfo { name: PUSH_NAMES[i], immediate: (i + 1) as u8, inputs: 0, outputs: 1, base_gas: 3, since: Fork::Shanghai });
                i += 1;
            }
            let mut i = 0;
            while i < 16 {
                t[0x80 + i] = Some(OpInfo { name: DUP_NAMES[i], immediate: 0, inputs: (i + 1) as u8, outputs: (i + 2) as u8, base_gas: 3, since: Fork::Shanghai });
                t[0x90 + i] = Some(OpInfo { name: SWAP_NAMES[i], immediate: 0, inputs: (i + 2) as u8, outputs: (i + 2) as u8, base_gas: 3, since: Fork::Shanghai });
                i += 1;
            }
            t
        };
    };
}

const PUSH_NAMES: [&str; 32] = [
    "PUSH1", "PUSH2", "PUSH3", "PUSH4", "PUSH5", "PUSH6", "PUSH7", "PUSH8", "PUSH9", "PUSH10",
    "PUSH11", "PUSH12", "PUSH13", "PUSH14", "PUSH15", "PUSH16", "PUSH17", "PUSH18", "PUSH19",
    "PUSH20", "PUSH21", "PUSH22", "PUSH23", "PUSH24", "PUSH25", "PUSH26", "PUSH27", "PUSH28",
    "PUSH29", "PUSH30", "PUSH31", "PUSH32",
];
const DUP_NAMES: [&str; 16] = [
    "DUP1", "DUP2", "DUP3", "DUP4", "DUP5", "DUP6", "DUP7", "DUP8", "DUP9", "DUP10", "DUP11",
    "DUP12", "DUP13", "DUP14", "DUP15", "DUP16",
];
const SWAP_NAMES: [&str; 16] = [
    "SWAP1", "SWAP2", "SWAP3", "SWAP4", "SWAP5", "SWAP6", "SWAP7", "SWAP8", "SWAP9", "SWAP10",
    "SWAP11", "SWAP12", "SWAP13", "SWAP14", "SWAP15", "SWAP16",
];

/// First PUSHn opcode.
pub const PUSH1: u8 = 0x60;
/// Last PUSHn opcode.
pub const PUSH32: u8 = 0x7f;
/// First DUPn opcode.
pub const DUP1: u8 = 0x80;
/// First SWAPn opcode.
pub const SWAP1: u8 = 0x90;

opcodes! {
    0x00 STOP op("STOP", 0, 0, 0);
    0x01 ADD op("ADD", 2, 1, 3);
    0x02 MUL op("MUL", 2, 1, 5);
    0x03 SUB op("SUB", 2, 1, 3);
    0x04 DIV op("DIV", 2, 1, 5);
    0x05 SDIV op("SDIV", 2, 1, 5);
    0x06 MOD op("MOD", 2, 1, 5);
    0x07 SMOD op("SMOD", 2, 1, 5);
    0x08 ADDMOD op("ADDMOD", 3, 1, 8);
    0x09 MULMOD op("MULMOD", 3, 1, 8);
    0x0a EXP op("EXP", 2, 1, 10);
    0x0b SIGNEXTEND op("SIGNEXTEND", 2, 1, 5);
    0x10 LT op("LT", 2, 1, 3);
    0x11 GT op("GT", 2, 1, 3);
    0x12 SLT op("SLT", 2, 1, 3);
    0x13 SGT op("SGT", 2, 1, 3);
    0x14 EQ op("EQ", 2, 1, 3);
    0x15 ISZERO op("ISZERO", 1, 1, 3);
    0x16 AND op("AND", 2, 1, 3);
    0x17 OR op("OR", 2, 1, 3);
    0x18 XOR op("XOR", 2, 1, 3);
    0x19 NOT op("NOT", 1, 1, 3);
    0x1a BYTE op("BYTE", 2, 1, 3);
    0x1b SHL op("SHL", 2, 1, 3);
    0x1c SHR op("SHR", 2, 1, 3);
    0x1d SAR op("SAR", 2, 1, 3);
    0x1e CLZ op_since("CLZ", 1, 1, 5, Fork::Osaka);
    0x20 KECCAK256 op("KECCAK256", 2, 1, 30);
    0x30 ADDRESS op("ADDRESS", 0, 1, 2);
    0x31 BALANCE op("BALANCE", 1, 1, 0);
    0x32 ORIGIN op("ORIGIN", 0, 1, 2);
    0x33 CALLER op("CALLER", 0, 1, 2);
    0x34 CALLVALUE op("CALLVALUE", 0, 1, 2);
    0x35 CALLDATALOAD op("CALLDATALOAD", 1, 1, 3);
    0x36 CALLDATASIZE op("CALLDATASIZE", 0, 1, 2);
    0x37 CALLDATACOPY op("CALLDATACOPY", 3, 0, 3);
    0x38 CODESIZE op("CODESIZE", 0, 1, 2);
    0x39 CODECOPY op("CODECOPY", 3, 0, 3);
    0x3a GASPRICE op("GASPRICE", 0, 1, 2);
    0x3b EXTCODESIZE op("EXTCODESIZE", 1, 1, 0);
    0x3c EXTCODECOPY op("EXTCODECOPY", 4, 0, 0);
    0x3d RETURNDATASIZE op("RETURNDATASIZE", 0, 1, 2);
    0x3e RETURNDATACOPY op("RETURNDATACOPY", 3, 0, 3);
    0x3f EXTCODEHASH op("EXTCODEHASH", 1, 1, 0);
    0x40 BLOCKHASH op("BLOCKHASH", 1, 1, 20);
    0x41 COINBASE op("COINBASE", 0, 1, 2);
    0x42 TIMESTAMP op("TIMESTAMP", 0, 1, 2);
    0x43 NUMBER op("NUMBER", 0, 1, 2);
    0x44 PREVRANDAO op("PREVRANDAO", 0, 1, 2);
    0x45 GASLIMIT op("GASLIMIT", 0, 1, 2);
    0x46 CHAINID op("CHAINID", 0, 1, 2);
    0x47 SELFBALANCE op("SELFBALANCE", 0, 1, 5);
    0x48 BASEFEE op("BASEFEE", 0, 1, 2);
    0x49 BLOBHASH op_since("BLOBHASH", 1, 1, 3, Fork::Cancun);
    0x4a BLOBBASEFEE op_since("BLOBBASEFEE", 0, 1, 2, Fork::Cancun);
    0x50 POP op("POP", 1, 0, 2);
    0x51 MLOAD op("MLOAD", 1, 1, 3);
    0x52 MSTORE op("MSTORE", 2, 0, 3);
    0x53 MSTORE8 op("MSTORE8", 2, 0, 3);
    0x54 SLOAD op("SLOAD", 1, 1, 0);
    0x55 SSTORE op("SSTORE", 2, 0, 0);
    0x56 JUMP op("JUMP", 1, 0, 8);
    0x57 JUMPI op("JUMPI", 2, 0, 10);
    0x58 PC op("PC", 0, 1, 2);
    0x59 MSIZE op("MSIZE", 0, 1, 2);
    0x5a GAS op("GAS", 0, 1, 2);
    0x5b JUMPDEST op("JUMPDEST", 0, 0, 1);
    0x5c TLOAD op_since("TLOAD", 1, 1, 100, Fork::Cancun);
    0x5d TSTORE op_since("TSTORE", 2, 0, 100, Fork::Cancun);
    0x5e MCOPY op_since("MCOPY", 3, 0, 3, Fork::Cancun);
    0x5f PUSH0 op("PUSH0", 0, 1, 2);
    0xa0 LOG0 op("LOG0", 2, 0, 375);
    0xa1 LOG1 op("LOG1", 3, 0, 750);
    0xa2 LOG2 op("LOG2", 4, 0, 1125);
    0xa3 LOG3 op("LOG3", 5, 0, 1500);
    0xa4 LOG4 op("LOG4", 6, 0, 1875);
    0xf0 CREATE op("CREATE", 3, 1, 32000);
    0xf1 CALL op("CALL", 7, 1, 0);
    0xf2 CALLCODE op("CALLCODE", 7, 1, 0);
    0xf3 RETURN op("RETURN", 2, 0, 0);
    0xf4 DELEGATECALL op("DELEGATECALL", 6, 1, 0);
    0xf5 CREATE2 op("CREATE2", 4, 1, 32000);
    0xfa STATICCALL op("STATICCALL", 6, 1, 0);
    0xfd REVERT op("REVERT", 2, 0, 0);
    0xfe INVALID op("INVALID", 0, 0, 0);
    0xff SELFDESTRUCT op("SELFDESTRUCT", 1, 0, 5000);
}

/// The info of `opcode` if it is assigned at any supported fork.
pub fn info(opcode: u8) -> Option<&'static OpInfo> {
    OPCODES[opcode as usize].as_ref()
}

/// Looks an opcode up by mnemonic (case-insensitive; `SHA3` and `DIFFICULTY` are accepted as aliases).
pub fn by_name(name: &str) -> Option<u8> {
    let upper = name.to_ascii_uppercase();
    let upper = match upper.as_str() {
        "SHA3" => "KECCAK256",
        "DIFFICULTY" => "PREVRANDAO",
        other => other,
    };
    (0..=255u8).find(|&op| OPCODES[op as usize].is_some_and(|i| i.name == upper))
}
