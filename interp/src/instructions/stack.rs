//! POP, PUSH0-PUSH32, DUP1-16, SWAP1-16.

use super::Step;
use crate::frame::Frame;
use crate::host::Host;
use crate::opcode;
use crate::U256;

/// The opcode being executed (the loop has already moved `pc` past it).
#[inline(always)]
pub(crate) fn current_opcode(frame: &Frame) -> u8 {
    frame.code.padded()[frame.pc - 1]
}

/// POP.
pub fn pop<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.stack.pop();
    Step::Continue
}

/// PUSH0.
pub fn push0<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    frame.stack.push(U256::zero());
    Step::Continue
}

/// PUSH1-PUSH32: the immediate is zero padded past the end of code.
pub fn push<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let n = (current_opcode(frame) - opcode::PUSH1 + 1) as usize;
    let start = frame.pc;
    let value = U256::from_big_endian(&frame.code.padded()[start..start + n]);
    frame.stack.push(value);
    frame.pc += n;
    Step::Continue
}

/// DUP1-DUP16.
pub fn dup<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let n = (current_opcode(frame) - opcode::DUP1 + 1) as usize;
    frame.stack.dup(n);
    Step::Continue
}

/// SWAP1-SWAP16.
pub fn swap<H: Host>(frame: &mut Frame, _: &mut H) -> Step {
    let n = (current_opcode(frame) - opcode::SWAP1 + 1) as usize;
    frame.stack.swap(n);
    Step::Continue
}
