//! Georeferencing: each patch's pixel grid, recovered from its footprint in the CRS the metadata
//! declares, and every reason why it cannot be.
//!
//! PASTIS stores footprints in Lambert-93 (`urn:ogc:def:crs:EPSG::2154`), but the pixels lie on
//! the Sentinel-2 tile's UTM grid; users re-save metadata.geojson in WGS84 (`to_crs(4326)`) or
//! Web Mercator. [`recover_grid`] reads the footprint in the declared CRS ([`FootprintCrs`]),
//! transforms it to the tile's UTM zone (or, without a TILE, the zone of the footprint's centre:
//! [`zone::zone_epsg`]), snaps the upper-left corner to the 10 m grid and returns a north-up
//! geotransform there; a footprint that cannot be the patch is a [`GeorefProblem`] naming the
//! patch and the numbers. All of `inspect`, `convert --to geotiff`, `parcels`, `rasterize` and
//! `preview` go through it.
//!
//! # Tolerance
//! The snap recovers the exact origin whenever the footprint's upper-left extent is within 5 m
//! (half the 10 m grid) of the true corner. A footprint is accepted when every corner of the
//! recovered square is within [`CORNER_TOLERANCE_M`] = 1 m of a footprint vertex (and no vertex is
//! farther from the square's outline). Rounding WGS84 coordinates to 6 decimals (RFC 7946 writers)
//! moves a vertex by at most 0.5e-6 degree, under 6 cm in France; 5 decimals, under 0.6 m, still
//! pass; 4 decimals (up to 6 m) do not. The unit tests prove all three.

mod crs;
mod grid;
mod plausibility;
pub mod zone;

pub use crs::{spatial_ref, FootprintCrs};
pub use grid::recover_grid;
pub use plausibility::GeorefProblem;
pub use zone::{utm_epsg, zone_epsg};

use crate::model::PatchMeta;
use crate::{Error, Result};

/// Spacing of the Sentinel-2 UTM grid and size of a PASTIS pixel, in metres.
pub const GRID_M: f64 = 10.0;

/// Largest distance, in metres, between the recovered square's corners and the footprint for
/// which the footprint is accepted as the patch (a tenth of a pixel). See the module docs.
pub const CORNER_TOLERANCE_M: f64 = 1.0;

/// The geotransform of outputs written without CRS (`--no-georef`): the corner of pixel
/// (column, row) is at (x, y) = (column, -row), one unit per pixel, origin at the patch's
/// upper-left corner, which is how GDAL and QGIS place a raster that is not georeferenced. The
/// GeoTIFFs carry it as their geotransform and the parcels as their coordinates, so both overlay.
pub const PIXEL_GRID: [f64; 6] = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];

/// What an output written with `--no-georef` says about itself.
const NO_GEOREF: &str = "written with --no-georef: no CRS, pixel grid [0, 1, 0, 0, 0, -1]";

/// Why a patch's output has no CRS (recorded in the GeoTIFF manifest and on every parcel):
/// written with `--no-georef` on the [`PIXEL_GRID`], and the patch's georeferencing problem if it
/// has one (e.g. `...; patch 10001: no footprint (null geometry)`).
pub fn not_georeferenced(problem: Option<&GeorefProblem>) -> String {
    match problem {
        Some(problem) => format!("{NO_GEOREF}; {problem}"),
        None => NO_GEOREF.to_string(),
    }
}

/// A patch's grid, or why it has none.
pub type GridResult = std::result::Result<PatchGrid, GeorefProblem>;

/// Where a grid's UTM zone came from.
#[derive(Clone, Debug, PartialEq)]
pub enum ZoneSource {
    /// The patch's TILE property (`t30uxv` → zone 30 north).
    Tile(String),
    /// No TILE naming a zone: the footprint's centre, at this longitude and latitude (degrees).
    Centroid {
        /// Degrees east.
        lon: f64,
        /// Degrees north.
        lat: f64,
    },
}

impl std::fmt::Display for ZoneSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZoneSource::Tile(tile) => write!(f, "zone from TILE {tile}"),
            ZoneSource::Centroid { lon, lat } => write!(
                f,
                "no TILE: zone from the footprint centre (lon {lon:.4}, lat {lat:.4})"
            ),
        }
    }
}

/// A patch's pixel grid: CRS and GDAL geotransform.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchGrid {
    /// EPSG code of the grid's UTM zone (32630 for UTM 30N...).
    pub epsg: u32,
    /// GDAL geotransform `[x0, dx, rx, y0, ry, dy]` of the pixel corners, metres; recovered grids
    /// are `[x0, 10, 0, y0, 0, -10]` with x0, y0 multiples of 10.
    pub geotransform: [f64; 6],
    /// Largest distance, in metres, between the grid's corners and the footprint, in the UTM
    /// zone (at most [`CORNER_TOLERANCE_M`] for a recovered grid).
    pub corner_error_m: f64,
    /// Where the zone came from.
    pub zone: ZoneSource,
}

impl PatchGrid {
    /// The four raster corners (UL, UR, LR, LL) of a `height` x `width` grid, in the grid's CRS.
    pub fn corners(&self, height: usize, width: usize) -> [(f64, f64); 4] {
        corners(&self.geotransform, height, width)
    }
}

/// The four corners (UL, UR, LR, LL) of a `height` x `width` raster with GDAL geotransform
/// `geotransform`, in the raster's CRS.
pub fn corners(geotransform: &[f64; 6], height: usize, width: usize) -> [(f64, f64); 4] {
    let (w, h) = (width as f64, height as f64);
    [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)].map(|(p, l)| apply(geotransform, p, l))
}

/// Points of the CRS `epsg` (easting, northing) as WGS84 (longitude, latitude) degrees, through
/// GDAL's OSR transform (PROJ). Used for the STAC footprints, which GeoJSON wants in WGS84.
///
/// Errors: GDAL's, for a code it does not know or a failed transform.
pub fn to_lonlat(epsg: u32, points: &[(f64, f64)]) -> gdal::errors::Result<Vec<(f64, f64)>> {
    let to_lonlat =
        gdal::spatial_ref::CoordTransform::new(&spatial_ref(epsg)?, &spatial_ref(4326)?)?;
    grid::transform(&to_lonlat, points)
}

/// The grid of a `height` x `width` patch of a dataset whose metadata declares `crs`
/// ([`DatasetMeta::crs`]; `None`: no `crs` member, WGS84), or `None` when the patch has no
/// footprint.
///
/// Errors: [`crate::Error::Georef`] with the [`GeorefProblem`] (unsupported CRS, footprint that
/// is not the patch's square in its UTM zone...), see [`recover_grid`].
pub fn patch_grid(
    crs: Option<&str>,
    meta: &PatchMeta,
    height: usize,
    width: usize,
) -> Result<Option<PatchGrid>> {
    let crs = FootprintCrs::from_declared(crs).map_err(Error::Georef)?;
    match recover_grid(crs, meta, height, width) {
        Ok(grid) => Ok(Some(grid)),
        Err(GeorefProblem::NoFootprint { .. }) => Ok(None),
        Err(problem) => Err(Error::Georef(problem)),
    }
}

/// Applies a GDAL geotransform to pixel/line coordinates.
fn apply(gt: &[f64; 6], pixel: f64, line: f64) -> (f64, f64) {
    (
        gt[0] + pixel * gt[1] + line * gt[2],
        gt[3] + pixel * gt[4] + line * gt[5],
    )
}

#[cfg(test)]
mod tests;
