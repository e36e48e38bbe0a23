//! Writes the stacked layout into one HDF5 file: per-patch columns and dataset attributes when
//! created, each patch's hyperslabs as it comes, and the rename into place on finish.

use super::attrs::{write_json_attrs, write_string_list_attr, write_strings};
use super::chunks::{encode_patch, write_chunk, ChunkCodec, EncodedChunk};
use super::{filters, h5err, patch_selection, type_descriptor};
use crate::formats::stacked::{self, names, PatchColumns, StackedArray};
use crate::formats::{DatasetWriter, WriteOptions};
use crate::georef::patch_grid;
use crate::model::{Array, DatasetLayout, DatasetMeta, Layer, Patch};
use crate::output::StagedPath;
use crate::{with_array, with_dtype, Error, Result};
use hdf5::filters::Filter;
use hdf5::{Dataset, File, Group, H5Type};
use ndarray::{ArrayD, IxDyn};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
}

/// What only one thread at a time may touch.
#[derive(Debug)]
struct State {
    file: File,
    layers: BTreeMap<Layer, LayerSets>,
}

/// The datasets of one layer: the stacked data, presence and (series) true lengths.
#[derive(Debug)]
struct LayerSets {
    data: Dataset,
    present: Dataset,
    length: Option<Dataset>,
}

impl Hdf5Writer {
    /// Creates the file for the patches of `meta` with the shapes of `layout`.
    pub fn create(
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
    ) -> Result<Hdf5Writer> {
        layout.require_stackable("hdf5")?;
        let filters = filters(options.compression)?;
        let staged = StagedPath::new(path, options.overwrite)?;
        let file = super::file_options()
            .create(staged.path())
            .map_err(h5err(staged.path()))?;
        let out = staged.path().to_path_buf();
        write_json_attrs(&out, &file, &stacked::dataset_attributes(meta, SOURCE))?;
        write_columns(&out, &file, meta)?;
        write_grids(&out, &file, meta, layout)?;
        let specs = stacked::data_arrays(layout, meta.patches.len());
        let mut layers = BTreeMap::new();
        for spec in &specs {
            if spec.layer.is_series() {
                write_dates(&out, &file, meta, spec)?;
            }
            let sets = LayerSets::create(&out, &file, spec, &filters)?;
            layers.insert(spec.layer, sets);
        }
        super::dims::label_layout(&out, &file, &meta.ids(), &specs)?;
        Ok(Hdf5Writer {
            staged,
            ids: meta.ids(),
            specs: specs.into_iter().map(|s| (s.layer, s)).collect(),
            codec: ChunkCodec::for_compression(options.compression),
            state: Mutex::new(State { file, layers }),
        })
    }

    fn path(&self) -> PathBuf {
        self.staged.path().to_path_buf()
    }

    /// Checks one layer of a patch and, where the codec allows, encodes its chunks (no lock).
    fn prepare<'a>(
        &self,
        id: i64,
        row: usize,
        layer: Layer,
        array: &'a Array,
    ) -> Result<Prepared<'a>> {
        let spec = self.specs.get(&layer).ok_or_else(|| {
            Error::patch(
                id,
                format!("has {layer}, which the dataset survey did not find"),
            )
        })?;
        let len = check(spec, id, array)?;
        // An empty stacked array is contiguous (see `data_dataset`): it has no chunks.
        let chunked = spec.shape.iter().all(|&d| d > 0);
        let data = match self.codec {
            ChunkCodec::Direct { .. } if chunked => {
                Data::Chunks(encode_patch(self.codec, array, row, layer.is_series()))
            }
            _ => Data::Slice(array),
        };
        Ok(Prepared { layer, len, data })
    }
}

/// One layer of a patch, checked and ready to store.
struct Prepared<'a> {
    layer: Layer,
    /// The true length of a series.
    len: Option<usize>,
    data: Data<'a>,
}

/// The data of a [`Prepared`] layer.
enum Data<'a> {
    /// Chunks already filtered, stored as they are.
    Chunks(Vec<EncodedChunk>),
    /// An array left to HDF5's filter pipeline.
    Slice(&'a Array),
}

impl DatasetWriter for Hdf5Writer {
    fn write_patch(&self, index: usize, patch: Patch) -> Result<()> {
        if self.ids.get(index) != Some(&patch.id()) {
            return Err(Error::patch(
                patch.id(),
                format!("is not patch number {index} of the dataset being written"),
            ));
        }
        let path = self.path();
        let prepared = patch
            .arrays
            .iter()
            .map(|(layer, array)| self.prepare(patch.id(), index, *layer, array))
            .collect::<Result<Vec<_>>>()?;
        let state = self
            .state
            .lock()
            .map_err(|_| Error::library(&path, super::LIBRARY, "an earlier write panicked"))?;
        for write in &prepared {
            // `prepare` found the layer among the specs, from which the datasets were made.
            if let Some(sets) = state.layers.get(&write.layer) {
                sets.write(&path, patch.id(), index, write)?;
            }
        }
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

impl LayerSets {
    /// Creates the stacked dataset of one layer and its per-patch columns.
    fn create(path: &Path, file: &File, spec: &StackedArray, filters: &[Filter]) -> Result<Self> {
        let layer = spec.layer;
        let data = data_dataset(path, file, spec, filters)?;
        let names: Vec<&str> = spec.dimension_names.iter().map(String::as_str).collect();
        write_string_list_attr(path, &data, "dimension_names", &names)?;
        let n = spec.shape[0];
        let present = zeros_column::<u8>(path, file, &stacked::present_name(layer), n)?;
        let length = match layer.is_series() {
            true => Some(zeros_column::<i32>(
                path,
                file,
                &stacked::length_name(layer),
                n,
            )?),
            false => None,
        };
        Ok(LayerSets {
            data,
            present,
            length,
        })
    }

    /// Stores one prepared layer of a patch into row `row`, then its presence and length.
    fn write(&self, path: &Path, id: i64, row: usize, prepared: &Prepared) -> Result<()> {
        match &prepared.data {
            Data::Chunks(chunks) => chunks
                .iter()
                .try_for_each(|c| write_chunk(&self.data, c))
                .map_err(h5err(path))?,
            Data::Slice(array) => {
                let shape = self.data.shape();
                let selection = patch_selection(&shape, row, prepared.len);
                with_array!(array, a => self
                    .data
                    .write_slice(&a.as_standard_layout(), selection))
                .map_err(h5err(path))?
            }
        }
        let one = |ds: &Dataset, v: i32| -> hdf5::Result<()> {
            match ds.dtype()?.size() {
                1 => ds.write_slice(&[v as u8][..], row..row + 1),
                _ => ds.write_slice(&[v][..], row..row + 1),
            }
        };
        one(&self.present, 1).map_err(h5err(path))?;
        if let (Some(ds), Some(len)) = (&self.length, prepared.len) {
            let layer = prepared.layer;
            let len = i32::try_from(len)
                .map_err(|_| Error::patch(id, format!("{layer} has {len} dates")))?;
            one(ds, len).map_err(h5err(path))?;
        }
        Ok(())
    }
}

/// Checks dtype and shape against the stacked array; returns a series' true length.
fn check(spec: &StackedArray, id: i64, array: &Array) -> Result<Option<usize>> {
    let (layer, expected) = (spec.layer, &spec.shape[1..]);
    let shape = array.shape();
    let fits = match layer.is_series() {
        true => {
            shape.len() == expected.len()
                && shape[1..] == expected[1..]
                && shape.first() <= expected.first()
        }
        false => shape == expected,
    };
    if array.dtype() != spec.dtype || !fits {
        return Err(Error::patch(
            id,
            format!(
                "{layer} is {} {shape:?}, which does not fit the stacked {} {expected:?}",
                array.dtype(),
                spec.dtype
            ),
        ));
    }
    Ok(layer.is_series().then(|| shape[0]))
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
    builder
        .empty_as(type_descriptor(spec.dtype))
        .shape(spec.shape.clone())
        .create(spec.layer.name())
        .map_err(h5err(path))
}

/// A 1-D per-patch column of zeros, filled as patches are written.
fn zeros_column<T: H5Type + Default + Into<hdf5::types::OwnedDynValue>>(
    path: &Path,
    group: &Group,
    name: &str,
    n: usize,
) -> Result<Dataset> {
    group
        .new_dataset_builder()
        .obj_track_times(false)
        .fill_value(T::default())
        .empty::<T>()
        .shape(n)
        .create(name)
        .map_err(h5err(path))
}

/// A dataset of `shape` with its C-ordered values.
fn write_table<T: H5Type>(
    path: &Path,
    group: &Group,
    name: &str,
    values: Vec<T>,
    shape: &[usize],
) -> Result<()> {
    let table = ArrayD::from_shape_vec(IxDyn(shape), values)
        .map_err(|e| Error::invalid(path, format!("{name}: {e}")))?;
    group
        .new_dataset_builder()
        .obj_track_times(false)
        .with_data(&table)
        .create(name)
        .map(drop)
        .map_err(h5err(path))
}

/// ID_PATCH, Fold, TILE, N_Parcel, Parcel_Cover and each patch's GeoJSON Feature.
fn write_columns(path: &Path, group: &Group, meta: &DatasetMeta) -> Result<()> {
    let c = PatchColumns::new(&meta.patches);
    let n = [meta.patches.len()];
    write_table(path, group, names::ID_PATCH, c.id_patch, &n)?;
    write_table(path, group, names::FOLD, c.fold, &n)?;
    write_strings(path, group, names::TILE, &c.tile)?;
    write_table(path, group, names::N_PARCEL, c.n_parcel, &n)?;
    write_table(path, group, names::PARCEL_COVER, c.parcel_cover, &n)?;
    let features: Vec<String> = (0..meta.patches.len())
        .map(|i| stacked::feature_json(meta, i))
        .collect();
    write_strings(path, group, names::FEATURE, &features)
}

/// grid_epsg and grid_transform of each patch (0 and NaN where unknown or not georeferenceable).
fn write_grids(
    path: &Path,
    group: &Group,
    meta: &DatasetMeta,
    layout: &DatasetLayout,
) -> Result<()> {
    let size = layout.layers.values().next().and_then(|l| {
        let n = l.shape.len();
        (n >= 2).then(|| (l.shape[n - 2], l.shape[n - 1]))
    });
    let mut epsg = Vec::with_capacity(meta.patches.len());
    let mut transform = Vec::with_capacity(meta.patches.len() * 6);
    for p in &meta.patches {
        // The grid is derived from the footprint, which `feature` keeps verbatim: a footprint
        // that cannot be georeferenced gets the sentinels rather than stopping the export.
        let grid = size.and_then(|(h, w)| patch_grid(p, h, w).ok().flatten());
        epsg.push(grid.as_ref().map_or(0, |g| g.epsg as i32));
        transform.extend(grid.map_or([f64::NAN; 6], |g| g.geotransform));
    }
    let n = meta.patches.len();
    write_table(path, group, names::GRID_EPSG, epsg, &[n])?;
    write_table(path, group, names::GRID_TRANSFORM, transform, &[n, 6])
}

/// The `(patch, time)` yyyymmdd table of one series.
fn write_dates(path: &Path, group: &Group, meta: &DatasetMeta, spec: &StackedArray) -> Result<()> {
    let max_len = spec.shape.get(1).copied().unwrap_or(0);
    let table = stacked::dates_table(&meta.patches, spec.layer, max_len);
    let name = stacked::dates_name(spec.layer);
    write_table(path, group, &name, table, &[meta.patches.len(), max_len])
}
