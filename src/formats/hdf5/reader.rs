//! Reads a file written by the HDF5 writer, patch by patch: only the hyperslabs asked for.

use super::attrs::{read_string_attr, read_strings};
use super::{dtype_of, h5err, patch_selection};
use crate::formats::stacked::{self, names, LAYOUT_VERSION};
use crate::formats::{DatasetReader, Format};
use crate::model::{Array, ArraySpec, DType, DatasetMeta, Layer, Patch};
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
}

/// One stacked layer of the file.
#[derive(Debug)]
struct StoredLayer {
    data: Dataset,
    dtype: DType,
    /// `(patch, ...)`.
    shape: Vec<usize>,
    /// 1 where the patch has the layer.
    present: Vec<u8>,
    /// The true length of each patch's series (series only).
    lengths: Option<Vec<i32>>,
}

impl Hdf5Reader {
    /// Opens a file written by [`Hdf5Writer`](super::Hdf5Writer).
    pub fn open(path: &Path) -> Result<Hdf5Reader> {
        let file = super::file_options().open(path).map_err(h5err(path))?;
        check_layout(path, &file)?;
        let attributes = dataset_attributes(path, &file)?;
        let features = read_strings(path, &file, names::FEATURE)?;
        let meta = stacked::dataset_meta(path, &attributes, &features)?;
        let rows = meta
            .patches
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
        let mut layers = BTreeMap::new();
        for layer in Layer::ALL {
            if file.link_exists(layer.name()) {
                let stored = StoredLayer::open(path, &file, layer, meta.patches.len())?;
                layers.insert(layer, stored);
            } else {
                check_no_column(path, &file, layer)?;
            }
        }
        Ok(Hdf5Reader {
            path: path.to_path_buf(),
            meta,
            rows,
            layers,
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
                    arrays.insert(*layer, array);
                }
            }
        }
        Ok(Patch {
            meta: self.meta.patches[row].clone(),
            arrays,
        })
    }
}

impl StoredLayer {
    /// Opens the dataset of `layer` and reads its presence and length columns.
    fn open(path: &Path, file: &File, layer: Layer, n: usize) -> Result<StoredLayer> {
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
        let shape = data.shape();
        let series_ok = !layer.is_series() || shape.len() >= 2;
        if shape.first() != Some(&n) || !series_ok {
            return Err(Error::invalid(
                path,
                format!("{layer} has shape {shape:?}, expected {n} patches first"),
            ));
        }
        let present = read_column::<u8>(path, file, &stacked::present_name(layer), n)?;
        let lengths = match layer.is_series() {
            true => Some(read_column::<i32>(
                path,
                file,
                &stacked::length_name(layer),
                n,
            )?),
            false => None,
        };
        if let Some(bad) = lengths
            .iter()
            .flatten()
            .find(|&&l| l < 0 || l as usize > shape[1])
        {
            return Err(Error::invalid(
                path,
                format!(
                    "{} holds {bad}, outside 0..={}",
                    stacked::length_name(layer),
                    shape[1]
                ),
            ));
        }
        Ok(StoredLayer {
            data,
            dtype,
            shape,
            present,
            lengths,
        })
    }

    /// The dtype and shape of the patch at `row`, `None` if it lacks the layer.
    fn spec(&self, row: usize) -> Option<ArraySpec> {
        if self.present[row] == 0 {
            return None;
        }
        let mut shape = self.shape[1..].to_vec();
        if let Some(lengths) = &self.lengths {
            shape[0] = lengths[row] as usize;
        }
        Some(ArraySpec {
            dtype: self.dtype,
            shape,
        })
    }

    /// Reads the hyperslab of the patch at `row` (`[row, :len]` for a series).
    fn read(&self, path: &Path, row: usize) -> Result<Option<Array>> {
        let Some(spec) = self.spec(row) else {
            return Ok(None);
        };
        let len = self.lengths.as_ref().map(|_| spec.shape[0]);
        let selection = patch_selection(&self.shape, row, len);
        let array = with_dtype!(self.dtype, T => self
            .data
            .read_slice::<T, _, IxDyn>(selection)
            .map(Array::from_ndarray))
        .map_err(h5err(path))?;
        Ok(Some(array))
    }
}

/// Fails if the per-patch column of `layer` exists without its dataset (a damaged file).
fn check_no_column(path: &Path, file: &File, layer: Layer) -> Result<()> {
    let column = match layer.is_series() {
        true => stacked::length_name(layer),
        false => stacked::present_name(layer),
    };
    if file.link_exists(&column) {
        return Err(Error::invalid(
            path,
            format!("dataset {layer} is missing, but {column} says which patches have it"),
        ));
    }
    Ok(())
}

/// Reads a 1-D per-patch column of `n` values.
fn read_column<T: hdf5::H5Type>(path: &Path, file: &File, name: &str, n: usize) -> Result<Vec<T>> {
    let values = file
        .dataset(name)
        .and_then(|d| d.read_raw::<T>())
        .map_err(h5err(path))?;
    if values.len() != n {
        return Err(Error::invalid(
            path,
            format!(
                "{name} has {} values, expected {n} (one per patch)",
                values.len()
            ),
        ));
    }
    Ok(values)
}

/// Fails unless the file declares the stacked layout this version reads.
fn check_layout(path: &Path, file: &File) -> Result<()> {
    match read_string_attr(path, file, "pastis_bridge_layout")? {
        Some(v) if v == LAYOUT_VERSION => Ok(()),
        Some(v) => Err(Error::invalid(
            path,
            format!("layout {v} is not the {LAYOUT_VERSION} this version reads"),
        )),
        None => Err(Error::invalid(
            path,
            "not a pastis-bridge HDF5 file (no pastis_bridge_layout attribute on the root)",
        )),
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
