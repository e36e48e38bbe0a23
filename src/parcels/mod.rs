//! Parcel polygons: INSTANCES vectorised along pixel edges, and rasterised back exactly.
//!
//! [`write_parcels`] traces every instance of every selected patch on the patch's exact grid
//! ([`crate::georef::patch_grid`]) into one feature with its attributes (see [`Parcel`]) and writes
//! GeoJSON (streamed with the `geojson` crate), GeoPackage or FlatGeobuf (GDAL/OGR).
//! [`rasterize`] burns such polygons back onto the grids of a dataset, pixel-centre rule, and
//! writes INSTANCES and TARGET: the round trip gives back the source pixels exactly.
//!
//! Without a grid (`--no-georef`, [`OutputCrs::Pixels`]) the polygons are written in each
//! patch's pixel coordinates ([`crate::georef::PIXEL_GRID`]: corner (column, row) at
//! (x, y) = (column, -row)) with no CRS, every feature saying why in its `not_georeferenced`
//! attribute; [`RasterizeOptions::no_georef`] reads such a file back onto the patch grids.

mod extract;
pub mod fill;
pub mod geometry;
mod json;
mod ogr;
mod rasterize;
pub mod trace;

pub use extract::{patch_parcels, write_parcels, write_parcels_with};
pub use rasterize::{rasterize, rasterize_with, RasterizeOptions, RasterizeSummary};

use crate::georef::PatchGrid;
use crate::model::{classes::CLASS_NAMES, PatchMeta};
use crate::pipeline::{FailedPatch, Selection};
use crate::{Error, Result};
use geo_types::MultiPolygon;
use std::path::Path;

/// The grid of each patch: [`crate::georef::patch_grid`], or another function in tests.
pub type GridFn = dyn Fn(&PatchMeta, usize, usize) -> Result<Option<PatchGrid>> + Sync;

/// EPSG code of WGS84 longitude/latitude.
pub const WGS84: u32 = 4326;

/// Coordinates of the written polygons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputCrs {
    /// WGS84 longitude/latitude (RFC 7946 GeoJSON).
    Wgs84,
    /// Each patch's own grid CRS (UTM): no coordinate is reprojected.
    Native,
    /// No CRS: each patch's pixel coordinates on [`crate::georef::PIXEL_GRID`] (x = column,
    /// y = -row, 1 unit per pixel), for datasets whose footprints do not give the grids
    /// (`--no-georef`). Every patch is written so, and each feature records why.
    Pixels,
}

/// A vector format for parcels, named by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorFormat {
    /// `.geojson` / `.json`.
    GeoJson,
    /// `.gpkg`: one layer `parcels_{EPSG}` per grid CRS, always in the native CRS.
    GeoPackage,
    /// `.fgb`: one layer, one CRS.
    FlatGeobuf,
}

impl VectorFormat {
    /// The format of `path` from its extension.
    pub fn from_path(path: &Path) -> Result<VectorFormat> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext.to_ascii_lowercase().as_str() {
            "geojson" | "json" => Ok(VectorFormat::GeoJson),
            "gpkg" => Ok(VectorFormat::GeoPackage),
            "fgb" => Ok(VectorFormat::FlatGeobuf),
            _ => Err(Error::Usage(format!(
                "{}: unknown parcel format, expected a .geojson, .gpkg or .fgb file",
                path.display()
            ))),
        }
    }

    /// The file's media type, for its STAC asset: GeoJSON's and GeoPackage's are registered with
    /// IANA; FlatGeobuf has no registered one, `application/vnd.flatgeobuf` is a vendor-tree name.
    pub fn media_type(self) -> &'static str {
        match self {
            VectorFormat::GeoJson => "application/geo+json",
            VectorFormat::GeoPackage => "application/geopackage+sqlite3",
            VectorFormat::FlatGeobuf => "application/vnd.flatgeobuf",
        }
    }
}

/// One parcel: the polygons of one instance of one patch, with its attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Parcel {
    /// `ID_PATCH`.
    pub patch: i64,
    /// The instance id in INSTANCES.
    pub instance: i64,
    /// The LPIS parcel id: the most frequent ParcelIDs value under the instance.
    pub parcel_id: Option<i64>,
    /// The semantic class: the most frequent TARGET channel 0 value under the instance.
    pub class_id: Option<i64>,
    /// Pixel count.
    pub pixels: u64,
    /// Area in m², in the patch's grid CRS (pixel coordinates: area x 100 m², PASTIS pixels
    /// being 10 m).
    pub area_m2: f64,
    /// Fold 1..5.
    pub fold: Option<i64>,
    /// Sentinel-2 tile.
    pub tile: Option<String>,
    /// EPSG code of the coordinates of `geometry`; `None`: pixel coordinates, no CRS.
    pub epsg: Option<u32>,
    /// Why the coordinates are pixels, without CRS (`--no-georef`); `None` when georeferenced.
    pub not_georeferenced: Option<String>,
    /// The polygons (one per 4-connected region), RFC 7946 orientation.
    pub geometry: MultiPolygon<f64>,
}

impl Parcel {
    /// The name of the class, if it is one of PASTIS' 20.
    pub fn class_name(&self) -> Option<&'static str> {
        let id = usize::try_from(self.class_id?).ok()?;
        CLASS_NAMES.get(id).copied()
    }
}

/// The parcels of one patch and the EPSG code of their coordinates, known even when the patch
/// has no parcel (so an empty output still gets its layer, fields and CRS).
#[derive(Clone, Debug)]
pub(crate) struct PatchParcels {
    /// EPSG code of the coordinates (the grid's, or WGS84); `None`: pixel coordinates.
    pub epsg: Option<u32>,
    /// The parcels, possibly none.
    pub parcels: Vec<Parcel>,
}

/// The parcels of one patch (by `ID_PATCH`), or why they could not be traced; what the
/// tracing workers hand to the GeoJSON and OGR writers.
pub(crate) type PatchResult = (i64, Result<PatchParcels>);

/// Attribute names, in the order they are written.
pub mod fields {
    /// `ID_PATCH` (integer).
    pub const PATCH: &str = "ID_PATCH";
    /// Instance id (integer).
    pub const INSTANCE: &str = "instance_id";
    /// LPIS parcel id (integer).
    pub const PARCEL: &str = "parcel_id";
    /// Class id (integer).
    pub const CLASS: &str = "class_id";
    /// Class name (string).
    pub const CLASS_NAME: &str = "class_name";
    /// Pixel count (integer).
    pub const PIXELS: &str = "pixels";
    /// Area in m² (real).
    pub const AREA: &str = "area_m2";
    /// Fold (integer).
    pub const FOLD: &str = "Fold";
    /// Tile (string).
    pub const TILE: &str = "TILE";
    /// Why the coordinates are pixels without CRS (string; only in `--no-georef` outputs).
    pub const NOT_GEOREFERENCED: &str = "not_georeferenced";
}

/// How to write parcels.
#[derive(Clone, Debug)]
pub struct ParcelOptions {
    /// CRS of the coordinates (GeoPackage keeps the native CRS instead of WGS84).
    pub crs: OutputCrs,
    /// Patches to vectorise (layers are ignored).
    pub selection: Selection,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// Replace an existing output.
    pub overwrite: bool,
    /// Skip patches whose parcels cannot be traced (named in [`ParcelSummary::failed`])
    /// instead of stopping.
    pub keep_going: bool,
}

/// What [`write_parcels`] did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ParcelSummary {
    /// Patches vectorised.
    pub patches: usize,
    /// Features written.
    pub parcels: u64,
    /// Wall time.
    pub seconds: f64,
    /// Patches skipped with `keep_going`, with their errors.
    pub failed: Vec<FailedPatch>,
}
