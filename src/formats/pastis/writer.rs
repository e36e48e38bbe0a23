//! Writes the original layout back: `.npy` files as numpy writes them, metadata.geojson, NORM files.

use super::{array_path, METADATA_FILE};
use crate::formats::spot::write_spot;
use crate::formats::{DatasetWriter, WriteOptions};
use crate::model::metadata_geojson::{metadata_document, write_json};
use crate::model::{DatasetMeta, Layer, Patch};
use crate::output::StagedPath;
use crate::{npy, Error, Result};
use std::path::Path;

/// Writes a PASTIS folder under a staging name and moves it into place on [`finish`](DatasetWriter::finish).
#[derive(Debug)]
pub struct PastisWriter {
    staged: StagedPath,
    meta: DatasetMeta,
}

impl PastisWriter {
    /// Starts a folder at `path` for the patches of `meta`.
    pub fn create(path: &Path, meta: &DatasetMeta, options: &WriteOptions) -> Result<PastisWriter> {
        let staged = StagedPath::start(path, options.overwrite, options.resume)?;
        std::fs::create_dir_all(staged.path()).map_err(|e| Error::io(staged.path(), e))?;
        Ok(PastisWriter {
            staged,
            meta: meta.clone(),
        })
    }
}

impl DatasetWriter for PastisWriter {
    fn write_patch(&self, _index: usize, patch: Patch) -> Result<()> {
        for (&layer, array) in &patch.arrays {
            let path = array_path(self.staged.path(), layer, patch.id());
            let folder = path
                .parent()
                .ok_or_else(|| Error::invalid(&path, "has no parent folder"))?;
            std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
            match (layer, &patch.spot) {
                (Layer::Spot, Some(georef)) => write_spot(&path, array, georef)?,
                (Layer::Spot, None) => {
                    return Err(Error::patch_layer(
                        patch.id(),
                        layer,
                        None,
                        "the SPOT image has no georeferencing to write",
                    ))
                }
                _ => npy::write_npy(&path, array)?,
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let root = self.staged.path();
        write_json(&root.join(METADATA_FILE), &metadata_document(&self.meta))?;
        for (series, norm) in &self.meta.norms {
            // As Python's json.dump writes it: NaN and Infinity as bare tokens.
            let path = root.join(series.norm_file());
            let mut text = crate::model::python_json::to_string_pretty(norm)
                .map_err(|e| Error::invalid(&path, format!("cannot serialise: {e}")))?;
            text.push('\n');
            std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        }
        self.staged.commit()?;
        Ok(())
    }
}
