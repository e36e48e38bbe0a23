//! Where a store lives: a local folder, or a prefix of an object store given as a URL
//! (`s3://bucket/prefix/name.zarr`; also `gs://` and `az://`).
//!
//! Object stores go through `object_store` and `zarrs_object_store`, whose stores are async: an
//! [`AsyncToSyncStorageAdapter`] drives them from the (synchronous, rayon) writer and reader on one
//! process-wide tokio runtime. Credentials and endpoint come from the standard environment
//! variables of each service (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`...), so S3-compatible servers (MinIO, Ceph, R2) work too.

use super::{zarr_error, Store};
use crate::{Error, Result};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::storage_adapter::async_to_sync::{
    AsyncToSyncBlockOn, AsyncToSyncStorageAdapter,
};
use zarrs::storage::{StoreKey, StorePrefix};
use zarrs_object_store::object_store::aws::{AmazonS3, AmazonS3Builder};
use zarrs_object_store::object_store::azure::MicrosoftAzureBuilder;
use zarrs_object_store::object_store::gcp::GoogleCloudStorageBuilder;
use zarrs_object_store::object_store::prefix::PrefixStore;
use zarrs_object_store::object_store::ObjectStore;
use zarrs_object_store::AsyncObjectStore;

/// URL schemes read as object stores.
const SCHEMES: [&str; 4] = ["s3", "s3a", "gs", "az"];

/// The keys of root metadata: a store without any of them is incomplete.
pub const ROOT_METADATA: [&str; 4] = ["zarr.json", ".zgroup", ".zattrs", ".zmetadata"];

/// The object-store URL `path` holds (`s3://bucket/key`), if it is one.
pub fn url_of(path: &Path) -> Option<&str> {
    let text = path.to_str()?;
    let (scheme, rest) = text.split_once("://")?;
    (SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) && !rest.is_empty()).then_some(text)
}

/// True if `path` is an object-store URL rather than a local path.
pub fn is_url(path: &Path) -> bool {
    url_of(path).is_some()
}

/// The storage of the store at `path`: a local folder or an object-store URL.
pub fn store_at(path: &Path) -> Result<Store> {
    match url_of(path) {
        Some(url) => object_store_at(url).map_err(|e| zarr_error(path, e)),
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

/// Total bytes stored under an object-store URL (0 if it cannot be listed).
pub fn stored_bytes(path: &Path) -> u64 {
    store_at(path)
        .and_then(|s| s.size().map_err(|e| zarr_error(path, e)))
        .unwrap_or(0)
}

/// Checks that `path` can be an output of a conversion at all: only Zarr goes to object storage.
pub fn check_output(path: &Path, format: crate::formats::Format) -> Result<()> {
    if is_url(path) && format != crate::formats::Format::Zarr {
        return Err(Error::Unsupported {
            format: format.name(),
            what: format!(
                "cannot write to object storage ({}); only Zarr can",
                path.display()
            ),
        });
    }
    Ok(())
}

/// Drives async stores from synchronous code on the process-wide runtime.
struct TokioBlockOn(tokio::runtime::Handle);

impl AsyncToSyncBlockOn for TokioBlockOn {
    fn block_on<F: core::future::Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// The process-wide tokio runtime of object-store requests.
fn runtime() -> std::result::Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("pastis-bridge-io")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the I/O runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A zarrs store on the object store of `url`, rooted at the URL's key prefix.
fn object_store_at(url: &str) -> std::result::Result<Store, String> {
    let (scheme, rest) = url.split_once("://").ok_or("not a URL")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    if bucket.is_empty() || prefix.is_empty() {
        return Err(format!(
            "expected {scheme}://BUCKET/PREFIX/NAME.zarr: a store needs its own key prefix"
        ));
    }
    let bucket_url = format!("{scheme}://{bucket}");
    let service: Arc<dyn ObjectStore> = match scheme.to_ascii_lowercase().as_str() {
        "s3" | "s3a" => Arc::new(s3_from_env(&bucket_url)?),
        "gs" => Arc::new(
            GoogleCloudStorageBuilder::from_env()
                .with_url(bucket_url)
                .build()
                .map_err(|e| e.to_string())?,
        ),
        _ => Arc::new(
            MicrosoftAzureBuilder::from_env()
                .with_url(bucket_url)
                .build()
                .map_err(|e| e.to_string())?,
        ),
    };
    let rooted = PrefixStore::new(service, prefix);
    let block_on = TokioBlockOn(runtime()?.handle().clone());
    let adapter = AsyncToSyncStorageAdapter::new(Arc::new(AsyncObjectStore::new(rooted)), block_on);
    Ok(Arc::new(adapter))
}

/// An S3 client configured from the `AWS_*` environment variables.
fn s3_from_env(bucket_url: &str) -> std::result::Result<AmazonS3, String> {
    AmazonS3Builder::from_env()
        .with_url(bucket_url)
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_recognised_and_need_a_prefix() {
        assert!(is_url(Path::new("s3://bucket/a/b.zarr")));
        assert!(is_url(Path::new("gs://bucket/b.zarr")));
        assert!(!is_url(Path::new("/tmp/b.zarr")));
        assert!(!is_url(Path::new("s3:/b.zarr")));
        assert!(!is_url(Path::new("http://host/b.zarr")));
        let err = store_at(Path::new("s3://bucket"))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("own key prefix")));
    }
}
