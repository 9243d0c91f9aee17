//! The FGD artefact's pre-scheduling pipeline (Go `math/rand` stream, shuffle, tune, node
//! rank) and target workload, against the figures in the artefact notes, plus input errors.

use std::path::{Path, PathBuf};

use models::fgd::{self, FgdError, Policy, Trace};

fn dir() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/traces/alibaba-gpu-v2023-openb"
    ))
    .to_path_buf()
}

fn trace(name: &str) -> Trace {
    Trace::load(
        &dir().join("openb_node_list_gpu_node.csv"),
        &dir().join(format!("openb_pod_list_{name}.csv")),
    )
    .expect("bundled trace parses")
}

#[test]
fn default_trace_sequences_match_the_artefact() {
    let t = trace("default");
    let names = |seq: &fgd::workload::Sequence, idx: &[usize]| -> Vec<String> {
        idx.iter()
            .map(|&i| {
                t.pod_name(seq.order[i])
                    .trim_start_matches("openb-pod-")
                    .to_string()
            })
            .collect()
    };
    let s42 = t.sequence(42);
    assert_eq!(
        names(&s42, &[0, 1, 2, 3, 4]),
        ["0255", "1685", "6784", "4463", "0602"]
    );
    assert_eq!(s42.clones, 2714);
    assert_eq!(names(&s42, &[8152, 8153, 8154]), ["3888", "5689", "2936"]);
    assert_eq!(s42.order.len(), 10_866);
    assert_eq!(s42.total_milli, 8_075_080);
    assert_eq!(s42.rank[..6], [601, 815, 450, 13, 731, 1143]);

    let s51 = t.sequence(51);
    assert_eq!(
        names(&s51, &[0, 1, 2, 3, 4]),
        ["7151", "7598", "3598", "3081", "2518"]
    );
    assert_eq!(s51.clones, 2707);
    assert_eq!(names(&s51, &[8152, 8153, 8154]), ["0882", "6873", "2759"]);
    assert_eq!(s51.total_milli, 8_074_900);
    assert_eq!(s51.rank[..6], [226, 1032, 294, 1084, 786, 92]);

    let lens: Vec<usize> = (42..=51).map(|s| t.sequence(s).order.len()).collect();
    assert_eq!(
        lens,
        [
            10866, 10793, 10863, 10813, 10814, 10831, 10805, 10835, 10766, 10859
        ]
    );
}

#[test]
fn tune_down_and_large_tune_up() {
    let s = trace("multigpu50").sequence(42);
    assert_eq!(
        (s.removed, s.order.len(), s.total_milli),
        (2700, 6361, 8_075_290)
    );
    let s = trace("gpushare100").sequence(42);
    assert_eq!((s.clones, s.order.len()), (8477, 16_629));
}

#[test]
fn fgd_target_workload() {
    let t = trace("default");
    let k = &t.targets().keys;
    assert_eq!((t.targets().shapes, k.len()), (91, 35));
    assert_eq!((k[0].cpu, k[0].milli, k[0].num), (3152, 810, 1));
    assert!((k[0].weight - 0.1348).abs() < 5e-5, "{}", k[0].weight);
    assert_eq!((k[1].cpu, k[1].milli, k[1].num), (11300, 1000, 1));
    assert!((k[1].weight - 0.1125).abs() < 5e-5);
    let cpu_12500 = k.iter().find(|x| x.milli == 0 && x.cpu == 12500).unwrap();
    assert!((cpu_12500.weight - 0.0471).abs() < 5e-5);
    assert!(
        k.iter().all(|x| x.num <= 1),
        "no multi-GPU key survives for default"
    );
    assert!((k.iter().map(|x| x.weight).sum::<f64>() - 1.0).abs() < 1e-9);
    assert_eq!(trace("gpuspec33").targets().keys.len(), 127);
    assert_eq!(trace("gpuspec33").targets().shapes, 330);
}

#[test]
fn errors_name_file_line_and_field() {
    let nodes = "sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\n";
    let bad = "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,10,1,500\np1,1000,ten,1,500\n";
    let e = fgd::run(nodes, bad, Policy::Fgd, 42).unwrap_err();
    assert_eq!(
        e,
        FgdError::Parse {
            file: "pods.csv".into(),
            line: 3,
            field: "memory_mib".into(),
            msg: "`ten` is not an integer (invalid digit found in string)".into(),
        }
    );
    let e = fgd::run("sn,cpu_milli\n", bad, Policy::Fgd, 42).unwrap_err();
    assert_eq!(e.to_string(), "nodes.csv:1: missing column `memory_mib`");
    let e = Trace::load(Path::new("/nonexistent/n.csv"), Path::new("p.csv")).unwrap_err();
    assert!(matches!(e, FgdError::Io { .. }), "{e}");
    let e = "tetris".parse::<Policy>().unwrap_err();
    assert!(e.to_string().contains("unknown FGD policy `tetris`"));
}

#[test]
fn tiny_cluster_runs_and_is_deterministic() {
    let nodes = "sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\nn1,32000,65536,1,T4\n";
    let pods = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n\
                p0,4000,1000,1,500,\np1,4000,1000,1,500,T4\np2,8000,1000,2,1000,\n\
                p3,2000,1000,0,0,\np4,70000,1000,0,0,\n";
    for p in Policy::ALL {
        let a = fgd::run(nodes, pods, p, 7).unwrap();
        // Debug strings, since sparse columns are NaN (NaN != NaN).
        assert_eq!(
            format!("{a:?}"),
            format!("{:?}", fgd::run(nodes, pods, p, 7).unwrap())
        );
        assert_eq!(a.alloc.len(), 131);
        assert_eq!(a.frag.len(), 131);
        assert_eq!(a.placed + a.failed, a.pods);
        assert!(a.failed >= 1, "the 70-core pod never fits");
    }
}
