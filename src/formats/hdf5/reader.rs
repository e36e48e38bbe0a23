//! Reads a file written by the HDF5 writer, patch by patch: only the hyperslabs asked for. What
//! the file holds is interpreted by [`stacked::read::interpret`], as for Zarr; this module only
//! reaches the datasets.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::attrs::{read_string_attr, read_strings};
use super::{dtype_of, h5err, own_selection};
use crate::formats::stacked::read::assemble_patch;
use crate::formats::stacked::{self, LayerIndex, StackedSource};
use crate::formats::{DatasetReader, Format};
use crate::model::{Array, ArraySpec, DType, DatasetMeta, Layer, Patch, SpotGeoref};
use crate::{with_dtype, Error, Result};
use hdf5::{Dataset, File};
use ndarray::IxDyn;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Dataset attributes holding JSON text (objects), parsed back when reading.
const JSON_ATTRIBUTES: [&str; 2] = ["collection", "norm"];

/// An HDF5 file opened for reading. Metadata and per-patch columns are held in memory.
#[derive(Debug)]
pub struct Hdf5Reader {
    path: PathBuf,
    meta: DatasetMeta,
    rows: HashMap<i64, usize>,
    layers: BTreeMap<Layer, StoredLayer>,
    /// Per row, the SPOT georeferencing of the `SPOT_*` columns (empty without SPOT).
    spot: Vec<Option<SpotGeoref>>,
}

/// One stacked layer of the file.
#[derive(Debug)]
struct StoredLayer {
    data: Dataset,
    dtype: DType,
    index: LayerIndex,
}

/// The datasets of a file, by name, for [`stacked::read::interpret`].
struct Source<'a> {
    path: &'a Path,
    file: &'a File,
}

impl Source<'_> {
    fn read<T: hdf5::H5Type>(&self, name: &str) -> Result<Vec<T>> {
        self.file
            .dataset(name)
            .and_then(|d| d.read_raw::<T>())
            .map_err(h5err(self.path))
    }
}

impl StackedSource for Source<'_> {
    fn container(&self) -> &'static str {
        "HDF5 file"
    }

    fn item(&self) -> &'static str {
        "dataset"
    }

    fn layout_attribute(&self) -> Result<Option<String>> {
        read_string_attr(self.path, self.file, "pastis_bridge_layout")
    }

    fn attributes(&self) -> Result<Map<String, Value>> {
        dataset_attributes(self.path, self.file)
    }

    fn has(&self, name: &str) -> Result<bool> {
        Ok(self.file.link_exists(name))
    }

    fn shape(&self, name: &str) -> Result<Vec<usize>> {
        let dataset = self.file.dataset(name).map_err(h5err(self.path))?;
        Ok(dataset.shape())
    }

    fn strings(&self, name: &str) -> Result<Vec<String>> {
        read_strings(self.path, self.file, name)
    }

    fn i64s(&self, name: &str) -> Result<Vec<i64>> {
        self.read(name)
    }

    fn i32s(&self, name: &str) -> Result<Vec<i32>> {
        self.read(name)
    }

    fn u8s(&self, name: &str) -> Result<Vec<u8>> {
        self.read(name)
    }

    fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        self.read(name)
    }
}

impl Hdf5Reader {
    /// Opens a file written by [`Hdf5Writer`](super::Hdf5Writer) (layout v1 or v2).
    pub fn open(path: &Path) -> Result<Hdf5Reader> {
        let file = super::file_options().open(path).map_err(h5err(path))?;
        let source = Source { path, file: &file };
        let stacked = stacked::read::interpret(path, &source)?;
        let mut layers = BTreeMap::new();
        for (layer, index) in stacked.layers {
            let data = file.dataset(layer.name()).map_err(h5err(path))?;
            let descriptor = data
                .dtype()
                .and_then(|t| t.to_descriptor())
                .map_err(h5err(path))?;
            let dtype = dtype_of(&descriptor).ok_or_else(|| {
                Error::invalid(
                    path,
                    format!("{layer} has the unsupported type {descriptor}"),
                )
            })?;
            index.check_stored(path, layer, dtype)?;
            layers.insert(layer, StoredLayer { data, dtype, index });
        }
        Ok(Hdf5Reader {
            path: path.to_path_buf(),
            meta: stacked.meta,
            rows: stacked.rows,
            layers,
            spot: stacked.spot,
        })
    }

    fn row(&self, id: i64) -> Result<usize> {
        self.rows
            .get(&id)
            .copied()
            .ok_or_else(|| Error::patch(id, format!("not in {}", self.path.display())))
    }
}

impl DatasetReader for Hdf5Reader {
    fn format(&self) -> Format {
        Format::Hdf5
    }

    fn metadata(&self) -> &DatasetMeta {
        &self.meta
    }

    fn specs(&self, id: i64) -> Result<BTreeMap<Layer, ArraySpec>> {
        let row = self.row(id)?;
        Ok(self
            .layers
            .iter()
            .filter_map(|(&layer, stored)| stored.spec(row).map(|spec| (layer, spec)))
            .collect())
    }

    fn read_patch(&self, id: i64, layers: &[Layer]) -> Result<Patch> {
        let row = self.row(id)?;
        let mut arrays = BTreeMap::new();
        for layer in layers {
            if let Some(stored) = self.layers.get(layer) {
                if let Some(array) = stored.read(&self.path, row)? {
                    let array = stored.index.restore(*layer, id, row, array)?;
                    arrays.insert(*layer, array);
                }
            }
        }
        assemble_patch(&self.meta, &self.spot, id, row, arrays, "file")
    }

    fn spot_georef(&self, id: i64) -> Result<Option<SpotGeoref>> {
        let row = self.row(id)?;
        Ok(self.spot.get(row).cloned().flatten())
    }
}

impl StoredLayer {
    /// The dtype and shape of the patch at `row`, `None` if it lacks the layer.
    fn spec(&self, row: usize) -> Option<ArraySpec> {
        Some(ArraySpec {
            dtype: self.index.dtype(row, self.dtype),
            shape: self.index.per_patch.get(row)?.clone()?,
        })
    }

    /// Reads the hyperslab of the patch at `row` (`[row, :len]` for a series); an empty array
    /// (a series with 0 dates) is not read.
    fn read(&self, path: &Path, row: usize) -> Result<Option<Array>> {
        let Some(spec) = self.spec(row) else {
            return Ok(None);
        };
        if spec.shape.contains(&0) {
            // Zeros of the stored dtype, as a read gives, restored to the own dtype by the caller.
            return Ok(Some(Array::zeros(self.dtype, &spec.shape)));
        }
        // The patch's own extent: a series' length, a SPOT image's size, an annotation's all.
        let selection = own_selection(row, &spec.shape);
        let array = with_dtype!(self.dtype, T => self
            .data
            .read_slice::<T, _, IxDyn>(selection)
            .map(Array::from_ndarray))
        .map_err(h5err(path))?;
        Ok(Some(array))
    }
}

/// The dataset attributes the metadata is rebuilt from: `crs`, `collection`, `norm`.
fn dataset_attributes(path: &Path, file: &File) -> Result<Map<String, Value>> {
    let mut attributes = Map::new();
    if let Some(crs) = read_string_attr(path, file, "crs")? {
        attributes.insert("crs".into(), Value::String(crs));
    }
    for name in JSON_ATTRIBUTES {
        if let Some(text) = read_string_attr(path, file, name)? {
            let value = serde_json::from_str(&text)
                .map_err(|e| Error::invalid(path, format!("attribute {name} is not JSON: {e}")))?;
            attributes.insert(name.into(), value);
        }
    }
    Ok(attributes)
}
