//! What a format declares about itself: the [`Driver`] trait every format implements once (in its
//! own `driver.rs`), and its [`Capabilities`]. The list of drivers is the
//! [`registry`](super::registry).

use super::options::{CreationOption, WriteOptions};
use super::{DatasetReader, DatasetWriter, Format};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::pipeline::Partition;
use crate::warnings::Warnings;
use crate::{Error, Result};
use std::path::Path;

/// What a format can do beyond reading and writing a whole dataset in one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// An interrupted output can be continued group by group (`--resume`); without it a resumed
    /// run writes the output again from the start.
    pub resume: bool,
    /// One output can be written by many workers at once (`--partition I/N`), then finalized
    /// once (`--finalize`).
    pub partitions: bool,
    /// The output can be an object-store URL (`s3://`, `gs://`, `az://`).
    pub object_store: bool,
    /// Every patch of a layer goes into one array (the stacked layout): the patches must agree
    /// in every axis but a series' time, and one dtype must hold all theirs; with
    /// `--keep-going` the patches that cannot be stacked are skipped.
    pub stacked: bool,
    /// PASTIS-HD's SPOT images ([`Layer::Spot`](crate::model::Layer::Spot)) are carried, with
    /// their own georeferencing; a dataset that has them is refused by a format that does not
    /// (issue #20), never written without them.
    pub spot: bool,
}

impl Capabilities {
    /// No capability: a format that writes a whole dataset in one run and nothing more (a base
    /// for `Capabilities { resume: true, ..Capabilities::NONE }` in constants).
    pub const NONE: Capabilities = Capabilities {
        resume: false,
        partitions: false,
        object_store: false,
        stacked: false,
        spot: false,
    };
}

/// What a format declares about itself, once, as a constant: its names, the outputs that select
/// it, what it can do and the creation options it takes.
#[derive(Debug)]
pub struct Description {
    /// The format.
    pub format: Format,
    /// The name on the command line (`--to NAME`) and in errors: `zarr`.
    pub name: &'static str,
    /// The name in sentences: `Zarr`.
    pub title: &'static str,
    /// Other names `--to` accepts (`h5` for `hdf5`).
    pub aliases: &'static [&'static str],
    /// Output extensions (lower case, without the dot) that select this format when `--to` is
    /// not given.
    pub extensions: &'static [&'static str],
    /// What the format can do.
    pub capabilities: Capabilities,
    /// The format-specific creation options (`KEY=VALUE`) the writer understands.
    pub creation_options: &'static [CreationOption],
}

/// One format: how to recognise, open and create its datasets, and what it can do.
pub trait Driver: Sync {
    /// The format's names, extensions, capabilities and creation options.
    fn description(&self) -> &'static Description;
    /// The format this driver reads and writes.
    fn format(&self) -> Format {
        self.description().format
    }
    /// The name on the command line (`--to NAME`) and in errors: `zarr`.
    fn name(&self) -> &'static str {
        self.description().name
    }
    /// The name in sentences: `Zarr`.
    fn title(&self) -> &'static str {
        self.description().title
    }
    /// Other names `--to` accepts (`h5` for `hdf5`).
    fn aliases(&self) -> &'static [&'static str] {
        self.description().aliases
    }
    /// Output extensions (lower case, without the dot) that select this format when `--to` is
    /// not given.
    fn extensions(&self) -> &'static [&'static str] {
        self.description().extensions
    }
    /// What the format can do.
    fn capabilities(&self) -> Capabilities {
        self.description().capabilities
    }
    /// The format-specific creation options (`KEY=VALUE`) the writer understands.
    fn creation_options(&self) -> &'static [CreationOption] {
        self.description().creation_options
    }

    /// True if `path` (local, or an object-store URL for drivers that have `object_store`) is a
    /// dataset of this format.
    ///
    /// # Errors
    /// When `path` is of this format but cannot be used (an unfinished object-store output).
    fn detect(&self, path: &Path) -> Result<bool>;
    /// Opens an existing dataset.
    ///
    /// # Errors
    /// The dataset's metadata cannot be read; the error names the file.
    fn open(&self, path: &Path) -> Result<Box<dyn DatasetReader>>;
    /// Checks the options before any work is done: the compression and every creation option.
    ///
    /// # Errors
    /// [`Error::Unsupported`] or [`Error::Usage`] naming the option.
    fn check_options(&self, options: &WriteOptions) -> Result<()>;
    /// Starts an output at `path` for the patches of `meta` with the shapes of `layout`; warnings
    /// the writer raises go to `warnings`.
    ///
    /// # Errors
    /// The output exists (without `overwrite`), cannot be created, or cannot hold `layout`.
    fn create(
        &self,
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
        warnings: &Warnings,
    ) -> Result<Box<dyn DatasetWriter>>;

    /// Starts one partition of an output written by many workers (only with `partitions`).
    /// The writer receives the patches `p` with `p % N == I` with every layer, and the other
    /// patches of the groups (of [`DatasetWriter::group_size`]) `g` with `g % N == I` with their
    /// non-series layers only: it writes the series of the former and the group-level objects
    /// of the latter groups.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a driver without the capability.
    fn create_partition(
        &self,
        path: &Path,
        _meta: &DatasetMeta,
        _layout: &DatasetLayout,
        _options: &WriteOptions,
        _partition: Partition,
        _fingerprint: &str,
    ) -> Result<Box<dyn DatasetWriter>> {
        Err(self.unsupported(format!(
            "{}: cannot be written in partitions",
            path.display()
        )))
    }

    /// Completes an output whose partitions are all written (only with `partitions`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a driver without the capability; a partition missing or run
    /// with another `fingerprint`.
    fn finalize(
        &self,
        path: &Path,
        _meta: &DatasetMeta,
        _layout: &DatasetLayout,
        _options: &WriteOptions,
        _fingerprint: &str,
    ) -> Result<()> {
        Err(self.unsupported(format!("{}: has no partitions to finalize", path.display())))
    }

    /// An [`Error::Unsupported`] of this format.
    fn unsupported(&self, what: String) -> Error {
        Error::Unsupported {
            format: self.name(),
            what,
        }
    }
}
