//! Conversions between formats other than the original: every path through the hub keeps every
//! array bit for bit and every metadata field (checked with `verify`).
#![allow(clippy::unwrap_used)]

mod common;

use common::cli::convert_ok;
use common::{bin, fixture, run_python};
use pastis_bridge::formats;
use pastis_bridge::georef::spatial_ref;
use pastis_bridge::model::{Array, DType, DatasetMeta, Layer, Patch, PatchMeta, LAMBERT93_URN};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    convert_ok(&fixture("PASTIS-R"), &zarr, &["--to", "zarr"]);
    convert_ok(&zarr, &h5, &["--to", "hdf5"]);
    convert_ok(&h5, &zarr2, &["--to", "zarr"]);
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
    convert_ok(&fixture("PASTIS-R"), &tiffs, &["--to", "geotiff"]);
    convert_ok(&tiffs, &h5, &["--to", "hdf5"]);
    convert_ok(&h5, &zarr, &["--to", "zarr"]);
    convert_ok(&zarr, &back, &["--to", "pastis"]);
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

const SIZE: usize = 4;

/// A patch with an S2 of `s2` dates (`None`: no S2 at all), a TARGET, and a footprint: the
/// patch's 10 m square on the UTM 31N grid as a MultiPolygon in Lambert-93, or a Point when `point`.
fn edge_patch(id: i64, s2: Option<usize>, point: bool) -> Patch {
    let mut meta = PatchMeta::new(id);
    meta.feature_id = Some(json!(id.to_string()));
    meta.fold = Some(1);
    meta.tile = Some("t31tfj".into());
    let (x, y) = (640_000.0 + 1000.0 * id as f64, 4_850_000.0);
    let s = 10.0 * SIZE as f64;
    let (mut xs, mut ys) = (vec![x, x + s, x + s, x, x], vec![y - s, y - s, y, y, y - s]);
    let (utm, lambert) = (spatial_ref(32631).unwrap(), spatial_ref(2154).unwrap());
    let ct = gdal::spatial_ref::CoordTransform::new(&utm, &lambert).unwrap();
    ct.transform_coords(&mut xs, &mut ys, &mut []).unwrap();
    let ring: Vec<[f64; 2]> = xs.into_iter().zip(ys).map(|(x, y)| [x, y]).collect();
    let footprint = match point {
        true => json!({"type": "Point", "coordinates": ring[0]}),
        false => json!({"type": "MultiPolygon", "coordinates": [[ring]]}),
    };
    meta.footprint = Some(serde_json::from_value(footprint).unwrap());
    let mut arrays = BTreeMap::new();
    if let Some(t) = s2 {
        meta.dates
            .insert(Layer::S2, (0..t as u32).map(|k| 20180901 + k).collect());
        let bytes: Vec<u8> = (0..t * 10 * SIZE * SIZE * 2)
            .map(|k| (k * 7 + id as usize) as u8)
            .collect();
        let s2 = Array::from_le_bytes(DType::I16, &[t, 10, SIZE, SIZE], &bytes).unwrap();
        arrays.insert(Layer::S2, s2);
    }
    let target: Vec<u8> = (0..3 * SIZE * SIZE).map(|k| (k % 20) as u8).collect();
    let target = Array::from_le_bytes(DType::U8, &[3, SIZE, SIZE], &target).unwrap();
    arrays.insert(Layer::Target, target);
    Patch {
        meta,
        arrays,
        spot: None,
    }
}

/// Patches 1 (3 dates), 2 (S2 with 0 dates), 3 (no S2), 4 (a Point footprint).
fn edge_dataset(dir: &Path) -> PathBuf {
    let patches = [
        edge_patch(1, Some(3), false),
        edge_patch(2, Some(0), false),
        edge_patch(3, None, false),
        edge_patch(4, Some(2), true),
    ];
    let meta = DatasetMeta {
        patches: patches.iter().map(|p| p.meta.clone()).collect(),
        crs: Some(LAMBERT93_URN.into()),
        ..Default::default()
    };
    let root = dir.join("edge");
    common::write_pastis(&root, &meta, &patches);
    root
}

/// PASTIS -> Zarr -> HDF5 -> PASTIS keeps "S2 with 0 dates" apart from "no S2", and a Point
/// footprint, which has no pixel grid, travels verbatim with the grid columns left unknown and a
/// warning naming the patch (the same in both formats).
#[test]
fn zero_dates_absence_and_a_point_footprint_survive_zarr_and_hdf5() {
    let dir = tempfile::tempdir().unwrap();
    let src = edge_dataset(dir.path());
    assert!(src.join("DATA_S2/S2_2.npy").is_file() && !src.join("DATA_S2/S2_3.npy").exists());
    let (zarr, h5, back) = (
        dir.path().join("a.zarr"),
        dir.path().join("b.h5"),
        dir.path().join("back"),
    );
    for (from, to, format) in [(&src, &zarr, "zarr"), (&zarr, &h5, "hdf5")] {
        let stderr = convert_ok(from, to, &["--to", format]).stderr;
        assert!(
            stderr.contains("warning: patch 4:") && stderr.contains("grid_epsg 0"),
            "{format}: {stderr}"
        );
        assert!(!stderr.contains("patch 1:"), "{format}: {stderr}");
        // Printed once: not from the progress callback and again from the summary.
        assert_eq!(
            stderr.matches("warning: patch 4:").count(),
            1,
            "{format}: {stderr}"
        );
        assert_identical(&src, to);
        let reader = formats::open(to).unwrap();
        assert_eq!(
            reader.specs(2).unwrap()[&Layer::S2].shape,
            [0, 10, SIZE, SIZE]
        );
        assert!(!reader.specs(3).unwrap().contains_key(&Layer::S2));
        assert_eq!(
            reader.read_patch(2, &Layer::ALL).unwrap().arrays[&Layer::S2].shape(),
            &[0, 10, SIZE, SIZE]
        );
    }
    convert_ok(&h5, &back, &["--to", "pastis"]);
    assert_identical(&src, &back);
    assert_eq!(common::files(&src), common::files(&back));
    let out = run_python("check_zarr.py", &[&src, &zarr]);
    assert!(out.contains("ok zarr_format=3"), "{out}");
    let out = run_python("check_hdf5.py", &[&src, &h5]);
    assert!(out.contains("ok: 4 patches"), "{out}");
}

/// Rewrites the root attribute `pastis_bridge_layout` of a v3 store and removes `arrays`, from
/// the store and from its consolidated metadata.
fn edit_zarr(store: &Path, layout: &str, arrays: &[&str]) {
    let root = store.join("zarr.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&root).unwrap()).unwrap();
    doc["attributes"]["pastis_bridge_layout"] = json!(layout);
    for name in arrays {
        std::fs::remove_dir_all(store.join(name)).unwrap();
        let consolidated = doc["consolidated_metadata"]["metadata"]
            .as_object_mut()
            .unwrap();
        consolidated.remove(*name).unwrap();
    }
    std::fs::write(&root, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

/// A layout-1 store (no `S2_present`: a series of length 0 is absent) and a layout-1 file (it
/// had `S2_present`) still read; what they hold reads back as the source.
#[test]
fn layout_1_stores_and_files_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let src = edge_dataset(dir.path());
    let (zarr, h5) = (dir.path().join("v1.zarr"), dir.path().join("v1.h5"));
    convert_ok(&src, &zarr, &["--to", "zarr"]);
    convert_ok(&src, &h5, &["--to", "hdf5"]);
    edit_zarr(&zarr, "pastis-bridge-stacked/1", &["S2_present"]);
    let store = formats::open(&zarr).unwrap();
    assert!(
        !store.specs(2).unwrap().contains_key(&Layer::S2),
        "v1: length 0 = absent"
    );
    let source = formats::open(&src).unwrap();
    for id in [1, 3, 4] {
        assert_eq!(
            store.read_patch(id, &Layer::ALL).unwrap(),
            source.read_patch(id, &Layer::ALL).unwrap()
        );
    }
    run_python(
        "check_hdf5.py",
        &[
            Path::new("--edit"),
            &h5,
            Path::new("pastis-bridge-stacked/1"),
        ],
    );
    assert_identical(&src, &h5);
}

/// A store or file of a layout this version does not know is refused, naming it and the version.
#[test]
fn an_unknown_layout_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = edge_dataset(dir.path());
    let (zarr, h5) = (dir.path().join("v9.zarr"), dir.path().join("v9.h5"));
    convert_ok(&src, &zarr, &["--to", "zarr"]);
    convert_ok(&src, &h5, &["--to", "hdf5"]);
    edit_zarr(&zarr, "pastis-bridge-stacked/9", &[]);
    run_python(
        "check_hdf5.py",
        &[
            Path::new("--edit"),
            &h5,
            Path::new("pastis-bridge-stacked/9"),
        ],
    );
    for path in [&zarr, &h5] {
        let err = formats::open(path).err().unwrap().to_string();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            err.contains(name) && err.contains("layout pastis-bridge-stacked/9 is not one"),
            "{err}"
        );
        bin()
            .arg("convert")
            .arg(path)
            .arg(dir.path().join("out"))
            .args(["--to", "pastis"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("pastis-bridge-stacked/9"));
    }
}
