//! Safe outputs: an existing output is never replaced without `--overwrite` (each format), and
//! write failures (not a directory, disk full) are reported with the path and leave nothing.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::{bin, fixture};
use std::path::{Path, PathBuf};
use std::process::Command;

const FORMATS: [(&str, &str); 4] = [
    ("pastis", "out"),
    ("zarr", "out.zarr"),
    ("hdf5", "out.h5"),
    ("geotiff", "out-tif"),
];

/// Runs `convert SRC DST --to TO -q EXTRA...`; returns (exit code, stderr).
fn convert(src: &Path, dst: &Path, to: &str, extra: &[&str]) -> (i32, String) {
    let out = bin()
        .arg("convert")
        .arg(src)
        .arg(dst)
        .args(["--to", to, "-q"])
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (out.status.code().unwrap_or(-1), err)
}

/// Puts a recognisable placeholder at `dst`: a file for HDF5, a folder with a file otherwise.
fn placeholder(dst: &Path, to: &str) -> PathBuf {
    let marker = if to == "hdf5" {
        dst.to_path_buf()
    } else {
        std::fs::create_dir_all(dst).unwrap();
        dst.join("keep.txt")
    };
    std::fs::write(&marker, b"precious").unwrap();
    marker
}

#[test]
fn existing_outputs_are_kept_without_overwrite() {
    let src = fixture("corrupt/base");
    let tmp = tempfile::tempdir().unwrap();
    for (to, name) in FORMATS {
        let dst = tmp.path().join(name);
        let marker = placeholder(&dst, to);
        for extra in [&[][..], &["--resume"], &["--keep-going"]] {
            let (code, err) = convert(&src, &dst, to, extra);
            assert_eq!(code, 2, "{to} {extra:?}: {err}");
            assert!(
                err.contains(&format!(
                    "{}: already exists; pass --overwrite",
                    dst.display()
                )),
                "{to}: {err}"
            );
            assert_eq!(std::fs::read(&marker).unwrap(), b"precious", "{to}");
        }
        let (code, err) = convert(&src, &dst, to, &["--overwrite"]);
        assert_eq!(code, 0, "{to}: {err}");
        assert!(!marker.exists() || to == "hdf5", "{to}: old content left");
        let out = bin().arg("verify").arg(&src).arg(&dst).output().unwrap();
        assert!(out.status.success(), "{to}: {:?}", out);
    }
}

#[test]
fn unwritable_destination_names_the_path() {
    let src = fixture("corrupt/base");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    for (to, name) in FORMATS {
        let dst = file.join(name);
        let (code, err) = convert(&src, &dst, to, &[]);
        assert_eq!(code, 2, "{to}: {err}");
        assert!(
            err.contains(&format!("{}: is a file, not a folder", file.display())),
            "{to}: {err}"
        );
        // A deeper path through the file: the operating system's error, with the path.
        let deeper = file.join("sub").join(name);
        let (code, err) = convert(&src, &deeper, to, &[]);
        assert_eq!(code, 2, "{to}: {err}");
        assert!(
            err.contains(&file.display().to_string()) && err.contains("Not a directory"),
            "{to}: {err}"
        );
    }
    // /proc refuses new entries whatever the user.
    let dst = Path::new("/proc/pastis-bridge-test-out");
    let (code, err) = convert(&src, dst, "pastis", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/proc/pastis-bridge-test-out"), "{err}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

/// A 1 MB tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: PathBuf) -> Tmpfs {
        std::fs::create_dir_all(&at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "the disk-full test mounts a 1 MB tmpfs: run it as root (or in a container with CAP_SYS_ADMIN)"
        );
        Tmpfs(at)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Disk full: the committed 5 MB fixture into a 1 MB filesystem. The error names the file being
/// written and says the device is full; nothing is left behind.
#[test]
fn disk_full_names_the_path_and_leaves_nothing() {
    let src = fixture("PASTIS-R");
    let tmp = tempfile::tempdir().unwrap();
    let fs = Tmpfs::mount(tmp.path().join("small"));
    for (to, name) in FORMATS {
        let dst = fs.0.join(name);
        let (code, err) = convert(&src, &dst, to, &["--compression", "none"]);
        assert_eq!(code, 2, "{to}: {err}");
        assert!(err.contains(&dst.display().to_string()), "{to}: {err}");
        assert!(
            err.contains("No space left on device") || err.contains("ENOSPC"),
            "{to}: {err}"
        );
        let left: Vec<_> = std::fs::read_dir(&fs.0).unwrap().flatten().collect();
        assert!(left.is_empty(), "{to}: left {left:?}");
    }
}
