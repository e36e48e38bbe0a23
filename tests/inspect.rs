//! `inspect` on the fixture and on damaged copies of it: each planted problem is found, named and
//! reflected in the exit code.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin, copy_fixture, fixture};
use pastis_bridge::formats::pastis::array_path;
use pastis_bridge::formats::{pastis::PastisReader, DatasetReader};
use pastis_bridge::model::metadata_geojson as metadata;
use pastis_bridge::model::{Array, Layer};
use pastis_bridge::npy::{read_npy, write_npy};
use serde_json::Value;
use std::path::Path;

const FIXTURE: &str = "PASTIS-R";

fn first_id(root: &Path) -> i64 {
    PastisReader::open(root).unwrap().metadata().patches[0].id
}

/// Runs `inspect --json`, checks the exit code and returns the problems.
fn problems(root: &Path, expected_code: i32) -> Vec<Value> {
    let out = bin()
        .args(["inspect", "--json"])
        .arg(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(expected_code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["problems"].as_array().unwrap().clone()
}

fn assert_found(problems: &[Value], kind: &str, path_end: &str, words: &str) {
    let hit = problems.iter().any(|p| {
        p["kind"] == kind
            && p["path"]
                .as_str()
                .is_none_or(|path| path.ends_with(path_end))
            && p["message"].as_str().unwrap().contains(words)
    });
    assert!(
        hit,
        "no {kind} problem at {path_end} saying '{words}' in {problems:#?}"
    );
}

fn edit_metadata(root: &Path, edit: impl FnOnce(&mut Value)) {
    let path = root.join("metadata.geojson");
    let mut doc = metadata::read_json(&path).unwrap();
    edit(&mut doc);
    metadata::write_json(&path, &doc).unwrap();
}

fn edit_array(root: &Path, layer: Layer, id: i64, edit: impl FnOnce(Array) -> Array) {
    let path = array_path(root, layer, id);
    let array = edit(read_npy(&path).unwrap());
    write_npy(&path, &array).unwrap();
}

#[test]
fn the_fixture_is_clean() {
    assert!(problems(&fixture(FIXTURE), 0).is_empty());
    let out = bin().arg("inspect").arg(fixture(FIXTURE)).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no problems found") && text.contains("S2"),
        "{text}"
    );
}

#[test]
fn file_problems_are_found() {
    let (_dir, root) = copy_fixture(FIXTURE);
    let id = first_id(&root);
    let s2 = array_path(&root, Layer::S2, id);
    std::fs::remove_file(array_path(&root, Layer::Target, id)).unwrap();
    std::fs::copy(&s2, root.join(format!("DATA_S2/S2_{id} (1).npy"))).unwrap();
    std::fs::copy(&s2, root.join("DATA_S2/S2_99999.npy")).unwrap();
    std::fs::write(root.join("DATA_S2/.DS_Store"), b"x").unwrap();
    std::fs::write(root.join("notes.txt"), b"x").unwrap();
    let bytes = std::fs::read(array_path(&root, Layer::Heatmap, id)).unwrap();
    std::fs::write(
        array_path(&root, Layer::Heatmap, id),
        &bytes[..bytes.len() - 100],
    )
    .unwrap();
    let found = problems(&root, 1);
    assert_found(
        &found,
        "missing_file",
        &format!("TARGET_{id}.npy"),
        "missing",
    );
    assert_found(
        &found,
        "stray_file",
        &format!("S2_{id} (1).npy"),
        "unexpected name",
    );
    assert_found(
        &found,
        "unknown_patch",
        "S2_99999.npy",
        "not listed in metadata",
    );
    assert_found(&found, "hidden_file", ".DS_Store", "hidden");
    assert_found(
        &found,
        "stray_file",
        "notes.txt",
        "not part of the PASTIS layout",
    );
    assert_found(
        &found,
        "unreadable",
        &format!("HEATMAP_{id}.npy"),
        "truncated",
    );
}

#[test]
fn array_problems_are_found() {
    let (_dir, root) = copy_fixture(FIXTURE);
    let id = first_id(&root);
    edit_array(&root, Layer::Target, id, |a| {
        let mut t = a.to_i64().unwrap().mapv(|v| v as u8);
        t[[0, 0, 0]] = 25;
        Array::from_ndarray(t)
    });
    edit_array(&root, Layer::Zones, id, |a| {
        Array::from_ndarray(a.to_i64().unwrap().mapv(|v| v as i32))
    });
    edit_array(&root, Layer::ParcelIds, id, |a| a.truncate_first_axis(3));
    let found = problems(&root, 1);
    assert_found(&found, "class_value", &format!("TARGET_{id}.npy"), "[25]");
    assert_found(
        &found,
        "dtype",
        &format!("ZONES_{id}.npy"),
        "ZONES is int32, the official release has int64",
    );
    assert_found(
        &found,
        "shape",
        &format!("ParcelIDs_{id}.npy"),
        "ParcelIDs is [3,",
    );
}

#[test]
fn instances_inconsistent_with_target_are_found() {
    let (_dir, root) = copy_fixture(FIXTURE);
    let id = first_id(&root);
    edit_array(&root, Layer::Instances, id, |a| {
        Array::zeros(a.dtype(), a.shape())
    });
    let found = problems(&root, 1);
    assert_found(
        &found,
        "instances",
        &format!("INSTANCES_{id}.npy"),
        "parcel pixels have no instance",
    );
}

#[test]
fn date_problems_are_found() {
    let (_dir, root) = copy_fixture(FIXTURE);
    let reader = PastisReader::open(&root).unwrap();
    let ids = reader.metadata().ids();
    edit_metadata(&root, |doc| {
        let features = doc["features"].as_array_mut().unwrap();
        // Patch 0: one date too few.  Patch 1: two dates swapped.  Patch 2: a duplicate date.
        let d0 = features[0]["properties"]["dates-S2"]
            .as_object_mut()
            .unwrap();
        let last = (d0.len() - 1).to_string();
        d0.remove(&last);
        let d1 = features[1]["properties"]["dates-S2"]
            .as_object_mut()
            .unwrap();
        let (a, b) = (d1["0"].clone(), d1["1"].clone());
        d1.insert("0".into(), b);
        d1.insert("1".into(), a);
        let d2 = features[2]["properties"]["dates-S1A"]
            .as_object_mut()
            .unwrap();
        let first = d2["0"].clone();
        d2.insert("1".into(), first);
    });
    let found = problems(&root, 1);
    let at = |id: i64, kind: &str, words: &str| {
        assert!(
            found.iter().any(|p| p["patch"] == id
                && p["kind"] == kind
                && p["message"].as_str().unwrap().contains(words)),
            "patch {id}: no {kind} '{words}' in {found:#?}"
        )
    };
    at(ids[0], "date_count", "dates-S2 lists");
    at(ids[1], "dates", "not chronological");
    at(ids[2], "dates", "duplicate date");
}

#[test]
fn unreadable_dataset_exits_2() {
    let (_dir, root) = copy_fixture(FIXTURE);
    std::fs::write(root.join("metadata.geojson"), b"{ not json").unwrap();
    let out = bin().arg("inspect").arg(&root).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("metadata.geojson: not valid JSON"), "{err}");
    let out = bin()
        .arg("inspect")
        .arg("/nonexistent/dataset")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
