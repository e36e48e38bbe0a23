//! Golden `.npy` files written by numpy itself (fixtures/golden-npy/, from the pinned script
//! tests/python/make_golden_npy.py): every dtype, ranks 0-4, empty arrays, byte orders < > |,
//! C and Fortran order, format versions 1.0, 2.0 and 3.0. The library's reader must give exactly
//! the values of the manifest, and its writer exactly the bytes numpy writes for the same array in
//! C order little-endian.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::{fixture, python};
use pastis_bridge::npy::{read_header, read_npy, write_npy};
use serde_json::Value;
use std::path::Path;

/// The manifest's cases.
fn cases(root: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(root.join("manifest.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    manifest["cases"].as_array().unwrap().clone()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_golden_file_reads_to_its_values_and_writes_back_as_numpy_does() {
    let root = fixture("golden-npy");
    let cases = cases(&root);
    assert!(cases.len() >= 200, "only {} golden cases", cases.len());
    let out = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let file = case["file"].as_str().unwrap();
        let path = root.join(file);
        let shape: Vec<usize> = serde_json::from_value(case["shape"].clone()).unwrap();
        let header = read_header(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let big_endian = case["descr"].as_str().unwrap().starts_with('>');
        let fortran = case["fortran_order"].as_bool().unwrap();
        if (header.big_endian, header.fortran_order) != (big_endian, fortran) {
            failures.push(format!(
                "{file}: header says big_endian {} fortran {}, numpy wrote {big_endian} {fortran}",
                header.big_endian, header.fortran_order
            ));
        }
        let array = match read_npy(&path) {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        let got = (array.dtype().name(), array.shape().to_vec());
        let want = (case["dtype"].as_str().unwrap(), shape);
        if got != want {
            failures.push(format!("{file}: read {got:?}, numpy wrote {want:?}"));
            continue;
        }
        // Bits, not `==`: NaN payloads, signalling NaNs and -0.0 must come through.
        let payload = hex(&array.to_le_bytes());
        if payload != case["payload_le_hex"].as_str().unwrap() {
            failures.push(format!(
                "{file}: payload {payload}, numpy wrote {}",
                case["payload_le_hex"]
            ));
        }
        let written = out.path().join("x.npy");
        write_npy(&written, &array).unwrap();
        let expected = std::fs::read(root.join(case["expected"].as_str().unwrap())).unwrap();
        if std::fs::read(&written).unwrap() != expected {
            failures.push(format!(
                "{file}: written back, differs from numpy's {}",
                case["expected"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden files fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn committed_golden_files_are_what_the_script_writes() {
    let root = fixture("golden-npy");
    let fresh = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/make_golden_npy.py");
    let out = python().arg(&script).arg(fresh.path()).output().unwrap();
    assert!(
        out.status.success(),
        "{} failed:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (committed, regenerated) = (common::files(&root), common::files(fresh.path()));
    let names = |m: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>| {
        m.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        names(&committed),
        names(&regenerated),
        "fixtures/golden-npy lists other files than the script writes: regenerate it \
         (python tests/python/make_golden_npy.py fixtures/golden-npy)"
    );
    let stale: Vec<_> = committed
        .iter()
        .filter(|(name, bytes)| regenerated[*name] != **bytes)
        .map(|(name, _)| name.display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "fixtures/golden-npy is out of date ({}): regenerate it \
         (python tests/python/make_golden_npy.py fixtures/golden-npy)",
        stale.join(", ")
    );
}
