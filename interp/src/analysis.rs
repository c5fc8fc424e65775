//! Bytecode analysis: decode once, share everywhere. The JUMPDEST map (for `evm`), the
//! jump-landing rule of both profiles, and where blocks start (for the JIT's segments; the
//! interpreter's own block table, with each block's gas and stack bounds, is [`Blocks`]).

use crate::blocks::Blocks;
use crate::opcode;
use crate::spec::{OpKind, Spec};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

/// Zero bytes appended to code so that PUSH immediates and running off the end need no bounds
/// check: past the end every byte reads as STOP.
const PADDING: usize = 33;

/// Code ready to run: padded, with its JUMPDEST map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytecode {
    padded: Vec<u8>,
    len: usize,
    jumpdests: Vec<u64>,
    /// Shared with the accounts holding this code, so whoever asks first computes it for all.
    hash: Arc<OnceLock<[u8; 32]>>,
    /// The code as accounts hold it, made on first use: a run that puts this code in a fresh
    /// world shares it rather than copying it.
    shared: OnceLock<Arc<[u8]>>,
    /// The interpreter's block tables, for the first two specs (by address: specs are
    /// singletons) asked for: a `hyvm` guest is also run as a plain `evm` contract for its
    /// `evm_gas_used`, so two are common.
    blocks: [OnceLock<(usize, Arc<Blocks>)>; 2],
    /// [`Bytecode::content_hash`], once computed.
    content_hash: OnceLock<u64>,
    /// Where a cache counts this code's [`Bytecode::heap_bytes`], if one does.
    meter: Meter,
    /// Another holder's copy of these bytes, found equal once ([`Bytecode::holds_same_code`]).
    equal_copy: EqualCopy,
}

/// A copy of a code's bytes held elsewhere (a JIT cache entry made from another VM's
/// analysis of the same code) and found equal: later comparisons with it are a pointer's.
/// Weak, so it keeps no code alive that its holder let go, yet its allocation stays, so the
/// address cannot come back holding other bytes. Not part of the code's value.
#[derive(Default)]
struct EqualCopy(OnceLock<Weak<[u8]>>);

impl EqualCopy {
    fn is(&self, other: &Arc<[u8]>) -> bool {
        self.0
            .get()
            .is_some_and(|copy| std::ptr::eq(copy.as_ptr(), Arc::as_ptr(other)))
    }
}

impl Clone for EqualCopy {
    fn clone(&self) -> Self {
        EqualCopy::default()
    }
}

impl PartialEq for EqualCopy {
    fn eq(&self, _: &EqualCopy) -> bool {
        true
    }
}

impl Eq for EqualCopy {}

impl std::fmt::Debug for EqualCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "found"
        } else {
            "none"
        })
    }
}

/// The count of a cache holding a code ([`Bytecode::counted_in`]). Not part of the code's
/// value: a clone is counted nowhere (it would otherwise take its bytes back twice), and
/// equality ignores it.
#[derive(Default)]
struct Meter(Option<Arc<AtomicUsize>>);

impl Meter {
    fn add(&self, bytes: usize) {
        if let Some(total) = &self.0 {
            total.fetch_add(bytes, Ordering::Relaxed);
        }
    }
}

impl Clone for Meter {
    fn clone(&self) -> Self {
        Meter(None)
    }
}

impl PartialEq for Meter {
    fn eq(&self, _: &Meter) -> bool {
        true
    }
}

impl Eq for Meter {}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "counted"
        } else {
            "uncounted"
        })
    }
}

impl Drop for Bytecode {
    fn drop(&mut self) {
        // Every part built since the code was counted added its bytes as it appeared, so
        // this takes back exactly what was added.
        if let Some(total) = &self.meter.0 {
            total.fetch_sub(self.heap_bytes(), Ordering::Relaxed);
        }
    }
}

/// Heap bytes of an `Arc` holding `payload` bytes: the payload and the two counts in front.
fn arc_bytes(payload: usize) -> usize {
    2 * std::mem::size_of::<usize>() + payload
}

/// Heap bytes of a kept block table: its `Arc` and the table's buffers.
fn blocks_bytes(blocks: &Blocks) -> usize {
    arc_bytes(std::mem::size_of::<Blocks>()) + blocks.heap_bytes()
}

/// The seed of [`Bytecode::content_hash`]: random per process, so codes a guest picks cannot
/// be aimed at one value.
fn content_seed() -> &'static std::hash::RandomState {
    static SEED: OnceLock<std::hash::RandomState> = OnceLock::new();
    SEED.get_or_init(std::hash::RandomState::new)
}

impl Bytecode {
    /// Analyses `code`.
    pub fn new(code: &[u8]) -> Self {
        let mut padded = Vec::with_capacity(code.len() + PADDING);
        padded.extend_from_slice(code);
        padded.resize(code.len() + PADDING, 0);
        let mut jumpdests = vec![0u64; code.len().div_ceil(64)];
        let mut pc = 0;
        while pc < code.len() {
            let op = code[pc];
            if op == opcode::JUMPDEST {
                jumpdests[pc / 64] |= 1 << (pc % 64);
            }
            pc += 1 + immediate_len(op);
        }
        Bytecode {
            padded,
            len: code.len(),
            jumpdests,
            hash: Arc::new(OnceLock::new()),
            shared: OnceLock::new(),
            blocks: [OnceLock::new(), OnceLock::new()],
            content_hash: OnceLock::new(),
            meter: Meter::default(),
            equal_copy: EqualCopy::default(),
        }
    }

    /// Bytes this code holds on the heap, from its buffers' capacities: the padded code, the
    /// JUMPDEST map, the hash cell, and the parts made on first use (the shared copy, the
    /// block tables kept). About 1.1 bytes per code byte before it runs; with the shared
    /// copy and the block tables of two specs (a `hyvm` guest also run as a plain contract),
    /// about 6 for ordinary contracts and 20 for code of JUMPDESTs (a block per byte, eight
    /// bytes each, in each table).
    pub fn heap_bytes(&self) -> usize {
        let blocks: usize = self
            .blocks
            .iter()
            .filter_map(OnceLock::get)
            .map(|(_, blocks)| blocks_bytes(blocks))
            .sum();
        self.padded.capacity()
            + self.jumpdests.capacity() * std::mem::size_of::<u64>()
            + arc_bytes(std::mem::size_of::<OnceLock<[u8; 32]>>())
            + self
                .shared
                .get()
                .map_or(0, |shared| arc_bytes(shared.len()))
            + blocks
    }

    /// This code, its [`Bytecode::heap_bytes`] counted in `total` from now until it is
    /// freed, the parts it makes on first use included as they appear: how a cache knows
    /// what its codes hold, those it let go and a run still holds included.
    pub fn counted_in(mut self, total: Arc<AtomicUsize>) -> Self {
        let bytes = self.heap_bytes();
        total.fetch_add(bytes, Ordering::Relaxed);
        if let Some(before) = self.meter.0.replace(total) {
            before.fetch_sub(bytes, Ordering::Relaxed);
        }
        self
    }

    /// Analyses `code` whose keccak256 the caller already knows.
    pub fn with_hash(code: &[u8], hash: [u8; 32]) -> Self {
        let b = Bytecode::new(code);
        let _ = b.hash.set(hash);
        b
    }

    /// Keccak256 of the code (computed once, on first use).
    pub fn hash(&self) -> [u8; 32] {
        *self.hash.get_or_init(|| crate::keccak256(self.code()))
    }

    /// A 64-bit hash of the code's bytes (seeded per process, computed once), for caches that
    /// find code by content and compare the bytes on a hit: far cheaper than the keccak.
    pub fn content_hash(&self) -> u64 {
        use std::hash::BuildHasher;
        *self
            .content_hash
            .get_or_init(|| content_seed().hash_one(self.code()))
    }

    /// Where [`Bytecode::hash`] keeps the keccak once computed: an account holding this code
    /// shares it, so a run that never asks for the hash never computes it.
    pub fn hash_cell(&self) -> Arc<OnceLock<[u8; 32]>> {
        self.hash.clone()
    }

    /// The interpreter's block table under `spec`: kept for the first two specs asked, built
    /// afresh for any other.
    pub fn blocks(&self, spec: &'static Spec) -> Arc<Blocks> {
        let key = spec as *const Spec as usize;
        for slot in &self.blocks {
            let (cached_for, blocks) = slot.get_or_init(|| {
                let blocks = Blocks::analyse(spec, self);
                self.meter.add(blocks_bytes(&blocks));
                (key, Arc::new(blocks))
            });
            if *cached_for == key {
                return blocks.clone();
            }
        }
        Arc::new(Blocks::analyse(spec, self))
    }

    /// Whether `other` holds this code's bytes: its shared copy itself, the copy found equal
    /// before, or else compared byte for byte, and then remembered. A JIT cache shared by
    /// several VMs holds the copy of the VM that compiled; without the memory, every other
    /// VM compared the whole code on every frame it ran (a microsecond for a 20 KiB router).
    pub fn holds_same_code(&self, other: &Arc<[u8]>) -> bool {
        if self.shared.get().is_some_and(|own| Arc::ptr_eq(own, other)) || self.equal_copy.is(other)
        {
            return true;
        }
        if other[..] != *self.code() {
            return false;
        }
        let _ = self.equal_copy.0.set(Arc::downgrade(other));
        true
    }

    /// The original code, shared (copied once, on first use).
    pub fn shared_code(&self) -> Arc<[u8]> {
        self.shared
            .get_or_init(|| {
                self.meter.add(arc_bytes(self.len));
                Arc::from(self.code())
            })
            .clone()
    }

    /// The original code.
    #[inline]
    pub fn code(&self) -> &[u8] {
        &self.padded[..self.len]
    }

    /// The code followed by 33 zero bytes.
    #[inline]
    pub fn padded(&self) -> &[u8] {
        &self.padded
    }

    /// Code length.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no code.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `pc` is a JUMPDEST outside push data (the `evm` rule).
    #[inline]
    pub fn is_jumpdest(&self, pc: usize) -> bool {
        pc < self.len && self.jumpdests[pc / 64] & (1 << (pc % 64)) != 0
    }

    /// Whether the byte at `pc` is 0x5B, wherever it is (the `hyvm` rule: no analysis).
    #[inline]
    pub fn is_jumpdest_byte(&self, pc: usize) -> bool {
        pc < self.len && self.padded[pc] == opcode::JUMPDEST
    }

    /// Where a jump to `dest` goes on, or `None` when the destination is bad: the one place
    /// the jump rule of each profile lives. In `evm` the destination must be a JUMPDEST found
    /// by analysis and execution resumes on it; in `hyvm` any 0x5B byte is a destination
    /// (the hypervisor does no analysis) and execution resumes after it, since the
    /// hypervisor's jump handler skips the JUMPDEST it lands on.
    #[inline(always)]
    pub fn jump_landing(&self, hyvm: bool, dest: usize) -> Option<usize> {
        if hyvm {
            self.is_jumpdest_byte(dest).then_some(dest + 1)
        } else {
            self.is_jumpdest(dest).then_some(dest)
        }
    }
}

/// Bytes of immediate data after `op`.
#[inline]
pub fn immediate_len(op: u8) -> usize {
    if (opcode::PUSH1..=opcode::PUSH32).contains(&op) {
        (op - opcode::PUSH1 + 1) as usize
    } else {
        0
    }
}

/// Whether `op` ends a basic block (it jumps, stops, or may not continue).
fn ends_block(spec: &Spec, op: u8) -> bool {
    use opcode::*;
    spec.kind[op as usize] == OpKind::Unsupported
        || matches!(
            op,
            STOP | JUMP | JUMPI | RETURN | REVERT | INVALID | SELFDESTRUCT
        )
}

/// Where the blocks of `code` under `spec` start, in order: at offset 0, at every JUMPDEST
/// (every 0x5B byte in `hyvm`, where push data can be jumped into: such blocks overlap the
/// block holding the push) and after every block-ending instruction. Only the starts, without
/// decoding the blocks: a block decoded from inside push data (a `hyvm` landing) runs on
/// through the real instructions after it, so decoding every block costs more than linear
/// time in code full of such landings, and the JIT only needs the starts.
pub fn block_starts(spec: &Spec, code: &Bytecode) -> Vec<usize> {
    let mut starts: Vec<usize> = vec![0];
    let mut pc = 0;
    while pc < code.len() {
        let op = code.padded[pc];
        if op == opcode::JUMPDEST && pc != 0 {
            starts.push(pc);
        }
        let next = pc + 1 + immediate_len(op);
        if ends_block(spec, op) && next < code.len() {
            starts.push(next);
        }
        pc = next;
    }
    if spec.is_hyvm() {
        for (i, &b) in code.code().iter().enumerate() {
            if b == opcode::JUMPDEST && !code.is_jumpdest(i) {
                starts.push(i);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_found_equal_is_remembered_and_other_bytes_are_not() {
        let code = Bytecode::new(&[0x60, 1, 0x00]);
        assert!(code.holds_same_code(&code.shared_code()), "its own copy");
        let other: Arc<[u8]> = Arc::from(&[0x60, 2, 0x00][..]);
        assert!(!code.holds_same_code(&other));
        assert_eq!(format!("{:?}", code.equal_copy), "none");
        let copy: Arc<[u8]> = Arc::from(&[0x60, 1, 0x00][..]);
        assert!(code.holds_same_code(&copy));
        assert_eq!(format!("{:?}", code.equal_copy), "found");
        assert!(code.equal_copy.is(&copy), "next time by pointer");
        assert!(!code.equal_copy.is(&other));
        // A clone is another analysis: it has found nothing yet.
        assert_eq!(format!("{:?}", code.clone().equal_copy), "none");
    }
    use crate::spec::{Fork, Profile};

    #[test]
    fn jumpdest_inside_push_data_is_not_a_jumpdest_in_evm() {
        // PUSH1 0x5b, JUMPDEST
        let code = Bytecode::new(&[0x60, 0x5b, 0x5b]);
        assert!(!code.is_jumpdest(1));
        assert!(code.is_jumpdest(2));
        assert!(code.is_jumpdest_byte(1));
        assert!(!code.is_jumpdest_byte(3));
    }

    #[test]
    fn blocks_start_at_jumpdests_and_after_block_ends() {
        let spec = Spec::get(Profile::Evm, Fork::Osaka, false);
        // PUSH1 1 ADD JUMPDEST PUSH1 2 PUSH1 3 POP STOP
        let code = Bytecode::new(&[0x60, 1, 0x01, 0x5b, 0x60, 2, 0x60, 3, 0x50, 0x00]);
        assert_eq!(block_starts(spec, &code), vec![0, 3]);
        // PUSH1 0x5b STOP PUSH1 0 JUMP JUMPDEST: the 0x5B in push data starts nothing, the
        // code after STOP and after JUMP does.
        let code = Bytecode::new(&[0x60, 0x5b, 0x00, 0x60, 0, 0x56, 0x5b]);
        assert_eq!(block_starts(spec, &code), vec![0, 3, 6]);
    }

    #[test]
    fn the_shared_code_is_made_once() {
        let code = Bytecode::new(&[0x60, 1, 0x00]);
        assert_eq!(&code.shared_code()[..], code.code());
        assert!(Arc::ptr_eq(&code.shared_code(), &code.shared_code()));
    }

    #[test]
    fn block_tables_are_kept_for_two_specs() {
        let code = Bytecode::new(&[0x60, 1, 0x00]);
        let hyvm = Spec::get(Profile::Hyvm, Fork::Osaka, false);
        let evm = Spec::get(Profile::Evm, Fork::Osaka, false);
        assert!(Arc::ptr_eq(&code.blocks(hyvm), &code.blocks(hyvm)));
        assert!(Arc::ptr_eq(&code.blocks(evm), &code.blocks(evm)));
        assert!(!Arc::ptr_eq(&code.blocks(hyvm), &code.blocks(evm)));
    }

    #[test]
    fn a_counted_code_counts_its_parts_as_they_appear_and_takes_them_back_when_freed() {
        let total = Arc::new(AtomicUsize::new(0));
        let code = Arc::new(Bytecode::new(&[0x5b; 4096]).counted_in(total.clone()));
        let fresh = code.heap_bytes();
        assert!(fresh > 4096, "{fresh} bytes");
        assert_eq!(total.load(Ordering::Relaxed), fresh);
        code.shared_code();
        code.blocks(Spec::get(Profile::Hyvm, Fork::Osaka, false));
        code.blocks(Spec::get(Profile::Evm, Fork::Osaka, false));
        // A third spec's table is not kept, so not counted.
        code.blocks(Spec::get(Profile::Evm, Fork::Cancun, false));
        let grown = code.heap_bytes();
        // A block per JUMPDEST, eight bytes each, per spec.
        assert!(grown > fresh + 2 * 8 * 4096, "{grown} bytes");
        assert_eq!(total.load(Ordering::Relaxed), grown);
        // A clone holds its own copy, counted nowhere.
        let copy = Bytecode::clone(&code);
        assert_eq!(copy, *code);
        drop(copy);
        assert_eq!(total.load(Ordering::Relaxed), grown);
        drop(code);
        assert_eq!(total.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn hyvm_blocks_start_inside_push_data() {
        let spec = Spec::get(Profile::Hyvm, Fork::Osaka, false);
        let code = Bytecode::new(&[0x61, 0x5b, 0x00, 0x00]);
        assert_eq!(block_starts(spec, &code), vec![0, 1]);
    }
}
