//! Zarr v3 (sharded) and v2 stores: the whole dataset stacked over patches, one array per layer
//! plus per-patch metadata arrays (see [`stacked`](super::stacked) and docs/zarr-layout.md).
//!
//! Every store is reached through [`store::store_at`], the one place that builds a storage
//! backend: a local folder or an object-store URL (`s3://bucket/prefix/name.zarr`). A conversion
//! may also be split over many workers ([`partition`]).

mod arrays;
mod columns;
mod consistency;
mod consolidate;
mod driver;
mod finalize;
pub mod partition;
mod reader;
mod shard;
pub mod store;
mod writer;

pub use driver::{ZarrDriver, ZarrOptions, DRIVER};
pub use finalize::finalize;
pub use reader::ZarrReader;
pub use writer::{ZarrWriter, DEFAULT_COMPRESSION};

use crate::{Error, Result};
use std::path::Path;
use std::sync::Arc;
use zarrs::storage::ReadableWritableListableStorageTraits;

pub use store::store_at;

/// The storage a store is read from and written to: any zarrs backend with these capabilities.
pub type Store = Arc<dyn ReadableWritableListableStorageTraits>;

/// A zarrs array on a [`Store`].
pub type ZArray = zarrs::array::Array<dyn ReadableWritableListableStorageTraits>;

/// True if `path` is a local Zarr store (a folder with `zarr.json` or `.zgroup`).
pub fn is_zarr_store(path: &Path) -> bool {
    path.join("zarr.json").is_file() || path.join(".zgroup").is_file()
}

/// Recognises a dataset at an object-store URL: a Zarr store (root `zarr.json` or `.zgroup`),
/// read through the store. A URL without root metadata is missing or an unfinished output.
pub fn detect_url(path: &Path) -> Result<()> {
    let store = store_at(path)?;
    if store::has_root_metadata(path, &store)? {
        Ok(())
    } else if store::is_empty(path, &store)? {
        Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no object under this prefix"),
        ))
    } else {
        Err(Error::invalid(
            path,
            "objects but no root metadata (zarr.json or .zgroup): an unfinished output \
             (interrupted, or partitions not finalized with --finalize)",
        ))
    }
}

/// An error of zarrs (or of the JSON of its metadata) about the store at `path`, kept as the
/// source.
fn zarr_error(path: &Path, e: impl Into<crate::error::LibraryError>) -> Error {
    Error::library(path, "zarr", e)
}

/// An error of zarrs about the store at `path` while doing `context` (`writing S2`).
fn zarr_error_in(
    path: &Path,
    context: impl Into<String>,
    e: impl Into<crate::error::LibraryError>,
) -> Error {
    Error::library_in(path, "zarr", context, e)
}
