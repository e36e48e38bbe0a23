//! A folder of georeferenced GeoTIFFs, one per patch and layer, with per-tile VRT mosaics.
//!
//! Layout: `ROOT/S2/S2_10000.tif`, `ROOT/TARGET/TARGET_10000.tif`... (one folder per layer, the
//! dataset's own names), `ROOT/TARGET/TARGET_t30uxv.vrt` (one mosaic per tile and layer) and
//! `ROOT/pastis-geotiff.json`, the [manifest](MANIFEST) that carries what TIFFs cannot, and a
//! static [STAC catalog](stac) of it all (`ROOT/collection.json`, `ROOT/items/`).
//! See docs/geotiff.md.

mod bands;
pub mod cache;
mod driver;
mod manifest;
mod mosaic;
pub(crate) mod raster;
mod reader;
pub mod stac;
mod style;
mod writer;

pub use driver::{GeoTiffDriver, GeoTiffOptions, DRIVER};
pub use manifest::{ClassesEntry, GridEntry, LayerEntry, Manifest, PatchEntry};
pub use reader::GeoTiffReader;
pub use writer::GeoTiffWriter;

use crate::model::Layer;
use crate::Error;
use std::path::Path;

/// The manifest that marks a GeoTIFF export folder and carries what TIFFs cannot.
pub const MANIFEST: &str = "pastis-geotiff.json";

/// The format's name in errors.
const FORMAT: &str = "geotiff";

/// True if `path` is a GeoTIFF export folder (it holds the [`MANIFEST`]).
pub fn is_geotiff_folder(path: &Path) -> bool {
    path.join(MANIFEST).is_file()
}

/// The path of a patch's TIFF relative to the folder: `S2/S2_10000.tif`.
pub fn tif_name(layer: Layer, id: i64) -> String {
    format!("{0}/{0}_{id}.tif", layer.name())
}

/// The path of a patch's class raster (TARGET channel 0) relative to the folder:
/// `TARGET/TARGET_10000_class.tif`.
pub fn classes_name(id: i64) -> String {
    format!("{0}/{0}_{id}_class.tif", Layer::Target.name())
}

/// Wraps a GDAL error about `path`.
fn gdal_error(path: &Path) -> impl Fn(gdal::errors::GdalError) -> Error + '_ {
    move |e| Error::library(path, "GDAL", e)
}
