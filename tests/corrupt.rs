//! Every case of `fixtures/corrupt/` (see its README): a clear error naming the file or patch and
//! the problem, the documented exit code, no panic, and no output left by a failed `convert`.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::cli::{convert, convert_ok, convert_refused, run};
use common::{bin, copy_dir, fixture};
use pastis_bridge::model::{Array, Layer};
use pastis_bridge::npy::read_npy;
use std::path::Path;

/// `convert CASE DST --to pastis` must fail with exit 2, say `needles`, and leave nothing.
fn convert_fails(case: &str, needles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture(&format!("corrupt/{case}"));
    convert_refused(
        &src,
        &tmp.path().join("out"),
        &["--to", "pastis"],
        2,
        needles,
    );
}

/// `inspect CASE` must exit `code` and say `needles`.
fn inspect_says(case: &str, code: i32, needles: &[&str]) {
    run([Path::new("inspect"), &fixture(&format!("corrupt/{case}"))]).expect(code, needles);
}

#[test]
fn base_is_clean() {
    inspect_says("base", 0, &["no problems found"]);
}

#[test]
fn damaged_npy_files_are_named() {
    let cases: [(&str, &str, &str); 8] = [
        (
            "npy-truncated",
            "S2_20000.npy",
            "truncated: shape [3, 10, 8, 8] of int16 needs 3840 bytes",
        ),
        ("npy-bad-magic", "S2_20000.npy", "not a valid .npy header"),
        (
            "npy-version-9",
            "S2_20000.npy",
            "unknown version number: 9.0",
        ),
        (
            "npy-object-dtype",
            "HEATMAP_20000.npy",
            "unsupported dtype '|O'",
        ),
        (
            "npy-complex-dtype",
            "HEATMAP_20000.npy",
            "unsupported dtype '<c16'",
        ),
        (
            "npy-header-syntax",
            "S2_20000.npy",
            "not a valid .npy header: cannot parse the header dictionary at column 63",
        ),
        (
            "npy-header-longs-v3",
            "S2_20000.npy",
            "Python-2 long integers (3L) are only read in format 1.0 and 2.0 headers",
        ),
        (
            "npy-header-keys",
            "S2_20000.npy",
            "the header has the keys ['descr', 'shape']",
        ),
    ];
    for (case, file, problem) in cases {
        inspect_says(case, 1, &["unreadable", file, problem]);
        convert_fails(case, &[file, problem]);
    }
}

#[test]
fn patch_inconsistencies_are_named() {
    inspect_says(
        "shapes-disagree",
        1,
        &["ZONES_20000.npy", "ZONES is [8, 9] pixels"],
    );
    convert_fails(
        "shapes-disagree",
        &["patch 20000", "ZONES is [8, 9] pixels but S2 is [8, 8]"],
    );
    let dates = "S2 has 3 frames but dates-S2 lists 2 dates";
    inspect_says("metadata-dates-mismatch", 1, &["S2_20000.npy", dates]);
    convert_fails("metadata-dates-mismatch", &["patch 20000", dates]);
}

#[test]
fn bad_metadata_stops_inspect_and_convert() {
    let cases = [
        ("metadata-not-json", "not valid JSON"),
        (
            "metadata-no-id-patch",
            "feature 1: has no ID_PATCH property",
        ),
        (
            "metadata-duplicate-ids",
            "feature 1: ID_PATCH 10000 appears more than once",
        ),
    ];
    for (case, problem) in cases {
        inspect_says(case, 2, &["metadata.geojson", problem]);
        convert_fails(case, &["metadata.geojson", problem]);
    }
}

#[test]
fn damaged_stores_are_named() {
    let cases = [
        (
            "zarr-missing-array.zarr",
            "array S2 is missing, but S2_length",
        ),
        (
            "zarr-wrong-shape.zarr",
            "TARGET has shape [1, 3, 8, 8], expected 2 patches first",
        ),
        (
            "hdf5-missing-dataset.h5",
            "dataset S2 is missing, but S2_length",
        ),
        (
            "hdf5-wrong-shape.h5",
            "TARGET has shape [1, 3, 8, 8], expected 2 patches first",
        ),
    ];
    for (case, problem) in cases {
        inspect_says(case, 2, &[case, problem]);
        convert_fails(case, &[case, problem]);
    }
    let tif = "TARGET/TARGET_20000.tif: missing: the manifest lists it for TARGET of patch 20000";
    inspect_says("geotiff-missing-files", 1, &["unreadable", tif]);
    convert_fails("geotiff-missing-files", &[tif]);
}

/// HEATMAP NaN/inf: `inspect` reports a `values` problem; `convert` keeps the values bit for bit
/// (they are data, and every format stores them), so it succeeds.
#[test]
fn heatmap_nan_is_flagged_and_kept() {
    inspect_says(
        "heatmap-nan",
        1,
        &[
            "values",
            "HEATMAP_20000.npy: HEATMAP holds NaN or infinite values",
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("out");
    let src = fixture("corrupt/heatmap-nan");
    convert_ok(&src, &dst, &[]);
    let name = "INSTANCE_ANNOTATIONS/HEATMAP_20000.npy";
    let back = read_npy(&dst.join(name)).unwrap();
    assert_eq!(
        back.to_le_bytes(),
        read_npy(&src.join(name)).unwrap().to_le_bytes()
    );
    let Array::F64(h) = back else {
        panic!("HEATMAP is float64")
    };
    assert!(h[[0, 0]].is_nan() && h[[1, 1]] == f64::INFINITY);
}

/// Big-endian and Fortran-ordered files are converted to the base's exact values.
#[test]
fn big_endian_and_fortran_are_converted() {
    let base = fixture("corrupt/base");
    let cases = [
        (
            "npy-big-endian",
            [Layer::S2, Layer::Heatmap, Layer::ParcelIds],
        ),
        ("npy-fortran", [Layer::S2, Layer::Target, Layer::Zones]),
        (
            "npy-numpy-headers",
            [Layer::S2, Layer::Target, Layer::Heatmap],
        ),
    ];
    for (case, layers) in cases {
        let src = fixture(&format!("corrupt/{case}"));
        for layer in layers {
            let rel = Path::new(layer.folder()).join(format!("{}_20000.npy", layer.name()));
            let raw = std::fs::read(src.join(&rel)).unwrap();
            assert_ne!(
                raw,
                std::fs::read(base.join(&rel)).unwrap(),
                "{case} {layer}"
            );
            assert_eq!(
                read_npy(&src.join(&rel)).unwrap(),
                read_npy(&base.join(&rel)).unwrap()
            );
        }
        let tmp = tempfile::tempdir().unwrap();
        let dst = tmp.path().join("out.zarr");
        convert_ok(&src, &dst, &[]);
        run([Path::new("verify"), &base, &dst]).expect(0, &[]);
    }
    // Spot values: S2 of patch 20000 read from each encoding, element by element.
    let rel = "DATA_S2/S2_20000.npy";
    let want = read_npy(&base.join(rel)).unwrap();
    let Array::I16(w) = &want else {
        panic!("S2 is int16")
    };
    for case in ["npy-big-endian", "npy-fortran"] {
        let got = read_npy(&fixture(&format!("corrupt/{case}")).join(rel)).unwrap();
        let Array::I16(g) = &got else {
            panic!("S2 is int16")
        };
        for idx in [[0, 0, 0, 0], [2, 9, 7, 7], [1, 3, 2, 5]] {
            assert_eq!(g[idx], w[idx], "{case} {idx:?}");
        }
    }
}

/// `--keep-going` converts the readable patch, names the bad one and exits 1; without it, exit 2
/// and nothing is left.
#[test]
fn keep_going_converts_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("out");
    let src = fixture("corrupt/npy-truncated");
    convert(&src, &dst, &["--keep-going"]).expect(
        1,
        &[
            "patch 20000 skipped",
            "S2_20000.npy: truncated",
            "1 patches failed: 20000",
        ],
    );
    assert!(dst.join("DATA_S2/S2_10000.npy").is_file());
    assert!(!dst.join("DATA_S2/S2_20000.npy").exists());
    let meta = std::fs::read_to_string(dst.join("metadata.geojson")).unwrap();
    assert!(meta.contains("10000") && !meta.contains("\"ID_PATCH\": 20000"));
    for to in ["zarr", "hdf5", "geotiff"] {
        let dst = tmp.path().join(format!("out-{to}"));
        convert(&src, &dst, &["--to", to, "--keep-going"]).expect(1, &[]);
        assert!(dst.exists(), "{to}");
    }
    convert_fails("npy-truncated", &["S2_20000.npy"]);
}

#[test]
fn invalid_parcel_geometry_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("out");
    let parcels = fixture("corrupt/parcels-self-intersecting.geojson");
    run([
        Path::new("rasterize"),
        &parcels,
        &dst,
        Path::new("--grid"),
        &fixture("corrupt/base"),
    ])
    .expect(
        2,
        &[
            "parcels-self-intersecting.geojson",
            "feature 0",
            "invalid geometry",
            "self-intersection",
        ],
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left {left:?}");
}

/// A 0-d S2 without dates (#16 item 1): `inspect` reports a shape problem (no panic), every
/// conversion refuses it naming the patch, the layer and the rank, and leaves nothing.
#[test]
fn scalar_series_is_refused_not_a_panic() {
    inspect_says(
        "npy-scalar-s2",
        1,
        &["S2_20000.npy", "S2 has shape [], expected (*, 10, *, *)"],
    );
    let refusal = "patch 20000, S2: has 0 axes (shape []), but S2 is 4-d (T, C, H, W)";
    convert_fails("npy-scalar-s2", &[refusal]);
    for to in ["zarr", "hdf5", "geotiff"] {
        let tmp = tempfile::tempdir().unwrap();
        let src = fixture("corrupt/npy-scalar-s2");
        convert_refused(&src, &tmp.path().join("out"), &["--to", to], 2, &[refusal]);
    }
}

/// NORM statistics keyed by TARGET in a Zarr store (#16 item 1): a clear refusal, no panic.
#[test]
fn norms_of_an_annotation_are_refused() {
    let problem = "NORM statistics: TARGET is not a time series";
    inspect_says(
        "zarr-norm-target.zarr",
        2,
        &["zarr-norm-target.zarr", problem],
    );
    convert_fails("zarr-norm-target.zarr", &[problem]);
}

/// A directory where DATA_S1A/S1A_20000.npy should be (#16 item 2): a problem for `inspect`,
/// an error for `convert`, never an absent layer.
#[test]
fn a_directory_is_not_an_absent_layer() {
    let says = "DATA_S1A/S1A_20000.npy: a directory, not a regular file";
    inspect_says("layer-is-directory", 1, &["unreadable", says]);
    convert_fails("layer-is-directory", &[says]);
}

/// A broken symbolic link and a FIFO where a layer's file should be (#16 item 2): errors naming
/// the file, and no hang on the FIFO.
#[test]
fn broken_links_and_fifos_are_not_absent_layers() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, says) in [
        ("broken-link", "a broken symbolic link"),
        ("fifo", "a FIFO (named pipe), not a regular file"),
    ] {
        let src = tmp.path().join(name);
        copy_dir(&fixture("corrupt/base"), &src);
        let file = src.join("DATA_S1A/S1A_20000.npy");
        std::fs::remove_file(&file).unwrap();
        if name == "fifo" {
            let status = std::process::Command::new("mkfifo")
                .arg(&file)
                .status()
                .expect("mkfifo runs");
            assert!(status.success());
        } else {
            std::os::unix::fs::symlink(src.join("nowhere.npy"), &file).unwrap();
        }
        run([Path::new("inspect"), &src]).expect(1, &[says]);
        let dst = tmp.path().join(format!("{name}-out"));
        convert_refused(&src, &dst, &[], 2, &["S1A_20000.npy", says]);
    }
}

/// A panic inside the write loop (a bug) exits 2 and removes DST.partial and the journal.
#[test]
fn a_panic_exits_2_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("out");
    let out = bin()
        .args([Path::new("convert"), &fixture("corrupt/base"), &dst])
        .args(["--to", "pastis", "-q", "-j", "1"])
        .env(pastis_bridge::pipeline::STOP_AFTER_GROUPS, "1:panic")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("internal error"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left {left:?}");
}

/// NORM files with NaN and Infinity as Python's json.dump writes them (#16 item 4): `inspect` is
/// clean, and every format carries them back to the same tokens.
#[test]
fn python_norms_with_nan_go_through_every_format() {
    inspect_says("norm-nan", 0, &["no problems found"]);
    let src = fixture("corrupt/norm-nan");
    let original = std::fs::read_to_string(src.join("NORM_S2_patch.json")).unwrap();
    assert!(original.contains("NaN") && original.contains("-Infinity"));
    let want = pastis_bridge::model::python_json::from_str(&original).unwrap();
    for (to, name) in [
        ("zarr", "x.zarr"),
        ("hdf5", "x.h5"),
        ("geotiff", "x"),
        ("pastis", "x"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join(name);
        let back = tmp.path().join("back");
        convert_ok(&src, &out, &["--to", to]);
        convert_ok(&out, &back, &["--to", "pastis"]);
        let written = std::fs::read_to_string(back.join("NORM_S2_patch.json")).unwrap();
        assert!(
            written.contains("NaN,") && written.contains("-Infinity,"),
            "{to}: {written}"
        );
        let got = pastis_bridge::model::python_json::from_str(&written).unwrap();
        assert_eq!(got, want, "{to}");
    }
}

/// A NORM file that is not JSON (#16 item 4): one problem among the others for `inspect`
/// (which goes on to find the bad ZONES), an error naming the file for `convert`.
#[test]
fn a_bad_norm_file_is_one_problem_among_others() {
    inspect_says(
        "norm-not-json",
        1,
        &[
            "NORM_S1A_patch.json",
            "not valid JSON",
            "ZONES is [8, 9] pixels",
        ],
    );
    convert_fails("norm-not-json", &["NORM_S1A_patch.json", "not valid JSON"]);
}

/// Issue #16 item 5: ZONES uint64 in one patch and int64 in the other: PASTIS carries it, a stacked
/// output refuses it naming both patches (exit 2, nothing left), and `--keep-going` writes the
/// other patch and exits 1 naming the skipped one.
#[test]
fn dtypes_no_dtype_holds_are_refused_by_stacked_outputs() {
    let case = "dtypes-no-common";
    inspect_says(case, 1, &["ZONES_20000.npy", "ZONES is uint64"]);
    let src = fixture(&format!("corrupt/{case}"));
    let why = "ZONES of patch 20000 is uint64 [8, 8] but ZONES of patch 10000 is int64 [8, 8]: \
               no dtype holds both exactly";
    for (to, name) in [("zarr", "out.zarr"), ("hdf5", "out.h5")] {
        let tmp = tempfile::tempdir().unwrap();
        let dst = tmp.path().join(name);
        convert_refused(&src, &dst, &["--to", to, "--overwrite"], 2, &[why]);
        convert(&src, &dst, &["--to", to, "--keep-going"]).expect(1, &["patch 20000 skipped", why]);
        let reader = pastis_bridge::formats::open(&dst).unwrap();
        assert_eq!(reader.metadata().ids(), vec![10000], "{to}");
    }
    let tmp = tempfile::tempdir().unwrap();
    convert_ok(&src, &tmp.path().join("out"), &["--to", "pastis"]);
    let zones = read_npy(&tmp.path().join("out/INSTANCE_ANNOTATIONS/ZONES_20000.npy")).unwrap();
    assert!(matches!(zones, Array::U64(_)));
}

/// Content a conversion does not carry (#16 item 7): `inspect` flags it, `convert` names each
/// item as a warning in every format, and `--strict` refuses it (exit 2, nothing written).
#[test]
fn content_not_carried_is_named_and_refused_with_strict() {
    inspect_says(
        "not-carried",
        1,
        &[
            "DATA_SPOT/SPOT_20000.npy: unexpected name in DATA_SPOT/ (expected PASTIS_SPOT6_RVB_1M00_2019/)",
            "README.txt: not part of the PASTIS layout",
            "S2_30000.npy: patch 30000 is not listed in metadata.geojson",
        ],
    );
    let src = fixture("corrupt/not-carried");
    let items = [
        "DATA_SPOT/SPOT_20000.npy: unexpected name in DATA_SPOT/",
        "README.txt: not part of the PASTIS layout",
        "DATA_S2/S2_30000.npy: patch 30000 is not listed",
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (to, name) in [("pastis", "out"), ("zarr", "out.zarr")] {
        let dst = tmp.path().join(name);
        let text = convert_ok(&src, &dst, &["--to", to]).text();
        for item in items {
            let line = format!("warning: not carried: {}", src.join(item).display());
            assert_eq!(
                text.matches(&line).count(),
                1,
                "{to}: {line:?} once in {text}"
            );
        }
        assert!(dst.exists(), "{to}");
    }
    assert!(!tmp.path().join("out/DATA_SPOT").exists());
    let dst = tmp.path().join("strict");
    let says = "3 items of the source would not be carried by the output (--strict)";
    convert_refused(
        &src,
        &dst,
        &["--strict"],
        2,
        &[&[says][..], &items].concat(),
    );
    // A clean source passes --strict, silently.
    convert(
        &fixture("corrupt/base"),
        &tmp.path().join("clean"),
        &["--strict"],
    )
    .silent();
}

/// `preview` with a bad patch (#16 item 8): without `--keep-going`, exit 2 and no sheet, no
/// OUTDIR.partial; with it, exit 1 naming the patch, the good patch's sheet written.
#[test]
fn preview_keeps_going_and_leaves_no_sheet_on_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixture("corrupt/npy-truncated");
    let outdir = tmp.path().join("sheets");
    let preview = |extra: &[&str]| {
        let mut args = vec![Path::new("preview"), &src, &outdir, Path::new("-q")];
        args.extend(extra.iter().map(Path::new));
        run(args)
    };
    preview(&[]).expect(2, &["S2_20000.npy: truncated"]);
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left {left:?}");

    preview(&["--keep-going"]).expect(
        1,
        &[
            "patch 20000 skipped",
            "S2_20000.npy: truncated",
            "1 patches failed: 20000",
        ],
    );
    assert!(outdir.join("preview_10000.png").is_file());
    assert!(!outdir.join("preview_20000.png").exists());
    assert!(!tmp.path().join("sheets.partial").exists());

    // An existing sheet is refused before any is drawn, and kept.
    let before = std::fs::read(outdir.join("preview_10000.png")).unwrap();
    preview(&["--keep-going"]).expect(2, &["already exists"]);
    assert_eq!(
        std::fs::read(outdir.join("preview_10000.png")).unwrap(),
        before
    );
    preview(&["--keep-going", "--overwrite"]).expect(1, &[]);
}

/// `parcels` with a bad INSTANCES (#16 item 8): without `--keep-going`, exit 2 and neither OUT
/// nor OUT.partial; with it, exit 1 naming the patch, the other patch's parcels written.
#[test]
fn parcels_keep_going_and_leave_nothing_on_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    copy_dir(&fixture("corrupt/base"), &src);
    let instances = src.join("INSTANCE_ANNOTATIONS/INSTANCES_20000.npy");
    let bytes = std::fs::read(&instances).unwrap();
    std::fs::write(&instances, &bytes[..bytes.len() / 2]).unwrap();
    let out = tmp.path().join("parcels.geojson");
    let parcels = |extra: &[&str]| {
        let mut args = vec![Path::new("parcels"), &src, &out, Path::new("-q")];
        args.extend(extra.iter().map(Path::new));
        run(args)
    };
    parcels(&[]).expect(2, &["INSTANCES_20000.npy: truncated"]);
    assert!(!out.exists() && !tmp.path().join("parcels.geojson.partial").exists());

    parcels(&["--keep-going"]).expect(1, &["patch 20000 skipped", "1 patches failed: 20000"]);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let patches: std::collections::BTreeSet<i64> = written["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["ID_PATCH"].as_i64().unwrap())
        .collect();
    assert_eq!(patches, [10000].into());
    assert!(!tmp.path().join("parcels.geojson.partial").exists());
}
