//! Every opcode byte in both profiles: `evm` against revm at every fork; `hyvm` against the
//! `evm` result (the same outcome for every opcode the hypervisor runs, a revert with empty
//! data for the ones it refuses).

mod common;

use common::{diff_evm, evm_config, hyvm_config};
use nestedvm::interp::opcode::{self, OPCODES};
use nestedvm::interp::spec::{OpKind, Spec};
use nestedvm::{Fork, Profile, Request, Status, Vm, U256};

/// Stack arguments, deepest first, so that the top is 0x20 (an offset, a harmless address,
/// a shift amount) and the rest are small.
const ARGS: [u64; 7] = [7, 0x40, 1, 2, 0x1f, 3, 0x20];

/// Returns the top of the stack as 32 bytes.
const RETURN_TOP: [u8; 6] = [
    opcode::PUSH0,
    opcode::MSTORE,
    opcode::PUSH1,
    32,
    opcode::PUSH0,
    opcode::RETURN,
];

fn program(op: u8) -> Vec<u8> {
    let mut code = Vec::new();
    for a in ARGS {
        code.extend_from_slice(&[opcode::PUSH1, a as u8]);
    }
    code.push(op);
    if (opcode::PUSH1..=opcode::PUSH32).contains(&op) {
        code.extend(std::iter::repeat_n(0x11, (op - opcode::PUSH1 + 1) as usize));
    }
    let outputs = OPCODES[op as usize].map_or(0, |i| i.outputs);
    if outputs > 0 {
        code.extend_from_slice(&RETURN_TOP);
    }
    code
}

fn request(op: u8) -> Request {
    let mut req = Request::new(program(op));
    req.gas = 200_000;
    req.accounts = common::gen::world_accounts();
    req
}

#[test]
fn every_opcode_agrees_with_revm_at_every_fork() {
    let mut failures = Vec::new();
    for fork in Fork::ALL {
        for op in 0..=255u8 {
            if let Err(e) = diff_evm(fork, &request(op)) {
                failures.push(format!("{fork} {op:#04x}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_opcode_in_hyvm_matches_evm_or_is_refused() {
    let spec = Spec::get(Profile::Hyvm, Fork::Osaka, false);
    let mut ran = 0;
    for op in 0..=255u8 {
        let req = request(op);
        let h = common::run_request(&hyvm_config(), &req);
        if spec.kind[op as usize] == OpKind::Unsupported {
            assert_eq!((h.status, h.output.len()), (Status::Revert, 0), "{op:#04x}");
            // The refusal costs its dispatch and handler (65 + 6); the rest is kept.
            assert!(
                h.gas_used < 5_000,
                "{op:#04x} keeps its gas: used {}",
                h.gas_used
            );
            continue;
        }
        if matches!(op, opcode::JUMP | opcode::JUMPI) {
            // 0x20 is not a JUMPDEST: evm halts, hyvm reverts (tests/hyvm.rs).
            assert_eq!((h.status, h.output.len()), (Status::Revert, 0), "{op:#04x}");
            continue;
        }
        let e = Vm::new().run(&evm_config(Fork::Osaka), &req).expect("runs");
        ran += 1;
        assert_eq!(h.status, e.status, "{op:#04x}");
        assert_eq!(h.reason, e.reason, "{op:#04x}");
        assert_eq!(h.storage, e.storage, "{op:#04x}");
        assert_eq!(h.logs, e.logs, "{op:#04x}");
        if op != opcode::GAS {
            // GAS sees the on-chain model in hyvm (tests/hyvm_gas.rs).
            assert_eq!(h.output, e.output, "{op:#04x}");
        }
    }
    assert!(ran > 130, "only {ran} opcodes compared");
}

#[test]
fn arithmetic_and_bitwise_opcodes_agree_with_revm_on_edge_words() {
    // Arithmetic and bitwise opcodes over edge-case words, against revm.
    let words = [
        U256::zero(),
        U256::one(),
        U256::MAX,
        U256::one() << 255,
        (U256::one() << 255) - 1,
        U256::from(31),
        U256::from(256),
        U256::from(0xff),
    ];
    let mut failures = Vec::new();
    for op in (0x01..=0x0bu8).chain(0x10..=0x1e) {
        let Some(info) = OPCODES[op as usize] else {
            continue;
        };
        for a in &words {
            for b in &words {
                for c in &words[..3] {
                    let mut code = Vec::new();
                    for w in [c, b, a].iter().skip(3 - info.inputs as usize) {
                        code.push(opcode::PUSH32);
                        code.extend_from_slice(&w.to_big_endian());
                    }
                    code.push(op);
                    code.extend_from_slice(&RETURN_TOP);
                    if let Err(e) = diff_evm(Fork::Osaka, &Request::new(code)) {
                        failures.push(format!("{op:#04x} {a:#x} {b:#x} {c:#x}: {e}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_evm_stack_holds_1024_items_and_the_hyvm_guest_1021() {
    let cases = |profile_limit: usize| {
        [
            (profile_limit, None, true),
            (profile_limit + 1, None, false),
            (profile_limit, Some(opcode::DUP1), false),
            (profile_limit - 1, Some(opcode::DUP1), true),
        ]
    };
    let expected = |ok: bool| {
        if ok {
            (Status::Success, None)
        } else {
            (Status::Halt, Some(nestedvm::HaltReason::StackOverflow))
        }
    };
    for (n, tail, ok) in cases(1024) {
        let mut code = vec![opcode::PUSH0; n];
        code.extend(tail);
        let e = diff_evm(Fork::Osaka, &Request::new(code)).unwrap_or_else(|d| panic!("{n}: {d}"));
        assert_eq!((e.status, e.reason), expected(ok), "evm {n} {tail:?}");
    }
    // In hyvm the hypervisor's handler and dispatch share the stack (docs/hyvm.md, X = 4 for
    // PUSH0 and DUP1); tests/hyvm_onchain.rs checks every opcode against the real one.
    for (n, tail, ok) in cases(1021) {
        let mut code = vec![opcode::PUSH0; n];
        code.extend(tail);
        let h = common::run_request(&hyvm_config(), &Request::new(code));
        assert_eq!((h.status, h.reason), expected(ok), "hyvm {n} {tail:?}");
    }
}

/// PUSH2 then JUMP or JUMPI, as compilers write jumps to known destinations (the interpreter
/// takes such a JUMP without the stack): every kind of destination and condition, with the
/// pair inside one block, the block cut between them, or cut just before them; against revm
/// in `evm` and the real hypervisor (and the JIT) in `hyvm`, with gas running out at every
/// instruction near the jump.
#[test]
fn a_pushed_destination_jumps_as_it_does_through_the_stack() {
    // None, zero, one, and a word whose only set bit is in its top limb.
    let mut top_bit = vec![opcode::PUSH32, 0x80];
    top_bit.resize(33, 0);
    let conditions = [
        vec![],
        vec![opcode::PUSH1, 0],
        vec![opcode::PUSH1, 1],
        top_bit,
    ];
    // Instructions a straight run may have in one block (`interp::blocks`).
    const BLOCK_LIMIT: usize = 1023;
    let mut failures = Vec::new();
    let mut programs = 0;
    for condition in &conditions {
        let before_push2 = usize::from(!condition.is_empty());
        // Instructions ahead of the condition: none, so many that the PUSH2 ends a block, and
        // one more, so that the PUSH2 starts the next.
        for straight_run in [
            0,
            BLOCK_LIMIT - 1 - before_push2,
            BLOCK_LIMIT - before_push2,
        ] {
            for jump in [opcode::JUMP, opcode::JUMPI] {
                let mut head: Vec<u8> = (0..straight_run)
                    .map(|i| {
                        if i % 2 == 0 {
                            opcode::PUSH0
                        } else {
                            opcode::POP
                        }
                    })
                    .collect();
                head.extend_from_slice(condition);
                // PUSH2 d, the jump, STOP, PUSH2 0x5b00 (a 0x5B in push data), then the
                // JUMPDEST, which returns a byte.
                let push2 = head.len();
                let in_data = push2 + 6;
                let jumpdest = push2 + 8;
                for destination in [jumpdest, jumpdest + 1, in_data, in_data - 1, 0xffff] {
                    let mut code = head.clone();
                    code.extend_from_slice(&[
                        opcode::PUSH1 + 1,
                        (destination >> 8) as u8,
                        destination as u8,
                        jump,
                        opcode::STOP,
                        opcode::PUSH1 + 1,
                        opcode::JUMPDEST,
                        0,
                        opcode::JUMPDEST,
                        opcode::PUSH1,
                        1,
                        opcode::PUSH0,
                        opcode::RETURN,
                    ]);
                    assert_eq!(code[jumpdest], opcode::JUMPDEST);
                    programs += 1;
                    let name =
                        format!("run {straight_run}, {condition:x?}, {jump:#x} to {destination}");
                    let mut req = Request::new(code);
                    req.gas = 1_000_000;
                    let full = match diff_evm(Fork::Osaka, &req) {
                        Ok(o) => o.gas_used,
                        Err(e) => {
                            failures.push(format!("evm {name}: {e}"));
                            continue;
                        }
                    };
                    for gas in full.saturating_sub(40)..=full {
                        req.gas = gas;
                        if let Err(e) = diff_evm(Fork::Osaka, &req) {
                            failures.push(format!("evm {name}, gas {gas}: {e}"));
                        }
                    }
                    // Panics on a difference from the JIT or the real hypervisor.
                    req.gas = 1_000_000;
                    let full = common::run_request(&hyvm_config(), &req).gas_used;
                    if straight_run == 0 {
                        for gas in (full.saturating_sub(400)..=full).step_by(3) {
                            req.gas = gas;
                            common::run_request(&hyvm_config(), &req);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(programs, 120);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
