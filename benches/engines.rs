//! Interpreter vs JIT (code already compiled) vs JIT including compilation, on the
//! evm-benchmarks programs, revm's snailtracer and analysis, and a 1M-iteration arithmetic
//! loop, in the `evm` profile. `cargo bench --bench engines`; ratios come from one run.

use criterion::{criterion_group, criterion_main, Criterion};
use nestedvm::jit::JitCache;
use nestedvm::{Account, Address, Config, Engine, JitConfig, Profile, Request, Vm, U256};
use std::path::Path;
use std::sync::Arc;

struct Program {
    name: String,
    code: Vec<u8>,
    input: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim().trim_start_matches("0x");
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn programs() -> Vec<Program> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/programs");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("benches/programs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("reads");
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        let (_, test) = json
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("a test");
        let to = test["transaction"]["to"]
            .as_str()
            .expect("to")
            .to_lowercase();
        let code = unhex(test["pre"][&to]["code"].as_str().expect("code"));
        let input = unhex(test["transaction"]["data"][0].as_str().expect("data"));
        let mut name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        if name == "snailtracer" {
            // revm's snailtracer below keeps the plain name.
            name = "snailtracer-evmbench".into();
        }
        out.push(Program { name, code, input });
    }
    for (name, input) in [("snailtracer", "30627b7c"), ("analysis", "8035F0CE")] {
        let code = std::fs::read_to_string(dir.join(format!("{name}.hex"))).expect("reads");
        out.push(Program {
            name: name.into(),
            code: unhex(&code),
            input: unhex(input),
        });
    }
    // acc = acc * 3 + i for i in 1..=1_000_000.
    let arith = nestedvm::interp::asm::assemble(
        "PUSH0 PUSH0 l: JUMPDEST PUSH1 1 ADD SWAP1 PUSH1 3 MUL DUP2 ADD SWAP1 DUP1 \
         PUSH4 0x000f4240 GT PUSH @l JUMPI POP PUSH0 MSTORE PUSH1 32 PUSH0 RETURN",
    )
    .expect("assembles");
    out.push(Program {
        name: "arith-loop".into(),
        code: arith,
        input: Vec::new(),
    });
    out
}

fn request(p: &Program) -> Request {
    let mut req = Request::new(p.code.clone());
    req.calldata = p.input.clone();
    req.gas = 1_000_000_000;
    req.address = Address::from_low_u64_be(0xbe7c);
    req.accounts = vec![(
        Address::from_low_u64_be(0xca11),
        Account::new(U256::exp10(30), 0, Vec::new()),
    )];
    req
}

fn config(engine: Engine) -> Config {
    Config {
        profile: Profile::Evm,
        engine,
        jit: JitConfig {
            hot_after: 0,
            ..JitConfig::default()
        },
        ..Config::default()
    }
}

fn engines(c: &mut Criterion) {
    for p in programs() {
        let req = request(&p);
        let mut group = c.benchmark_group(&p.name);
        group.sample_size(10);
        group.warm_up_time(std::time::Duration::from_millis(500));
        group.measurement_time(std::time::Duration::from_secs(2));
        let interp = config(Engine::Interpreter);
        let mut vm = Vm::new();
        let truth = vm.run(&interp, &req).expect("runs");
        group.bench_function("interp", |b| b.iter(|| vm.run(&interp, &req)));
        let jit = config(Engine::Jit);
        let mut vm = Vm::new();
        let native = vm.run(&jit, &req).expect("runs");
        assert_eq!(
            (native.status, &native.output, native.gas_used),
            (truth.status, &truth.output, truth.gas_used),
            "{}: the JIT must agree before it is timed",
            p.name
        );
        group.bench_function("jit", |b| b.iter(|| vm.run(&jit, &req)));
        group.bench_function("jit+compile", |b| {
            b.iter(|| Vm::with_jit_cache(Arc::new(JitCache::new(4))).run(&jit, &req))
        });
        group.finish();
    }
}

criterion_group!(benches, engines);
criterion_main!(benches);
