//! Writes a dataset as one Zarr store, patch by patch, from several threads at once, into a local
//! folder (staged as `NAME.partial`, renamed when complete) or an object-store prefix (written in
//! place, root metadata last). A writer may also write one partition of a split conversion.
//!
//! No two threads ever write the same shard: a series shard holds one patch, and annotation shards
//! (a group of patches in v3) are written by whichever thread delivers the group's last patch,
//! from a buffer that holds only the groups still in flight. In v3 that buffer holds each
//! patch's annotation rows already encoded as their inner chunks ([`ShardEncoder`]).

use super::arrays::{as_row, create_array, erase_row, write_block, ArrayDef, Kind, Version};
use super::columns::{write_columns, ColumnSink};
use super::consolidate::write_root;
use super::partition::{write_marker, Partition};
use super::shard::ShardEncoder;
use super::{store, Store, ZArray};
use crate::formats::stacked::{self, data_arrays, dataset_attributes, StackedArray};
use crate::formats::{Compression, DatasetWriter, Shuffle, WriteOptions};
use crate::model::{Array, DatasetLayout, DatasetMeta, Layer, Patch};
use crate::output::StagedPath;
use crate::warnings::Warnings;
use crate::{Error, Result};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One data array being written.
struct DataArray {
    array: ZArray,
    spec: StackedArray,
    /// A v3 array's shard encoder ([`ShardEncoder`]): a series' shards are encoded whole from
    /// the patch's own bytes, an annotation's from the rows encoded as they arrive; `None` for
    /// the arrays zarrs writes itself (v2, SPOT).
    shards: Option<ShardEncoder>,
}

/// One patch's row of an annotation array, waiting in its group's buffer.
enum Row {
    /// Encoded as the shard's inner chunk (`None`: fill values only, not stored).
    Encoded(Option<Vec<u8>>),
    /// As it came, in the stacked dtype (an array zarrs writes itself).
    Raw(Array),
}

/// The annotations received so far for one group of patches (one v3 shard).
#[derive(Default)]
struct GroupBuffer {
    arrived: usize,
    rows: BTreeMap<usize, BTreeMap<Layer, Row>>,
}

/// Where the store is written.
pub(super) enum Target {
    /// A local folder written as `NAME.partial` and renamed by `commit`.
    Staged(StagedPath),
    /// An object-store prefix, written in place (nothing can be renamed there).
    InPlace(PathBuf),
}

impl Target {
    /// The path (or URL) written now.
    pub(super) fn path(&self) -> &Path {
        match self {
            Target::Staged(staged) => staged.path(),
            Target::InPlace(url) => url,
        }
    }

    /// Moves a local store into place; nothing to do on object storage.
    pub(super) fn commit(self) -> Result<()> {
        match self {
            Target::Staged(staged) => staged.commit().map(drop),
            Target::InPlace(_) => Ok(()),
        }
    }
}

/// What the writer writes at the end.
enum Role {
    /// The whole dataset: root and consolidated metadata, then the store is moved into place.
    Whole { attributes: Map<String, Value> },
    /// One partition: its marker only; `finalize` writes the dataset-level metadata.
    Partition {
        partition: Partition,
        fingerprint: String,
    },
}

/// A Zarr store under construction, moved into place by [`finish`](DatasetWriter::finish).
pub struct ZarrWriter {
    target: Target,
    store: Store,
    version: Version,
    n_patches: usize,
    arrays: BTreeMap<Layer, DataArray>,
    groups: Mutex<HashMap<usize, GroupBuffer>>,
    written: Mutex<BTreeSet<usize>>,
    patches_per_group: usize,
    role: Role,
    /// The SPOT georeferencing the survey found, per patch (its columns are written already).
    spot: Vec<Option<crate::model::SpotGeoref>>,
    /// The store may hold shards of an earlier run (`--resume`, or a partition run again), which
    /// are erased before a patch's series is written; a fresh store has none to erase.
    may_hold_earlier_shards: bool,
}

/// The Zarr version asked for.
pub(super) fn version_of(options: &WriteOptions) -> Result<Version> {
    match super::ZarrOptions::of(options)?.version {
        2 => Ok(Version::V2),
        3 => Ok(Version::V3),
        v => Err(Error::Usage(format!("zarr version {v}: expected 2 or 3"))),
    }
}

/// Dates per series chunk asked for (`--co SERIES_CHUNK_DATES`, default
/// [`SERIES_CHUNK_DATES`](crate::formats::stacked::SERIES_CHUNK_DATES)).
pub(super) fn series_chunk_dates_of(options: &WriteOptions) -> Result<usize> {
    Ok(super::ZarrOptions::of(options)?.series_chunk_dates)
}

/// The Zarr default: Blosc with Zstandard level 1 after a bit shuffle, which on S2 reflectance
/// and S1 backscatter stores about 15 % less than plain zstd:3 at the same speed, and which
/// zarr-python, xarray and GDAL's Zarr driver all decode (bench/RESULTS.md, "Codec choice").
pub const DEFAULT_COMPRESSION: Compression = Compression::BloscZstd(1, Shuffle::Bit);

/// The compression asked for (default [`DEFAULT_COMPRESSION`]); lzf is refused.
pub(super) fn compression_of(options: &WriteOptions) -> Result<Compression> {
    let compression = options.compression.unwrap_or(DEFAULT_COMPRESSION);
    if compression == Compression::Lzf {
        return Err(super::arrays::lzf_unsupported());
    }
    Ok(compression)
}

/// Patches per group: one v3 annotation shard; 1 in v2 (one chunk per patch).
pub(super) fn patches_per_group(version: Version, specs: &[StackedArray]) -> usize {
    match version {
        Version::V3 => specs
            .iter()
            .find(|a| !a.layer.stored_by_patch())
            .map_or(1, |a| a.patches_per_shard.max(1)),
        Version::V2 => 1,
    }
}

/// Opens the output of a whole conversion: refuses an existing store unless `overwrite` (then
/// removes it first, on object storage).
fn open_whole(path: &Path, options: &WriteOptions) -> Result<(Target, Store)> {
    if store::is_url(path) {
        if options.resume {
            return Err(resume_unsupported(path));
        }
        let store = store::store_at(path)?;
        if !store::is_empty(path, &store)? {
            if !options.overwrite {
                return Err(Error::Exists(path.to_path_buf()));
            }
            store::clear(path, &store)?;
        }
        return Ok((Target::InPlace(path.to_path_buf()), store));
    }
    let staged = StagedPath::start(path, options.overwrite, options.resume)?;
    open_staged(staged)
}

/// Opens the output of one partition: other partitions write into the same store at the same
/// time, so nothing is removed but the root metadata of a finished store (with `overwrite`).
fn open_partition(path: &Path, options: &WriteOptions) -> Result<(Target, Store)> {
    if options.resume {
        return Err(Error::Usage(
            "--resume does not apply to --partition: run the partition again, it rewrites only its own shards".into(),
        ));
    }
    if store::is_url(path) {
        let store = store::store_at(path)?;
        if store::has_root_metadata(path, &store)? {
            if !options.overwrite {
                return Err(Error::Exists(path.to_path_buf()));
            }
            store::erase_root_metadata(path, &store)?;
        }
        return Ok((Target::InPlace(path.to_path_buf()), store));
    }
    open_staged(StagedPath::resume(path, options.overwrite)?)
}

fn open_staged(staged: StagedPath) -> Result<(Target, Store)> {
    let root = staged.path();
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let store = store::store_at(root)?;
    Ok((Target::Staged(staged), store))
}

fn resume_unsupported(path: &Path) -> Error {
    Error::Unsupported {
        format: "zarr",
        what: format!(
            "--resume needs a local output; {} is on object storage: rerun with --overwrite, or split the run with --partition",
            path.display()
        ),
    }
}

impl ZarrWriter {
    /// Starts a store at `path` (local or URL): every array's metadata and the per-patch arrays;
    /// the root metadata is written last, by [`finish`](DatasetWriter::finish). Patches whose
    /// pixel grid is unknown are named in `warnings`.
    pub fn create(
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
        warnings: &Warnings,
    ) -> Result<ZarrWriter> {
        let (target, store) = open_whole(path, options)?;
        let attributes = dataset_attributes(meta, "PASTIS");
        let role = Role::Whole { attributes };
        let writer = ZarrWriter::start(target, store, meta, layout, options, role)?;
        let sink = ColumnSink {
            root: writer.root(),
            store: &writer.store,
            version: writer.version,
            compression: compression_of(options)?,
        };
        for warning in write_columns(&sink, meta, layout)? {
            warnings.push(warning);
        }
        Ok(writer)
    }

    /// Starts partition `partition` of a split conversion into the store at `path`: the arrays'
    /// metadata (the same in every partition) and then only the groups of patches it owns.
    /// A local store is written in `NAME.partial` until `finalize`.
    pub fn create_partition(
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
        partition: Partition,
        fingerprint: &str,
    ) -> Result<ZarrWriter> {
        let (target, store) = open_partition(path, options)?;
        let role = Role::Partition {
            partition,
            fingerprint: fingerprint.to_string(),
        };
        super::partition::check_others(target.path(), &store, partition, fingerprint)?;
        super::partition::remove_marker(target.path(), &store, partition)?;
        let writer = ZarrWriter::start(target, store, meta, layout, options, role)?;
        writer.erase_other_version_metadata()?;
        Ok(writer)
    }

    fn start(
        target: Target,
        store: Store,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
        role: Role,
    ) -> Result<ZarrWriter> {
        let version = version_of(options)?;
        let compression = compression_of(options)?;
        layout.require_stackable("zarr")?;
        let n_patches = meta.patches.len();
        let specs = data_arrays(layout, n_patches, series_chunk_dates_of(options)?);
        let mut arrays = BTreeMap::new();
        for spec in specs.iter().cloned() {
            let def = data_def(&spec, version);
            let array = create_array(target.path(), &store, &def, version, compression)?;
            let shards = (!spec.layer.has_own_grid())
                .then(|| ShardEncoder::of(&array))
                .flatten();
            arrays.insert(
                spec.layer,
                DataArray {
                    array,
                    spec,
                    shards,
                },
            );
        }
        Ok(ZarrWriter {
            target,
            store,
            version,
            n_patches,
            arrays,
            groups: Mutex::new(HashMap::new()),
            written: Mutex::new(BTreeSet::new()),
            patches_per_group: patches_per_group(version, &specs),
            may_hold_earlier_shards: options.resume || matches!(role, Role::Partition { .. }),
            role,
            spot: layout.spot.clone(),
        })
    }

    fn root(&self) -> &Path {
        self.target.path()
    }

    /// Deletes the data arrays' metadata of the other Zarr version (`S2/zarr.json` in a v2
    /// store, `S2/.zarray` and `S2/.zattrs` in a v3 one), which an earlier run of a partition
    /// with other options may have left: readers would take it for the array's.
    fn erase_other_version_metadata(&self) -> Result<()> {
        let names: &[&str] = match self.version {
            Version::V2 => &["zarr.json"],
            Version::V3 => &[".zarray", ".zattrs"],
        };
        for layer in self.arrays.keys() {
            for name in names {
                let key = zarrs::storage::StoreKey::new(format!("{}/{name}", layer.name()))
                    .map_err(|e| super::zarr_error(self.root(), e))?;
                self.store
                    .erase(&key)
                    .map_err(|e| super::zarr_error(self.root(), e))?;
            }
        }
        Ok(())
    }

    /// The layer's stacked array, and `array` (patch `id` at `row`) checked against it and in
    /// its dtype ([`StackedArray::fit`]).
    fn check<'a>(
        &self,
        id: i64,
        row: usize,
        layer: Layer,
        array: &'a Array,
    ) -> Result<(&DataArray, Cow<'a, Array>)> {
        let data = self.arrays.get(&layer).ok_or_else(|| {
            Error::patch(
                id,
                format!("has {layer}, which the dataset survey did not find"),
            )
        })?;
        Ok((data, data.spec.fit(id, row, array)?))
    }

    /// Adds a patch's annotations to its group; writes the group when it is complete.
    fn buffer_annotations(&self, index: usize, annotations: BTreeMap<Layer, Row>) -> Result<()> {
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

    /// True if this writer writes the annotation shard of `group`: always for a whole run; for a
    /// partition, the groups it owns (see `pipeline::write::Share`).
    fn writes_group(&self, group: usize) -> bool {
        match &self.role {
            Role::Whole { .. } => true,
            Role::Partition { partition, .. } => partition.owns(group),
        }
    }

    /// Patches in `group` (the last group may be short).
    fn group_len(&self, group: usize) -> usize {
        let start = group * self.patches_per_group;
        self.patches_per_group
            .min(self.n_patches.saturating_sub(start))
    }

    /// Writes one group's rows of every annotation array, zeros where a patch lacks a layer.
    fn write_group(&self, group: usize, mut buffer: GroupBuffer) -> Result<()> {
        let start = group * self.patches_per_group;
        for (&layer, data) in self.arrays.iter().filter(|(l, _)| !l.stored_by_patch()) {
            // Rows are moved out of the buffer, so the shard (or `stack`) is their only copy.
            let mut take = |i: usize| buffer.rows.get_mut(&i).and_then(|r| r.remove(&layer));
            if let Some(shards) = &data.shards {
                let encoded = (start..start + self.patches_per_group)
                    .map(|i| match take(i) {
                        Some(Row::Encoded(chunk)) => chunk,
                        // Every row of an array with an encoder is encoded when it arrives.
                        Some(Row::Raw(_)) | None => None,
                    })
                    .collect();
                write_encoded_shard(self.root(), &data.array, shards, start, encoded)?;
                continue;
            }
            let rows: Vec<Array> = (start..start + self.group_len(group))
                .map(|i| match take(i) {
                    Some(Row::Raw(row)) => row,
                    Some(Row::Encoded(_)) | None => {
                        Array::zeros(data.spec.dtype, &data.spec.shape[1..])
                    }
                })
                .collect();
            let block = Array::stack(&rows).ok_or_else(|| {
                Error::invalid(
                    self.root(),
                    format!("{layer}: rows of group {group} differ"),
                )
            })?;
            drop(rows);
            write_block(self.root(), &data.array, start, &block)?;
        }
        self.written
            .lock()
            .map_err(|_| poisoned(self.root()))?
            .insert(group);
        Ok(())
    }
}

impl DatasetWriter for ZarrWriter {
    fn write_patch(&self, index: usize, patch: Patch) -> Result<()> {
        let id = patch.id();
        stacked::check_spot(&self.spot, index, &patch)?;
        let mut annotations = BTreeMap::new();
        for (layer, array) in patch.arrays {
            let (data, stacked) = self.check(id, index, layer, &array)?;
            // In the stacked dtype: widened where the patch's own is narrower, else as it came.
            let widened = match stacked {
                Cow::Owned(widened) => Some(widened),
                Cow::Borrowed(_) => None,
            };
            let array = widened.unwrap_or(array);
            if !layer.stored_by_patch() {
                annotations.insert(layer, annotation_row(self.root(), data, array)?);
            } else if let Some(shards) = &data.shards {
                // The whole shard, replacing any a stopped run left (nothing is merged).
                write_shard(self.root(), &data.array, shards, index, &array)?;
            } else {
                // Only the series' own dates: padding chunks are never stored (fill value 0);
                // SPOT arrives padded to the stacked size, one shard per patch.
                if self.may_hold_earlier_shards {
                    erase_row(self.root(), &data.array, index)?;
                }
                write_block(self.root(), &data.array, index, &as_row(array))?;
            }
        }
        if self.writes_group(index / self.patches_per_group) {
            self.buffer_annotations(index, annotations)
        } else {
            // Another partition writes this group's annotation shard (and reads these rows
            // itself); this one wrote the patch's series and checked the patch whole.
            Ok(())
        }
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
        let written = std::mem::take(&mut *self.written.lock().map_err(|_| poisoned(self.root()))?);
        let ZarrWriter {
            target,
            store,
            version,
            role,
            ..
        } = *self;
        match role {
            Role::Whole { attributes } => {
                write_root(target.path(), &store, version, attributes)?;
                drop(store);
                target.commit()
            }
            Role::Partition {
                partition,
                fingerprint,
            } => write_marker(target.path(), &store, partition, &fingerprint, &written),
        }
    }
}

/// Stores the shard of row `row` of a sharded series array: `series` (the patch's own dates, in
/// the stacked dtype) encoded whole by `shards`; a series of fill values only erases the shard
/// instead, as zarrs does.
fn write_shard(
    root: &Path,
    array: &ZArray,
    shards: &ShardEncoder,
    row: usize,
    series: &Array,
) -> Result<()> {
    let context = || format!("writing {}", array.path());
    let shard = shards
        .encode(&series.le_bytes())
        .map_err(|e| super::zarr_error_in(root, context(), e))?;
    store_shard(root, array, row, shard)
}

/// An annotation row for its group's buffer: encoded as its inner chunk where the array has an
/// encoder, else as it came.
fn annotation_row(root: &Path, data: &DataArray, array: Array) -> Result<Row> {
    let Some(shards) = &data.shards else {
        return Ok(Row::Raw(array));
    };
    let bytes = array.le_bytes();
    if bytes.len() != shards.chunk_bytes() {
        return Err(Error::invalid(
            root,
            format!(
                "{}: a row of {} bytes, not the {} of a patch",
                data.spec.layer,
                bytes.len(),
                shards.chunk_bytes()
            ),
        ));
    }
    shards
        .encode_chunk(&bytes)
        .map(Row::Encoded)
        .map_err(|e| super::zarr_error_in(root, format!("writing {}", data.array.path()), e))
}

/// Writes the annotation shard of the group starting at row `start` from its rows' encoded inner
/// chunks (one per row of the shard, `None` where a row holds fill values or is past the
/// array), replacing any shard an earlier run left; fill values only erase it.
fn write_encoded_shard(
    root: &Path,
    array: &ZArray,
    shards: &ShardEncoder,
    start: usize,
    encoded: Vec<Option<Vec<u8>>>,
) -> Result<()> {
    let shard = shards
        .assemble(encoded)
        .map_err(|e| super::zarr_error_in(root, format!("writing {}", array.path()), e))?;
    store_shard(root, array, start / shards.chunks(), shard)
}

/// Stores an encoded shard at shard index `shard_row` along the first axis (`None`: erases it).
fn store_shard(
    root: &Path,
    array: &ZArray,
    shard_row: usize,
    shard: Option<Vec<u8>>,
) -> Result<()> {
    let context = || format!("writing {}", array.path());
    let mut indices = vec![0u64; array.dimensionality()];
    if let Some(first) = indices.first_mut() {
        *first = shard_row as u64;
    }
    match shard {
        // SAFETY: the shard was encoded by the array's own codecs, for its shard shape.
        Some(shard) => unsafe { array.store_encoded_chunk(&indices, shard.into()) }
            .map_err(|e| super::zarr_error_in(root, context(), e)),
        None => array
            .erase_chunk(&indices)
            .map_err(|e| super::zarr_error_in(root, context(), e)),
    }
}

/// The array definition of a stacked data array.
pub(super) fn data_def(spec: &StackedArray, version: Version) -> ArrayDef {
    let chunk: Vec<usize> = spec.chunk.iter().map(|&c| c.max(1)).collect();
    ArrayDef {
        name: spec.layer.name().to_string(),
        kind: Kind::Number(spec.dtype),
        shape: spec.shape.clone(),
        chunk,
        shard: (version == Version::V3).then(|| spec.shard()),
        dimension_names: spec.dimension_names.clone(),
        attributes: stacked::cf::attributes(spec),
    }
}

fn poisoned(root: &Path) -> Error {
    Error::invalid(
        root,
        "a writer thread panicked while holding the annotation buffer",
    )
}
