//! Georeferencing from the CRS metadata.geojson declares (issue #14), through the CLI and real
//! tools: the same synthetic dataset with its metadata in Lambert-93 and re-saved by GDAL's
//! `ogr2ogr` to WGS84 (6 decimals, with and without a `crs` member) and to Web Mercator gives
//! identical GeoTIFF grids, parcels and previews; implausible footprints are named by `inspect`
//! and refused by `convert --to geotiff` and `parcels`.
#![allow(clippy::unwrap_used)]

mod common;

use common::bin;
use common::cli::run;
use pastis_bridge::formats::geotiff;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Patches of the synthetic dataset: 6 cycle over the tiles t30uxv, t31tfj, t31tfm, t32ulu
/// (ids 10000, 20000, 30000, 40000, 10001, 20001), in three UTM zones.
const PATCHES: &str = "6";

/// A small synthetic dataset (32 x 32 patches, footprints in Lambert-93) at `dir/name`.
fn synth(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join(name);
    bin()
        .arg("synth")
        .arg(&root)
        .args([
            "--patches",
            PATCHES,
            "--size",
            "32",
            "--date-scale",
            "0.1",
            "-q",
        ])
        .assert()
        .success();
    root
}

/// A copy of the dataset `src` at `dst` whose metadata.geojson is `ogr2ogr`'s re-save with
/// `args` (target CRS and layer creation options).
fn resaved(src: &Path, dst: &Path, args: &[&str]) -> PathBuf {
    copy_dir(src, dst);
    let target = dst.join("metadata.geojson");
    std::fs::remove_file(&target).unwrap();
    let out = Command::new("ogr2ogr")
        .args(["-f", "GeoJSON"])
        .args(args)
        .arg(&target)
        .arg(src.join("metadata.geojson"))
        .output()
        .expect("ogr2ogr (gdal-bin) must be installed for these tests");
    assert!(
        out.status.success(),
        "ogr2ogr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dst.to_path_buf()
}

fn copy_dir(src: &Path, dst: &Path) {
    let status = Command::new("cp").arg("-r").arg(src).arg(dst).status();
    assert!(status.unwrap().success(), "cp -r {}", src.display());
}

fn metadata(root: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(root.join("metadata.geojson")).unwrap()).unwrap()
}

fn edit_metadata(root: &Path, edit: impl FnOnce(&mut Value)) {
    let mut doc = metadata(root);
    edit(&mut doc);
    std::fs::write(
        root.join("metadata.geojson"),
        serde_json::to_vec_pretty(&doc).unwrap(),
    )
    .unwrap();
}

fn gdalinfo(path: &Path) -> Value {
    let out = Command::new("gdalinfo")
        .arg("-json")
        .arg(path)
        .output()
        .expect("gdalinfo (gdal-bin) must be installed for these tests");
    assert!(out.status.success(), "gdalinfo {}", path.display());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// The GeoTIFF export's grids, per patch: (EPSG, geotransform).
fn grids(src: &Path, out: &Path) -> Vec<(i64, u32, [f64; 6])> {
    bin()
        .arg("convert")
        .arg(src)
        .arg(out)
        .args(["--to", "geotiff", "-q"])
        .assert()
        .success();
    let manifest = geotiff::Manifest::read(out).unwrap();
    manifest
        .patches
        .iter()
        .map(|(id, p)| {
            let g = p.grid.as_ref().unwrap();
            (*id, g.epsg, g.geotransform)
        })
        .collect()
}

/// The parcels GeoJSON's features.
fn parcels(src: &Path, out: &Path) -> Value {
    bin()
        .arg("parcels")
        .arg(src)
        .arg(out)
        .arg("-q")
        .assert()
        .success();
    let doc: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    doc["features"].clone()
}

/// The preview PNGs' bytes, per file name.
fn previews(src: &Path, out: &Path) -> Vec<(String, Vec<u8>)> {
    bin()
        .arg("preview")
        .arg(src)
        .arg(out)
        .arg("-q")
        .assert()
        .success();
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn wgs84_and_web_mercator_resaves_give_identical_grids_parcels_and_previews() {
    let dir = tempfile::tempdir().unwrap();
    let lambert = synth(dir.path(), "lambert");
    let variants = [
        (
            "wgs84",
            vec!["-t_srs", "EPSG:4326", "-lco", "COORDINATE_PRECISION=6"],
            Some("urn:ogc:def:crs:OGC:1.3:CRS84"),
        ),
        (
            "rfc7946",
            vec![
                "-t_srs",
                "EPSG:4326",
                "-lco",
                "RFC7946=YES",
                "-lco",
                "COORDINATE_PRECISION=6",
            ],
            None,
        ),
        (
            "mercator",
            vec!["-t_srs", "EPSG:3857"],
            Some("urn:ogc:def:crs:EPSG::3857"),
        ),
    ];
    let expected_grids = grids(&lambert, &dir.path().join("lambert.tif"));
    assert_eq!(expected_grids.len(), 6);
    for (_, epsg, gt) in &expected_grids {
        assert!((32630..=32632).contains(epsg), "{epsg}");
        assert_eq!(
            (gt[0] % 10.0, gt[3] % 10.0, gt[1], gt[5]),
            (0.0, 0.0, 10.0, -10.0)
        );
    }
    let expected_parcels = parcels(&lambert, &dir.path().join("lambert.geojson"));
    assert!(expected_parcels.as_array().unwrap().len() > 30);
    let expected_previews = previews(&lambert, &dir.path().join("lambert.png"));
    assert_eq!(expected_previews.len(), 6);
    for (name, args, crs) in variants {
        let src = resaved(&lambert, &dir.path().join(name), &args);
        let doc = metadata(&src);
        assert_eq!(doc["crs"]["properties"]["name"].as_str(), crs, "{name}");
        if name != "mercator" {
            // Really rounded to 6 decimals: no coordinate has a 7th.
            // (RFC7946=YES writes one-part MultiPolygons as Polygons: descend to the first number.)
            let mut first = &doc["features"][0]["geometry"]["coordinates"];
            while first.is_array() {
                first = &first[0];
            }
            let first = first.as_f64().unwrap();
            assert_eq!((first * 1e6).round() / 1e6, first, "{name}");
        }
        bin().arg("inspect").arg(&src).assert().code(0);
        let got = grids(&src, &dir.path().join(format!("{name}.tif")));
        // Identical to the bit, hence to the centimetre.
        assert_eq!(got, expected_grids, "{name}");
        let got = parcels(&src, &dir.path().join(format!("{name}.geojson")));
        assert_eq!(got, expected_parcels, "{name}");
        let got = previews(&src, &dir.path().join(format!("{name}.png")));
        assert!(got == expected_previews, "{name}: previews differ");
    }
}

#[test]
fn crs84_metadata_round_trips_as_crs84_through_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let lambert = synth(dir.path(), "lambert");
    let args = ["-t_srs", "EPSG:4326", "-lco", "COORDINATE_PRECISION=6"];
    let src = resaved(&lambert, &dir.path().join("wgs84"), &args);
    let original = metadata(&src);
    for (name, to) in [("a.zarr", "zarr"), ("a.h5", "hdf5"), ("tif", "geotiff")] {
        let stored = dir.path().join(name);
        let back = dir.path().join(format!("back-{to}"));
        for (from, dst, fmt) in [(&src, &stored, to), (&stored, &back, "pastis")] {
            bin()
                .arg("convert")
                .arg(from)
                .arg(dst)
                .args(["--to", fmt, "-q"])
                .assert()
                .success();
        }
        bin().arg("verify").arg(&src).arg(&back).assert().code(0);
        let doc = metadata(&back);
        assert_eq!(
            doc["crs"],
            json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}),
            "{to}"
        );
        for (a, b) in doc["features"]
            .as_array()
            .unwrap()
            .iter()
            .zip(original["features"].as_array().unwrap())
        {
            assert_eq!(a["geometry"], b["geometry"], "{to}");
        }
    }
}

/// A Lambert-93 dataset with one planted problem per patch, and the words `inspect` must say
/// about each.
fn planted(dir: &Path) -> (PathBuf, Vec<(i64, &'static str)>) {
    let root = synth(dir, "planted");
    edit_metadata(&root, |doc| {
        let features = doc["features"].as_array_mut().unwrap();
        // 10000: 300 m wide instead of 320 m: the east edge moved 20 m west.
        let ring = &mut features[0]["geometry"]["coordinates"][0][0];
        let west = ring[0][0].as_f64().unwrap();
        for v in ring.as_array_mut().unwrap() {
            if v[0].as_f64().unwrap() > west + 100.0 {
                v[0] = json!(v[0].as_f64().unwrap() - 20.0);
            }
        }
        // 20000 (a zone-31 square): labelled with the zone-30 tile t30uxv.
        features[1]["properties"]["TILE"] = json!("t30uxv");
        // 30000: a Point.
        let first = features[2]["geometry"]["coordinates"][0][0][0].clone();
        features[2]["geometry"] = json!({"type": "Point", "coordinates": first});
        // 40000: a MultiPolygon of two parts.
        let part = features[3]["geometry"]["coordinates"][0].clone();
        features[3]["geometry"]["coordinates"] = json!([part.clone(), part]);
        // 10001: no geometry.
        features[4]["geometry"] = Value::Null;
        // 20001: a plain Polygon (accepted).
        let polygon = features[5]["geometry"]["coordinates"][0].clone();
        features[5]["geometry"] = json!({"type": "Polygon", "coordinates": polygon});
    });
    let expected = vec![
        (10000, "in EPSG:32630, its corners up to"),
        (20000, "outside tile t30uxv's UTM zone"),
        (30000, "footprint is a Point"),
        (40000, "MultiPolygon of 2 parts"),
        (10001, "no footprint (null geometry)"),
    ];
    (root, expected)
}

/// inspect's problems as JSON.
fn problems(root: &Path) -> Vec<Value> {
    let out = bin()
        .arg("inspect")
        .arg(root)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "inspect {}", root.display());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["problems"].as_array().unwrap().clone()
}

#[test]
fn inspect_names_each_implausible_footprint() {
    let dir = tempfile::tempdir().unwrap();
    let (root, expected) = planted(dir.path());
    let found = problems(&root);
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (id, words) in expected {
        let p = found
            .iter()
            .find(|p| p["patch"] == json!(id))
            .unwrap_or_else(|| panic!("patch {id} not reported: {found:#?}"));
        assert_eq!(p["kind"], "georef");
        let message = p["message"].as_str().unwrap();
        assert!(message.contains(words), "patch {id}: {message}");
    }
}

#[test]
fn lambert_numbers_declared_web_mercator_and_unit_squares_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mercator = synth(dir.path(), "mercator");
    edit_metadata(&mercator, |doc| {
        doc["crs"]["properties"]["name"] = json!("urn:ogc:def:crs:EPSG::3857");
    });
    let found = problems(&mercator);
    assert_eq!(found.len(), 6, "{found:#?}");
    // A PASTIS stand-in: CRS84 (no crs member), unit squares, no TILE.
    let units = synth(dir.path(), "units");
    edit_metadata(&units, |doc| {
        doc.as_object_mut().unwrap().remove("crs");
        for f in doc["features"].as_array_mut().unwrap() {
            f["properties"].as_object_mut().unwrap().remove("TILE");
            f["geometry"] = json!({"type": "Polygon", "coordinates":
                [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]]});
        }
    });
    let found = problems(&units);
    assert_eq!(found.len(), 6, "{found:#?}");
    for p in &found {
        let message = p["message"].as_str().unwrap();
        assert!(
            message.contains("in EPSG:32631") && message.contains("320 m x 320 m square"),
            "{message}"
        );
    }
    for root in [&mercator, &units] {
        assert_refused_then_written_without_crs(dir.path(), root);
    }
}

/// `convert --to geotiff` and `parcels` refuse `root` (exit 2, naming a patch, no output) and,
/// with `--no-georef`, write TIFFs and a FlatGeobuf that GDAL shows without CRS.
fn assert_refused_then_written_without_crs(dir: &Path, root: &Path) {
    let tif = dir.join("out.tif");
    run([
        os("convert"),
        root.as_os_str(),
        tif.as_os_str(),
        os("--to"),
        os("geotiff"),
        os("-q"),
    ])
    .expect(2, &["patch "]);
    assert!(!tif.exists());
    let out = dir.join("out.geojson");
    run([os("parcels"), root.as_os_str(), out.as_os_str(), os("-q")]).expect(2, &["patch "]);
    assert!(!out.exists());
    let tif = dir.join("nogeoref.tif");
    let fgb = dir.join("nogeoref.fgb");
    for args in [
        [
            os("convert"),
            root.as_os_str(),
            tif.as_os_str(),
            os("--to=geotiff"),
        ],
        [os("parcels"), root.as_os_str(), fgb.as_os_str(), os("-j2")],
    ] {
        run([&args[..], &[os("-q"), os("--no-georef")]].concat()).expect(0, &[]);
    }
    let tiffs: Vec<PathBuf> = std::fs::read_dir(tif.join("TARGET"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tif"))
        .collect();
    assert_eq!(tiffs.len(), 12, "{tiffs:?}"); // TARGET_{ID}.tif and TARGET_{ID}_class.tif
    for path in tiffs {
        let info = gdalinfo(&path);
        assert!(
            info["coordinateSystem"].is_null(),
            "{}: {info}",
            path.display()
        );
    }
    let info = ogrinfo(&fgb);
    assert!(info.contains("Layer SRS WKT:\n(unknown)"), "{info}");
    for path in [tif, fgb] {
        let _ = std::fs::remove_dir_all(&path);
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn convert_and_parcels_refuse_planted_footprints_naming_the_patch() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = planted(dir.path());
    let tif = dir.path().join("tif");
    run([
        os("convert"),
        root.as_os_str(),
        tif.as_os_str(),
        os("--to"),
        os("geotiff"),
        os("-q"),
        os("--jobs"),
        os("1"),
    ])
    .expect(2, &["patch 10000: footprint is"]);
    assert!(!tif.exists());
    let out = dir.path().join("p.geojson");
    run([
        os("parcels"),
        root.as_os_str(),
        out.as_os_str(),
        os("-q"),
        os("--patches"),
        os("20000"),
    ])
    .expect(2, &["patch 20000: footprint centre"]);
    // With --no-georef the export succeeds: no CRS anywhere, each patch's reason in the manifest.
    run([
        os("convert"),
        root.as_os_str(),
        tif.as_os_str(),
        os("--to"),
        os("geotiff"),
        os("-q"),
        os("--no-georef"),
    ])
    .expect(0, &[]);
    let manifest = geotiff::Manifest::read(&tif).unwrap();
    for (id, words) in planted(&dir.path().join("again")).1 {
        let info = gdalinfo(&tif.join(format!("TARGET/TARGET_{id}.tif")));
        assert!(info["coordinateSystem"].is_null(), "{id}: {info}");
        let why = manifest.patches[&id].not_georeferenced.as_deref().unwrap();
        assert!(why.contains(words), "{id}: {why}");
    }
    // So do the parcels, in pixel coordinates, each patch's reason on its features.
    run([
        os("parcels"),
        root.as_os_str(),
        out.as_os_str(),
        os("-q"),
        os("--no-georef"),
    ])
    .expect(0, &[]);
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for (id, words) in planted(&dir.path().join("again2")).1 {
        let features = doc["features"].as_array().unwrap().iter();
        let mut reasons = features
            .filter(|f| f["properties"]["ID_PATCH"] == json!(id))
            .map(|f| f["properties"]["not_georeferenced"].as_str().unwrap());
        let why = reasons
            .next()
            .unwrap_or_else(|| panic!("no parcel of {id}"));
        assert!(why.contains(words), "{id}: {why}");
    }
    // The good patches alone convert, georeferenced.
    run([
        os("convert"),
        root.as_os_str(),
        dir.path().join("one").as_os_str(),
        os("--to"),
        os("geotiff"),
        os("-q"),
        os("--patches"),
        os("20001"),
    ])
    .expect(0, &[]);
    let info = gdalinfo(&dir.path().join("one/TARGET/TARGET_20001.tif"));
    assert!(!info["coordinateSystem"].is_null());
}

/// A dataset whose first three patches cannot be georeferenced: 10000 a unit square in CRS84
/// (a PASTIS stand-in's footprint), 20000 a null geometry, 30000 a Point; the other three are
/// the synthetic Lambert-93 squares. Returns the root and the words naming each problem.
fn ungeoreferenced(dir: &Path) -> (PathBuf, Vec<(i64, &'static str)>) {
    let root = synth(dir, "pixels");
    edit_metadata(&root, |doc| {
        let features = doc["features"].as_array_mut().unwrap();
        features[0]["geometry"] = json!({"type": "Polygon", "coordinates":
            [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]]});
        features[1]["geometry"] = Value::Null;
        let first = features[2]["geometry"]["coordinates"][0][0][0].clone();
        features[2]["geometry"] = json!({"type": "Point", "coordinates": first});
    });
    let expected = vec![
        (10000, "outside the area of use of the declared EPSG:2154"),
        (20000, "no footprint (null geometry)"),
        (30000, "footprint is a Point"),
    ];
    (root, expected)
}

/// INSTANCES and TARGET channel 0 of every patch of `back` equal those of `src`.
fn assert_same_annotations(src: &Path, back: &Path) {
    use pastis_bridge::model::Layer;
    let (src, back) = (
        pastis_bridge::formats::open(src).unwrap(),
        pastis_bridge::formats::open(back).unwrap(),
    );
    assert_eq!(src.metadata().ids(), back.metadata().ids());
    let layers = [Layer::Instances, Layer::Target];
    for id in src.metadata().ids() {
        let (a, b) = (
            src.read_patch(id, &layers).unwrap(),
            back.read_patch(id, &layers).unwrap(),
        );
        assert_eq!(
            a.get(Layer::Instances),
            b.get(Layer::Instances),
            "INSTANCES {id}"
        );
        let (ta, tb) = (
            a.get(Layer::Target).unwrap().to_i64().unwrap(),
            b.get(Layer::Target).unwrap().to_i64().unwrap(),
        );
        assert_eq!(
            ta.index_axis(ndarray::Axis(0), 0),
            tb.index_axis(ndarray::Axis(0), 0),
            "TARGET[0] {id}"
        );
    }
}

fn ogrinfo(path: &Path) -> String {
    let out = Command::new("ogrinfo")
        .args(["-so", "-al"])
        .arg(path)
        .output()
        .expect("ogrinfo (gdal-bin) must be installed for these tests");
    assert!(out.status.success(), "ogrinfo {}", path.display());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ERROR"),
        "ogrinfo {}: {stderr}",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Issue #14: parcels of patches whose grid cannot be recovered are refused without
/// `--no-georef` and written with it in pixel coordinates with no CRS, saying why per feature;
/// `rasterize --no-georef` gives INSTANCES and the classes back exactly, and a file of one kind
/// is refused with the other kind's flag.
#[test]
fn parcels_no_georef_writes_pixels_without_crs_and_rasterize_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let (root, expected) = ungeoreferenced(dir.path());
    let refused = dir.path().join("refused.geojson");
    run([
        os("parcels"),
        root.as_os_str(),
        refused.as_os_str(),
        os("-q"),
    ])
    .expect(2, &["patch 10000: footprint vertex", "--no-georef"]);
    assert!(!refused.exists());
    // Each kind of footprint is refused on its own, naming the patch: unit square, null, Point.
    for (id, words) in &expected {
        run([
            os("parcels"),
            root.as_os_str(),
            refused.as_os_str(),
            os("-q"),
            os("--patches"),
            os(&id.to_string()),
        ])
        .expect(2, &[&format!("patch {id}: "), words]);
        assert!(!refused.exists());
    }
    for name in ["p.geojson", "p.gpkg", "p.fgb"] {
        let out = dir.path().join(name);
        run([
            os("parcels"),
            root.as_os_str(),
            out.as_os_str(),
            os("-q"),
            os("--no-georef"),
        ])
        .expect(0, &[]);
        let info = ogrinfo(&out);
        assert!(info.contains("Layer name: parcels_pixels") || name.ends_with("geojson"));
        assert!(info.contains("not_georeferenced: String"), "{name}: {info}");
        if name.ends_with("gpkg") {
            // GeoPackage's own "no CRS": the undefined Cartesian SRS (srs_id -1).
            assert!(info.contains("Undefined Cartesian SRS"), "{info}");
        }
        if name.ends_with("fgb") {
            assert!(info.contains("Layer SRS WKT:\n(unknown)"), "{info}");
        }
        // GDAL 3.6 gives every GeoJSON layer WGS84 whatever the file says; the file itself has
        // "crs": null (checked below).
        if !name.ends_with("geojson") {
            assert!(
                !info.contains("ID[\"EPSG\""),
                "{name} claims an EPSG CRS: {info}"
            );
        }
        // Without the flag the pixel file is refused, not read as georeferenced.
        let good = "40000,10001,20001";
        let back = dir.path().join(format!("{name}.refused"));
        run([
            os("rasterize"),
            out.as_os_str(),
            back.as_os_str(),
            os("--grid"),
            root.as_os_str(),
            os("--patches"),
            os(good),
            os("-q"),
        ])
        .expect(2, &["rasterize it with --no-georef"]);
        assert!(!back.exists());
        let back = dir.path().join(format!("{name}.back"));
        run([
            os("rasterize"),
            out.as_os_str(),
            back.as_os_str(),
            os("--grid"),
            root.as_os_str(),
            os("--no-georef"),
            os("-q"),
        ])
        .expect(0, &[]);
        assert_same_annotations(&root, &back);
    }
    // The GeoJSON: "crs": null (GeoJSON 2008: no CRS can be assumed), pixel coordinates on the
    // GeoTIFF --no-georef grid (x = column in 0..32, y = -row in -32..0), each feature's reason.
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("p.geojson")).unwrap()).unwrap();
    assert!(doc.get("crs").is_some_and(Value::is_null), "{}", doc["crs"]);
    let features = doc["features"].as_array().unwrap();
    assert!(features.len() > 30);
    for f in features {
        let id = f["properties"]["ID_PATCH"].as_i64().unwrap();
        let why = f["properties"]["not_georeferenced"].as_str().unwrap();
        assert!(
            why.starts_with("written with --no-georef: no CRS, pixel grid [0, 1, 0, 0, 0, -1]"),
            "{why}"
        );
        match expected.iter().find(|(p, _)| *p == id) {
            Some((_, words)) => assert!(why.contains(words), "{id}: {why}"),
            None => assert!(!why.contains(';'), "{id} has no problem: {why}"),
        }
        let mut xy = vec![];
        let mut stack = vec![&f["geometry"]["coordinates"]];
        while let Some(v) = stack.pop() {
            match v.as_array().unwrap().as_slice() {
                [x, y] if x.is_number() => xy.push((x.as_f64().unwrap(), y.as_f64().unwrap())),
                items => stack.extend(items),
            }
        }
        assert!(
            xy.iter().all(|&(x, y)| (0.0..=32.0).contains(&x)
                && (-32.0..=0.0).contains(&y)
                && x.fract() == 0.0
                && y.fract() == 0.0),
            "{id}: {xy:?}"
        );
        let pixels = f["properties"]["pixels"].as_f64().unwrap();
        assert_eq!(f["properties"]["area_m2"].as_f64().unwrap(), pixels * 100.0);
    }
    // A georeferenced parcels file with --no-georef is refused too.
    let georeferenced = dir.path().join("good.gpkg");
    let good = ["--patches", "40000,10001,20001"].map(os);
    run([
        &[
            os("parcels"),
            root.as_os_str(),
            georeferenced.as_os_str(),
            os("-q"),
        ][..],
        &good[..],
    ]
    .concat())
    .expect(0, &[]);
    let back = dir.path().join("good.back");
    run([
        &[
            os("rasterize"),
            georeferenced.as_os_str(),
            back.as_os_str(),
            os("--grid"),
            root.as_os_str(),
            os("--no-georef"),
            os("-q"),
        ][..],
        &good[..],
    ]
    .concat())
    .expect(2, &["is georeferenced (EPSG:326"]);
    assert!(!back.exists());
}

/// The pixel polygons are the georeferenced ones seen through the pixel grid: for a patch with
/// a good footprint, mapping the --no-georef coordinates through its GeoTIFF grid gives the
/// native-CRS parcels exactly.
#[test]
fn pixel_parcels_are_the_native_parcels_on_the_pixel_grid() {
    let dir = tempfile::tempdir().unwrap();
    let root = synth(dir.path(), "good");
    let patch = ["--patches", "20000"].map(os);
    let native = dir.path().join("native.geojson");
    let pixels = dir.path().join("pixels.geojson");
    for (out, flag) in [(&native, "--crs=native"), (&pixels, "--no-georef")] {
        run([
            &[
                os("parcels"),
                root.as_os_str(),
                out.as_os_str(),
                os(flag),
                os("-q"),
            ][..],
            &patch[..],
        ]
        .concat())
        .expect(0, &[]);
    }
    let gt = grids(&root, &dir.path().join("tif"))
        .into_iter()
        .find(|(id, _, _)| *id == 20000)
        .unwrap()
        .2;
    let read = |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let (native, pixels) = (read(&native), read(&pixels));
    let (a, b) = (
        native["features"].as_array().unwrap(),
        pixels["features"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    assert!(!a.is_empty());
    for (a, b) in a.iter().zip(b) {
        // Pixel (x, y) = (column, -row) -> (x0 + 10 column, y0 - 10 row) = (x0 + 10 x, y0 + 10 y).
        let mapped = map_coordinates(&b["geometry"]["coordinates"], &|x, y| {
            (gt[0] + gt[1] * x, gt[3] - gt[5] * y)
        });
        assert_eq!(mapped, a["geometry"]["coordinates"]);
        for key in [
            "ID_PATCH",
            "instance_id",
            "parcel_id",
            "class_id",
            "pixels",
            "area_m2",
        ] {
            assert_eq!(a["properties"][key], b["properties"][key], "{key}");
        }
    }
}

/// `coordinates` (nested arrays of [x, y]) with every position mapped by `f`.
fn map_coordinates(v: &Value, f: &dyn Fn(f64, f64) -> (f64, f64)) -> Value {
    let items = v.as_array().unwrap();
    match items.as_slice() {
        [x, y] if x.is_number() => {
            let (x, y) = f(x.as_f64().unwrap(), y.as_f64().unwrap());
            json!([x, y])
        }
        _ => Value::Array(items.iter().map(|i| map_coordinates(i, f)).collect()),
    }
}

/// `preview` draws a patch it cannot georeference (its header says why) and warns on the
/// command line, naming the patch, also with --quiet; a dataset without problem gives no warning.
#[test]
fn preview_warns_about_patches_it_cannot_georeference() {
    let dir = tempfile::tempdir().unwrap();
    let (root, expected) = ungeoreferenced(dir.path());
    let out = dir.path().join("png");
    let stderr = run([os("preview"), root.as_os_str(), out.as_os_str(), os("-q")])
        .expect(0, &[])
        .stderr;
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 6);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("pastis-bridge: warning: "))
        .collect();
    assert_eq!(warnings.len(), expected.len(), "{stderr}");
    for (id, words) in expected {
        let w = warnings
            .iter()
            .find(|w| w.contains(&format!("patch {id}: ")))
            .unwrap_or_else(|| panic!("no warning about patch {id}: {stderr}"));
        assert!(w.contains(words), "{w}");
        assert!(
            w.contains(&format!("preview_{id}.png says \"Not georeferenced\"")),
            "{w}"
        );
    }
    let good = synth(dir.path(), "good");
    let stderr = run([
        os("preview"),
        good.as_os_str(),
        dir.path().join("good-png").as_os_str(),
        os("-q"),
    ])
    .expect(0, &[])
    .stderr;
    assert!(!stderr.contains("warning"), "{stderr}");
}
