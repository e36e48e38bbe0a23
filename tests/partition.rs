//! A conversion split over several worker processes (`--partition I/N`) then `--finalize`d gives
//! the same store as one run: locally (the same files, metadata byte for byte, same values by
//! `verify`) and on a real S3-compatible server (moto); finalize refuses while a partition is
//! missing or was run with other options.

// Test helpers fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
mod moto;

use common::bin;
use moto::Moto;
use predicates::str::contains;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A synthetic PASTIS-R of 70 small patches: 3 annotation groups (32 + 32 + 6) in v3.
fn synth(dir: &Path) -> PathBuf {
    let src = dir.join("synth");
    let options = pastis_bridge::synth::SynthOptions {
        patches: 70,
        seed: 3,
        radar: true,
        size: 8,
        date_scale: 0.1,
        spot: false,
    };
    pastis_bridge::synth::generate(&src, &options, false, &|_| {}).unwrap();
    src
}

/// Spawns every partition at once, then waits for all.
fn run_concurrently(
    src: &Path,
    dst: &str,
    indices: &[usize],
    count: usize,
    env: &[(&str, String)],
) {
    let children: Vec<_> = indices
        .iter()
        .map(|i| {
            Command::new(assert_cmd::cargo::cargo_bin("pastis-bridge"))
                .args(["convert", "--quiet", "--jobs", "1"])
                .arg(src)
                .arg(dst)
                .arg("--partition")
                .arg(format!("{i}/{count}"))
                .envs(env.iter().map(|(k, v)| (k, v)))
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in indices.iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "partition {i}/{count} failed: {out:?}"
        );
    }
}

/// Every file under `root` with its bytes, by relative path.
fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path.strip_prefix(root).unwrap().to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// Same files; metadata and per-patch arrays byte for byte; data shards of the same size. (The
/// order of inner chunks inside a shard depends on which encoding thread finishes first, in any
/// run, so shard bytes may be a permutation: `verify` compares the decoded values.)
fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    let names = |t: &[(PathBuf, Vec<u8>)]| t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ta), names(&tb), "the stores hold different files");
    for ((path, x), (_, y)) in ta.iter().zip(&tb) {
        let layer = path.iter().next().and_then(|c| c.to_str()).unwrap_or("");
        let shard = pastis_bridge::model::Layer::ALL
            .iter()
            .any(|l| l.name() == layer)
            && path.iter().nth(1).is_some_and(|c| c == "c");
        if shard {
            assert_eq!(x.len(), y.len(), "{} differs in size", path.display());
        } else {
            assert!(x == y, "{} differs", path.display());
        }
    }
}

#[test]
fn local_partitions_equal_a_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let src = synth(dir.path());
    let single = dir.path().join("single.zarr");
    bin()
        .args(["convert", "--quiet"])
        .arg(&src)
        .arg(&single)
        .assert()
        .success();
    let split = dir.path().join("split.zarr");
    let split_url = split.to_str().unwrap();
    run_concurrently(&src, split_url, &[0, 2], 3, &[]);
    assert!(!split.exists(), "no store before finalize");
    bin()
        .args(["convert", "--quiet", "--finalize"])
        .arg(&src)
        .arg(&split)
        .assert()
        .code(2)
        .stderr(contains("partitions 1/3 have not finished"));
    // The last worker takes its index from a Kubernetes indexed Job's environment.
    bin()
        .args(["convert", "--quiet", "--jobs", "1", "--partition", "auto/3"])
        .env("JOB_COMPLETION_INDEX", "1")
        .arg(&src)
        .arg(&split)
        .assert()
        .success();
    bin()
        .args(["convert", "--quiet", "--finalize"])
        .arg(&src)
        .arg(&split)
        .assert()
        .success();
    assert!(!dir.path().join("split.zarr.partial").exists());
    assert_same_tree(&single, &split);
    bin()
        .arg("verify")
        .arg(&single)
        .arg(&split)
        .assert()
        .success();
    bin().arg("verify").arg(&src).arg(&split).assert().success();
}

#[test]
fn partitions_need_zarr_and_agree_on_options() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixture("PASTIS-R");
    let dst = dir.path().join("out.zarr");
    bin()
        .args(["convert", "--quiet", "--partition", "0/2", "--to", "hdf5"])
        .arg(&src)
        .arg(dir.path().join("out.h5"))
        .assert()
        .code(2)
        .stderr(contains("need a Zarr output"));
    bin()
        .args(["convert", "--quiet", "--partition", "2/2"])
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2);
    // v2: one group per patch, so the 4 patches are shared out 2 + 2.
    let v2 = ["--zarr-version", "2"];
    for i in 0..2 {
        bin()
            .args(["convert", "--quiet", "--partition", &format!("{i}/2")])
            .args(v2)
            .arg(&src)
            .arg(&dst)
            .assert()
            .success();
    }
    bin()
        .args(["convert", "--quiet", "--finalize", "--compression", "gzip"])
        .args(v2)
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2)
        .stderr(contains(
            "was run with another source, selection or options",
        ));
    bin()
        .args(["convert", "--quiet", "--finalize"])
        .args(v2)
        .arg(&src)
        .arg(&dst)
        .assert()
        .success();
    bin().arg("verify").arg(&src).arg(&dst).assert().success();
}

#[test]
fn s3_partitions_equal_a_single_run() {
    let moto = Moto::start("pastis");
    let env = moto.env();
    let dir = tempfile::tempdir().unwrap();
    let src = synth(dir.path());
    let single = dir.path().join("single.zarr");
    bin()
        .args(["convert", "--quiet"])
        .arg(&src)
        .arg(&single)
        .assert()
        .success();
    let url = moto.url("split/synth.zarr");
    run_concurrently(&src, &url, &[0, 1, 2], 3, &env);
    let mut finalize = bin();
    finalize
        .args(["convert", "--quiet", "--finalize"])
        .arg(&src)
        .arg(&url)
        .envs(env.iter().map(|(k, v)| (k, v)));
    finalize.assert().success();
    let mut keys: Vec<String> = moto
        .keys("split/synth.zarr/")
        .into_iter()
        .map(|k| k.trim_start_matches("split/synth.zarr/").to_string())
        .collect();
    keys.sort();
    let mut files: Vec<String> = tree(&single)
        .into_iter()
        .map(|(p, _)| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        keys, files,
        "the objects differ from the single run's files"
    );
    let mut verify = bin();
    verify
        .arg("verify")
        .arg(&single)
        .arg(&url)
        .envs(env.iter().map(|(k, v)| (k, v)));
    verify.assert().success();
}
