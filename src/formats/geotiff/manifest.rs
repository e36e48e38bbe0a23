//! `pastis-geotiff.json`: the dataset metadata, NORM statistics and original dtypes and shapes,
//! everything the TIFFs cannot carry exactly.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::MANIFEST;
use crate::georef::PatchGrid;
use crate::model::metadata_geojson::{metadata_document, parse_metadata, read_json, write_json};
use crate::model::{ArraySpec, DType, DatasetMeta, Layer, Series};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The `format` member of every manifest.
pub const FORMAT_TAG: &str = "pastis-bridge-geotiff";

/// The manifest version this build writes and reads.
pub const VERSION: u32 = 1;

/// The manifest of an export folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT_TAG`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The full metadata.geojson document (every Feature, CRS and collection members).
    pub metadata: Value,
    /// `NORM_*_patch.json` contents, per series.
    pub norms: BTreeMap<Series, Value>,
    /// Per `ID_PATCH`: its grid and files.
    pub patches: BTreeMap<i64, PatchEntry>,
    /// The VRT mosaics written, relative to the folder.
    pub mosaics: Vec<String>,
    /// Footprints that did not match their grid, mosaics not written...
    pub warnings: Vec<String>,
}

/// One patch of the manifest.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PatchEntry {
    /// The pixel grid the TIFFs were georeferenced with (none with `--no-georef`).
    pub grid: Option<GridEntry>,
    /// Why the TIFFs have no CRS (`--no-georef`, and the patch's georeferencing problem if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_georeferenced: Option<String>,
    /// Each layer written.
    pub layers: BTreeMap<Layer, LayerEntry>,
}

/// A patch's grid, as [`PatchGrid`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridEntry {
    /// EPSG code of the CRS.
    pub epsg: u32,
    /// GDAL geotransform.
    pub geotransform: [f64; 6],
    /// Distance between the raster corners and the footprint, in metres.
    pub corner_error_m: f64,
    /// Where the UTM zone came from (`zone from TILE t30uxv`, or the footprint's centre when
    /// the patch has no TILE); empty in manifests written before it was recorded.
    #[serde(default)]
    pub zone: String,
}

impl From<&PatchGrid> for GridEntry {
    fn from(g: &PatchGrid) -> Self {
        GridEntry {
            epsg: g.epsg,
            geotransform: g.geotransform,
            corner_error_m: g.corner_error_m,
            zone: g.zone.to_string(),
        }
    }
}

/// One array of a patch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerEntry {
    /// The TIFF, relative to the folder; `None` for an array without pixels (a series with T = 0).
    pub file: Option<String>,
    /// The original element type.
    pub dtype: DType,
    /// The GDAL band type it is stored as: the narrowest type GDAL 3.6 and QGIS 3.22 read that
    /// holds the values (float16 → float32, int8 → int16, bool → uint8, int64 → uint16, int32...;
    /// see docs/geotiff.md).
    pub stored_as: DType,
    /// The original shape; bands = product of all axes but the last two.
    pub shape: Vec<usize>,
    /// For TARGET `(C, H, W)` with C > 1: the single-band copy of channel 0 (the semantic
    /// classes) with the class colour table, `TARGET/TARGET_10000_class.tif`, written for GIS
    /// users; the import reads `file` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<ClassesEntry>,
}

/// The class raster written beside a multi-channel TARGET.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassesEntry {
    /// The TIFF, relative to the folder.
    pub file: String,
    /// The GDAL band type it is stored as (Byte when the classes fit, as they do in PASTIS).
    pub stored_as: DType,
}

impl LayerEntry {
    /// The array's dtype and shape.
    pub fn spec(&self) -> ArraySpec {
        ArraySpec {
            dtype: self.dtype,
            shape: self.shape.clone(),
        }
    }
}

impl Manifest {
    /// A manifest for `meta`, with no patch written yet.
    pub fn new(meta: &DatasetMeta) -> Manifest {
        Manifest {
            format: FORMAT_TAG.into(),
            version: VERSION,
            metadata: metadata_document(meta),
            norms: meta.norms.clone(),
            patches: BTreeMap::new(),
            mosaics: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Reads `ROOT/pastis-geotiff.json`.
    pub fn read(root: &Path) -> Result<Manifest> {
        let path = root.join(MANIFEST);
        let manifest: Manifest = serde_json::from_value(read_json(&path)?)
            .map_err(|e| Error::invalid(&path, format!("not a pastis-bridge manifest: {e}")))?;
        if manifest.format != FORMAT_TAG || manifest.version != VERSION {
            let found = format!("{} v{}", manifest.format, manifest.version);
            let msg = format!("manifest is {found}, expected {FORMAT_TAG} v{VERSION}");
            return Err(Error::invalid(&path, msg));
        }
        Ok(manifest)
    }

    /// Writes `ROOT/pastis-geotiff.json`.
    pub fn write(&self, root: &Path) -> Result<()> {
        let path = root.join(MANIFEST);
        let value = serde_json::to_value(self)
            .map_err(|e| Error::invalid(&path, format!("cannot serialise the manifest: {e}")))?;
        write_json(&path, &value)
    }

    /// The dataset metadata it holds.
    pub fn dataset_meta(&self, root: &Path) -> Result<DatasetMeta> {
        let mut meta = parse_metadata(&root.join(MANIFEST), self.metadata.clone())?;
        meta.norms = self.norms.clone();
        Ok(meta)
    }
}

/// Folder of the staging output holding each finished patch's entry, so that a run killed
/// mid-way and resumed (`--resume`) still lists the patches written before the kill.
const ENTRIES: &str = ".patch-entries";

impl PatchEntry {
    /// Saves the entry of patch `id` under `root` (written aside, then renamed: all or nothing).
    pub fn save(&self, root: &Path, id: i64) -> Result<()> {
        let folder = root.join(ENTRIES);
        std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
        let path = folder.join(format!("{id}.json"));
        let aside = folder.join(format!("{id}.json.tmp"));
        let value = serde_json::to_value(self)
            .map_err(|e| Error::invalid(&path, format!("cannot serialise: {e}")))?;
        write_json(&aside, &value)?;
        std::fs::rename(&aside, &path).map_err(|e| Error::io(&path, e))
    }

    /// Adds to `patches` the saved entries of the patches of `meta` it lacks (those written by an
    /// interrupted run), then removes the saved entries.
    pub fn load_saved(
        root: &Path,
        meta: &DatasetMeta,
        patches: &mut BTreeMap<i64, PatchEntry>,
    ) -> Result<()> {
        let folder = root.join(ENTRIES);
        if !folder.is_dir() {
            return Ok(());
        }
        for id in meta.ids() {
            let path = folder.join(format!("{id}.json"));
            if patches.contains_key(&id) || !path.is_file() {
                continue;
            }
            let entry = serde_json::from_value(read_json(&path)?)
                .map_err(|e| Error::invalid(&path, format!("not a patch entry: {e}")))?;
            patches.insert(id, entry);
        }
        std::fs::remove_dir_all(&folder).map_err(|e| Error::io(&folder, e))
    }
}
