//! Reads a PASTIS folder patch by patch.

use super::{array_path, file_present, METADATA_FILE};
use crate::formats::spot::{read_spot, read_spot_georef, read_spot_spec};
use crate::formats::{DatasetReader, Format, NotCarried};
use crate::model::metadata_geojson::{parse_metadata, read_json};
use crate::model::{ArraySpec, DatasetMeta, Layer, Patch, Series, SpotGeoref};
use crate::{npy, Error, Result};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// A PASTIS / PASTIS-R folder opened for reading. Only metadata is held in memory.
#[derive(Debug)]
pub struct PastisReader {
    root: PathBuf,
    meta: DatasetMeta,
}

impl PastisReader {
    /// Opens a folder: parses metadata.geojson and the NORM files present (written by Python's
    /// `json.dump`, `NaN` and `Infinity` included: [`crate::model::python_json`]).
    ///
    /// # Errors
    /// metadata.geojson or a NORM file is missing, unreadable or not what PASTIS defines.
    pub fn open(root: &Path) -> Result<PastisReader> {
        let (reader, mut problems) = PastisReader::open_lenient(root)?;
        match problems.is_empty() {
            true => Ok(reader),
            false => Err(problems.remove(0)),
        }
    }

    /// Opens a folder as [`PastisReader::open`] does, but returns the errors of the NORM files
    /// (dataset-level files a patch does not need) beside the reader instead of failing, for
    /// `inspect` to report them among its other problems.
    ///
    /// # Errors
    /// metadata.geojson is missing, unreadable or not a PASTIS FeatureCollection.
    pub fn open_lenient(root: &Path) -> Result<(PastisReader, Vec<Error>)> {
        let meta_path = root.join(METADATA_FILE);
        if !meta_path.is_file() {
            return Err(Error::invalid(
                &meta_path,
                "missing: a PASTIS folder needs metadata.geojson to list its patches",
            ));
        }
        let mut meta = parse_metadata(&meta_path, read_json(&meta_path)?)?;
        let mut problems = Vec::new();
        for series in Series::ALL {
            let norm = root.join(series.norm_file());
            match file_present(&norm)
                .and_then(|present| present.then(|| read_norm(&norm)).transpose())
            {
                Ok(Some(value)) => {
                    meta.norms.insert(series, value);
                }
                Ok(None) => {}
                Err(e) => problems.push(e),
            }
        }
        let reader = PastisReader {
            root: root.to_path_buf(),
            meta,
        };
        Ok((reader, problems))
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
            if !file_present(&path)? {
                continue;
            }
            let spec = match layer {
                Layer::Spot => read_spot_spec(&path)?,
                _ => npy::read_header(&path)?.spec,
            };
            specs.insert(layer, spec);
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
        let mut spot = None;
        for &layer in layers {
            let path = array_path(&self.root, layer, id);
            if !file_present(&path)? {
                continue;
            }
            let array = match layer {
                Layer::Spot => {
                    let (image, georef) = read_spot(&path)?;
                    spot = Some(georef);
                    image
                }
                _ => npy::read_npy(&path)?,
            };
            arrays.insert(layer, array);
        }
        Ok(Patch { meta, arrays, spot })
    }

    fn spot_georef(&self, id: i64) -> Result<Option<SpotGeoref>> {
        let path = array_path(&self.root, Layer::Spot, id);
        match file_present(&path)? {
            true => read_spot_georef(&path).map(Some),
            false => Ok(None),
        }
    }

    /// The foreign entries of the folder's survey ([`super::content::survey_content`], the
    /// one `inspect` reports).
    fn not_carried(&self) -> Vec<NotCarried> {
        let ids: HashSet<i64> = self.meta.patches.iter().map(|p| p.id).collect();
        super::content::survey_content(&self.root, &ids)
            .foreign
            .into_iter()
            .map(|foreign| NotCarried {
                why: foreign.reason(),
                path: foreign.path,
            })
            .collect()
    }
}

/// Reads a NORM file as Python's `json.load` would.
fn read_norm(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    crate::model::python_json::from_str(&text)
        .map_err(|e| Error::invalid(path, format!("not valid JSON: {e}")))
}
