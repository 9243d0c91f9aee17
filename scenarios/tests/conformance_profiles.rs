//! The example platform profiles parse and check.

use scenarios::conformance::Profile;

#[test]
fn example_profiles_parse() {
    for name in ["bare", "fully-conformant"] {
        let path = format!("{}/profiles/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        let p = Profile::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.name, name);
    }
}
