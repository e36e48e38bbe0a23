//! Conversions between formats other than the original: every path through the hub keeps every
//! array bit for bit and every metadata field (checked with `verify`).
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin, fixture};
use std::path::Path;

fn convert(src: &Path, dst: &Path, to: &str) {
    let out = bin()
        .arg("convert")
        .arg(src)
        .arg(dst)
        .args(["--to", to, "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "convert to {to} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_identical(a: &Path, b: &Path) {
    let out = bin().arg("verify").arg(a).arg(b).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zarr_to_hdf5_to_zarr_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (zarr, h5, zarr2) = (
        dir.path().join("a.zarr"),
        dir.path().join("b.h5"),
        dir.path().join("c.zarr"),
    );
    convert(&fixture("PASTIS-R"), &zarr, "zarr");
    convert(&zarr, &h5, "hdf5");
    convert(&h5, &zarr2, "zarr");
    assert_identical(&zarr, &zarr2);
    assert_identical(&fixture("PASTIS-R"), &zarr2);
}

#[test]
fn every_format_chain_comes_back_to_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let (tiffs, h5, zarr, back) = (
        dir.path().join("tiffs"),
        dir.path().join("a.h5"),
        dir.path().join("b.zarr"),
        dir.path().join("back"),
    );
    convert(&fixture("PASTIS-R"), &tiffs, "geotiff");
    convert(&tiffs, &h5, "hdf5");
    convert(&h5, &zarr, "zarr");
    convert(&zarr, &back, "pastis");
    assert_identical(&fixture("PASTIS-R"), &back);
    for entry in walk(&fixture("PASTIS-R")) {
        let rel = entry.strip_prefix(fixture("PASTIS-R")).unwrap();
        if entry.extension().is_some_and(|e| e == "npy") {
            assert_eq!(
                std::fs::read(&entry).unwrap(),
                std::fs::read(back.join(rel)).unwrap(),
                "{} differs",
                rel.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            files.extend(walk(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}
