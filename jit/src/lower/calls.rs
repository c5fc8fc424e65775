//! Calls into builtins: the interpreter's code for an instruction, and the word builtins,
//! with the signatures the builtins' list gives.

use super::stack::{Slot, VStack};
use super::FunctionLowering;
use crate::builtins::{Builtin, Convention, Param};
use crate::context::{exit, offsets};
use crate::segments::{ends_segment_after, Instr};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{AbiParam, Block, InstBuilder, MemFlags, Signature, Type, Value};
use cranelift_codegen::isa::CallConv;
use nestedvm_interp::opcode::{self, OPCODES};
use nestedvm_interp::U256;

/// A builtin's argument: a value, or a constant of its parameter's type.
#[derive(Clone, Copy)]
pub(super) enum Arg {
    /// A value.
    Value(Value),
    /// A constant, of the parameter's type.
    Const(u64),
}

impl FunctionLowering<'_, '_> {
    /// Returns `code` (a builtin's) unless it is zero, else goes on at `cont`.
    fn stop_unless_zero(&mut self, code: Value, cont: Block) {
        let stop = self.builder.create_block();
        self.builder.set_cold_block(stop);
        self.builder.ins().brif(code, stop, &[], cont, &[]);
        self.builder.switch_to_block(stop);
        let interpret = self
            .builder
            .ins()
            .icmp_imm(IntCC::Equal, code, exit::INTERPRET as i64);
        let (to_interpret, to_stop) = (self.exit(exit::INTERPRET), self.exit(exit::STOPPED));
        self.builder
            .ins()
            .brif(interpret, to_interpret, &[], to_stop, &[]);
        self.builder.switch_to_block(cont);
    }

    /// Calls `builtin` with `args` and returns its exit code, if it returns one.
    pub(super) fn call_builtin(&mut self, builtin: Builtin, args: &[Arg]) -> Option<Value> {
        debug_assert_eq!(args.len(), builtin.params().len(), "{builtin:?}");
        let sig = match self.builtin_sigs[builtin.index()] {
            Some(sig) => sig,
            None => {
                let call_conv = self.builder.func.signature.call_conv;
                let sig = self
                    .builder
                    .import_signature(builtin_signature(builtin, call_conv));
                *self.builtin_sigs[builtin.index()].insert(sig)
            }
        };
        let callee = self.iconst(self.lowering.builtins.address(builtin) as u64);
        let args: Vec<Value> = args
            .iter()
            .zip(builtin.params())
            .map(|(arg, param)| match *arg {
                Arg::Value(v) => v,
                Arg::Const(c) => self.builder.ins().iconst(param_type(*param), c as i64),
            })
            .collect();
        let call = self.builder.ins().call_indirect(sig, callee, &args);
        self.builder.inst_results(call).first().copied()
    }

    /// Calls `builtin` with `args`, then goes on in a new block (returned) if the exit code
    /// is [`exit::CONTINUE`], else returns the code.
    pub(super) fn call_and_continue(&mut self, builtin: Builtin, args: &[Arg]) -> Block {
        let code = self.call_builtin(builtin, args);
        let cont = self.builder.create_block();
        match code {
            Some(code) => self.stop_unless_zero(code, cont),
            None => {
                self.builder.ins().jump(cont, &[]);
                self.builder.switch_to_block(cont);
            }
        }
        cont
    }

    /// Runs the instruction through the interpreter's code: the stack is spilled first and
    /// read back from the buffer after.
    pub(super) fn call_exec(
        &mut self,
        vs: &mut VStack,
        ins: Instr,
        rest_after: u64,
        last: bool,
    ) -> bool {
        let flags = MemFlags::trusted();
        // An instruction that keeps to its stack effect leaves the items below its inputs as
        // they were: their constants stay known after the call.
        let kept: Vec<(usize, U256)> = match OPCODES[ins.op as usize] {
            Some(info) if !ends_segment_after(self.lowering.spec, ins.op) => {
                let (inputs, outputs) = (info.inputs as usize, info.outputs as usize);
                Self::facts(vs)
                    .into_iter()
                    .filter(|&(depth, _)| depth >= inputs)
                    .map(|(depth, v)| (depth - inputs + outputs, v))
                    .collect()
            }
            _ => Vec::new(),
        };
        let len = self.spill(vs);
        let gas = self.builder.use_var(self.gas);
        let gas = self.builder.ins().iadd_imm(gas, rest_after as i64);
        let ctx = self.store_gas_and_height(gas, len);
        self.call_and_continue(Builtin::Exec, &[Arg::Value(ctx), Arg::Const(ins.pc as u64)]);
        let ctx = self.ctx();
        let gas = self.builder.ins().load(I64, flags, ctx, offsets::GAS);
        let len = self.builder.ins().load(I64, flags, ctx, offsets::STACK_LEN);
        *vs = self.fresh_with(len, &kept);
        if rest_after > 0 && !last {
            // The builtin may have left less than the rest of the segment needs: the
            // interpreter then runs out of gas at the right instruction.
            let enough = self.builder.ins().icmp_imm(
                IntCC::UnsignedGreaterThanOrEqual,
                gas,
                rest_after as i64,
            );
            let ok = self.builder.create_block();
            let short = self.builder.create_block();
            self.builder.set_cold_block(short);
            self.builder.ins().brif(enough, ok, &[], short, &[]);
            self.builder.switch_to_block(short);
            self.ret(exit::INTERPRET);
            self.builder.switch_to_block(ok);
        }
        let gas = self.builder.ins().iadd_imm(gas, -(rest_after as i64));
        self.builder.def_var(self.gas, gas);
        true
    }

    /// A word instruction through its builtin ([`Builtin::WordOp`]): its inputs go through the
    /// context's scratch words, the rest of the virtual stack stays in registers.
    pub(super) fn word_builtin(&mut self, vs: &mut VStack, op: u8) {
        let inputs = if matches!(op, opcode::ADDMOD | opcode::MULMOD) {
            3
        } else {
            2
        };
        let words: Vec<[Value; 4]> = (0..inputs).map(|_| self.pop_val(vs).0).collect();
        let r = self.call_word_builtin(op, &words);
        vs.items.push(Slot::Val(r, None));
    }

    /// Calls the builtin of word instruction `op` on `words` (top first) and returns its result.
    pub(super) fn call_word_builtin(&mut self, op: u8, words: &[[Value; 4]]) -> [Value; 4] {
        let ctx = self.ctx();
        for (k, w) in words.iter().enumerate() {
            self.store_word(*w, ctx, offsets::SCRATCH + 32 * k as i32);
        }
        self.call_and_continue(Builtin::WordOp(op), &[Arg::Value(ctx)]);
        let ctx = self.ctx();
        self.load_word(ctx, offsets::SCRATCH)
    }
}

/// The Cranelift signature of `builtin`, whose system calls use `call_conv`.
fn builtin_signature(builtin: Builtin, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(match builtin.convention() {
        Convention::System => call_conv,
        Convention::PreserveAll => CallConv::PreserveAll,
    });
    for &param in builtin.params() {
        sig.params.push(AbiParam::new(param_type(param)));
    }
    if builtin.returns_exit() {
        sig.returns.push(AbiParam::new(I32));
    }
    sig
}

/// The IR type of a builtin's parameter.
fn param_type(param: Param) -> Type {
    match param {
        Param::Ptr | Param::U64 => I64,
        Param::U32 => I32,
    }
}
