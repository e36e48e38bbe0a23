//! The hub: `write(read(x))` patch by patch, in parallel over patches; optionally one partition of
//! a conversion split over many workers, then finalized once ([`Stage`]).

use crate::formats::zarr::{partition, store, ZarrWriter};
use crate::formats::{self, DatasetReader, DatasetWriter, Format, WriteOptions};
use crate::journal::Journal;
use crate::model::{ArraySpec, DatasetLayout, DatasetMeta, Layer, LayerLayout};
use crate::{Error, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Instant;

/// Which patches and layers to convert.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these `ID_PATCH` (all when `None`).
    pub patches: Option<Vec<i64>>,
    /// Only patches of these folds (all when `None`).
    pub folds: Option<Vec<i64>>,
    /// Only these layers (all when `None`).
    pub layers: Option<Vec<Layer>>,
}

impl Selection {
    /// The metadata restricted to the selected patches. Unknown patch ids are an error.
    pub fn apply(&self, meta: &DatasetMeta) -> Result<DatasetMeta> {
        if let Some(ids) = &self.patches {
            let missing: Vec<String> = ids
                .iter()
                .filter(|id| meta.patch(**id).is_none())
                .map(i64::to_string)
                .collect();
            if !missing.is_empty() {
                return Err(Error::Usage(format!(
                    "no patch with ID_PATCH {} in the source",
                    missing.join(", ")
                )));
            }
        }
        Ok(meta.filtered(|p| {
            self.patches.as_ref().is_none_or(|ids| ids.contains(&p.id))
                && self
                    .folds
                    .as_ref()
                    .is_none_or(|folds| p.fold.is_some_and(|f| folds.contains(&f)))
        }))
    }

    /// The layers to read.
    pub fn layers(&self) -> Vec<Layer> {
        self.layers.clone().unwrap_or_else(|| Layer::ALL.to_vec())
    }
}

pub use crate::formats::zarr::partition::Partition;

/// Which part of a conversion a run does. Only Zarr outputs can be split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    /// The whole conversion.
    #[default]
    Whole,
    /// One partition: only the groups of patches it owns, no dataset-level metadata.
    Partition(Partition),
    /// After every partition: check they all finished, write the dataset-level metadata.
    Finalize,
}

/// How to convert.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    /// The output format.
    pub to: Format,
    /// Options of the writer.
    pub write: WriteOptions,
    /// Subset to convert.
    pub selection: Selection,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// Skip patches that cannot be read (reported in [`Summary::failed`]) instead of stopping.
    pub keep_going: bool,
    /// The whole conversion, one partition of it, or its finalization.
    pub stage: Stage,
}

impl ConvertOptions {
    /// Defaults: everything, all cores, the format's default compression, no overwrite.
    pub fn new(to: Format) -> Self {
        ConvertOptions {
            to,
            write: WriteOptions::default(),
            selection: Selection::default(),
            jobs: 0,
            keep_going: false,
            stage: Stage::Whole,
        }
    }
}

/// Progress of a long operation, for a progress bar owned by the caller.
#[derive(Clone, Debug)]
pub enum Progress {
    /// Work begins on `total` patches.
    Start {
        /// Patches to process.
        total: usize,
    },
    /// One patch is done.
    Patch {
        /// Its `ID_PATCH`.
        id: i64,
        /// Bytes of array payload it held.
        bytes: u64,
    },
    /// All patches are done; dataset-level metadata is being written.
    Finishing,
}

/// What a conversion did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Patches converted.
    pub patches: usize,
    /// Bytes of array payload read (uncompressed).
    pub bytes_in: u64,
    /// Bytes of the output on disk.
    pub bytes_out: u64,
    /// Wall time.
    pub seconds: f64,
    /// Patches skipped with `keep_going`, with their errors.
    pub failed: Vec<FailedPatch>,
    /// Warnings of the writer, one line each naming the patch (e.g. a pixel grid left unknown).
    pub warnings: Vec<String>,
}

impl Summary {
    /// Uncompressed over stored size.
    pub fn compression_ratio(&self) -> f64 {
        self.bytes_in as f64 / self.bytes_out.max(1) as f64
    }
    /// Uncompressed megabytes per second.
    pub fn throughput_mb_s(&self) -> f64 {
        self.bytes_in as f64 / 1e6 / self.seconds.max(1e-9)
    }
}

/// Converts the dataset at `src` (any format) to `dst`.
pub fn convert(
    src: &Path,
    dst: &Path,
    options: &ConvertOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary> {
    let reader = formats::open(src)?;
    convert_from(reader.as_ref(), dst, options, progress)
}

/// Converts an opened dataset to `dst`.
pub fn convert_from(
    reader: &dyn DatasetReader,
    dst: &Path,
    options: &ConvertOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary> {
    let start = Instant::now();
    check_stage(dst, options)?;
    let layers = options.selection.layers();
    let pool = thread_pool(options.jobs)?;
    let mut meta = options.selection.apply(reader.metadata())?;
    let failed = if options.keep_going {
        let failed = pool.install(|| screen(reader, &meta, &layers));
        meta = meta.filtered(|p| !failed.iter().any(|f| f.id == p.id));
        failed
    } else {
        Vec::new()
    };
    let result = pool.install(|| match options.stage {
        Stage::Finalize => finalize(reader, dst, &meta, &layers, options, progress),
        _ => write_all(reader, dst, &meta, &layers, options, progress),
    });
    let local_whole = options.stage == Stage::Whole && !store::is_url(dst);
    if result.is_err() && local_whole && !options.write.resume {
        // Leave nothing behind that could be mistaken for output; an existing output is untouched.
        // With --resume the partial output and its journal stay, to be continued. A partition
        // leaves the shared partial store to the other workers; an object store without root
        // metadata reads as unfinished.
        let _ = crate::output::remove_any(&crate::output::staging_path(dst));
        let _ = crate::output::remove_any(&crate::journal::journal_path(dst));
    }
    let (patches, bytes_in, warnings) = result?;
    Ok(Summary {
        patches,
        bytes_in,
        bytes_out: output_size(dst, options.stage),
        seconds: start.elapsed().as_secs_f64(),
        failed,
        warnings,
    })
}

/// Refuses what cannot be: non-Zarr outputs on object storage, partitions of other formats.
fn check_stage(dst: &Path, options: &ConvertOptions) -> Result<()> {
    store::check_output(dst, options.to)?;
    if options.stage != Stage::Whole && options.to != Format::Zarr {
        return Err(Error::Unsupported {
            format: options.to.name(),
            what:
                "--partition and --finalize need a Zarr output (one store written by many workers)"
                    .into(),
        });
    }
    if options.stage != Stage::Whole && options.keep_going {
        return Err(Error::Usage(
            "--keep-going cannot be combined with --partition or --finalize: every worker must \
             convert the same patches (run `inspect` on the source first)"
                .into(),
        ));
    }
    Ok(())
}

/// Surveys, creates the writer, writes every group of patches in parallel (skipping those an
/// interrupted run finished, with `resume`; only those of its partition, for a partition) and
/// finishes; returns the patches written, bytes read and the writer's warnings.
fn write_all(
    reader: &dyn DatasetReader,
    dst: &Path,
    meta: &DatasetMeta,
    layers: &[Layer],
    options: &ConvertOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(usize, u64, Vec<String>)> {
    let layout = survey(reader, meta, layers)?;
    let resume = options.write.resume && options.to.can_resume();
    if options.write.resume && dst.exists() && !options.write.overwrite {
        return Err(Error::Exists(dst.to_path_buf()));
    }
    let write_options = WriteOptions {
        resume,
        ..options.write.clone()
    };
    let fingerprint = fingerprint(reader, meta, layers, options);
    let writer: Box<dyn DatasetWriter> = match options.stage {
        Stage::Partition(p) => Box::new(ZarrWriter::create_partition(
            dst,
            meta,
            &layout,
            &write_options,
            p,
            &fingerprint,
        )?),
        _ => formats::create(options.to, dst, meta, &layout, &write_options)?,
    };
    // A journal is a local file beside a local output; a partition simply runs again.
    let journal = match options.stage {
        Stage::Whole if !store::is_url(dst) => Some(Journal::open(dst, &fingerprint, resume)?),
        _ => None,
    };
    let groups = own_groups(meta.patches.len(), writer.group_size(), options.stage);
    let patches = groups.iter().map(|g| g.len()).sum();
    progress(Progress::Start { total: patches });
    let is_done = |i: usize| journal.as_ref().is_some_and(|j| j.is_done(i));
    let bytes_in = groups
        .par_iter()
        .map(|group| {
            let mut bytes = 0;
            for index in group.clone() {
                let id = meta.patches[index].id;
                let mut patch_bytes = 0;
                if !is_done(index) {
                    let patch = reader.read_patch(id, layers)?;
                    writer.write_patch(index, &patch)?;
                    patch_bytes = patch.arrays.values().map(|a| a.nbytes() as u64).sum();
                }
                bytes += patch_bytes;
                progress(Progress::Patch {
                    id,
                    bytes: patch_bytes,
                });
            }
            match &journal {
                Some(j) if !group.clone().all(is_done) => j.record(group.clone())?,
                _ => {}
            }
            Ok(bytes)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    progress(Progress::Finishing);
    let warnings = writer.warnings();
    writer.finish()?;
    if let Some(journal) = journal {
        journal.remove()?;
    }
    Ok((patches, bytes_in, warnings))
}

/// The groups of `size` consecutive patches (of `n`) this run writes: all, or its partition's.
fn own_groups(n: usize, size: usize, stage: Stage) -> Vec<Range<usize>> {
    let size = size.max(1);
    (0..n)
        .step_by(size)
        .map(|s| s..(s + size).min(n))
        .enumerate()
        .filter(|(g, _)| match stage {
            Stage::Partition(p) => p.owns(*g),
            _ => true,
        })
        .map(|(_, range)| range)
        .collect()
}

/// Finalizes a split conversion (see [`partition::finalize`]); reads only array headers.
fn finalize(
    reader: &dyn DatasetReader,
    dst: &Path,
    meta: &DatasetMeta,
    layers: &[Layer],
    options: &ConvertOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(usize, u64, Vec<String>)> {
    let layout = survey(reader, meta, layers)?;
    let fingerprint = fingerprint(reader, meta, layers, options);
    progress(Progress::Finishing);
    partition::finalize(dst, meta, &layout, &options.write, &fingerprint)?;
    Ok((meta.patches.len(), 0, Vec::new()))
}

/// Bytes of the output: on disk, or under an object-store prefix.
fn output_size(dst: &Path, stage: Stage) -> u64 {
    match stage {
        // A partition shares its store with the other workers: no size of its own.
        Stage::Partition(_) => 0,
        _ if store::is_url(dst) => store::stored_bytes(dst),
        _ => disk_usage(dst),
    }
}

/// Identifies a conversion, so that `--resume` only continues the same one.
fn fingerprint(
    reader: &dyn DatasetReader,
    meta: &DatasetMeta,
    layers: &[Layer],
    options: &ConvertOptions,
) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.ids().hash(&mut hasher);
    let w = &options.write;
    format!(
        "pastis-bridge {} from {} to {} layers {layers:?} compression {:?} zarr v{} cog {} patches {} {:016x}",
        env!("CARGO_PKG_VERSION"),
        reader.format(),
        options.to,
        w.compression,
        w.zarr_version,
        w.cog,
        meta.patches.len(),
        hasher.finish()
    )
}

/// A patch that could not be converted, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FailedPatch {
    /// `ID_PATCH`.
    pub id: i64,
    /// The error, naming the file.
    pub error: String,
}

/// Reads every patch once (for `--keep-going`) and returns those that cannot be read.
fn screen(reader: &dyn DatasetReader, meta: &DatasetMeta, layers: &[Layer]) -> Vec<FailedPatch> {
    meta.patches
        .par_iter()
        .filter_map(|p| {
            let result = reader
                .specs(p.id)
                .and_then(|_| reader.read_patch(p.id, layers));
            result.err().map(|e| FailedPatch {
                id: p.id,
                error: e.to_string(),
            })
        })
        .collect()
}

/// A rayon pool of `jobs` threads (0 = one per core).
pub fn thread_pool(jobs: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {jobs} worker threads: {e}")))
}

/// Reads the dtype and shape of every selected layer of every patch (headers only) and works out
/// the stacked shape of each layer: the longest series, and whether patches agree.
pub fn survey(
    reader: &dyn DatasetReader,
    meta: &DatasetMeta,
    layers: &[Layer],
) -> Result<DatasetLayout> {
    let specs: Vec<BTreeMap<Layer, ArraySpec>> = meta
        .patches
        .par_iter()
        .map(|p| reader.specs(p.id))
        .collect::<Result<_>>()?;
    let mut layout = DatasetLayout::default();
    for &layer in layers {
        let per_patch: Vec<Option<&ArraySpec>> = specs.iter().map(|s| s.get(&layer)).collect();
        if let Some(l) = layer_layout(layer, meta, &per_patch) {
            layout.layers.insert(layer, l);
        }
    }
    Ok(layout)
}

fn layer_layout(
    layer: Layer,
    meta: &DatasetMeta,
    per_patch: &[Option<&ArraySpec>],
) -> Option<LayerLayout> {
    let (first_index, first) = per_patch
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.map(|s| (i, s)))?;
    let mut shape = first.shape.clone();
    let mut conflict = None;
    for (i, spec) in per_patch.iter().enumerate() {
        let Some(spec) = spec else { continue };
        let differs = spec.dtype != first.dtype
            || spec.shape.len() != first.shape.len()
            || (spec.shape.len() > 1 && spec.shape[1..] != first.shape[1..])
            || (!layer.is_series() && spec.shape != first.shape);
        if differs && conflict.is_none() {
            conflict = Some(format!(
                "{layer} of patch {} is {} {:?} but {layer} of patch {} is {} {:?}: patches cannot be stacked",
                meta.patches[i].id, spec.dtype, spec.shape,
                meta.patches[first_index].id, first.dtype, first.shape
            ));
        }
        if let (Some(s0), Some(t)) = (shape.first_mut(), spec.shape.first()) {
            *s0 = (*s0).max(*t);
        }
    }
    Some(LayerLayout {
        dtype: first.dtype,
        shape,
        per_patch: per_patch
            .iter()
            .map(|s| s.map(|s| s.shape.clone()))
            .collect(),
        conflict,
    })
}

/// Total size in bytes of a file or of every file under a folder.
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| disk_usage(&e.path())).sum())
        .unwrap_or(0)
}
