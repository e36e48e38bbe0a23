//! The original PASTIS / PASTIS-R layout: one folder of `.npy` files per modality, metadata.geojson
//! and NORM_*_patch.json.

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

use crate::model::Layer;
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

/// `ROOT/DATA_S2/S2_10000.npy` and the like.
pub fn array_path(root: &Path, layer: Layer, id: i64) -> PathBuf {
    root.join(layer.folder()).join(file_name(layer, id))
}

/// `S2_10000.npy` and the like.
pub fn file_name(layer: Layer, id: i64) -> String {
    format!("{}_{id}.npy", layer.name())
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
}
