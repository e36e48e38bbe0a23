//! Every export of the fixture opened as an analyst would: in real QGIS 3.22 (headless PyQGIS,
//! `tests/qgis/check_exports.py`, system python3) and with the GDAL 3.6 command-line tools, which
//! must print no error or warning. QGIS missing is a failure, not a skip: run
//! `bash scripts/setup.sh`. The map rendered by QGIS is kept as
//! `target/tmp/qgis/target-mosaic-parcels.png`.

#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::{bin, fixture};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python QGIS ships for: Debian's python3-qgis works only with the system interpreter.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// A command of the system Python with PyQGIS, headless; panics when QGIS is not installed.
fn pyqgis() -> Command {
    let probe = Command::new(SYSTEM_PYTHON)
        .args(["-c", "import qgis.core"])
        .output();
    let ok = probe.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "QGIS with python3-qgis is required for these tests (run `bash scripts/setup.sh`): {probe:?}"
    );
    let mut cmd = Command::new(SYSTEM_PYTHON);
    cmd.env("QT_QPA_PLATFORM", "offscreen");
    cmd
}

/// Runs the binary with `args`; it must succeed without a word on stderr.
fn run(args: &[&std::ffi::OsStr]) {
    let out = bin().args(args).arg("--quiet").assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.trim().is_empty(),
        "{args:?} wrote to stderr: {stderr}"
    );
}

/// Runs a GDAL tool; it must succeed and print no error or warning line.
fn gdal_tool(tool: &str, args: &[&str], path: &Path) -> String {
    let out = Command::new(tool)
        .args(args)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (gdal-bin) must be installed: {e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{tool} {}: {stderr}", path.display());
    let noisy = |l: &&str| {
        let l = l.trim_start();
        l.starts_with("ERROR") || l.starts_with("Warning")
    };
    let bad: Vec<&str> = stderr.lines().chain(stdout.lines()).filter(noisy).collect();
    assert!(
        bad.is_empty(),
        "{tool} {}:\n{}",
        path.display(),
        bad.join("\n")
    );
    stdout
}

/// Every file under `root` with extension `ext`.
fn files_with(root: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = common::files(root)
        .into_keys()
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| root.join(p))
        .collect();
    found.sort();
    found
}

#[test]
fn fixture_exports_open_right_in_qgis_and_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("PASTIS-R");
    let tiffs = dir.path().join("tiffs");
    run(&[
        "convert".as_ref(),
        src.as_os_str(),
        tiffs.as_os_str(),
        "--to".as_ref(),
        "geotiff".as_ref(),
    ]);
    let vectors: Vec<PathBuf> = ["geojson", "gpkg", "fgb"]
        .iter()
        .map(|ext| dir.path().join(format!("parcels.{ext}")))
        .collect();
    for v in &vectors {
        run(&["parcels".as_ref(), src.as_os_str(), v.as_os_str()]);
    }

    // GDAL 3.6: every raster and vector opens without an error or warning line.
    let (tifs, vrts) = (files_with(&tiffs, "tif"), files_with(&tiffs, "vrt"));
    assert_eq!(tifs.len(), 4 * 9, "{tifs:?}"); // 8 layers + the class raster, 4 patches
    assert_eq!(vrts.len(), 4 * 9, "{vrts:?}");
    for raster in tifs.iter().chain(&vrts) {
        gdal_tool("gdalinfo", &["-checksum"], raster);
    }
    for v in &vectors {
        let info = gdal_tool("ogrinfo", &["-al", "-so"], v);
        assert!(info.contains("Feature Count"), "{info}");
    }

    // QGIS 3.22: what an analyst sees.
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("qgis");
    std::fs::create_dir_all(&artifacts).unwrap();
    let png = artifacts.join("target-mosaic-parcels.png");
    let _ = std::fs::remove_file(&png);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/qgis/check_exports.py");
    let mut cmd = pyqgis();
    cmd.arg(&script)
        .arg("--pastis")
        .arg(&src)
        .arg("--tiffs")
        .arg(&tiffs)
        .arg("--png")
        .arg(&png);
    for v in &vectors {
        cmd.arg("--vector").arg(v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "QGIS checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(counts["rasters"], 72, "{counts}");
    assert!(counts["samples"].as_u64().unwrap() > 2000, "{counts}");
    assert!(counts["features"].as_u64().unwrap() > 0, "{counts}");
    assert!(
        std::fs::metadata(&png).unwrap().len() > 1000,
        "{}",
        png.display()
    );
}

/// The arrays of a Zarr v2 store: its folders holding a `.zarray`.
fn zarr_v2_arrays(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join(".zarray").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn zarr_stores_open_in_gdal_without_errors_and_text_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("PASTIS-R");
    let (v2, v3) = (dir.path().join("v2.zarr"), dir.path().join("v3.zarr"));
    run(&[
        "convert".as_ref(),
        src.as_os_str(),
        v2.as_os_str(),
        "--zarr-version".as_ref(),
        "2".as_ref(),
    ]);
    run(&["convert".as_ref(), src.as_os_str(), v3.as_os_str()]);
    // GDAL 3.6 reads every array of v2 (the text arrays were `|O`, which it refused loudly).
    let info: serde_json::Value =
        serde_json::from_str(&gdal_tool("gdalmdiminfo", &[], &v2)).unwrap();
    let arrays = info["arrays"].as_object().unwrap();
    let mut listed: Vec<String> = arrays.keys().cloned().collect();
    listed.sort();
    assert_eq!(listed, zarr_v2_arrays(&v2));
    assert_eq!(arrays["TILE"]["datatype"], "String", "{}", arrays["TILE"]);
    assert_eq!(arrays["feature"]["datatype"], "String");
    let tile: serde_json::Value = serde_json::from_str(&gdal_tool(
        "gdalmdiminfo",
        &["-detailed", "-array", "TILE"],
        &v2,
    ))
    .unwrap();
    assert_eq!(
        tile["values"],
        serde_json::json!(["t30uxv", "t31tfj", "t31tfm", "t32ulu"])
    );
    // GDAL 3.6 does not read Zarr v3 (an empty group), but says nothing wrong either.
    gdal_tool("gdalmdiminfo", &[], &v3);
    // zarr-python and xarray still read the text as text.
    let script = "import sys, zarr, xarray as xr\n\
        g = zarr.open_group(sys.argv[1], mode='r')\n\
        assert g['TILE'].dtype.kind == 'U', g['TILE'].dtype\n\
        assert all(isinstance(v, str) for v in g['TILE'][:].tolist())\n\
        assert g['feature'][:].tolist()[0].startswith('{'), g['feature'][0]\n\
        ds = xr.open_zarr(sys.argv[1], consolidated=False)\n\
        assert ds['TILE'].values.tolist() == ['t30uxv', 't31tfj', 't31tfm', 't32ulu'], ds['TILE']\n\
        assert all(isinstance(v, str) for v in ds['feature'].values.tolist())\n\
        print('ok')";
    let out = common::python()
        .args(["-c", script])
        .arg(&v2)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn empty_parcel_exports_are_valid_files_and_rasterize_to_background() {
    // The fixture with patch 10000 holding no instance at all.
    let (dir, src) = common::copy_fixture("PASTIS-R");
    let instances = src.join("INSTANCE_ANNOTATIONS/INSTANCES_10000.npy");
    let zero = "import sys, numpy as np\n\
        a = np.load(sys.argv[1]); np.save(sys.argv[1], np.zeros_like(a))";
    let status = common::python()
        .args(["-c", zero])
        .arg(&instances)
        .status()
        .unwrap();
    assert!(status.success());
    let empty: Vec<(PathBuf, &[&str])> = vec![
        (dir.path().join("wgs84.geojson"), &[]),
        (dir.path().join("native.geojson"), &["--crs", "native"]),
        (dir.path().join("parcels.gpkg"), &[]),
        (dir.path().join("parcels.fgb"), &[]),
    ];
    for (path, extra) in &empty {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "parcels".as_ref(),
            src.as_os_str(),
            path.as_os_str(),
            "--patches".as_ref(),
            "10000".as_ref(),
        ];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        run(&args);
        // GDAL opens it with no error line; GPKG and FlatGeobuf declare the fields.
        let info = gdal_tool("ogrinfo", &["-al", "-so"], path);
        assert!(info.contains("Feature Count: 0"), "{info}");
        let fields = ["ID_PATCH", "instance_id", "class_name", "area_m2", "TILE"];
        if path.extension().is_none_or(|e| e != "geojson") {
            for f in fields {
                assert!(
                    info.contains(&format!("{f}: ")),
                    "{}: no {f}\n{info}",
                    path.display()
                );
            }
        }
        // rasterize of the empty file: all background.
        let back = dir.path().join(format!(
            "back-{}",
            path.file_name().unwrap().to_string_lossy()
        ));
        run(&[
            "rasterize".as_ref(),
            path.as_os_str(),
            back.as_os_str(),
            "--grid".as_ref(),
            src.as_os_str(),
            "--patches".as_ref(),
            "10000".as_ref(),
        ]);
        let check = "import sys, numpy as np\n\
            i = np.load(sys.argv[1] + '/INSTANCE_ANNOTATIONS/INSTANCES_10000.npy')\n\
            t = np.load(sys.argv[1] + '/ANNOTATIONS/TARGET_10000.npy')\n\
            assert i.shape == (64, 64) and not i.any(), i.max()\n\
            assert t.shape[-2:] == (64, 64) and not t.any(), t.max()";
        let out = common::python()
            .args(["-c", check])
            .arg(&back)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            back.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // pyogrio (the venv's) reads each with its CRS, and the fields where the format has a schema.
    let script = r#"
import sys, pyogrio
for path, crs in zip(sys.argv[1::2], sys.argv[2::2]):
    info = pyogrio.read_info(path, force_feature_count=True)
    assert info['features'] == 0, (path, info)
    assert info['crs'] == crs, (path, info['crs'], crs)
    if not path.endswith('.geojson'):
        assert 'instance_id' in list(info['fields']), (path, info['fields'])
"#;
    let crs = ["EPSG:4326", "EPSG:32630", "EPSG:32630", "EPSG:4326"];
    let mut cmd = common::python();
    cmd.args(["-c", script]);
    for ((path, _), crs) in empty.iter().zip(crs) {
        cmd.arg(path).arg(crs);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "pyogrio: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // QGIS opens every empty layer with its fields and CRS.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/qgis/check_exports.py");
    let tiffs = dir.path().join("tiffs");
    run(&[
        "convert".as_ref(),
        src.as_os_str(),
        tiffs.as_os_str(),
        "--to".as_ref(),
        "geotiff".as_ref(),
        "--patches".as_ref(),
        "10000".as_ref(),
    ]);
    let mut cmd = pyqgis();
    cmd.arg(&script)
        .arg("--pastis")
        .arg(&src)
        .arg("--tiffs")
        .arg(&tiffs);
    for (path, _) in &empty {
        cmd.arg("--empty-vector").arg(path);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "QGIS checks failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
