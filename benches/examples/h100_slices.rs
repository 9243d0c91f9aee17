//! Writes the issue-18 DRA load input: a manifests-mode scenario on NODES (default 64)
//! HGX H100 nodes of partitionable ResourceSlices (see `orrery_benches::h100_slices`).
//!
//! ```text
//! cargo run --release -p orrery-benches --example h100_slices -- /tmp/h100x64 64
//! orrery run /tmp/h100x64/scenario.yaml --out /tmp/h100x64/out --quiet
//! ```

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: h100_slices DIR [NODES]");
        std::process::exit(2);
    };
    let nodes = match args.next().map(|n| n.parse::<usize>()) {
        None => 64,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("NODES must be a positive integer");
            std::process::exit(2);
        }
    };
    match orrery_benches::h100_slices::write_h100_scenario(std::path::Path::new(&dir), nodes) {
        Ok(bytes) => println!("{dir}/scenario.yaml: {nodes} nodes, slices.yaml {bytes} bytes"),
        Err(e) => {
            eprintln!("h100_slices: {e}");
            std::process::exit(1);
        }
    }
}
