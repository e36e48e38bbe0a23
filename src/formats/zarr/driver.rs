//! Zarr as a [`Driver`]: resumable, written by many workers at once, local or on object storage;
//! and its creation option `ZARR_VERSION`.

use super::writer::{compression_of, version_of};
use super::{detect_url, finalize, is_zarr_store, ZarrReader, ZarrWriter};
use crate::formats::location::is_url;
use crate::formats::{
    Capabilities, CreationOption, DatasetReader, DatasetWriter, Description, Driver, Format,
    WriteOptions,
};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::pipeline::Partition;
use crate::warnings::Warnings;
use crate::{Error, Result};
use std::path::Path;

/// The driver of Zarr stores.
#[derive(Debug)]
pub struct ZarrDriver;

/// The registered instance.
pub static DRIVER: ZarrDriver = ZarrDriver;

/// The creation options of Zarr outputs.
const CREATION_OPTIONS: [CreationOption; 1] = [CreationOption {
    key: "ZARR_VERSION",
    values: "2 or 3 (default 3)",
    doc: "Zarr format version: 3 (sharded) or 2 (unsharded, for GDAL and QGIS)",
}];

/// Zarr-specific options, parsed from the creation options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZarrOptions {
    /// Zarr format version, 2 or 3.
    pub version: u8,
}

impl ZarrOptions {
    /// The Zarr options in `options` (`ZARR_VERSION`, default 3).
    ///
    /// # Errors
    /// [`Error::Usage`] for a version other than 2 or 3.
    pub fn of(options: &WriteOptions) -> Result<ZarrOptions> {
        let version = match options.creation.get("ZARR_VERSION") {
            None => 3,
            Some("2") => 2,
            Some("3") => 3,
            Some(v) => return Err(Error::Usage(format!("zarr version {v}: expected 2 or 3"))),
        };
        Ok(ZarrOptions { version })
    }
}

/// Zarr: shards are written whole, one group of patches per worker: resumable and splittable.
static DESCRIPTION: Description = Description {
    format: Format::Zarr,
    name: "zarr",
    title: "Zarr",
    aliases: &[],
    extensions: &["zarr"],
    capabilities: Capabilities {
        resume: true,
        partitions: true,
        object_store: true,
        stacked: true,
        spot: true,
    },
    creation_options: &CREATION_OPTIONS,
};

impl Driver for ZarrDriver {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }
    fn detect(&self, path: &Path) -> Result<bool> {
        if is_url(path) {
            detect_url(path).map(|()| true)
        } else {
            Ok(is_zarr_store(path))
        }
    }
    fn open(&self, path: &Path) -> Result<Box<dyn DatasetReader>> {
        Ok(Box::new(ZarrReader::open(path)?))
    }
    fn check_options(&self, options: &WriteOptions) -> Result<()> {
        options
            .creation
            .check_keys(self.name(), self.creation_options())?;
        version_of(options)?;
        compression_of(options).map(drop)
    }
    fn create(
        &self,
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
        warnings: &Warnings,
    ) -> Result<Box<dyn DatasetWriter>> {
        let writer = ZarrWriter::create(path, meta, layout, options, warnings)?;
        Ok(Box::new(writer))
    }
    fn create_partition(
        &self,
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
        partition: Partition,
        fingerprint: &str,
    ) -> Result<Box<dyn DatasetWriter>> {
        Ok(Box::new(ZarrWriter::create_partition(
            path,
            meta,
            layout,
            options,
            partition,
            fingerprint,
        )?))
    }
    fn finalize(
        &self,
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
        fingerprint: &str,
    ) -> Result<()> {
        finalize(path, meta, layout, options, fingerprint)
    }
}
