//! Every catalogue program (`nestedvm_cli::bench::programs`, the names `nestedvm bench` uses) in
//! every profile it runs in, on: the interpreter, the JIT with its code compiled, the JIT
//! including compilation (a fresh cache each run), and revm as the reference (in `hyvm`, revm
//! running the deployed HyVM, see `nestedvm_cli::bench::measure`). Every engine is checked against
//! the interpreter before it is timed. `cargo bench --bench engines [FILTER]`.

use criterion::{criterion_group, criterion_main, Criterion};
use nestedvm::jit::JitCache;
use nestedvm::Vm;
use nestedvm_cli::bench::measure::{config, prepare};
use nestedvm_cli::bench::programs::catalogue;
use nestedvm_cli::engines::ToolEngine;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn engines(c: &mut Criterion) {
    for program in catalogue() {
        for &profile in program.profiles() {
            let (_, ready) = prepare(
                &program,
                profile,
                ToolEngine::BENCH,
                false,
                &Arc::new(JitCache::new(4)),
                Default::default(),
                None,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let mut group = c.benchmark_group(format!("{} {profile}", program.name));
            group.sample_size(10);
            group.warm_up_time(Duration::from_millis(500));
            group.measurement_time(Duration::from_secs(2));
            for mut r in ready {
                let Some(engine) = r.engine else { continue };
                group.bench_function(engine.name(), |b| b.iter(|| r.runner.run()));
                if engine == ToolEngine::Jit {
                    let jit = config(profile, ToolEngine::Jit, Default::default(), None);
                    let request = program.request(profile);
                    group.bench_function("jit+compile", |b| {
                        b.iter(|| {
                            let mut vm = Vm::with_jit_cache(Arc::new(JitCache::new(4)));
                            black_box(vm.run(&jit, &request))
                        })
                    });
                }
            }
            group.finish();
        }
    }
}

criterion_group!(benches, engines);
criterion_main!(benches);
