//! Grid recovery: a footprint in its declared CRS → the patch's north-up 10 m grid in its UTM
//! zone, with every plausibility check on the way.

use super::crs::{quietly, spatial_ref, FootprintCrs};
use super::plausibility::{area_of_use, area_text, in_area, outside_tile, GeorefProblem};
use super::zone::{utm_epsg, zone_epsg};
use super::{PatchGrid, ZoneSource, CORNER_TOLERANCE_M, GRID_M};
use crate::model::PatchMeta;
use gdal::spatial_ref::{CoordTransform, SpatialRef};
use geojson::GeometryValue;

/// EPSG code of WGS84 longitude/latitude (read in the traditional order, like OGC CRS84).
const LONLAT_EPSG: u32 = 4326;

/// The grid of a `rows` x `columns` patch whose footprint is in `crs`.
///
/// The footprint's vertices are transformed from `crs` into the UTM zone of the patch's TILE
/// (or, without one, of the footprint's centre: [`zone_epsg`]), the upper-left corner of their
/// extent is snapped to the 10 m grid ([`GRID_M`]) and the grid is north-up with 10 m pixels.
///
/// Errors, in the order checked: [`GeorefProblem::EmptyRaster`], `NoFootprint`, `NotAPolygon`,
/// `MultiPart`, `BadRing`, `OutsideAreaOfUse` (a vertex outside the EPSG area of use of `crs`),
/// `NoZone`, `OutsideTileZone`, `NotPatchSquare` (a corner of the grid's square more than
/// [`CORNER_TOLERANCE_M`] from the footprint, or a footprint vertex that far from the square's
/// outline), `Gdal`.
pub fn recover_grid(
    crs: FootprintCrs,
    meta: &PatchMeta,
    rows: usize,
    columns: usize,
) -> Result<PatchGrid, GeorefProblem> {
    let patch = meta.id;
    if rows == 0 || columns == 0 {
        return Err(GeorefProblem::EmptyRaster {
            patch,
            rows,
            columns,
        });
    }
    let footprint = meta.footprint.as_ref();
    let vertices = exterior_ring(patch, footprint.map(|g| &g.value))?;
    let gdal = |e: gdal::errors::GdalError| GeorefProblem::Gdal {
        patch,
        message: e.to_string(),
    };
    let source = crs.spatial_ref().map_err(gdal)?;
    let lonlat = lonlat_vertices(patch, crs, &source, &vertices)?;
    let (lon, lat) = mean(&lonlat);
    let (epsg, zone) = match meta.tile.as_deref().and_then(|t| Some((t, utm_epsg(t)?))) {
        Some((tile, epsg)) => (epsg, ZoneSource::Tile(tile.to_string())),
        None => {
            let epsg = zone_epsg(lon, lat).ok_or(GeorefProblem::NoZone { patch, lon, lat })?;
            (epsg, ZoneSource::Centroid { lon, lat })
        }
    };
    let utm = spatial_ref(epsg).map_err(gdal)?;
    let projected = quietly(|| project(&source, &utm, &vertices));
    if let ZoneSource::Tile(tile) = &zone {
        let easting = projected.as_ref().map_or(f64::NAN, |p| mean(p).0);
        if let Some(detail) = outside_tile(tile, easting, lat) {
            let tile = tile.clone();
            return Err(GeorefProblem::OutsideTileZone {
                patch,
                tile,
                lon,
                lat,
                detail,
            });
        }
    }
    let projected = projected.map_err(gdal)?;
    snapped_grid(patch, epsg, zone, &projected, rows, columns)
}

/// The exterior ring's distinct vertices (closing vertex and repeated vertices dropped) of a
/// Polygon or one-part MultiPolygon without holes.
fn exterior_ring(
    patch: i64,
    geometry: Option<&GeometryValue>,
) -> Result<Vec<(f64, f64)>, GeorefProblem> {
    let not_a_polygon = |geometry: &str| GeorefProblem::NotAPolygon {
        patch,
        geometry: geometry.to_string(),
    };
    let rings = match geometry {
        None => return Err(GeorefProblem::NoFootprint { patch }),
        Some(GeometryValue::Polygon { coordinates }) => coordinates,
        Some(GeometryValue::MultiPolygon { coordinates }) => match coordinates.as_slice() {
            [one] => one,
            [] => return Err(not_a_polygon("MultiPolygon without polygons")),
            parts => {
                let parts = parts.len();
                return Err(GeorefProblem::MultiPart { patch, parts });
            }
        },
        Some(other) => return Err(not_a_polygon(other.type_name())),
    };
    let bad = |what: String| GeorefProblem::BadRing { patch, what };
    let (exterior, holes) = rings
        .split_first()
        .ok_or_else(|| bad("is a Polygon without rings".into()))?;
    if !holes.is_empty() {
        return Err(bad(format!("has {} holes, expected a square", holes.len())));
    }
    let mut points: Vec<(f64, f64)> = Vec::with_capacity(exterior.len());
    for p in exterior {
        let (x, y) = match p.as_slice() {
            [x, y, ..] if x.is_finite() && y.is_finite() => (*x, *y),
            other => return Err(bad(format!("has the vertex {other:?}"))),
        };
        if points.last() != Some(&(x, y)) {
            points.push((x, y));
        }
    }
    if points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    if points.len() < 4 {
        let n = points.len();
        return Err(bad(format!("has {n} distinct vertices, a square needs 4")));
    }
    Ok(points)
}

/// Each vertex in longitude/latitude, checked against the area of use of `crs`.
fn lonlat_vertices(
    patch: i64,
    crs: FootprintCrs,
    source: &SpatialRef,
    vertices: &[(f64, f64)],
) -> Result<Vec<(f64, f64)>, GeorefProblem> {
    let gdal = |e: gdal::errors::GdalError| GeorefProblem::Gdal {
        patch,
        message: e.to_string(),
    };
    let area = area_of_use(source);
    let to_lonlat =
        CoordTransform::new(source, &spatial_ref(LONLAT_EPSG).map_err(gdal)?).map_err(gdal)?;
    let mut out = Vec::with_capacity(vertices.len());
    for &(x, y) in vertices {
        let ll = quietly(|| transform(&to_lonlat, &[(x, y)]))
            .ok()
            .and_then(|p| p.first().copied());
        match ll {
            Some((lon, lat)) if in_area(area, lon, lat) => out.push((lon, lat)),
            _ => {
                return Err(GeorefProblem::OutsideAreaOfUse {
                    patch,
                    crs: crs.name(),
                    x,
                    y,
                    lonlat: ll.filter(|(lon, lat)| lon.is_finite() && lat.is_finite()),
                    area: area_text(area),
                })
            }
        }
    }
    Ok(out)
}

/// Vertices transformed from `source` to `target`.
fn project(
    source: &SpatialRef,
    target: &SpatialRef,
    vertices: &[(f64, f64)],
) -> gdal::errors::Result<Vec<(f64, f64)>> {
    transform(&CoordTransform::new(source, target)?, vertices)
}

/// The north-up 10 m grid whose upper-left corner is the footprint's, snapped, if the footprint
/// is the raster's square within [`CORNER_TOLERANCE_M`].
fn snapped_grid(
    patch: i64,
    epsg: u32,
    zone: ZoneSource,
    projected: &[(f64, f64)],
    rows: usize,
    columns: usize,
) -> Result<PatchGrid, GeorefProblem> {
    let (min_x, max_x) = extent(projected.iter().map(|p| p.0));
    let (min_y, max_y) = extent(projected.iter().map(|p| p.1));
    let grid = PatchGrid {
        epsg,
        geotransform: [snap(min_x), GRID_M, 0.0, snap(max_y), 0.0, -GRID_M],
        corner_error_m: 0.0,
        zone,
    };
    let corners = grid.corners(rows, columns);
    let error = square_error(&corners, projected);
    if error > CORNER_TOLERANCE_M || error.is_nan() {
        return Err(GeorefProblem::NotPatchSquare {
            patch,
            epsg,
            width_m: max_x - min_x,
            height_m: max_y - min_y,
            expected_width_m: columns as f64 * GRID_M,
            expected_height_m: rows as f64 * GRID_M,
            columns,
            rows,
            corner_error_m: error,
        });
    }
    Ok(PatchGrid {
        corner_error_m: error,
        ..grid
    })
}

/// How far the footprint is from the square with `corners` (UL, UR, LR, LL of a north-up
/// grid): the larger of the farthest corner from its nearest vertex and the farthest vertex
/// from the square's outline.
fn square_error(corners: &[(f64, f64); 4], vertices: &[(f64, f64)]) -> f64 {
    let nearest_vertex = |c: &(f64, f64)| {
        let d = vertices.iter().map(|v| (v.0 - c.0).hypot(v.1 - c.1));
        d.fold(f64::INFINITY, f64::min)
    };
    let corner_error = corners.iter().map(nearest_vertex).fold(0.0, f64::max);
    let (x0, y0, x1, y1) = (corners[0].0, corners[2].1, corners[2].0, corners[0].1);
    let outline = |v: &(f64, f64)| {
        let dx = (x0 - v.0).max(v.0 - x1).max(0.0);
        let dy = (y0 - v.1).max(v.1 - y1).max(0.0);
        let outside = dx.hypot(dy);
        let inside = (v.0 - x0).min(x1 - v.0).min(v.1 - y0).min(y1 - v.1);
        if outside > 0.0 {
            outside
        } else {
            inside.max(0.0)
        }
    };
    let vertex_error = vertices.iter().map(outline).fold(0.0, f64::max);
    corner_error.max(vertex_error)
}

/// Transforms points with `ct`.
pub(super) fn transform(
    ct: &CoordTransform,
    points: &[(f64, f64)],
) -> gdal::errors::Result<Vec<(f64, f64)>> {
    let mut xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let mut ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    ct.transform_coords(&mut xs, &mut ys, &mut [])?;
    Ok(xs.into_iter().zip(ys).collect())
}

/// The mean of some points.
fn mean(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len().max(1) as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), p| (sx + p.0, sy + p.1));
    (sx / n, sy / n)
}

/// Minimum and maximum of some values.
fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// `value` snapped to the Sentinel-2 grid (the nearest multiple of [`GRID_M`]).
fn snap(value: f64) -> f64 {
    (value / GRID_M).round() * GRID_M
}
