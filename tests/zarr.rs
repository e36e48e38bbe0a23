//! Zarr store: round trips PASTIS → Zarr → PASTIS (v3 and v2), layout checks (padded chunks not
//! stored, sharding), and interoperability with zarr-python 3 and xarray.

// Test helpers fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin, file_names, run_python};
use half::f16;
use ndarray::{ArrayD, IxDyn};
use pastis_bridge::formats::{self, Format};
use pastis_bridge::model::{Array, DatasetMeta, Element, Layer, Patch, PatchMeta, Series};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A small PASTIS-R-like dataset: ragged series, a patch without S1D, one without TARGET, an
/// all-zero TARGET, every dtype of the release. `n` patches of `size` x `size` pixels.
fn build_dataset(dir: &Path, n: usize, size: usize) -> PathBuf {
    let root = dir.join("PASTIS-R");
    let patches: Vec<Patch> = (0..n).map(|i| patch(i, size)).collect();
    let mut meta = DatasetMeta {
        patches: patches.iter().map(|p| p.meta.clone()).collect(),
        crs: Some("urn:ogc:def:crs:EPSG::2154".into()),
        ..Default::default()
    };
    meta.collection_extra
        .insert("name".into(), json!("metadata"));
    let norm = json!({"Fold_1": {"mean": [1.5, 2.0], "std": [0.25, 3.0]}});
    meta.norms.insert(Series::S2, norm.clone());
    meta.norms.insert(Series::S1A, norm);
    common::write_pastis(&root, &meta, &patches);
    root
}

fn patch(i: usize, size: usize) -> Patch {
    let id = 10000 + i as i64;
    let mut meta = PatchMeta::new(id);
    meta.feature_id = Some(json!(id.to_string()));
    meta.fold = Some(1 + (i % 5) as i64);
    meta.tile = Some("t31tfj".into());
    meta.n_parcel = Some(3 + i as i64);
    meta.parcel_cover = Some(0.5 + i as f64 / 100.0);
    let (x, y) = (700000.0 + 1000.0 * i as f64, 6600000.0);
    let s = 10.0 * size as f64;
    meta.footprint = Some(
        serde_json::from_value(json!({"type": "MultiPolygon", "coordinates":
            [[[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]]]}))
        .unwrap(),
    );
    let mut arrays = std::collections::BTreeMap::new();
    let series = [
        (Layer::S2, 3 + i % 4, 10),
        (Layer::S1A, 2 + i % 3, 3),
        (Layer::S1D, 4, 3),
    ];
    for (layer, t, bands) in series {
        if layer == Layer::S1D && i == 1 {
            continue;
        }
        let dates = (0..t).map(|k| 20180901 + 5 * k as u32).collect();
        meta.dates.insert(layer, dates);
        let shape = [t, bands, size, size];
        let array = if layer == Layer::S2 {
            values(&shape, i, |v| (v % 3000) as i16 - 1000)
        } else {
            values(&shape, i, |v| f16::from_f32((v % 200) as f32 / 8.0 - 12.0))
        };
        arrays.insert(layer, array);
    }
    if i != 2 {
        let target = if i == 0 {
            Array::zeros(pastis_bridge::model::DType::U8, &[3, size, size])
        } else {
            values(&[3, size, size], i, |v| (v % 20) as u8)
        };
        arrays.insert(Layer::Target, target);
    }
    let plane = [size, size];
    arrays.insert(Layer::ParcelIds, values(&plane, i, |v| (v * 7919) as i32));
    arrays.insert(
        Layer::Heatmap,
        values(&plane, i, |v| (v % 97) as f64 / 96.0),
    );
    arrays.insert(Layer::Instances, values(&plane, i, |v| (v % 5) as i64));
    arrays.insert(Layer::Zones, values(&plane, i, |v| (v % 6) as i64));
    Patch {
        meta,
        arrays,
        spot: None,
    }
}

fn values<T: Element>(shape: &[usize], seed: usize, f: impl Fn(usize) -> T) -> Array {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|k| f(k * 31 + seed * 1009)).collect();
    T::wrap(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
}

fn convert(src: &Path, dst: &Path, extra: &[&str]) {
    bin()
        .arg("convert")
        .arg(src)
        .arg(dst)
        .args(extra)
        .arg("--quiet")
        .assert()
        .success();
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// PASTIS → Zarr → PASTIS gives the same files: .npy byte for byte, JSON value for value.
fn assert_round_trip(src: &Path, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("out.zarr");
    let back = dir.path().join("back");
    convert(src, &store, extra);
    assert!(!dir.path().join("out.zarr.partial").exists());
    convert(&store, &back, &["--to", "pastis"]);
    assert_eq!(file_names(src), file_names(&back));
    for file in file_names(src) {
        let (a, b) = (src.join(&file), back.join(&file));
        if file.ends_with(".npy") {
            assert!(
                std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
                "{file:?} differs"
            );
        } else {
            assert_eq!(json_file(&a), json_file(&b), "{file:?} differs");
        }
    }
    let report = pastis_bridge::verify::verify(src, &store).unwrap();
    assert!(
        report.identical(),
        "{}",
        pastis_bridge::verify::render_text(&report)
    );
}

#[test]
fn fixture_round_trips_in_both_versions() {
    let src = common::fixture("PASTIS-R");
    assert_round_trip(&src, &[]);
    assert_round_trip(&src, &["--zarr-version", "2"]);
}

#[test]
fn synth_dataset_with_radar_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("synth");
    let options = pastis_bridge::synth::SynthOptions {
        patches: 5,
        seed: 7,
        radar: true,
        size: 16,
        date_scale: 0.2,
        spot: false,
    };
    pastis_bridge::synth::generate(&src, &options, false, &|_| {}).unwrap();
    assert_round_trip(&src, &["--jobs", "2"]);
    let store = dir.path().join("synth.zarr");
    convert(&src, &store, &[]);
    let out = run_python("check_zarr.py", &[&src, &store]);
    assert!(out.contains("ok zarr_format=3"), "{out}");
}

#[test]
fn v3_round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let src = build_dataset(dir.path(), 6, 8);
    assert_round_trip(&src, &[]);
}

#[test]
fn v2_round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let src = build_dataset(dir.path(), 6, 8);
    assert_round_trip(&src, &["--zarr-version", "2", "--compression", "gzip:5"]);
}

#[test]
fn round_trip_across_shards_and_compressions() {
    // 70 patches = annotation shards of 32, 32 and 6 patches, written from several threads.
    let dir = tempfile::tempdir().unwrap();
    let src = build_dataset(dir.path(), 70, 4);
    assert_round_trip(&src, &["--compression", "blosc-lz4", "--jobs", "3"]);
    assert_round_trip(&src, &["--compression", "none"]);
}

/// The shard index of a v3 shard file: (offset, nbytes) per inner chunk; u64::MAX = absent.
fn shard_index(path: &Path, inner_chunks: usize) -> Vec<(u64, u64)> {
    let bytes = std::fs::read(path).unwrap();
    let index = &bytes[bytes.len() - 16 * inner_chunks - 4..bytes.len() - 4];
    index
        .chunks(16)
        .map(|e| {
            let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap());
            (word(&e[..8]), word(&e[8..]))
        })
        .collect()
}

#[test]
fn v3_padding_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let src = build_dataset(dir.path(), 4, 8);
    let store = dir.path().join("out.zarr");
    convert(&src, &store, &["--co", "SERIES_CHUNK_DATES=4"]);
    // S2 lengths are 3, 4, 5, 6 (Tmax 6): one shard per patch of 2 inner chunks of 4 dates (the
    // shard rounds the 6 dates up to 8). A series stores only the chunks holding its own dates:
    // 1 chunk for 3 or 4 dates, 2 for 5 or 6, the last one zero-padded past the series.
    for (i, t) in [3usize, 4, 5, 6].into_iter().enumerate() {
        let index = shard_index(&store.join(format!("S2/c/{i}/0/0/0/0")), 2);
        for (k, (offset, nbytes)) in index.into_iter().enumerate() {
            let absent = offset == u64::MAX && nbytes == u64::MAX;
            assert_eq!(absent, k >= t.div_ceil(4), "patch {i} chunk {k}");
        }
    }
    // Patch 1 has no S1D: no shard at all. All annotations of the 4 patches: one shard.
    assert!(!store.join("S1D/c/1/0/0/0/0").exists());
    assert!(store.join("S1D/c/0/0/0/0/0").exists());
    assert!(store.join("TARGET/c/0/0/0/0").exists());
    assert!(!store.join("TARGET/c/1/0/0/0").exists());
    let root = json_file(&store.join("zarr.json"));
    assert!(root["consolidated_metadata"]["metadata"]["S2"].is_object());
    let s2 = json_file(&store.join("S2/zarr.json"));
    assert_eq!(
        s2["dimension_names"],
        json!(["patch", "S2_time", "S2_band", "y", "x"])
    );
    assert!(s2["attributes"].get("_zarrs").is_none());
    let sharding = &s2["codecs"][0]["configuration"];
    assert_eq!(
        s2["chunk_grid"]["configuration"]["chunk_shape"],
        json!([1, 8, 10, 8, 8])
    );
    assert_eq!(sharding["chunk_shape"], json!([1, 4, 10, 8, 8]));
    // Padding never reads back as anything but zeros, and the series as themselves.
    let report = pastis_bridge::verify::verify(&src, &store).unwrap();
    assert!(
        report.identical(),
        "{}",
        pastis_bridge::verify::render_text(&report)
    );
}

/// The default series chunk is `stacked::SERIES_CHUNK_DATES` (8) dates of one patch, in both
/// versions, and a series shorter than that is one chunk; `ALL` makes the whole series one
/// chunk; a number of dates that is not >= 1 is refused before anything is written.
#[test]
fn series_chunk_dates_default_all_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("synth");
    let options = pastis_bridge::synth::SynthOptions {
        patches: 2,
        seed: 3,
        radar: true,
        size: 8,
        date_scale: 0.5,
        spot: false,
    };
    pastis_bridge::synth::generate(&src, &options, false, &|_| {}).unwrap();
    let tmax = |store: &Path, name: &str| -> usize {
        let meta = json_file(&store.join(format!("{name}/zarr.json")));
        meta["shape"][1].as_u64().unwrap() as usize
    };
    let v3 = dir.path().join("v3.zarr");
    convert(&src, &v3, &[]);
    for name in ["S2", "S1A", "S1D"] {
        let t = tmax(&v3, name);
        assert!(t > 8, "{name}: {t} dates, too few to test the default");
        let meta = json_file(&v3.join(format!("{name}/zarr.json")));
        let inner = &meta["codecs"][0]["configuration"]["chunk_shape"];
        assert_eq!(inner[1], json!(8), "{name}");
        assert_eq!(
            meta["chunk_grid"]["configuration"]["chunk_shape"][1],
            json!(t.div_ceil(8) * 8)
        );
    }
    let v2 = dir.path().join("v2.zarr");
    convert(&src, &v2, &["--zarr-version", "2"]);
    let zarray = json_file(&v2.join("S2/.zarray"));
    assert_eq!(zarray["chunks"][1], json!(8));
    let all = dir.path().join("all.zarr");
    convert(&src, &all, &["--co", "SERIES_CHUNK_DATES=all"]);
    let meta = json_file(&all.join("S2/zarr.json"));
    let t = tmax(&all, "S2");
    assert_eq!(
        meta["codecs"][0]["configuration"]["chunk_shape"][1],
        json!(t)
    );
    assert_eq!(
        meta["chunk_grid"]["configuration"]["chunk_shape"][1],
        json!(t)
    );
    for store in [&v3, &v2, &all] {
        let report = pastis_bridge::verify::verify(&src, store).unwrap();
        assert!(
            report.identical(),
            "{}",
            pastis_bridge::verify::render_text(&report)
        );
    }
    for bad in ["0", "-1", "eight"] {
        let option = format!("SERIES_CHUNK_DATES={bad}");
        let out = dir.path().join("bad.zarr");
        common::cli::convert_refused(&src, &out, &["--co", &option], 2, &[&option]);
    }
}

#[test]
fn v2_padding_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let src = build_dataset(dir.path(), 4, 8);
    let store = dir.path().join("out.zarr");
    convert(
        &src,
        &store,
        &["--zarr-version", "2", "--co", "SERIES_CHUNK_DATES=4"],
    );
    // Chunks of 4 dates of one patch: 1 file for 3 or 4 dates, 2 for 5 or 6.
    for (i, t) in [3usize, 4, 5, 6].into_iter().enumerate() {
        for k in 0..2 {
            let chunk = store.join(format!("S2/{i}.{k}.0.0.0"));
            assert_eq!(chunk.exists(), k < t.div_ceil(4), "patch {i} chunk {k}");
        }
    }
    let report = pastis_bridge::verify::verify(&src, &store).unwrap();
    assert!(
        report.identical(),
        "{}",
        pastis_bridge::verify::render_text(&report)
    );
    assert!(store.join(".zmetadata").is_file());
    let zarray = json_file(&store.join("S2/.zarray"));
    assert_eq!(zarray["fill_value"], Value::Null);
    assert_eq!(zarray["dtype"], json!("<i2"));
}

#[test]
fn selection_reads_only_what_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let src = build_dataset(dir.path(), 6, 8);
    let store = dir.path().join("out.zarr");
    convert(&src, &store, &[]);
    let reader = formats::open(&store).unwrap();
    assert_eq!(reader.format(), Format::Zarr);
    let patch = reader
        .read_patch(10002, &[Layer::S2, Layer::Target])
        .unwrap();
    assert_eq!(
        patch.arrays.keys().copied().collect::<Vec<_>>(),
        [Layer::S2]
    );
    assert_eq!(patch.arrays[&Layer::S2].shape(), &[5, 10, 8, 8]);
    let specs = reader.specs(10001).unwrap();
    assert!(!specs.contains_key(&Layer::S1D));
    assert_eq!(specs[&Layer::S1A].shape, vec![3, 3, 8, 8]);
    let back = dir.path().join("fold1");
    convert(
        &store,
        &back,
        &["--to", "pastis", "--folds", "1", "--modalities", "S2"],
    );
    let names = file_names(&back);
    assert!(names.iter().any(|f| f == "DATA_S2/S2_10000.npy"));
    assert!(!names.iter().any(|f| f.starts_with("DATA_S1A")));
}

#[test]
fn existing_output_and_bad_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = build_dataset(dir.path(), 2, 4);
    let store = dir.path().join("out.zarr");
    convert(&src, &store, &[]);
    bin()
        .arg("convert")
        .arg(&src)
        .arg(&store)
        .assert()
        .failure();
    let other = dir.path().join("lzf.zarr");
    bin()
        .args(["convert", "--compression", "lzf"])
        .arg(&src)
        .arg(&other)
        .assert()
        .failure()
        .stderr(predicates::str::contains("lzf"));
    assert!(!other.exists());
}

#[test]
fn damaged_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let src = build_dataset(dir.path(), 2, 4);
    let store = dir.path().join("out.zarr");
    convert(&src, &store, &[]);
    std::fs::remove_file(store.join("S2_length/zarr.json")).unwrap();
    let err = formats::open(&store).err().unwrap().to_string();
    assert!(
        err.contains("out.zarr") && err.contains("S2_length"),
        "{err}"
    );
    std::fs::remove_dir_all(store.join("feature")).unwrap();
    let err = formats::open(&store).err().unwrap().to_string();
    assert!(err.contains("feature"), "{err}");
}

#[test]
fn zarr_python_and_xarray_read_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let src = build_dataset(dir.path(), 5, 8);
    for version in ["3", "2"] {
        let store = dir.path().join(format!("v{version}.zarr"));
        convert(&src, &store, &["--zarr-version", version]);
        let out = run_python("check_zarr.py", &[&src, &store]);
        assert!(out.contains("ok"), "{out}");
    }
    let fixture = common::fixture("PASTIS-R");
    let store = dir.path().join("fixture.zarr");
    convert(&fixture, &store, &[]);
    let out = run_python("check_zarr.py", &[&fixture, &store]);
    assert!(out.contains("ok"), "{out}");
}

/// Issue #17: the default codec is Blosc zstd level 1 + bit shuffle, recorded as such in both
/// versions, and GDAL's Zarr driver (GDAL 3.6's bundled c-blosc) decodes it: one S2 date-band
/// read by `gdalmdimtranslate` equals the `.npy` values.
#[test]
fn the_default_blosc_codec_is_recorded_and_gdal_decodes_it() {
    let fixture = common::fixture("PASTIS-R");
    let dir = tempfile::tempdir().unwrap();
    let (v3, v2) = (dir.path().join("v3.zarr"), dir.path().join("v2.zarr"));
    convert(&fixture, &v3, &[]);
    convert(&fixture, &v2, &["--zarr-version", "2"]);
    let sharding = &json_file(&v3.join("S2/zarr.json"))["codecs"][0]["configuration"];
    let blosc = &sharding["codecs"][1];
    assert_eq!(blosc["name"], "blosc", "{sharding}");
    let want = json!({"cname": "zstd", "clevel": 1, "shuffle": "bitshuffle", "typesize": 2,
        "blocksize": 262144});
    assert_eq!(blosc["configuration"], want);
    let compressor = &json_file(&v2.join("S1A/.zarray"))["compressor"];
    let want = json!({"id": "blosc", "cname": "zstd", "clevel": 1, "shuffle": 2,
        "blocksize": 262144});
    assert_eq!(*compressor, want);
    let tif = dir.path().join("s2.tif");
    let out = std::process::Command::new("gdalmdimtranslate")
        .arg(&v2)
        .arg(&tif)
        .args(["-array", "name=S2,view=[1,2,3,:,:]", "-q"])
        .output()
        .expect("gdalmdimtranslate (GDAL 3.6, Debian gdal-bin) is needed by this test");
    assert!(out.status.success(), "{out:?}");
    let dataset = gdal::Dataset::open(&tif).unwrap();
    let band = dataset.rasterband(1).unwrap();
    let (w, h) = band.size();
    let read = band.read_as::<i16>((0, 0), (w, h), (w, h), None).unwrap();
    let patches = formats::open(&fixture).unwrap();
    let id = patches.metadata().patches[1].id;
    let s2 = pastis_bridge::npy::read_npy(&fixture.join(format!("DATA_S2/S2_{id}.npy"))).unwrap();
    let Array::I16(s2) = s2 else {
        panic!("S2 is int16")
    };
    let plane: Vec<i16> = s2
        .slice(ndarray::s![2, 3, .., ..])
        .iter()
        .copied()
        .collect();
    assert_eq!(read.data(), plane.as_slice());
}

/// Issue #17: `--compression blosc-lz4:LEVEL:bit` (the fast preset) is recorded with its level,
/// shuffle and block in both versions, and zarr-python and xarray decode it to the `.npy` values.
#[test]
fn blosc_lz4_with_a_level_and_bit_shuffle_is_recorded_and_zarr_python_reads_it() {
    let fixture = common::fixture("PASTIS-R");
    let dir = tempfile::tempdir().unwrap();
    let (v3, v2) = (dir.path().join("v3.zarr"), dir.path().join("v2.zarr"));
    let lz4 = ["--compression", "blosc-lz4:9:bit"];
    convert(&fixture, &v3, &lz4);
    convert(
        &fixture,
        &v2,
        &[&lz4[..], &["--zarr-version", "2"]].concat(),
    );
    let sharding = &json_file(&v3.join("S1A/zarr.json"))["codecs"][0]["configuration"];
    let want = json!({"cname": "lz4", "clevel": 9, "shuffle": "bitshuffle", "typesize": 2,
        "blocksize": 262144});
    assert_eq!(sharding["codecs"][1]["configuration"], want, "{sharding}");
    let compressor = &json_file(&v2.join("S2/.zarray"))["compressor"];
    let want = json!({"id": "blosc", "cname": "lz4", "clevel": 9, "shuffle": 2,
        "blocksize": 262144});
    assert_eq!(*compressor, want);
    for store in [&v3, &v2] {
        let out = run_python("check_zarr.py", &[&fixture, store]);
        assert!(out.contains("ok"), "{out}");
    }
}

/// Issue #15: every array of a v2 store opens in GDAL's Zarr driver (`gdalmdiminfo`, GDAL 3.6)
/// with no error line, text columns included (fixed-length `<U`, not `|O`), and their values are
/// the text written; here with a TARGET stored as int16 in one patch (`TARGET_dtype`), which
/// check_zarr.py reads back through zarr-python and xarray.
#[test]
fn every_array_of_a_v2_store_opens_in_gdal() {
    let (dir, src) = common::copy_fixture("PASTIS-R");
    let target = src.join("ANNOTATIONS/TARGET_20000.npy");
    let wide = pastis_bridge::model::cast::widen(
        &pastis_bridge::npy::read_npy(&target).unwrap(),
        pastis_bridge::model::DType::I16,
    )
    .unwrap();
    pastis_bridge::npy::write_npy(&target, &wide).unwrap();
    let store = dir.path().join("v2.zarr");
    convert(&src, &store, &["--to", "zarr", "--zarr-version", "2"]);
    let out = std::process::Command::new("gdalmdiminfo")
        .arg(&store)
        .output()
        .expect("gdalmdiminfo (GDAL 3.6, Debian gdal-bin) is needed by this test");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "gdalmdiminfo: {stderr}"
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let arrays = info["arrays"].as_object().unwrap();
    let stored: Vec<String> = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join(".zarray").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(stored.len() > 20 && stored.contains(&"TARGET_dtype".to_string()));
    for name in &stored {
        assert!(arrays.contains_key(name), "GDAL does not list {name}");
    }
    for name in ["TILE", "feature", "TARGET_dtype"] {
        assert_eq!(arrays[name]["datatype"], "String", "{name}");
    }
    let out = std::process::Command::new("gdalmdiminfo")
        .args(["-detailed", "-array", "TILE"])
        .arg(&store)
        .output()
        .unwrap();
    let tile: Value = serde_json::from_slice(&out.stdout).unwrap();
    let meta = formats::open(&src).unwrap();
    let tiles: Vec<Value> = meta
        .metadata()
        .patches
        .iter()
        .map(|p| json!(p.tile.clone().unwrap_or_default()))
        .collect();
    assert_eq!(tile["values"], Value::Array(tiles));
    let out = run_python("check_zarr.py", &[&src, &store]);
    assert!(out.contains("ok"), "{out}");
}
