//! The synthetic benchmark programs, written with the project's assembler. Each does checked
//! work (the tests compute its result in Rust) and takes about 1–50 ms on the interpreter
//! (`arith-loop`, 1M iterations, takes longer). None reads call data, so
//! each runs in both profiles.

use super::programs::Program;
use nestedvm::interp::asm::assemble;

/// Gas given to the synthetic programs: enough for the largest in `hyvm`, where every guest
/// instruction costs the hypervisor's dispatch too (`arith-loop` needs about 10^9).
pub const SYNTHETIC_GAS: u64 = 10_000_000_000;

/// `fib`: iterations; it returns fib(FIB_N) mod 2^256 (fib(0) = 0, fib(1) = 1).
pub const FIB_N: u32 = 100_000;
/// `arith-loop`: iterations of `acc = acc * 3 + i` for i in 1..=ARITH_N; it returns acc.
pub const ARITH_N: u32 = 1_000_000;
/// `keccak-loop`: iterations of `h = keccak256(h)` from h = 0; it returns h.
pub const KECCAK_N: u32 = 20_000;
/// `memcopy-loop`: words in each of its two 8 KiB regions.
pub const MEMCOPY_WORDS: u32 = 256;
/// `memcopy-loop`: passes. Region A starts as words 1..=256; each pass copies one region
/// into the other word by word, rotated by one word (`dst[(i + 1) % 256] = src[i]`); it
/// returns the region the last pass wrote.
pub const MEMCOPY_PASSES: u32 = 200;
/// `erc20-loop`: transfers. It mints ERC20_SUPPLY to CALLER in `balance[a] =
/// sload(keccak256(a . 0))` (Solidity's mapping at slot 0), then transfers k tokens to
/// `0x1000 + (k & 63)` for k = ERC20_N down to 1, each with a `Transfer(from, to)` LOG3 of
/// the amount, and returns the sender's balance.
pub const ERC20_N: u32 = 2_000;
/// `erc20-loop`: the minted supply.
pub const ERC20_SUPPLY: u64 = 1_000_000_000_000;
/// `erc20-loop`: `keccak256("Transfer(address,address,uint256)")`, the LOG3's first topic.
pub const TRANSFER_TOPIC: &str =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
/// `dynjump-loop`: iterations. Each calls the internal function `f(x, y) = (x ^ y) * 5 + 1`
/// twice, Solidity style (the return address pushed, `f` returning with a JUMP to it): `acc
/// = f(acc, n)` then `acc = f(acc, n + 7)` for n = DYNJUMP_N down to 1, from acc = 0; it
/// returns acc.
pub const DYNJUMP_N: u32 = 50_000;

/// The synthetic programs, in the catalogue's order.
pub fn programs() -> Vec<Program> {
    let sources = [
        ("fib", fib()),
        ("arith-loop", arith_loop()),
        ("keccak-loop", keccak_loop()),
        ("memcopy-loop", memcopy_loop()),
        ("erc20-loop", erc20_loop()),
        ("dynjump-loop", dynjump_loop()),
    ];
    sources
        .into_iter()
        .map(|(name, source)| Program {
            name: name.to_string(),
            // Fixed sources, checked by the tests: a failure is a defect of this file.
            code: assemble(&source).expect("a synthetic program assembles"),
            calldata: Vec::new(),
            gas: SYNTHETIC_GAS,
            world: None,
        })
        .collect()
}

/// The epilogue returning the word on top of the stack.
const RETURN_TOP: &str = "PUSH0 MSTORE PUSH1 32 PUSH0 RETURN";

fn fib() -> String {
    // Stack, top first: [n, b, a]; each pass (a, b) = (b, a + b).
    format!(
        "PUSH0 PUSH1 1 PUSH3 {FIB_N}
         loop: JUMPDEST
           SWAP2 DUP2 ADD SWAP1 SWAP2        ; [n, a + b, b]
           PUSH1 1 SWAP1 SUB                 ; [n - 1, b', a']
           DUP1 PUSH @loop JUMPI
         POP POP {RETURN_TOP}"
    )
}

fn arith_loop() -> String {
    // Stack: [i, acc].
    format!(
        "PUSH0 PUSH0
         loop: JUMPDEST
           PUSH1 1 ADD SWAP1 PUSH1 3 MUL DUP2 ADD SWAP1   ; [i + 1, acc * 3 + i + 1]
           DUP1 PUSH4 {ARITH_N} GT PUSH @loop JUMPI
         POP {RETURN_TOP}"
    )
}

fn keccak_loop() -> String {
    // Stack: [n, h].
    format!(
        "PUSH0 PUSH3 {KECCAK_N}
         loop: JUMPDEST
           SWAP1 PUSH0 MSTORE PUSH1 32 PUSH0 KECCAK256 SWAP1   ; [n, keccak(h)]
           PUSH1 1 SWAP1 SUB
           DUP1 PUSH @loop JUMPI
         POP {RETURN_TOP}"
    )
}

fn memcopy_loop() -> String {
    let bytes = MEMCOPY_WORDS * 32;
    let mask = bytes - 1;
    format!(
        "; region A (offset 0) holds words 1..={MEMCOPY_WORDS}
         PUSH2 {MEMCOPY_WORDS}
         init: JUMPDEST                         ; [i]
           DUP1 DUP1 PUSH1 1 SWAP1 SUB PUSH1 5 SHL MSTORE   ; mem[32 (i - 1)] = i
           PUSH1 1 SWAP1 SUB DUP1 PUSH @init JUMPI
         POP
         PUSH2 {MEMCOPY_PASSES} PUSH2 {bytes} PUSH0   ; [src, dst, p]
         pass: JUMPDEST
           PUSH0                                ; [i, src, dst, p], i in bytes
           copy: JUMPDEST
             DUP2 DUP2 ADD MLOAD                ; [mem[src + i], i, src, dst, p]
             DUP2 PUSH1 32 ADD PUSH2 {mask} AND DUP5 ADD MSTORE   ; dst[(i + 32) % size]
             PUSH1 32 ADD
             DUP1 PUSH2 {bytes} GT PUSH @copy JUMPI
           POP SWAP1                            ; [src', dst', p]: the regions swap
           DUP3 PUSH1 1 SWAP1 SUB SWAP3 POP     ; [src', dst', p - 1]
           DUP3 PUSH @pass JUMPI
         PUSH2 {bytes} SWAP1 RETURN             ; the region the last pass wrote"
    )
}

fn erc20_loop() -> String {
    // The balance slot of the address on top of the stack.
    let slot = "PUSH0 MSTORE PUSH1 64 PUSH0 KECCAK256";
    format!(
        "PUSH6 {ERC20_SUPPLY} CALLER {slot} SSTORE   ; mint to CALLER
         PUSH2 {ERC20_N}
         loop: JUMPDEST                                ; [k]
           CALLER {slot} DUP1 SLOAD                  ; [from balance, from slot, k]
           DUP3 DUP2 LT PUSH @fail JUMPI             ; revert when the balance is short
           DUP3 SWAP1 SUB SWAP1 SSTORE               ; debit
           DUP1 PUSH1 63 AND PUSH2 0x1000 ADD        ; [to, k]
           DUP1 {slot} DUP1 SLOAD DUP4 ADD SWAP1 SSTORE   ; credit
           DUP2 PUSH0 MSTORE
           CALLER PUSH32 {TRANSFER_TOPIC} PUSH1 32 PUSH0 LOG3   ; Transfer(CALLER, to, k)
           PUSH1 1 SWAP1 SUB DUP1 PUSH @loop JUMPI
         POP CALLER {slot} SLOAD {RETURN_TOP}
         fail: JUMPDEST PUSH0 PUSH0 REVERT"
    )
}

fn dynjump_loop() -> String {
    format!(
        "PUSH0 PUSH3 {DYNJUMP_N}                ; [n, acc]
         loop: JUMPDEST
           PUSH @r1 DUP3 DUP3 PUSH @f JUMP     ; f(acc, n), returning to r1
         r1: JUMPDEST SWAP2 POP                ; [n, acc']
           PUSH @r2 DUP3 DUP3 PUSH1 7 ADD PUSH @f JUMP   ; f(acc, n + 7), returning to r2
         r2: JUMPDEST SWAP2 POP
           PUSH1 1 SWAP1 SUB DUP1 PUSH @loop JUMPI
         POP {RETURN_TOP}
         f: JUMPDEST                           ; [y, x, return address]
           XOR PUSH1 5 MUL PUSH1 1 ADD
           SWAP1 JUMP                          ; the return address: a computed target"
    )
}
