//! Reads a store written by the writer (v3 or v2), one patch at a time, touching only the chunks
//! of the patch and layers asked for. What the store holds is interpreted by
//! [`stacked::read::interpret`], as for HDF5; this module only reaches the arrays.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::arrays::{dtype_of, read_all, read_row, read_strings};
use super::{store_at, zarr_error, zarr_error_in, Store, ZArray};
use crate::formats::stacked::read::assemble_patch;
use crate::formats::stacked::{self, LayerIndex, StackedSource};
use crate::formats::{DatasetReader, Format};
use crate::model::{Array, ArraySpec, DType, DatasetMeta, Layer, Patch, SpotGeoref};
use crate::{Error, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use zarrs::array::ArrayMetadata;
use zarrs::group::{Group, GroupMetadata};
use zarrs::node::{node_exists, NodePath};

/// One stacked layer of the store.
struct StoredLayer {
    array: ZArray,
    dtype: DType,
    index: LayerIndex,
}

/// A Zarr store opened for reading. Holds the metadata; arrays are read on demand.
pub struct ZarrReader {
    root: PathBuf,
    meta: DatasetMeta,
    rows: HashMap<i64, usize>,
    layers: BTreeMap<Layer, StoredLayer>,
    /// Per row, the SPOT georeferencing of the `SPOT_*` columns (empty without SPOT).
    spot: Vec<Option<SpotGeoref>>,
}

/// The arrays of a store, by name, for [`stacked::read::interpret`].
struct Source<'a> {
    path: &'a Path,
    store: &'a Store,
    group: Group<dyn zarrs::storage::ReadableWritableListableStorageTraits>,
}

impl StackedSource for Source<'_> {
    fn container(&self) -> &'static str {
        "Zarr store"
    }

    fn item(&self) -> &'static str {
        "array"
    }

    fn layout_attribute(&self) -> Result<Option<String>> {
        Ok(self
            .group
            .attributes()
            .get("pastis_bridge_layout")
            .and_then(Value::as_str)
            .map(str::to_string))
    }

    fn attributes(&self) -> Result<Map<String, Value>> {
        Ok(self.group.attributes().clone())
    }

    fn has(&self, name: &str) -> Result<bool> {
        exists(self.path, self.store, name)
    }

    fn shape(&self, name: &str) -> Result<Vec<usize>> {
        let array = open_array(self.path, self.store, name)?;
        Ok(array.shape().iter().map(|&s| s as usize).collect())
    }

    fn strings(&self, name: &str) -> Result<Vec<String>> {
        read_strings(self.path, &open_array(self.path, self.store, name)?)
    }

    fn i64s(&self, name: &str) -> Result<Vec<i64>> {
        read_all(self.path, &open_array(self.path, self.store, name)?)
    }

    fn i32s(&self, name: &str) -> Result<Vec<i32>> {
        read_all(self.path, &open_array(self.path, self.store, name)?)
    }

    fn u8s(&self, name: &str) -> Result<Vec<u8>> {
        read_all(self.path, &open_array(self.path, self.store, name)?)
    }

    fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        read_all(self.path, &open_array(self.path, self.store, name)?)
    }
}

impl ZarrReader {
    /// Opens the store at `path`: root attributes, `feature`, `ID_PATCH` and the per-patch
    /// presence, length and dates columns, checked as [`stacked::read::interpret`] says.
    pub fn open(path: &Path) -> Result<ZarrReader> {
        let store = store_at(path)?;
        let group = Group::open(store.clone(), "/").map_err(|e| zarr_error(path, e))?;
        let root_v2 = matches!(group.metadata(), GroupMetadata::V2(_));
        let source = Source {
            path,
            store: &store,
            group,
        };
        let stacked = stacked::read::interpret(path, &source)?;
        let mut layers = BTreeMap::new();
        for (layer, index) in stacked.layers {
            let array = open_array(path, &store, layer.name())?;
            check_version(path, layer, &array, root_v2)?;
            let dtype = dtype_of(&array).ok_or_else(|| {
                Error::invalid(
                    path,
                    format!("{layer}: data type {} is not supported", array.data_type()),
                )
            })?;
            index.check_stored(path, layer, dtype)?;
            layers.insert(
                layer,
                StoredLayer {
                    array,
                    dtype,
                    index,
                },
            );
        }
        Ok(ZarrReader {
            root: path.to_path_buf(),
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
        Ok(self
            .layers
            .iter()
            .filter_map(|(&layer, stored)| {
                let shape = stored.index.per_patch.get(row)?.clone()?;
                Some((
                    layer,
                    ArraySpec {
                        dtype: stored.index.dtype(row, stored.dtype),
                        shape,
                    },
                ))
            })
            .collect())
    }

    fn read_patch(&self, id: i64, layers: &[Layer]) -> Result<Patch> {
        let row = self.row(id)?;
        let mut arrays = BTreeMap::new();
        for layer in layers {
            let Some(stored) = self.layers.get(layer) else {
                continue;
            };
            let Some(Some(shape)) = stored.index.per_patch.get(row) else {
                continue;
            };
            let array = if shape.contains(&0) {
                Array::zeros(stored.index.dtype(row, stored.dtype), shape)
            } else {
                let array = read_row(&self.root, &stored.array, stored.dtype, row, shape)?;
                stored.index.restore(*layer, id, row, array)?
            };
            arrays.insert(*layer, array);
        }
        assemble_patch(&self.meta, &self.spot, id, row, arrays, "store")
    }

    fn spot_georef(&self, id: i64) -> Result<Option<SpotGeoref>> {
        let row = self.row(id)?;
        Ok(self.spot.get(row).cloned().flatten())
    }
}

/// Refuses a layer whose metadata is of another Zarr version than the store's root: zarrs
/// prefers a `zarr.json` where zarr-python and GDAL read a v2 store's `.zarray`, so a stray v3
/// document (left in a v2 store by a run with other options, issue #19) would make this reader
/// see other values than theirs.
fn check_version(path: &Path, layer: Layer, array: &ZArray, root_v2: bool) -> Result<()> {
    if root_v2 && !matches!(array.metadata(), ArrayMetadata::V2(_)) {
        return Err(Error::invalid(
            path,
            format!(
                "{layer}/zarr.json is Zarr v3 metadata in a Zarr v2 store (.zgroup), left by a \
                 run with other options: other readers use {layer}/.zarray; delete \
                 {layer}/zarr.json if that is the array's, or convert again"
            ),
        ));
    }
    Ok(())
}

fn open_array(path: &Path, store: &Store, name: &str) -> Result<ZArray> {
    ZArray::open(store.clone(), &format!("/{name}"))
        .map_err(|e| zarr_error_in(path, format!("array {name}"), e))
}

fn exists(path: &Path, store: &Store, name: &str) -> Result<bool> {
    let node = NodePath::new(&format!("/{name}")).map_err(|e| zarr_error(path, e))?;
    node_exists(store, &node).map_err(|e| zarr_error(path, e))
}
