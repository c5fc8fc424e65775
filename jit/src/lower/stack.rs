//! The virtual stack: inside a segment the top of the stack lives in SSA values and reaches
//! the frame's stack buffer only when it must (see [`FunctionLowering::spill`]).

use super::FunctionLowering;
use crate::segments::Instr;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{InstBuilder, MemFlags, Value};
use nestedvm_interp::{opcode, U256};

/// A stack word known to the lowering.
#[derive(Clone, Copy, Debug)]
pub(super) enum Slot {
    /// Still in the stack buffer, at this position relative to the segment's entry height.
    Mem(i32),
    /// In SSA values, with its value when known at compile time.
    Val([Value; 4], Option<U256>),
    /// Known at compile time and already in the stack buffer at this position (a constant
    /// that outlived a builtin call or a segment boundary).
    Const(i32, U256),
}

impl Slot {
    /// Its value, when known at compile time.
    pub(super) fn known(&self) -> Option<U256> {
        match *self {
            Slot::Val(_, k) => k,
            Slot::Const(_, v) => Some(v),
            Slot::Mem(_) => None,
        }
    }
}

/// The stack as the lowering sees it: entry height `len` (a run-time value) plus `floor`
/// (how far below it the segment has popped), with `items` above the floor.
#[derive(Clone)]
pub(super) struct VStack {
    /// The height on entry (or after the last builtin that re-read it).
    pub(super) len: Value,
    /// The address of the item above the top at height `len`.
    pub(super) sp0: Value,
    /// How far below `len` the segment has popped.
    pub(super) floor: i32,
    /// The items above the floor, the top last.
    pub(super) items: Vec<Slot>,
}

impl FunctionLowering<'_, '_> {
    pub(super) fn load_word(&mut self, base: Value, offset: i32) -> [Value; 4] {
        let flags = MemFlags::trusted();
        std::array::from_fn(|k| {
            self.builder
                .ins()
                .load(I64, flags, base, offset + 8 * k as i32)
        })
    }

    pub(super) fn store_word(&mut self, w: [Value; 4], base: Value, offset: i32) {
        let flags = MemFlags::trusted();
        for (k, v) in w.into_iter().enumerate() {
            self.builder
                .ins()
                .store(flags, v, base, offset + 8 * k as i32);
        }
    }

    pub(super) fn const_word(&mut self, v: U256) -> Slot {
        Slot::Val(self.const_limbs(v), Some(v))
    }

    /// The limbs of constant `v`.
    pub(super) fn const_limbs(&mut self, v: U256) -> [Value; 4] {
        v.0.map(|limb| self.iconst(limb))
    }

    /// The limbs of a slot, loading it when it is still in memory.
    pub(super) fn limbs(&mut self, vs: &VStack, slot: Slot) -> [Value; 4] {
        match slot {
            Slot::Val(v, _) => v,
            Slot::Const(_, v) => self.const_limbs(v),
            Slot::Mem(pos) => self.load_word(vs.sp0, pos * 32),
        }
    }

    pub(super) fn pop(&mut self, vs: &mut VStack) -> Slot {
        match vs.items.pop() {
            Some(s) => s,
            None => {
                vs.floor -= 1;
                Slot::Mem(vs.floor)
            }
        }
    }

    pub(super) fn pop_val(&mut self, vs: &mut VStack) -> ([Value; 4], Option<U256>) {
        let s = self.pop(vs);
        (self.limbs(vs, s), s.known())
    }

    /// Makes the top `n` items virtual (so DUP and SWAP can reach them).
    pub(super) fn reach(&mut self, vs: &mut VStack, n: usize) {
        while vs.items.len() < n {
            vs.floor -= 1;
            vs.items.insert(0, Slot::Mem(vs.floor));
        }
    }

    /// Writes the virtual items to the stack buffer and returns the new height.
    pub(super) fn spill(&mut self, vs: &VStack) -> Value {
        // Read every moved word before writing any: SWAPs can move memory words over others.
        let mut writes = Vec::new();
        for (i, slot) in vs.items.iter().enumerate() {
            let pos = vs.floor + i as i32;
            match *slot {
                Slot::Mem(p) | Slot::Const(p, _) if p == pos => {}
                Slot::Mem(p) => writes.push((pos, self.load_word(vs.sp0, p * 32))),
                Slot::Const(_, v) => {
                    let w = self.const_limbs(v);
                    writes.push((pos, w));
                }
                Slot::Val(v, _) => writes.push((pos, v)),
            }
        }
        for (pos, w) in writes {
            self.store_word(w, vs.sp0, pos * 32);
        }
        let delta = vs.floor + vs.items.len() as i32;
        if delta == 0 {
            vs.len
        } else {
            self.builder.ins().iadd_imm(vs.len, delta as i64)
        }
    }

    /// A fresh virtual stack over height `len` whose items at these depths from the top are
    /// known constants (already in the stack buffer).
    pub(super) fn fresh_with(&mut self, len: Value, facts: &[(usize, U256)]) -> VStack {
        let mut vs = self.fresh(len);
        let Some(deepest) = facts.iter().map(|&(d, _)| d).max() else {
            return vs;
        };
        vs.floor = -(deepest as i32 + 1);
        vs.items = (0..=deepest)
            .map(|i| Slot::Mem(vs.floor + i as i32))
            .collect();
        for &(depth, v) in facts {
            let i = deepest - depth;
            vs.items[i] = Slot::Const(vs.floor + i as i32, v);
        }
        vs
    }

    /// The known constants of `vs` as (depth from the top, value).
    pub(super) fn facts(vs: &VStack) -> Vec<(usize, U256)> {
        let n = vs.items.len();
        vs.items
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.known().map(|v| (n - 1 - i, v)))
            .collect()
    }

    /// A fresh virtual stack over height `len`.
    pub(super) fn fresh(&mut self, len: Value) -> VStack {
        let bytes = self.builder.ins().ishl_imm(len, 5);
        let base = self.stack_base();
        let sp0 = self.builder.ins().iadd(base, bytes);
        VStack {
            len,
            sp0,
            floor: 0,
            items: Vec::new(),
        }
    }

    pub(super) fn known_top(&self, vs: &VStack) -> Option<U256> {
        vs.items.last().and_then(Slot::known)
    }

    /// PUSH, DUP, SWAP, POP, JUMPDEST and PC: moves on the virtual stack, no code.
    pub(super) fn stack_op(&mut self, vs: &mut VStack, ins: Instr) {
        use opcode::*;
        let op = ins.op;
        match op {
            PUSH0..=PUSH32 => {
                let n = (op - PUSH0) as usize;
                let bytes = &self.lowering.code.padded()[ins.pc + 1..ins.pc + 1 + n];
                let v = U256::from_big_endian(bytes);
                let s = self.const_word(v);
                vs.items.push(s);
            }
            0x80..=0x8f => {
                let n = (op - 0x80 + 1) as usize;
                self.reach(vs, n);
                let s = vs.items[vs.items.len() - n];
                vs.items.push(s);
            }
            0x90..=0x9f => {
                let n = (op - 0x90 + 1) as usize;
                self.reach(vs, n + 1);
                let top = vs.items.len() - 1;
                vs.items.swap(top, top - n);
            }
            POP => {
                self.pop(vs);
            }
            PC => {
                let s = self.const_word(U256::from(ins.pc));
                vs.items.push(s);
            }
            _ => {}
        }
    }
}
