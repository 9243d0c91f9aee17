//! Random selectors and mangled manifests never panic: they compile or not, evaluate or
//! not, parse or not, always with an error value.

mod dra_common;
use dra_common::*;
use models::dra::{AllocationState, Manifests};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const PIECES: &[&str] = &[
    "device",
    ".driver",
    ".attributes",
    ".capacity",
    "[\"gpu.nvidia.com\"]",
    "[\"x\"]",
    ".memory",
    ".productName",
    ".index",
    ".profile",
    ".driverVersion",
    " == ",
    " != ",
    " < ",
    " >= ",
    " && ",
    " || ",
    "!",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\"H100\"",
    "'a'",
    "1",
    "-1",
    "2.5",
    "true",
    "null",
    "quantity(\"40Gi\")",
    "quantity(\"x\")",
    "semver(\"1.2.3\")",
    ".compareTo(",
    ".isGreaterThan(",
    ".asInteger()",
    ".startsWith(\"N\")",
    ".exists(d, d == 1)",
    ".all(k, true)",
    "has(",
    " in ",
    "size(",
    ".size()",
    "int(",
    "string(",
    ".matches(\"[\")",
    " ? ",
    " : ",
    "x",
    "\\",
    "\u{0}",
    "é",
    "9223372036854775807",
    "+ 1",
    "/ 0",
    "% 0",
    "/",
    ".",
    "..",
];

#[test]
fn random_selectors_never_panic() {
    let mut a = h100();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let state = AllocationState::default();
    let mut compiled = 0;
    for i in 0..400 {
        let n = 1 + rng.next() % 9;
        let expr: String = (0..n).map(|_| rng.pick(PIECES)).collect();
        let yaml_expr = expr
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\u{0}', "\\0");
        let yaml = format!(
            "apiVersion: resource.k8s.io/v1\nkind: ResourceClaim\nmetadata:\n  name: c{i}\nspec:\n  devices:\n    requests:\n    - name: r\n      exactly:\n        deviceClassName: gpu.nvidia.com\n        selectors:\n        - cel:\n            expression: \"{yaml_expr}\"\n"
        );
        let Ok(m) = Manifests::parse("fuzz.yaml", &yaml) else {
            continue;
        };
        let Some(c) = m.claims.values().next() else {
            continue;
        };
        if let Ok(p) = a.prepare(c) {
            compiled += 1;
            let _ = a.place(&[&p], "pod", &state);
        }
    }
    assert!(
        compiled > 20,
        "the generator should produce some valid selectors ({compiled})"
    );
}

#[test]
fn mangled_manifests_never_panic() {
    let text = std::fs::read_to_string(fixture("workload-list.yaml")).unwrap()
        + "---\n"
        + &std::fs::read_to_string(fixture("nvidia-deviceclasses.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut rng = Rng(42);
    for _ in 0..300 {
        let mut l = lines.clone();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() % l.len() as u64) as usize;
            match rng.next() % 4 {
                0 => {
                    l.remove(i);
                }
                1 => {
                    let j = (rng.next() % l.len() as u64) as usize;
                    l.insert(i, l[j]);
                }
                2 => l[i] = l[i].trim_start(),
                _ => l[i] = "  : - [ {",
            }
        }
        let mangled = l.join("\n");
        if let Ok(m) = Manifests::parse("mangled.yaml", &mangled) {
            let slices: Vec<_> = m.resource_slices.values().cloned().collect();
            let classes: Vec<_> = m.device_classes.values().cloned().collect();
            if let Ok(mut a) = models::dra::Allocator::new(&slices, &classes) {
                for key in m.pods.keys() {
                    if let Ok(pcs) = m.pod_claims(key) {
                        for pc in pcs {
                            let _ = a.prepare(&pc.claim);
                        }
                    }
                }
            }
        }
    }
}
