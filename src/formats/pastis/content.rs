//! The survey of what a PASTIS folder holds: the `.npy` files of the layout, and everything else
//! (hidden files, strays, files of patches metadata does not list, parts of other variants of the
//! dataset). `inspect` reports the foreign entries as problems; `convert` names them as content
//! the output will not carry ([`crate::formats::NotCarried`]). One survey, one list, for both.

use super::{parse_file_name, FOLDERS, METADATA_FILE};
use crate::formats::spot::{parse_spot_file_name, spot_file_pattern, SPOT_FOLDER};
use crate::model::{Layer, Series};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// Known parts of variants of the dataset that no layer of pastis-bridge holds, with what they
/// are, by their name in the dataset root. Remove an entry when a layer comes to hold it:
/// PASTIS-HD's `DATA_SPOT` is carried since issue #20 ([`Layer::Spot`]), none is left.
pub const UNSUPPORTED_PARTS: [(&str, &str); 0] = [];

/// What a PASTIS folder holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Content {
    /// Per layer, the patches that have a file of it in its folder, listed in metadata or not.
    pub found: BTreeMap<Layer, BTreeSet<i64>>,
    /// Everything that is not part of the dataset the layout defines, in path order within
    /// the root, then each data folder.
    pub foreign: Vec<Foreign>,
}

/// One entry of a PASTIS folder that is not part of the dataset its metadata defines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Foreign {
    /// The file or folder.
    pub path: PathBuf,
    /// Why it is not part of the dataset.
    pub kind: ForeignKind,
}

/// Why an entry is not part of the dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForeignKind {
    /// A hidden file or folder (name starting with a dot).
    Hidden,
    /// A name the layout does not have, in the root (`None`) or in a data folder.
    Stray {
        /// The data folder it is in (`DATA_S2`...), `None` for the root.
        folder: Option<&'static str>,
    },
    /// A file of the layout for a patch that metadata.geojson does not list.
    UnknownPatch {
        /// Its layer.
        layer: Layer,
        /// Its `ID_PATCH`.
        id: i64,
    },
    /// A known part of another variant of the dataset that no layer holds
    /// ([`UNSUPPORTED_PARTS`]): what it is.
    Unsupported(&'static str),
}

impl Foreign {
    /// What the entry is, in words, without its path.
    pub fn reason(&self) -> String {
        match self.kind {
            ForeignKind::Hidden => "hidden file; not part of the dataset".into(),
            ForeignKind::Stray { folder: None } => "not part of the PASTIS layout".into(),
            ForeignKind::Stray {
                folder: Some(folder),
            } if folder == SPOT_FOLDER => {
                format!(
                    "unexpected name in {folder}/ (expected {})",
                    spot_file_pattern()
                )
            }
            ForeignKind::Stray {
                folder: Some(folder),
            } if folder == Layer::Spot.folder() => {
                format!("unexpected name in {folder}/ (expected PASTIS_SPOT6_RVB_1M00_2019/)")
            }
            ForeignKind::Stray {
                folder: Some(folder),
            } => format!("unexpected name in {folder}/ (expected {{LAYER}}_{{ID_PATCH}}.npy)"),
            ForeignKind::UnknownPatch { id, .. } => {
                format!("patch {id} is not listed in metadata.geojson")
            }
            ForeignKind::Unsupported(what) => {
                format!("{what}: no layer of pastis-bridge holds them")
            }
        }
    }
}

/// Surveys the folder at `root` whose metadata lists the patches `ids`. An unreadable folder
/// reads as empty: what cannot be listed is reported by the readers of its files.
pub fn survey_content(root: &Path, ids: &HashSet<i64>) -> Content {
    let mut content = Content {
        found: BTreeMap::new(),
        foreign: root_foreign(root),
    };
    for folder in FOLDERS {
        for (path, name) in list(&root.join(folder)) {
            let kind = if name.starts_with('.') {
                ForeignKind::Hidden
            } else if let Some((layer, id)) = parse_file_name(folder, &name) {
                content.found.entry(layer).or_default().insert(id);
                if ids.contains(&id) {
                    continue;
                }
                ForeignKind::UnknownPatch { layer, id }
            } else {
                ForeignKind::Stray {
                    folder: Some(folder),
                }
            };
            content.foreign.push(Foreign { path, kind });
        }
    }
    survey_spot(root, ids, &mut content);
    content
}

/// PASTIS-HD's SPOT images (`DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_<ID>.tif`):
/// the images found, and the hidden and stray entries of both folders.
fn survey_spot(root: &Path, ids: &HashSet<i64>, content: &mut Content) {
    let images = root.join(SPOT_FOLDER);
    for (path, name) in list(&root.join(Layer::Spot.folder())) {
        if path != images || !path.is_dir() {
            let kind = match name.starts_with('.') {
                true => ForeignKind::Hidden,
                false => ForeignKind::Stray {
                    folder: Some(Layer::Spot.folder()),
                },
            };
            content.foreign.push(Foreign { path, kind });
        }
    }
    for (path, name) in list(&images) {
        let kind = match parse_spot_file_name(&name) {
            _ if name.starts_with('.') => ForeignKind::Hidden,
            Some(id) => {
                content.found.entry(Layer::Spot).or_default().insert(id);
                if ids.contains(&id) {
                    continue;
                }
                ForeignKind::UnknownPatch {
                    layer: Layer::Spot,
                    id,
                }
            }
            None => ForeignKind::Stray {
                folder: Some(SPOT_FOLDER),
            },
        };
        content.foreign.push(Foreign { path, kind });
    }
}

/// The foreign entries of the root: all but metadata, NORM files and the data folders.
fn root_foreign(root: &Path) -> Vec<Foreign> {
    list(root)
        .into_iter()
        .filter(|(path, name)| {
            let known = name == METADATA_FILE
                || Series::ALL.iter().any(|s| s.norm_file() == name.as_str())
                || ((FOLDERS.contains(&name.as_str()) || name == Layer::Spot.folder())
                    && path.is_dir());
            !known
        })
        .map(|(path, name)| {
            let unsupported = UNSUPPORTED_PARTS.iter().find(|(part, _)| *part == name);
            let kind = match unsupported {
                _ if name.starts_with('.') => ForeignKind::Hidden,
                Some((_, what)) => ForeignKind::Unsupported(what),
                None => ForeignKind::Stray { folder: None },
            };
            Foreign { path, kind }
        })
        .collect()
}

/// The entries of `dir` with their names, sorted; none if it cannot be listed.
fn list(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut entries: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| (e.path(), e.file_name().to_string_lossy().into_owned()))
        .collect();
    entries.sort();
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_entries_are_named_with_their_reason() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for folder in [
            "DATA_S2",
            "DATA_SPOT/SPOT_10000",
            "DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019",
            "ANNOTATIONS",
        ] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        for file in [
            "metadata.geojson",
            "NORM_S2_patch.json",
            "README.txt",
            ".DS_Store",
            "DATA_S2/S2_1.npy",
            "DATA_S2/S2_2.npy",
            "DATA_S2/S2_1 (copy).npy",
            "ANNOTATIONS/TARGET_1.npy",
            "DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_1.tif",
            "DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_3.tif",
            "DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/notes.txt",
        ] {
            std::fs::write(root.join(file), b"").unwrap();
        }
        let content = survey_content(root, &HashSet::from([1]));
        let found: Vec<(String, String)> = content
            .foreign
            .iter()
            .map(|f| {
                let path = f.path.strip_prefix(root).unwrap();
                (path.display().to_string(), f.reason())
            })
            .collect();
        let expected = [
            (".DS_Store", "hidden file; not part of the dataset"),
            ("README.txt", "not part of the PASTIS layout"),
            (
                "DATA_S2/S2_1 (copy).npy",
                "unexpected name in DATA_S2/ (expected {LAYER}_{ID_PATCH}.npy)",
            ),
            (
                "DATA_S2/S2_2.npy",
                "patch 2 is not listed in metadata.geojson",
            ),
            (
                "DATA_SPOT/SPOT_10000",
                "unexpected name in DATA_SPOT/ (expected PASTIS_SPOT6_RVB_1M00_2019/)",
            ),
            (
                "DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_3.tif",
                "patch 3 is not listed in metadata.geojson",
            ),
            (
                "DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/notes.txt",
                "unexpected name in DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/ (expected SPOT6_RVB_1M00_2019_{ID_PATCH}.tif)",
            ),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(p, r)| (p.to_string(), r.to_string()))
            .collect();
        assert_eq!(found, expected);
        assert_eq!(content.found[&Layer::S2], BTreeSet::from([1, 2]));
        assert_eq!(content.found[&Layer::Target], BTreeSet::from([1]));
        assert_eq!(content.found[&Layer::Spot], BTreeSet::from([1, 3]));
    }
}
