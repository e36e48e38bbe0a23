//! Conversion: `write(read(x))` patch by patch, in parallel over patches, through the one
//! [`pipeline`](crate::pipeline); optionally one partition of a conversion split over many
//! workers, then finalized once ([`Stage`]). Nothing here names a format: what a format can do is
//! its driver's business.

use crate::formats::{self, DatasetReader, Format, WriteOptions};
use crate::pipeline::{self, Job, Reading};
use crate::Result;
use std::path::Path;

pub use crate::pipeline::{
    survey, thread_pool, FailedPatch, Partition, Progress, Selection, Stage, Summary,
};

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
    /// Refuse ([`crate::Error::NotCarried`], nothing written) a source holding content the
    /// output will not carry, instead of naming it in [`Summary::warnings`].
    pub strict: bool,
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
            strict: false,
            stage: Stage::Whole,
        }
    }
}

/// Converts the dataset at `src` (any format, recognised from what it is) to `dst`.
///
/// # Errors
/// See [`convert_from`]; also a source that cannot be opened.
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
///
/// # Errors
/// Unknown selected patches; options or a stage the output format refuses; content the output
/// will not carry (with `strict`); the first patch that cannot be read or written (without
/// `keep_going`). See [`pipeline::run`].
pub fn convert_from(
    reader: &dyn DatasetReader,
    dst: &Path,
    options: &ConvertOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary> {
    let job = Job {
        source: &Reading(reader),
        meta: options.selection.apply(reader.metadata())?,
        layers: options.selection.layers(),
        to: options.to,
        dst,
        write: options.write.clone(),
        jobs: options.jobs,
        keep_going: options.keep_going,
        strict: options.strict,
        stage: options.stage,
    };
    pipeline::run(job, progress)
}

/// Total size in bytes of a file or of every file under a folder.
pub fn disk_usage(path: &Path) -> u64 {
    formats::location::disk_usage(path)
}
