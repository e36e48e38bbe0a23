//! The Python loader (`python/pastis_bridge`, issue #21) against the reference loader's semantics:
//! stores converted from the committed fixture by the real binary (v3, v2, and a variant whose
//! metadata is out of `ID_PATCH` order with an S2 date sequence out of chronological order) and the
//! same store on a moto S3 server are read through `PASTISZarrDataset`, and every item of every
//! option combination of a 3-wise (local v3) or pairwise covering must equal, bit for bit, the item
//! `tests/python/check_loader.py` computes
//! from the `.npy` folder. numpy, zarr, fsspec and s3fs come from the venv; the package is imported
//! from this repository's `python/` (PYTHONPATH), so the test exercises the worktree's code.

// Test helpers fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
mod moto;

use common::{bin, copy_fixture, fixture, python};
use moto::Moto;
use std::path::Path;

/// Runs `tests/python/check_loader.py SRC STORE ARGS...` with the repository's `python/` first on
/// the import path and `env`; panics with its output unless it succeeds.
fn check_loader(src: &Path, store: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = python()
        .arg(root.join("tests/python/check_loader.py"))
        .arg(src)
        .arg(store)
        .args(args)
        .env("PYTHONPATH", root.join("python"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "check_loader.py {store} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok "), "{stdout}");
    stdout
}

/// `pastis-bridge convert SRC DST EXTRA...` with the environment `env`.
fn convert(src: &Path, dst: &str, extra: &[&str], env: &[(&str, String)]) {
    let mut cmd = bin();
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.args(["convert", "--quiet"])
        .arg(src)
        .arg(dst)
        .args(extra)
        .assert()
        .success();
}

/// The fixture with its Features in reverse `ID_PATCH` order and the first two S2 dates of
/// patch 20000 swapped (its frames kept): the loader must sort patches by id and give the
/// reference's sorted date sequence.
fn shuffled_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, src) = copy_fixture("PASTIS-R");
    let path = src.join("metadata.geojson");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let features = meta["features"].as_array_mut().unwrap();
    features.reverse();
    let patch = features
        .iter_mut()
        .find(|f| f["properties"]["ID_PATCH"] == 20000)
        .unwrap();
    let dates = patch["properties"]["dates-S2"].as_object_mut().unwrap();
    let first = dates["0"].clone();
    dates["0"] = dates["1"].clone();
    dates["1"] = first;
    std::fs::write(&path, serde_json::to_string(&meta).unwrap()).unwrap();
    (dir, src)
}

#[test]
fn every_option_gives_the_reference_items_from_a_local_store() {
    let src = fixture("PASTIS-R");
    let dir = tempfile::tempdir().unwrap();
    let v3 = dir.path().join("v3.zarr");
    convert(&src, v3.to_str().unwrap(), &[], &[]);
    // 3-wise: every three option values occur together (35 combinations); all 768 run by hand
    // in about 2 CPU-minutes (docs/python.md).
    let said = check_loader(&src, v3.to_str().unwrap(), &["--strength=3"], &[]);
    assert!(said.contains("ok 35 option combinations"), "{said}");
}

#[test]
fn v2_stores_and_unsorted_metadata_give_the_reference_items() {
    let src = fixture("PASTIS-R");
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("v2.zarr");
    convert(&src, v2.to_str().unwrap(), &["--zarr-version", "2"], &[]);
    check_loader(&src, v2.to_str().unwrap(), &["--strength=2"], &[]);

    let (_keep, shuffled) = shuffled_fixture();
    let store = dir.path().join("shuffled.zarr");
    convert(&shuffled, store.to_str().unwrap(), &[], &[]);
    check_loader(&shuffled, store.to_str().unwrap(), &["--strength=2"], &[]);
}

#[test]
fn a_store_on_s3_gives_the_reference_items() {
    let moto = Moto::start("pastis");
    let src = fixture("PASTIS-R");
    let url = moto.url("train/PASTIS-R.zarr");
    convert(&src, &url, &[], &moto.env());
    check_loader(&src, &url, &["--s3", "--strength=2"], &moto.env());
}

/// Issue #21: a store whose layers mix dtypes across patches (`<LAYER>_dtype`, docs/stacked-layout.md)
/// gives the reference items: one patch's TARGET saved as int16 (the others uint8), S2 as int32
/// (int16), S1A as float32 (float16), ZONES as int32 (int64) and HEATMAP as float32 (float64),
/// as a redistribution might have saved them. The reference loads each file in its own dtype;
/// the loader casts each patch back from the stacked dtype through `<LAYER>_dtype`.
#[test]
fn a_store_mixing_dtypes_gives_the_reference_items() {
    let (_keep, src) = copy_fixture("PASTIS-R");
    let recast = [
        ("ANNOTATIONS/TARGET_20000.npy", "<i2"),
        ("DATA_S2/S2_30000.npy", "<i4"),
        ("DATA_S1A/S1A_10000.npy", "<f4"),
        ("INSTANCE_ANNOTATIONS/ZONES_20000.npy", "<i4"),
        ("INSTANCE_ANNOTATIONS/HEATMAP_40000.npy", "<f4"),
    ];
    for (file, dtype) in recast {
        let status = python()
            .args(["-c", "import sys, numpy as np; p = sys.argv[1]; np.save(p, np.load(p).astype(sys.argv[2]))"])
            .arg(src.join(file))
            .arg(dtype)
            .status()
            .unwrap();
        assert!(status.success(), "recasting {file}");
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mixed.zarr");
    convert(&src, store.to_str().unwrap(), &[], &[]);
    for (layer, stacked) in [
        ("TARGET", "int16"),
        ("S2", "int32"),
        ("S1A", "float32"),
        ("ZONES", "int64"),
        ("HEATMAP", "float64"),
    ] {
        assert!(
            store.join(format!("{layer}_dtype/zarr.json")).is_file(),
            "{layer}_dtype"
        );
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(store.join(format!("{layer}/zarr.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["data_type"], stacked, "{layer}");
    }
    check_loader(&src, store.to_str().unwrap(), &["--strength=2"], &[]);
}
