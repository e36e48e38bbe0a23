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

/// The problem, if any, of a patch's SPOT image whose footprint (its own CRS and geotransform,
/// taken to the patch's UTM zone) is more than [`SPOT_TOLERANCE_M`] from the patch's recovered
/// 10 m grid on some side. Not checked when the patch's grid cannot be recovered (that is its
/// own problem) or the patch has no 10 m layer.
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
    let message = match spot_bounds_in(spot, *spot_rows, *spot_columns, grid.epsg) {
        Err(why) => Some(why),
        Ok(found) => {
            let corners = grid.corners(rows, columns);
            let xs = corners.map(|c| c.0);
            let ys = corners.map(|c| c.1);
            let expected = (min(&xs), min(&ys), max(&xs), max(&ys));
            let gaps = [
                (found.0 - expected.0).abs(),
                (found.1 - expected.1).abs(),
                (found.2 - expected.2).abs(),
                (found.3 - expected.3).abs(),
            ];
            let worst = max(&gaps);
            (worst > SPOT_TOLERANCE_M).then(|| {
                format!(
                    "SPOT footprint x {:.1}..{:.1}, y {:.1}..{:.1} (EPSG:{}) is {worst:.1} m from the \
                     patch's 10 m grid x {:.1}..{:.1}, y {:.1}..{:.1}: more than one 10 m pixel",
                    found.0, found.2, found.1, found.3, grid.epsg,
                    expected.0, expected.2, expected.1, expected.3
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

/// The SPOT image's bounds `(xmin, ymin, xmax, ymax)` in `epsg`: its corners transformed from its
/// own CRS. `Err` says why they cannot be had (no CRS, one GDAL does not read).
fn spot_bounds_in(
    spot: &SpotGeoref,
    rows: usize,
    columns: usize,
    epsg: u32,
) -> Result<(f64, f64, f64, f64), String> {
    if spot.crs_wkt.is_empty() {
        return Err("the SPOT image has no CRS: its footprint cannot be checked".into());
    }
    let (x0, y0, x1, y1) = spot.bounds(rows, columns);
    let mut xs = [x0, x1, x1, x0];
    let mut ys = [y0, y0, y1, y1];
    let transformed = (|| {
        let mut source = SpatialRef::from_wkt(&spot.crs_wkt)?;
        source.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let target = spatial_ref(epsg)?;
        CoordTransform::new(&source, &target)?.transform_coords(&mut xs, &mut ys, &mut [])
    })();
    transformed.map_err(|e| format!("the SPOT image's CRS cannot be taken to EPSG:{epsg}: {e}"))?;
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
