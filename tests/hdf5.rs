//! HDF5: PASTIS folder -> one .h5 file -> PASTIS folder, byte for byte; h5py reads the file.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::cli::convert_ok;
use common::{bin, fixture, run_python};
use pastis_bridge::convert::{convert, ConvertOptions};
use pastis_bridge::formats::{self, Compression, Format};
use pastis_bridge::model::{
    Array, DType, DatasetMeta, Layer, Patch, PatchMeta, Series, LAMBERT93_URN,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SIZE: usize = 8;

/// Deterministic pseudo-random values of any dtype (floats stay finite and readable).
fn values(dtype: DType, shape: &[usize], seed: u64) -> Array {
    let n: usize = shape.iter().product();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    let floats: Vec<f64> = (0..n)
        .map(|_| (next() % 20001) as f64 / 8.0 - 1250.0)
        .collect();
    match dtype {
        DType::F16 => Array::from_ndarray(
            ndarray::ArrayD::from_shape_vec(
                ndarray::IxDyn(shape),
                floats
                    .iter()
                    .map(|&v| half::f16::from_f64(v / 64.0))
                    .collect(),
            )
            .unwrap(),
        ),
        DType::F64 => Array::from_ndarray(
            ndarray::ArrayD::from_shape_vec(
                ndarray::IxDyn(shape),
                floats.iter().map(|v| v / 1250.0).collect(),
            )
            .unwrap(),
        ),
        _ => {
            let bytes: Vec<u8> = (0..n * dtype.size()).map(|_| next() as u8).collect();
            Array::from_le_bytes(dtype, shape, &bytes).unwrap()
        }
    }
}

/// Patch `id` with `s2`/`s1a` dates (None = lacks the series) and all annotations but
/// those in `lacking`.
fn patch(id: i64, s2: usize, s1a: Option<usize>, lacking: &[Layer]) -> Patch {
    let mut meta = PatchMeta::new(id);
    meta.feature_id = Some(json!(id.to_string()));
    meta.fold = Some(id % 5 + 1);
    meta.tile = Some(if id % 2 == 0 { "t30uxv" } else { "t31tfj" }.into());
    meta.n_parcel = Some(id * 3);
    meta.parcel_cover = Some(0.25 + id as f64 / 1000.0);
    meta.extra.insert("note".into(), json!({"k": [1, 2]}));
    meta.footprint = Some(
        serde_json::from_value(json!({"type": "MultiPolygon", "coordinates":
            [[[[700000.0 + id as f64, 6600000.0], [700080.0, 6600000.0], [700080.0, 6600080.0],
               [700000.0 + id as f64, 6600000.0]]]]}))
        .unwrap(),
    );
    let dates = |n: usize, start: u32| (0..n as u32).map(|i| start + i).collect::<Vec<_>>();
    let mut arrays = BTreeMap::new();
    meta.dates.insert(Layer::S2, dates(s2, 20180901));
    arrays.insert(
        Layer::S2,
        values(DType::I16, &[s2, 10, SIZE, SIZE], id as u64),
    );
    if let Some(t) = s1a {
        meta.dates.insert(Layer::S1A, dates(t, 20181001));
        arrays.insert(
            Layer::S1A,
            values(DType::F16, &[t, 3, SIZE, SIZE], id as u64 + 1),
        );
    }
    let annotations = [
        (Layer::Target, DType::U8, vec![3, SIZE, SIZE]),
        (Layer::ParcelIds, DType::I32, vec![SIZE, SIZE]),
        (Layer::Heatmap, DType::F64, vec![SIZE, SIZE]),
        (Layer::Instances, DType::I64, vec![SIZE, SIZE]),
        (Layer::Zones, DType::I64, vec![SIZE, SIZE]),
    ];
    for (layer, dtype, shape) in annotations {
        if !lacking.contains(&layer) {
            arrays.insert(layer, values(dtype, &shape, id as u64 * 7 + layer as u64));
        }
    }
    Patch {
        meta,
        arrays,
        spot: None,
    }
}

/// A small PASTIS-R folder: ragged S2, one patch without S1A, one without HEATMAP.
fn small_dataset(dir: &Path) -> PathBuf {
    let patches = [
        patch(10, 3, Some(4), &[]),
        patch(20, 5, None, &[Layer::Heatmap]),
        patch(30, 2, Some(2), &[]),
    ];
    let mut meta = DatasetMeta {
        patches: patches.iter().map(|p| p.meta.clone()).collect(),
        crs: Some(LAMBERT93_URN.into()),
        ..Default::default()
    };
    meta.collection_extra
        .insert("name".into(), json!("metadata"));
    meta.norms.insert(
        Series::S2,
        json!({"Fold_1": {"mean": [1.5, 2.0], "std": [0.25, 0.5]}}),
    );
    meta.norms.insert(
        Series::S1A,
        json!({"Fold_1": {"mean": [-10.0], "std": [3.0]}}),
    );
    let root = dir.join("PASTIS-R");
    common::write_pastis(&root, &meta, &patches);
    root
}

/// Asserts two PASTIS folders hold the same files with the same bytes.
fn assert_same_folder(a: &Path, b: &Path) {
    let (ta, tb) = (common::files(a), common::files(b));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (name, bytes) in &ta {
        assert!(&tb[name] == bytes, "{} differs", name.display());
    }
}

#[test]
fn pastis_to_hdf5_and_back_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let h5 = dir.path().join("out.h5");
    let back = dir.path().join("back");
    convert_ok(&src, &h5, &[]);
    assert!(h5.is_file() && !dir.path().join("out.h5.partial").exists());
    convert_ok(&h5, &back, &["--to", "pastis"]);
    assert_same_folder(&src, &back);
}

#[test]
fn h5py_reads_every_dataset_like_numpy_reads_the_npy_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let h5 = dir.path().join("out.h5");
    convert_ok(&src, &h5, &[]);
    let out = run_python("check_hdf5.py", &[&src, &h5]);
    assert!(out.contains("ok: 3 patches"), "{out}");
}

#[test]
fn every_compression_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let source = formats::open(&src).unwrap();
    for (i, compression) in [
        Compression::None,
        Compression::Lzf,
        Compression::Zstd(5),
        Compression::Gzip(9),
    ]
    .into_iter()
    .enumerate()
    {
        let h5 = dir.path().join(format!("out{i}.h5"));
        let mut options = ConvertOptions::new(Format::Hdf5);
        options.write.compression = Some(compression);
        convert(&src, &h5, &options, &|_| {}).unwrap();
        let read = formats::open(&h5).unwrap();
        assert_eq!(read.format(), Format::Hdf5);
        assert_eq!(read.metadata(), source.metadata(), "{compression:?}");
        for id in [10, 20, 30] {
            assert_eq!(
                read.read_patch(id, &Layer::ALL).unwrap(),
                source.read_patch(id, &Layer::ALL).unwrap(),
                "patch {id} with {compression:?}"
            );
        }
    }
}

#[test]
fn reader_gives_only_what_a_patch_has_and_what_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let h5 = dir.path().join("out.h5");
    convert(&src, &h5, &ConvertOptions::new(Format::Hdf5), &|_| {}).unwrap();
    let read = formats::open(&h5).unwrap();
    let specs = read.specs(20).unwrap();
    assert!(!specs.contains_key(&Layer::S1A) && !specs.contains_key(&Layer::Heatmap));
    assert_eq!(specs[&Layer::S2].shape, vec![5, 10, SIZE, SIZE]);
    assert_eq!(
        read.specs(30).unwrap()[&Layer::S1A].shape,
        vec![2, 3, SIZE, SIZE]
    );
    let p = read.read_patch(20, &[Layer::S1A, Layer::Target]).unwrap();
    assert_eq!(
        p.arrays.keys().copied().collect::<Vec<_>>(),
        vec![Layer::Target]
    );
    let err = read.read_patch(99, &[Layer::S2]).unwrap_err().to_string();
    assert!(err.starts_with("patch 99: not in"), "{err}");
}

#[test]
fn a_selection_of_patches_and_layers_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let h5 = dir.path().join("sub.h5");
    convert_ok(&src, &h5, &["--modalities", "S1A,TARGET"]);
    let read = formats::open(&h5).unwrap();
    let p = read.read_patch(10, &Layer::ALL).unwrap();
    assert_eq!(
        p.arrays.keys().copied().collect::<Vec<_>>(),
        vec![Layer::S1A, Layer::Target]
    );
}

#[test]
fn unsupported_compression_and_existing_output_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let h5 = dir.path().join("out.h5");
    bin()
        .arg("convert")
        .arg(&src)
        .arg(&h5)
        .args(["--compression", "blosc-lz4", "--quiet"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("blosc-lz4 is not built in"));
    assert!(!h5.exists() && !dir.path().join("out.h5.partial").exists());
    std::fs::write(&h5, b"x").unwrap();
    bin()
        .arg("convert")
        .arg(&src)
        .arg(&h5)
        .arg("--quiet")
        .assert()
        .failure()
        .stderr(predicates::str::contains("already exists"));
}

#[test]
fn a_foreign_hdf5_file_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let h5 = dir.path().join("out.h5");
    convert(&src, &h5, &ConvertOptions::new(Format::Hdf5), &|_| {}).unwrap();
    // A file with the HDF5 signature but not our layout.
    let foreign = dir.path().join("foreign.h5");
    run_python("check_hdf5.py", &[Path::new("--write-foreign"), &foreign]);
    let err = formats::open(&foreign).err().unwrap().to_string();
    assert!(
        err.contains("foreign.h5") && err.contains("not a pastis-bridge HDF5 file"),
        "{err}"
    );
}

#[test]
fn committed_fixture_round_trips_and_h5py_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("PASTIS-R");
    let h5 = dir.path().join("pastis-r.h5");
    let back = dir.path().join("back");
    convert_ok(&src, &h5, &[]);
    bin().arg("verify").arg(&src).arg(&h5).assert().success();
    convert_ok(&h5, &back, &["--to", "pastis"]);
    let (a, b) = (common::files(&src), common::files(&back));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        if name.extension().is_some_and(|e| e == "npy") {
            assert!(&b[name] == bytes, "{} differs", name.display());
        } else {
            let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap();
            assert_eq!(json(&b[name]), json(bytes), "{}", name.display());
        }
    }
    let out = run_python("check_hdf5.py", &[&src, &h5]);
    assert!(out.contains("ok: 4 patches"), "{out}");
}

/// Runs a command-line tool of GDAL or netCDF; fails loudly if it is missing, exits non-zero or
/// prints an ERROR or Warning line. Returns its standard output.
fn tool(name: &str, args: &[&std::ffi::OsStr]) -> String {
    let out = std::process::Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} cannot run ({e}): run `bash scripts/setup.sh`"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{name} {args:?} failed:\n{stderr}");
    let noisy: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| l.starts_with("ERROR") || l.starts_with("Warning"))
        .collect();
    assert!(noisy.is_empty(), "{name} {args:?}:\n{}", noisy.join("\n"));
    stdout
}

#[test]
fn committed_fixture_is_a_netcdf4_file_for_xarray_ncdump_and_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("PASTIS-R");
    let h5 = dir.path().join("pastis-r.h5");
    convert_ok(&src, &h5, &[]);
    // xarray, engines h5netcdf and netcdf4: every data variable equals the .npy values.
    let out = run_python("check_netcdf.py", &[&src, &h5]);
    assert!(out.contains("ok: 4 patches"), "{out}");
    // netCDF-C's ncdump: the documented dimensions and every variable with its dimensions
    // (`-s`: with the special attributes, `_NCProperties` among them).
    let header = tool("ncdump", &["-hs".as_ref(), h5.as_os_str()]);
    for line in [
        "patch = 4 ;",
        "S2_time = 9 ;",
        "S2_band = 10 ;",
        "TARGET_channel = 3 ;",
        "short S2(patch, S2_time, S2_band, y, x) ;",
        "float S1A(patch, S1A_time, S1A_band, y, x) ;",
        "ubyte TARGET(patch, TARGET_channel, y, x) ;",
        "int ParcelIDs(patch, y, x) ;",
        "double HEATMAP(patch, y, x) ;",
        "int64 INSTANCES(patch, y, x) ;",
        "int64 ZONES(patch, y, x) ;",
        "int64 patch(patch) ;",
        "string S2_band(S2_band) ;",
        "int S2_dates(patch, S2_time) ;",
        "string TILE(patch) ;",
        "string S1A_dtype(patch) ;",
        "double grid_transform(patch, geotransform) ;",
        ":_NCProperties = \"version=2,pastis-bridge=",
    ] {
        assert!(
            header.contains(line),
            "ncdump -hs lacks {line:?}:\n{header}"
        );
    }
    // GDAL's netCDF driver, multidimensional and raster, with no ERROR or Warning line.
    let netcdf = format!("NETCDF:{}", h5.display());
    let info: serde_json::Value =
        serde_json::from_str(&tool("gdalmdiminfo", &[netcdf.as_ref()])).unwrap();
    assert_eq!(info["driver"], "netCDF", "{info}");
    let arrays = info["arrays"].as_object().unwrap();
    for name in [
        "S2",
        "S1A",
        "S1D",
        "TARGET",
        "ParcelIDs",
        "HEATMAP",
        "INSTANCES",
        "ZONES",
    ] {
        assert!(
            arrays.contains_key(name),
            "gdalmdiminfo lacks {name}: {info}"
        );
    }
    assert_eq!(
        arrays["S2"]["dimensions"],
        json!(["/patch", "/S2_time", "/S2_band", "/y", "/x"])
    );
    for layer in ["S2", "S1A", "TARGET", "HEATMAP"] {
        let raster = format!("NETCDF:{}:{layer}", h5.display());
        let info = tool("gdalinfo", &[raster.as_ref()]);
        assert!(info.contains("Size is 64, 64"), "{layer}: {info}");
    }
}

#[test]
fn every_awkward_dataset_hdf5_carries_is_a_netcdf4_file() {
    // T = 0 everywhere, every dtype (bool is an HDF5 enum, float16 is stored as float32),
    // mixed dtypes, missing layers, Point footprints: xarray's two engines read each.
    let dir = tempfile::tempdir().unwrap();
    let mut pairs: Vec<PathBuf> = vec![];
    for (i, case) in common::awkward::cases().iter().enumerate() {
        if case.is_refused_by("hdf5") {
            continue;
        }
        let src = dir.path().join(format!("case{i}"));
        case.write(&src);
        let h5 = dir.path().join(format!("case{i}.h5"));
        convert(&src, &h5, &ConvertOptions::new(Format::Hdf5), &|_| {})
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        pairs.extend([src, h5]);
    }
    let args: Vec<&Path> = pairs.iter().map(PathBuf::as_path).collect();
    let out = run_python("check_netcdf.py", &args);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok: ")).count(),
        pairs.len() / 2,
        "{out}"
    );
}

#[test]
fn float16_is_stored_as_float32_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let src = small_dataset(dir.path());
    let source = formats::open(&src).unwrap();
    // h5py: the stored dtype of S1A and its `S1A_dtype` column, or "none".
    let stored = |h5: &Path| {
        let script = "import sys, h5py\n\
            f = h5py.File(sys.argv[1], 'r')\n\
            own = [t.decode() for t in f['S1A_dtype'][:]] if 'S1A_dtype' in f else 'none'\n\
            print(f['S1A'].dtype, own)";
        let out = common::python()
            .args(["-c", script])
            .arg(h5)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    for (co, expected) in [
        (None, "float32 ['<f2', '', '<f2']"),
        (Some("FLOAT16=float32"), "float32 ['<f2', '', '<f2']"),
        (Some("FLOAT16=KEEP"), "float16 none"),
    ] {
        let h5 = dir.path().join(format!("{}.h5", co.unwrap_or("default")));
        let mut cmd = bin();
        cmd.arg("convert").arg(&src).arg(&h5).arg("--quiet");
        if let Some(co) = co {
            cmd.args(["--co", co]);
        }
        cmd.assert().success();
        assert_eq!(stored(&h5), expected, "{co:?}");
        let read = formats::open(&h5).unwrap();
        for id in [10, 20, 30] {
            assert_eq!(
                read.read_patch(id, &Layer::ALL).unwrap(),
                source.read_patch(id, &Layer::ALL).unwrap(),
                "patch {id} with {co:?}"
            );
        }
    }
    bin()
        .arg("convert")
        .arg(&src)
        .arg(dir.path().join("bad.h5"))
        .args(["--co", "FLOAT16=half", "--quiet"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "FLOAT16=half: expected FLOAT32 or KEEP",
        ));
}

/// A `.nc` name selects HDF5 (the file is netCDF-4): netCDF-C calls it netCDF-4, `inspect`
/// recognises it, and it reads back identical to the source.
#[test]
fn a_dot_nc_output_is_the_netcdf4_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("PASTIS-R");
    let nc = dir.path().join("pastis-r.nc");
    convert_ok(&src, &nc, &[]);
    let kind = tool("ncdump", &["-k".as_ref(), nc.as_os_str()]);
    assert_eq!(kind.trim(), "netCDF-4", "{kind}");
    bin().arg("inspect").arg(&nc).assert().success();
    bin().arg("verify").arg(&src).arg(&nc).assert().success();
}
