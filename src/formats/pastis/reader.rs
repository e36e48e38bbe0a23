//! Reads a PASTIS folder patch by patch.

use super::{array_path, METADATA_FILE};
use crate::formats::{DatasetReader, Format};
use crate::model::metadata_geojson::{parse_metadata, read_json};
use crate::model::{ArraySpec, DatasetMeta, Layer, Patch};
use crate::{npy, Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A PASTIS / PASTIS-R folder opened for reading. Only metadata is held in memory.
#[derive(Debug)]
pub struct PastisReader {
    root: PathBuf,
    meta: DatasetMeta,
}

impl PastisReader {
    /// Opens a folder: parses metadata.geojson and the NORM files present.
    pub fn open(root: &Path) -> Result<PastisReader> {
        let meta_path = root.join(METADATA_FILE);
        if !meta_path.is_file() {
            return Err(Error::invalid(
                &meta_path,
                "missing: a PASTIS folder needs metadata.geojson to list its patches",
            ));
        }
        let mut meta = parse_metadata(&meta_path, read_json(&meta_path)?)?;
        for layer in Layer::SERIES {
            let norm = root.join(layer.norm_file().expect("series have norms"));
            if norm.is_file() {
                meta.norms.insert(layer, read_json(&norm)?);
            }
        }
        Ok(PastisReader {
            root: root.to_path_buf(),
            meta,
        })
    }

    /// The folder read.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl DatasetReader for PastisReader {
    fn format(&self) -> Format {
        Format::Pastis
    }

    fn metadata(&self) -> &DatasetMeta {
        &self.meta
    }

    fn specs(&self, id: i64) -> Result<BTreeMap<Layer, ArraySpec>> {
        let mut specs = BTreeMap::new();
        for layer in Layer::ALL {
            let path = array_path(&self.root, layer, id);
            if path.is_file() {
                specs.insert(layer, npy::read_header(&path)?.spec);
            }
        }
        Ok(specs)
    }

    fn read_patch(&self, id: i64, layers: &[Layer]) -> Result<Patch> {
        let meta = self
            .meta
            .patch(id)
            .ok_or_else(|| Error::patch(id, "not listed in metadata.geojson"))?
            .clone();
        let mut arrays = BTreeMap::new();
        for &layer in layers {
            let path = array_path(&self.root, layer, id);
            if path.is_file() {
                arrays.insert(layer, npy::read_npy(&path)?);
            }
        }
        Ok(Patch { meta, arrays })
    }
}
