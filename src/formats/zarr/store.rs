//! The storage of a store: a local folder or an object-store prefix (see
//! [`location`](crate::formats::location), which decides which and builds object stores), and
//! the store-level operations the Zarr writer and reader need (root metadata, emptiness, clearing).

use super::{zarr_error, Store};
use crate::formats::location::{object_storage, url_of};
use crate::Result;
use std::path::Path;
use std::sync::Arc;
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::{StoreKey, StorePrefix};

pub use crate::formats::location::is_url;

/// The keys of root metadata: a store without any of them is incomplete.
pub const ROOT_METADATA: [&str; 4] = ["zarr.json", ".zgroup", ".zattrs", ".zmetadata"];

/// The storage of the store at `path`: a local folder or an object-store URL.
pub fn store_at(path: &Path) -> Result<Store> {
    match url_of(path) {
        Some(url) => object_storage(url),
        None => {
            let store = FilesystemStore::new(path).map_err(|e| zarr_error(path, e))?;
            Ok(Arc::new(store))
        }
    }
}

/// True if the store holds root metadata (`zarr.json` or `.zgroup`), i.e. is a finished store.
pub fn has_root_metadata(path: &Path, store: &Store) -> Result<bool> {
    for name in ["zarr.json", ".zgroup"] {
        let key = StoreKey::new(name).map_err(|e| zarr_error(path, e))?;
        if store
            .size_key(&key)
            .map_err(|e| zarr_error(path, e))?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// True if nothing at all is stored under the store's root.
pub fn is_empty(path: &Path, store: &Store) -> Result<bool> {
    let listing = store
        .list_dir(&StorePrefix::root())
        .map_err(|e| zarr_error(path, e))?;
    Ok(listing.keys().is_empty() && listing.prefixes().is_empty())
}

/// Deletes every object of the store.
pub fn clear(path: &Path, store: &Store) -> Result<()> {
    store
        .erase_prefix(&StorePrefix::root())
        .map_err(|e| zarr_error(path, e))
}

/// Deletes the root metadata, so that the store reads as incomplete until rewritten.
pub fn erase_root_metadata(path: &Path, store: &Store) -> Result<()> {
    for name in ROOT_METADATA {
        let key = StoreKey::new(name).map_err(|e| zarr_error(path, e))?;
        store.erase(&key).map_err(|e| zarr_error(path, e))?;
    }
    Ok(())
}
