//! Writes the stacked layout into one HDF5 file: the per-patch columns of
//! [`stacked::columns`] and the dataset attributes when created, each patch's hyperslabs as it
//! comes, and the rename into place on finish.

use super::attrs::{write_json_attrs, write_string_list_attr, write_string_table, write_strings};
use super::chunks::{encode_chunks, write_chunk, ChunkCodec};
use super::{filters, h5err, patch_selection, type_descriptor, SERIES_CHUNK_DATES};
use crate::formats::stacked::{self, Column, ColumnValues, StackedArray};
use crate::formats::{DatasetWriter, WriteOptions};
use crate::model::{Array, DatasetLayout, DatasetMeta, Layer, Patch};
use crate::output::StagedPath;
use crate::warnings::Warnings;
use crate::{with_array, with_dtype, Error, Result};
use hdf5::filters::Filter;
use hdf5::{Dataset, File, Group};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The `source` recorded in the dataset attributes.
const SOURCE: &str = "pastis-bridge";

/// Writes one HDF5 file under a staging name; `write_patch` may be called from many threads.
///
/// Each patch is checked and (for shuffle + deflate or no compression) its chunks encoded in the
/// calling thread; only storing them takes the file's lock.
#[derive(Debug)]
pub struct Hdf5Writer {
    staged: StagedPath,
    ids: Vec<i64>,
    specs: BTreeMap<Layer, StackedArray>,
    codec: ChunkCodec,
    state: Mutex<State>,
    /// The SPOT georeferencing the survey found, per patch (its columns are written already).
    spot: Vec<Option<crate::model::SpotGeoref>>,
}

/// What only one thread at a time may touch.
#[derive(Debug)]
struct State {
    file: File,
    /// The stacked data dataset of each layer.
    layers: BTreeMap<Layer, Dataset>,
}

impl Hdf5Writer {
    /// Creates the file for the patches of `meta` with the shapes of `layout`; patches whose
    /// pixel grid is unknown are named in `warnings`.
    pub fn create(
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
        warnings: &Warnings,
    ) -> Result<Hdf5Writer> {
        layout.require_stackable("hdf5")?;
        let widened;
        let layout = match super::netcdf::widen_float16(options)? {
            true => {
                widened = super::netcdf::storable_layout(layout);
                &widened
            }
            false => layout,
        };
        let filters = filters(options.compression)?;
        let staged = StagedPath::new(path, options.overwrite)?;
        let file = super::file_options()
            .create(staged.path())
            .map_err(h5err(staged.path()))?;
        let out = staged.path().to_path_buf();
        write_json_attrs(&out, &file, &stacked::dataset_attributes(meta, SOURCE))?;
        super::netcdf::write_root(&out, &file)?;
        let columns = stacked::columns::build(meta, layout);
        for column in &columns.columns {
            write_column(&out, &file, column)?;
        }
        let specs = stacked::data_arrays(layout, meta.patches.len(), SERIES_CHUNK_DATES);
        let mut layers = BTreeMap::new();
        for spec in &specs {
            layers.insert(spec.layer, data_dataset(&out, &file, spec, &filters)?);
        }
        super::dims::label_layout(&out, &file, &meta.ids(), &specs, &columns.columns)?;
        for warning in columns.warnings {
            warnings.push(warning);
        }
        Ok(Hdf5Writer {
            staged,
            ids: meta.ids(),
            specs: specs.into_iter().map(|s| (s.layer, s)).collect(),
            codec: ChunkCodec::for_compression(options.compression),
            state: Mutex::new(State { file, layers }),
            spot: layout.spot.clone(),
        })
    }

    fn path(&self) -> PathBuf {
        self.staged.path().to_path_buf()
    }

    /// The stacked array of `layer`, checked to hold this layer of patch `id` at `row`.
    fn spec(&self, id: i64, row: usize, layer: Layer, array: &Array) -> Result<&StackedArray> {
        let spec = self.specs.get(&layer).ok_or_else(|| {
            Error::patch(
                id,
                format!("has {layer}, which the dataset survey did not find"),
            )
        })?;
        spec.check(id, row, array)?;
        Ok(spec)
    }

    /// The file's state, locked.
    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::library(self.path(), super::LIBRARY, "an earlier write panicked"))
    }

    /// Stores one layer of patch `id` (checked by [`spec`](Self::spec)) at `row`. Where the
    /// codec allows, chunk by chunk: each is widened (if the stacked dtype is wider) and
    /// encoded in the calling thread, and the lock is held only to store it, so a worker holds
    /// one encoded chunk at a time, not a patch. Otherwise the layer goes whole through HDF5's
    /// filter pipeline under the lock.
    fn store(&self, id: i64, row: usize, spec: &StackedArray, array: &Array) -> Result<()> {
        let path = self.path();
        // An empty stacked array is contiguous (see `data_dataset`): it has no chunks.
        let chunked = spec.shape.iter().all(|&d| d > 0);
        // Direct chunk writes know two grids: a date (series) or a whole patch per chunk; SPOT's
        // windows (`stacked::SPOT_CHUNK`) go through HDF5's own pipeline.
        let per_patch_chunk = spec.layer.is_series() || spec.chunk.get(1..) == spec.shape.get(1..);
        let chunked = chunked && per_patch_chunk;
        if array.is_empty() {
            return Ok(());
        }
        if matches!(self.codec, ChunkCodec::Direct { .. }) && chunked {
            let dates = spec
                .chunk
                .get(1)
                .copied()
                .filter(|_| spec.layer.is_series());
            for chunk in encode_chunks(self.codec, array, row, dates, spec.dtype) {
                let chunk = chunk.map_err(|e| Error::patch(id, format!("{}: {e}", spec.layer)))?;
                let state = self.lock()?;
                if let Some(data) = state.layers.get(&spec.layer) {
                    write_chunk(data, &chunk).map_err(h5err(&path))?;
                }
            }
            return Ok(());
        }
        let array = spec.fit(id, row, array)?;
        let len = spec
            .layer
            .is_series()
            .then(|| array.shape().first().copied().unwrap_or(0));
        let state = self.lock()?;
        let Some(data) = state.layers.get(&spec.layer) else {
            return Ok(());
        };
        let selection = patch_selection(&data.shape(), row, len);
        with_array!(array.as_ref(), a => data.write_slice(&a.as_standard_layout(), selection))
            .map_err(h5err(&path))
    }
}

impl DatasetWriter for Hdf5Writer {
    /// Checks every layer of the patch first (nothing is stored for a patch that does not fit),
    /// then stores the layers one by one, each dropped once stored, and hands the freed memory
    /// back to the system ([`memory::release_freed`](crate::formats::memory::release_freed)).
    fn write_patch(&self, index: usize, patch: Patch) -> Result<()> {
        let id = patch.id();
        if self.ids.get(index) != Some(&id) {
            return Err(Error::patch(
                id,
                format!("is not patch number {index} of the dataset being written"),
            ));
        }
        stacked::check_spot(&self.spot, index, &patch)?;
        for (&layer, array) in &patch.arrays {
            self.spec(id, index, layer, array)?;
        }
        for (layer, array) in patch.arrays {
            let spec = self.spec(id, index, layer, &array)?;
            self.store(id, index, spec, &array)?;
        }
        crate::formats::memory::release_freed();
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let path = self.path();
        let state = self
            .state
            .into_inner()
            .map_err(|_| Error::library(&path, super::LIBRARY, "an earlier write panicked"))?;
        state.file.flush().map_err(h5err(&path))?;
        drop(state.layers);
        state.file.close().map_err(h5err(&path))?;
        self.staged.commit()?;
        Ok(())
    }
}

/// The chunked, compressed, zero-filled dataset of one layer.
fn data_dataset(
    path: &Path,
    group: &Group,
    spec: &StackedArray,
    filters: &[Filter],
) -> Result<Dataset> {
    let mut builder = group.new_dataset_builder().obj_track_times(false);
    builder = with_dtype!(spec.dtype, T => builder.fill_value(T::default()));
    // HDF5 refuses chunks larger than a fixed extent, so an empty array stays contiguous.
    if spec.shape.iter().all(|&d| d > 0) {
        builder = builder.chunk(spec.chunk.clone()).set_filters(filters);
    }
    let data = builder
        .empty_as(type_descriptor(spec.dtype))
        .shape(spec.shape.clone())
        .create(spec.layer.name())
        .map_err(h5err(path))?;
    let names: Vec<&str> = spec.dimension_names.iter().map(String::as_str).collect();
    write_string_list_attr(path, &data, "dimension_names", &names)?;
    super::netcdf::write_data_attributes(path, &data, spec)?;
    Ok(data)
}

/// Writes one per-patch column of the stacked layout, uncompressed, with its attributes.
fn write_column(path: &Path, group: &Group, column: &Column) -> Result<()> {
    let dataset = match &column.values {
        ColumnValues::Text(values) => write_strings(path, group, &column.name, values)?,
        ColumnValues::TextTable { values, .. } => {
            write_string_table(path, group, &column.name, values, &column.shape())?
        }
        ColumnValues::Numbers(values) => with_array!(values, a => group
            .new_dataset_builder()
            .obj_track_times(false)
            .with_data(a)
            .create(column.name.as_str()))
        .map_err(h5err(path))?,
    };
    write_json_attrs(path, &dataset, &column.attributes)
}
