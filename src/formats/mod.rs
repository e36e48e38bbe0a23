//! The formats: each one a reader and a writer around the model (hub and spoke), declared once
//! as a [`Driver`] in the [`registry`].
//!
//! A conversion is always `writer.write_patch(reader.read_patch(id))`, patch by patch; no format
//! knows about another, and nothing above the formats names one: it asks its driver.

mod driver;
pub mod geotiff;
pub mod hdf5;
pub mod location;
pub mod memory;
mod options;
pub mod pastis;
pub mod registry;
pub mod spot;
pub mod stacked;
pub mod zarr;

pub use driver::{Capabilities, Description, Driver};
pub use options::{Compression, CreationOption, CreationOptions, Shuffle, WriteOptions};

use crate::model::{ArraySpec, DatasetLayout, DatasetMeta, Layer, Patch};
use crate::warnings::Warnings;
use crate::Result;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A dataset format pastis-bridge reads and writes: the id of a [`Driver`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// The original layout: folders of `.npy` files and metadata.geojson.
    Pastis,
    /// One Zarr store (v3 sharded, or v2).
    Zarr,
    /// One HDF5 file.
    Hdf5,
    /// A folder of georeferenced GeoTIFFs, one per patch and layer, with VRT mosaics.
    GeoTiff,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Pastis, Format::Zarr, Format::Hdf5, Format::GeoTiff];

    /// The format's driver.
    pub fn driver(self) -> &'static dyn Driver {
        registry::driver(self)
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        self.driver().name()
    }

    /// Recognises an existing dataset from what it is (see [`registry::detect`]).
    pub fn detect(path: &Path) -> Result<Format> {
        registry::detect(path).map(|d| d.format())
    }

    /// True if an interrupted output of this format can be continued group by group.
    pub fn can_resume(self) -> bool {
        self.driver().capabilities().resume
    }

    /// Guesses the format of an output from its extension (`.zarr`, `.h5`...); `None` otherwise.
    pub fn from_extension(path: &Path) -> Option<Format> {
        registry::by_extension(path).map(|d| d.format())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        registry::by_name(s).map(|d| d.format()).ok_or_else(|| {
            let names: Vec<&str> = registry::DRIVERS.iter().map(|d| d.name()).collect();
            format!("unknown format '{s}', expected {}", names.join(", "))
        })
    }
}

/// Reads a dataset patch by patch. Implementations are cheap to share between threads.
pub trait DatasetReader: Send + Sync {
    /// The format read.
    fn format(&self) -> Format;
    /// The dataset's metadata (all patches, NORM statistics...).
    fn metadata(&self) -> &DatasetMeta;
    /// The dtype and shape of each array a patch has, without reading values.
    fn specs(&self, id: i64) -> Result<BTreeMap<Layer, ArraySpec>>;
    /// Reads one patch, only the `layers` asked for (those it lacks are absent from the result),
    /// as stored: its consistency is checked once, by the pipeline
    /// ([`pipeline::produce`](crate::pipeline::produce)), whatever the format.
    fn read_patch(&self, id: i64, layers: &[Layer]) -> Result<Patch>;
    /// The georeferencing of the patch's SPOT image without its pixels, `None` if it has none
    /// (for the survey: stacked formats write it before any patch). Default: `None`, for a
    /// format without SPOT.
    ///
    /// # Errors
    /// The image's header cannot be read; the error names the file.
    fn spot_georef(&self, _id: i64) -> Result<Option<crate::model::SpotGeoref>> {
        Ok(None)
    }
    /// What the dataset holds beside what the model carries (for a PASTIS folder: hidden and
    /// stray files, files of patches metadata does not list, strays in PASTIS-HD's `DATA_SPOT/`), which a
    /// conversion therefore leaves out; `convert` names it in its summary, and refuses it with
    /// `--strict`. Default: nothing.
    fn not_carried(&self) -> Vec<NotCarried> {
        Vec::new()
    }
}

/// Content of a source that a conversion will not carry to its output, named in the run's
/// summary ([`crate::pipeline::Summary::warnings`]) or refused ([`crate::Error::NotCarried`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NotCarried {
    /// The file or folder.
    pub path: PathBuf,
    /// What it is, in words.
    pub why: String,
}

impl fmt::Display for NotCarried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.why)
    }
}

/// Writes a dataset patch by patch. `write_patch` may be called from several threads at once,
/// each with a different patch; implementations serialise internally where their library needs it.
pub trait DatasetWriter: Send + Sync {
    /// Writes one patch, taken by value so that a writer may keep or move its arrays without a
    /// copy; `index` is its position in the metadata the writer was created with.
    fn write_patch(&self, index: usize, patch: Patch) -> Result<()>;
    /// Writes what remains (dataset metadata) and moves the output into place.
    fn finish(self: Box<Self>) -> Result<()>;

    /// How many consecutive patches one worker must write in a row, in order, so that no two
    /// workers touch the same storage unit (e.g. a Zarr shard grouping annotations). A group is
    /// durably stored once its last patch is written. Default 1.
    fn group_size(&self) -> usize {
        1
    }
}

/// Opens an existing dataset of any format, recognised from what it is.
///
/// # Errors
/// Nothing there, no format recognises it, or its metadata cannot be read.
pub fn open(path: &Path) -> Result<Box<dyn DatasetReader>> {
    registry::detect(path)?.open(path)
}

/// Creates a writer for `format` at `path`, for the patches of `meta` with the shapes of
/// `layout`, after checking the options; the writer's warnings are dropped (the
/// [`pipeline`](crate::pipeline) reports them).
///
/// # Errors
/// Options the format refuses; the output exists or cannot be created.
pub fn create(
    format: Format,
    path: &Path,
    meta: &DatasetMeta,
    layout: &DatasetLayout,
    options: &WriteOptions,
) -> Result<Box<dyn DatasetWriter>> {
    let driver = format.driver();
    driver.check_options(options)?;
    driver.create(path, meta, layout, options, &Warnings::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_and_names_select_formats() {
        assert_eq!(
            Format::from_extension(Path::new("a/b.zarr")),
            Some(Format::Zarr)
        );
        assert_eq!(
            Format::from_extension(Path::new("b.H5")),
            Some(Format::Hdf5)
        );
        assert_eq!(Format::from_extension(Path::new("out")), None);
        assert_eq!("TIF".parse(), Ok(Format::GeoTiff));
        assert_eq!("npy".parse(), Ok(Format::Pastis));
        assert!("netcdf".parse::<Format>().is_err());
    }
}
