//! HDF5 as a [`Driver`]: one file, written again from the start when a run is resumed (a file
//! killed mid-write may be corrupt as a whole).

use super::netcdf::{widen_float16, FLOAT16_OPTION};
use super::{filters, is_hdf5_file, Hdf5Reader, Hdf5Writer};
use crate::formats::{
    Capabilities, DatasetReader, DatasetWriter, Description, Driver, Format, WriteOptions,
};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::warnings::Warnings;
use crate::Result;
use std::path::Path;

/// The driver of HDF5 files.
#[derive(Debug)]
pub struct Hdf5Driver;

/// The registered instance.
pub static DRIVER: Hdf5Driver = Hdf5Driver;

/// HDF5: one file, written again from the start when resumed; the stacked layout;
/// `FLOAT16=FLOAT32|KEEP` ([`FLOAT16_OPTION`]).
static DESCRIPTION: Description = Description {
    format: Format::Hdf5,
    name: "hdf5",
    title: "HDF5",
    aliases: &["h5"],
    extensions: &["h5", "hdf5", "he5", "nc"],
    capabilities: Capabilities {
        stacked: true,
        spot: true,
        ..Capabilities::NONE
    },
    creation_options: &[FLOAT16_OPTION],
};

impl Driver for Hdf5Driver {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }
    fn detect(&self, path: &Path) -> Result<bool> {
        Ok(path.is_file() && is_hdf5_file(path))
    }
    fn open(&self, path: &Path) -> Result<Box<dyn DatasetReader>> {
        Ok(Box::new(Hdf5Reader::open(path)?))
    }
    /// The compression must map to an HDF5 filter pipeline ([`filters`]); `FLOAT16` to a choice.
    fn check_options(&self, options: &WriteOptions) -> Result<()> {
        options
            .creation
            .check_keys(self.name(), self.creation_options())?;
        widen_float16(options)?;
        filters(options.compression).map(drop)
    }
    fn create(
        &self,
        path: &Path,
        meta: &DatasetMeta,
        layout: &DatasetLayout,
        options: &WriteOptions,
        warnings: &Warnings,
    ) -> Result<Box<dyn DatasetWriter>> {
        let writer = Hdf5Writer::create(path, meta, layout, options, warnings)?;
        Ok(Box::new(writer))
    }
}
