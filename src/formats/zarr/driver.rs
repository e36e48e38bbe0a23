//! Zarr as a [`Driver`]: resumable, written by many workers at once, local or on object storage;
//! and its creation options `ZARR_VERSION` and `SERIES_CHUNK_DATES`.

use super::writer::{compression_of, version_of};
use super::{detect_url, finalize, is_zarr_store, ZarrReader, ZarrWriter};
use crate::formats::location::is_url;
use crate::formats::stacked::SERIES_CHUNK_DATES;
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
const CREATION_OPTIONS: [CreationOption; 2] = [
    CreationOption {
        key: "ZARR_VERSION",
        values: "2 or 3 (default 3)",
        doc: "Zarr format version: 3 (sharded) or 2 (unsharded, for GDAL and QGIS)",
    },
    CreationOption {
        key: "SERIES_CHUNK_DATES",
        values: "a number of dates >= 1, or ALL (default 8)",
        doc: "dates of one patch per series chunk (the smallest read); ALL: the whole series in one chunk",
    },
];

/// Zarr-specific options, parsed from the creation options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZarrOptions {
    /// Zarr format version, 2 or 3.
    pub version: u8,
    /// Dates per series chunk (`SERIES_CHUNK_DATES`, default
    /// [`SERIES_CHUNK_DATES`](crate::formats::stacked::SERIES_CHUNK_DATES); `ALL` =
    /// `usize::MAX`, clamped to the longest series by [`data_arrays`](crate::formats::stacked::data_arrays)).
    pub series_chunk_dates: usize,
}

impl ZarrOptions {
    /// The Zarr options in `options` (`ZARR_VERSION`, default 3; `SERIES_CHUNK_DATES`, default
    /// [`SERIES_CHUNK_DATES`](crate::formats::stacked::SERIES_CHUNK_DATES)).
    ///
    /// # Errors
    /// [`Error::Usage`] for a version other than 2 or 3, or a number of dates that is not a
    /// positive integer nor `ALL`.
    pub fn of(options: &WriteOptions) -> Result<ZarrOptions> {
        let version = match options.creation.get("ZARR_VERSION") {
            None => 3,
            Some("2") => 2,
            Some("3") => 3,
            Some(v) => return Err(Error::Usage(format!("zarr version {v}: expected 2 or 3"))),
        };
        let series_chunk_dates = match options.creation.get("SERIES_CHUNK_DATES") {
            None => SERIES_CHUNK_DATES,
            Some(v) if v.eq_ignore_ascii_case("all") => usize::MAX,
            Some(v) => match v.parse::<usize>() {
                Ok(dates) if dates >= 1 => dates,
                _ => {
                    return Err(Error::Usage(format!(
                        "SERIES_CHUNK_DATES={v}: expected a number of dates >= 1, or ALL"
                    )))
                }
            },
        };
        Ok(ZarrOptions {
            version,
            series_chunk_dates,
        })
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
