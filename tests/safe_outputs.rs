//! Safe outputs: an existing output is never replaced without `--overwrite` (each format), and
//! write failures (not a directory, disk full) are reported with the path and leave nothing.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::cli::{convert, convert_refused};
use common::{bin, fixture};
use std::path::{Path, PathBuf};
use std::process::Command;

const FORMATS: [(&str, &str); 4] = [
    ("pastis", "out"),
    ("zarr", "out.zarr"),
    ("hdf5", "out.h5"),
    ("geotiff", "out-tif"),
];

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
            let says = format!("{}: already exists; pass --overwrite", dst.display());
            convert(&src, &dst, &[&["--to", to], extra].concat()).expect(2, &[&says]);
            assert_eq!(std::fs::read(&marker).unwrap(), b"precious", "{to}");
        }
        convert(&src, &dst, &["--to", to, "--overwrite"]).expect(0, &[]);
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
        let says = format!("{}: is a file, not a folder", file.display());
        convert(&src, &dst, &["--to", to]).expect(2, &[&says]);
        // A deeper path through the file: the operating system's error, with the path.
        let deeper = file.join("sub").join(name);
        let path = file.display().to_string();
        convert(&src, &deeper, &["--to", to]).expect(2, &[&path, "Not a directory"]);
    }
    // /proc refuses new entries whatever the user.
    let dst = Path::new("/proc/pastis-bridge-test-out");
    convert(&src, dst, &["--to", "pastis"]).expect(2, &["/proc/pastis-bridge-test-out"]);
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
        let path = dst.display().to_string();
        let args = ["--to", to, "--compression", "none"];
        convert_refused(&src, &dst, &args, 2, &[&path, "No space left on device"]);
    }
}
