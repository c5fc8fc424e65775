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
//! - [`cause`]: why the hypervisor itself reverted, reported beside the on-chain result.
//! - [`host`]: the narrow trait instructions use to reach the world.
//! - [`frame`]: one call frame's state and the requests it hands to the driver.
//! - [`instructions`]: one function per opcode behind a table.
//! - [`interpreter`]: the instruction loop.
//! - [`trace`]: the same instructions one at a time, each reported (EIP-3155 traces).
//! - [`asm`]: disassembler and assembler.
//! - `keccak` (private, re-exported as [`keccak256`]) and `spare` (private: reuse of dropped
//!   frame buffers).
//!
//! `docs/architecture.md` places the crate in the project; `docs/hyvm.md` gives the `hyvm`
//! profile's semantics and on-chain gas.
//!
//! # Example
//!
//! Assemble a program that adds two numbers and returns the sum, then run it as a plain `evm`
//! contract. The driver (here, the example) owns the world through [`Host`]; a program that
//! makes no call or create finishes in one [`run_frame`].
//!
//! ```
//! use nestedvm_interp::host::AccountLoad;
//! use nestedvm_interp::instructions::InstructionTable;
//! use nestedvm_interp::*;
//! use std::sync::Arc;
//!
//! /// A world with no accounts, storage or blocks: all this program needs.
//! struct Empty(Env);
//!
//! impl Host for Empty {
//!     fn env(&self) -> &Env {
//!         &self.0
//!     }
//!     fn balance(&mut self, _: Address) -> (U256, bool) {
//!         (U256::zero(), true)
//!     }
//!     fn code(&mut self, _: Address) -> (Arc<[u8]>, bool) {
//!         (Arc::from(&[][..]), true)
//!     }
//!     fn code_hash(&mut self, _: Address) -> (B256, bool) {
//!         (B256::zero(), true)
//!     }
//!     fn load_account(&mut self, _: Address) -> AccountLoad {
//!         AccountLoad { is_cold: true, is_empty: true, delegate_is_cold: None }
//!     }
//!     fn sload(&mut self, _: Address, _: U256) -> (U256, bool) {
//!         (U256::zero(), true)
//!     }
//!     fn sstore(&mut self, _: Address, _: U256, _: U256) -> SStoreResult {
//!         SStoreResult { original: U256::zero(), current: U256::zero(), is_cold: true }
//!     }
//!     fn tload(&mut self, _: Address, _: U256) -> U256 {
//!         U256::zero()
//!     }
//!     fn tstore(&mut self, _: Address, _: U256, _: U256) {}
//!     fn block_hash(&mut self, _: u64) -> B256 {
//!         B256::zero()
//!     }
//!     fn log(&mut self, _: Log) {}
//!     fn selfdestruct(&mut self, _: Address, _: Address) -> SelfDestructResult {
//!         SelfDestructResult { had_value: false, target_exists: false, target_is_cold: true }
//!     }
//! }
//!
//! let code = asm::assemble("PUSH1 2 PUSH1 40 ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN").unwrap();
//! let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
//! let context = CallContext {
//!     address: Address::from_low_u64_be(0xc0de),
//!     caller: Address::from_low_u64_be(0xca11),
//!     value: U256::zero(),
//!     is_static: false,
//!     depth: 0,
//! };
//! let mut frame = Frame::new(spec, Arc::new(Bytecode::new(&code)), Vec::new(), context, 100_000);
//! let table = InstructionTable::new(spec);
//! let FrameAction::Return(result) = run_frame(&mut frame, &mut Empty(Env::default()), &table)
//! else {
//!     unreachable!("the program makes no call");
//! };
//! assert_eq!(result.status, Status::Success);
//! assert_eq!(U256::from_big_endian(&result.output), U256::from(42));
//! // Three PUSH1, PUSH0 twice, ADD, MSTORE, RETURN, and the first word of memory.
//! assert_eq!(result.gas.limit - result.gas.remaining, 3 * 3 + 2 * 2 + 3 + 3 + 0 + 3);
//! ```

#![warn(missing_docs)]

pub mod analysis;
pub mod asm;
pub mod blocks;
pub mod budget;
pub mod cause;
pub mod deadline;
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
pub mod trace;
pub mod word;

pub use analysis::Bytecode;
pub use cause::{Cause, CauseKind};
pub use deadline::Deadline;
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
