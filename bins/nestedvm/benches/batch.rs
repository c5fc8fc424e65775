//! `run --batch` throughput through the batch protocol's own code
//! (`nestedvm_cli::bench::throughput`): 10,000 distinct small `hyvm` payloads, and one payload
//! 10,000 times (compiled once, then cache hits), each batch on a fresh VM as a new process
//! would have. `cargo bench --bench batch`; `nestedvm bench --batch` prints executions/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nestedvm_cli::bench::throughput::{lines, run_batch, Workload, BATCH_LEN};
use std::time::Duration;

fn batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(BATCH_LEN as u64));
    for workload in Workload::ALL {
        let lines = lines(workload, BATCH_LEN);
        group.bench_function(workload.name(), |b| {
            b.iter(|| {
                run_batch(&lines, std::num::NonZeroUsize::MIN).expect("every payload succeeds")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, batch);
criterion_main!(benches);
