//! The PASTIS folder as a [`Driver`]: `.npy` files are stored uncompressed, as numpy writes them.

use super::{is_pastis_folder, PastisReader, PastisWriter};
use crate::formats::{
    Capabilities, Compression, DatasetReader, DatasetWriter, Description, Driver, Format,
    WriteOptions,
};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::warnings::Warnings;
use crate::Result;
use std::path::Path;

/// The driver of PASTIS folders.
#[derive(Debug)]
pub struct PastisDriver;

/// The registered instance.
pub static DRIVER: PastisDriver = PastisDriver;

/// The PASTIS folder: written patch by patch, one file per array: resumable.
static DESCRIPTION: Description = Description {
    format: Format::Pastis,
    name: "pastis",
    title: "PASTIS",
    aliases: &["npy"],
    extensions: &[],
    capabilities: Capabilities {
        resume: true,
        spot: true,
        ..Capabilities::NONE
    },
    creation_options: &[],
};

impl Driver for PastisDriver {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
    }
    fn detect(&self, path: &Path) -> Result<bool> {
        Ok(path.is_dir() && is_pastis_folder(path))
    }
    fn open(&self, path: &Path) -> Result<Box<dyn DatasetReader>> {
        Ok(Box::new(PastisReader::open(path)?))
    }
    /// `.npy` files hold raw payloads: only `none` (or no choice) is accepted.
    fn check_options(&self, options: &WriteOptions) -> Result<()> {
        options
            .creation
            .check_keys(self.name(), self.creation_options())?;
        match options.compression {
            None | Some(Compression::None) => Ok(()),
            Some(other) => Err(self.unsupported(format!(
                "compression {other}: .npy files are stored uncompressed, as numpy writes them"
            ))),
        }
    }
    fn create(
        &self,
        path: &Path,
        meta: &DatasetMeta,
        _layout: &DatasetLayout,
        options: &WriteOptions,
        _warnings: &Warnings,
    ) -> Result<Box<dyn DatasetWriter>> {
        Ok(Box::new(PastisWriter::create(path, meta, options)?))
    }
}
