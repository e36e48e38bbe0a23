//! The formats as drivers: each format declares itself once (names, extensions, how to recognise,
//! open and create a dataset, what it can do, which creation options it understands) and is
//! registered in [`DRIVERS`]. Everything above the formats (the pipeline, the CLI) asks a driver
//! for a capability instead of naming a format.
//!
//! Adding a format: its own module with a reader, a writer and a `driver.rs` implementing
//! [`Driver`], a variant of [`Format`], and one line in [`DRIVERS`].

use super::options::{CreationOption, WriteOptions};
use super::{geotiff, hdf5, pastis, zarr, DatasetReader, DatasetWriter, Format};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::pipeline::Partition;
use crate::warnings::Warnings;
use crate::{Error, Result};
use std::path::Path;

/// Every driver, in the order datasets are recognised (the most specific first: a PASTIS folder
/// is recognised by little more than its metadata.geojson).
pub static DRIVERS: [&dyn Driver; 4] = [
    &zarr::DRIVER,
    &hdf5::DRIVER,
    &geotiff::DRIVER,
    &pastis::DRIVER,
];

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
}

/// One format: how to recognise, open and create its datasets, and what it can do.
pub trait Driver: Sync {
    /// The format this driver reads and writes.
    fn format(&self) -> Format;
    /// The name on the command line (`--to NAME`) and in errors: `zarr`.
    fn name(&self) -> &'static str;
    /// The name in sentences: `Zarr`.
    fn title(&self) -> &'static str;
    /// Other names `--to` accepts (`h5` for `hdf5`).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// Output extensions (lower case, without the dot) that select this format when `--to` is
    /// not given.
    fn extensions(&self) -> &'static [&'static str] {
        &[]
    }
    /// What the format can do.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    /// The format-specific creation options (`KEY=VALUE`) the writer understands.
    fn creation_options(&self) -> &'static [CreationOption] {
        &[]
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

/// The driver of `format`.
pub fn driver(format: Format) -> &'static dyn Driver {
    DRIVERS
        .iter()
        .copied()
        .find(|d| d.format() == format)
        .unwrap_or_else(|| unreachable!("every format has a driver in DRIVERS"))
}

/// The driver named `name` or one of its aliases (any case).
pub fn by_name(name: &str) -> Option<&'static dyn Driver> {
    let name = name.to_ascii_lowercase();
    DRIVERS
        .iter()
        .copied()
        .find(|d| d.name() == name || d.aliases().contains(&name.as_str()))
}

/// The driver whose output extension `path` has (`.zarr`, `.h5`...), if any.
pub fn by_extension(path: &Path) -> Option<&'static dyn Driver> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    DRIVERS
        .iter()
        .copied()
        .find(|d| d.extensions().contains(&extension.as_str()))
}

/// The titles of the drivers that have a capability, for messages: `Zarr`, `Zarr or HDF5`.
pub fn titles_with(has: impl Fn(Capabilities) -> bool) -> String {
    let titles: Vec<&str> = DRIVERS
        .iter()
        .filter(|d| has(d.capabilities()))
        .map(|d| d.title())
        .collect();
    titles.join(" or ")
}

/// Recognises an existing dataset from what it is.
///
/// # Errors
/// [`Error::Io`] when nothing is there, [`Error::UnknownFormat`] when no driver recognises it.
pub fn detect(path: &Path) -> Result<&'static dyn Driver> {
    let url = super::location::is_url(path);
    if !url && !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        ));
    }
    for driver in DRIVERS {
        if (!url || driver.capabilities().object_store) && driver.detect(path)? {
            return Ok(driver);
        }
    }
    Err(Error::UnknownFormat(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_one_driver_with_its_own_names() {
        for format in Format::ALL {
            assert_eq!(driver(format).format(), format);
            assert_eq!(
                by_name(driver(format).name()).map(|d| d.format()),
                Some(format)
            );
        }
        let mut names: Vec<&str> = DRIVERS
            .iter()
            .flat_map(|d| std::iter::once(d.name()).chain(d.aliases().iter().copied()))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name or alias is claimed twice");
        assert_eq!(titles_with(|c| c.partitions), "Zarr");
    }
}
