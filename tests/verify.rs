//! `verify` catches each kind of planted difference, and says where.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin, copy_fixture, fixture};
use pastis_bridge::formats::pastis::array_path;
use pastis_bridge::formats::{pastis::PastisReader, DatasetReader};
use pastis_bridge::model::metadata_geojson as metadata;
use pastis_bridge::model::{Array, Layer};
use pastis_bridge::npy::{read_npy, write_npy};
use serde_json::{json, Value};
use std::path::Path;

const FIXTURE: &str = "PASTIS-R";

fn differences(a: &Path, b: &Path, expected_code: i32) -> Vec<Value> {
    let out = bin()
        .args(["verify", "--json"])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(expected_code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["differences"].as_array().unwrap().clone()
}

fn ids(root: &Path) -> Vec<i64> {
    PastisReader::open(root).unwrap().metadata().ids()
}

fn edit_metadata(root: &Path, edit: impl FnOnce(&mut Value)) {
    let path = root.join("metadata.geojson");
    let mut doc = metadata::read_json(&path).unwrap();
    edit(&mut doc);
    metadata::write_json(&path, &doc).unwrap();
}

#[test]
fn a_copy_is_identical() {
    let (_dir, copy) = copy_fixture(FIXTURE);
    assert!(differences(&fixture(FIXTURE), &copy, 0).is_empty());
    let out = bin()
        .arg("verify")
        .arg(fixture(FIXTURE))
        .arg(&copy)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("identical"));
}

#[test]
fn one_changed_value_is_found_with_its_index() {
    let (_dir, copy) = copy_fixture(FIXTURE);
    let id = ids(&copy)[1];
    let path = array_path(&copy, Layer::S2, id);
    let a = read_npy(&path).unwrap();
    let mut s2 = a.as_ndarray::<i16>().unwrap().clone();
    s2[[1, 2, 3, 4]] = s2[[1, 2, 3, 4]].wrapping_add(1);
    write_npy(&path, &Array::from_ndarray(s2)).unwrap();
    let d = differences(&fixture(FIXTURE), &copy, 1);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(
        (
            d[0]["kind"].as_str(),
            d[0]["patch"].as_i64(),
            d[0]["layer"].as_str()
        ),
        (Some("values"), Some(id), Some("S2"))
    );
    assert_eq!(d[0]["first_index"], json!([1, 2, 3, 4]));
    assert_eq!(d[0]["count"], json!(1));
}

#[test]
fn dtype_shape_and_layer_differences_are_found() {
    let (_dir, copy) = copy_fixture(FIXTURE);
    let id = ids(&copy)[0];
    let zones = array_path(&copy, Layer::Zones, id);
    let z = read_npy(&zones).unwrap();
    write_npy(
        &zones,
        &Array::from_ndarray(z.to_i64().unwrap().mapv(|v| v as i32)),
    )
    .unwrap();
    let target = array_path(&copy, Layer::Target, id);
    let t = read_npy(&target).unwrap();
    write_npy(&target, &t.truncate_first_axis(2)).unwrap();
    std::fs::remove_file(array_path(&copy, Layer::ParcelIds, id)).unwrap();
    let kinds: Vec<(String, String)> = differences(&fixture(FIXTURE), &copy, 1)
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["layer"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for expected in [
        ("dtype", "ZONES"),
        ("shape", "TARGET"),
        ("layer", "ParcelIDs"),
    ] {
        assert!(
            kinds.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} not in {kinds:?}"
        );
    }
}

#[test]
fn metadata_and_patch_differences_are_found() {
    let (_dir, copy) = copy_fixture(FIXTURE);
    let all = ids(&copy);
    edit_metadata(&copy, |doc| {
        let features = doc["features"].as_array_mut().unwrap();
        features[0]["properties"]["Fold"] = json!(5);
        features[1]["properties"]["Parcel_Cover"] = json!(0.123456);
        features.pop();
    });
    let norm = copy.join("NORM_S2_patch.json");
    let mut n = metadata::read_json(&norm).unwrap();
    n["Fold_1"]["mean"][0] = json!(-1.0);
    metadata::write_json(&norm, &n).unwrap();
    let d = differences(&fixture(FIXTURE), &copy, 1);
    let has = |kind: &str, field: Option<&str>, patch: Option<i64>| {
        d.iter().any(|x| {
            x["kind"] == kind && x["field"].as_str() == field && x["patch"].as_i64() == patch
        })
    };
    assert!(has("metadata", Some("Fold"), Some(all[0])), "{d:#?}");
    assert!(
        has("metadata", Some("Parcel_Cover"), Some(all[1])),
        "{d:#?}"
    );
    assert!(has("metadata", Some("NORM_S2"), None), "{d:#?}");
    assert!(has("patch", None, Some(*all.last().unwrap())), "{d:#?}");
}

#[test]
fn unreadable_input_exits_2() {
    let out = bin()
        .arg("verify")
        .arg(fixture(FIXTURE))
        .arg("/nonexistent")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent"));
}
