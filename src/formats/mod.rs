//! The formats: each one a reader and a writer around the model (hub and spoke).
//!
//! A conversion is always `writer.write_patch(reader.read_patch(id))`, patch by patch; no format
//! knows about another.

pub mod geotiff;
pub mod hdf5;
pub mod pastis;
pub mod stacked;
pub mod zarr;

use crate::model::{ArraySpec, DatasetLayout, DatasetMeta, Layer, Patch};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A dataset format pastis-bridge reads and writes.
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

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pastis => "pastis",
            Format::Zarr => "zarr",
            Format::Hdf5 => "hdf5",
            Format::GeoTiff => "geotiff",
        }
    }

    /// Recognises an existing dataset from what it is.
    pub fn detect(path: &Path) -> Result<Format> {
        if zarr::store::is_url(path) {
            return zarr::detect_url(path).map(|()| Format::Zarr);
        }
        if !path.exists() {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
            ));
        }
        if path.is_file() {
            return if hdf5::is_hdf5_file(path) {
                Ok(Format::Hdf5)
            } else {
                Err(Error::UnknownFormat(path.to_path_buf()))
            };
        }
        if zarr::is_zarr_store(path) {
            Ok(Format::Zarr)
        } else if geotiff::is_geotiff_folder(path) {
            Ok(Format::GeoTiff)
        } else if pastis::is_pastis_folder(path) {
            Ok(Format::Pastis)
        } else {
            Err(Error::UnknownFormat(path.to_path_buf()))
        }
    }

    /// True if an interrupted output of this format can be continued patch by patch. An HDF5
    /// file killed mid-write may be corrupt as a whole, so it is written again from the start.
    pub fn can_resume(self) -> bool {
        !matches!(self, Format::Hdf5)
    }

    /// Guesses the format of an output from its name: `.zarr`, `.h5`/`.hdf5`; `None` otherwise.
    pub fn from_extension(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "zarr" => Some(Format::Zarr),
            "h5" | "hdf5" | "he5" => Some(Format::Hdf5),
            _ => None,
        }
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
        match s.to_ascii_lowercase().as_str() {
            "pastis" | "npy" => Ok(Format::Pastis),
            "zarr" => Ok(Format::Zarr),
            "hdf5" | "h5" => Ok(Format::Hdf5),
            "geotiff" | "tiff" | "tif" => Ok(Format::GeoTiff),
            _ => Err(format!(
                "unknown format '{s}', expected pastis, zarr, hdf5 or geotiff"
            )),
        }
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
    /// Reads one patch, only the `layers` asked for (those it lacks are absent from the result).
    fn read_patch(&self, id: i64, layers: &[Layer]) -> Result<Patch>;
}

/// Writes a dataset patch by patch. `write_patch` may be called from several threads at once,
/// each with a different patch; implementations serialise internally where their library needs it.
pub trait DatasetWriter: Send + Sync {
    /// Writes one patch; `index` is its position in the metadata the writer was created with.
    fn write_patch(&self, index: usize, patch: &Patch) -> Result<()>;
    /// Writes what remains (dataset metadata) and moves the output into place.
    fn finish(self: Box<Self>) -> Result<()>;

    /// How many consecutive patches one worker must write in a row, in order, so that no two
    /// workers touch the same storage unit (e.g. a Zarr shard grouping annotations). A group is
    /// durably stored once its last patch is written. Default 1.
    fn group_size(&self) -> usize {
        1
    }

    /// Warnings about the output met so far (e.g. a patch whose pixel grid is unknown), one line
    /// each naming the patch, for the caller to report: the library never prints. Default none.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Compression of the array payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// Zstandard at a level (default 3).
    Zstd(i32),
    /// Blosc with LZ4 and byte shuffle.
    BloscLz4,
    /// Deflate / gzip at a level 1..9 (default 6).
    Gzip(u32),
    /// LZF (HDF5 only).
    Lzf,
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, level) = match s.split_once(':') {
            Some((n, l)) => (n, Some(l)),
            None => (s, None),
        };
        let parse_level =
            |default: i64, range: std::ops::RangeInclusive<i64>| -> Result<i64, String> {
                let v = match level {
                    None => default,
                    Some(l) => l
                        .parse::<i64>()
                        .map_err(|_| format!("compression level '{l}' is not a number"))?,
                };
                if range.contains(&v) {
                    Ok(v)
                } else {
                    Err(format!(
                        "{name} level {v} is outside {}..={}",
                        range.start(),
                        range.end()
                    ))
                }
            };
        match name.to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            "zstd" => Ok(Compression::Zstd(parse_level(3, -7..=22)? as i32)),
            "blosc-lz4" | "blosc" => Ok(Compression::BloscLz4),
            "gzip" | "deflate" => Ok(Compression::Gzip(parse_level(6, 1..=9)? as u32)),
            "lzf" => Ok(Compression::Lzf),
            _ => Err(format!(
                "unknown compression '{s}', expected zstd[:LEVEL], blosc-lz4, gzip[:LEVEL], lzf or none"
            )),
        }
    }
}

/// Options every writer understands; a writer ignores what does not apply to it.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// Replace an existing output.
    pub overwrite: bool,
    /// Payload compression; `None` = the format's default.
    pub compression: Option<Compression>,
    /// Zarr format version, 2 or 3.
    pub zarr_version: u8,
    /// GeoTIFF: write Cloud Optimized GeoTIFFs.
    pub cog: bool,
    /// Continue an interrupted output (`NAME.partial`) instead of starting over; only for
    /// formats where [`Format::can_resume`].
    pub resume: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            overwrite: false,
            compression: None,
            zarr_version: 3,
            cog: false,
            resume: false,
        }
    }
}

/// Opens an existing dataset of any format, recognised from what it is.
pub fn open(path: &Path) -> Result<Box<dyn DatasetReader>> {
    match Format::detect(path)? {
        Format::Pastis => Ok(Box::new(pastis::PastisReader::open(path)?)),
        Format::Zarr => zarr::open(path),
        Format::Hdf5 => hdf5::open(path),
        Format::GeoTiff => geotiff::open(path),
    }
}

/// Creates a writer for `format` at `path`, for the patches of `meta` with the shapes of `layout`.
pub fn create(
    format: Format,
    path: &Path,
    meta: &DatasetMeta,
    layout: &DatasetLayout,
    options: &WriteOptions,
) -> Result<Box<dyn DatasetWriter>> {
    match format {
        Format::Pastis => Ok(Box::new(pastis::PastisWriter::create(path, meta, options)?)),
        Format::Zarr => zarr::create(path, meta, layout, options),
        Format::Hdf5 => hdf5::create(path, meta, layout, options),
        Format::GeoTiff => geotiff::create(path, meta, layout, options),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_parses() {
        assert_eq!("zstd".parse(), Ok(Compression::Zstd(3)));
        assert_eq!("zstd:9".parse(), Ok(Compression::Zstd(9)));
        assert_eq!("gzip".parse(), Ok(Compression::Gzip(6)));
        assert_eq!("none".parse(), Ok(Compression::None));
        assert!("zstd:99".parse::<Compression>().is_err());
        assert!("brotli".parse::<Compression>().is_err());
    }

    #[test]
    fn extensions_name_formats() {
        assert_eq!(
            Format::from_extension(Path::new("a/b.zarr")),
            Some(Format::Zarr)
        );
        assert_eq!(
            Format::from_extension(Path::new("b.H5")),
            Some(Format::Hdf5)
        );
        assert_eq!(Format::from_extension(Path::new("out")), None);
    }
}
