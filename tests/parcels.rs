//! Parcels: INSTANCES -> polygons -> rasterize gives back INSTANCES and the classes exactly,
//! through WGS84 GeoJSON, native GeoJSON, GeoPackage and FlatGeobuf; every polygon valid (GEOS);
//! `ogrinfo` reads the outputs with the right CRS and fields.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin, fixture};
use gdal::vector::LayerAccess;
use gdal::Dataset;
use pastis_bridge::convert::Selection;
use pastis_bridge::formats::{self, DatasetReader, Format, WriteOptions};
use pastis_bridge::georef::{PatchGrid, ZoneSource};
use pastis_bridge::model::{Layer, PatchMeta};
use pastis_bridge::parcels::{
    rasterize_with, write_parcels_with, OutputCrs, ParcelOptions, RasterizeOptions,
};
use pastis_bridge::{Error, Result};
use std::path::Path;
use std::process::Command;

const FIXTURE: &str = "PASTIS-R";

/// A hand-made 10 m north-up UTM grid per patch, zone from the tile (t30uxv -> EPSG:32630).
fn test_grid(meta: &PatchMeta, _h: usize, _w: usize) -> Result<Option<PatchGrid>> {
    let zone: u32 = meta.tile.as_ref().unwrap()[1..3].parse().unwrap();
    let k = (meta.id / 10000) as f64;
    Ok(Some(PatchGrid {
        epsg: 32600 + zone,
        geotransform: [
            600_000.0 + 1280.0 * k,
            10.0,
            0.0,
            5_000_000.0 - 640.0 * k,
            0.0,
            -10.0,
        ],
        corner_error_m: 0.0,
        zone: ZoneSource::Tile(meta.tile.clone().unwrap()),
    }))
}

fn epsg(meta: &PatchMeta) -> u32 {
    test_grid(meta, 0, 0).unwrap().unwrap().epsg
}

fn reader() -> Box<dyn DatasetReader> {
    formats::open(&fixture(FIXTURE)).unwrap()
}

fn select(patches: Option<Vec<i64>>) -> Selection {
    Selection {
        patches,
        ..Selection::default()
    }
}

fn write(out: &Path, crs: OutputCrs, patches: Option<Vec<i64>>) -> Result<u64> {
    let options = ParcelOptions {
        crs,
        selection: select(patches),
        jobs: 2,
        overwrite: false,
        keep_going: false,
    };
    write_parcels_with(reader().as_ref(), out, &options, &test_grid, &|_| {}).map(|s| s.parcels)
}

/// Rasterises `parcels` on the fixture's grids and compares with the fixture, patch by patch.
fn assert_round_trip(parcels: &Path, patches: Option<Vec<i64>>) {
    let dst = parcels.with_extension("back");
    let options = RasterizeOptions {
        to: Format::Pastis,
        write: WriteOptions::default(),
        selection: select(patches.clone()),
        jobs: 2,
        no_georef: false,
    };
    let src = reader();
    rasterize_with(parcels, src.as_ref(), &dst, &options, &test_grid, &|_| {}).unwrap();
    assert_same_annotations(&dst, patches);
}

/// INSTANCES and TARGET[0] of `dst` equal the fixture's; TARGET[1..] is zero.
fn assert_same_annotations(dst: &Path, patches: Option<Vec<i64>>) {
    let src = reader();
    let back = formats::open(dst).unwrap();
    let ids = patches.unwrap_or_else(|| src.metadata().ids());
    assert_eq!(back.metadata().ids(), ids);
    for id in ids {
        let a = src
            .read_patch(id, &[Layer::Instances, Layer::Target])
            .unwrap();
        let b = back
            .read_patch(id, &[Layer::Instances, Layer::Target])
            .unwrap();
        assert_eq!(
            a.get(Layer::Instances),
            b.get(Layer::Instances),
            "INSTANCES {id}"
        );
        let (ta, tb) = (target(&a), target(&b));
        assert_eq!(
            b.get(Layer::Target).unwrap().dtype(),
            a.get(Layer::Target).unwrap().dtype()
        );
        assert_eq!(
            ta.index_axis(ndarray::Axis(0), 0),
            tb.index_axis(ndarray::Axis(0), 0),
            "TARGET[0] {id}"
        );
        assert!(
            tb.iter().skip(ta.len() / 3).all(|&v| v == 0),
            "TARGET[1..] zero"
        );
    }
}

fn target(p: &pastis_bridge::model::Patch) -> ndarray::ArrayD<i64> {
    p.get(Layer::Target).unwrap().to_i64().unwrap()
}

/// Every geometry valid per GEOS; in a native CRS, area = pixels x 100 m²; returns the features.
fn assert_valid(path: &Path, native: bool) -> u64 {
    let ds = Dataset::open(path).unwrap();
    let mut count = 0;
    for mut layer in ds.layers() {
        for f in layer.features() {
            let g = f.geometry().unwrap();
            assert!(
                g.is_valid(),
                "invalid geometry in {}: {:?}",
                path.display(),
                f.fid()
            );
            let pixels = f
                .field_as_integer64(f.field_index("pixels").unwrap())
                .unwrap()
                .unwrap();
            let area = f
                .field_as_double(f.field_index("area_m2").unwrap())
                .unwrap()
                .unwrap();
            assert_eq!(area, pixels as f64 * 100.0);
            if native {
                assert_eq!(g.area(), area);
            }
            count += 1;
        }
    }
    count
}

fn ogrinfo(path: &Path) -> String {
    let out = Command::new("ogrinfo")
        .args(["-so", "-al"])
        .arg(path)
        .output()
        .expect("ogrinfo (gdal-bin) is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_fields(info: &str) {
    for field in [
        "ID_PATCH: Integer",
        "instance_id: Integer",
        "parcel_id: Integer",
        "class_id: Integer",
        "class_name: String",
        "pixels: Integer",
        "area_m2: Real",
        "Fold: Integer",
        "TILE: String",
    ] {
        assert!(info.contains(field), "no {field} in\n{info}");
    }
}

#[test]
fn wgs84_geojson_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parcels.geojson");
    let n = write(&out, OutputCrs::Wgs84, None).unwrap();
    assert_eq!(assert_valid(&out, false), n);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(doc.get("crs").is_none(), "RFC 7946 has no crs member");
    let lon = &doc["features"][0]["geometry"]["coordinates"][0][0][0][0];
    assert!(lon.as_f64().unwrap().abs() < 20.0, "longitude first: {lon}");
    let info = ogrinfo(&out);
    assert!(info.contains("WGS 84"), "{info}");
    assert_fields(&info);
    assert_round_trip(&out, None);
}

#[test]
fn native_geojson_round_trips_exactly_per_zone() {
    let dir = tempfile::tempdir().unwrap();
    let metas = reader().metadata().patches.clone();
    let mut zones: Vec<u32> = metas.iter().map(epsg).collect();
    zones.dedup();
    assert!(zones.len() > 1, "the fixture spans several UTM zones");
    for zone in zones {
        let ids: Vec<i64> = metas
            .iter()
            .filter(|m| epsg(m) == zone)
            .map(|m| m.id)
            .collect();
        let out = dir.path().join(format!("parcels_{zone}.geojson"));
        let n = write(&out, OutputCrs::Native, Some(ids.clone())).unwrap();
        assert_eq!(assert_valid(&out, true), n);
        let info = ogrinfo(&out);
        assert!(info.contains(&format!("\"EPSG\",{zone}")), "{info}");
        assert_round_trip(&out, Some(ids));
    }
}

#[test]
fn native_geojson_refuses_patches_of_several_zones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parcels.geojson");
    let err = write(&out, OutputCrs::Native, None).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert!(!out.exists(), "nothing left behind");
}

#[test]
fn geopackage_has_a_layer_per_zone_and_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parcels.gpkg");
    // --crs wgs84 is ignored: a GeoPackage keeps the native grid CRS.
    let n = write(&out, OutputCrs::Wgs84, None).unwrap();
    assert_eq!(assert_valid(&out, true), n);
    let info = ogrinfo(&out);
    for zone in [32630, 32631, 32632] {
        assert!(
            info.contains(&format!("Layer name: parcels_{zone}")),
            "{info}"
        );
        assert!(info.contains(&format!("\"EPSG\",{zone}")), "{info}");
    }
    assert_fields(&info);
    assert_round_trip(&out, None);
}

#[test]
fn flatgeobuf_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parcels.fgb");
    let n = write(&out, OutputCrs::Wgs84, None).unwrap();
    assert_eq!(assert_valid(&out, false), n);
    assert_round_trip(&out, None);
}

#[test]
fn attributes_match_the_rasters() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parcels.gpkg");
    write(&out, OutputCrs::Native, Some(vec![10000])).unwrap();
    let p = reader()
        .read_patch(10000, &[Layer::Instances, Layer::Target])
        .unwrap();
    let inst = p.get(Layer::Instances).unwrap().to_i64().unwrap();
    let labels: std::collections::BTreeSet<i64> =
        inst.iter().copied().filter(|&v| v != 0).collect();
    let ds = Dataset::open(&out).unwrap();
    let mut layer = ds.layer(0).unwrap();
    assert_eq!(layer.feature_count() as usize, labels.len());
    for f in layer.features() {
        let int = |n: &str| f.field_as_integer64(f.field_index(n).unwrap()).unwrap();
        let id = int("instance_id").unwrap();
        let pixels = inst.iter().filter(|&&v| v == id).count() as i64;
        assert_eq!(int("pixels"), Some(pixels));
        assert_eq!(int("ID_PATCH"), Some(10000));
        assert_eq!(int("Fold"), Some(1));
        let class = int("class_id").unwrap();
        let name = f
            .field_as_string(f.field_index("class_name").unwrap())
            .unwrap();
        assert_eq!(
            name.as_deref(),
            Some(pastis_bridge::model::classes::CLASS_NAMES[class as usize])
        );
        assert!(int("parcel_id").unwrap() > 0);
    }
}

#[test]
fn cli_refuses_an_existing_output_and_an_unknown_extension() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parcels.geojson");
    std::fs::write(&out, "{}").unwrap();
    let assert = bin()
        .arg("parcels")
        .arg(fixture(FIXTURE))
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("already exists"), "{stderr}");
    let bad = dir.path().join("parcels.shp");
    let assert = bin()
        .arg("parcels")
        .arg(fixture(FIXTURE))
        .arg(&bad)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains(".geojson, .gpkg or .fgb"), "{stderr}");
}

#[test]
fn cli_round_trips_on_the_real_grids() {
    let dir = tempfile::tempdir().unwrap();
    type Case<'a> = (&'a str, &'a [&'a str], Option<Vec<i64>>);
    let cases: [Case; 3] = [
        ("wgs84.geojson", &[], None),
        ("native.gpkg", &[], None),
        (
            "utm31.geojson",
            &["--crs", "native", "--patches", "20000,30000"],
            Some(vec![20000, 30000]),
        ),
    ];
    for (name, args, patches) in cases {
        let out = dir.path().join(name);
        bin()
            .arg("parcels")
            .arg(fixture(FIXTURE))
            .arg(&out)
            .args(args)
            .assert()
            .success();
        let native = !name.starts_with("wgs84");
        assert!(assert_valid(&out, native) > 0);
        let back = dir.path().join(format!("{name}.back"));
        let mut cmd = bin();
        cmd.arg("rasterize")
            .arg(&out)
            .arg(&back)
            .arg("--grid")
            .arg(fixture(FIXTURE));
        if let Some(ids) = &patches {
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            cmd.arg("--patches").arg(ids.join(","));
        }
        cmd.assert().success();
        assert_same_annotations(&back, patches);
    }
}
