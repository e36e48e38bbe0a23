//! File-level checks of a PASTIS folder: what is missing, what does not belong, what cannot be read.

use super::{check_patch, specs_of, PatchFindings, Problem, ProblemKind};
use crate::formats::pastis::{array_path, parse_file_name, PastisReader, FOLDERS, METADATA_FILE};
use crate::formats::spot::{parse_spot_file_name, read_spot, spot_file_pattern, SPOT_FOLDER};
use crate::formats::DatasetReader;
use crate::model::{Array, Layer, Patch, PatchMeta, SpotGeoref};
use crate::npy;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

fn problem(
    kind: ProblemKind,
    path: PathBuf,
    patch: Option<i64>,
    layer: Option<Layer>,
    message: impl Into<String>,
) -> Problem {
    Problem {
        kind,
        path: Some(path),
        patch,
        layer,
        message: message.into(),
    }
}

/// Scans the folder: hidden and stray files, files of unknown patches, missing files.
pub fn check_files(reader: &PastisReader) -> Vec<Problem> {
    let root = reader.root();
    let ids: HashSet<i64> = reader.metadata().patches.iter().map(|p| p.id).collect();
    let mut problems = check_root(root);
    let mut found: BTreeMap<Layer, BTreeSet<i64>> = BTreeMap::new();
    for folder in FOLDERS {
        let dir = root.join(folder);
        for (path, name) in list(&dir) {
            if name.starts_with('.') {
                problems.push(problem(
                    ProblemKind::HiddenFile,
                    path,
                    None,
                    None,
                    "hidden file; not part of the dataset",
                ));
            } else if let Some((layer, id)) = parse_file_name(folder, &name) {
                if !ids.contains(&id) {
                    problems.push(problem(
                        ProblemKind::UnknownPatch,
                        path,
                        Some(id),
                        Some(layer),
                        format!("patch {id} is not listed in metadata.geojson"),
                    ));
                }
                found.entry(layer).or_default().insert(id);
            } else {
                problems.push(problem(
                    ProblemKind::StrayFile,
                    path,
                    None,
                    None,
                    format!("unexpected name in {folder}/ (expected {{LAYER}}_{{ID_PATCH}}.npy)"),
                ));
            }
        }
    }
    check_spot_folder(root, &ids, &mut found, &mut problems);
    for (layer, present) in &found {
        for p in &reader.metadata().patches {
            if !present.contains(&p.id) {
                let path = array_path(root, *layer, p.id);
                problems.push(problem(
                    ProblemKind::MissingFile,
                    path,
                    Some(p.id),
                    Some(*layer),
                    format!(
                        "missing: the dataset has {layer} for {} patches but not this one",
                        present.len()
                    ),
                ));
            }
        }
    }
    problems
}

/// The SPOT images of PASTIS-HD (`DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/`): hidden and stray
/// entries, images of patches metadata does not list; the images found go into `found`.
fn check_spot_folder(
    root: &Path,
    ids: &HashSet<i64>,
    found: &mut BTreeMap<Layer, BTreeSet<i64>>,
    problems: &mut Vec<Problem>,
) {
    let images = root.join(SPOT_FOLDER);
    let expected = images.file_name().map(|n| n.to_string_lossy().into_owned());
    for (path, name) in list(&root.join(Layer::Spot.folder())) {
        if Some(&name) != expected.as_ref() || !path.is_dir() {
            problems.push(foreign(
                path,
                &name,
                "DATA_SPOT/ (expected PASTIS_SPOT6_RVB_1M00_2019/)",
            ));
        }
    }
    for (path, name) in list(&images) {
        match parse_spot_file_name(&name) {
            Some(id) if !name.starts_with('.') => {
                if !ids.contains(&id) {
                    problems.push(problem(
                        ProblemKind::UnknownPatch,
                        path,
                        Some(id),
                        Some(Layer::Spot),
                        format!("patch {id} is not listed in metadata.geojson"),
                    ));
                }
                found.entry(Layer::Spot).or_default().insert(id);
            }
            _ => problems.push(foreign(
                path,
                &name,
                &format!("{SPOT_FOLDER}/ (expected {})", spot_file_pattern()),
            )),
        }
    }
}

/// A hidden or stray entry of a folder (`place` says which, and what it expects).
fn foreign(path: PathBuf, name: &str, place: &str) -> Problem {
    match name.starts_with('.') {
        true => problem(
            ProblemKind::HiddenFile,
            path,
            None,
            None,
            "hidden file; not part of the dataset",
        ),
        false => problem(
            ProblemKind::StrayFile,
            path,
            None,
            None,
            format!("unexpected name in {place}"),
        ),
    }
}

fn check_root(root: &Path) -> Vec<Problem> {
    list(root)
        .into_iter()
        .filter(|(path, name)| {
            let known = name == METADATA_FILE
                || Layer::SERIES
                    .iter()
                    .any(|l| l.norm_file() == Some(name.as_str()))
                || ((FOLDERS.contains(&name.as_str()) || name == Layer::Spot.folder())
                    && path.is_dir());
            !known
        })
        .map(|(path, name)| {
            if name.starts_with('.') {
                problem(
                    ProblemKind::HiddenFile,
                    path,
                    None,
                    None,
                    "hidden file; not part of the dataset",
                )
            } else {
                problem(
                    ProblemKind::StrayFile,
                    path,
                    None,
                    None,
                    "not part of the PASTIS layout",
                )
            }
        })
        .collect()
}

fn list(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut entries: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| (e.path(), e.file_name().to_string_lossy().into_owned()))
        .collect();
    entries.sort();
    entries
}

/// Reads every file of one patch, reporting unreadable ones, then checks the arrays read.
pub fn check_patch_files(root: &Path, meta: &PatchMeta) -> PatchFindings {
    let mut problems = Vec::new();
    let mut patch = Patch {
        meta: meta.clone(),
        arrays: BTreeMap::new(),
        spot: None,
    };
    for layer in Layer::ALL {
        let path = array_path(root, layer, meta.id);
        // A directory, a broken link or a FIFO where the file should be is a problem, not an
        // absent layer.
        match crate::formats::pastis::file_present(&path)
            .and_then(|present| present.then(|| read_file(layer, &path)).transpose())
        {
            Ok(None) => {}
            Ok(Some((array, spot))) => {
                patch.arrays.insert(layer, array);
                patch.spot = spot.or(patch.spot.take());
            }
            Err(e) => problems.push(Problem {
                kind: ProblemKind::Unreadable,
                message: without_path(&e.report(), &path),
                path: Some(path),
                patch: Some(meta.id),
                layer: Some(layer),
            }),
        }
    }
    problems.extend(check_patch(&patch).into_iter().map(|mut p| {
        if let (None, Some(layer)) = (&p.path, p.layer) {
            p.path = Some(array_path(root, layer, meta.id));
        }
        p
    }));
    (specs_of(&patch), problems, patch.spot)
}

/// Reads one file of a patch: a `.npy`, or the SPOT GeoTIFF with its georeferencing.
fn read_file(layer: Layer, path: &Path) -> crate::Result<(Array, Option<SpotGeoref>)> {
    match layer {
        Layer::Spot => read_spot(path).map(|(image, georef)| (image, Some(georef))),
        _ => npy::read_npy(path).map(|array| (array, None)),
    }
}

/// A dataset-level file that cannot be read (a NORM file), as a problem naming it.
pub fn unreadable_file(error: crate::Error) -> Problem {
    let path = match &error {
        crate::Error::Invalid { path, .. } | crate::Error::Io { path, .. } => Some(path.clone()),
        _ => None,
    };
    let report = error.report();
    Problem {
        kind: ProblemKind::Unreadable,
        message: match &path {
            Some(p) => without_path(&report, p),
            None => report,
        },
        path,
        patch: None,
        layer: None,
    }
}

/// An error message without the leading `PATH: ` (the report shows the path beside it).
fn without_path(message: &str, path: &Path) -> String {
    let prefix = format!("{}: ", path.display());
    message.strip_prefix(&prefix).unwrap_or(message).to_string()
}
