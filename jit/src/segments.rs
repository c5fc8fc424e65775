//! Analysis: the code cut into the segments native code is built from.
//!
//! A segment is a straight run of instructions entered only at its start, with its static
//! gas and the stack heights it needs on entry computed once, so native code checks them
//! once per segment (evmone's "advanced" scheme). Segments start where the interpreter's
//! basic blocks do, where a jump lands (in `hyvm`, the byte after any 0x5B, push data
//! included, since the hypervisor skips the JUMPDEST it lands on), and after instructions
//! that suspend the frame (calls and creates), so native code can be re-entered there.
//! Every segment start is an entry point of the compiled function.

use nestedvm_interp::analysis::{basic_blocks, immediate_len};
use nestedvm_interp::opcode::{self, OPCODES};
use nestedvm_interp::spec::OpKind;
use nestedvm_interp::{Bytecode, Spec, STACK_LIMIT};
use std::collections::BTreeMap;

/// Most instructions in one segment: longer runs are cut, so a segment decoded from inside
/// push data cannot make compile time grow faster than the code.
const MAX_SEGMENT_LEN: usize = 512;

/// One decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instr {
    /// Its offset.
    pub pc: usize,
    /// Its opcode.
    pub op: u8,
}

/// How a segment ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentEnd {
    /// Its last instruction ends the frame or jumps; nothing follows in order.
    Terminal,
    /// Execution goes on at this offset (a segment start).
    FallThrough(usize),
}

/// A straight run of instructions with its entry checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Offset of the first instruction.
    pub start: usize,
    /// The instructions, in order.
    pub instrs: Vec<Instr>,
    /// Static gas of all of them.
    pub static_gas: u64,
    /// Fewest stack items on entry for none of them to underflow.
    pub min_entry: u16,
    /// Most stack items on entry for none of them to overflow.
    pub max_entry: u16,
    /// What follows.
    pub end: SegmentEnd,
}

/// Whether `op` suspends the frame for the driver (the frame resumes after it).
pub fn suspends(op: u8) -> bool {
    use opcode::*;
    matches!(
        op,
        CALL | CALLCODE | DELEGATECALL | STATICCALL | CREATE | CREATE2
    )
}

/// Whether `op` never falls through to the next instruction.
fn is_terminal(spec: &Spec, op: u8) -> bool {
    use opcode::*;
    spec.kind[op as usize] == OpKind::Unsupported
        || matches!(op, STOP | JUMP | RETURN | REVERT | INVALID | SELFDESTRUCT)
}

/// Where a jump to `dest` goes on under `spec`, when `dest` is valid.
pub fn jump_landing(spec: &Spec, code: &Bytecode, dest: usize) -> Option<usize> {
    code.is_valid_jump(spec, dest)
        .then(|| if spec.is_hyvm() { dest + 1 } else { dest })
}

/// The segments of `code` under `spec`, by start offset.
pub fn segments(spec: &Spec, code: &Bytecode) -> BTreeMap<usize, Segment> {
    let mut starts: Vec<usize> = basic_blocks(spec, code).iter().map(|b| b.start).collect();
    starts.push(0);
    for d in 0..code.len() {
        if let Some(landing) = jump_landing(spec, code, d) {
            starts.push(landing);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut out = BTreeMap::new();
    let mut work = starts.clone();
    while let Some(start) = work.pop() {
        if out.contains_key(&start) {
            continue;
        }
        let segment = decode(spec, code, start, &starts);
        if let SegmentEnd::FallThrough(next) = segment.end {
            if !out.contains_key(&next) {
                work.push(next);
            }
        }
        out.insert(start, segment);
    }
    out
}

fn decode(spec: &Spec, code: &Bytecode, start: usize, starts: &[usize]) -> Segment {
    let bytes = code.padded();
    let mut instrs = Vec::new();
    let mut gas = 0u64;
    let (mut height, mut min_entry, mut max_entry) = (0i32, 0i32, STACK_LIMIT as i32);
    let mut pc = start;
    let end = loop {
        let op = bytes[pc];
        instrs.push(Instr { pc, op });
        gas = gas.saturating_add(spec.static_gas[op as usize]);
        min_entry = min_entry.max(spec.stack_min[op as usize] as i32 - height);
        max_entry = max_entry.min(spec.stack_max[op as usize] as i32 - height);
        if spec.kind[op as usize] == OpKind::Run {
            if let Some(info) = OPCODES[op as usize] {
                height += info.outputs as i32 - info.inputs as i32;
            }
        }
        if is_terminal(spec, op) {
            break SegmentEnd::Terminal;
        }
        // Past the code every byte is a STOP from the padding, so `next` stays in bounds.
        let next = pc + 1 + immediate_len(op);
        if suspends(op)
            || op == opcode::JUMPI
            || next >= code.len()
            || starts.binary_search(&next).is_ok()
            || instrs.len() >= MAX_SEGMENT_LEN
        {
            break SegmentEnd::FallThrough(next);
        }
        pc = next;
    };
    if max_entry < min_entry {
        // No entry height works: the entry check always sends it to the interpreter.
        (min_entry, max_entry) = (1, 0);
    }
    Segment {
        start,
        instrs,
        static_gas: gas,
        min_entry: min_entry.max(0) as u16,
        max_entry: max_entry.max(0) as u16,
        end,
    }
}
