//! `conformance/full/<profile>`: a whole `orrery conformance` scoring of an example profile
//! against the 1.34 checklist (every suite, including the exhaustive exploration of two
//! over-committed gangs and the shrinking of a counterexample where there is one), plus
//! the scorecard's Markdown, JSON and self-assessment text.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use scenarios::conformance::{Catalogue, Profile, ScoreOptions, score};

fn profile(name: &str) -> Profile {
    let path = format!(
        "{}/../scenarios/profiles/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    Profile::load(std::path::Path::new(&path)).expect("example profile")
}

fn bench(c: &mut Criterion) {
    let catalogue = Catalogue::bundled().expect("catalogue");
    let mut g = c.benchmark_group("conformance/full");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for name in ["bare", "fully-conformant"] {
        let p = profile(name);
        g.bench_function(name, |b| {
            b.iter(|| {
                let opts = ScoreOptions {
                    version: "1.34",
                    seed: 1,
                    only: None,
                    profile_path: name,
                };
                let card = score(&p, &catalogue, &opts, |_, _, _| {}).expect("score");
                let md = reports::conformance::scorecard_md(&card);
                let json = reports::conformance::scorecard_json(&card).expect("json");
                let sa = reports::conformance::self_assessment_yaml(&card, &p);
                black_box((md.len(), json.len(), sa.len()))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
