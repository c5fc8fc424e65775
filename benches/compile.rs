//! JIT compile time against code size: snailtracer and adversarial code (JUMPDEST runs,
//! PUSH1/JUMP chains, DUP/SWAP runs, push data full of 0x5B in `hyvm`) at 6, 12 and 24 KiB,
//! so growth can be read off side by side. `cargo bench --bench compile`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nestedvm::interp::{Bytecode, Fork, Profile, Spec};
use nestedvm::jit::{compile, CompileOptions};
use nestedvm::World;
use std::path::Path;

fn repeat_to(unit: &[u8], len: usize) -> Vec<u8> {
    unit.iter().copied().cycle().take(len).collect()
}

fn adversarial(len: usize) -> Vec<(&'static str, Profile, Vec<u8>)> {
    let mut dup_swap = Vec::new();
    dup_swap.extend([0x5f; 16]);
    dup_swap.extend(0x80..=0x8f);
    dup_swap.extend(0x90..=0x9e);
    dup_swap.extend([0x50; 32]);
    let mut push32_5b = vec![0x7f];
    push32_5b.extend([0x5b; 32]);
    vec![
        ("jumpdests", Profile::Evm, vec![0x5b; len]),
        ("jumpdests-hyvm", Profile::Hyvm, vec![0x5b; len]),
        (
            "push1-jump",
            Profile::Evm,
            repeat_to(&[0x60, 0x03, 0x56, 0x5b], len),
        ),
        ("dup-swap", Profile::Evm, repeat_to(&dup_swap, len)),
        ("push32-5b-hyvm", Profile::Hyvm, repeat_to(&push32_5b, len)),
    ]
}

fn compile_time(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(3));
    let snail = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/programs/snailtracer.hex"),
    )
    .expect("snailtracer");
    let snail = nestedvm::input::parse_hex("snailtracer", &snail).expect("hex");
    let mut cases = vec![("snailtracer", Profile::Evm, snail)];
    for len in [6 * 1024, 12 * 1024, 24 * 1024] {
        cases.extend(adversarial(len));
    }
    for (name, profile, code) in cases {
        let spec = Spec::get(profile, Fork::Osaka, false);
        let bytecode = Bytecode::new(&code);
        group.throughput(Throughput::Bytes(code.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, code.len()), &bytecode, |b, code| {
            b.iter(|| compile::<World>(spec, code, CompileOptions::default()).expect("compiles"))
        });
    }
    group.finish();
}

criterion_group!(benches, compile_time);
criterion_main!(benches);
