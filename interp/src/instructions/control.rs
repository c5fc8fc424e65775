//! STOP, jumps, PC, GAS, JUMPDEST, RETURN, REVERT, INVALID and the refusal of unsupported opcodes.

use super::{as_u64, memory_range, try_halt, Step};
use crate::analysis::Bytecode;
use crate::cause::CauseKind;
use crate::frame::{Frame, HaltReason, Status};
use crate::host::Host;
use crate::U256;

/// STOP.
pub fn stop<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.finish(Status::Success, Vec::new());
    Step::Exit
}

/// Moves to where a jump to `target` lands ([`landing`]) or ends the frame as the profile
/// says for a bad destination: `evm` halts; `hyvm` pays the hypervisor's check, then reverts
/// with empty data and keeps the rest of the gas.
#[inline]
fn jump_to(frame: &mut Frame, target: U256) -> Step {
    match landing(&frame.code, frame.spec.is_hyvm(), &target) {
        Some(to) => {
            frame.pc = to;
            Step::Continue
        }
        _ if frame.spec.is_hyvm() => {
            if frame.gas.charge(frame.spec.bad_jump_gas) {
                frame.refuse(frame.pc - 1, CauseKind::BadJump { to: target });
            } else {
                frame.halt(HaltReason::OutOfGas);
            }
            Step::Exit
        }
        _ => {
            frame.halt(HaltReason::InvalidJump);
            Step::Exit
        }
    }
}

/// Where a jump to `target` lands in `code` when it is valid ([`Bytecode::jump_landing`]; a
/// target too large for an offset is no destination). Always inlined, here and into the block
/// runner's jumps, which a call would make spill their registers.
#[inline(always)]
pub(crate) fn landing(code: &Bytecode, hyvm: bool, target: &U256) -> Option<usize> {
    let dest = usize::try_from(as_u64(target)?).ok()?;
    code.jump_landing(hyvm, dest)
}

/// JUMP.
pub fn jump<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let target = frame.stack.pop();
    jump_to(frame, target)
}

/// JUMPI: the destination is checked only when the jump is taken.
pub fn jumpi<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let target = frame.stack.pop();
    let cond = frame.stack.pop();
    if crate::word::is_zero(&cond) {
        Step::Continue
    } else if frame.gas.charge(frame.spec.jumpi_taken_gas) {
        jump_to(frame, target)
    } else {
        frame.halt(HaltReason::OutOfGas);
        Step::Exit
    }
}

/// JUMPDEST.
pub fn jumpdest<H: Host>(_: &mut Frame, _: &mut H) -> Step {
    Step::Continue
}

/// PC: the offset of the PC opcode itself.
pub fn pc<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.stack.push(U256::from(frame.pc - 1));
    Step::Continue
}

/// GAS: what is left after this instruction's own cost.
pub fn gas<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.stack.push(U256::from(frame.gas.remaining));
    Step::Continue
}

fn return_with(frame: &mut Frame, status: Status) -> Step {
    let offset = frame.stack.pop();
    let len = frame.stack.pop();
    let (off, len) = try_halt!(frame, memory_range(frame, &offset, &len));
    try_halt!(frame, frame.reserve_copy(len));
    let output = if len == 0 {
        Vec::new()
    } else {
        frame.memory.slice(off, len).to_vec()
    };
    frame.finish(status, output);
    Step::Exit
}

/// RETURN.
pub fn ret<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    return_with(frame, Status::Success)
}

/// REVERT.
pub fn revert<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    return_with(frame, Status::Revert)
}

/// INVALID (0xFE): exceptional halt.
pub fn invalid<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.halt(HaltReason::Invalid);
    Step::Exit
}

/// An opcode the spec does not run: `evm` halts, `hyvm` reverts with empty data.
pub fn unsupported<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    if frame.spec.is_hyvm() {
        let pc = frame.pc - 1;
        let opcode = frame.code.padded()[pc];
        frame.refuse(pc, CauseKind::RefusedOpcode { opcode });
    } else {
        frame.halt(HaltReason::InvalidOpcode);
    }
    Step::Exit
}
