//! nestedvm: an EVM hypervisor (the on-chain HyVM, reproduced exactly in the `hyvm` profile)
//! with a reference interpreter, a plain `evm` profile identical to revm, and an in-memory world.
//!
//! ```
//! use nestedvm::{Config, Request, Vm};
//! let code = nestedvm::interp::asm::decode_hex("600360040160005260206000f3").unwrap();
//! let outcome = Vm::new().run(&Config::default(), &Request::new(code)).unwrap();
//! assert_eq!(outcome.output[31], 7);
//! ```

pub mod authorization;
pub mod batch;
pub mod engine;
pub mod executor;
pub mod output;
pub mod parse;
pub mod precompiles;
pub mod run;
pub mod signer;
pub mod state_root;
pub mod transaction;
pub mod world;

pub use engine::{Engine, JitConfig};
pub use nestedvm_interp as interp;
pub use nestedvm_interp::{Address, Env, Fork, HaltReason, Log, Profile, Status, B256, U256};
pub use nestedvm_jit as jit;
pub use run::{Config, Error, Outcome, Request, Vm, DEFAULT_HYPERVISOR, MAX_CODE_LEN};
pub use world::{Account, World};
