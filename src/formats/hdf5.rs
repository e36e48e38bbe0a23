//! One HDF5 file holding the whole dataset, stacked like the Zarr store. See docs/hdf5-layout.md.

use super::{DatasetReader, DatasetWriter, WriteOptions};
use crate::model::{DatasetLayout, DatasetMeta};
use crate::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The 8-byte signature every HDF5 file starts with (at offset 0 for files we write).
const HDF5_SIGNATURE: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];

/// True if `path` is a file starting with the HDF5 signature.
pub fn is_hdf5_file(path: &Path) -> bool {
    let mut buf = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map(|_| buf == HDF5_SIGNATURE)
        .unwrap_or(false)
}

/// Opens a file written by [`create`].
pub fn open(_path: &Path) -> Result<Box<dyn DatasetReader>> {
    Err(Error::Unsupported {
        format: "hdf5",
        what: "reading is not implemented yet".into(),
    })
}

/// Creates a file at `path`.
pub fn create(
    _path: &Path,
    _meta: &DatasetMeta,
    _layout: &DatasetLayout,
    _options: &WriteOptions,
) -> Result<Box<dyn DatasetWriter>> {
    Err(Error::Unsupported {
        format: "hdf5",
        what: "writing is not implemented yet".into(),
    })
}
