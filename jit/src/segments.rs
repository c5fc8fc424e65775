//! Analysis: the code cut into the segments native code is built from.
//!
//! A segment is a straight run of instructions entered only at its start, with its static
//! gas and the stack heights it needs on entry computed once, so native code checks them
//! once per segment (evmone's "advanced" scheme). Segments start where the interpreter's
//! basic blocks do, where a jump lands (in `hyvm`, the byte after any 0x5B, push data
//! included, since the hypervisor skips the JUMPDEST it lands on), and after instructions
//! that suspend the frame (calls and creates), so native code can be re-entered there.
//! Every segment start is an entry point of the compiled function.

use nestedvm_interp::analysis::{block_starts, immediate_len};
use nestedvm_interp::opcode::{self, OPCODES};
use nestedvm_interp::spec::OpKind;
use nestedvm_interp::{Bytecode, Spec, STACK_LIMIT};
use std::collections::{BTreeMap, HashMap};

/// Most instructions in one segment: longer runs are cut, so a segment decoded from inside
/// push data cannot make compile time grow faster than the code.
const MAX_SEGMENT_LEN: usize = 128;

/// Most IR (in [`ir_weight`] units) in one segment. Register allocation of one long run of
/// straight-line code grows faster than its length (a value live across the run conflicts
/// with every other), so runs are cut by the IR they lower to, not only by their length.
const MAX_SEGMENT_WEIGHT: usize = 1024;

/// About how many IR instructions `op` lowers to.
fn ir_weight(op: u8) -> usize {
    use opcode::*;
    match op {
        PUSH0..=PUSH32 | 0x80..=0x9f | POP | JUMPDEST | PC => 4,
        AND | OR | XOR | NOT | ISZERO => 6,
        MUL => 40,
        SIGNEXTEND | BYTE | SHL | SHR | SAR | MLOAD | MSTORE | MSTORE8 => 48,
        _ => 20,
    }
}

/// Instructions decoded per byte of code, over all segments, before decoding stops growing.
const DECODE_BUDGET_PER_BYTE: usize = 8;

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
    /// The segment whose fall-through is the only way here: no jump lands here and no other
    /// decoded run of instructions falls through to it, so the stack that segment leaves
    /// (its constants) is the stack on entry, whoever ran it, native code or interpreter.
    pub only_after: Option<usize>,
}

/// Whether a segment must end after `op`: calls and creates suspend the frame (it resumes
/// after them, so that is an entry point), and the verifier build's SSTORE may leave an item
/// on the stack (the store guard's redirect), so the heights checked on entry would not hold
/// after it.
pub fn ends_segment_after(spec: &Spec, op: u8) -> bool {
    use opcode::*;
    matches!(
        op,
        CALL | CALLCODE | DELEGATECALL | STATICCALL | CREATE | CREATE2
    ) || (spec.verifier && op == SSTORE)
}

/// Whether `op` never falls through to the next instruction.
fn is_terminal(spec: &Spec, op: u8) -> bool {
    use opcode::*;
    spec.kind[op as usize] == OpKind::Unsupported
        || matches!(op, STOP | JUMP | RETURN | REVERT | INVALID | SELFDESTRUCT)
}

/// Where a jump to `dest` goes on under `spec`, when `dest` is valid.
pub fn jump_landing(spec: &Spec, code: &Bytecode, dest: usize) -> Option<usize> {
    code.jump_landing(spec.is_hyvm(), dest)
}

/// The segments of `code` under `spec`, by start offset.
pub fn segments(spec: &Spec, code: &Bytecode) -> BTreeMap<usize, Segment> {
    let mut starts = block_starts(spec, code);
    starts.push(0);
    let mut landings = vec![false; code.len() + 2];
    for d in 0..code.len() {
        if let Some(landing) = jump_landing(spec, code, d) {
            starts.push(landing);
            landings[landing] = true;
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut out = BTreeMap::new();
    let mut work = starts.clone();
    // Decodes from inside push data may run through code other segments cover: past this
    // budget, segments are one instruction long and new fall-through targets are left to the
    // interpreter, so compile time stays linear in the code size.
    let mut budget = DECODE_BUDGET_PER_BYTE * code.len() + 1024;
    let mut cut_short = false;
    while let Some(start) = work.pop() {
        if out.contains_key(&start) {
            continue;
        }
        cut_short |= budget == 0;
        let limit = if budget == 0 { 1 } else { MAX_SEGMENT_LEN };
        let segment = decode(spec, code, start, &starts, limit);
        budget = budget.saturating_sub(segment.instrs.len());
        if let SegmentEnd::FallThrough(next) = segment.end {
            if budget > 0 && !out.contains_key(&next) {
                work.push(next);
            }
        }
        out.insert(start, segment);
    }
    // Fall-through predecessors, when every run the interpreter can take was decoded.
    if !cut_short {
        let mut preds: HashMap<usize, (u32, usize)> = HashMap::new();
        for seg in out.values() {
            if let SegmentEnd::FallThrough(next) = seg.end {
                let e = preds.entry(next).or_insert((0, seg.start));
                e.0 += 1;
            }
        }
        for (&start, seg) in out.iter_mut() {
            let landing = landings.get(start).copied().unwrap_or(true);
            seg.only_after = match preds.get(&start) {
                Some(&(1, pred)) if start != 0 && !landing => Some(pred),
                _ => None,
            };
        }
    }
    out
}

fn decode(spec: &Spec, code: &Bytecode, start: usize, starts: &[usize], limit: usize) -> Segment {
    let bytes = code.padded();
    let mut instrs = Vec::new();
    let mut gas = 0u64;
    let (mut height, mut min_entry, mut max_entry) = (0i32, 0i32, STACK_LIMIT as i32);
    let mut pc = start;
    let mut weight = 0;
    let end = loop {
        let op = bytes[pc];
        instrs.push(Instr { pc, op });
        weight += ir_weight(op);
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
        if ends_segment_after(spec, op)
            || op == opcode::JUMPI
            || next >= code.len()
            || starts.binary_search(&next).is_ok()
            || instrs.len() >= limit
            || weight >= MAX_SEGMENT_WEIGHT
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
        only_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nestedvm_interp::{Fork, Profile};

    fn evm() -> &'static Spec {
        Spec::get(Profile::Evm, Fork::Osaka, false)
    }

    fn hyvm() -> &'static Spec {
        Spec::get(Profile::Hyvm, Fork::Osaka, false)
    }

    #[test]
    fn segments_carry_gas_and_entry_bounds() {
        // PUSH1 1 ADD JUMPDEST PUSH1 2 STOP
        let code = Bytecode::new(&[0x60, 1, 0x01, 0x5b, 0x60, 2, 0x00]);
        let s = segments(evm(), &code);
        let first = &s[&0];
        assert_eq!(
            (first.static_gas, first.min_entry, first.max_entry),
            (6, 1, 1023)
        );
        assert_eq!(first.end, SegmentEnd::FallThrough(3));
        let second = &s[&3];
        assert_eq!(second.instrs.len(), 3);
        assert_eq!(second.end, SegmentEnd::Terminal);
    }

    #[test]
    fn hyvm_jumps_land_after_any_0x5b_byte() {
        // PUSH2 0x5b00 STOP: the 0x5B inside push data makes offset 2 a start.
        let code = Bytecode::new(&[0x61, 0x5b, 0x00, 0x00]);
        assert!(segments(hyvm(), &code).contains_key(&2));
        assert!(!segments(evm(), &code).contains_key(&2));
    }

    #[test]
    fn calls_end_segments_so_native_code_resumes_after_them() {
        // 7 x PUSH0, CALL, STOP
        let mut bytes = vec![0x5f; 7];
        bytes.extend([0xf1, 0x00]);
        let s = segments(evm(), &Bytecode::new(&bytes));
        assert_eq!(s[&0].end, SegmentEnd::FallThrough(8));
        assert!(s.contains_key(&8));
    }

    #[test]
    fn a_segment_reached_only_by_falling_through_knows_its_predecessor() {
        // 200 x PUSH1 1, STOP: cut at 128 instructions; nothing jumps to the cut.
        let mut bytes = [0x60, 1].repeat(200);
        bytes.push(0x00);
        let s = segments(evm(), &Bytecode::new(&bytes));
        assert_eq!(s[&0].end, SegmentEnd::FallThrough(256));
        assert_eq!(s[&256].only_after, Some(0));
        assert_eq!(s[&0].only_after, None);
        // A JUMPDEST there: a jump may land on it, with any stack.
        bytes[256] = 0x5b;
        let s = segments(evm(), &Bytecode::new(&bytes));
        let landing = s.values().find(|seg| seg.start == 256 || seg.start == 257);
        assert!(landing.is_some_and(|seg| seg.only_after.is_none()));
    }

    #[test]
    fn two_runs_falling_through_to_one_segment_give_it_no_predecessor() {
        // PUSH2 0x5b60 JUMPI STOP: in hyvm a jump may land at 2 (after the 0x5B byte), where
        // PUSH1 0x57 also falls through to offset 4, the JUMPI's fall-through.
        let code = Bytecode::new(&[0x61, 0x5b, 0x60, 0x57, 0x00]);
        let hy = segments(hyvm(), &code);
        assert_eq!(hy[&2].end, SegmentEnd::FallThrough(4));
        assert_eq!(hy[&4].only_after, None);
        let ev = segments(evm(), &code);
        assert_eq!(ev[&4].only_after, Some(0));
    }

    #[test]
    fn decoding_stays_linear_on_push_data_full_of_0x5b() {
        // PUSH32 of 0x5B bytes, over and over: every byte of push data is a hyvm landing.
        let mut bytes = Vec::new();
        while bytes.len() < 24 * 1024 {
            bytes.push(0x7f);
            bytes.extend([0x5b; 32]);
        }
        let code = Bytecode::new(&bytes);
        let s = segments(hyvm(), &code);
        let decoded: usize = s.values().map(|seg| seg.instrs.len()).sum();
        assert!(decoded <= DECODE_BUDGET_PER_BYTE * bytes.len() + 1024 + s.len());
    }
}
