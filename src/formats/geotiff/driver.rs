//! The GeoTIFF export folder as a [`Driver`], and its creation options `COG` and `GEOREF`.

use super::writer::compression_options;
use super::{is_geotiff_folder, GeoTiffReader, GeoTiffWriter};
use crate::formats::{
    Capabilities, CreationOption, DatasetReader, DatasetWriter, Description, Driver, Format,
    WriteOptions,
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
const CREATION_OPTIONS: [CreationOption; 2] = [
    CreationOption {
        key: "COG",
        values: "YES or NO (default NO)",
        doc: "write Cloud Optimized GeoTIFFs (GDAL's COG driver)",
    },
    CreationOption {
        key: "GEOREF",
        values: "YES or NO (default YES)",
        doc:
            "NO: no CRS, the pixel grid [0, 1, 0, 0, 0, -1], the reason per patch in the manifest \
              (for footprints that do not give the patches' grids; --no-georef)",
    },
];

/// GeoTIFF-specific options, parsed from the creation options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeoTiffOptions {
    /// Write Cloud Optimized GeoTIFFs.
    pub cog: bool,
    /// `GEOREF=NO`: write every TIFF without CRS, on the pixel grid `[0, 1, 0, 0, 0, -1]`, and
    /// record in the manifest why (each patch's [`crate::georef::GeorefProblem`]); without it a
    /// patch whose grid cannot be recovered stops the export. Never a guessed CRS.
    pub no_georef: bool,
}

impl GeoTiffOptions {
    /// The GeoTIFF options in `options` (`COG=YES|NO`, `GEOREF=YES|NO`, also TRUE/FALSE, ON/OFF,
    /// 1/0).
    ///
    /// # Errors
    /// [`Error::Usage`] for another value.
    pub fn of(options: &WriteOptions) -> Result<GeoTiffOptions> {
        Ok(GeoTiffOptions {
            cog: flag(options, "COG", false)?,
            no_georef: !flag(options, "GEOREF", true)?,
        })
    }
}

/// The yes/no creation option `key`, `default` when absent.
fn flag(options: &WriteOptions, key: &str, default: bool) -> Result<bool> {
    match options.creation.get(key).map(str::to_ascii_uppercase) {
        None => Ok(default),
        Some(v) if ["YES", "TRUE", "ON", "1"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["NO", "FALSE", "OFF", "0"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(Error::Usage(format!(
            "geotiff creation option {key}={v}: expected YES or NO"
        ))),
    }
}

/// GeoTIFF: one file per patch and layer, one manifest entry per patch: resumable.
static DESCRIPTION: Description = Description {
    format: Format::GeoTiff,
    name: "geotiff",
    title: "GeoTIFF",
    aliases: &["tiff", "tif"],
    extensions: &[],
    capabilities: Capabilities {
        resume: true,
        spot: true,
        ..Capabilities::NONE
    },
    creation_options: &CREATION_OPTIONS,
};

impl Driver for GeoTiffDriver {
    fn description(&self) -> &'static Description {
        &DESCRIPTION
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
