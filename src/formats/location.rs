//! Where a dataset lives: a local path, or a key prefix of an object store given as a URL
//! (`s3://bucket/prefix/name.zarr`; also `s3a://`, `gs://` and `az://`).
//!
//! Object stores go through `object_store`, whose stores are async; they are exposed as a
//! synchronous key-value storage (zarrs' storage traits, [`Storage`]) driven on one process-wide
//! tokio runtime, for the (synchronous, rayon) readers and writers. Credentials and endpoint come
//! from the standard environment variables of each service (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`...), so
//! S3-compatible servers (MinIO, Ceph, R2) work too.

use crate::error::LibraryError;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use zarrs::storage::storage_adapter::async_to_sync::{
    AsyncToSyncBlockOn, AsyncToSyncStorageAdapter,
};
use zarrs::storage::ReadableWritableListableStorageTraits;
use zarrs_object_store::object_store::aws::{AmazonS3, AmazonS3Builder};
use zarrs_object_store::object_store::azure::MicrosoftAzureBuilder;
use zarrs_object_store::object_store::gcp::GoogleCloudStorageBuilder;
use zarrs_object_store::object_store::prefix::PrefixStore;
use zarrs_object_store::object_store::ObjectStore;
use zarrs_object_store::AsyncObjectStore;

/// URL schemes read as object stores.
pub const SCHEMES: [&str; 4] = ["s3", "s3a", "gs", "az"];

/// A synchronous key-value storage: a local folder or an object-store prefix.
pub type Storage = Arc<dyn ReadableWritableListableStorageTraits>;

/// A dataset's location, decided once from the path given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A file or folder on a local file system.
    Local(PathBuf),
    /// A key prefix of an object store, as its URL (`s3://bucket/prefix/name.zarr`).
    Url(String),
}

impl Location {
    /// The location `path` names: an object-store URL if it is one, else a local path.
    pub fn of(path: &Path) -> Location {
        match url_of(path) {
            Some(url) => Location::Url(url.to_string()),
            None => Location::Local(path.to_path_buf()),
        }
    }

    /// True for an object-store URL.
    pub fn is_url(&self) -> bool {
        matches!(self, Location::Url(_))
    }

    /// Bytes stored: the file, every file under the folder, or every object under the prefix
    /// (0 when nothing can be listed).
    pub fn stored_bytes(&self) -> u64 {
        match self {
            Location::Local(path) => disk_usage(path),
            Location::Url(url) => object_storage(url)
                .ok()
                .and_then(|s| s.size().ok())
                .unwrap_or(0),
        }
    }
}

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

/// Total size in bytes of a file or of every file under a folder (0 if it does not exist).
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| disk_usage(&e.path())).sum())
        .unwrap_or(0)
}

/// The storage under the object-store `url`, rooted at the URL's key prefix. Errors name the URL.
pub fn object_storage(url: &str) -> Result<Storage> {
    object_storage_at(url).map_err(|e| Error::library(url, "object_store", e))
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

fn object_storage_at(url: &str) -> std::result::Result<Storage, LibraryError> {
    let (scheme, rest) = url.split_once("://").ok_or("not a URL")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    if bucket.is_empty() || prefix.is_empty() {
        return Err(format!(
            "expected {scheme}://BUCKET/PREFIX/NAME: a dataset needs its own key prefix"
        )
        .into());
    }
    let service = service(scheme, &format!("{scheme}://{bucket}"))?;
    let rooted = PrefixStore::new(service, prefix);
    let block_on = TokioBlockOn(runtime()?.handle().clone());
    let adapter = AsyncToSyncStorageAdapter::new(Arc::new(AsyncObjectStore::new(rooted)), block_on);
    Ok(Arc::new(adapter))
}

/// The client of the object store at `bucket_url`, configured from the environment.
fn service(
    scheme: &str,
    bucket_url: &str,
) -> std::result::Result<Arc<dyn ObjectStore>, LibraryError> {
    Ok(match scheme.to_ascii_lowercase().as_str() {
        "s3" | "s3a" => Arc::new(s3_from_env(bucket_url)?),
        "gs" => Arc::new(
            GoogleCloudStorageBuilder::from_env()
                .with_url(bucket_url)
                .build()?,
        ),
        _ => Arc::new(
            MicrosoftAzureBuilder::from_env()
                .with_url(bucket_url)
                .build()?,
        ),
    })
}

/// An S3 client configured from the `AWS_*` environment variables.
fn s3_from_env(bucket_url: &str) -> std::result::Result<AmazonS3, LibraryError> {
    Ok(AmazonS3Builder::from_env().with_url(bucket_url).build()?)
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
        assert_eq!(
            Location::of(Path::new("s3://bucket/b.zarr")),
            Location::Url("s3://bucket/b.zarr".into())
        );
        let err = object_storage("s3://bucket").err().map(|e| e.report());
        assert!(
            err.as_ref().is_some_and(|e| e.contains("own key prefix")),
            "{err:?}"
        );
    }

    #[test]
    fn local_sizes_add_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/x"), [0u8; 10]).unwrap();
        std::fs::write(dir.path().join("y"), [0u8; 5]).unwrap();
        assert_eq!(Location::of(dir.path()).stored_bytes(), 15);
        assert_eq!(disk_usage(&dir.path().join("missing")), 0);
    }
}
