//! `convert --resume`: a run interrupted at a known point leaves only DST.partial and its journal;
//! rerunning with `--resume` completes it and the result verifies identical to an uninterrupted
//! run. Pastis, Zarr v3 (a shard group spans 32 patches), Zarr v2, GeoTIFF, and HDF5 (written
//! again from the start).
//!
//! The runs are interrupted through the pipeline's test-only hook
//! (`PASTIS_BRIDGE_TEST_STOP_AFTER_GROUPS`), so no test races the end of a run: `N` exits at once
//! when the journal holds `N` groups (as a kill there would), `N:hang` stops the workers there for
//! the one test that kills the process for real, with SIGKILL.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::bin;
use pastis_bridge::journal::journal_path;
use pastis_bridge::output::staging_path;
use pastis_bridge::pipeline::STOP_AFTER_GROUPS;
use pastis_bridge::synth::{generate, SynthOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The exit status of a run stopped by the hook.
const STOPPED_EXIT: i32 = 75;

fn convert_args(src: &Path, dst: &Path, to: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["convert", &src.to_string_lossy(), &dst.to_string_lossy()]
        .map(String::from)
        .to_vec();
    args.extend(["--to", to, "-q", "-j", "2"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Finished groups recorded in the journal of `dst` (0 when there is none yet).
fn groups_done(dst: &Path) -> usize {
    std::fs::read_to_string(journal_path(dst))
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

fn run_ok(args: &[String]) {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn verify_identical(a: &Path, b: &Path) {
    let out = bin().arg("verify").arg(a).arg(b).output().unwrap();
    assert!(
        out.status.success(),
        "verify {} {}: {}",
        a.display(),
        b.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A synthetic dataset of 40 patches of 64 x 64 pixels.
fn source(dir: &Path) -> PathBuf {
    let src = dir.join("synth");
    let options = SynthOptions {
        patches: 40,
        seed: 3,
        radar: false,
        size: 64,
        date_scale: 0.3,
        spot: false,
    };
    generate(&src, &options, false, &|_| {}).unwrap();
    src
}

/// What an interrupted run must leave: DST.partial and a journal holding at least `groups`
/// groups and fewer than `total`, and no DST.
fn assert_interrupted(dst: &Path, groups: usize, total: usize) {
    assert!(!dst.exists(), "an interrupted run left {}", dst.display());
    assert!(
        staging_path(dst).exists(),
        "no {}",
        staging_path(dst).display()
    );
    let done = groups_done(dst);
    assert!(
        (groups..total).contains(&done),
        "{}: {done} groups recorded, expected {groups}..{total}",
        dst.display()
    );
}

/// Stops a run with the hook after `groups` of its `total` groups, checks what is left, resumes
/// it, and verifies it against an uninterrupted run and the source.
fn stop_and_resume(src: &Path, dir: &Path, to: &str, extra: &[&str], groups: usize, total: usize) {
    let name = format!("{to}{}", extra.join(""));
    let file = if to == "hdf5" { "out.h5" } else { "out" };
    let reference = dir.join(format!("ref-{name}-{file}"));
    run_ok(&convert_args(src, &reference, to, extra));
    let dst = dir.join(format!("{name}-{file}"));
    let out = bin()
        .args(convert_args(src, &dst, to, extra))
        .env(STOP_AFTER_GROUPS, groups.to_string())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(STOPPED_EXIT), "{name}: {err}");
    assert_interrupted(&dst, groups, total);
    let mut resume = extra.to_vec();
    resume.push("--resume");
    run_ok(&convert_args(src, &dst, to, &resume));
    assert!(!staging_path(&dst).exists() && !journal_path(&dst).exists());
    verify_identical(&reference, &dst);
    verify_identical(src, &dst);
}

#[test]
fn stopped_conversions_resume_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let src = source(tmp.path());
    // Groups: one patch each, except Zarr v3, whose annotation shards hold 32 patches.
    stop_and_resume(&src, tmp.path(), "pastis", &[], 7, 40);
    stop_and_resume(&src, tmp.path(), "zarr", &[], 1, 2);
    stop_and_resume(&src, tmp.path(), "zarr", &["--zarr-version", "2"], 13, 40);
    stop_and_resume(&src, tmp.path(), "geotiff", &[], 11, 40);
    // HDF5 cannot continue a file: --resume writes it again from the start.
    stop_and_resume(&src, tmp.path(), "hdf5", &[], 5, 40);
}

#[test]
fn a_resume_with_other_options_is_refused_and_keeps_the_partial_output() {
    let tmp = tempfile::tempdir().unwrap();
    let src = source(tmp.path());
    let dst = tmp.path().join("out.zarr");
    let out = bin()
        .args(convert_args(&src, &dst, "zarr", &[]))
        .env(STOP_AFTER_GROUPS, "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(STOPPED_EXIT));
    let other = convert_args(&src, &dst, "zarr", &["--resume", "--compression", "none"]);
    let out = bin().args(&other).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("started with another source, selection or options"),
        "{err}"
    );
    assert!(
        staging_path(&dst).exists() && journal_path(&dst).exists(),
        "a refused resume keeps DST.partial and its journal"
    );
}

/// One real SIGKILL: the workers are held by the hook once 9 groups are recorded (so the run
/// cannot finish first), the process is killed, and the run resumes identically.
#[test]
fn a_sigkilled_conversion_resumes_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let src = source(tmp.path());
    let reference = tmp.path().join("reference");
    run_ok(&convert_args(&src, &reference, "pastis", &[]));
    let dst = tmp.path().join("killed");
    let args = convert_args(&src, &dst, "pastis", &[]);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("pastis-bridge"))
        .args(&args)
        .env(STOP_AFTER_GROUPS, "9:hang")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while groups_done(&dst) < 9 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no 9 groups after 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    assert_interrupted(&dst, 9, 40);
    run_ok(&convert_args(&src, &dst, "pastis", &["--resume"]));
    verify_identical(&reference, &dst);
}

/// The creation options are part of the run's fingerprint (issue #14): an interrupted
/// `--no-georef` (GEOREF=NO) GeoTIFF export resumed without the flag, or with `--cog` added, is
/// refused instead of mixing georeferenced and pixel-grid TIFFs; resumed with the same options
/// (`--co GEOREF=NO` is the same option) it completes with no TIFF georeferenced.
#[test]
fn a_no_georef_export_resumes_only_with_the_same_creation_options() {
    let tmp = tempfile::tempdir().unwrap();
    let src = source(tmp.path());
    let dst = tmp.path().join("tif");
    let out = bin()
        .args(convert_args(&src, &dst, "geotiff", &["--no-georef"]))
        .env(STOP_AFTER_GROUPS, "3")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(STOPPED_EXIT),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_interrupted(&dst, 3, 40);
    for other in [
        &["--resume"][..],
        &["--resume", "--no-georef", "--cog"][..],
        &["--resume", "--co", "GEOREF=YES"][..],
    ] {
        let out = bin()
            .args(convert_args(&src, &dst, "geotiff", other))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{other:?}: {err}");
        assert!(
            err.contains("started with another source, selection or options"),
            "{other:?}: {err}"
        );
        assert!(staging_path(&dst).exists() && !dst.exists(), "{other:?}");
    }
    run_ok(&convert_args(
        &src,
        &dst,
        "geotiff",
        &["--resume", "--co", "GEOREF=NO"],
    ));
    verify_identical(&src, &dst);
    let manifest = pastis_bridge::formats::geotiff::Manifest::read(&dst).unwrap();
    assert_eq!(manifest.patches.len(), 40);
    for (id, patch) in &manifest.patches {
        assert!(patch.grid.is_none(), "patch {id} georeferenced");
        let why = patch.not_georeferenced.as_deref().unwrap_or_default();
        assert!(why.starts_with("written with --no-georef"), "{id}: {why}");
        let tif = dst.join(format!("TARGET/TARGET_{id}.tif"));
        let info = Command::new("gdalinfo")
            .arg("-json")
            .arg(&tif)
            .output()
            .expect("gdalinfo (gdal-bin) must be installed for this test");
        let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        assert!(info["coordinateSystem"].is_null(), "{id}: {info}");
    }
}
