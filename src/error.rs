//! The library's error type: every error that touches a file or a patch names it.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Everything that can go wrong in pastis-bridge.
#[derive(Debug, Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file exists but its content is malformed or not what PASTIS defines.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the numbers in it.
        message: String,
    },
    /// A patch is inconsistent or missing something (shapes disagree, dates do not match T...).
    #[error("patch {id}: {message}")]
    Patch {
        /// `ID_PATCH`.
        id: i64,
        /// What is wrong.
        message: String,
    },
    /// The input is not a dataset of any supported format.
    #[error("{}: not a dataset pastis-bridge recognises (expected a PASTIS folder with metadata.geojson, a .zarr store, an .h5 file or a GeoTIFF export folder)", .0.display())]
    UnknownFormat(PathBuf),
    /// The output exists and overwriting was not asked for.
    #[error("{}: already exists; pass --overwrite to replace it", .0.display())]
    Exists(PathBuf),
    /// A format was asked to store or do what it cannot.
    #[error("{format}: {what}")]
    Unsupported {
        /// The format.
        format: &'static str,
        /// What it cannot do.
        what: String,
    },
    /// An error of a format library (zarrs, HDF5, GDAL), with the file it concerns.
    #[error("{}: {library}: {message}", path.display())]
    Library {
        /// The file or store.
        path: PathBuf,
        /// `zarr`, `HDF5`, `GDAL`.
        library: &'static str,
        /// The library's own message.
        message: String,
    },
    /// A usage error: options that contradict each other, an unknown patch id...
    #[error("{0}")]
    Usage(String),
    /// A patch cannot be georeferenced (no footprint, a footprint that is not the patch's
    /// square in its UTM zone, a declared CRS not understood); the problem names the patch.
    #[error(transparent)]
    Georef(crate::georef::GeorefProblem),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// A malformed file.
    pub fn invalid(path: impl AsRef<Path>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    /// An inconsistent patch.
    pub fn patch(id: i64, message: impl Into<String>) -> Error {
        Error::Patch {
            id,
            message: message.into(),
        }
    }

    /// An error of a format library about `path`.
    pub fn library(
        path: impl AsRef<Path>,
        library: &'static str,
        message: impl std::fmt::Display,
    ) -> Error {
        Error::Library {
            path: path.as_ref().to_path_buf(),
            library,
            message: message.to_string(),
        }
    }
}
