//! Writes a dataset as one Zarr store, patch by patch, from several threads at once.
//!
//! No two threads ever write the same shard: a series shard holds one patch, and annotation shards
//! (a group of patches in v3) are written by whichever thread delivers the group's last patch,
//! from a buffer that holds only the groups still in flight.

use super::arrays::{create_array, padded_row, write_block, ArrayDef, Kind, Version};
use super::columns::{write_columns, ColumnSink};
use super::consolidate::{consolidate, write_root_group};
use super::{store_at, Store, ZArray};
use crate::formats::stacked::{data_arrays, dataset_attributes, StackedArray};
use crate::formats::{Compression, DatasetWriter, WriteOptions};
use crate::model::{Array, DatasetLayout, DatasetMeta, Layer, Patch};
use crate::output::StagedPath;
use crate::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

/// One data array being written.
struct DataArray {
    array: ZArray,
    spec: StackedArray,
}

/// The annotations received so far for one group of patches (one v3 shard).
#[derive(Default)]
struct GroupBuffer {
    arrived: usize,
    rows: BTreeMap<usize, BTreeMap<Layer, Array>>,
}

/// A Zarr store under construction, moved into place by [`finish`](DatasetWriter::finish).
pub struct ZarrWriter {
    staged: StagedPath,
    store: Store,
    version: Version,
    n_patches: usize,
    arrays: BTreeMap<Layer, DataArray>,
    groups: Mutex<HashMap<usize, GroupBuffer>>,
    patches_per_group: usize,
}

impl ZarrWriter {
    /// Starts a store at `path`: root group, every array's metadata and the per-patch arrays.
    pub fn create(
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
    ) -> Result<ZarrWriter> {
        let version = match options.zarr_version {
            2 => Version::V2,
            3 => Version::V3,
            v => return Err(Error::Usage(format!("zarr version {v}: expected 2 or 3"))),
        };
        let compression = options.compression.unwrap_or(Compression::Zstd(3));
        if compression == Compression::Lzf {
            return Err(super::arrays::lzf_unsupported());
        }
        layout.require_stackable("zarr")?;
        let staged = StagedPath::start(path, options.overwrite, options.resume)?;
        let root = staged.path().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        let store = store_at(&root)?;
        let attributes = dataset_attributes(meta, "PASTIS");
        write_root_group(&root, &store, version, attributes)?;
        let n_patches = meta.patches.len();
        let mut arrays = BTreeMap::new();
        for spec in data_arrays(layout, n_patches) {
            let def = data_def(&spec, version);
            let array = create_array(&root, &store, &def, version, compression)?;
            arrays.insert(spec.layer, DataArray { array, spec });
        }
        let sink = ColumnSink {
            root: &root,
            store: &store,
            version,
            compression,
        };
        write_columns(&sink, meta, layout)?;
        let patches_per_group = arrays
            .values()
            .find(|a| !a.spec.layer.is_series())
            .map_or(1, |a| a.spec.patches_per_shard.max(1));
        Ok(ZarrWriter {
            staged,
            store,
            version,
            n_patches,
            arrays,
            groups: Mutex::new(HashMap::new()),
            patches_per_group: if version == Version::V3 {
                patches_per_group
            } else {
                1
            },
        })
    }

    fn root(&self) -> &Path {
        self.staged.path()
    }

    /// Checks that `array` fits the layer's stacked array.
    fn check(&self, id: i64, layer: Layer, array: &Array) -> Result<&DataArray> {
        let data = self.arrays.get(&layer).ok_or_else(|| {
            Error::patch(
                id,
                format!("has {layer}, which the dataset survey did not find"),
            )
        })?;
        let expected = &data.spec.shape[1..];
        let shape = array.shape();
        let fits = array.dtype() == data.spec.dtype
            && shape.len() == expected.len()
            && if layer.is_series() {
                shape.first() <= expected.first() && shape[1..] == expected[1..]
            } else {
                shape == expected
            };
        if fits {
            Ok(data)
        } else {
            Err(Error::patch(
                id,
                format!(
                    "{layer} is {} {shape:?} but the store's {layer} holds {} {expected:?}",
                    array.dtype(),
                    data.spec.dtype
                ),
            ))
        }
    }

    /// Adds a patch's annotations to its group; writes the group when it is complete.
    fn buffer_annotations(&self, index: usize, annotations: BTreeMap<Layer, Array>) -> Result<()> {
        let group = index / self.patches_per_group;
        let complete = {
            let mut groups = self.groups.lock().map_err(|_| poisoned(self.root()))?;
            let buffer = groups.entry(group).or_default();
            buffer.arrived += 1;
            buffer.rows.insert(index, annotations);
            if buffer.arrived == self.group_len(group) {
                groups.remove(&group)
            } else {
                None
            }
        };
        match complete {
            Some(buffer) => self.write_group(group, buffer),
            None => Ok(()),
        }
    }

    /// Patches in `group` (the last group may be short).
    fn group_len(&self, group: usize) -> usize {
        let start = group * self.patches_per_group;
        self.patches_per_group
            .min(self.n_patches.saturating_sub(start))
    }

    /// Writes one group's rows of every annotation array, zeros where a patch lacks a layer.
    fn write_group(&self, group: usize, buffer: GroupBuffer) -> Result<()> {
        let start = group * self.patches_per_group;
        for (&layer, data) in self.arrays.iter().filter(|(l, _)| !l.is_series()) {
            let rows: Vec<Array> = (start..start + self.group_len(group))
                .map(|i| {
                    buffer
                        .rows
                        .get(&i)
                        .and_then(|r| r.get(&layer))
                        .cloned()
                        .unwrap_or_else(|| Array::zeros(data.spec.dtype, &data.spec.shape[1..]))
                })
                .collect();
            let block = Array::stack(&rows).ok_or_else(|| {
                Error::invalid(
                    self.root(),
                    format!("{layer}: rows of group {group} differ"),
                )
            })?;
            write_block(self.root(), &data.array, start, &block)?;
        }
        Ok(())
    }
}

impl DatasetWriter for ZarrWriter {
    fn write_patch(&self, index: usize, patch: &Patch) -> Result<()> {
        let mut annotations = BTreeMap::new();
        for (&layer, array) in &patch.arrays {
            let data = self.check(patch.id(), layer, array)?;
            if layer.is_series() {
                let block = padded_row(array, data.spec.shape[1]);
                write_block(self.root(), &data.array, index, &block)?;
            } else {
                annotations.insert(layer, array.clone());
            }
        }
        self.buffer_annotations(index, annotations)
    }

    /// A v3 annotation shard holds a group of patches: one worker writes a whole group.
    fn group_size(&self) -> usize {
        self.patches_per_group
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let pending: Vec<(usize, GroupBuffer)> = self
            .groups
            .lock()
            .map_err(|_| poisoned(self.root()))?
            .drain()
            .collect();
        for (group, buffer) in pending {
            self.write_group(group, buffer)?;
        }
        consolidate(self.root(), &self.store, self.version)?;
        let ZarrWriter { staged, store, .. } = *self;
        drop(store);
        staged.commit()?;
        Ok(())
    }
}

/// The array definition of a stacked data array.
fn data_def(spec: &StackedArray, version: Version) -> ArrayDef {
    let mut shard = spec.shape.clone();
    shard[0] = spec.patches_per_shard;
    let chunk: Vec<usize> = spec.chunk.iter().map(|&c| c.max(1)).collect();
    ArrayDef {
        name: spec.layer.name().to_string(),
        kind: Kind::Number(spec.dtype),
        shape: spec.shape.clone(),
        chunk,
        shard: (version == Version::V3).then(|| shard.iter().map(|&c| c.max(1)).collect()),
        dimension_names: spec.dimension_names.clone(),
    }
}

fn poisoned(root: &Path) -> Error {
    Error::invalid(
        root,
        "a writer thread panicked while holding the annotation buffer",
    )
}
