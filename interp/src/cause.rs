//! Why the hypervisor itself reverted (`hyvm`). On chain its refusals (a bad jump
//! destination, an opcode it does not run, a call to itself, the verifier build's guards) all
//! end in `revert(0,0)`, which a caller cannot tell from a guest's own empty revert. A
//! [`Cause`] names the refusal beside the result, which stays exactly as on chain.
//!
//! A cause is set only where a refusal is decided ([`crate::Frame::refuse`], and the driver's
//! answer to a direct call), never on a path that goes on, so running costs nothing for it.

use crate::opcode::OPCODES;
use crate::U256;
use std::fmt;

/// A revert the hypervisor decided, not the guest: where and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cause {
    /// Offset of the refused instruction in the code of the frame that reverted (a guest
    /// offset): the jump, the opcode, the guarded CALL or SSTORE. For
    /// [`CauseKind::DirectCall`], the CALL or STATICCALL in the calling frame's code, since the
    /// hypervisor ran no instruction of the callee's.
    pub pc: usize,
    /// Why.
    pub kind: CauseKind,
}

/// The hypervisor's reasons for reverting with empty data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CauseKind {
    /// A JUMP, or a JUMPI whose condition is non-zero, to a byte that is not `0x5B` or past
    /// the end of code (a plain EVM halts instead).
    BadJump {
        /// The destination the jump popped.
        to: U256,
    },
    /// An opcode the hypervisor has no handler for (unassigned bytes, CALLCODE,
    /// SELFDESTRUCT, the Cancun-and-later opcodes): its jump table sends it to a revert.
    RefusedOpcode {
        /// The opcode byte.
        opcode: u8,
    },
    /// A CALL or STATICCALL to the hypervisor's own address: its start-up finds it is not
    /// running under DELEGATECALL. The call fails; the calling frame goes on.
    DirectCall,
    /// Verifier build: a guarded call (CALL, STATICCALL, DELEGATECALL) with no verifier
    /// address in the wallet's storage.
    NoVerifier,
    /// Verifier build: the call to the verifier failed (reverted or halted).
    VerifierFailed,
    /// Verifier build: the verifier answered, and the lowest bit of its answer is clear.
    CallRefused,
    /// Verifier build: the store guard refused an SSTORE (the wallet has an owner, and it is
    /// not CALLER).
    StoreRefused,
}

impl CauseKind {
    /// The snake-case name used in JSON output (`kind`).
    pub fn name(self) -> &'static str {
        match self {
            CauseKind::BadJump { .. } => "bad_jump",
            CauseKind::RefusedOpcode { .. } => "refused_opcode",
            CauseKind::DirectCall => "direct_call",
            CauseKind::NoVerifier => "no_verifier",
            CauseKind::VerifierFailed => "verifier_failed",
            CauseKind::CallRefused => "call_refused",
            CauseKind::StoreRefused => "store_refused",
        }
    }
}

/// One line for people: `bad jump to 0x5 at pc 2`.
impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pc = self.pc;
        match self.kind {
            CauseKind::BadJump { to } => write!(f, "bad jump to {to:#x} at pc {pc}"),
            CauseKind::RefusedOpcode { opcode } => {
                let name = OPCODES[opcode as usize].map_or("unassigned", |i| i.name);
                write!(
                    f,
                    "opcode {opcode:#04x} ({name}) at pc {pc} refused by the hypervisor"
                )
            }
            CauseKind::DirectCall => write!(
                f,
                "call to the hypervisor itself at pc {pc} (it runs only under DELEGATECALL)"
            ),
            CauseKind::NoVerifier => write!(f, "no verifier set for the call at pc {pc}"),
            CauseKind::VerifierFailed => {
                write!(f, "the verifier failed on the call at pc {pc}")
            }
            CauseKind::CallRefused => write!(f, "the verifier refused the call at pc {pc}"),
            CauseKind::StoreRefused => write!(
                f,
                "the store guard refused the SSTORE at pc {pc} (the wallet's owner is not the caller)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_reads_as_one_line() {
        let line = |kind| Cause { pc: 2, kind }.to_string();
        assert_eq!(
            line(CauseKind::BadJump { to: U256::from(5) }),
            "bad jump to 0x5 at pc 2"
        );
        assert_eq!(
            line(CauseKind::RefusedOpcode { opcode: 0x5c }),
            "opcode 0x5c (TLOAD) at pc 2 refused by the hypervisor"
        );
        assert_eq!(
            line(CauseKind::RefusedOpcode { opcode: 0x0c }),
            "opcode 0x0c (unassigned) at pc 2 refused by the hypervisor"
        );
        for kind in [
            CauseKind::DirectCall,
            CauseKind::NoVerifier,
            CauseKind::VerifierFailed,
            CauseKind::CallRefused,
            CauseKind::StoreRefused,
        ] {
            assert!(!line(kind).contains('\n'), "{kind:?}");
            assert!(line(kind).contains("at pc 2"), "{kind:?}");
        }
    }
}
