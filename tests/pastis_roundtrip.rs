//! PASTIS -> PASTIS through the real binary: every `.npy` byte-identical, metadata.geojson and the
//! NORM files equal, for the whole dataset and for a selection of folds.

mod common;

use common::cli::convert_ok;
use common::fixture;
use pastis_bridge::synth::{generate, SynthOptions};
use serde_json::Value;
use std::path::Path;

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

/// Asserts `dst` holds exactly the files of `src` (arrays byte for byte, JSON as values).
fn assert_same(src: &Path, dst: &Path) {
    let (a, b) = (common::files(src), common::files(dst));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same files"
    );
    for (name, bytes) in &a {
        if name.extension().is_some_and(|e| e == "npy") {
            assert!(b[name] == *bytes, "{} differs", name.display());
        } else {
            assert_eq!(json(&b[name]), json(bytes), "{} differs", name.display());
        }
    }
}

#[test]
fn the_fixture_converts_to_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dst = dir.path().join("copy");
    convert_ok(&fixture("PASTIS-R"), &dst, &["--to", "pastis"]);
    assert_same(&fixture("PASTIS-R"), &dst);
}

#[test]
fn a_fresh_synthetic_dataset_converts_to_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    let options = SynthOptions {
        patches: 6,
        seed: 11,
        radar: true,
        size: 24,
        date_scale: 0.1,
        spot: false,
    };
    generate(&src, &options, false, &|_| {}).expect("generate");
    let dst = dir.path().join("dst");
    convert_ok(&src, &dst, &["--to", "pastis"]);
    assert_same(&src, &dst);
}

#[test]
fn a_fold_selection_keeps_exactly_those_patches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dst = dir.path().join("folds");
    let src = fixture("PASTIS-R");
    convert_ok(&src, &dst, &["--to", "pastis", "--folds", "1,3"]);
    let (a, b) = (common::files(&src), common::files(&dst));
    let meta = json(&b[Path::new("metadata.geojson")]);
    let kept: Vec<i64> = meta["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["ID_PATCH"].as_i64().expect("ID_PATCH"))
        .collect();
    assert_eq!(kept, vec![10000, 30000], "the patches of folds 1 and 3");
    let source = json(&a[Path::new("metadata.geojson")]);
    let expected: Vec<&Value> = source["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| [1, 3].contains(&f["properties"]["Fold"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(
        meta["features"]
            .as_array()
            .expect("features")
            .iter()
            .collect::<Vec<_>>(),
        expected
    );
    let npy: Vec<_> = b
        .keys()
        .filter(|k| k.extension().is_some_and(|e| e == "npy"))
        .collect();
    assert_eq!(npy.len(), 2 * 8);
    for name in npy {
        assert!(a[name] == b[name], "{} differs", name.display());
    }
}
