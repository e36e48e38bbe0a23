//! Georeferencing checks of `inspect`: each patch's footprint must give its pixel grid
//! ([`crate::georef::recover_grid`]); every [`GeorefProblem`] becomes a [`Problem`].

use super::{Problem, ProblemKind};
use crate::georef::{recover_grid, spatial_ref, FootprintCrs, GeorefProblem};
use crate::model::{ArraySpec, Layer, PatchMeta, SpotGeoref};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use std::collections::BTreeMap;

/// The problem, if any, of georeferencing a patch whose arrays are `specs` (raster size from
/// their last two axes; a patch without 2-D arrays is not checked).
pub fn check_patch_georef(
    crs: Result<FootprintCrs, &GeorefProblem>,
    meta: &PatchMeta,
    specs: &BTreeMap<Layer, ArraySpec>,
) -> Option<Problem> {
    let crs = crs.ok()?;
    let (rows, columns) = patch_size(specs)?;
    recover_grid(crs, meta, rows, columns)
        .err()
        .map(|p| georef_problem(&p))
}

/// The raster size of a patch's 10 m layers (not SPOT, on its own grid), from their specs.
fn patch_size(specs: &BTreeMap<Layer, ArraySpec>) -> Option<(usize, usize)> {
    specs
        .iter()
        .filter(|(l, _)| !l.has_own_grid())
        .find_map(|(_, s)| match s.shape.as_slice() {
            [.., h, w] if *h > 0 && *w > 0 => Some((*h, *w)),
            _ => None,
        })
}

/// How far, in metres, a SPOT image's footprint may be from its patch's 10 m grid: one pixel of
/// the coarser grid (issue #20).
pub const SPOT_TOLERANCE_M: f64 = 10.0;

/// The problem, if any, of a patch's SPOT image whose footprint is more than
/// [`SPOT_TOLERANCE_M`] from the patch's recovered 10 m grid on some side. Compared in the SPOT
/// image's own CRS, where its raster is axis-aligned: its bounds against the extent of the grid's
/// corners taken there (the same numbers when SPOT is on the grid's UTM zone). Not checked when
/// the patch's grid cannot be recovered (that is its own problem) or it has no 10 m layer.
pub fn check_spot_footprint(
    crs: Result<FootprintCrs, &GeorefProblem>,
    meta: &PatchMeta,
    specs: &BTreeMap<Layer, ArraySpec>,
    spot: &SpotGeoref,
) -> Option<Problem> {
    let (rows, columns) = patch_size(specs)?;
    let grid = recover_grid(crs.ok()?, meta, rows, columns).ok()?;
    let [_, spot_rows, spot_columns] = specs.get(&Layer::Spot)?.shape.as_slice() else {
        return None;
    };
    let found = spot.bounds(*spot_rows, *spot_columns);
    let message = match grid_extent_in(spot, grid.epsg, grid.corners(rows, columns)) {
        Err(why) => Some(why),
        Ok(expected) => {
            let gaps = [
                (found.0 - expected.0).abs(),
                (found.1 - expected.1).abs(),
                (found.2 - expected.2).abs(),
                (found.3 - expected.3).abs(),
            ];
            let worst = max(&gaps);
            let crs = match spot.epsg {
                Some(code) => format!("EPSG:{code}"),
                None => "its CRS".into(),
            };
            (worst > SPOT_TOLERANCE_M).then(|| {
                format!(
                    "SPOT footprint x {:.1}..{:.1}, y {:.1}..{:.1} ({crs}) is {worst:.1} m from the \
                     patch's 10 m grid x {:.1}..{:.1}, y {:.1}..{:.1}: more than one 10 m pixel",
                    found.0, found.2, found.1, found.3, expected.0, expected.2, expected.1, expected.3
                )
            })
        }
    }?;
    Some(Problem {
        kind: ProblemKind::Georef,
        path: None,
        patch: Some(meta.id),
        layer: Some(Layer::Spot),
        message,
    })
}

/// The extent `(xmin, ymin, xmax, ymax)` of the grid's `corners` (in UTM `epsg`) in the SPOT
/// image's CRS. `Err` says why it cannot be had (no CRS, one GDAL does not read).
fn grid_extent_in(
    spot: &SpotGeoref,
    epsg: u32,
    corners: [(f64, f64); 4],
) -> Result<(f64, f64, f64, f64), String> {
    if spot.crs_wkt.is_empty() {
        return Err("the SPOT image has no CRS: its footprint cannot be checked".into());
    }
    let mut xs = corners.map(|c| c.0);
    let mut ys = corners.map(|c| c.1);
    let transformed = (|| {
        let mut target = SpatialRef::from_wkt(&spot.crs_wkt)?;
        target.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let source = spatial_ref(epsg)?;
        CoordTransform::new(&source, &target)?.transform_coords(&mut xs, &mut ys, &mut [])
    })();
    transformed
        .map_err(|e| format!("the patch's grid cannot be taken to the SPOT image's CRS: {e}"))?;
    Ok((min(&xs), min(&ys), max(&xs), max(&ys)))
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
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
