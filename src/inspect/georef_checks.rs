//! Georeferencing checks of `inspect`: each patch's footprint must give its pixel grid
//! ([`crate::georef::recover_grid`]); every [`GeorefProblem`] becomes a [`Problem`].

use super::{Problem, ProblemKind};
use crate::georef::{recover_grid, FootprintCrs, GeorefProblem};
use crate::model::{ArraySpec, Layer, PatchMeta};
use std::collections::BTreeMap;

/// The problem, if any, of georeferencing a patch whose arrays are `specs` (raster size from
/// their last two axes; a patch without 2-D arrays is not checked).
pub fn check_patch_georef(
    crs: Result<FootprintCrs, &GeorefProblem>,
    meta: &PatchMeta,
    specs: &BTreeMap<Layer, ArraySpec>,
) -> Option<Problem> {
    let crs = crs.ok()?;
    let (rows, columns) = specs.values().find_map(|s| match s.shape.as_slice() {
        [.., h, w] if *h > 0 && *w > 0 => Some((*h, *w)),
        _ => None,
    })?;
    recover_grid(crs, meta, rows, columns)
        .err()
        .map(|p| georef_problem(&p))
}

/// A [`GeorefProblem`] as an inspect [`Problem`] of kind `georef`.
pub fn georef_problem(problem: &GeorefProblem) -> Problem {
    let text = problem.to_string();
    let message = match problem.patch() {
        Some(id) => text
            .strip_prefix(&format!("patch {id}: "))
            .unwrap_or(&text)
            .to_string(),
        None => text,
    };
    Problem {
        kind: ProblemKind::Georef,
        path: None,
        patch: problem.patch(),
        layer: None,
        message,
    }
}
