//! The generator of programs for differential testing, shared by `difftest`, the tests and the
//! fuzz targets: mostly valid code (pushes of useful values, every opcode, jumps to real
//! JUMPDESTs, calls into a small world) and some raw bytes. [`program_with`] adds, on request,
//! bounded loops, memory at small and huge offsets, logs, nested calls, reverting creations
//! and jumps into push data.
//!
//! Every decision is drawn from a [`Choices`]: a seeded [`Rng`] for campaigns, or
//! [`ByteChoices`] over a fuzzer's input, so mutating the input mutates the program locally.

use super::defi::RevmcWorld;
use nestedvm::interp::opcode::{self, OPCODES};
use nestedvm::{Account, Address, Profile, Request, U256};

/// Where the generator draws its decisions from.
pub trait Choices {
    /// The next 64 random bits.
    fn next(&mut self) -> u64;

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// splitmix64: small, seeded, good enough to spread programs.
pub struct Rng(pub u64);

impl Choices for Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Decisions read from a fuzzer's bytes, eight at a time; zeros once they run out (every loop
/// of the generator is bounded, so zeros end it).
pub struct ByteChoices<'a>(pub &'a [u8]);

impl Choices for ByteChoices<'_> {
    fn next(&mut self) -> u64 {
        let n = self.0.len().min(8);
        let (word, rest) = self.0.split_at(n);
        self.0 = rest;
        let mut bytes = [0u8; 8];
        bytes[..n].copy_from_slice(word);
        u64::from_le_bytes(bytes)
    }
}

/// Accounts of the small world every generated program can call.
pub fn world_accounts() -> Vec<(Address, Account)> {
    // Constant sources: they assemble, and `tests/jit.rs` runs them.
    let asm = |t: &str| nestedvm::interp::asm::assemble(t).unwrap_or_default();
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

fn useful_value(rng: &mut (impl Choices + ?Sized)) -> U256 {
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

/// The shortest push of `v` (PUSH0 for zero).
pub(crate) fn push(code: &mut Vec<u8>, v: U256) {
    if v.is_zero() {
        code.push(opcode::PUSH0);
        return;
    }
    let n = v.bits().div_ceil(8);
    code.push(opcode::PUSH1 + (n - 1) as u8);
    code.extend_from_slice(&v.to_big_endian()[32 - n..]);
}

/// A random program of roughly `len` items.
pub fn program(rng: &mut (impl Choices + ?Sized), len: usize) -> Vec<u8> {
    program_excluding(rng, len, &[])
}

/// A random program that never uses the `excluded` opcodes (outside push data).
pub fn program_excluding(
    rng: &mut (impl Choices + ?Sized),
    len: usize,
    excluded: &[u8],
) -> Vec<u8> {
    program_with(rng, len, excluded, None)
}

/// A random program that never uses the `excluded` opcodes (outside push data); with
/// `rich: Some(profile)`, about one item in seven is one of the [`rich_item`]s for that
/// profile. With `None`, the same choices give the same program as [`program_excluding`]
/// always did, so the tests' seeds keep their programs.
pub fn program_with(
    rng: &mut (impl Choices + ?Sized),
    len: usize,
    excluded: &[u8],
    rich: Option<Profile>,
) -> Vec<u8> {
    program_in(rng, len, excluded, rich, None)
}

/// [`program_with`] calling the contracts of a [`RevmcWorld`]: about one item in three (in
/// half the programs, most items) is a call (or a short sequence of calls) into them, and an audit of their balances comes
/// before the ending. With `world` `None`, exactly [`program_with`].
pub fn program_in(
    rng: &mut (impl Choices + ?Sized),
    len: usize,
    excluded: &[u8],
    rich: Option<Profile>,
    world: Option<&RevmcWorld>,
) -> Vec<u8> {
    let assigned: Vec<u8> = (0..=255u8)
        .filter(|&op| OPCODES[op as usize].is_some() && !excluded.contains(&op))
        .collect();
    let mut p = ProgramBuilder::default();
    for _ in 0..4 + rng.below(12) {
        p.push_value(useful_value(rng));
    }
    // Half the programs are mostly calls, and fewer items (each call costs tens of
    // thousands of gas): fewer random items that could halt them before their calls' logs
    // and records count.
    let (density, len) = match world {
        Some(_) if rng.chance(50) => (85, 2 + len / 5),
        _ => (35, len),
    };
    for _ in 0..len {
        if let Some(world) = world.filter(|_| rng.chance(density)) {
            world.item(rng, &mut p.code);
            continue;
        }
        if let Some(profile) = rich.filter(|_| rng.chance(15)) {
            rich_item(rng, &mut p.code, excluded, profile);
            continue;
        }
        match rng.below(100) {
            0..=34 => p.push_value(useful_value(rng)),
            35..=84 => p.instruction(rng, &assigned),
            85..=89 => {
                p.jumpdests.push(p.code.len());
                p.code.push(opcode::JUMPDEST);
            }
            90..=95 => p.jump(rng),
            96..=97 => p.world_call(rng),
            _ => {
                let b = rng.below(256) as u8;
                if !excluded.contains(&b) {
                    p.code.push(b);
                }
            }
        }
    }
    p.patch_jumps(rng);
    if let Some(world) = world {
        world.audit(&mut p.code);
    }
    match rng.below(5) {
        0 => p.code.extend_from_slice(&[0x60, 0x40, 0x5f, 0xf3]),
        1 => p.code.push(opcode::STOP),
        2 => p.code.extend_from_slice(&[0x60, 0x20, 0x5f, 0xfd]),
        _ => {}
    }
    p.code
}

/// A program being generated: its code, the stack height it assumes, and its jumps, whose
/// targets are patched in once every JUMPDEST is placed.
#[derive(Default)]
struct ProgramBuilder {
    code: Vec<u8>,
    height: usize,
    jumpdests: Vec<usize>,
    /// Offsets of the PUSH2 operands of jumps, to point at a JUMPDEST later.
    patches: Vec<usize>,
}

impl ProgramBuilder {
    fn push_value(&mut self, v: U256) {
        push(&mut self.code, v);
        self.height += 1;
    }

    /// A random assigned opcode, mostly with enough stack under it; jumps and endings mostly
    /// skipped, so programs get somewhere.
    fn instruction(&mut self, rng: &mut (impl Choices + ?Sized), assigned: &[u8]) {
        let op = assigned[rng.below(assigned.len() as u64) as usize];
        if matches!(op, opcode::JUMP | opcode::JUMPI) && rng.chance(80) {
            return;
        }
        if matches!(
            op,
            opcode::STOP | opcode::RETURN | opcode::REVERT | opcode::INVALID | opcode::SELFDESTRUCT
        ) && rng.chance(80)
        {
            return;
        }
        let Some(info) = OPCODES[op as usize] else {
            return;
        };
        while self.height < info.inputs as usize && rng.chance(95) {
            self.push_value(useful_value(rng));
        }
        if (opcode::PUSH1..=opcode::PUSH32).contains(&op) {
            push(&mut self.code, useful_value(rng));
        } else {
            self.code.push(op);
        }
        self.height = (self.height + info.outputs as usize).saturating_sub(info.inputs as usize);
    }

    /// A JUMP or JUMPI to a target patched in later, sometimes computed at run time.
    fn jump(&mut self, rng: &mut (impl Choices + ?Sized)) {
        self.code.push(opcode::PUSH1 + 1);
        self.patches.push(self.code.len());
        self.code.extend_from_slice(&[0, 0]);
        if rng.chance(30) {
            // A target computed at run time (a dynamic jump for the JIT): plus `v ^ v` for
            // the call value `v`, which the compiler cannot fold (it folds `PUSH0 ADD`).
            self.code.extend_from_slice(&[
                opcode::CALLVALUE,
                opcode::DUP1,
                opcode::XOR,
                opcode::ADD,
            ]);
        }
        if rng.chance(50) {
            self.code.push(opcode::JUMP);
        } else {
            push(&mut self.code, U256::from(rng.below(2)));
            self.code.push(opcode::SWAP1);
            self.code.push(opcode::JUMPI);
        }
    }

    /// A call to the small world's accounts with small memory ranges.
    fn world_call(&mut self, rng: &mut (impl Choices + ?Sized)) {
        for v in [32u64, 0, 32, 0] {
            push(&mut self.code, U256::from(rng.below(v + 1)));
        }
        push(&mut self.code, U256::from(rng.below(3)));
        push(
            &mut self.code,
            [0x1000u64, 0x2000, 0x3000, 0x4000, 0x5000, 2, 4][rng.below(7) as usize].into(),
        );
        push(&mut self.code, U256::from(rng.below(100_000)));
        let call = [
            opcode::CALL,
            opcode::CALL,
            opcode::CALLCODE,
            opcode::DELEGATECALL,
            opcode::STATICCALL,
        ][rng.below(5) as usize];
        if matches!(call, opcode::DELEGATECALL | opcode::STATICCALL) {
            // No value operand: drop it.
            self.code.extend_from_slice(&[
                opcode::SWAP1 + 1,
                opcode::POP,
                opcode::SWAP1,
                opcode::SWAP1 + 1,
            ]);
        }
        self.code.push(call);
        self.height += 1;
    }

    /// Points every jump at a JUMPDEST, mostly a forward one, sometimes anywhere.
    fn patch_jumps(&mut self, rng: &mut (impl Choices + ?Sized)) {
        for &p in &self.patches {
            let forward: Vec<usize> = self.jumpdests.iter().copied().filter(|&d| d > p).collect();
            let target = if self.jumpdests.is_empty() || rng.chance(3) {
                rng.below(self.code.len() as u64 + 2) as usize
            } else if !forward.is_empty() && rng.chance(85) {
                forward[rng.below(forward.len() as u64) as usize]
            } else {
                self.jumpdests[rng.below(self.jumpdests.len() as u64) as usize]
            };
            self.code[p] = (target >> 8) as u8;
            self.code[p + 1] = target as u8;
        }
    }
}

/// A request running a random program in the small world.
pub fn request(rng: &mut (impl Choices + ?Sized)) -> Request {
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

/// The accounts of [`world_accounts`] and three more that make nested frames: one that calls
/// two others and returns both flags, one that recurses into itself up to five deep through
/// its storage counter, and one whose callee logs before it reverts.
pub fn rich_world_accounts() -> Vec<(Address, Account)> {
    // Constant sources: they assemble, and the difftest tests run them.
    let asm = |t: &str| nestedvm::interp::asm::assemble(t).unwrap_or_default();
    let mut accounts = world_accounts();
    accounts.extend([
        (Address::from_low_u64_be(0x8000), Account::new(U256::from(3), 1, asm(
            "PUSH0 PUSH0 PUSH0 PUSH0 PUSH1 1 PUSH2 0x1000 PUSH3 0x100000 CALL PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x2000 PUSH3 0x100000 STATICCALL ADD PUSH0 MSTORE RETURNDATASIZE PUSH1 32 MSTORE PUSH1 64 PUSH0 RETURN",
        ))),
        (Address::from_low_u64_be(0x9000), Account::new(U256::zero(), 1, asm(
            "PUSH0 SLOAD PUSH1 1 ADD DUP1 PUSH0 SSTORE PUSH1 4 LT PUSH @end JUMPI PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x9000 PUSH3 0x100000 CALL POP end: JUMPDEST PUSH0 SLOAD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        ))),
        (Address::from_low_u64_be(0xa000), Account::new(U256::zero(), 1, asm(
            "PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH2 0x1000 PUSH3 0x100000 CALL PUSH0 MSTORE PUSH1 32 PUSH0 REVERT",
        ))),
    ]);
    accounts
}

/// A memory offset: small, word-aligned, past the first page, or huge (`2^160 + k` aliases
/// `k` in `hyvm`; the others run out of gas).
fn memory_offset(rng: &mut (impl Choices + ?Sized)) -> U256 {
    match rng.below(16) {
        0..=7 => U256::from(rng.below(0x100)),
        8..=10 => U256::from(32 * rng.below(64)),
        11 => U256::from(0x1_0000 + rng.below(0x1000)),
        12 | 13 => (U256::one() << 160) + U256::from(rng.below(0x40)),
        14 => U256::from(u32::MAX) + U256::from(rng.below(2)),
        _ => U256::MAX - U256::from(rng.below(0x40)),
    }
}

/// Whether `code` uses an `excluded` opcode outside push data.
fn uses_any(code: &[u8], excluded: &[u8]) -> bool {
    let mut pc = 0;
    while pc < code.len() {
        if excluded.contains(&code[pc]) {
            return true;
        }
        pc += 1 + nestedvm::interp::analysis::immediate_len(code[pc]);
    }
    false
}

/// One of the constructs plain random items rarely make: a bounded loop, a memory access at a
/// small or huge offset, a log, a call into the nested accounts of [`rich_world_accounts`], a
/// creation whose init code succeeds or reverts, a jump into push data holding 0x5B (a
/// destination in `hyvm`; in `evm` the jump goes to the real JUMPDEST after it instead), a
/// KECCAK256 or RETURNDATACOPY over varied ranges. Each leaves the stack as it found it or one
/// item higher; one that would use an `excluded` opcode is dropped.
pub fn rich_item(
    rng: &mut (impl Choices + ?Sized),
    code: &mut Vec<u8>,
    excluded: &[u8],
    profile: Profile,
) {
    let base = code.len();
    let mut item = Vec::new();
    match rng.below(8) {
        0 => bounded_loop(rng, &mut item, base),
        1 => memory_access(rng, &mut item),
        2 => log(rng, &mut item),
        3 => nested_call(rng, &mut item),
        4 => creation(rng, &mut item),
        5 => jump_into_push_data(rng, &mut item, base, profile),
        6 => keccak(rng, &mut item),
        _ => return_data_copy(rng, &mut item),
    }
    if !uses_any(&item, excluded) {
        code.extend_from_slice(&item);
    }
}

/// A bounded loop: PUSH n; loop: JUMPDEST body; counter - 1; DUP1; JUMPI loop; POP.
fn bounded_loop(rng: &mut (impl Choices + ?Sized), item: &mut Vec<u8>, base: usize) {
    push(item, U256::from(1 + rng.below(8)));
    let head = base + item.len();
    item.push(opcode::JUMPDEST);
    for _ in 0..1 + rng.below(3) {
        match rng.below(4) {
            0 => {
                push(item, useful_value(rng));
                push(item, U256::from(32 * rng.below(8)));
                item.push(opcode::MSTORE);
            }
            1 => {
                push(item, useful_value(rng));
                push(item, useful_value(rng));
                item.push(
                    [opcode::ADD, opcode::MUL, opcode::EXP, opcode::SDIV][rng.below(4) as usize],
                );
                item.push(opcode::POP);
            }
            2 => {
                push(item, U256::from(rng.below(3)));
                push(item, U256::from(rng.below(4)));
                item.push(opcode::SSTORE);
            }
            _ => {
                push(item, U256::from(rng.below(4)));
                item.push(opcode::SLOAD);
                item.push(opcode::POP);
            }
        }
    }
    item.extend_from_slice(&[opcode::PUSH1, 1, opcode::SWAP1, opcode::SUB, opcode::DUP1]);
    item.push(opcode::PUSH1 + 1);
    item.extend_from_slice(&[(head >> 8) as u8, head as u8]);
    item.extend_from_slice(&[opcode::JUMPI, opcode::POP]);
}

/// An MSTORE, MSTORE8 or MLOAD at a small or huge offset.
fn memory_access(rng: &mut (impl Choices + ?Sized), item: &mut Vec<u8>) {
    let op = [opcode::MSTORE, opcode::MSTORE8, opcode::MLOAD][rng.below(3) as usize];
    if op != opcode::MLOAD {
        push(item, useful_value(rng));
    }
    push(item, memory_offset(rng));
    item.push(op);
    if op == opcode::MLOAD {
        item.push(opcode::POP);
    }
}

/// A LOG0 to LOG4 of a small range, at a small or huge offset.
fn log(rng: &mut (impl Choices + ?Sized), item: &mut Vec<u8>) {
    let topics = rng.below(5) as u8;
    for _ in 0..topics {
        push(item, useful_value(rng));
    }
    push(item, U256::from(rng.below(70)));
    push(
        item,
        if rng.chance(80) {
            U256::from(rng.below(0x80))
        } else {
            memory_offset(rng)
        },
    );
    item.push(opcode::LOG0 + topics);
}

/// A call into a nested account of [`rich_world_accounts`].
fn nested_call(rng: &mut (impl Choices + ?Sized), item: &mut Vec<u8>) {
    // A call into a nested account: out, out size, in, in size, (value), address, gas.
    for v in [64u64, 0, 32, 0] {
        push(item, U256::from(rng.below(v + 1)));
    }
    let kind = [
        opcode::CALL,
        opcode::DELEGATECALL,
        opcode::STATICCALL,
        opcode::CALLCODE,
    ][rng.below(4) as usize];
    if matches!(kind, opcode::CALL | opcode::CALLCODE) {
        push(item, U256::from(rng.below(2)));
    }
    push(
        item,
        U256::from([0x8000u64, 0x9000, 0xa000][rng.below(3) as usize]),
    );
    push(
        item,
        U256::from([5_000u64, 60_000, 400_000][rng.below(3) as usize]),
    );
    item.push(kind);
}

/// A CREATE or CREATE2 whose init code returns a byte, reverts, or stores then stops.
fn creation(rng: &mut (impl Choices + ?Sized), item: &mut Vec<u8>) {
    // Init code returning one byte, or reverting with it, or storing then returning.
    let init: &[u8] = match rng.below(3) {
        0 => &[0x60, 0x01, 0x60, 0x00, 0xf3],
        1 => &[0x60, 0x01, 0x60, 0x00, 0xfd],
        _ => &[0x60, 0x01, 0x5f, 0x55, 0x00],
    };
    push(item, U256::from_big_endian(init));
    item.extend_from_slice(&[opcode::PUSH0, opcode::MSTORE]);
    let create2 = rng.chance(40);
    if create2 {
        push(item, U256::from(rng.below(3)));
    }
    push(item, U256::from(init.len()));
    push(item, U256::from(32 - init.len()));
    push(item, U256::from(rng.below(2)));
    item.push(if create2 {
        opcode::CREATE2
    } else {
        opcode::CREATE
    });
}

/// A jump to the 0x5B inside push data: a destination in `hyvm`, where execution goes on
/// after it (or, one time in two, a jump to the byte after it); in `evm` the jump goes to the
/// real JUMPDEST after the push instead.
fn jump_into_push_data(
    rng: &mut (impl Choices + ?Sized),
    item: &mut Vec<u8>,
    base: usize,
    profile: Profile,
) {
    // [cond] PUSH2 target JUMP(I) PUSH2 0x5b XX: the target is the 0x5b inside the push
    // data (or, one time in two, the byte after it).
    let conditional = rng.chance(30);
    if conditional {
        push(item, U256::from(rng.below(2)));
    }
    let into_data = match profile {
        Profile::Hyvm => 5 + usize::from(rng.chance(50)),
        // PUSH2 0x5b XX, then the JUMPDEST below.
        Profile::Evm => 7,
    };
    let target = base + item.len() + into_data;
    item.push(opcode::PUSH1 + 1);
    item.extend_from_slice(&[(target >> 8) as u8, target as u8]);
    item.push(if conditional {
        opcode::JUMPI
    } else {
        opcode::JUMP
    });
    let next = [
        opcode::PUSH0,
        opcode::CALLER,
        opcode::PC,
        opcode::MSIZE,
        opcode::ADD,
    ][rng.below(5) as usize];
    item.extend_from_slice(&[opcode::PUSH1 + 1, opcode::JUMPDEST, next]);
    if profile == Profile::Evm {
        item.push(opcode::JUMPDEST);
    }
}

/// A KECCAK256 over a small range at a small or huge offset.
fn keccak(rng: &mut (impl Choices + ?Sized), item: &mut Vec<u8>) {
    push(item, U256::from(rng.below(0x60)));
    push(item, memory_offset(rng));
    item.extend_from_slice(&[opcode::KECCAK256, opcode::POP]);
}

/// A RETURNDATACOPY of the whole return data, or of a range that may be out of bounds.
fn return_data_copy(rng: &mut (impl Choices + ?Sized), item: &mut Vec<u8>) {
    // Mostly the whole return data; sometimes a range that may be out of bounds.
    if rng.chance(70) {
        item.extend_from_slice(&[opcode::RETURNDATASIZE, opcode::PUSH0]);
    } else {
        push(item, U256::from(rng.below(0x48)));
        push(item, U256::from(rng.below(0x40)));
    }
    push(item, U256::from(rng.below(0x80)));
    item.push(opcode::RETURNDATACOPY);
}
