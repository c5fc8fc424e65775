//! The interpreter's block table (evmone's "advanced" idea): each block's static gas and
//! stack bounds are checked once at its entry, and its instructions then run with no check of
//! their own.
//!
//! Exactness decides where a block ends. Inside a block every instruction costs only its
//! static gas, cannot stop the frame and does not read the gas counter; the last one may do any
//! of these (jump, halt, call, charge dynamic gas, push GAS). So whatever an instruction can
//! observe (GAS, the gas a CALL forwards, an out-of-gas point, the memory at a halt) is what
//! instruction-by-instruction execution gives: the counter is only ahead of it while nothing
//! looks. A block whose entry check fails runs instruction by instruction instead, which puts
//! the halt at the exact instruction.

use crate::analysis::{immediate_len, Bytecode};
use crate::opcode::{self, OPCODES};
use crate::spec::{OpKind, Spec};

/// One block: what its entry check needs, in eight bytes so that code jumping all over keeps
/// many of them in cache.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Sum of the instructions' static gas.
    gas: u32,
    /// Instructions (the last included), then the fewest and the most stack items on entry
    /// for which no instruction under- or overflows: `COUNT_BITS` and two `HEIGHT_BITS`
    /// fields, low to high.
    shape: u32,
}

/// Bits of a block's instruction count: blocks are cut to at most `MAX_COUNT` instructions.
const COUNT_BITS: u32 = 10;
/// The most instructions in one block.
const MAX_COUNT: u32 = (1 << COUNT_BITS) - 1;
/// Bits of each entry height bound: enough for 0..=1025.
const HEIGHT_BITS: u32 = 11;
const HEIGHT_MASK: u32 = (1 << HEIGHT_BITS) - 1;
/// A minimum height no stack reaches: a block that must underflow never passes its check.
const NO_HEIGHT: u32 = crate::STACK_LIMIT as u32 + 1;

impl Block {
    fn new(count: u32, gas: u64, min_height: u32, max_height: u32) -> Block {
        debug_assert!((1..=MAX_COUNT).contains(&count));
        // At most MAX_COUNT instructions of static gas far below 2^22 each cannot pass u32;
        // should one, its block gets a check that never passes and runs step by step.
        let (gas, min_height, max_height) = match u32::try_from(gas) {
            Ok(gas) => (
                gas,
                min_height.min(NO_HEIGHT),
                max_height.min(NO_HEIGHT - 1),
            ),
            Err(_) => (0, 1, 0),
        };
        Block {
            gas,
            shape: count | min_height << COUNT_BITS | max_height << (COUNT_BITS + HEIGHT_BITS),
        }
    }

    /// Instructions in the block, the last included.
    #[inline(always)]
    pub fn count(&self) -> u32 {
        self.shape & MAX_COUNT
    }

    /// Sum of their static gas.
    #[inline(always)]
    pub fn gas(&self) -> u64 {
        self.gas as u64
    }

    /// Fewest stack items on entry for which no instruction underflows.
    #[inline(always)]
    pub fn min_height(&self) -> usize {
        (self.shape >> COUNT_BITS & HEIGHT_MASK) as usize
    }

    /// Most stack items on entry for which no instruction overflows (at most the stack limit:
    /// no stack is higher).
    #[inline(always)]
    pub fn max_height(&self) -> usize {
        (self.shape >> (COUNT_BITS + HEIGHT_BITS)) as usize
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("count", &self.count())
            .field("gas", &self.gas())
            .field("min_height", &self.min_height())
            .field("max_height", &self.max_height())
            .finish()
    }
}

/// Where blocks start, and their numbers: per offset, the number of the block starting there
/// counted from the first block of its 64 offsets (`NOT_A_START` elsewhere), and per 64
/// offsets the number of blocks before them. One byte per code byte, where a `u32` per
/// offset missed the cache on every jump of code that jumps all over; two loads and an add
/// per lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Index {
    local: Vec<u8>,
    before: Vec<u32>,
}

const NOT_A_START: u8 = u8::MAX;

/// The blocks of one code under one spec, found by the offset they start at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocks {
    index: Index,
    /// In the order of their starts.
    blocks: Vec<Block>,
}

/// Whether `op` may sit inside a block: its gas is its static cost, it never stops the frame
/// and it does not read the gas counter. Everything else ends a block.
fn stays_in_block(spec: &Spec, op: u8) -> bool {
    use opcode::*;
    spec.kind[op as usize] == OpKind::Run
        && matches!(
            op,
            ADD | MUL
                | SUB
                | DIV
                | SDIV
                | MOD
                | SMOD
                | ADDMOD
                | MULMOD
                | SIGNEXTEND
                | LT
                | GT
                | SLT
                | SGT
                | EQ
                | ISZERO
                | AND
                | OR
                | XOR
                | NOT
                | BYTE
                | SHL
                | SHR
                | SAR
                | CLZ
                | ADDRESS
                | ORIGIN
                | CALLER
                | CALLVALUE
                | CALLDATALOAD
                | CALLDATASIZE
                | CODESIZE
                | GASPRICE
                | RETURNDATASIZE
                | COINBASE
                | TIMESTAMP
                | NUMBER
                | PREVRANDAO
                | GASLIMIT
                | CHAINID
                | SELFBALANCE
                | BASEFEE
                | BLOBBASEFEE
                | POP
                | PC
                | MSIZE
                | JUMPDEST
                | PUSH0..=PUSH32
                | 0x80..=0x8f
                | 0x90..=0x9f
        )
}

/// What the analysis reads of one opcode under one spec, in one place: decoding a code
/// looks up one entry per instruction instead of five tables and a match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct BlockOp {
    gas: u64,
    stack_min: i32,
    stack_max: i32,
    /// Net stack growth.
    growth: i32,
    /// Bytes of the instruction, its immediate included.
    len: u8,
    /// Whether it may sit inside a block ([`stays_in_block`]).
    stays: bool,
}

/// The analysis's table of every opcode under `spec` (built with the spec).
pub(crate) fn block_ops(spec: &Spec) -> [BlockOp; 256] {
    let mut ops = [BlockOp::default(); 256];
    for (op, entry) in ops.iter_mut().enumerate() {
        let code = op as u8;
        *entry = BlockOp {
            gas: spec.static_gas[op],
            stack_min: spec.stack_min[op] as i32,
            stack_max: spec.stack_max[op] as i32,
            growth: OPCODES[op].map_or(0, |info| info.outputs as i32 - info.inputs as i32),
            len: 1 + immediate_len(code) as u8,
            stays: stays_in_block(spec, code),
        };
    }
    ops
}

impl Blocks {
    /// Finds the blocks of `code` under `spec`. A block starts at offset 0, wherever a jump
    /// lands (every JUMPDEST in `evm`; the byte after every 0x5B in `hyvm`, whose jumps skip
    /// the JUMPDEST and may land in push data), after every instruction that ends a block and
    /// after every 1023rd instruction of a straight run; it runs to the next start or
    /// to an instruction that ends it. One pass per start, each stopping at the next start:
    /// linear in the code.
    pub fn analyse(spec: &Spec, code: &Bytecode) -> Blocks {
        let len = code.len();
        let (starts, mut spans) = if spec.is_hyvm() {
            decode_apart(spec, code)
        } else {
            decode_in_one_pass(spec, code)
        };
        let mut index = Index {
            local: vec![NOT_A_START; len + 1],
            before: Vec::with_capacity(starts.bits.len()),
        };
        // Blocks are numbered in the order of their starts, as both decoders list them.
        let mut numbered = 0;
        for (k, &bits) in starts.bits.iter().enumerate() {
            index.before.push(numbered);
            let mut rest = bits;
            let mut local = 0;
            while rest != 0 {
                let start = 64 * k + rest.trailing_zeros() as usize;
                rest &= rest - 1;
                if let Some(slot) = index.local.get_mut(start) {
                    *slot = local;
                }
                local += 1;
                numbered += 1;
            }
        }
        debug_assert_eq!(numbered as usize, spans.len());
        // A block that runs into the next one (a JUMPDEST, a jump landing) takes it in too, so
        // straight-line code through JUMPDESTs is checked once; the later block still starts
        // its own entry for jumps. Successors start further on, so one backward pass does it,
        // in place: each block reads its own span as decoded and its successor's as fused.
        for i in (0..spans.len()).rev() {
            let own = spans[i];
            if !own.falls_through {
                continue;
            }
            let Some(after) = number_at(&index, own.next).and_then(|n| spans.get(n)) else {
                continue;
            };
            if own.count.saturating_add(after.count) > MAX_FUSED {
                continue;
            }
            spans[i] = Span {
                count: own.count + after.count,
                gas: own.gas.saturating_add(after.gas),
                growth: own.growth + after.growth,
                min_height: own.min_height.max(after.min_height - own.growth),
                max_height: own.max_height.min(after.max_height - own.growth),
                next: after.next,
                falls_through: after.falls_through,
            };
        }
        let blocks: Vec<Block> = spans.iter().map(Span::block).collect();
        debug_assert_eq!(index.before.len(), index.local.len().div_ceil(64));
        Blocks { index, blocks }
    }

    /// The block that starts at `pc`, if one does.
    #[inline(always)]
    pub fn at(&self, pc: usize) -> Option<&Block> {
        let local = *self.index.local.get(pc)?;
        if local == NOT_A_START {
            return None;
        }
        // SAFETY: `analyse` is the only maker of a `Blocks`, and it gives `before` an entry
        // per 64 offsets of `local` (both cover the code and the offset past it), so `pc / 64`
        // is in bounds since `pc` is in `local`; and it records a number in `local` exactly
        // when it pushes that block, `before` counting the blocks of earlier chunks and the
        // number those before it in the chunk, so every recorded number is below
        // `blocks.len()`. Run at every block entry, where the two bounds checks were a tenth
        // of the entry's cost.
        unsafe {
            let number = *self.index.before.get_unchecked(pc / 64) as usize + local as usize;
            Some(self.blocks.get_unchecked(number))
        }
    }

    /// Bytes this table holds on the heap, from its buffers' capacities: one byte per code
    /// byte, four per 64 code bytes and eight per block (in `hyvm` code of JUMPDESTs, a block
    /// per byte).
    pub fn heap_bytes(&self) -> usize {
        self.index.local.capacity()
            + self.index.before.capacity() * std::mem::size_of::<u32>()
            + self.blocks.capacity() * std::mem::size_of::<Block>()
    }

    /// How many blocks there are.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Whether there are none (never: offset 0 always starts one).
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// The starts and spans of `evm` code in one pass over its instructions: there every start
/// is an instruction of the one decoding from offset 0 (offset 0, a JUMPDEST, the instruction
/// after one that ends a block or completes `MAX_COUNT`), so each span is closed where the
/// next starts and nothing is decoded twice. Gives what [`decode_apart`] gives.
fn decode_in_one_pass(spec: &Spec, code: &Bytecode) -> (Starts, Vec<Span>) {
    let len = code.len();
    let bytes = code.padded();
    let ops = &spec.block_ops;
    let mut starts = Starts::new(len);
    let mut spans = Vec::new();
    starts.set(0);
    let mut open = Decoding::default();
    let mut pc = 0;
    while pc < len {
        let op = bytes[pc];
        if op == opcode::JUMPDEST {
            starts.set(pc);
            if open.count > 0 {
                // The span before runs on into the JUMPDEST's.
                spans.push(open.span(pc, true));
                open = Decoding::default();
            }
        }
        let info = &ops[op as usize];
        open.add(info);
        let next = pc + info.len as usize;
        if !info.stays || open.count == MAX_COUNT {
            spans.push(open.span(next, info.stays && next < starts.limit));
            open = Decoding::default();
            starts.set(next);
        }
        pc = next;
    }
    // Past the code, as `span_from` does: a span whose last instruction stays decodes on into
    // the padding (unless a truncated PUSH took it past the end), and a block starting at the
    // end (the span before it closed there) is the STOP there.
    if open.count > 0 {
        spans.push(if pc < starts.limit {
            open.continue_from(spec, bytes, pc, &starts)
        } else {
            open.span(pc, false)
        });
    } else if pc == len {
        spans.push(span_from(spec, bytes, pc, &starts));
    }
    (starts, spans)
}

/// The starts and spans of any code: the starts first, then one decoding per start (in
/// `hyvm` a jump may land inside push data, out of step with the decoding from offset 0).
fn decode_apart(spec: &Spec, code: &Bytecode) -> (Starts, Vec<Span>) {
    let len = code.len();
    let bytes = code.padded();
    let mut starts = Starts::new(len);
    starts.set(0);
    let hyvm = spec.is_hyvm();
    let mut pc = 0;
    // Instructions since the last start, so that a long straight run is cut into blocks
    // whose count fits their field.
    let mut run = 0;
    let ops = &spec.block_ops;
    while pc < len {
        let op = bytes[pc];
        let info = &ops[op as usize];
        let next = pc + info.len as usize;
        if op == opcode::JUMPDEST && !hyvm {
            starts.set(pc);
            run = 0;
        }
        run += 1;
        if (!info.stays || run == MAX_COUNT) && next <= len {
            starts.set(next);
            run = 0;
        }
        pc = next;
    }
    if hyvm {
        // Wherever a jump may land, by the rule the jumps themselves follow.
        for dest in 0..len {
            if let Some(to) = code.jump_landing(true, dest) {
                starts.set(to);
            }
        }
    }
    // Sized exactly: guest code can be megabytes of one-byte blocks, and doubling room
    // would double the decoder's peak.
    let count = starts.bits.iter().map(|b| b.count_ones() as usize).sum();
    let mut spans = Vec::with_capacity(count);
    for (k, &bits) in starts.bits.iter().enumerate() {
        let mut rest = bits;
        while rest != 0 {
            let start = 64 * k + rest.trailing_zeros() as usize;
            rest &= rest - 1;
            spans.push(span_from(spec, bytes, start, &starts));
        }
    }
    (starts, spans)
}

/// The number of the block starting at `pc` (blocks counted in the order of their starts).
#[inline(always)]
fn number_at(index: &Index, pc: usize) -> Option<usize> {
    let local = *index.local.get(pc)?;
    if local == NOT_A_START {
        return None;
    }
    Some(*index.before.get(pc / 64)? as usize + local as usize)
}

/// One bit per offset of the code and the one just past it: whether a block starts there.
struct Starts {
    bits: Vec<u64>,
    /// Offsets covered: the code's length and one.
    limit: usize,
}

impl Starts {
    /// None yet, for a code of `len` bytes.
    fn new(len: usize) -> Starts {
        Starts {
            bits: vec![0u64; (len + 1).div_ceil(64)],
            limit: len + 1,
        }
    }

    fn set(&mut self, pc: usize) {
        if pc < self.limit {
            self.bits[pc / 64] |= 1 << (pc % 64);
        }
    }

    /// Whether a block starts at `pc`; past the end, as if one did (running off the code
    /// ends a block).
    fn get(&self, pc: usize) -> bool {
        pc >= self.limit || self.bits[pc / 64] >> (pc % 64) & 1 != 0
    }
}

/// Most instructions in a block made by running into the next ones: a block whose gas check
/// fails runs step by step up to the next block start, so that stretch stays short.
const MAX_FUSED: u32 = 256;

/// A block as decoded, before its bounds are narrowed to what the entry check reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    count: u32,
    gas: u64,
    /// Net stack growth over the block.
    growth: i32,
    /// Entry heights every instruction allows.
    min_height: i32,
    max_height: i32,
    /// Offset after the last instruction.
    next: usize,
    /// Whether the last instruction simply goes on to `next` (a block start).
    falls_through: bool,
}

impl Span {
    fn block(&self) -> Block {
        // No entry height suits a block that must over- or underflow somewhere: an empty
        // range makes its check fail always, so it runs instruction by instruction.
        let (min_height, max_height) = if self.max_height < self.min_height {
            (1, 0)
        } else {
            (self.min_height as u32, self.max_height as u32)
        };
        Block::new(self.count, self.gas, min_height, max_height)
    }
}

/// A span being decoded: what its instructions so far add up to.
#[derive(Clone, Copy, Debug)]
struct Decoding {
    count: u32,
    gas: u64,
    /// Stack growth so far, and the entry bounds every instruction so far allows.
    growth: i32,
    min_height: i32,
    max_height: i32,
}

impl Default for Decoding {
    fn default() -> Self {
        Decoding {
            count: 0,
            gas: 0,
            growth: 0,
            min_height: 0,
            max_height: i32::MAX,
        }
    }
}

impl Decoding {
    #[inline(always)]
    fn add(&mut self, info: &BlockOp) {
        self.count += 1;
        self.gas = self.gas.saturating_add(info.gas);
        self.min_height = self.min_height.max(info.stack_min - self.growth);
        self.max_height = self.max_height.min(info.stack_max - self.growth);
        self.growth += info.growth;
    }

    fn span(&self, next: usize, falls_through: bool) -> Span {
        Span {
            count: self.count,
            gas: self.gas,
            growth: self.growth,
            min_height: self.min_height,
            max_height: self.max_height,
            next,
            falls_through,
        }
    }

    /// Decodes on from `pc` until the span ends: at an instruction that ends a block, at
    /// [`MAX_COUNT`] instructions, or before a start (within the code; past it every byte is
    /// STOP).
    fn continue_from(mut self, spec: &Spec, bytes: &[u8], mut pc: usize, starts: &Starts) -> Span {
        loop {
            let op = bytes.get(pc).copied().unwrap_or(opcode::STOP);
            let info = &spec.block_ops[op as usize];
            self.add(info);
            let next = pc + info.len as usize;
            if !info.stays || self.count == MAX_COUNT || starts.get(next) {
                return self.span(next, info.stays && next < starts.limit);
            }
            pc = next;
        }
    }
}

/// Decodes the block that begins at `start`, up to [`MAX_COUNT`] instructions (only a `hyvm`
/// landing inside push data, decoding out of step with the starts, can get that far).
fn span_from(spec: &Spec, bytes: &[u8], start: usize, starts: &Starts) -> Span {
    Decoding::default().continue_from(spec, bytes, start, starts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Fork, Profile};

    #[test]
    fn a_block_ends_after_dynamic_gas_and_at_jump_landings() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        // PUSH1 1 PUSH0 MSTORE | PUSH1 2 POP | JUMPDEST GAS | STOP
        let code = Bytecode::new(&[0x60, 1, 0x5f, 0x52, 0x60, 2, 0x50, 0x5b, 0x5a, 0x00]);
        let blocks = Blocks::analyse(spec, &code);
        assert_eq!(blocks.at(0), Some(&Block::new(3, 3 + 2 + 3, 0, 1022)));
        // PUSH1 2 POP runs on into the JUMPDEST's block and takes it in; the JUMPDEST still
        // starts its own for jumps.
        assert_eq!(blocks.at(4), Some(&Block::new(4, 3 + 2 + 1 + 2, 0, 1023)));
        assert_eq!(blocks.at(7).map(|b| (b.count(), b.gas())), Some((2, 3)));
        assert_eq!(blocks.at(9).map(|b| b.count()), Some(1));
        assert_eq!(blocks.at(1), None);
        // And one at the end of the code, where running off it stops.
        assert_eq!(blocks.at(10).map(|b| b.count()), Some(1));
        assert_eq!(blocks.len(), 5);
    }

    #[test]
    fn runs_of_jumpdests_fuse_up_to_a_bound() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let code = Bytecode::new(&[0x5b; 1000]);
        let blocks = Blocks::analyse(spec, &code);
        // Each JUMPDEST starts a block; near the end, the run to the STOP past it is one.
        assert_eq!(blocks.len(), 1000);
        assert_eq!(blocks.at(990).map(|b| (b.count(), b.gas())), Some((11, 10)));
        let counts: Vec<u32> = (0..1000)
            .filter_map(|pc| blocks.at(pc))
            .map(|b| b.count())
            .collect();
        assert!(counts.iter().all(|&c| c <= MAX_FUSED));
        assert!(counts[0] > 100, "the run from 0 is checked in few blocks");
    }

    #[test]
    fn entry_bounds_follow_every_instruction() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        // POP POP PUSH0 ADD STOP: two items needed, and the ADD needs a third below.
        let code = Bytecode::new(&[0x50, 0x50, 0x5f, 0x01, 0x00]);
        let b = *Blocks::analyse(spec, &code).at(0).expect("a block at 0");
        assert_eq!((b.count(), b.min_height()), (5, 3));
    }

    #[test]
    fn long_straight_runs_are_cut_to_the_count_field() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let code = Bytecode::new(&[0x5f; 1025]);
        let blocks = Blocks::analyse(spec, &code);
        let first = *blocks.at(0).expect("a block at 0");
        assert_eq!(
            (first.count(), first.min_height(), first.max_height()),
            (MAX_COUNT, 0, 1)
        );
        // The rest, and the STOP past the end, from the cut on; its entry must leave room.
        let rest = *blocks.at(MAX_COUNT as usize).expect("a block at the cut");
        assert_eq!((rest.count(), rest.max_height()), (3, 1022));
        let code = Bytecode::new(&[0x5f; 1024]);
        let b = *Blocks::analyse(spec, &code).at(0).expect("a block at 0");
        assert_eq!((b.min_height(), b.max_height()), (0, 1));
    }

    #[test]
    fn a_block_that_cannot_pass_keeps_a_check_that_never_passes() {
        let b = Block::new(MAX_COUNT, u64::from(u32::MAX), 1025, 1024);
        assert_eq!(
            (b.count(), b.gas(), b.min_height(), b.max_height()),
            (MAX_COUNT, u64::from(u32::MAX), 1025, 1024)
        );
        assert_eq!(std::mem::size_of::<Block>(), 8);
        // Gas past the field, and heights past the stack, still never let a stack in.
        let b = Block::new(2, 1 << 32, 0, 1024);
        assert!(b.min_height() > b.max_height());
        let b = Block::new(2, 3, 2000, 3000);
        assert!(b.min_height() > crate::STACK_LIMIT && b.max_height() <= crate::STACK_LIMIT);
    }

    #[test]
    fn one_pass_decoding_gives_what_decoding_apart_gives() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        // A small generator (xorshift) over opcodes weighted towards what shapes blocks:
        // JUMPDESTs, pushes (truncated at the end too), block enders, and long straight runs.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let palette = [
            0x5b, 0x60, 0x61, 0x7f, 0x56, 0x57, 0x00, 0x5a, 0x52, 0x01, 0x50, 0x80, 0xfe, 0x0c,
        ];
        for case in 0..400 {
            let len = (next() % 300) as usize + case % 3;
            let mut code: Vec<u8> = (0..len)
                .map(|_| match next() % 4 {
                    0 => (next() % 256) as u8,
                    _ => palette[(next() % palette.len() as u64) as usize],
                })
                .collect();
            if case % 50 == 0 {
                code.extend(std::iter::repeat_n(0x5f, 1500));
            }
            let code = Bytecode::new(&code);
            let (one_starts, one_spans) = decode_in_one_pass(spec, &code);
            let (apart_starts, apart_spans) = decode_apart(spec, &code);
            assert_eq!(one_starts.bits, apart_starts.bits, "case {case}");
            assert_eq!(one_spans, apart_spans, "case {case}");
        }
    }

    #[test]
    fn every_offset_finds_its_block_through_the_index() {
        // Codes with starts in every position of a 64-offset chunk, across chunks, and (in
        // hyvm) inside push data.
        let mut codes = vec![vec![0x5b; 200], vec![0x00; 130], Vec::new()];
        let mut mixed = Vec::new();
        for i in 0..300u32 {
            mixed.extend_from_slice(&[0x61, 0x5b, (i % 7) as u8, 0x56, 0x5b, 0x5a, 0x50]);
        }
        codes.push(mixed);
        for profile in [Profile::Evm, Profile::Hyvm] {
            let spec = Spec::get(profile, Fork::Osaka, false);
            for code in &codes {
                let code = Bytecode::new(code);
                let blocks = Blocks::analyse(spec, &code);
                let mut found = 0;
                for pc in 0..code.len() + 40 {
                    let safe = number_at(&blocks.index, pc).and_then(|n| blocks.blocks.get(n));
                    assert_eq!(blocks.at(pc), safe, "{profile:?} offset {pc}");
                    assert_eq!(safe.is_some(), number_at(&blocks.index, pc).is_some());
                    found += usize::from(safe.is_some());
                }
                assert_eq!(found, blocks.len(), "every block is found at its start");
            }
        }
    }

    #[test]
    fn hyvm_jumps_land_after_every_0x5b_byte() {
        let spec = Spec::get(Profile::Hyvm, Fork::Osaka, false);
        // PUSH2 0x5b00 ADD: a landing inside the push data.
        let code = Bytecode::new(&[0x61, 0x5b, 0x00, 0x01]);
        let blocks = Blocks::analyse(spec, &code);
        assert!(blocks.at(0).is_some());
        assert!(blocks.at(2).is_some());
        // The hypervisor's handlers share the stack: a lower overflow bound than in `evm`.
        let evm = Blocks::analyse(Spec::get(Profile::Evm, Fork::Osaka, false), &code);
        assert!(
            blocks.at(0).expect("a block").max_height() < evm.at(0).expect("a block").max_height()
        );
    }
}
