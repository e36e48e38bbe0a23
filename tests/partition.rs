//! A conversion split over several worker processes (`--partition I/N`) then `--finalize`d gives
//! the same store as one run: locally (the same files, metadata byte for byte, same values by
//! `verify`) and on a real S3-compatible server (moto); finalize refuses while a partition is
//! missing or was run with other options.

// Test helpers fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
mod moto;

use common::cli::{convert, convert_ok};
use common::{bin, synth_groups};
use moto::Moto;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    let src = synth_groups(dir.path());
    let single = dir.path().join("single.zarr");
    convert_ok(&src, &single, &[]);
    let split = dir.path().join("split.zarr");
    let split_url = split.to_str().unwrap();
    run_concurrently(&src, split_url, &[0, 2], 3, &[]);
    assert!(!split.exists(), "no store before finalize");
    convert(&src, &split, &["--finalize"]).expect(2, &["partitions 1/3 have not finished"]);
    // The last worker takes its index from a Kubernetes indexed Job's environment.
    bin()
        .args(["convert", "--quiet", "--jobs", "1", "--partition", "auto/3"])
        .env("JOB_COMPLETION_INDEX", "1")
        .arg(&src)
        .arg(&split)
        .assert()
        .success();
    convert_ok(&src, &split, &["--finalize"]);
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
    convert(&src, &dst, &["--partition", "2/2"]).expect(2, &[]);
    // v2: one group per patch, so the 4 patches are shared out 2 + 2.
    let v2 = ["--zarr-version", "2"];
    for i in 0..2 {
        convert_ok(
            &src,
            &dst,
            &["--partition", &format!("{i}/2"), "--zarr-version", "2"],
        );
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
    convert_ok(&src, &dst, &["--finalize", "--zarr-version", "2"]);
    bin().arg("verify").arg(&src).arg(&dst).assert().success();
}

#[test]
fn s3_partitions_equal_a_single_run() {
    let moto = Moto::start("pastis");
    let env = moto.env();
    let dir = tempfile::tempdir().unwrap();
    let src = synth_groups(dir.path());
    let single = dir.path().join("single.zarr");
    convert_ok(&src, &single, &[]);
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

/// Issue #19's scenario: after a Zarr v2 split has finished, one partition is run again with
/// other options (`--zarr-version 2` forgotten): it is refused before it writes anything, so no
/// v3 `zarr.json` lands in the v2 store; the finalized store reads back identical.
#[test]
fn a_partition_with_other_options_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixture("PASTIS-R");
    let dst = dir.path().join("out.zarr");
    let partial = dir.path().join("out.zarr.partial");
    let v2 = ["--zarr-version", "2"];
    for i in 0..3 {
        convert_ok(
            &src,
            &dst,
            &["--partition", &format!("{i}/3"), "--zarr-version", "2"],
        );
    }
    bin()
        .args(["convert", "--quiet", "--partition", "1/3"])
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2)
        .stderr(contains(
            "partition 0/3 of this store finished as another conversion",
        ));
    let v3_metadata: Vec<PathBuf> = tree(&partial)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.ends_with("zarr.json"))
        .collect();
    assert!(v3_metadata.is_empty(), "v3 metadata left: {v3_metadata:?}");
    convert_ok(&src, &dst, &["--partition", "1/3", "--zarr-version", "2"]);
    bin()
        .args(["convert", "--finalize"])
        .args(v2)
        .arg(&src)
        .arg(&dst)
        .assert()
        .success()
        .stderr(contains("finalized").and(contains("ratio").not()));
    bin().arg("verify").arg(&src).arg(&dst).assert().success();
}

/// The wrong run came first (a v3 partition, then the whole split in v2): the partition run
/// again deletes the v3 array metadata, and finalize refuses the v3 shards left behind, naming
/// them, until they are deleted; then the store verifies identical.
#[test]
fn finalize_refuses_objects_of_another_version() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixture("PASTIS-R");
    let dst = dir.path().join("out.zarr");
    let partial = dir.path().join("out.zarr.partial");
    convert_ok(&src, &dst, &["--partition", "0/2"]);
    let v2 = ["--zarr-version", "2"];
    for i in 0..2 {
        convert_ok(
            &src,
            &dst,
            &["--partition", &format!("{i}/2"), "--zarr-version", "2"],
        );
    }
    assert!(!partial.join("S2/zarr.json").exists());
    let mut finalize = bin();
    finalize
        .args(["convert", "--quiet", "--finalize"])
        .args(v2)
        .arg(&src)
        .arg(&dst);
    finalize
        .assert()
        .code(2)
        .stderr(contains("are not part of this Zarr v2 store").and(contains("HEATMAP/c/0/0/0")));
    for entry in std::fs::read_dir(&partial).unwrap().flatten() {
        let shards = entry.path().join("c");
        if shards.is_dir() {
            std::fs::remove_dir_all(shards).unwrap();
        }
    }
    finalize.assert().success();
    bin().arg("verify").arg(&src).arg(&dst).assert().success();
}

/// A partition's summary states what it read, not a store size it does not have; `auto/N`
/// errors name the variable they read; `auto/N` with `--finalize` is a usage conflict.
#[test]
fn partition_summaries_and_auto_errors_are_plain() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixture("PASTIS-R");
    let dst = dir.path().join("out.zarr");
    bin()
        .args(["convert", "--partition", "0/2", "--zarr-version", "2"])
        .arg(&src)
        .arg(&dst)
        .assert()
        .success()
        .stderr(contains("wrote partition 0/2").and(contains("ratio").not()));
    bin()
        .args(["convert", "--quiet", "--partition", "auto/3"])
        .env("SLURM_ARRAY_TASK_ID", "3")
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2)
        .stderr(contains("SLURM_ARRAY_TASK_ID=3").and(contains("--array=0-2")));
    bin()
        .args(["convert", "--quiet", "--partition", "auto/3"])
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("JOB_COMPLETION_INDEX", "0")
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2)
        .stderr(contains(
            "JOB_COMPLETION_INDEX=0 and SLURM_ARRAY_TASK_ID=2 disagree",
        ));
    bin()
        .args(["convert", "--quiet", "--partition", "auto/3", "--finalize"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2)
        .stderr(contains("cannot be used with '--finalize'"));
    // In v3 the 4 patches are one annotation group, yet 2 partitions share them 2 + 2 (the
    // series by patch, the group's annotations by its owner); the fifth of 5 has none.
    let v3 = dir.path().join("v3.zarr");
    for i in 0..2 {
        bin()
            .args(["convert", "--partition", &format!("{i}/2")])
            .arg(&src)
            .arg(&v3)
            .assert()
            .success()
            .stderr(contains(format!("wrote partition {i}/2")).and(contains(": 2 patches")));
    }
    convert_ok(&src, &v3, &["--finalize"]);
    bin().arg("verify").arg(&src).arg(&v3).assert().success();
    bin()
        .args(["convert", "--quiet", "--partition", "4/5"])
        .arg(&src)
        .arg(dir.path().join("five.zarr"))
        .assert()
        .success()
        .stderr(contains("only 4 partitions have work"));
}

/// A store made by an earlier version, with a stray v3 `S2/zarr.json` in a v2 store (issue #19):
/// zarr-python reads the v2 `.zarray`, so pastis-bridge must not read the v3 document as if it
/// were the array's: `verify` and `inspect` refuse, naming it.
#[test]
fn a_stray_v3_document_in_a_v2_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::fixture("PASTIS-R");
    let v2 = dir.path().join("v2.zarr");
    let v3 = dir.path().join("v3.zarr");
    for (dst, version) in [(&v2, "2"), (&v3, "3")] {
        convert_ok(&src, dst, &["--zarr-version", version]);
    }
    std::fs::copy(v3.join("S2/zarr.json"), v2.join("S2/zarr.json")).unwrap();
    for command in ["verify", "inspect"] {
        let mut run = bin();
        run.arg(command);
        if command == "verify" {
            run.arg(&src);
        }
        let out = run.arg(&v2).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success(),
            "{command} accepted the store: {stderr}"
        );
        assert!(
            stderr.contains("S2/zarr.json is Zarr v3 metadata in a Zarr v2 store"),
            "{command}: {stderr}"
        );
    }
}
