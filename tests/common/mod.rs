//! Helpers shared by the integration tests: fixtures, the real binary, the Python reference readers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A committed fixture under `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    assert!(path.exists(), "fixture {} is missing", path.display());
    path
}

/// The `pastis-bridge` binary built for these tests.
pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("pastis-bridge").expect("the binary is built")
}

/// The Python of the interoperability venv: `$PASTIS_PYTHON`, else `.venv/bin/python`.
/// Panics (the test fails loudly) when it is missing: run `bash scripts/setup.sh`.
pub fn python() -> Command {
    let python = std::env::var_os("PASTIS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    assert!(
        python.exists(),
        "the Python venv for interoperability checks is missing ({}): run `bash scripts/setup.sh`",
        python.display()
    );
    Command::new(python)
}

/// Runs a script of `tests/python/` with arguments; panics with its output unless it succeeds.
pub fn run_python(script: &str, args: &[&Path]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = python()
        .arg(&script)
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} failed:\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Copies a fixture folder into a fresh temporary folder, so a test may modify it.
pub fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let dst = dir.path().join(name);
    copy_dir(&fixture(name), &dst);
    (dir, dst)
}

/// Copies the folder `src` to `dst`, recursively.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("create dir");
    for entry in std::fs::read_dir(src).expect("read dir").flatten() {
        let to = dst.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy file");
        }
    }
}

/// Every file under `root`, by relative path, with its bytes.
pub fn files(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    file_names(root)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(root.join(&rel)).expect("read file");
            (PathBuf::from(rel), bytes)
        })
        .collect()
}

/// Where two PASTIS folders differ: files present in one only, `.npy` bytes (the first differing
/// byte), JSON files value for value.
pub fn differences(a: &Path, b: &Path) -> Vec<String> {
    let (fa, fb) = (files(a), files(b));
    let mut out = Vec::new();
    for name in fa.keys().filter(|n| !fb.contains_key(*n)) {
        out.push(format!("{} missing after the round trip", name.display()));
    }
    for name in fb.keys().filter(|n| !fa.contains_key(*n)) {
        out.push(format!("{} appeared in the round trip", name.display()));
    }
    for (name, bytes) in &fa {
        let Some(other) = fb.get(name) else { continue };
        if name
            .extension()
            .is_some_and(|e| e == "json" || e == "geojson")
        {
            let (va, vb): (serde_json::Value, serde_json::Value) = (
                serde_json::from_slice(bytes).expect("JSON"),
                serde_json::from_slice(other).expect("JSON"),
            );
            if va != vb {
                out.push(format!("{}: {va} became {vb}", name.display()));
            }
        } else if bytes != other {
            let at = bytes
                .iter()
                .zip(other)
                .position(|(x, y)| x != y)
                .unwrap_or(bytes.len().min(other.len()));
            out.push(format!(
                "{}: differs from byte {at} ({} vs {} bytes)",
                name.display(),
                bytes.len(),
                other.len()
            ));
        }
    }
    out
}

/// Writes `patches` with `meta` as a PASTIS folder at `root`, through the library's writer.
pub fn write_pastis(
    root: &Path,
    meta: &pastis_bridge::model::DatasetMeta,
    patches: &[pastis_bridge::model::Patch],
) {
    use pastis_bridge::formats::{self, Format, WriteOptions};
    let layout = pastis_bridge::model::DatasetLayout::default();
    let writer = formats::create(
        Format::Pastis,
        root,
        meta,
        &layout,
        &WriteOptions::default(),
    )
    .expect("create the PASTIS writer");
    for (i, p) in patches.iter().enumerate() {
        writer.write_patch(i, p.clone()).expect("write a patch");
    }
    writer.finish().expect("finish the PASTIS folder");
}

pub mod awkward;
pub mod cli;

/// Every file under `root`, as relative paths with `/` separators (like object-store keys),
/// sorted.
pub fn file_names(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .expect("under root")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

/// A synthetic PASTIS-R of 70 small (8 px) patches at `dir/synth`: 3 annotation groups
/// (32 + 32 + 6) in Zarr v3, so partitions and array tasks have groups to share.
pub fn synth_groups(dir: &Path) -> PathBuf {
    let src = dir.join("synth");
    let options = pastis_bridge::synth::SynthOptions {
        patches: 70,
        seed: 3,
        radar: true,
        size: 8,
        date_scale: 0.1,
        spot: false,
    };
    pastis_bridge::synth::generate(&src, &options, false, &|_| {}).expect("synth");
    src
}
