//! Capping the groups of values that block arguments join, so that register allocation
//! stays linear in the code.

use cranelift_codegen::ir::{Block, Function, Value};
use std::collections::HashMap;

/// Most values one group of [`Groups`] may hold.
pub(super) const MAX_GROUP: u32 = 16;

/// Values joined through block arguments. Register allocation merges a block parameter with
/// its arguments, and each merge walks both merged sets: a group that grew with the code (a
/// height passed on unchanged along a run of `PUSH1 JUMP`s, the gas of every jump to one
/// target) would make compile time grow with its square. Groups are capped; a jump that
/// would grow one past the cap passes its values through the context.
#[derive(Default)]
pub(super) struct Groups {
    /// Union-find parent of each value seen (absent: its own group).
    parent: HashMap<Value, Value>,
    /// Size of each group, by its root.
    size: HashMap<Value, u32>,
}

impl Groups {
    fn root(&mut self, mut v: Value) -> Value {
        while let Some(&p) = self.parent.get(&v) {
            if let Some(&gp) = self.parent.get(&p) {
                self.parent.insert(v, gp);
            }
            v = p;
        }
        v
    }

    fn size(&self, root: Value) -> u32 {
        self.size.get(&root).copied().unwrap_or(1)
    }

    /// Joins each of `args` with the matching parameter of `block` unless a group would
    /// outgrow the cap; false (and nothing joined) then.
    pub(super) fn join(&mut self, func: &Function, block: Block, args: [Value; 2]) -> bool {
        let params = func.dfg.block_params(block);
        let pairs = [0, 1].map(|i| (self.root(args[i]), self.root(params[i])));
        if pairs
            .iter()
            .any(|&(a, p)| a != p && self.size(a) + self.size(p) > MAX_GROUP)
        {
            return false;
        }
        for (a, p) in pairs {
            if a != p {
                let joined = self.size(a) + self.size(p);
                self.parent.insert(a, p);
                self.size.insert(p, joined);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_codegen::ir::types::I64;
    use cranelift_codegen::ir::{InstBuilder, Signature, UserFuncName};
    use cranelift_codegen::isa::CallConv;
    use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

    #[test]
    fn groups_of_joined_values_stop_growing_at_the_cap() {
        let mut func = Function::with_name_signature(
            UserFuncName::default(),
            Signature::new(CallConv::SystemV),
        );
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let target = b.create_block();
        b.append_block_param(target, I64);
        b.append_block_param(target, I64);
        let source = b.create_block();
        b.switch_to_block(source);
        let mut groups = Groups::default();
        let mut joined = 0;
        for i in 0..40 {
            let gas = b.ins().iconst(I64, i);
            let len = b.ins().iconst(I64, i + 100);
            if groups.join(b.func, target, [gas, len]) {
                joined += 1;
            }
        }
        // Each parameter's group holds itself and one argument per join.
        assert_eq!(joined, MAX_GROUP - 1);
        // A value already in the group joins again for free.
        let gas = b.func.dfg.block_params(target)[0];
        let len = b.func.dfg.block_params(target)[1];
        assert!(groups.join(b.func, target, [gas, len]));
        // A chain (each parameter passed on to the next block) is cut the same way.
        let mut groups = Groups::default();
        let mut prev = target;
        let mut chained = 0;
        for _ in 0..40 {
            let next = b.create_block();
            b.append_block_param(next, I64);
            b.append_block_param(next, I64);
            let args = [0, 1].map(|i| b.func.dfg.block_params(prev)[i]);
            if groups.join(b.func, next, args) {
                chained += 1;
                prev = next;
            }
        }
        assert_eq!(chained, MAX_GROUP - 1);
    }
}
