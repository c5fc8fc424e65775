//! The reference interpreter of nestedvm and the semantics every engine shares.
//!
//! - [`spec`]: profile (`hyvm` / `evm`) and fork as data, built once.
//! - [`opcode`]: the opcode table (names, immediates, stack effects, base gas).
//! - [`analysis`]: bytecode decoding, the JUMPDEST map, the jump-landing rule, block starts.
//! - [`blocks`]: the interpreter's block table (static gas and stack bounds per block).
//! - [`word`]: the 256-bit word arithmetic every stack-only opcode computes with.
//! - [`gas`]: the gas schedule's formulas.
//! - [`memory`], [`stack`]: frame storage, with the `hyvm` reserved region.
//! - [`hyvm_gas`]: the `hyvm` profile's on-chain gas and stack-depth model.
//! - [`hyvm`]: the hypervisor's runtime, its host memory and the verifier build's guards.
//! - [`host`]: the narrow trait instructions use to reach the world.
//! - [`frame`]: one call frame's state and the requests it hands to the driver.
//! - [`instructions`]: one function per opcode behind a table.
//! - [`interpreter`]: the instruction loop.
//! - [`asm`]: disassembler and assembler.
//! - `keccak` (private, re-exported as [`keccak256`]) and `spare` (private: reuse of dropped
//!   frame buffers).
//!
//! `docs/architecture.md` places the crate in the project; `docs/hyvm.md` gives the `hyvm`
//! profile's semantics and on-chain gas.

pub mod analysis;
pub mod asm;
pub mod blocks;
pub mod frame;
pub mod gas;
pub mod host;
pub mod hyvm;
pub mod hyvm_gas;
pub mod instructions;
pub mod interpreter;
mod keccak;
pub mod memory;
pub mod opcode;
mod spare;
pub mod spec;
pub mod stack;
pub mod word;

pub use analysis::Bytecode;
pub use frame::{
    CallContext, CallInputs, CallKind, CallOutcome, CreateInputs, CreateKind, Frame, FrameAction,
    FrameResult, Guard, HaltReason, Status,
};
pub use host::{Env, Host, Log, SStoreResult, SelfDestructResult};
pub use interpreter::run_frame;
pub use keccak::{keccak256, keccak256_word};
pub use primitive_types::{H160 as Address, H256 as B256, U256};
pub use spec::{Fork, Profile, Spec};

/// Keccak-256 of the empty string, the code hash of an account without code.
pub const KECCAK_EMPTY: [u8; 32] = [
    0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
    0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70,
];

/// The largest deployable contract code (EIP-170).
pub const MAX_CODE_SIZE: usize = 0x6000;
/// The largest init code (EIP-3860).
pub const MAX_INITCODE_SIZE: usize = 2 * MAX_CODE_SIZE;
/// The deepest call depth (the top frame is depth 0).
pub const CALL_DEPTH_LIMIT: usize = 1024;
/// The EVM stack limit.
pub const STACK_LIMIT: usize = 1024;
