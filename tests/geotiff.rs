//! GeoTIFF export and import: round trips bit for bit, georeferencing checked with the real
//! `gdalinfo`, VRT mosaics opened with GDAL.

#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::bin;
use common::cli::convert;
use gdal::spatial_ref::CoordTransform;
use gdal::Dataset;
use geojson::{Geometry, GeometryValue};
use half::f16;
use ndarray::{ArrayD, IxDyn};
use pastis_bridge::formats::geotiff;
use pastis_bridge::georef::spatial_ref;
use pastis_bridge::model::{Array, DatasetMeta, Layer, Patch, PatchMeta, Series};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SIZE: usize = 32;

/// A `SIZE * 10` m UTM square with upper-left (x0, y0), as a Lambert-93 MultiPolygon.
fn footprint(epsg: u32, x0: f64, y0: f64) -> Geometry {
    let side = SIZE as f64 * 10.0;
    let (mut xs, mut ys) = (
        vec![x0, x0 + side, x0 + side, x0],
        vec![y0, y0, y0 - side, y0 - side],
    );
    let ct = CoordTransform::new(&spatial_ref(epsg).unwrap(), &spatial_ref(2154).unwrap()).unwrap();
    ct.transform_coords(&mut xs, &mut ys, &mut []).unwrap();
    let mut ring: Vec<geojson::Position> =
        xs.iter().zip(&ys).map(|(&x, &y)| [x, y].into()).collect();
    ring.push(ring[0].clone());
    Geometry::new(GeometryValue::MultiPolygon {
        coordinates: vec![vec![ring]],
    })
}

fn filled<T: Copy>(shape: &[usize], f: impl Fn(usize) -> T) -> ArrayD<T> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).unwrap()
}

fn patch(id: i64, tile: &str, epsg: u32, x0: f64, y0: f64) -> Patch {
    let mut meta = PatchMeta::new(id);
    meta.feature_id = Some(json!(id.to_string()));
    meta.fold = Some(id % 5 + 1);
    meta.tile = Some(tile.into());
    meta.n_parcel = Some(7);
    meta.parcel_cover = Some(0.5);
    meta.dates.insert(Layer::S2, vec![20180924, 20181004]);
    meta.dates
        .insert(Layer::S1A, vec![20180901, 20180913, 20181001]);
    meta.footprint = Some(footprint(epsg, x0, y0));
    let (s, k) = (SIZE, id as usize);
    let mut arrays = BTreeMap::new();
    let s2 = filled(&[2, 10, s, s], |i| {
        if i % 97 == 0 {
            -10000
        } else {
            (i * 7 + k) as i16
        }
    });
    arrays.insert(Layer::S2, Array::I16(s2));
    let s1 = filled(&[3, 3, s, s], |i| {
        f16::from_f32(-25.0 + (i % 300) as f32 * 0.1)
    });
    arrays.insert(Layer::S1A, Array::F16(s1));
    arrays.insert(
        Layer::Target,
        Array::U8(filled(&[3, s, s], |i| (i / 50 % 20) as u8)),
    );
    arrays.insert(
        Layer::ParcelIds,
        Array::I32(filled(&[s, s], |i| (i / 40) as i32 + 1_000_000)),
    );
    arrays.insert(
        Layer::Heatmap,
        Array::F64(filled(&[s, s], |i| (i as f64 * 0.37).sin())),
    );
    arrays.insert(
        Layer::Instances,
        Array::I64(filled(&[s, s], |i| (i / 60) as i64)),
    );
    arrays.insert(
        Layer::Zones,
        Array::I64(filled(&[s, s], |i| (i as i64) << 33)),
    );
    Patch {
        meta,
        arrays,
        spot: None,
    }
}

/// A PASTIS folder of three patches: two side by side in t30uxv, one in t31tfj.
fn small_dataset(dir: &Path) -> PathBuf {
    write_dataset(
        dir,
        &[
            patch(10000, "t30uxv", 32630, 641_230.0, 5_301_270.0),
            patch(
                10001,
                "t30uxv",
                32630,
                641_230.0 + SIZE as f64 * 10.0,
                5_301_270.0,
            ),
            patch(20000, "t31tfj", 32631, 702_560.0, 4_871_930.0),
        ],
    )
}

/// Writes `patches` as a PASTIS folder `dir/PASTIS`.
fn write_dataset(dir: &Path, patches: &[Patch]) -> PathBuf {
    let mut meta = DatasetMeta {
        patches: patches.iter().map(|p| p.meta.clone()).collect(),
        crs: Some("urn:ogc:def:crs:EPSG::2154".into()),
        ..Default::default()
    };
    meta.collection_extra
        .insert("name".into(), json!("metadata"));
    meta.norms
        .insert(Series::S2, json!({"Fold_1": {"mean": [1.0], "std": [2.0]}}));
    let src = dir.join("PASTIS");
    common::write_pastis(&src, &meta, patches);
    src
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn assert_same_dataset(a: &Path, b: &Path) {
    let (fa, fb) = (common::files(a), common::files(b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        if name.extension().is_some_and(|e| e == "npy") {
            assert!(bytes == &fb[name], "{} differs", name.display());
        } else {
            assert_eq!(
                json_file(&a.join(name)),
                json_file(&b.join(name)),
                "{}",
                name.display()
            );
        }
    }
}

fn gdalinfo(path: &Path) -> Value {
    let out = Command::new("gdalinfo")
        .args(["-json", "-mdd", "all"])
        .arg(path)
        .output()
        .expect("gdalinfo (gdal-bin) must be installed for these tests");
    assert!(
        out.status.success(),
        "gdalinfo {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let (tif, back) = (dir.path().join("tif"), dir.path().join("back"));
    convert(&src, &tif, &["--to", "geotiff"]).silent();
    assert!(geotiff::is_geotiff_folder(&tif));
    assert!(tif.join("S2/S2_10000.tif").is_file());
    convert(&tif, &back, &["--to", "pastis"]).silent();
    assert_same_dataset(&src, &back);
}

#[test]
fn cog_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let (tif, back) = (dir.path().join("cog"), dir.path().join("back"));
    convert(
        &src,
        &tif,
        &["--to", "geotiff", "--cog", "--compression", "zstd:9"],
    )
    .silent();
    let info = gdalinfo(&tif.join("TARGET/TARGET_10000.tif"));
    assert_eq!(
        info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"], "COG",
        "{info}"
    );
    assert_eq!(info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"], "ZSTD");
    convert(&tif, &back, &["--to", "pastis"]).silent();
    assert_same_dataset(&src, &back);
}

#[test]
fn gdalinfo_shows_utm_grid_bands_and_palette() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("tif");
    convert(&small_dataset(dir.path()), &tif, &["--to", "geotiff"]).silent();
    let s2 = gdalinfo(&tif.join("S2/S2_10000.tif"));
    let wkt = s2["coordinateSystem"]["wkt"].as_str().unwrap();
    assert!(
        wkt.contains("UTM zone 30N") && wkt.contains("ID[\"EPSG\",32630]"),
        "{wkt}"
    );
    assert_eq!(
        s2["geoTransform"],
        json!([641230.0, 10.0, 0.0, 5301270.0, 0.0, -10.0])
    );
    assert_eq!(s2["bands"].as_array().unwrap().len(), 20);
    assert_eq!(s2["bands"][7]["description"], "2018-09-24 B8A");
    assert_eq!(s2["bands"][10]["metadata"][""]["DATE"], "2018-10-04");
    assert_eq!(s2["bands"][0]["type"], "Int16");
    assert_eq!(s2["bands"][0]["noDataValue"], -10000.0);
    assert_eq!(s2["metadata"][""]["DATES"], "2018-09-24,2018-10-04");
    assert_eq!(s2["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"], "DEFLATE");
    // TARGET keeps its three channels, none of them called a colour; channel 0 is also its own
    // single-band raster with the class colours and names.
    let target = gdalinfo(&tif.join("TARGET/TARGET_10000.tif"));
    assert_eq!(target["bands"].as_array().unwrap().len(), 3);
    assert_eq!(target["bands"][0]["description"], "class");
    assert_eq!(
        target["bands"][0]["colorInterpretation"], "Gray",
        "{target}"
    );
    assert!(target["bands"][0]["colorTable"].is_null());
    let classes = gdalinfo(&tif.join("TARGET/TARGET_10000_class.tif"));
    assert_eq!(classes["bands"].as_array().unwrap().len(), 1);
    let band = &classes["bands"][0];
    assert_eq!(band["description"], "class");
    assert_eq!(band["type"], "Byte");
    assert_eq!(band["colorInterpretation"], "Palette");
    assert!(
        band["metadata"][""]["CLASSES"]
            .as_str()
            .unwrap()
            .starts_with("0=Background;1=Meadow;2=Soft winter wheat;"),
        "{band}"
    );
    assert_eq!(
        band["colorTable"]["entries"][2],
        json!([255, 127, 14, 255]),
        "{band}"
    );
    assert_eq!(band["categories"][2], "Soft winter wheat", "{band}");
    let s1 = gdalinfo(&tif.join("S1A/S1A_10000.tif"));
    assert_eq!(s1["bands"][4]["description"], "2018-09-13 VH");
    assert_eq!(s1["bands"][0]["type"], "Float32");
    // Int64 is stored in the narrowest type QGIS 3.22 reads: UInt16 for small instance ids,
    // Float64 (exact below 2^53) for ZONES values of 2^33 and more.
    let instances = gdalinfo(&tif.join("INSTANCES/INSTANCES_10000.tif"));
    assert_eq!(instances["bands"][0]["type"], "UInt16");
    let zones = gdalinfo(&tif.join("ZONES/ZONES_10000.tif"));
    assert_eq!(zones["bands"][0]["type"], "Float64");
    let manifest = geotiff::Manifest::read(&tif).unwrap();
    let zones = &manifest.patches[&10000].layers[&Layer::Zones];
    assert_eq!(
        (zones.dtype.name(), zones.stored_as.name()),
        ("int64", "float64")
    );
    let other_zone = gdalinfo(&tif.join("HEATMAP/HEATMAP_20000.tif"));
    assert!(other_zone["coordinateSystem"]["wkt"]
        .as_str()
        .unwrap()
        .contains("ID[\"EPSG\",32631]"));
}

#[test]
fn footprints_match_their_grids() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("tif");
    convert(&small_dataset(dir.path()), &tif, &["--to", "geotiff"]).silent();
    let manifest = geotiff::Manifest::read(&tif).unwrap();
    assert!(manifest.warnings.is_empty(), "{:?}", manifest.warnings);
    assert_eq!(manifest.patches.len(), 3);
    for (id, p) in &manifest.patches {
        let grid = p.grid.as_ref().unwrap();
        assert!(
            grid.corner_error_m < 0.01,
            "patch {id}: {}",
            grid.corner_error_m
        );
        assert_eq!(grid.geotransform[1], 10.0);
    }
}

#[test]
fn vrt_mosaics_cover_their_patches() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("tif");
    convert(&small_dataset(dir.path()), &tif, &["--to", "geotiff"]).silent();
    let manifest = geotiff::Manifest::read(&tif).unwrap();
    assert!(
        manifest
            .mosaics
            .contains(&"TARGET/TARGET_t30uxv.vrt".to_string()),
        "{:?}",
        manifest.mosaics
    );
    assert!(manifest.mosaics.contains(&"S2/S2_t31tfj.vrt".to_string()));
    let vrt = Dataset::open(tif.join("TARGET/TARGET_t30uxv.vrt")).unwrap();
    assert_eq!(vrt.raster_size(), (2 * SIZE, SIZE));
    assert_eq!(vrt.raster_count(), 3);
    let mosaic = vrt.rasterband(1).unwrap().read_band_as::<u8>().unwrap();
    for (k, id) in [10000, 10001].iter().enumerate() {
        let one = Dataset::open(tif.join(format!("TARGET/TARGET_{id}.tif"))).unwrap();
        let pixels = one.rasterband(1).unwrap().read_band_as::<u8>().unwrap();
        for row in 0..SIZE {
            let left = &mosaic.data()[row * 2 * SIZE + k * SIZE..][..SIZE];
            assert_eq!(
                left,
                &pixels.data()[row * SIZE..][..SIZE],
                "patch {id} row {row}"
            );
        }
    }
    let info = gdalinfo(&tif.join("S2/S2_t30uxv.vrt"));
    assert_eq!(info["bands"][7]["description"], "2018-09-24 B8A");
    // The folder can move: sources are relative to the VRT.
    let moved = dir.path().join("moved");
    std::fs::rename(&tif, &moved).unwrap();
    assert_eq!(
        Dataset::open(moved.join("ZONES/ZONES_t30uxv.vrt"))
            .unwrap()
            .raster_size(),
        (2 * SIZE, SIZE)
    );
}

#[test]
fn edited_tiffs_are_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tif = dir.path().join("tif");
    convert(&small_dataset(dir.path()), &tif, &["--to", "geotiff"]).silent();
    std::fs::copy(
        tif.join("TARGET/TARGET_10000.tif"),
        tif.join("S2/S2_10001.tif"),
    )
    .unwrap();
    let out = bin()
        .arg("convert")
        .arg(&tif)
        .arg(dir.path().join("back"))
        .args(["--to", "pastis"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("S2_10001.tif") && stderr.contains("20 bands"),
        "{stderr}"
    );
}

#[test]
fn patches_without_tile_or_footprint_still_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut no_tile = patch(1, "t30uxv", 32630, 641_230.0, 5_301_270.0);
    no_tile.meta.tile = None;
    let mut no_footprint = patch(2, "t30uxv", 32630, 641_230.0, 5_301_270.0);
    no_footprint.meta.footprint = None;
    let mut empty_series = patch(3, "t30uxv", 32630, 641_230.0, 5_301_270.0);
    empty_series.meta.dates.insert(Layer::S2, vec![]);
    empty_series
        .arrays
        .insert(Layer::S2, Array::I16(filled(&[0, 10, SIZE, SIZE], |_| 0)));
    let src = write_dataset(dir.path(), &[no_tile, no_footprint, empty_series]);
    let (tif, back) = (dir.path().join("tif"), dir.path().join("back"));
    // Patch 2 has no place on Earth: refused, naming it, unless --no-georef.
    let out = bin()
        .arg("convert")
        .arg(&src)
        .arg(&tif)
        .args(["--to", "geotiff", "--quiet"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("patch 2: no footprint"), "{stderr}");
    assert!(!tif.exists());
    convert(&src, &tif, &["--to", "geotiff", "--patches", "1,3"]).silent();
    let manifest = geotiff::Manifest::read(&tif).unwrap();
    // Without a TILE the zone comes from the footprint's centre: the same UTM 30N grid.
    let fitted = manifest.patches[&1].grid.as_ref().unwrap();
    assert_eq!(fitted.epsg, 32630);
    assert_eq!(
        fitted.geotransform,
        [641_230.0, 10.0, 0.0, 5_301_270.0, 0.0, -10.0]
    );
    assert!(fitted.corner_error_m < 0.05, "{}", fitted.corner_error_m);
    assert!(
        fitted
            .zone
            .starts_with("no TILE: zone from the footprint centre (lon -1.1"),
        "{}",
        fitted.zone
    );
    let tiled = manifest.patches[&3].grid.as_ref().unwrap();
    assert_eq!(tiled.zone, "zone from TILE t30uxv");
    let wkt = gdalinfo(&tif.join("TARGET/TARGET_1.tif"))["coordinateSystem"]["wkt"].clone();
    assert!(
        wkt.as_str().unwrap().contains("ID[\"EPSG\",32630]"),
        "{wkt}"
    );
    // With --no-georef every TIFF has no CRS and the pixel grid; the manifest says why.
    std::fs::remove_dir_all(&tif).unwrap();
    convert(&src, &tif, &["--to", "geotiff", "--no-georef"]).silent();
    let manifest = geotiff::Manifest::read(&tif).unwrap();
    for id in [1, 2, 3] {
        let info = gdalinfo(&tif.join(format!("TARGET/TARGET_{id}.tif")));
        assert!(info["coordinateSystem"].is_null(), "{id}: {info}");
        assert_eq!(info["geoTransform"], json!([0.0, 1.0, 0.0, 0.0, 0.0, -1.0]));
        let entry = &manifest.patches[&id];
        assert_eq!(entry.grid, None);
        let why = entry.not_georeferenced.as_deref().unwrap();
        assert!(why.starts_with("written with --no-georef"), "{why}");
    }
    let why = manifest.patches[&2].not_georeferenced.as_deref().unwrap();
    assert!(
        why.ends_with("patch 2: no footprint (null geometry), so no pixel grid"),
        "{why}"
    );
    assert!(manifest.mosaics.is_empty(), "{:?}", manifest.mosaics);
    assert_eq!(manifest.patches[&3].layers[&Layer::S2].file, None);
    convert(&tif, &back, &["--to", "pastis"]).silent();
    assert_same_dataset(&src, &back);
}

#[test]
fn fixture_round_trips_and_every_footprint_matches_its_grid() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixture("PASTIS-R");
    let (tif, back) = (dir.path().join("tif"), dir.path().join("back"));
    convert(&src, &tif, &["--to", "geotiff"]).silent();
    let manifest = geotiff::Manifest::read(&tif).unwrap();
    assert!(manifest.warnings.is_empty(), "{:?}", manifest.warnings);
    assert_eq!(manifest.patches.len(), 4);
    for (id, p) in &manifest.patches {
        let grid = p.grid.as_ref().unwrap();
        assert!(
            grid.corner_error_m < 0.1,
            "patch {id}: {}",
            grid.corner_error_m
        );
        assert!(
            (32630..=32632).contains(&grid.epsg),
            "patch {id}: {}",
            grid.epsg
        );
        let gt = grid.geotransform;
        assert_eq!((gt[1], gt[2], gt[4], gt[5]), (10.0, 0.0, 0.0, -10.0));
        assert_eq!(
            (gt[0] % 10.0, gt[3] % 10.0),
            (0.0, 0.0),
            "patch {id}: {gt:?}"
        );
    }
    assert!(!manifest.mosaics.is_empty());
    for vrt in &manifest.mosaics {
        let ds = Dataset::open(tif.join(vrt)).unwrap();
        assert!(ds.raster_size().0 >= 64, "{vrt}");
    }
    convert(&tif, &back, &["--to", "pastis"]).silent();
    assert_same_dataset(&src, &back);
}
