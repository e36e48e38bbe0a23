//! From traced pixel rings to georeferenced geo-types polygons, and coordinate transforms.

use super::trace::{LabelShape, PixelPolygon};
use crate::{Error, Result};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use std::path::Path;

/// A GDAL geotransform `[x0, dx, rx, y0, ry, dy]`.
pub type GeoTransform = [f64; 6];

/// The shape's polygons with pixel corners mapped through `gt`, oriented as RFC 7946 asks
/// (exteriors counter-clockwise, holes clockwise, in the output coordinates).
pub fn to_multipolygon(shape: &LabelShape, gt: &GeoTransform) -> MultiPolygon<f64> {
    // Traced exteriors have positive area with y down; a transform that keeps handedness keeps
    // that sign (counter-clockwise in x-right/y-up terms), a north-up one (dy < 0) flips it.
    let flip = gt[1] * gt[5] - gt[2] * gt[4] < 0.0;
    MultiPolygon(
        shape
            .polygons
            .iter()
            .map(|p| to_polygon(p, gt, flip))
            .collect(),
    )
}

fn to_polygon(p: &PixelPolygon, gt: &GeoTransform, flip: bool) -> Polygon<f64> {
    let ring = |r: &Vec<[i32; 2]>| {
        let mut coords: Vec<Coord<f64>> = r.iter().map(|&[x, y]| apply(gt, x, y)).collect();
        if flip {
            coords.reverse();
        }
        LineString(coords)
    };
    Polygon::new(ring(&p.exterior), p.holes.iter().map(ring).collect())
}

/// Pixel corner (column `x`, row `y`) to world coordinates.
fn apply(gt: &GeoTransform, x: i32, y: i32) -> Coord<f64> {
    let (x, y) = (x as f64, y as f64);
    Coord {
        x: gt[0] + x * gt[1] + y * gt[2],
        y: gt[3] + x * gt[4] + y * gt[5],
    }
}

/// World coordinates to fractional pixel coordinates (column, row), or `None` if `gt` is singular.
pub fn inverse(gt: &GeoTransform) -> Option<impl Fn(Coord<f64>) -> Coord<f64>> {
    let det = gt[1] * gt[5] - gt[2] * gt[4];
    if det == 0.0 || !det.is_finite() {
        return None;
    }
    let gt = *gt;
    Some(move |c: Coord<f64>| {
        let (dx, dy) = (c.x - gt[0], c.y - gt[3]);
        Coord {
            x: (gt[5] * dx - gt[2] * dy) / det,
            y: (gt[1] * dy - gt[4] * dx) / det,
        }
    })
}

/// A spatial reference from an EPSG code, in longitude/easting-first axis order.
pub fn srs(epsg: u32, path: &Path) -> Result<SpatialRef> {
    let mut srs = SpatialRef::from_epsg(epsg).map_err(|e| Error::library(path, "GDAL", e))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

/// A coordinate transformation between two spatial references (x/lon first on both sides).
pub fn transform(from: &SpatialRef, to: &SpatialRef, path: &Path) -> Result<CoordTransform> {
    CoordTransform::new(from, to).map_err(|e| Error::library(path, "GDAL", e))
}

/// Transforms every coordinate of `mp` in place with one call to GDAL.
pub fn reproject(mp: &mut MultiPolygon<f64>, ct: &CoordTransform, path: &Path) -> Result<()> {
    let rings = || {
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
    };
    let (mut xs, mut ys): (Vec<f64>, Vec<f64>) =
        rings().flat_map(|r| r.0.iter().map(|c| (c.x, c.y))).unzip();
    ct.transform_coords(&mut xs, &mut ys, &mut [])
        .map_err(|e| Error::library(path, "GDAL", e))?;
    let mut i = 0;
    for p in mp.0.iter_mut() {
        p.exterior_mut(|r| set(r, &xs, &ys, &mut i));
        p.interiors_mut(|rs| rs.iter_mut().for_each(|r| set(r, &xs, &ys, &mut i)));
    }
    Ok(())
}

fn set(r: &mut LineString<f64>, xs: &[f64], ys: &[f64], i: &mut usize) {
    for c in r.0.iter_mut() {
        *c = Coord {
            x: xs[*i],
            y: ys[*i],
        };
        *i += 1;
    }
}
