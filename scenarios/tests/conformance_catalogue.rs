//! The AI Conformance requirement catalogue against the published checklists
//! (cncf/k8s-ai-conformance docs/AIConformance-1.3{3,4,5,6}.yaml, summarised in
//! ../shared/reference/ai-conformance.md §2 and §4).

use scenarios::conformance::{Catalogue, CatalogueError, Category, Level, Simulable};

fn ids(c: &Catalogue, version: &str, level: Level) -> Vec<String> {
    c.checklist(version)
        .unwrap()
        .into_iter()
        .filter(|(_, l)| *l == Some(level))
        .map(|(r, _)| r.id.clone())
        .collect()
}

const V1_0: [&str; 9] = [
    "dra_support",
    "ai_inference",
    "gang_scheduling",
    "cluster_autoscaling",
    "pod_autoscaling",
    "accelerator_metrics",
    "ai_service_metrics",
    "secure_accelerator_access",
    "robust_controller",
];

#[test]
fn checklists_per_version_match_the_published_ones() {
    let c = Catalogue::bundled().unwrap();
    assert_eq!(c.versions, ["1.33", "1.34", "1.35", "1.36"]);
    // 1.33: the nine v1.0 requirements; dra_support only a SHOULD (DRA beta, off by default).
    assert_eq!(ids(&c, "1.33", Level::Should), ["dra_support"]);
    assert_eq!(ids(&c, "1.33", Level::Must), V1_0[1..]);
    // 1.34: the same nine, all MUST (resource.k8s.io/v1 GA).
    assert_eq!(ids(&c, "1.34", Level::Must), V1_0);
    assert!(ids(&c, "1.34", Level::Should).is_empty());
    // 1.35: three accelerator SHOULDs added.
    assert_eq!(ids(&c, "1.35", Level::Must), V1_0);
    assert_eq!(
        ids(&c, "1.35", Level::Should),
        [
            "driver_runtime_management",
            "gpu_sharing",
            "virtualized_accelerator"
        ]
    );
    // 1.36: dra_support dropped, three networking SHOULDs added.
    assert_eq!(ids(&c, "1.36", Level::Must), V1_0[1..]);
    assert_eq!(ids(&c, "1.36", Level::Should).len(), 6);
    for id in [
        "advanced_inference_ingress",
        "high_performance_networking",
        "disaggregated_inference",
    ] {
        assert!(
            ids(&c, "1.36", Level::Should).iter().any(|x| x == id),
            "{id}"
        );
        assert_eq!(
            c.requirements.iter().find(|r| r.id == id).unwrap().category,
            Category::Networking
        );
    }
    // Every checklist ends with the two draft rows, with no level.
    for v in ["1.33", "1.36"] {
        let list = c.checklist(v).unwrap();
        let drafts: Vec<&str> = list
            .iter()
            .filter(|(r, _)| r.draft)
            .map(|(r, l)| {
                assert_eq!(*l, None);
                r.id.as_str()
            })
            .collect();
        assert_eq!(drafts, ["job_level_networking", "large_dataset_volumes"]);
    }
}

#[test]
fn conditional_musts_and_not_simulable_rows_are_marked() {
    let c = Catalogue::bundled().unwrap();
    let get = |id: &str| c.requirements.iter().find(|r| r.id == id).unwrap();
    assert!(get("cluster_autoscaling").condition.is_some());
    assert!(get("pod_autoscaling").condition.is_some());
    assert!(get("gang_scheduling").condition.is_none());
    assert!(
        matches!(get("robust_controller").simulable, Simulable::No(ref r) if r.contains("operator"))
    );
    assert_eq!(get("gang_scheduling").simulable, Simulable::Yes);
    assert_eq!(get("gang_scheduling").kar.as_deref(), Some("KAR-0053"));
}

#[test]
fn unknown_version_is_a_clear_error() {
    let c = Catalogue::bundled().unwrap();
    let e = c.checklist("1.32").unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown Kubernetes version \"1.32\" (the catalogue has: 1.33, 1.34, 1.35, 1.36)"
    );
}

#[test]
fn bad_catalogues_name_the_field() {
    let head = "versions: [\"1.33\", \"1.34\"]\nrequirements:\n";
    for (body, needle) in [
        (
            "  - {id: a, category: security, levels: {\"1.99\": MUST}, description: x}\n",
            "requirements[0] (a).levels: version \"1.99\" is not in `versions`",
        ),
        (
            "  - {id: a, category: security, levels: {\"1.33\": MAY}, description: x}\n",
            "MAY",
        ),
        (
            "  - {id: a, category: kitchen, levels: {\"1.33\": MUST}, description: x}\n",
            "kitchen",
        ),
        (
            "  - {id: a, category: security, levels: {\"1.33\": MUST}, description: x}\n  - {id: a, category: security, levels: {\"1.33\": MUST}, description: y}\n",
            "requirements[1] (a).id: listed twice",
        ),
        (
            "  - {id: a, category: security, levels: {\"1.33\": MUST}, simulable: false, description: x}\n",
            "requirements[0] (a).reason: `simulable: false` needs the reason",
        ),
        (
            "  - {id: a, category: security, draft: true, levels: {\"1.33\": MUST}, description: x}\n",
            "a draft row is in no checklist",
        ),
        (
            "  - {id: a, category: security, description: x}\n",
            "needs a level in at least one version",
        ),
        (
            "  - {id: a, category: security, levels: {\"1.33\": MUST}, description: x, colour: red}\n",
            "colour",
        ),
    ] {
        let e: CatalogueError = Catalogue::parse(&format!("{head}{body}"), "cat.yaml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("cat.yaml"), "{msg}");
        assert!(msg.contains(needle), "{body}: {msg}");
    }
}
