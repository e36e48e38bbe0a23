//! Reads a store written by the writer (v3 or v2), one patch at a time, touching only the chunks
//! of the patch and layers asked for.

use super::arrays::{dtype_of, read_all, read_row};
use super::{store_at, zarr_error, Store, ZArray};
use crate::formats::stacked::{dataset_meta, length_name, names, present_name};
use crate::formats::{DatasetReader, Format};
use crate::model::{ArraySpec, DType, DatasetMeta, Layer, Patch};
use crate::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use zarrs::group::Group;
use zarrs::node::{node_exists, NodePath};

/// One stacked layer of the store.
struct StoredLayer {
    array: ZArray,
    dtype: DType,
    /// Per patch: its extent along the first axis of its own array (series: true length;
    /// annotations: the full extent), or `None` when the patch lacks the layer.
    extent: Vec<Option<usize>>,
}

/// A Zarr store opened for reading. Holds the metadata; arrays are read on demand.
pub struct ZarrReader {
    root: PathBuf,
    meta: DatasetMeta,
    rows: HashMap<i64, usize>,
    layers: BTreeMap<Layer, StoredLayer>,
}

impl ZarrReader {
    /// Opens the store at `path`: root attributes, the `feature` array and the presence columns.
    pub fn open(path: &Path) -> Result<ZarrReader> {
        let store = store_at(path)?;
        let group = Group::open(store.clone(), "/").map_err(|e| zarr_error(path, e))?;
        let features: Vec<String> = read_all(path, &open_array(path, &store, names::FEATURE)?)?;
        let meta = dataset_meta(path, group.attributes(), &features)?;
        let ids: Vec<i64> = read_all(path, &open_array(path, &store, names::ID_PATCH)?)?;
        if ids != meta.ids() {
            return Err(Error::invalid(
                path,
                "ID_PATCH disagrees with the patches of the feature array",
            ));
        }
        let mut layers = BTreeMap::new();
        for layer in Layer::ALL {
            if exists(path, &store, layer.name())? {
                layers.insert(layer, stored_layer(path, &store, layer, ids.len())?);
            } else {
                check_no_column(path, &store, layer)?;
            }
        }
        let rows = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        Ok(ZarrReader {
            root: path.to_path_buf(),
            meta,
            rows,
            layers,
        })
    }

    fn row(&self, id: i64) -> Result<usize> {
        self.rows
            .get(&id)
            .copied()
            .ok_or_else(|| Error::patch(id, format!("not in {}", self.root.display())))
    }
}

impl DatasetReader for ZarrReader {
    fn format(&self) -> Format {
        Format::Zarr
    }

    fn metadata(&self) -> &DatasetMeta {
        &self.meta
    }

    fn specs(&self, id: i64) -> Result<BTreeMap<Layer, ArraySpec>> {
        let row = self.row(id)?;
        let mut specs = BTreeMap::new();
        for (&layer, stored) in &self.layers {
            if let Some(extent) = stored.extent[row] {
                let mut shape = stored.array.shape()[1..]
                    .iter()
                    .map(|&s| s as usize)
                    .collect::<Vec<_>>();
                if let Some(s0) = shape.first_mut() {
                    *s0 = extent;
                }
                specs.insert(
                    layer,
                    ArraySpec {
                        dtype: stored.dtype,
                        shape,
                    },
                );
            }
        }
        Ok(specs)
    }

    fn read_patch(&self, id: i64, layers: &[Layer]) -> Result<Patch> {
        let row = self.row(id)?;
        let specs = self.specs(id)?;
        let mut arrays = BTreeMap::new();
        for layer in layers {
            let (Some(stored), Some(spec)) = (self.layers.get(layer), specs.get(layer)) else {
                continue;
            };
            let array = read_row(&self.root, &stored.array, stored.dtype, row, &spec.shape)?;
            arrays.insert(*layer, array);
        }
        let meta = self.meta.patches[row].clone();
        Ok(Patch { meta, arrays })
    }
}

/// Opens the data array of `layer` and works out which patches have it.
fn stored_layer(path: &Path, store: &Store, layer: Layer, n: usize) -> Result<StoredLayer> {
    let array = open_array(path, store, layer.name())?;
    let dtype = dtype_of(&array).ok_or_else(|| {
        Error::invalid(
            path,
            format!("{layer}: data type {} is not supported", array.data_type()),
        )
    })?;
    let extent: Vec<Option<usize>> = if layer.is_series() {
        let lengths: Vec<i32> = read_all(path, &open_array(path, store, &length_name(layer))?)?;
        lengths
            .into_iter()
            .map(|t| usize::try_from(t).ok().filter(|&t| t > 0))
            .collect()
    } else {
        let present: Vec<u8> = read_all(path, &open_array(path, store, &present_name(layer))?)?;
        let full = array.shape().get(1).map(|&s| s as usize).unwrap_or(0);
        present
            .into_iter()
            .map(|p| (p != 0).then_some(full))
            .collect()
    };
    check_rows(path, layer, &extent, n)?;
    if array.shape().first() != Some(&(n as u64)) {
        return Err(Error::invalid(
            path,
            format!(
                "{layer} has shape {:?}, expected {n} patches first",
                array.shape()
            ),
        ));
    }
    Ok(StoredLayer {
        array,
        dtype,
        extent,
    })
}

fn check_rows(path: &Path, layer: Layer, extent: &[Option<usize>], n: usize) -> Result<()> {
    if extent.len() == n {
        Ok(())
    } else {
        Err(Error::invalid(
            path,
            format!(
                "{layer}: presence lists {} patches, expected {n}",
                extent.len()
            ),
        ))
    }
}

/// Fails if the per-patch column of `layer` exists without its data array (a damaged store).
fn check_no_column(path: &Path, store: &Store, layer: Layer) -> Result<()> {
    let column = match layer.is_series() {
        true => length_name(layer),
        false => present_name(layer),
    };
    if exists(path, store, &column)? {
        return Err(Error::invalid(
            path,
            format!("array {layer} is missing, but {column} says which patches have it"),
        ));
    }
    Ok(())
}

fn open_array(path: &Path, store: &Store, name: &str) -> Result<ZArray> {
    ZArray::open(store.clone(), &format!("/{name}"))
        .map_err(|e| zarr_error(path, format!("array {name}: {e}")))
}

fn exists(path: &Path, store: &Store, name: &str) -> Result<bool> {
    let node = NodePath::new(&format!("/{name}")).map_err(|e| zarr_error(path, e))?;
    node_exists(store, &node).map_err(|e| zarr_error(path, e))
}
