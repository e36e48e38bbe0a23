//! Zarr v3 (sharded) and v2 stores: the whole dataset stacked over patches, one array per layer
//! plus per-patch metadata arrays (see [`stacked`](super::stacked) and docs/zarr-layout.md).
//!
//! Every store is reached through [`store_at`], the one place that builds a storage backend, so an
//! object store can replace the filesystem one later without touching the reader or the writer.

mod arrays;
mod columns;
mod consolidate;
mod reader;
mod writer;

pub use reader::ZarrReader;
pub use writer::ZarrWriter;

use super::{DatasetReader, DatasetWriter, WriteOptions};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::{Error, Result};
use std::path::Path;
use std::sync::Arc;
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::ReadableWritableListableStorageTraits;

/// The storage a store is read from and written to: any zarrs backend with these capabilities.
pub type Store = Arc<dyn ReadableWritableListableStorageTraits>;

/// A zarrs array on a [`Store`].
pub type ZArray = zarrs::array::Array<dyn ReadableWritableListableStorageTraits>;

/// True if `path` is a Zarr store (a folder with `zarr.json` or `.zgroup`).
pub fn is_zarr_store(path: &Path) -> bool {
    path.join("zarr.json").is_file() || path.join(".zgroup").is_file()
}

/// The storage of the store at `path` (today the local filesystem).
pub fn store_at(path: &Path) -> Result<Store> {
    let store = FilesystemStore::new(path).map_err(|e| zarr_error(path, e))?;
    Ok(Arc::new(store))
}

/// Opens a store written by [`create`] (v3 or v2).
pub fn open(path: &Path) -> Result<Box<dyn DatasetReader>> {
    Ok(Box::new(ZarrReader::open(path)?))
}

/// Creates a store at `path` for the patches of `meta` with the shapes of `layout`.
pub fn create(
    path: &Path,
    meta: &DatasetMeta,
    layout: &DatasetLayout,
    options: &WriteOptions,
) -> Result<Box<dyn DatasetWriter>> {
    Ok(Box::new(ZarrWriter::create(path, meta, layout, options)?))
}

/// An error of zarrs about the store at `path`.
fn zarr_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::library(path, "zarr", e)
}
