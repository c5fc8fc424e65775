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

/// One block: what its entry check needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Instructions in the block, the last included.
    pub count: u32,
    /// Sum of their static gas.
    pub gas: u64,
    /// Fewest stack items on entry for which no instruction underflows.
    pub min_height: u16,
    /// Most stack items on entry for which no instruction overflows.
    pub max_height: u16,
}

/// The blocks of one code under one spec, found by the offset they start at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocks {
    /// Offset -> index into `blocks`, `u32::MAX` where no block starts.
    index: Vec<u32>,
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

impl Blocks {
    /// Finds the blocks of `code` under `spec`. A block starts at offset 0, wherever a jump
    /// lands (every JUMPDEST in `evm`; the byte after every 0x5B in `hyvm`, whose jumps skip
    /// the JUMPDEST and may land in push data) and after every instruction that ends a block;
    /// it runs to the next start or to an instruction that ends it. One pass per start, each
    /// stopping at the next start: linear in the code.
    pub fn analyse(spec: &Spec, code: &Bytecode) -> Blocks {
        let len = code.len();
        let bytes = code.padded();
        let mut is_start = vec![false; len + 1];
        is_start[0] = true;
        let mut pc = 0;
        while pc < len {
            let op = bytes[pc];
            let next = pc + 1 + immediate_len(op);
            if op == opcode::JUMPDEST && !spec.is_hyvm() {
                is_start[pc] = true;
            }
            if !stays_in_block(spec, op) && next <= len {
                is_start[next] = true;
            }
            pc = next;
        }
        if spec.is_hyvm() {
            for (i, &b) in code.code().iter().enumerate() {
                if b == opcode::JUMPDEST {
                    is_start[i + 1] = true;
                }
            }
        }
        let mut index = vec![u32::MAX; len + 1];
        let mut spans = Vec::new();
        for start in (0..=len).filter(|&pc| is_start[pc]) {
            index[start] = spans.len() as u32;
            spans.push(span_from(spec, bytes, start, &is_start));
        }
        // A block that runs into the next one (a JUMPDEST, a jump landing) takes it in too, so
        // straight-line code through JUMPDESTs is checked once; the later block still starts
        // its own entry for jumps. Successors start further on, so one backward pass does it.
        let mut fused = spans.clone();
        for i in (0..spans.len()).rev() {
            let own = &spans[i];
            if !own.falls_through {
                continue;
            }
            let Some(&next) = index.get(own.next).filter(|&&n| n != u32::MAX) else {
                continue;
            };
            let after = &fused[next as usize];
            if own.count.saturating_add(after.count) > MAX_FUSED {
                continue;
            }
            fused[i] = Span {
                count: own.count + after.count,
                gas: own.gas.saturating_add(after.gas),
                growth: own.growth + after.growth,
                min_height: own.min_height.max(after.min_height - own.growth),
                max_height: own.max_height.min(after.max_height - own.growth),
                next: after.next,
                falls_through: after.falls_through,
            };
        }
        let blocks = fused.iter().map(Span::block).collect();
        Blocks { index, blocks }
    }

    /// The block that starts at `pc`, if one does.
    #[inline(always)]
    pub fn at(&self, pc: usize) -> Option<&Block> {
        match self.index.get(pc) {
            Some(&i) if i != u32::MAX => self.blocks.get(i as usize),
            _ => None,
        }
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

/// Most instructions in a block made by running into the next ones: a block whose gas check
/// fails runs step by step up to the next block start, so that stretch stays short.
const MAX_FUSED: u32 = 256;

/// A block as decoded, before its bounds are narrowed to what the entry check reads.
#[derive(Clone, Copy, Debug)]
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
            (
                self.min_height as u16,
                self.max_height.min(u16::MAX as i32) as u16,
            )
        };
        Block {
            count: self.count,
            gas: self.gas,
            min_height,
            max_height,
        }
    }
}

/// Decodes the block that begins at `start` (within the code; past it every byte is STOP).
fn span_from(spec: &Spec, bytes: &[u8], start: usize, is_start: &[bool]) -> Span {
    let mut pc = start;
    let mut count = 0u32;
    let mut gas = 0u64;
    // Stack growth so far, and the entry bounds every instruction so far allows.
    let mut growth: i32 = 0;
    let mut min_height: i32 = 0;
    let mut max_height: i32 = i32::MAX;
    loop {
        let op = bytes.get(pc).copied().unwrap_or(opcode::STOP);
        count += 1;
        gas = gas.saturating_add(spec.static_gas[op as usize]);
        min_height = min_height.max(spec.stack_min[op as usize] as i32 - growth);
        max_height = max_height.min(spec.stack_max[op as usize] as i32 - growth);
        if let Some(info) = OPCODES[op as usize] {
            growth += info.outputs as i32 - info.inputs as i32;
        }
        let next = pc + 1 + immediate_len(op);
        let stays = stays_in_block(spec, op);
        if !stays || is_start.get(next).is_none_or(|s| *s) {
            return Span {
                count,
                gas,
                growth,
                min_height,
                max_height,
                next,
                falls_through: stays && next < is_start.len(),
            };
        }
        pc = next;
    }
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
        assert_eq!(
            blocks.at(0),
            Some(&Block {
                count: 3,
                gas: 3 + 2 + 3,
                min_height: 0,
                max_height: 1022
            })
        );
        // PUSH1 2 POP runs on into the JUMPDEST's block and takes it in; the JUMPDEST still
        // starts its own for jumps.
        assert_eq!(
            blocks.at(4),
            Some(&Block {
                count: 4,
                gas: 3 + 2 + 1 + 2,
                min_height: 0,
                max_height: 1023
            })
        );
        assert_eq!(blocks.at(7).map(|b| (b.count, b.gas)), Some((2, 3)));
        assert_eq!(blocks.at(9).map(|b| b.count), Some(1));
        assert_eq!(blocks.at(1), None);
        // And one at the end of the code, where running off it stops.
        assert_eq!(blocks.at(10).map(|b| b.count), Some(1));
        assert_eq!(blocks.len(), 5);
    }

    #[test]
    fn runs_of_jumpdests_fuse_up_to_a_bound() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let code = Bytecode::new(&[0x5b; 1000]);
        let blocks = Blocks::analyse(spec, &code);
        // Each JUMPDEST starts a block; near the end, the run to the STOP past it is one.
        assert_eq!(blocks.len(), 1000);
        assert_eq!(blocks.at(990).map(|b| (b.count, b.gas)), Some((11, 10)));
        let counts: Vec<u32> = (0..1000)
            .filter_map(|pc| blocks.at(pc))
            .map(|b| b.count)
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
        assert_eq!((b.count, b.min_height), (5, 3));
    }

    #[test]
    fn a_block_that_must_overflow_never_passes_its_check() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        let code = Bytecode::new(&[0x5f; 1025]);
        let b = *Blocks::analyse(spec, &code).at(0).expect("a block at 0");
        assert!(b.min_height > b.max_height);
        let code = Bytecode::new(&[0x5f; 1024]);
        let b = *Blocks::analyse(spec, &code).at(0).expect("a block at 0");
        assert_eq!((b.min_height, b.max_height), (0, 0));
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
        assert!(blocks.at(0).expect("a block").max_height < evm.at(0).expect("a block").max_height);
    }
}
