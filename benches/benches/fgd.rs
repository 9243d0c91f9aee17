//! FGD artefact reproduction runs (`models::fgd`): one run per policy on the default openb
//! trace (tune seed 42): 10,866 pods on 1,213 GPU nodes, analysis included.
//!
//! `fgd/default-42/<policy>`. The trace is parsed once; each iteration is one full run
//! (tune, shuffle, schedule through the one cluster model, analysis), single-threaded.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use models::fgd::{Policy, Trace};

fn fgd(c: &mut Criterion) {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/traces/alibaba-gpu-v2023-openb"
    ));
    let trace = Trace::load(
        &dir.join("openb_node_list_gpu_node.csv"),
        &dir.join("openb_pod_list_default.csv"),
    )
    .expect("bundled openb trace");
    let mut g = c.benchmark_group("fgd/default-42");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(4));
    for p in Policy::ALL {
        g.bench_function(p.name(), |b| {
            b.iter(|| black_box(trace.run(black_box(p), 42).expect("bundled run")))
        });
    }
    g.finish();
}

criterion_group!(benches, fgd);
criterion_main!(benches);
