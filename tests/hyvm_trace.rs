//! `hyvm` step traces: the guest's instructions at guest offsets, with the on-chain gas the
//! deployed hypervisor has left before each and spends on each, adding up to the run's
//! on-chain `gas_used`.

use nestedvm::interp::asm::assemble;
use nestedvm::interp::trace::StepView;
use nestedvm::interp::Spec;
use nestedvm::trace::Tracer;
use nestedvm::{Account, Address, Config, Fork, Profile, Request, Status, Vm, U256};

/// A top-frame step: pc, op, gas before, gas cost.
#[derive(Debug, Clone, Copy)]
struct Step {
    pc: usize,
    op: u8,
    gas: u64,
    cost: u64,
}

#[derive(Default)]
struct TopSteps(Vec<Step>);

impl Tracer for TopSteps {
    fn step(&mut self, depth: usize, step: &StepView<'_>) {
        if depth == 1 {
            self.0.push(Step {
                pc: step.pc,
                op: step.op,
                gas: step.gas,
                cost: step.gas_cost,
            });
        }
    }
}

/// CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE, CREATE2: their callee's unused gas
/// comes back after their step.
fn gives_gas(op: u8) -> bool {
    matches!(op, 0xf0 | 0xf1 | 0xf2 | 0xf4 | 0xf5 | 0xfa)
}

#[test]
fn guest_steps_add_up_to_the_on_chain_gas() {
    let callee = Address::from_low_u64_be(0xca);
    let programs = [
        // Arithmetic, memory growth, storage, a log and a return.
        "PUSH1 7 PUSH1 5 MUL PUSH2 0x400 MSTORE PUSH1 1 PUSH0 SSTORE PUSH1 32 PUSH2 0x400 LOG0 PUSH1 32 PUSH2 0x400 RETURN",
        // A loop of jumps.
        "PUSH1 10 loop: JUMPDEST PUSH1 1 SWAP1 SUB DUP1 PUSH @loop JUMPI STOP",
        // A call to a contract of the pre-state, and on after it.
        "PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH1 0xca GAS CALL PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
        // A bad jump: the hypervisor reverts.
        "PUSH1 5 JUMP",
    ];
    for source in programs {
        let code = assemble(source).expect("assembles");
        let mut request = Request::new(code.clone());
        request.gas = 1_000_000;
        request.accounts = vec![(
            callee,
            Account::new(
                U256::zero(),
                1,
                assemble("PUSH1 1 PUSH0 SSTORE STOP").unwrap(),
            ),
        )];
        let config = Config::default();
        let mut steps = TopSteps::default();
        let traced = Vm::new()
            .run_traced(&config, &request, &mut steps)
            .expect("runs");
        let plain = Vm::new().run(&config, &request).expect("runs");
        assert_eq!(
            (traced.status, &traced.output, traced.gas_used),
            (plain.status, &plain.output, plain.gas_used),
            "{source}"
        );
        let steps = steps.0;
        let spec = Spec::get(Profile::Hyvm, Fork::Osaka, false);
        // The hypervisor's start-up comes before the guest's first instruction.
        assert_eq!(steps[0].gas, request.gas - spec.startup_gas, "{source}");
        for pair in steps.windows(2) {
            let [a, b] = pair else { unreachable!() };
            assert!(
                a.pc < code.len() && code[a.pc] == a.op,
                "{source}: a guest offset"
            );
            if gives_gas(a.op) {
                assert!(
                    b.gas >= a.gas - a.cost,
                    "{source}: the callee's rest comes back"
                );
            } else {
                assert_eq!(b.gas, a.gas - a.cost, "{source}: {a:?} then {b:?}");
            }
        }
        let last = steps.last().expect("steps");
        if traced.status != Status::Halt {
            // What is left after the last guest instruction is what the run did not use.
            assert_eq!(
                request.gas - traced.gas_used,
                last.gas - last.cost,
                "{source}"
            );
        }
    }
}
