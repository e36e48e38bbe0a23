//! The library's error type: every error that touches a file or a patch names it, and an error
//! of a format library (zarrs, HDF5, GDAL) keeps the original as its `source`.
//!
//! `Display` says what went wrong at this level; the causes are reached through
//! [`std::error::Error::source`]. [`Error::report`] (and the CLI) print the whole chain once.

use crate::model::Layer;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The original error of a format library, kept as the `source` of [`Error::Library`].
pub type LibraryError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in pastis-bridge. New variants may be added: match with a
/// wildcard arm.
#[derive(Debug, Error)]
#[non_exhaustive]
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
    /// A patch is inconsistent or missing something (shapes disagree, dates do not match T...),
    /// with the layer and the file concerned where they are known:
    /// `patch 20000, S2 (DATA_S2/S2_20000.npy): ...`.
    #[error("patch {id}{}{}: {message}",
        layer.map(|l| format!(", {l}")).unwrap_or_default(),
        path.as_ref().map(|p| format!(" ({})", p.display())).unwrap_or_default())]
    Patch {
        /// `ID_PATCH`.
        id: i64,
        /// The layer concerned, if one is.
        layer: Option<Layer>,
        /// The file (or store, or dataset) concerned, if known.
        path: Option<PathBuf>,
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
    /// An error of a format library (zarrs, HDF5, GDAL), with the file it concerns and what was
    /// being done; the library's own error is the `source`.
    #[error("{}: {library}{}", path.display(),
        context.as_ref().map(|c| format!(": {c}")).unwrap_or_else(|| " error".into()))]
    Library {
        /// The file or store.
        path: PathBuf,
        /// `zarr`, `HDF5`, `GDAL`.
        library: &'static str,
        /// What was being done (`writing S2`), if the call site says.
        context: Option<String>,
        /// The library's own error.
        source: LibraryError,
    },
    /// A usage error: options that contradict each other, an unknown patch id...
    #[error("{0}")]
    Usage(String),
    /// A patch cannot be georeferenced (no footprint, a footprint that is not the patch's
    /// square in its UTM zone, a declared CRS not understood); the problem names the patch.
    #[error(transparent)]
    Georef(crate::georef::GeorefProblem),
    /// The source holds content the output will not carry (files beside the PASTIS layout,
    /// strays in PASTIS-HD's `DATA_SPOT/`...), and `--strict` was asked for: nothing was written.
    #[error("{} of the source would not be carried by the output (--strict):{}",
        count(.0.len(), "item"),
        .0.iter().map(|i| format!("\n  {i}")).collect::<String>())]
    NotCarried(Vec<crate::formats::NotCarried>),
    /// A bug: code panicked on this input. The run was stopped and its staged output removed;
    /// the message is the panic's.
    #[error("internal error (a bug in pastis-bridge, please report it with the input): {0}")]
    Panic(String),
}

/// `1 item`, `3 items`.
fn count(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        _ => format!("{n} {what}s"),
    }
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
            layer: None,
            path: None,
            message: message.into(),
        }
    }

    /// An inconsistent array of one layer of a patch, in the file `path` if known.
    pub fn patch_layer(
        id: i64,
        layer: Layer,
        path: Option<&Path>,
        message: impl Into<String>,
    ) -> Error {
        Error::Patch {
            id,
            layer: Some(layer),
            path: path.map(Path::to_path_buf),
            message: message.into(),
        }
    }

    /// An error of a format library about `path`; `source` is the library's own error (or, where
    /// the library gives none, a message).
    pub fn library(
        path: impl AsRef<Path>,
        library: &'static str,
        source: impl Into<LibraryError>,
    ) -> Error {
        Error::Library {
            path: path.as_ref().to_path_buf(),
            library,
            context: None,
            source: source.into(),
        }
    }

    /// An error of a format library about `path` while doing `context` (`writing S2`).
    pub fn library_in(
        path: impl AsRef<Path>,
        library: &'static str,
        context: impl Into<String>,
        source: impl Into<LibraryError>,
    ) -> Error {
        Error::Library {
            path: path.as_ref().to_path_buf(),
            library,
            context: Some(context.into()),
            source: source.into(),
        }
    }

    /// The error for a panic caught with [`std::panic::catch_unwind`], from its payload.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Error {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        Error::Panic(message)
    }

    /// The error and its causes on one line, each message once (`a: b: c`), as a summary or a
    /// list of failed patches shows it.
    pub fn report(&self) -> String {
        chain(self).join(": ")
    }
}

/// The messages of `error` and its causes, in order, leaving out a cause whose message the one
/// before already includes (an `std::io::Error` shown in its wrapper's message).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut messages: Vec<String> = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(e) = cause {
        let message = e.to_string();
        if !messages.last().is_some_and(|m| m.contains(&message)) {
            messages.push(message);
        }
        cause = e.source();
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_keep_their_source() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::library_in("out.zarr", "zarr", "writing S2", io);
        assert_eq!(e.to_string(), "out.zarr: zarr: writing S2");
        let source = std::error::Error::source(&e).map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("disk on fire"));
        assert_eq!(e.report(), "out.zarr: zarr: writing S2: disk on fire");
    }

    #[test]
    fn chain_says_each_message_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = Error::io("a.npy", io);
        assert_eq!(e.report(), "a.npy: gone");
    }

    #[test]
    fn patch_errors_name_layer_and_file() {
        let e = Error::patch_layer(7, Layer::S2, Some(Path::new("S2_7.npy")), "rank 0");
        assert_eq!(e.to_string(), "patch 7, S2 (S2_7.npy): rank 0");
        assert_eq!(Error::patch(7, "x").to_string(), "patch 7: x");
    }
}
