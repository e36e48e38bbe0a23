//! The GeoTIFF export folder as a [`Driver`], and its creation option `COG`.

use super::writer::compression_options;
use super::{is_geotiff_folder, GeoTiffReader, GeoTiffWriter};
use crate::formats::{
    Capabilities, CreationOption, DatasetReader, DatasetWriter, Driver, Format, WriteOptions,
};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::warnings::Warnings;
use crate::{Error, Result};
use std::path::Path;

/// The driver of GeoTIFF export folders.
#[derive(Debug)]
pub struct GeoTiffDriver;

/// The registered instance.
pub static DRIVER: GeoTiffDriver = GeoTiffDriver;

/// The creation options of GeoTIFF outputs.
const CREATION_OPTIONS: [CreationOption; 1] = [CreationOption {
    key: "COG",
    values: "YES or NO (default NO)",
    doc: "write Cloud Optimized GeoTIFFs (GDAL's COG driver)",
}];

/// GeoTIFF-specific options, parsed from the creation options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeoTiffOptions {
    /// Write Cloud Optimized GeoTIFFs.
    pub cog: bool,
}

impl GeoTiffOptions {
    /// The GeoTIFF options in `options` (`COG=YES|NO`, also TRUE/FALSE, ON/OFF, 1/0).
    ///
    /// # Errors
    /// [`Error::Usage`] for another value.
    pub fn of(options: &WriteOptions) -> Result<GeoTiffOptions> {
        let cog = match options.creation.get("COG").map(str::to_ascii_uppercase) {
            None => false,
            Some(v) if ["YES", "TRUE", "ON", "1"].contains(&v.as_str()) => true,
            Some(v) if ["NO", "FALSE", "OFF", "0"].contains(&v.as_str()) => false,
            Some(v) => {
                return Err(Error::Usage(format!(
                    "geotiff creation option COG={v}: expected YES or NO"
                )))
            }
        };
        Ok(GeoTiffOptions { cog })
    }
}

impl Driver for GeoTiffDriver {
    fn format(&self) -> Format {
        Format::GeoTiff
    }
    fn name(&self) -> &'static str {
        "geotiff"
    }
    fn title(&self) -> &'static str {
        "GeoTIFF"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["tiff", "tif"]
    }
    /// One file per patch and layer, one manifest entry per patch: resumable.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            resume: true,
            ..Capabilities::default()
        }
    }
    fn creation_options(&self) -> &'static [CreationOption] {
        &CREATION_OPTIONS
    }
    fn detect(&self, path: &Path) -> Result<bool> {
        Ok(path.is_dir() && is_geotiff_folder(path))
    }
    fn open(&self, path: &Path) -> Result<Box<dyn DatasetReader>> {
        Ok(Box::new(GeoTiffReader::open(path)?))
    }
    fn check_options(&self, options: &WriteOptions) -> Result<()> {
        options
            .creation
            .check_keys(self.name(), self.creation_options())?;
        GeoTiffOptions::of(options)?;
        compression_options(options.compression).map(drop)
    }
    fn create(
        &self,
        path: &Path,
        meta: &DatasetMeta,
        _layout: &DatasetLayout,
        options: &WriteOptions,
        warnings: &Warnings,
    ) -> Result<Box<dyn DatasetWriter>> {
        Ok(Box::new(GeoTiffWriter::create(
            path,
            meta,
            options,
            warnings.clone(),
        )?))
    }
}
