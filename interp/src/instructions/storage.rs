//! SLOAD, SSTORE (EIP-2200/2929/3529), TLOAD, TSTORE (EIP-1153).

use super::{charge, require_non_static, try_halt, Step};
use crate::frame::{Frame, HaltReason};
use crate::gas;
use crate::host::Host;
use crate::hyvm::{self, StoreGuard};

/// SLOAD.
pub fn sload<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    let key = frame.stack.pop();
    let (value, cold) = host.sload(frame.context.address, key);
    charge!(frame, gas::sload_cost(cold));
    try_halt!(frame, frame.take_host_growth(host));
    frame.stack.push(value);
    Step::Continue
}

/// SSTORE.
pub fn sstore<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    let (key, value) = if frame.spec.verifier {
        match hyvm::store_guard(frame, host) {
            StoreGuard::Stopped => return Step::Exit,
            // The guard needs one stack item, a plain store two.
            StoreGuard::Plain if frame.stack.len() < 2 => {
                frame.halt(HaltReason::StackUnderflow);
                return Step::Exit;
            }
            StoreGuard::Plain => (frame.stack.pop(), frame.stack.pop()),
            StoreGuard::Redirect(owner) => (owner, frame.stack.pop()),
        }
    } else {
        (frame.stack.pop(), frame.stack.pop())
    };
    require_non_static!(frame);
    if frame.gas.remaining <= gas::SSTORE_STIPEND_GUARD {
        frame.halt(HaltReason::OutOfGas);
        return Step::Exit;
    }
    let r = host.sstore(frame.context.address, key, value);
    charge!(
        frame,
        gas::sstore_cost(&r.original, &r.current, &value, r.is_cold)
    );
    frame.gas.refund += gas::sstore_refund(&r.original, &r.current, &value);
    try_halt!(frame, frame.take_host_growth(host));
    Step::Continue
}

/// TLOAD.
pub fn tload<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    let key = frame.stack.pop();
    let value = host.tload(frame.context.address, key);
    frame.stack.push(value);
    Step::Continue
}

/// TSTORE.
pub fn tstore<H: Host>(frame: &mut Frame, host: &mut H) -> Step {
    require_non_static!(frame);
    let key = frame.stack.pop();
    let value = frame.stack.pop();
    host.tstore(frame.context.address, key, value);
    try_halt!(frame, frame.take_host_growth(host));
    Step::Continue
}
