//! Georeferencing: each patch's pixel grid, recovered from its footprint.
//!
//! PASTIS stores footprints in Lambert-93, but the pixels lie on the Sentinel-2 tile's UTM grid.
//! [`patch_grid`] transforms the footprint to the tile's UTM zone, snaps it to the 10 m grid and
//! returns a north-up geotransform there; without a known tile it fits an affine transform to the
//! footprint in its own CRS.
//!
//! Footprints are taken to be in Lambert-93 (EPSG:2154), the CRS of PASTIS' metadata.geojson.

use crate::model::PatchMeta;
use crate::{Error, Result};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use geojson::GeometryValue;

/// EPSG code of the footprints' CRS (RGF93 / Lambert-93).
pub const FOOTPRINT_EPSG: u32 = 2154;

/// Spacing of the Sentinel-2 UTM grid the origins are snapped to, in metres.
pub const GRID_M: f64 = 10.0;

/// Largest `corner_error_m` for which a grid is considered exact (a tenth of a 10 m pixel).
pub const CORNER_TOLERANCE_M: f64 = 1.0;

/// A patch's pixel grid: CRS and GDAL geotransform.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchGrid {
    /// EPSG code of the grid's CRS (32630 for UTM 30N...).
    pub epsg: u32,
    /// GDAL geotransform `[x0, dx, rx, y0, ry, dy]` of the pixel corners.
    pub geotransform: [f64; 6],
    /// Largest distance, in metres, between a raster corner transformed back to the footprint's
    /// CRS and the nearest footprint vertex.
    pub corner_error_m: f64,
}

impl PatchGrid {
    /// True when the raster's corners match the footprint to within [`CORNER_TOLERANCE_M`].
    pub fn is_exact(&self) -> bool {
        self.corner_error_m <= CORNER_TOLERANCE_M
    }

    /// The four raster corners (UL, UR, LR, LL) of a `height` x `width` grid, in the grid's CRS.
    pub fn corners(&self, height: usize, width: usize) -> [(f64, f64); 4] {
        let (w, h) = (width as f64, height as f64);
        [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)].map(|(p, l)| apply(&self.geotransform, p, l))
    }
}

/// The grid of a `height` x `width` patch, or `None` when the patch has no footprint.
///
/// With a tile name that gives a UTM zone (`t30uxv` → EPSG:32630), the grid is north-up in that
/// zone, its pixel size the footprint's extent over the raster size (rounded to whole metres when
/// within 5 cm of them) and its origin snapped to the 10 m Sentinel-2 grid ([`GRID_M`]). Otherwise the grid is an affine
/// transform fitted to the footprint's corners in Lambert-93.
pub fn patch_grid(meta: &PatchMeta, height: usize, width: usize) -> Result<Option<PatchGrid>> {
    let Some(footprint) = &meta.footprint else {
        return Ok(None);
    };
    if height == 0 || width == 0 {
        return Err(Error::patch(meta.id, "cannot georeference an empty raster"));
    }
    let vertices = exterior_vertices(&footprint.value)
        .ok_or_else(|| Error::patch(meta.id, "footprint is not a polygon with 3+ vertices"))?;
    let gdal_err = |e: gdal::errors::GdalError| Error::patch(meta.id, format!("GDAL: {e}"));
    let grid = match meta.tile.as_deref().and_then(utm_epsg) {
        Some(epsg) => utm_grid(&vertices, epsg, height, width).map_err(gdal_err)?,
        None => affine_grid(&vertices, height, width),
    };
    Ok(Some(grid))
}

/// The EPSG code of the UTM zone of a Sentinel-2 tile name (`t30uxv`, `31TFJ`), if it is one.
pub fn utm_epsg(tile: &str) -> Option<u32> {
    let name = tile.trim().to_ascii_lowercase();
    let name = name.strip_prefix('t').unwrap_or(&name);
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    let zone: u32 = digits.parse().ok().filter(|z| (1..=60).contains(z))?;
    let band = name[digits.len()..].chars().next()?;
    match band {
        'c'..='m' if band != 'i' => Some(32700 + zone),
        'n'..='x' if band != 'o' => Some(32600 + zone),
        _ => None,
    }
}

/// A spatial reference for `epsg`, in (x, y) = (easting/lon, northing/lat) order.
pub fn spatial_ref(epsg: u32) -> gdal::errors::Result<SpatialRef> {
    let mut srs = SpatialRef::from_epsg(epsg)?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

/// The vertices of the first polygon's exterior ring, closing vertex dropped.
fn exterior_vertices(geometry: &GeometryValue) -> Option<Vec<(f64, f64)>> {
    let ring = match geometry {
        GeometryValue::Polygon { coordinates } => coordinates.first()?,
        GeometryValue::MultiPolygon { coordinates } => coordinates.first()?.first()?,
        _ => return None,
    };
    let mut points: Vec<(f64, f64)> = ring
        .iter()
        .filter(|p| p.len() >= 2)
        .map(|p| (p[0], p[1]))
        .collect();
    if points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    let finite = points.iter().all(|(x, y)| x.is_finite() && y.is_finite());
    (points.len() >= 3 && finite).then_some(points)
}

/// A north-up grid in UTM zone `epsg`, snapped, with its corner error measured in Lambert-93.
fn utm_grid(
    vertices: &[(f64, f64)],
    epsg: u32,
    height: usize,
    width: usize,
) -> gdal::errors::Result<PatchGrid> {
    let (lambert, utm) = (spatial_ref(FOOTPRINT_EPSG)?, spatial_ref(epsg)?);
    let projected = transform(&CoordTransform::new(&lambert, &utm)?, vertices)?;
    let (min_x, max_x) = extent(projected.iter().map(|p| p.0));
    let (min_y, max_y) = extent(projected.iter().map(|p| p.1));
    let dx = whole_metres((max_x - min_x) / width as f64);
    let dy = whole_metres((max_y - min_y) / height as f64);
    let (x0, y0) = (snap(min_x), snap(max_y));
    let mut grid = PatchGrid {
        epsg,
        geotransform: [x0, dx, 0.0, y0, 0.0, -dy],
        corner_error_m: 0.0,
    };
    let back = CoordTransform::new(&utm, &lambert)?;
    let corners = transform(&back, &grid.corners(height, width))?;
    grid.corner_error_m = corner_error(&corners, vertices);
    Ok(grid)
}

/// An affine grid in Lambert-93 through the footprint's upper-left, upper-right and lower-left
/// corners (a rotated square's extreme vertices).
fn affine_grid(vertices: &[(f64, f64)], height: usize, width: usize) -> PatchGrid {
    let pick = |key: fn(&(f64, f64)) -> f64| {
        let best = vertices.iter().min_by(|a, b| key(a).total_cmp(&key(b)));
        best.copied().unwrap_or((0.0, 0.0))
    };
    let ul = pick(|p| p.0 - p.1);
    let ur = pick(|p| -(p.0 + p.1));
    let ll = pick(|p| p.0 + p.1);
    let (w, h) = (width as f64, height as f64);
    let geotransform = [
        ul.0,
        (ur.0 - ul.0) / w,
        (ll.0 - ul.0) / h,
        ul.1,
        (ur.1 - ul.1) / w,
        (ll.1 - ul.1) / h,
    ];
    let mut grid = PatchGrid {
        epsg: FOOTPRINT_EPSG,
        geotransform,
        corner_error_m: 0.0,
    };
    grid.corner_error_m = corner_error(&grid.corners(height, width), vertices);
    grid
}

/// Applies a GDAL geotransform to pixel/line coordinates.
fn apply(gt: &[f64; 6], pixel: f64, line: f64) -> (f64, f64) {
    (
        gt[0] + pixel * gt[1] + line * gt[2],
        gt[3] + pixel * gt[4] + line * gt[5],
    )
}

/// Transforms points with `ct`.
fn transform(ct: &CoordTransform, points: &[(f64, f64)]) -> gdal::errors::Result<Vec<(f64, f64)>> {
    let mut xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let mut ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    ct.transform_coords(&mut xs, &mut ys, &mut [])?;
    Ok(xs.into_iter().zip(ys).collect())
}

/// Minimum and maximum of some values.
fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// `size` rounded to whole metres when within 5 cm of them (10 m pixels stay exactly 10).
fn whole_metres(size: f64) -> f64 {
    let rounded = size.round();
    if rounded > 0.0 && (size - rounded).abs() < 0.05 {
        rounded
    } else {
        size
    }
}

/// `value` snapped to the Sentinel-2 grid (the nearest multiple of [`GRID_M`]).
fn snap(value: f64) -> f64 {
    (value / GRID_M).round() * GRID_M
}

/// Largest distance from a corner to its nearest footprint vertex.
fn corner_error(corners: &[(f64, f64)], vertices: &[(f64, f64)]) -> f64 {
    let nearest = |c: &(f64, f64)| {
        let d = vertices.iter().map(|v| (v.0 - c.0).hypot(v.1 - c.1));
        d.fold(f64::INFINITY, f64::min)
    };
    corners.iter().map(nearest).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geojson::Geometry;

    /// A `size` m UTM square with upper-left corner (x0, y0), as a Lambert-93 MultiPolygon.
    fn footprint(epsg: u32, x0: f64, y0: f64, size: f64) -> Geometry {
        let corners = [
            (x0, y0),
            (x0 + size, y0),
            (x0 + size, y0 - size),
            (x0, y0 - size),
        ];
        let ct = CoordTransform::new(&spatial_ref(epsg).unwrap(), &spatial_ref(2154).unwrap());
        let mut ring: Vec<Vec<f64>> = transform(&ct.unwrap(), &corners)
            .unwrap()
            .into_iter()
            .map(|(x, y)| vec![x, y])
            .collect();
        ring.push(ring[0].clone());
        let ring = ring.into_iter().map(Into::into).collect();
        Geometry::new(GeometryValue::MultiPolygon {
            coordinates: vec![vec![ring]],
        })
    }

    fn meta(tile: Option<&str>, footprint: Option<Geometry>) -> PatchMeta {
        let mut meta = PatchMeta::new(10000);
        meta.tile = tile.map(String::from);
        meta.footprint = footprint;
        meta
    }

    fn assert_close(a: &[f64; 6], b: &[f64; 6], tol: f64) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= tol, "{a:?} != {b:?}");
        }
    }

    #[test]
    fn tile_names_give_utm_zones() {
        assert_eq!(utm_epsg("t30uxv"), Some(32630));
        assert_eq!(utm_epsg("t31tfj"), Some(32631));
        assert_eq!(utm_epsg("32ULU"), Some(32632));
        assert_eq!(utm_epsg("t55hbd"), Some(32755));
        assert_eq!(utm_epsg("t61uxv"), None);
        assert_eq!(utm_epsg("tile"), None);
        assert_eq!(utm_epsg(""), None);
        assert_eq!(utm_epsg("t30"), None);
    }

    #[test]
    fn recovers_the_exact_utm_origin() {
        for (tile, epsg, x0, y0) in [
            ("t30uxv", 32630, 641_230.0, 5_301_270.0),
            ("t31tfj", 32631, 702_560.0, 4_871_930.0),
            ("t32ulu", 32632, 310_080.0, 5_390_020.0),
        ] {
            let meta = meta(Some(tile), Some(footprint(epsg, x0, y0, 1280.0)));
            let grid = patch_grid(&meta, 128, 128).unwrap().unwrap();
            assert_eq!(grid.epsg, epsg);
            assert_close(&grid.geotransform, &[x0, 10.0, 0.0, y0, 0.0, -10.0], 1e-6);
            assert!(
                grid.corner_error_m < 0.01,
                "{tile}: {}",
                grid.corner_error_m
            );
            assert!(grid.is_exact());
        }
    }

    #[test]
    fn pixel_size_follows_the_raster_size() {
        let meta = meta(
            Some("t30uxv"),
            Some(footprint(32630, 641_230.0, 5_301_270.0, 1280.0)),
        );
        let grid = patch_grid(&meta, 64, 64).unwrap().unwrap();
        let expected = [641_230.0, 20.0, 0.0, 5_301_270.0, 0.0, -20.0];
        assert_close(&grid.geotransform, &expected, 1e-6);
        assert!(grid.is_exact(), "{}", grid.corner_error_m);
        let odd = patch_grid(&meta, 100, 100).unwrap().unwrap();
        assert_close(
            &odd.geotransform,
            &[641_230.0, 12.8, 0.0, 5_301_270.0, 0.0, -12.8],
            1e-6,
        );
    }

    #[test]
    fn without_a_tile_fits_the_footprint_in_lambert93() {
        let fp = footprint(32630, 641_230.0, 5_301_270.0, 1280.0);
        let grid = patch_grid(&meta(None, Some(fp.clone())), 128, 128)
            .unwrap()
            .unwrap();
        assert_eq!(grid.epsg, 2154);
        assert!(grid.corner_error_m < 0.05, "{}", grid.corner_error_m);
        let unknown = patch_grid(&meta(Some("nowhere"), Some(fp)), 128, 128).unwrap();
        assert_eq!(unknown.unwrap().epsg, 2154);
    }

    #[test]
    fn a_footprint_that_is_not_the_raster_is_flagged() {
        let mut fp = footprint(32630, 641_230.0, 5_301_270.0, 1280.0);
        if let GeometryValue::MultiPolygon { coordinates } = &mut fp.value {
            coordinates[0][0][2].as_slice_mut()[0] += 200.0;
        }
        let grid = patch_grid(&meta(Some("t30uxv"), Some(fp)), 128, 128)
            .unwrap()
            .unwrap();
        assert!(grid.corner_error_m > 50.0, "{}", grid.corner_error_m);
        assert!(!grid.is_exact());
    }

    #[test]
    fn no_footprint_no_grid_and_bad_footprints_are_errors() {
        assert_eq!(
            patch_grid(&meta(Some("t30uxv"), None), 128, 128).unwrap(),
            None
        );
        let point = Geometry::new(GeometryValue::new_point([1.0, 2.0]));
        let err = patch_grid(&meta(None, Some(point)), 128, 128).unwrap_err();
        assert!(err.to_string().contains("patch 10000"), "{err}");
        let fp = footprint(32630, 641_230.0, 5_301_270.0, 1280.0);
        assert!(patch_grid(&meta(None, Some(fp)), 0, 128).is_err());
    }
}
