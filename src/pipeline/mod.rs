//! The one write loop every command that writes a dataset goes through (`convert`, `rasterize`,
//! `synth`): a [`PatchSource`] (a reader, the rasterizer, the generator) feeds a writer created
//! by a format's [`Driver`](crate::formats::Driver), patch by patch, in parallel.
//!
//! The loop owns what every such command needs once: the thread pool, the survey of shapes, the
//! validation of each patch ([`validate_patch`]), the groups of patches a writer wants written by
//! one worker, the journal that lets `--resume` continue an interrupted run, the partitions of a
//! run split over many workers ([`Stage`]), `--keep-going`, progress and warnings (among them the
//! source's content the output will not carry, refused with `--strict`), and the removal of the
//! staged output when a run fails.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

mod fingerprint;
mod keep_going;
mod progress;
mod selection;
mod stage;
mod survey;
mod write;

pub use fingerprint::{canonical_text, fingerprint, RunIdentity};
pub use keep_going::KeepGoing;
pub use progress::{thread_pool, FailedPatch, Progress, Summary};
pub use selection::Selection;
pub use stage::{Partition, PartitionSpec, Stage, INDEX_VARIABLES};
pub use survey::survey;
pub use write::{run, Job, STOP_AFTER_GROUPS};

use crate::formats::{DatasetReader, NotCarried};
use crate::model::{validate_patch, ArraySpec, Layer, Patch, PatchMeta, SpotGeoref};
use crate::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// Where the patches of a run come from.
pub trait PatchSource: Sync {
    /// What the source is, for the run's fingerprint: `read zarr`, `rasterize parcels.gpkg`.
    /// Where the source is does not count (a moved source still resumes).
    fn describe(&self) -> String;

    /// The dtype and shape of each array the patch has, without its values (for the survey).
    ///
    /// # Errors
    /// The patch's headers cannot be read; the error names the file or the patch.
    fn specs(&self, meta: &PatchMeta) -> Result<BTreeMap<Layer, ArraySpec>>;

    /// The patch, with only `layers` (those it lacks are absent). It is validated by the loop.
    ///
    /// # Errors
    /// The patch cannot be read or built; the error names the file or the patch.
    fn patch(&self, meta: &PatchMeta, layers: &[Layer]) -> Result<Patch>;

    /// The georeferencing of the patch's SPOT image without its pixels, `None` if it has none
    /// ([`DatasetReader::spot_georef`]); asked by the survey for each patch whose specs list
    /// SPOT. Default: `None` (a source without SPOT; the survey refuses a SPOT spec without it).
    ///
    /// # Errors
    /// The image's header cannot be read; the error names the file or the patch.
    fn spot_georef(&self, _meta: &PatchMeta) -> Result<Option<SpotGeoref>> {
        Ok(None)
    }

    /// Called once every patch of a whole run is written, before the writer finishes, with the
    /// path the writer writes to (a local output's staging path, `NAME.partial`): for files the
    /// source adds beside the patches (the generator's NORM_*_patch.json). Default: nothing.
    ///
    /// # Errors
    /// A file cannot be written; the run then fails and its output is removed.
    fn complete(&self, _writing: &Path) -> Result<()> {
        Ok(())
    }

    /// What the source holds that the run will not carry to its output
    /// ([`DatasetReader::not_carried`]). Default: nothing.
    fn not_carried(&self) -> Vec<NotCarried> {
        Vec::new()
    }
}

/// The patches of an opened dataset, read as they are.
pub struct Reading<'a>(pub &'a dyn DatasetReader);

impl PatchSource for Reading<'_> {
    fn describe(&self) -> String {
        format!("read {}", self.0.format())
    }
    fn specs(&self, meta: &PatchMeta) -> Result<BTreeMap<Layer, ArraySpec>> {
        self.0.specs(meta.id)
    }
    fn patch(&self, meta: &PatchMeta, layers: &[Layer]) -> Result<Patch> {
        self.0.read_patch(meta.id, layers)
    }
    fn spot_georef(&self, meta: &PatchMeta) -> Result<Option<SpotGeoref>> {
        self.0.spot_georef(meta.id)
    }
    fn not_carried(&self) -> Vec<NotCarried> {
        self.0.not_carried()
    }
}

/// A patch from `source`, checked for consistency once, here, whatever its source.
///
/// # Errors
/// The source's error, or the inconsistency [`validate_patch`] finds.
pub fn produce(source: &dyn PatchSource, meta: &PatchMeta, layers: &[Layer]) -> Result<Patch> {
    let patch = source.patch(meta, layers)?;
    validate_patch(&patch)?;
    Ok(patch)
}
