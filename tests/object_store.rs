//! Zarr on object storage, against a real S3-compatible server (moto, on 127.0.0.1) through the
//! real binary: write the committed fixture to s3://, read it back, `verify` and `inspect` it,
//! and check the refusals and that an unfinished store reads as unfinished.

// Test helpers fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;
mod moto;

use common::{bin, copy_fixture, fixture};
use moto::Moto;
use predicates::str::contains;
use std::path::Path;

/// The binary with the environment that points the S3 client at `moto`.
fn cli(moto: &Moto) -> assert_cmd::Command {
    let mut cmd = bin();
    for (key, value) in moto.env() {
        cmd.env(key, value);
    }
    cmd
}

/// `.npy` and JSON files of two PASTIS folders are byte-identical.
fn assert_same_files(a: &Path, b: &Path) {
    for folder in ["DATA_S2", "DATA_S1A", "ANNOTATIONS", "INSTANCE_ANNOTATIONS"] {
        for entry in std::fs::read_dir(a.join(folder)).unwrap().flatten() {
            let other = b.join(folder).join(entry.file_name());
            assert_eq!(
                std::fs::read(entry.path()).unwrap(),
                std::fs::read(&other).unwrap(),
                "{} differs",
                other.display()
            );
        }
    }
}

#[test]
fn fixture_round_trips_through_s3_in_both_versions() {
    let moto = Moto::start("pastis");
    let src = fixture("PASTIS-R");
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [
        ("v3.zarr", vec![]),
        ("v2.zarr", vec!["--zarr-version", "2"]),
    ] {
        let url = moto.url(&format!("runs/{name}"));
        cli(&moto)
            .args(["convert", "--quiet"])
            .arg(&src)
            .arg(&url)
            .args(&extra)
            .assert()
            .success();
        cli(&moto)
            .arg("verify")
            .arg(&url)
            .arg(&src)
            .assert()
            .success();
        cli(&moto).arg("inspect").arg(&url).assert().success();
        let back = dir.path().join(name).with_extension("back");
        cli(&moto)
            .args(["convert", "--quiet", "--to", "pastis"])
            .arg(&url)
            .arg(&back)
            .assert()
            .success();
        assert_same_files(&src, &back);
    }
    let keys = moto.keys("runs/v3.zarr/");
    for key in [
        "zarr.json",
        "S2/zarr.json",
        "S2/c/0/0/0/0/0",
        "TARGET/c/0/0/0/0",
    ] {
        assert!(
            keys.contains(&format!("runs/v3.zarr/{key}")),
            "{key} not in {keys:?}"
        );
    }
    assert!(moto.keys("runs/v2.zarr/.zmetadata").len() == 1);
}

#[test]
fn existing_unfinished_and_unsupported_outputs_are_refused() {
    let moto = Moto::start("pastis");
    let src = fixture("PASTIS-R");
    let url = moto.url("out/PASTIS-R.zarr");
    let convert = |extra: &[&str]| {
        let mut cmd = cli(&moto);
        cmd.args(["convert", "--quiet"])
            .arg(&src)
            .arg(&url)
            .args(extra);
        cmd
    };
    convert(&[]).assert().success();
    convert(&[])
        .assert()
        .code(2)
        .stderr(contains("already exists"));
    convert(&["--overwrite", "--modalities", "S2,TARGET"])
        .assert()
        .success();
    // Overwrite removed the old store first: no S1A objects remain.
    assert!(moto.keys("out/PASTIS-R.zarr/S1A/").is_empty());
    convert(&["--resume"])
        .assert()
        .code(2)
        .stderr(contains("--resume needs a local output"));
    cli(&moto)
        .args(["convert", "--quiet", "--to", "hdf5"])
        .arg(&src)
        .arg(moto.url("out/x.h5"))
        .assert()
        .code(2)
        .stderr(contains("only Zarr"));
    cli(&moto)
        .arg("inspect")
        .arg(moto.url("nothing/here.zarr"))
        .assert()
        .code(2)
        .stderr(contains("no object under this prefix"));
}

#[test]
fn a_failed_upload_has_no_root_metadata_and_reads_as_unfinished() {
    let moto = Moto::start("pastis");
    let (_dir, src) = copy_fixture("PASTIS-R");
    // The last patch's S2 is cut short: the conversion stops after writing other objects.
    let s2 = src.join("DATA_S2/S2_40000.npy");
    let bytes = std::fs::read(&s2).unwrap();
    std::fs::write(&s2, &bytes[..bytes.len() / 2]).unwrap();
    let url = moto.url("broken.zarr");
    cli(&moto)
        .args(["convert", "--quiet", "--jobs", "1"])
        .arg(&src)
        .arg(&url)
        .assert()
        .code(2);
    let keys = moto.keys("broken.zarr/");
    assert!(keys.iter().any(|k| k.ends_with("S2/zarr.json")), "{keys:?}");
    assert!(!keys.contains(&"broken.zarr/zarr.json".to_string()));
    cli(&moto)
        .arg("verify")
        .arg(&url)
        .arg(fixture("PASTIS-R"))
        .assert()
        .code(2)
        .stderr(contains("unfinished output"));
}
