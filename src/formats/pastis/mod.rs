//! The original PASTIS / PASTIS-R layout: one folder of `.npy` files per modality, metadata.geojson
//! and NORM_*_patch.json.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

pub mod content;
mod driver;
mod reader;
mod writer;

/// Transitional alias of [`crate::model::metadata_geojson`], where the codec now lives; kept
/// only until every branch imports it from there.
#[doc(hidden)]
pub use crate::model::metadata_geojson as metadata;
pub use driver::{PastisDriver, DRIVER};
pub use reader::PastisReader;
pub use writer::PastisWriter;

use crate::formats::spot::{spot_file_name, spot_path};
use crate::model::Layer;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The metadata file of a PASTIS folder.
pub const METADATA_FILE: &str = "metadata.geojson";

/// The folders of the layout, in order.
pub const FOLDERS: [&str; 5] = [
    "DATA_S2",
    "DATA_S1A",
    "DATA_S1D",
    "ANNOTATIONS",
    "INSTANCE_ANNOTATIONS",
];

/// True if `path` looks like a PASTIS folder (metadata.geojson or one of its data folders).
pub fn is_pastis_folder(path: &Path) -> bool {
    path.join(METADATA_FILE).is_file() || FOLDERS.iter().any(|f| path.join(f).is_dir())
}

/// `ROOT/DATA_S2/S2_10000.npy` and the like; SPOT:
/// `ROOT/DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_10000.tif`.
pub fn array_path(root: &Path, layer: Layer, id: i64) -> PathBuf {
    match layer {
        Layer::Spot => spot_path(root, id),
        _ => root.join(layer.folder()).join(file_name(layer, id)),
    }
}

/// `S2_10000.npy` and the like; SPOT: `SPOT6_RVB_1M00_2019_10000.tif`.
pub fn file_name(layer: Layer, id: i64) -> String {
    match layer {
        Layer::Spot => spot_file_name(id),
        _ => format!("{}_{id}.npy", layer.name()),
    }
}

/// Parses a file name of the layout (`TARGET_10000.npy`) into its layer and id, checking that the
/// layer belongs in `folder`. `None` for any other name (strays, duplicates, hidden files).
pub fn parse_file_name(folder: &str, name: &str) -> Option<(Layer, i64)> {
    let stem = name.strip_suffix(".npy")?;
    let (prefix, id) = stem.rsplit_once('_')?;
    let layer = Layer::ALL.into_iter().find(|l| l.name() == prefix)?;
    let plain = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    (layer.folder() == folder && plain)
        .then(|| id.parse().ok())
        .flatten()
        .map(|id| (layer, id))
}

/// Whether a file of the layout (a layer's `.npy`, a NORM file) is at `path`: `Ok(false)` when
/// nothing is there. Something that is there but is not a regular file (a directory, a broken
/// symbolic link, a FIFO, a socket, a device) is an error, never an absent layer: a FIFO would
/// block the reader, the others hide data the user meant to give. A symbolic link to a regular
/// file is a file.
///
/// # Errors
/// [`Error::Invalid`] naming the path and what is there; [`Error::Io`] if the path cannot be
/// examined.
pub fn file_present(path: &Path) -> Result<bool> {
    let link = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    let target = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && link.file_type().is_symlink() => {
            return Err(Error::invalid(
                path,
                "a broken symbolic link, not a file: its target does not exist",
            ))
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    if target.is_file() {
        return Ok(true);
    }
    Err(Error::invalid(
        path,
        format!("{}, not a regular file", kind_of(&target.file_type())),
    ))
}

/// What a non-regular file is, in words.
fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_parse() {
        assert_eq!(
            parse_file_name("DATA_S2", "S2_10000.npy"),
            Some((Layer::S2, 10000))
        );
        assert_eq!(
            parse_file_name("ANNOTATIONS", "ParcelIDs_7.npy"),
            Some((Layer::ParcelIds, 7))
        );
        assert_eq!(parse_file_name("ANNOTATIONS", "S2_7.npy"), None);
        assert_eq!(parse_file_name("DATA_S2", "S2_010000.npy"), None);
        assert_eq!(parse_file_name("DATA_S2", "S2_10000 (1).npy"), None);
        assert_eq!(parse_file_name("DATA_S2", ".S2_10000.npy"), None);
        assert_eq!(file_name(Layer::Instances, 3), "INSTANCES_3.npy");
    }

    #[test]
    fn only_regular_files_are_present() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("a.npy"), b"x").unwrap();
        std::fs::create_dir(p.join("d.npy")).unwrap();
        std::os::unix::fs::symlink(p.join("gone"), p.join("broken.npy")).unwrap();
        std::os::unix::fs::symlink(p.join("a.npy"), p.join("link.npy")).unwrap();
        assert!(file_present(&p.join("a.npy")).unwrap());
        assert!(file_present(&p.join("link.npy")).unwrap());
        assert!(!file_present(&p.join("missing.npy")).unwrap());
        let dir_err = file_present(&p.join("d.npy")).unwrap_err().to_string();
        assert!(
            dir_err.ends_with("d.npy: a directory, not a regular file"),
            "{dir_err}"
        );
        let broken = file_present(&p.join("broken.npy")).unwrap_err().to_string();
        assert!(broken.contains("a broken symbolic link"), "{broken}");
    }
}
