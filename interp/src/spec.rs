//! Profile and fork as data: one [`Spec`] per (profile, fork, verifier), built once and shared.
//!
//! What differs between `hyvm` and `evm`, or between forks, as numbers is decided here, in
//! tables the interpreter (and the JIT) read: which opcodes run, their static gas, the stack
//! depth at which they overflow, the memory layout and the jump surcharges. In `hyvm` the gas
//! and the stack depth are the deployed hypervisor's ([`crate::hyvm_gas`]); `docs/hyvm.md`
//! gives the profile's semantics.
//!
//! What differs as behaviour cannot be a number, so it branches on [`Spec::is_hyvm`] (or on
//! [`Spec::verifier`]) at the one place that behaviour is decided, and every engine calls that
//! place rather than branching again:
//! - where a jump lands: [`crate::analysis::Bytecode::jump_landing`], and so where blocks
//!   start ([`crate::analysis::block_starts`], [`crate::blocks::Blocks::analyse`]);
//! - what a bad jump or an opcode that does not run does (`hyvm` reverts, `evm` halts):
//!   [`crate::instructions::control`];
//! - the hypervisor's execution pointer left in host memory: [`crate::interpreter::end_of_run`];
//! - the verifier build's guards on calls and stores: [`crate::hyvm`], called by SSTORE and
//!   the calls when [`Spec::verifier`] is set.
//!
//! The driver outside this crate branches too, for what is no instruction's: the hypervisor
//! account, its start-up and the call into it.

use crate::hyvm_gas;
use crate::opcode::OPCODES;
use crate::STACK_LIMIT;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// A supported hard fork, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Fork {
    /// Shanghai (PUSH0, EIP-3860 initcode limits).
    Shanghai,
    /// Cancun (transient storage, MCOPY, blobs, EIP-6780 SELFDESTRUCT).
    Cancun,
    /// Prague (EIP-7702 delegations, BLS precompiles).
    Prague,
    /// Osaka (CLZ, EIP-7939), the default.
    #[default]
    Osaka,
}

impl Fork {
    /// Every supported fork, oldest first.
    pub const ALL: [Fork; 4] = [Fork::Shanghai, Fork::Cancun, Fork::Prague, Fork::Osaka];

    /// The lower-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Fork::Shanghai => "shanghai",
            Fork::Cancun => "cancun",
            Fork::Prague => "prague",
            Fork::Osaka => "osaka",
        }
    }
}

impl fmt::Display for Fork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fork {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Fork::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown fork `{s}` (expected shanghai, cancun, prague or osaka)")
            })
    }
}

/// How guest code is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Profile {
    /// The deployed HyVM hypervisor, quirks included (the default).
    #[default]
    Hyvm,
    /// Plain EVM semantics, identical to revm at the same fork.
    Evm,
}

impl Profile {
    /// The lower-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Hyvm => "hyvm",
            Profile::Evm => "evm",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "hyvm" => Ok(Profile::Hyvm),
            "evm" => Ok(Profile::Evm),
            _ => Err(format!("unknown profile `{s}` (expected hyvm or evm)")),
        }
    }
}

/// What an opcode does under a spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Runs its instruction.
    Run,
    /// Not an instruction here: an exceptional halt in `evm`, `revert(0,0)` in `hyvm`.
    Unsupported,
}

/// Guest memory offset of the plain hypervisor build.
pub const HYVM_RESERVED: usize = 0x340;
/// Guest memory offset of the contract-verifier build.
pub const HYVM_VERIFIER_RESERVED: usize = 0x460;

/// The semantics of one (profile, fork, verifier) combination, as tables.
#[derive(Debug)]
pub struct Spec {
    /// The profile.
    pub profile: Profile,
    /// The host fork: gas schedule and precompiles follow it in both profiles.
    pub fork: Fork,
    /// Whether this is the contract-verifier build of the hypervisor (`hyvm` only).
    pub verifier: bool,
    /// Bytes of host memory in front of guest memory (0 in `evm`).
    pub reserved: usize,
    /// Whether guest memory offsets are masked to 160 bits before `reserved` is added.
    pub mask_offsets: bool,
    /// What each opcode does.
    pub kind: [OpKind; 256],
    /// Gas charged before each opcode runs; the one place an instruction's static cost is decided.
    pub static_gas: [u64; 256],
    /// Fewest stack items each opcode needs (underflow below).
    pub stack_min: [u16; 256],
    /// Most stack items allowed before each opcode runs (overflow above).
    pub stack_max: [u16; 256],
    /// Gas spent once before the first instruction (the hypervisor's start-up in `hyvm`).
    pub startup_gas: u64,
    /// Extra gas of a JUMPI whose jump is taken (`hyvm`: the hypervisor's jump).
    pub jumpi_taken_gas: u64,
    /// Extra gas of a jump to an invalid destination before the profile's outcome.
    pub bad_jump_gas: u64,
    /// What the block analysis reads of each opcode, gathered from the tables above.
    pub(crate) block_ops: [crate::blocks::BlockOp; 256],
}

impl Spec {
    /// The shared spec for a combination (built once per process).
    pub fn get(profile: Profile, fork: Fork, verifier: bool) -> &'static Spec {
        static SPECS: OnceLock<Vec<Spec>> = OnceLock::new();
        let specs = SPECS.get_or_init(|| {
            let mut v = Vec::new();
            for profile in [Profile::Hyvm, Profile::Evm] {
                for fork in Fork::ALL {
                    for verifier in [false, true] {
                        v.push(Spec::build(profile, fork, verifier));
                    }
                }
            }
            v
        });
        let p = match profile {
            Profile::Hyvm => 0,
            Profile::Evm => 1,
        };
        let verifier = verifier && profile == Profile::Hyvm;
        &specs[p * 8 + fork as usize * 2 + verifier as usize]
    }

    fn build(profile: Profile, fork: Fork, verifier: bool) -> Spec {
        let mut kind = [OpKind::Unsupported; 256];
        let mut static_gas = [0u64; 256];
        let mut stack_min = [0u16; 256];
        let mut stack_max = [STACK_LIMIT as u16; 256];
        for op in 0..256usize {
            let Some(info) = OPCODES[op] else { continue };
            let runs = match profile {
                Profile::Evm => info.since <= fork,
                Profile::Hyvm => hyvm_supports(op as u8),
            };
            if !runs {
                continue;
            }
            kind[op] = OpKind::Run;
            static_gas[op] = info.base_gas as u64;
            stack_min[op] = info.inputs as u16;
            if info.outputs > info.inputs {
                stack_max[op] = (STACK_LIMIT - (info.outputs - info.inputs) as usize) as u16;
            }
        }
        if profile == Profile::Hyvm {
            // On chain every guest instruction is a dispatch plus a handler; unsupported
            // opcodes have a handler too, one that reverts.
            for op in 0..256usize {
                let (handler_gas, extra_items) = hyvm_gas::handler(op as u8);
                static_gas[op] = hyvm_gas::DISPATCH + handler_gas;
                stack_max[op] = (STACK_LIMIT as u16).saturating_sub(extra_items);
            }
        }
        if verifier && profile == Profile::Hyvm {
            // The verifier build's guards run first and reach fewer stack items than the
            // native opcode: the CALL guard 6, the STATICCALL and DELEGATECALL guards 5, the
            // store guard 1. The instructions check the rest once the guard has run.
            use crate::opcode::{CALL, DELEGATECALL, SSTORE, STATICCALL};
            stack_min[CALL as usize] = 6;
            stack_min[STATICCALL as usize] = 5;
            stack_min[DELEGATECALL as usize] = 5;
            stack_min[SSTORE as usize] = 1;
        }
        let reserved = match (profile, verifier) {
            (Profile::Evm, _) => 0,
            (Profile::Hyvm, false) => HYVM_RESERVED,
            (Profile::Hyvm, true) => HYVM_VERIFIER_RESERVED,
        };
        let hyvm = profile == Profile::Hyvm;
        let mut spec = Spec {
            profile,
            fork,
            verifier: verifier && hyvm,
            reserved,
            mask_offsets: profile == Profile::Hyvm,
            kind,
            static_gas,
            stack_min,
            stack_max,
            startup_gas: if hyvm {
                hyvm_gas::startup_gas(reserved)
            } else {
                0
            },
            jumpi_taken_gas: if hyvm { hyvm_gas::JUMPI_TAKEN } else { 0 },
            bad_jump_gas: if hyvm { hyvm_gas::BAD_JUMP } else { 0 },
            block_ops: [crate::blocks::BlockOp::default(); 256],
        };
        spec.block_ops = crate::blocks::block_ops(&spec);
        spec
    }

    /// Whether this spec is at least `fork`.
    #[inline]
    pub fn is(&self, fork: Fork) -> bool {
        self.fork >= fork
    }

    /// Whether jumps follow the hypervisor's rule (no JUMPDEST analysis).
    #[inline]
    pub fn is_hyvm(&self) -> bool {
        self.profile == Profile::Hyvm
    }
}

/// Whether the deployed hypervisor executes `op` (everything assigned up to Shanghai but
/// CALLCODE and SELFDESTRUCT; the rest reverts with empty data).
fn hyvm_supports(op: u8) -> bool {
    use crate::opcode::*;
    match OPCODES[op as usize] {
        None => false,
        Some(info) => info.since == Fork::Shanghai && !matches!(op, CALLCODE | SELFDESTRUCT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcode::*;

    #[test]
    fn hyvm_refuses_cancun_opcodes_and_evm_follows_the_fork() {
        let hyvm = Spec::get(Profile::Hyvm, Fork::Osaka, false);
        for op in [
            TLOAD,
            TSTORE,
            MCOPY,
            BLOBHASH,
            BLOBBASEFEE,
            CLZ,
            CALLCODE,
            SELFDESTRUCT,
            0x0c,
            0xef,
        ] {
            assert_eq!(hyvm.kind[op as usize], OpKind::Unsupported, "{op:#x}");
        }
        assert_eq!(hyvm.kind[PUSH0 as usize], OpKind::Run);
        assert_eq!(hyvm.kind[INVALID as usize], OpKind::Run);
        assert_eq!(hyvm.reserved, 0x340);
        assert_eq!(Spec::get(Profile::Hyvm, Fork::Osaka, true).reserved, 0x460);
        let shanghai = Spec::get(Profile::Evm, Fork::Shanghai, false);
        assert_eq!(shanghai.kind[TLOAD as usize], OpKind::Unsupported);
        assert_eq!(
            Spec::get(Profile::Evm, Fork::Cancun, false).kind[TLOAD as usize],
            OpKind::Run
        );
        assert_eq!(
            Spec::get(Profile::Evm, Fork::Prague, false).kind[CLZ as usize],
            OpKind::Unsupported
        );
        assert_eq!(
            Spec::get(Profile::Evm, Fork::Osaka, false).kind[CLZ as usize],
            OpKind::Run
        );
        assert_eq!(Spec::get(Profile::Evm, Fork::Osaka, true).reserved, 0);
    }

    #[test]
    fn stack_bounds_come_from_the_opcode_table() {
        let evm = Spec::get(Profile::Evm, Fork::Osaka, false);
        assert_eq!(evm.stack_max[PUSH1 as usize], 1023);
        assert_eq!(evm.stack_min[ADD as usize], 2);
        assert_eq!(evm.stack_max[ADD as usize], 1024);
        assert_eq!(evm.stack_min[(SWAP1 + 15) as usize], 17);
        assert_eq!(evm.stack_max[(DUP1 + 15) as usize], 1023);
    }
}
