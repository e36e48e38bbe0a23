//! Georeferencing: each patch's pixel grid, recovered from its footprint.
//!
//! PASTIS stores footprints in Lambert-93, but the pixels lie on the Sentinel-2 tile's UTM grid.
//! [`patch_grid`] transforms the footprint to the tile's UTM zone, snaps it to the 10 m grid and
//! returns a north-up geotransform there; without a known tile it fits an affine transform to the
//! footprint in its own CRS.

use crate::model::PatchMeta;
use crate::Result;

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

/// The grid of a `height` x `width` patch, or `None` when the patch has no footprint.
pub fn patch_grid(_meta: &PatchMeta, _height: usize, _width: usize) -> Result<Option<PatchGrid>> {
    // Implemented with the GeoTIFF export (issue: GeoTIFF export with exact georeferencing).
    Ok(None)
}
