//! The STAC catalog of the GeoTIFF export (issue #18): validated offline against the STAC 1.1
//! core schemas pystac ships (extension fields checked by value; CI has no network), walked by pystac after the folder is moved, its extension fields checked by value against
//! rasterio (tests/python/check_stac.py); GDAL opens the asset hrefs and GDAL's STACIT driver
//! mosaics a tile's Items; `inspect` names a catalog that disagrees with the TIFFs; the import
//! ignores the catalog.

#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::cli::convert_ok;
use common::{bin, run_python};
use gdal::Dataset;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A synthetic dataset of 8 patches of 32 x 32 (two per tile: t30uxv, t31tfj, t31tfm, t32ulu)
/// with radar, at `dir/PASTIS`, and PASTIS-HD's SPOT images with `extra = ["--spot"]`.
fn synth_with(dir: &Path, extra: &[&str]) -> PathBuf {
    let root = dir.join("PASTIS");
    bin()
        .arg("synth")
        .arg(&root)
        .args(["--patches", "8", "--size", "32", "--date-scale", "0.1"])
        .args(["--radar", "-q"])
        .args(extra)
        .assert()
        .success();
    root
}

fn synth(dir: &Path) -> PathBuf {
    synth_with(dir, &[])
}

/// `convert SRC DST --to geotiff ARGS`; it must succeed.
fn export(src: &Path, dst: &Path, args: &[&str]) {
    bin()
        .arg("convert")
        .arg(src)
        .arg(dst)
        .args(["--to", "geotiff", "-q"])
        .args(args)
        .assert()
        .success();
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn check_stac(root: &Path, flags: &[&str]) -> String {
    let mut args: Vec<&Path> = vec![root];
    args.extend(flags.iter().map(Path::new));
    run_python("check_stac.py", &args)
}

#[test]
fn catalog_validates_offline_and_is_walked_after_a_move() {
    let dir = tempfile::tempdir().unwrap();
    let src = synth_with(dir.path(), &["--spot"]);
    let tif = dir.path().join("tif");
    export(&src, &tif, &[]);
    bin()
        .arg("parcels")
        .arg(&src)
        .arg(tif.join("parcels.gpkg"))
        .arg("-q")
        .assert()
        .success();
    let parcels = &json_file(&tif.join("collection.json"))["assets"]["parcels"];
    assert_eq!(parcels["href"], "./parcels.gpkg");
    assert_eq!(parcels["type"], "application/geopackage+sqlite3");

    let moved = dir.path().join("elsewhere/export");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&tif, &moved).unwrap();
    let out = check_stac(&moved, &[]);
    assert!(out.contains("ok: 8 items, 80 assets"), "{out}");

    // The import reads the manifest and TIFFs and ignores the catalog.
    let back = dir.path().join("back");
    convert_ok(&moved, &back, &["--to", "pastis"]);
    bin().arg("verify").arg(&src).arg(&back).assert().success();
    bin().arg("inspect").arg(&moved).assert().success();
}

#[test]
fn cog_catalog_says_cloud_optimized() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("cog");
    export(&synth(dir.path()), &tif, &["--cog"]);
    let out = check_stac(&tif, &["--cog"]);
    assert!(out.contains("ok: 8 items"), "{out}");
}

#[test]
fn no_georef_items_have_null_geometry_and_no_projection() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("plain");
    export(&synth(dir.path()), &tif, &["--no-georef"]);
    let out = check_stac(&tif, &["--no-georef"]);
    assert!(out.contains("ok: 8 items"), "{out}");
    let collection = json_file(&tif.join("collection.json"));
    assert_eq!(
        collection["extent"]["spatial"]["bbox"],
        json!([[-180.0, -90.0, 180.0, 90.0]])
    );
    assert!(collection["summaries"].get("proj:code").is_none());
    bin().arg("inspect").arg(&tif).assert().success();
}

/// The Items of one tile as a STAC ItemCollection (what a STAC API search returns), with the
/// asset hrefs made absolute as an API serves them.
fn item_collection(root: &Path, tile: &str) -> (Value, usize) {
    let mut features = Vec::new();
    for entry in std::fs::read_dir(root.join("items")).unwrap().flatten() {
        let mut item = json_file(&entry.path());
        if item["properties"]["TILE"] != tile {
            continue;
        }
        for asset in item["assets"].as_object_mut().unwrap().values_mut() {
            let href = root.join("items").join(asset["href"].as_str().unwrap());
            asset["href"] = json!(href.canonicalize().unwrap());
        }
        features.push(item);
    }
    let n = features.len();
    (
        json!({"type": "FeatureCollection", "features": features}),
        n,
    )
}

fn gdalinfo(target: &str) -> Value {
    let out = Command::new("gdalinfo")
        .args(["-json", "-checksum"])
        .arg(target)
        .output()
        .expect("gdalinfo (gdal-bin) must be installed for these tests");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gdalinfo {target}: {stderr}");
    assert!(!stderr.contains("ERROR"), "gdalinfo {target}: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn gdal_opens_asset_hrefs_and_stacit_mosaics_a_tile() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("tif");
    export(&synth(dir.path()), &tif, &[]);

    let item_path = tif.join("items/10000.json");
    let item = json_file(&item_path);
    for (key, asset) in item["assets"].as_object().unwrap() {
        let href = item_path
            .parent()
            .unwrap()
            .join(asset["href"].as_str().unwrap());
        let ds = Dataset::open(&href).unwrap_or_else(|e| panic!("{key}: {e}"));
        let shape = &asset["proj:shape"];
        let (w, h) = ds.raster_size();
        assert_eq!(shape, &json!([h, w]), "{key}");
        let bands = asset["eo:bands"].as_array().unwrap().len();
        assert_eq!(ds.raster_count(), bands, "{key}");
    }

    let (collection, n) = item_collection(&tif, "t30uxv");
    assert_eq!(n, 2);
    let ic = dir.path().join("t30uxv-items.json");
    std::fs::write(&ic, collection.to_string()).unwrap();
    let mosaic = gdalinfo(&format!("STACIT:\"{}\":asset=TARGET_class", ic.display()));
    let vrt = gdalinfo(tif.join("TARGET/TARGET_t30uxv_class.vrt").to_str().unwrap());
    assert_eq!(mosaic["size"], vrt["size"]);
    assert_eq!(mosaic["geoTransform"], vrt["geoTransform"]);
    assert_eq!(
        mosaic["bands"][0]["checksum"], vrt["bands"][0]["checksum"],
        "STACIT's mosaic of TARGET classes is not the VRT mosaic's"
    );
    let epsg = mosaic["coordinateSystem"]["wkt"].as_str().unwrap();
    assert!(epsg.contains("UTM zone 30N"), "{epsg}");
}

/// `inspect --json`'s problems of kind `catalog`, and its exit code.
fn catalog_problems(root: &Path) -> (i32, Vec<Value>) {
    let out = bin()
        .arg("inspect")
        .arg(root)
        .arg("--json")
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = report["problems"].as_array().unwrap();
    let catalog = problems
        .iter()
        .filter(|p| p["kind"] == "catalog")
        .cloned()
        .collect();
    (out.status.code().unwrap(), catalog)
}

#[test]
fn inspect_reports_a_catalog_that_disagrees_with_the_tiffs() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("tif");
    export(&synth(dir.path()), &tif, &[]);
    assert_eq!(catalog_problems(&tif), (0, vec![]));

    // An item whose proj:transform is shifted by a pixel.
    let shifted = tif.join("items/10000.json");
    let mut item = json_file(&shifted);
    let x0 = item["assets"]["S2"]["proj:transform"][2].as_f64().unwrap();
    item["assets"]["S2"]["proj:transform"][2] = json!(x0 + 10.0);
    std::fs::write(&shifted, item.to_string()).unwrap();
    // A missing item.
    std::fs::remove_file(tif.join("items/20000.json")).unwrap();
    // An asset href to a missing file.
    let broken = tif.join("items/30000.json");
    let mut item = json_file(&broken);
    item["assets"]["HEATMAP"]["href"] = json!("../HEATMAP/HEATMAP_99999.tif");
    std::fs::write(&broken, item.to_string()).unwrap();

    let (code, problems) = catalog_problems(&tif);
    assert_eq!(code, 1);
    let messages: Vec<String> = problems
        .iter()
        .map(|p| format!("{} {}", p["patch"], p["message"]))
        .collect();
    assert_eq!(problems.len(), 3, "{messages:#?}");
    assert!(
        messages[0].starts_with("10000")
            && messages[0].contains("asset S2")
            && messages[0].contains("proj:transform"),
        "{messages:#?}"
    );
    assert!(
        messages[1].starts_with("20000") && messages[1].contains("item is missing"),
        "{messages:#?}"
    );
    assert!(
        messages[2].starts_with("30000") && messages[2].contains("HEATMAP_99999.tif is missing"),
        "{messages:#?}"
    );
}
