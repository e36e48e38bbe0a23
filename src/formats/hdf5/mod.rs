//! One HDF5 file holding the whole dataset, stacked like the Zarr store (the layout of
//! [`stacked`](super::stacked)), which is also a netCDF-4 file (modules `dims`, `netcdf`). See
//! docs/hdf5-layout.md.
//!
//! HDF5 is not thread-safe: the `hdf5` crate serialises every call behind one global lock, and
//! the writer keeps its file behind a `Mutex`, so patches are stored one at a time. They are read,
//! checked and (for shuffle + deflate or no compression) compressed in parallel: see [`chunks`].

mod attrs;
mod chunks;
mod dims;
mod driver;
mod netcdf;
mod reader;
mod writer;

pub use driver::{Hdf5Driver, DRIVER};
pub use reader::Hdf5Reader;
pub use writer::Hdf5Writer;

use super::{Compression, DatasetReader};
use crate::model::DType;
use crate::{Error, Result};
use hdf5::filters::{BloscShuffle, Filter};
use hdf5::types::{FloatSize, IntSize, TypeDescriptor};
use hdf5::{Hyperslab, Selection, SliceOrIndex};
use std::io::Read;
use std::path::Path;

/// The 8-byte signature every HDF5 file starts with (at offset 0 for files we write).
const HDF5_SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];

/// Deflate level of the default compression (shuffle + deflate, readable everywhere).
pub const DEFAULT_DEFLATE_LEVEL: u8 = 5;

/// Dates per series chunk: one patch-date, (1, 1, C, H, W), unlike the Zarr store's 8. h5py
/// pays little per chunk: reading a whole series costs the same CPU in chunks of 1 or 8 dates,
/// while one date costs ~9x more in chunks of 8 (bench/RESULTS.md, "Series chunks").
pub const SERIES_CHUNK_DATES: usize = 1;

/// The library name used in errors.
const LIBRARY: &str = "HDF5";

/// True if `path` is a file starting with the HDF5 signature.
pub fn is_hdf5_file(path: &Path) -> bool {
    let mut buf = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map(|_| buf == HDF5_SIGNATURE)
        .unwrap_or(false)
}

/// Opens a file written by [`create`].
pub fn open(path: &Path) -> Result<Box<dyn DatasetReader>> {
    Ok(Box::new(Hdf5Reader::open(path)?))
}

/// The filter pipeline of the data arrays for a compression choice (`None` = the default,
/// shuffle + deflate, which h5py and the HDF5 tools read without plugins).
pub fn filters(compression: Option<Compression>) -> Result<Vec<Filter>> {
    let unsupported = |what: String| Error::Unsupported {
        format: "hdf5",
        what,
    };
    match compression {
        None => Ok(vec![
            Filter::shuffle(),
            Filter::deflate(DEFAULT_DEFLATE_LEVEL),
        ]),
        Some(Compression::None) => Ok(vec![]),
        Some(Compression::Gzip(level)) => {
            let level = u8::try_from(level)
                .ok()
                .filter(|l| (1..=9).contains(l))
                .ok_or_else(|| unsupported(format!("gzip level {level} is outside 1..=9")))?;
            Ok(vec![Filter::shuffle(), Filter::deflate(level)])
        }
        Some(Compression::Lzf) => Ok(vec![Filter::shuffle(), Filter::lzf()]),
        Some(Compression::Zstd(level)) => {
            let level = u8::try_from(level)
                .ok()
                .filter(|l| *l <= 9)
                .ok_or_else(|| {
                    unsupported(format!(
                        "zstd level {level} is outside 0..=9 (HDF5 stores zstd through blosc, whose levels are 0..=9)"
                    ))
                })?;
            Ok(vec![Filter::blosc_zstd(level, BloscShuffle::Byte)])
        }
        Some(Compression::BloscZstd(level, shuffle)) => Ok(vec![Filter::blosc_zstd(
            level,
            match shuffle {
                crate::formats::Shuffle::Byte => BloscShuffle::Byte,
                crate::formats::Shuffle::Bit => BloscShuffle::Bit,
            },
        )]),
        Some(Compression::BloscLz4(..)) => Err(unsupported(
            "blosc-lz4 is not built in; use gzip (default), lzf, zstd (blosc-zstd) or none".into(),
        )),
    }
}

/// The HDF5 type of a model dtype (bool is HDF5's enum of FALSE/TRUE, as h5py writes it).
pub fn type_descriptor(dtype: DType) -> TypeDescriptor {
    crate::with_dtype!(dtype, T => <T as hdf5::H5Type>::type_descriptor())
}

/// The model dtype of an HDF5 type, `None` for types the model lacks (strings, compounds...).
pub fn dtype_of(descriptor: &TypeDescriptor) -> Option<DType> {
    Some(match descriptor {
        TypeDescriptor::Boolean => DType::Bool,
        TypeDescriptor::Unsigned(IntSize::U1) => DType::U8,
        TypeDescriptor::Unsigned(IntSize::U2) => DType::U16,
        TypeDescriptor::Unsigned(IntSize::U4) => DType::U32,
        TypeDescriptor::Unsigned(IntSize::U8) => DType::U64,
        TypeDescriptor::Integer(IntSize::U1) => DType::I8,
        TypeDescriptor::Integer(IntSize::U2) => DType::I16,
        TypeDescriptor::Integer(IntSize::U4) => DType::I32,
        TypeDescriptor::Integer(IntSize::U8) => DType::I64,
        TypeDescriptor::Float(FloatSize::U2) => DType::F16,
        TypeDescriptor::Float(FloatSize::U4) => DType::F32,
        TypeDescriptor::Float(FloatSize::U8) => DType::F64,
        _ => return None,
    })
}

/// The hyperslab `[row, 0..len, :, :...]` of a stacked array of `shape` (patch first);
/// `len` = `None` selects the whole second axis (annotations).
pub fn patch_selection(shape: &[usize], row: usize, len: Option<usize>) -> Selection {
    let mut slab = vec![SliceOrIndex::Index(row)];
    for (axis, &extent) in shape.iter().enumerate().skip(1) {
        let count = match (axis, len) {
            (1, Some(len)) => len,
            _ => extent,
        };
        slab.push(SliceOrIndex::SliceCount {
            start: 0,
            step: 1,
            count,
            block: 1,
        });
    }
    Selection::from(Hyperslab::from(slab))
}

/// The hyperslab `[row, :own[0], :own[1], ...]`: one patch's own array at the origin of its row
/// (a series cut to its length, a SPOT image to its size).
pub fn own_selection(row: usize, own: &[usize]) -> Selection {
    let mut slab = vec![SliceOrIndex::Index(row)];
    slab.extend(own.iter().map(|&count| SliceOrIndex::SliceCount {
        start: 0,
        step: 1,
        count,
        block: 1,
    }));
    Selection::from(Hyperslab::from(slab))
}

/// Options of every file we open or create: HDF5's file locking off.
///
/// HDF5 locks files with `flock` on a descriptor that is not close-on-exec, so a child process
/// started by another thread (a progress viewer, a test's Python check) inherits the lock and
/// makes every later open fail with "unable to lock file" until it exits. The writer writes a
/// private `NAME.partial` and renames it when closed, so the lock protects nothing there.
fn file_options() -> hdf5::FileBuilder {
    let mut builder = hdf5::File::with_options();
    builder.with_fapl(|fapl| fapl.file_locking(false));
    builder
}

/// Maps an `hdf5` error to ours, naming the file.
fn h5err(path: &Path) -> impl Fn(hdf5::Error) -> Error + '_ {
    move |e| Error::library(path, LIBRARY, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtypes_map_both_ways() {
        for dtype in DType::ALL {
            assert_eq!(dtype_of(&type_descriptor(dtype)), Some(dtype), "{dtype}");
        }
    }

    #[test]
    fn compression_choices() {
        assert_eq!(filters(None).unwrap().len(), 2);
        assert!(filters(Some(Compression::None)).unwrap().is_empty());
        assert!(filters(Some(Compression::Zstd(3))).is_ok());
        assert!(filters(Some(Compression::Zstd(15))).is_err());
        let err = filters(Some(Compression::BloscLz4(
            5,
            crate::formats::Shuffle::Byte,
        )))
        .unwrap_err();
        assert!(err.to_string().contains("blosc-lz4"), "{err}");
    }
}
