//! `convert --resume`: a real run killed with SIGKILL at a random point leaves only DST.partial
//! (and its journal); rerunning with `--resume` completes it and the result verifies identical to
//! an uninterrupted run. Pastis, Zarr v3 (a shard group spans 32 patches), GeoTIFF, and HDF5
//! (written again from the start).
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::bin;
use pastis_bridge::journal::journal_path;
use pastis_bridge::output::staging_path;
use pastis_bridge::synth::{generate, SynthOptions};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Seed of the random kill delays; `PASTIS_KILL_SEED` replays a run.
fn seed() -> u64 {
    std::env::var("PASTIS_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8)
}

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

/// Starts a conversion and kills it (SIGKILL) once `min_groups` groups are recorded plus a random
/// delay. Retries with less wait when the run finishes first. Returns the groups recorded.
fn kill_mid_run(args: &[String], dst: &Path, rng: &mut impl Rng, min_groups: usize) -> usize {
    let exe = assert_cmd::cargo::cargo_bin("pastis-bridge");
    for attempt in 0..6u32 {
        let _ = std::fs::remove_dir_all(dst);
        let _ = std::fs::remove_file(dst);
        let mut child = Command::new(&exe)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wanted = (min_groups >> attempt).max(1);
        let start = Instant::now();
        while groups_done(dst) < wanted && start.elapsed() < Duration::from_secs(120) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let delay = rng.random_range(0..(80 >> attempt).max(1));
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL on unix
            child.wait().unwrap();
            return groups_done(dst);
        }
        eprintln!("attempt {attempt}: the run finished before the kill, trying again sooner");
    }
    panic!("could not kill the conversion mid-run");
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

/// Kill, check what is left, resume, verify against the uninterrupted `reference`.
fn kill_and_resume(src: &Path, dir: &Path, to: &str, min_groups: usize, rng: &mut impl Rng) {
    let name = if to == "hdf5" { "out.h5" } else { "out" };
    let reference = dir.join(format!("ref-{to}-{name}"));
    run_ok(&convert_args(src, &reference, to, &[]));
    let dst: PathBuf = dir.join(format!("{to}-{name}"));
    let args = convert_args(src, &dst, to, &[]);
    let done = kill_mid_run(&args, &dst, rng, min_groups);
    eprintln!("{to}: killed with {done} groups recorded");
    assert!(!dst.exists(), "{to}: a killed run left {}", dst.display());
    assert!(staging_path(&dst).exists(), "{to}: no DST.partial");
    assert!(journal_path(&dst).exists(), "{to}: no journal");
    if to == "zarr" {
        let other = convert_args(src, &dst, to, &["--resume", "--compression", "none"]);
        let out = bin().args(&other).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("started with another source, selection or options"),
            "{err}"
        );
        assert!(
            staging_path(&dst).exists(),
            "a refused resume keeps DST.partial"
        );
    }
    run_ok(&convert_args(src, &dst, to, &["--resume"]));
    assert!(!staging_path(&dst).exists() && !journal_path(&dst).exists());
    verify_identical(&reference, &dst);
    verify_identical(src, &dst);
}

#[test]
fn killed_conversions_resume_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("synth");
    let options = SynthOptions {
        patches: 40,
        seed: 3,
        radar: false,
        size: 64,
        date_scale: 0.3,
    };
    generate(&src, &options, false, &|_| {}).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed());
    eprintln!("kill seed {} (PASTIS_KILL_SEED to replay)", seed());
    let pastis_groups = rng.random_range(1..30);
    kill_and_resume(&src, tmp.path(), "pastis", pastis_groups, &mut rng);
    kill_and_resume(&src, tmp.path(), "zarr", 1, &mut rng);
    let geotiff_groups = rng.random_range(1..30);
    kill_and_resume(&src, tmp.path(), "geotiff", geotiff_groups, &mut rng);
    kill_and_resume(&src, tmp.path(), "hdf5", 5, &mut rng);
}
