//! A seeded generator of guest programs for differential tests: mostly valid code (pushes of
//! useful values, every opcode, jumps to real JUMPDESTs, calls into a small world) and some
//! raw bytes.

use nestedvm::interp::opcode::{self, OPCODES};
use nestedvm::{Account, Address, Request, U256};

/// splitmix64: small, seeded, good enough to spread programs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Accounts of the small world every generated program can call.
pub fn world_accounts() -> Vec<(Address, Account)> {
    let asm = |t: &str| nestedvm::interp::asm::assemble(t).expect("world code assembles");
    vec![
        // Echoes caller, value and a storage write, returns 64 bytes.
        (Address::from_low_u64_be(0x1000), Account::new(U256::from(1000), 1, asm(
            "CALLER PUSH0 MSTORE CALLVALUE PUSH1 32 MSTORE PUSH1 7 PUSH1 1 SSTORE PUSH1 1 PUSH1 2 PUSH1 3 LOG1 PUSH1 64 PUSH0 RETURN",
        ))),
        // Reverts with 4 bytes after a write.
        (Address::from_low_u64_be(0x2000), Account::new(U256::zero(), 1, asm(
            "PUSH1 9 PUSH1 9 SSTORE PUSH4 0xdeadbeef PUSH0 MSTORE PUSH1 4 PUSH1 28 REVERT",
        ))),
        // Burns its gas.
        (Address::from_low_u64_be(0x3000), Account::new(U256::zero(), 1, asm("l: JUMPDEST PUSH @l JUMP"))),
        // Deploys a child and returns its address.
        (Address::from_low_u64_be(0x4000), Account::new(U256::from(5), 1, asm(
            "PUSH5 0x60016000f3 PUSH0 MSTORE PUSH1 5 PUSH1 27 PUSH0 CREATE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        ))),
        // A verifier for the hyvm verifier build: allows calls to odd target addresses.
        (Address::from_low_u64_be(0x7e71), Account::new(U256::zero(), 1, asm(
            "PUSH1 0x24 CALLDATALOAD PUSH1 1 AND PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        ))),
        // Runs a guest by CALLCODE into the hypervisor (in its own context) and returns the flag.
        (Address::from_low_u64_be(0x6000), Account::new(U256::zero(), 1, asm(
            "PUSH5 0x6001600755 PUSH0 MSTORE PUSH0 PUSH0 PUSH1 5 PUSH1 27 PUSH0 PUSH2 0x4879 GAS CALLCODE PUSH1 7 SLOAD ADD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        ))),
        // Empty, with a balance.
        (Address::from_low_u64_be(0x5000), Account::new(U256::from(77), 0, Vec::new())),
    ]
}

fn useful_value(rng: &mut Rng) -> U256 {
    match rng.below(16) {
        0..=5 => U256::from(rng.below(64)),
        12 => U256::from(rng.below(0x400)),
        13 | 14 => U256::from(32 * rng.below(16)),
        // Not the hypervisor (0x…4879): revm holds none; tests/hyvm*.rs cover it.
        6 => [
            0x1000u64, 0x2000, 0x3000, 0x4000, 0x5000, 0xc0de, 0xca11, 0x7e71,
        ][rng.below(8) as usize]
            .into(),
        7 => U256::from(1 + rng.below(0x11)),
        8 => U256::MAX - U256::from(rng.below(4)),
        9 => U256::one() << (rng.below(256) as usize),
        10 => U256::from(rng.next()),
        _ => U256([rng.next(), rng.next(), rng.next(), rng.next()]),
    }
}

fn push(code: &mut Vec<u8>, v: U256) {
    if v.is_zero() {
        code.push(opcode::PUSH0);
        return;
    }
    let n = v.bits().div_ceil(8);
    code.push(opcode::PUSH1 + (n - 1) as u8);
    code.extend_from_slice(&v.to_big_endian()[32 - n..]);
}

/// A random program of roughly `len` items.
pub fn program(rng: &mut Rng, len: usize) -> Vec<u8> {
    program_excluding(rng, len, &[])
}

/// A random program that never uses the `excluded` opcodes (outside push data).
pub fn program_excluding(rng: &mut Rng, len: usize, excluded: &[u8]) -> Vec<u8> {
    let assigned: Vec<u8> = (0..=255u8)
        .filter(|&op| OPCODES[op as usize].is_some() && !excluded.contains(&op))
        .collect();
    let mut code = Vec::new();
    let mut height = 0usize;
    for _ in 0..4 + rng.below(12) {
        push(&mut code, useful_value(rng));
        height += 1;
    }
    let mut jumpdests = Vec::new();
    let mut patches = Vec::new();
    for _ in 0..len {
        match rng.below(100) {
            0..=34 => {
                push(&mut code, useful_value(rng));
                height += 1;
            }
            35..=84 => {
                let op = assigned[rng.below(assigned.len() as u64) as usize];
                if matches!(op, opcode::JUMP | opcode::JUMPI) && rng.chance(80) {
                    continue;
                }
                // Fewer early endings so programs get somewhere.
                if matches!(
                    op,
                    opcode::STOP
                        | opcode::RETURN
                        | opcode::REVERT
                        | opcode::INVALID
                        | opcode::SELFDESTRUCT
                ) && rng.chance(80)
                {
                    continue;
                }
                let info = OPCODES[op as usize].expect("assigned");
                // Mostly keep the stack deep enough for the instruction.
                while height < info.inputs as usize && rng.chance(95) {
                    push(&mut code, useful_value(rng));
                    height += 1;
                }
                if (opcode::PUSH1..=opcode::PUSH32).contains(&op) {
                    push(&mut code, useful_value(rng));
                } else {
                    code.push(op);
                }
                height = (height + info.outputs as usize).saturating_sub(info.inputs as usize);
            }
            85..=89 => {
                jumpdests.push(code.len());
                code.push(opcode::JUMPDEST);
            }
            90..=95 => {
                code.push(opcode::PUSH1 + 1);
                patches.push(code.len());
                code.extend_from_slice(&[0, 0]);
                if rng.chance(30) {
                    // A target computed at run time (a dynamic jump for the JIT).
                    code.extend_from_slice(&[opcode::PUSH0, opcode::ADD]);
                }
                if rng.chance(50) {
                    code.push(opcode::JUMP);
                } else {
                    push(&mut code, U256::from(rng.below(2)));
                    code.push(opcode::SWAP1);
                    code.push(opcode::JUMPI);
                }
            }
            96..=97 => {
                // A call to the world with small memory ranges.
                for v in [32u64, 0, 32, 0] {
                    push(&mut code, U256::from(rng.below(v + 1)));
                }
                push(&mut code, U256::from(rng.below(3)));
                push(
                    &mut code,
                    [0x1000u64, 0x2000, 0x3000, 0x4000, 0x5000, 2, 4][rng.below(7) as usize].into(),
                );
                push(&mut code, U256::from(rng.below(100_000)));
                let call = [
                    opcode::CALL,
                    opcode::CALL,
                    opcode::CALLCODE,
                    opcode::DELEGATECALL,
                    opcode::STATICCALL,
                ][rng.below(5) as usize];
                if matches!(call, opcode::DELEGATECALL | opcode::STATICCALL) {
                    // No value operand: drop it.
                    code.extend_from_slice(&[
                        opcode::SWAP1 + 1,
                        opcode::POP,
                        opcode::SWAP1,
                        opcode::SWAP1 + 1,
                    ]);
                }
                code.push(call);
                height += 1;
            }
            _ => {
                let b = rng.below(256) as u8;
                if !excluded.contains(&b) {
                    code.push(b);
                }
            }
        }
    }
    for p in patches {
        let forward: Vec<usize> = jumpdests.iter().copied().filter(|&d| d > p).collect();
        let target = if jumpdests.is_empty() || rng.chance(3) {
            rng.below(code.len() as u64 + 2) as usize
        } else if !forward.is_empty() && rng.chance(85) {
            forward[rng.below(forward.len() as u64) as usize]
        } else {
            jumpdests[rng.below(jumpdests.len() as u64) as usize]
        };
        code[p] = (target >> 8) as u8;
        code[p + 1] = target as u8;
    }
    match rng.below(5) {
        0 => code.extend_from_slice(&[0x60, 0x40, 0x5f, 0xf3]),
        1 => code.push(opcode::STOP),
        2 => code.extend_from_slice(&[0x60, 0x20, 0x5f, 0xfd]),
        _ => {}
    }
    code
}

/// A request running a random program in the small world.
pub fn request(rng: &mut Rng) -> Request {
    let len = 5 + rng.below(60) as usize;
    let mut req = Request::new(program(rng, len));
    req.gas = [30_000, 100_000, 1_000_000][rng.below(3) as usize];
    req.accounts = world_accounts();
    req.value = U256::from(rng.below(3));
    req.calldata = (0..rng.below(70)).map(|_| rng.next() as u8).collect();
    if rng.chance(30) {
        req.storage = vec![(U256::from(rng.below(4)), U256::from(rng.below(3)))];
    }
    req
}
