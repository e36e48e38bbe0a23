//! A folder of georeferenced GeoTIFFs, one per patch and layer, with per-tile VRT mosaics.

use super::{DatasetReader, DatasetWriter, WriteOptions};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::{Error, Result};
use std::path::Path;

/// The manifest that marks a GeoTIFF export folder and carries what TIFFs cannot.
pub const MANIFEST: &str = "pastis-geotiff.json";

/// True if `path` is a folder written by [`create`].
pub fn is_geotiff_folder(path: &Path) -> bool {
    path.join(MANIFEST).is_file()
}

/// Opens a folder written by [`create`].
pub fn open(_path: &Path) -> Result<Box<dyn DatasetReader>> {
    Err(Error::Unsupported {
        format: "geotiff",
        what: "reading is not implemented yet".into(),
    })
}

/// Creates an export folder at `path`.
pub fn create(
    _path: &Path,
    _meta: &DatasetMeta,
    _layout: &DatasetLayout,
    _options: &WriteOptions,
) -> Result<Box<dyn DatasetWriter>> {
    Err(Error::Unsupported {
        format: "geotiff",
        what: "writing is not implemented yet".into(),
    })
}
