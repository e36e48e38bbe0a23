//! Property tests: mutated `.npy` files and metadata.geojson documents give an error or a correct
//! read, never a panic or a hang. Sizes are bounded; the whole file runs in a few seconds.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use pastis_bridge::model::metadata_geojson::parse_metadata;
use pastis_bridge::model::{Array, DType};
use pastis_bridge::npy::{numpy_header, read_npy, write_npy};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// 200 cases per property; every failing case found is saved to the committed
/// `proptest-regressions/robustness.txt` and replayed first on every later run. (proptest's default
/// `SourceParallel` looks for a `lib.rs` beside the test, which `tests/` lacks, so the path is given.)
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/robustness.txt"
        )))),
        ..ProptestConfig::default()
    }
}

/// Writes `bytes` to a fresh file and reads it back as `.npy`.
fn read_bytes(dir: &Path, bytes: &[u8]) -> pastis_bridge::Result<Array> {
    let path = dir.join("x.npy");
    std::fs::write(&path, bytes).unwrap();
    read_npy(&path)
}

/// Descriptors: every supported one in both byte orders, and unsupported or malformed ones.
fn descr() -> impl Strategy<Value = String> {
    let known: Vec<String> = DType::ALL
        .iter()
        .flat_map(|d| {
            let s = d.npy_descr();
            [
                s.to_string(),
                format!(">{}", &s[1..]),
                format!("={}", &s[1..]),
            ]
        })
        .collect();
    let odd = [
        "|O",
        "<U4",
        "|S3",
        "<c8",
        "<c16",
        "<M8[D]",
        "<m8",
        "|V4",
        "<i3",
        "i2",
        "",
        "<",
        "<f16",
        "é2",
        "\u{1F600}",
        "<i2 ",
        "|b2",
    ];
    prop_oneof![
        3 => proptest::sample::select(known),
        1 => proptest::sample::select(odd.map(String::from).to_vec()),
        1 => proptest::collection::vec(any::<char>(), 0..4).prop_map(|c| c.into_iter().collect()),
    ]
}

/// Shapes: mostly small, sometimes empty axes or absurdly large ones.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    let dim = prop_oneof![
        8 => 0usize..5,
        1 => Just(usize::MAX / 2),
        1 => Just(1usize << 40),
    ];
    proptest::collection::vec(dim, 0..5)
}

/// What the file should read as, computed independently of the reader.
fn expected(descr: &str, fortran: bool, shape: &[usize], payload: &[u8]) -> Option<Array> {
    let (dtype, big) = DType::from_npy_descr(descr)?;
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    if n.checked_mul(dtype.size())? != payload.len() {
        return None;
    }
    let mut le = payload.to_vec();
    if big {
        le.chunks_exact_mut(dtype.size()).for_each(<[u8]>::reverse);
    }
    if !fortran {
        return Array::from_le_bytes(dtype, shape, &le).ok();
    }
    // Element (i, j, ...) of a Fortran array sits at the C index of its reversed coordinates.
    let rev: Vec<usize> = shape.iter().rev().copied().collect();
    let t = Array::from_le_bytes(dtype, &rev, &le).ok()?;
    let dir = tempfile::tempdir().unwrap();
    let p: PathBuf = dir.path().join("t.npy");
    write_npy(&p, &t).ok()?;
    Some(transpose_via_numpy_rules(&read_npy(&p).ok()?))
}

/// The transpose of an array (reversed axes), in C order.
fn transpose_via_numpy_rules(a: &Array) -> Array {
    pastis_bridge::with_array!(a, x => {
        pastis_bridge::model::Element::wrap(x.t().as_standard_layout().into_owned())
    })
}

proptest! {
    #![proptest_config(config())]

    /// Generated headers: a correct read exactly when the descriptor is supported and the
    /// payload has the right length; an error naming the file otherwise.
    #[test]
    fn npy_headers_read_correctly_or_fail(
        descr in descr(),
        fortran in any::<bool>(),
        shape in shape(),
        extra in -3i64..3,
        seed in any::<u8>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
        let size = DType::from_npy_descr(&descr).map(|(d, _)| d.size()).unwrap_or(1);
        let len = n.saturating_mul(size).min(4096) as i64 + extra;
        let payload: Vec<u8> = (0..len.max(0)).map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .map(|b| if descr.ends_with("b1") { b & 1 } else { b })
            .collect();
        let quoted = descr.replace('\\', "\\\\").replace('\'', "\\'");
        let dict = format!(
            "{{'descr': '{quoted}', 'fortran_order': {}, 'shape': {}, }}",
            if fortran { "True" } else { "False" },
            pastis_bridge::npy::shape_literal(&shape)
        );
        let got = read_bytes(dir.path(), &npy_file_bytes(&dict, &payload));
        match (expected(&descr, fortran, &shape, &payload), got) {
            (Some(want), Ok(got)) => prop_assert_eq!(got.to_le_bytes(), want.to_le_bytes()),
            (None, Err(e)) => prop_assert!(e.to_string().contains("x.npy"), "{}", e),
            (want, got) => prop_assert!(false, "expected {:?}, got {:?}", want.is_some(), got),
        }
    }

    /// A valid file with bytes overwritten, inserted or cut anywhere: an error or a read, no panic.
    #[test]
    fn mutated_npy_files_never_panic(
        dtype in proptest::sample::select(DType::ALL.to_vec()),
        shape in proptest::collection::vec(0usize..4, 0..4),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let array = Array::zeros(dtype, &shape);
        let mut bytes = numpy_header(&pastis_bridge::model::ArraySpec { dtype, shape: shape.clone() });
        bytes.extend(array.to_le_bytes());
        for (at, value, kind) in edits {
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = value,
                1 => bytes.insert(i, value),
                _ => { bytes.remove(i); }
            }
            if bytes.is_empty() { break; }
        }
        if let Some(cut) = cut {
            let n = cut.index(bytes.len() + 1);
            bytes.truncate(n);
        }
        if let Err(e) = read_bytes(dir.path(), &bytes) {
            prop_assert!(e.to_string().contains("x.npy"), "{}", e);
        }
    }

    /// Random bytes: never a panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        let mut with_magic = b"\x93NUMPY".to_vec();
        with_magic.extend(&bytes);
        let _ = read_bytes(dir.path(), &bytes);
        let _ = read_bytes(dir.path(), &with_magic);
    }

    /// metadata.geojson with keys dropped or replaced by values of any type: an error naming the
    /// file, or a read whose patches are the features' unique ids.
    #[test]
    fn mutated_metadata_reads_or_fails(
        edits in proptest::collection::vec((0usize..3, key(), json_value(), any::<bool>()), 1..4),
    ) {
        let mut doc = base_metadata();
        for (feature, key, value, drop) in edits {
            let target = match key.as_str() {
                "type" | "features" | "crs" => Some(&mut doc),
                "id" | "geometry" | "properties" => feature_of(&mut doc, feature),
                _ => feature_of(&mut doc, feature).and_then(|f| f.get_mut("properties")),
            };
            if let Some(obj) = target.and_then(Value::as_object_mut) {
                if drop { obj.remove(&key); } else { obj.insert(key, value); }
            }
        }
        match parse_metadata(Path::new("m.geojson"), doc.clone()) {
            Err(e) => prop_assert!(e.to_string().starts_with("m.geojson: "), "{}", e),
            Ok(meta) => {
                let ids: Vec<i64> = doc["features"].as_array().unwrap().iter()
                    .map(|f| {
                        let id = &f["properties"]["ID_PATCH"];
                        id.as_i64().unwrap_or_else(|| id.as_f64().unwrap() as i64)
                    })
                    .collect();
                prop_assert_eq!(meta.ids(), ids);
            }
        }
    }
}

/// Feature `index % 2` of the document, if there is one.
fn feature_of(doc: &mut Value, index: usize) -> Option<&mut Value> {
    doc.get_mut("features")?.get_mut(index % 2)
}

fn key() -> impl Strategy<Value = String> {
    let keys = [
        "type",
        "features",
        "crs",
        "id",
        "geometry",
        "properties",
        "ID_PATCH",
        "Fold",
        "TILE",
        "N_Parcel",
        "Parcel_Cover",
        "dates-S2",
        "dates-S1A",
        "other",
    ];
    proptest::sample::select(keys.map(String::from).to_vec())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(10000)),
        Just(json!(20180901)),
        ".{0,6}".prop_map(Value::from),
        Just(json!({"0": 20180901, "1": "x"})),
        Just(json!({"0": 20180901, "2": 20180911})),
        Just(json!("{\"0\": 20180901")),
        Just(json!({"type": "Point", "coordinates": [1]})),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            proptest::collection::btree_map("[0-9a-z]{1,2}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn base_metadata() -> Value {
    let path = common::fixture("corrupt/base/metadata.geojson");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A `.npy` file from a header dictionary and a payload (format 1.0, padded as numpy pads).
fn npy_file_bytes(dict: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = pastis_bridge::npy::wrap_header(dict);
    bytes.extend_from_slice(payload);
    bytes
}
