//! nestedvm: an EVM hypervisor. It runs guest EVM bytecode exactly as the on-chain HyVM
//! hypervisor does (the `hyvm` profile, the default: its memory layout, quirks and on-chain
//! gas), or as a plain EVM identical to revm at the same fork (the `evm` profile), on a
//! reference interpreter or a JIT that agrees with it bit for bit.
//!
//! A [`Vm`] runs [`Request`]s (one message call each) under a [`Config`] and returns an
//! [`Outcome`]; it keeps analysed and compiled code between runs, so one VM per thread
//! serves millions of simulations.
//!
//! ```
//! use nestedvm::{Config, Engine, Profile, Request, Vm};
//!
//! // PUSH1 3 PUSH1 4 ADD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
//! let code = nestedvm::parse::parse_hex("code", "0x600360040160005260206000f3").unwrap();
//! let mut vm = Vm::new();
//!
//! // As guest code of the hypervisor (the default profile), with the on-chain gas figure.
//! let guest = vm.run(&Config::default(), &Request::new(code.clone())).unwrap();
//! assert_eq!(guest.output[31], 7);
//!
//! // As a plain contract on the interpreter.
//! let config = Config { profile: Profile::Evm, engine: Engine::Interpreter, ..Config::default() };
//! let plain = vm.run(&config, &Request::new(code)).unwrap();
//! assert_eq!(plain.output, guest.output);
//! assert!(plain.gas_used < guest.gas_used);
//! ```
//!
//! The modules: [`run`] (the VM, its configuration, request and outcome), [`engine`] (which
//! engine runs a frame and how the JIT tiers), [`executor`] (the frame driver: calls and
//! creates without native recursion), [`world`] (in-memory state with a journal),
//! [`precompiles`], [`transaction`] (a mined transaction around the message call, as state
//! tests need), [`authorization`] and [`signer`] (EIP-7702 tuples, secp256k1 senders),
//! [`state_root`], state in the alloc shape ([`state`]), and the line protocol of `nestedvm run --batch` ([`batch`], [`output`],
//! [`parse`]). The interpreter and the JIT are re-exported as [`interp`] and [`jit`]. The
//! `nestedvm` command and its tooling live in the separate `nestedvm-cli` crate.

#![warn(missing_docs)]

pub mod authorization;
pub mod batch;
pub mod engine;
pub mod executor;
#[cfg(feature = "fork")]
pub mod fork;
pub mod output;
pub mod parse;
pub mod precompiles;
pub mod run;
pub mod signer;
pub mod state;
pub mod state_root;
pub mod trace;
pub mod transaction;
pub mod world;

pub use engine::{Engine, JitConfig};
pub use nestedvm_interp as interp;
pub use nestedvm_interp::{
    Address, Cause, CauseKind, Env, Fork, HaltReason, Log, Profile, Status, B256, U256,
};
pub use nestedvm_jit as jit;
pub use run::{Config, Error, Outcome, Request, Vm, DEFAULT_HYPERVISOR, MAX_CODE_LEN};
pub use state::{AccountState, State};
pub use world::{Account, World};
