//! JIT compile time against code size: snailtracer and the adversarial cases of
//! `nestedvm_cli::bench::compile` (JUMPDEST runs, PUSH1/JUMP chains, DUP/SWAP runs, push data full
//! of 0x5B in `hyvm`) at 6, 12, 24 and 48 KiB. Throughput is in bytes, so criterion's figure per
//! case converts to time per KiB (`nestedvm bench --compile` prints it directly). Group
//! `compile` is Cranelift's (the default options), `compile-baseline` the baseline tier's.
//! `cargo bench --bench compile`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nestedvm::interp::{Bytecode, Spec};
use nestedvm::jit::{compile, CompileOptions, OptLevel};
use nestedvm::World;
use nestedvm_cli::bench::compile::cases;
use nestedvm_cli::bench::measure::FORK;
use std::time::Duration;

fn compile_time(c: &mut Criterion) {
    let baseline = CompileOptions {
        opt_level: OptLevel::Baseline,
        ..CompileOptions::default()
    };
    for (name, options) in [
        ("compile", CompileOptions::default()),
        ("compile-baseline", baseline),
    ] {
        if options.opt_level == OptLevel::Baseline && !nestedvm::jit::baseline::AVAILABLE {
            continue;
        }
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(3));
        for case in cases() {
            let spec = Spec::get(case.profile, FORK, false);
            let bytecode = Bytecode::new(&case.code);
            group.throughput(Throughput::Bytes(case.code.len() as u64));
            let id = BenchmarkId::new(&case.name, case.code.len());
            group.bench_with_input(id, &bytecode, |b, code| {
                b.iter(|| compile::<World>(spec, code, options).expect("compiles"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, compile_time);
criterion_main!(benches);
