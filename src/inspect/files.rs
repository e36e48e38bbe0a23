//! File-level checks of a PASTIS folder: what is missing, what does not belong, what cannot be read.

use super::{check_patch, specs_of, PatchFindings, Problem, ProblemKind};
use crate::formats::pastis::content::{survey_content, Foreign, ForeignKind};
use crate::formats::pastis::{array_path, PastisReader};
use crate::formats::spot::read_spot;
use crate::formats::DatasetReader;
use crate::model::{Array, Layer, Patch, PatchMeta, SpotGeoref};
use crate::npy;
use std::collections::{BTreeMap, HashSet};
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

/// Scans the folder: hidden and stray files, files of unknown patches, parts of other variants
/// of the dataset (the survey `convert` names as not carried), and missing files.
pub fn check_files(reader: &PastisReader) -> Vec<Problem> {
    let root = reader.root();
    let ids: HashSet<i64> = reader.metadata().patches.iter().map(|p| p.id).collect();
    let content = survey_content(root, &ids);
    let mut problems: Vec<Problem> = content.foreign.iter().map(foreign_problem).collect();
    for (layer, present) in &content.found {
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

/// A foreign entry of the folder as a problem.
fn foreign_problem(foreign: &Foreign) -> Problem {
    let (kind, patch, layer) = match foreign.kind {
        ForeignKind::Hidden => (ProblemKind::HiddenFile, None, None),
        ForeignKind::UnknownPatch { layer, id } => {
            (ProblemKind::UnknownPatch, Some(id), Some(layer))
        }
        ForeignKind::Stray { .. } | ForeignKind::Unsupported(_) => {
            (ProblemKind::StrayFile, None, None)
        }
    };
    problem(kind, foreign.path.clone(), patch, layer, foreign.reason())
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
