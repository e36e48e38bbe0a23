//! The conformance suite every format runs: each awkward case of `common::awkward` is written as
//! a PASTIS folder, converted through every writer (pastis, zarr v3, zarr v2, hdf5, geotiff) with
//! the real binary and read back to PASTIS, and the `.npy` files compared byte for byte (so bit
//! for bit: -0.0, NaN payloads and signalling NaNs must survive). The chain PASTIS -> Zarr -> HDF5
//! -> PASTIS is checked with `verify`. A writer that cannot carry a case must refuse it with exit
//! 2, a message naming the patch and layer, the same message whichever writer, and no output left.
//!
//! Cases that fail today because of library bugs are listed in [`KNOWN_GAPS`];
//! `known_gaps_are_still_gaps` fails as soon as one is fixed, so the list cannot rot.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::awkward::{cases, same_bits, Case, Writer, WRITERS};
use common::cli::{convert, run};
use pastis_bridge::formats;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// Known library bugs: (case, writer or `chain`, what happens instead). Each one is reported to
/// the lead; remove the line when the bug is fixed (`known_gaps_are_still_gaps` says when).
/// (None today: Point footprints go through GeoTIFF with `--no-georef`, issue #14.)
const KNOWN_GAPS: &[(&str, &str, &str)] = &[];

fn is_known_gap(case: &str, writer: &str) -> bool {
    KNOWN_GAPS
        .iter()
        .any(|(c, w, _)| *c == case && *w == writer)
}

/// `verify A B`: Ok when identical (exit 0), else its report.
fn verify(a: &Path, b: &Path) -> Result<(), String> {
    let outcome = run([OsStr::new("verify"), a.as_os_str(), b.as_os_str()]);
    match outcome.code {
        0 => Ok(()),
        _ => Err(format!(
            "{} exits {}: {}",
            outcome.args,
            outcome.code,
            outcome.text()
        )),
    }
}

/// The refusal text with the writer's format name and the temp paths replaced, so that refusals
/// of different writers compare equal when they say the same thing.
fn normalised(stderr: &str, writer: &Writer, dir: &Path) -> String {
    stderr
        .trim()
        .replace(&dir.display().to_string(), "DIR")
        .replace(writer.output, "OUTPUT")
        .replace(&format!("to {}", writer.format), "to FORMAT")
        .replace(&format!("{}: ", writer.format), "FORMAT: ")
}

/// What happened to one case through one writer: `Ok(Some(refusal))` for an expected refusal,
/// `Ok(None)` for an exact round trip, `Err` for anything else.
fn through(case: &Case, writer: &Writer) -> Result<Option<String>, String> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    case.write(&src);
    let out = dir.path().join(writer.output);
    let back = dir.path().join("back");
    let common::cli::Outcome { code, stderr, .. } = convert(&src, &out, writer.args);
    if case.is_refused_by(writer.name) {
        return check_refusal(case, writer, dir.path(), &out, code, &stderr).map(Some);
    }
    if code != 0 {
        return Err(format!("convert exits {code}: {}", stderr.trim()));
    }
    let common::cli::Outcome { code, stderr, .. } = convert(&out, &back, &["--to", "pastis"]);
    if code != 0 {
        return Err(format!("reading back exits {code}: {}", stderr.trim()));
    }
    match common::differences(&src, &back) {
        d if d.is_empty() => Ok(None),
        d => Err(d.join("; ")),
    }
}

/// Exit 2, naming what the case says, nothing left behind.
fn check_refusal(
    case: &Case,
    writer: &Writer,
    dir: &Path,
    out: &Path,
    code: i32,
    stderr: &str,
) -> Result<String, String> {
    if code != 2 {
        return Err(format!(
            "expected a refusal (exit 2), got exit {code}: {}",
            stderr.trim()
        ));
    }
    let missing: Vec<_> = case
        .refusal_mentions
        .iter()
        .filter(|m| !stderr.contains(m.as_str()))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the refusal does not name {missing:?}: {}",
            stderr.trim()
        ));
    }
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    if out.exists() || partial.exists() {
        return Err("the refusal left an output behind".into());
    }
    Ok(normalised(stderr, writer, dir))
}

/// Runs every case through `writer`, except known gaps; fails listing every violation.
fn conforms(writer_name: &str) {
    let writer = WRITERS.iter().find(|w| w.name == writer_name).unwrap();
    let failures: Vec<String> = cases()
        .iter()
        .filter(|c| !is_known_gap(&c.name, writer.name))
        .filter_map(|c| {
            through(c, writer)
                .err()
                .map(|e| format!("{} through {}: {e}", c.name, writer.name))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pastis_writer_conforms() {
    conforms("pastis");
}

#[test]
fn zarr_v3_writer_conforms() {
    conforms("zarr3");
}

#[test]
fn zarr_v2_writer_conforms() {
    conforms("zarr2");
}

#[test]
fn hdf5_writer_conforms() {
    conforms("hdf5");
}

#[test]
fn geotiff_writer_conforms() {
    conforms("geotiff");
}

/// PASTIS -> Zarr -> HDF5 -> PASTIS: `verify` finds every step identical to the source, and Zarr
/// and HDF5 identical to each other.
fn chain(case: &Case) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    case.write(&src);
    let (zarr, h5, back) = (
        dir.path().join("a.zarr"),
        dir.path().join("b.h5"),
        dir.path().join("back"),
    );
    for (from, to, args) in [
        (&src, &zarr, &["--to", "zarr"]),
        (&zarr, &h5, &["--to", "hdf5"]),
        (&h5, &back, &["--to", "pastis"]),
    ] {
        let common::cli::Outcome { code, stderr, .. } = convert(from, to, args);
        if code != 0 {
            return Err(format!(
                "{} -> {} exits {code}: {}",
                from.display(),
                to.display(),
                stderr.trim()
            ));
        }
    }
    verify(&src, &zarr)?;
    verify(&zarr, &h5)?;
    verify(&src, &back)
}

#[test]
fn zarr_to_hdf5_to_pastis_chain_is_identical_for_every_case() {
    let failures: Vec<String> = cases()
        .iter()
        .filter(|c| {
            !c.refused_by
                .iter()
                .any(|w| w.starts_with("zarr") || *w == "hdf5")
        })
        .filter(|c| !is_known_gap(&c.name, "chain"))
        .filter_map(|c| chain(c).err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn refusals_are_the_same_whichever_writer() {
    for case in cases().iter().filter(|c| !c.refused_by.is_empty()) {
        let refusals: BTreeMap<&str, String> = WRITERS
            .iter()
            .filter(|w| case.is_refused_by(w.name) && !is_known_gap(&case.name, w.name))
            .map(|w| {
                let refusal = through(case, w)
                    .unwrap_or_else(|e| panic!("{} through {}: {e}", case.name, w.name))
                    .unwrap_or_else(|| panic!("{} through {}: not refused", case.name, w.name));
                (w.name, refusal)
            })
            .collect();
        let distinct: std::collections::BTreeSet<&String> = refusals.values().collect();
        assert!(
            distinct.len() <= 1,
            "{}: the writers refuse differently: {refusals:#?}",
            case.name
        );
    }
}

#[test]
fn known_gaps_are_still_gaps() {
    let all = cases();
    for (case_name, writer_name, observed) in KNOWN_GAPS {
        let case = all
            .iter()
            .find(|c| c.name == *case_name)
            .unwrap_or_else(|| panic!("KNOWN_GAPS names an unknown case {case_name}"));
        let result = match *writer_name {
            "chain" => chain(case),
            name => {
                let writer = WRITERS
                    .iter()
                    .find(|w| w.name == name)
                    .unwrap_or_else(|| panic!("KNOWN_GAPS names an unknown writer {name}"));
                through(case, writer).map(|_| ())
            }
        };
        assert!(
            result.is_err(),
            "{case_name} through {writer_name} conforms now (was: {observed}): remove it from KNOWN_GAPS"
        );
    }
}

/// `--keep-going` skips the patches a stacked writer cannot stack with the others (exit 1, each
/// named with the reason) and writes the rest, which read back exactly.
#[test]
fn keep_going_skips_the_patches_that_cannot_be_stacked() {
    let all = cases();
    for name in ["not-stackable-dtype", "not-stackable-shape"] {
        let case = all.iter().find(|c| c.name == name).unwrap();
        for writer in WRITERS.iter().filter(|w| case.is_refused_by(w.name)) {
            let dir = tempfile::tempdir().unwrap();
            let src = dir.path().join("src");
            case.write(&src);
            let out = dir.path().join(writer.output);
            let mut args = writer.args.to_vec();
            args.push("--keep-going");
            let common::cli::Outcome { code, stderr, .. } = convert(&src, &out, &args);
            assert_eq!(code, 1, "{name} through {}: {stderr}", writer.name);
            assert!(
                stderr.contains("patch 2") && stderr.contains("cannot be stacked"),
                "{name} through {}: {stderr}",
                writer.name
            );
            let reader = formats::open(&out).unwrap();
            assert_eq!(
                reader.metadata().ids(),
                vec![1],
                "{name} through {}",
                writer.name
            );
            let patch = reader
                .read_patch(1, &pastis_bridge::model::Layer::ALL)
                .unwrap();
            for (layer, array) in &case.patches[0].arrays {
                assert!(same_bits(array, &patch.arrays[layer]), "{name}: {layer}");
            }
        }
    }
}

/// The carrier itself: the PASTIS folder of every case reads back, through the library's reader
/// and the pipeline's validation, to exactly the builder's arrays and metadata (or to the refusal every writer must give).
#[test]
fn every_case_is_carried_by_its_pastis_folder_bit_for_bit() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        case.write(dir.path().join("src").as_path());
        let reader = formats::open(&dir.path().join("src")).unwrap();
        assert_eq!(reader.metadata(), &case.meta, "{}", case.name);
        let refused_by_all = WRITERS.iter().all(|w| case.is_refused_by(w.name));
        let mut refused_patches = 0;
        for patch in &case.patches {
            // Read and validated as the pipeline does (readers return patches as stored).
            let source = pastis_bridge::pipeline::Reading(reader.as_ref());
            let read = pastis_bridge::pipeline::produce(
                &source,
                &patch.meta,
                &pastis_bridge::model::Layer::ALL,
            );
            if refused_by_all {
                // A refused case holds at least one patch the pipeline refuses; its other
                // patches may be fine.
                refused_patches += usize::from(read.is_err());
                continue;
            }
            let read = read.unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(
                read.arrays.keys().collect::<Vec<_>>(),
                patch.arrays.keys().collect::<Vec<_>>(),
                "{}",
                case.name
            );
            for (layer, array) in &patch.arrays {
                assert!(
                    same_bits(array, &read.arrays[layer]),
                    "{}: {layer} of patch {}",
                    case.name,
                    patch.id()
                );
            }
        }
        assert!(
            !refused_by_all || refused_patches > 0,
            "{}: every patch reads, but every writer must refuse the case",
            case.name
        );
    }
}
