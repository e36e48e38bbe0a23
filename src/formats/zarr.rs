//! Zarr v3 (sharded) and v2 stores: the whole dataset stacked over patches. See docs/zarr-layout.md.

use super::{DatasetReader, DatasetWriter, WriteOptions};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::{Error, Result};
use std::path::Path;

/// True if `path` is a Zarr store (a folder with `zarr.json` or `.zgroup`).
pub fn is_zarr_store(path: &Path) -> bool {
    path.join("zarr.json").is_file() || path.join(".zgroup").is_file()
}

/// Opens a store written by [`create`].
pub fn open(_path: &Path) -> Result<Box<dyn DatasetReader>> {
    Err(Error::Unsupported {
        format: "zarr",
        what: "reading is not implemented yet".into(),
    })
}

/// Creates a store at `path`.
pub fn create(
    _path: &Path,
    _meta: &DatasetMeta,
    _layout: &DatasetLayout,
    _options: &WriteOptions,
) -> Result<Box<dyn DatasetWriter>> {
    Err(Error::Unsupported {
        format: "zarr",
        what: "writing is not implemented yet".into(),
    })
}
