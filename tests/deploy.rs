//! The deployment recipes of deploy/: the Kubernetes Jobs are valid against the Kubernetes API's
//! JSON schemas (`kubernetes-validate --strict`, pinned in scripts/requirements-interop.txt with
//! the schemas it vendors; no cluster or kubectl here), and the check does catch a misspelt field
//! and a wrong type. The Slurm recipe is run for real by tests/slurm.rs.

// Test helpers fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn manifest(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/k8s")
        .join(name)
}

/// `kubernetes-validate --strict FILE` through the venv's Python (fails loudly if missing).
fn validate(file: &Path) -> Output {
    common::python()
        .args([
            "-c",
            "import sys; from kubernetes_validate.__main__ import main; sys.exit(main())",
            "--strict",
        ])
        .arg(file)
        .output()
        .unwrap()
}

#[test]
fn kubernetes_jobs_match_the_api_schemas() {
    for name in ["convert-job.yaml", "finalize-job.yaml"] {
        let out = validate(&manifest(name));
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.contains("passed"),
            "{name}: {said}\n(kubernetes-validate missing? run scripts/setup.sh)"
        );
    }
    let text = std::fs::read_to_string(manifest("convert-job.yaml")).unwrap();
    assert!(text.contains(r#""--partition", "auto/$(N)""#), "{text}");
    assert!(text.contains("completionMode: Indexed"), "{text}");
    let text = std::fs::read_to_string(manifest("finalize-job.yaml")).unwrap();
    assert!(text.contains(r#""--finalize""#), "{text}");
}

#[test]
fn the_schema_check_catches_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(manifest("convert-job.yaml")).unwrap();
    for (from, to) in [
        ("completionMode:", "completionsMode:"),
        ("completions: 16", "completions: sixteen"),
    ] {
        assert!(text.contains(from));
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, text.replacen(from, to, 1)).unwrap();
        let out = validate(&bad);
        assert!(!out.status.success(), "{to} passed: {out:?}");
    }
}
