//! `.npy` files: read any numeric array into the model, write it back the way numpy does.
//!
//! The header is read as `numpy.load` reads it ([`header`]); the dtype is known only at run time,
//! so the payload is read straight into a zeroed array of the header's type, through its bytes
//! ([`Array::le_bytes_mut`]): no intermediate byte buffer for the common little-endian C-order
//! file. Big-endian payloads are byte-swapped in place; Fortran-ordered ones are read as their
//! transpose and laid out in C order with one copy ([`Array::transposed`]); `bool` payloads go
//! through one byte buffer, to check every byte is 0 or 1.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

pub mod header;
pub mod page_cache;

use crate::model::{Array, ArraySpec, DType, Element};
use crate::with_dtype;
use crate::{Error, Result};
use header::ReadError;
use py_literal::Value as PyValue;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

/// What the header of a `.npy` file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type and shape.
    pub spec: ArraySpec,
    /// The payload is big-endian.
    pub big_endian: bool,
    /// The payload is in Fortran order.
    pub fortran_order: bool,
    /// Offset of the payload in the file.
    pub data_offset: u64,
    /// The format version (major, minor): (1, 0), (2, 0) or (3, 0).
    pub version: (u8, u8),
}

/// Reads only the header of a `.npy` file; the pages this brought into the page cache (the
/// header and the kernel's read-ahead) are dropped again if the file was not cached before
/// ([`page_cache::ReadOnce`]), so that [`read_npy`] later sees the file as it was.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Invalid`] naming the file, in one line,
/// when the header is one `numpy.load` refuses too or its dtype is not numeric.
pub fn read_header(path: &Path) -> Result<NpyHeader> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let once = page_cache::ReadOnce::probe(&file);
    let mut reader = BufReader::new(file);
    let header = parse_header(path, &mut reader, file_len)?;
    once.done(reader.get_ref());
    Ok(header)
}

fn parse_header<R: Read>(path: &Path, reader: &mut R, file_len: u64) -> Result<NpyHeader> {
    let raw = header::read(reader, file_len).map_err(|e| match e {
        ReadError::Io(e) => Error::io(path, e),
        header @ ReadError::Header(_) => Error::invalid(path, header.to_string()),
    })?;
    let descr = match &raw.dict.descr {
        PyValue::String(s) => s,
        other => {
            return Err(Error::invalid(
                path,
                format!("unsupported dtype {other}: structured arrays are not PASTIS data"),
            ))
        }
    };
    let (dtype, big_endian) = DType::from_npy_descr(descr).ok_or_else(|| {
        Error::invalid(
            path,
            format!("unsupported dtype '{}' (expected a numeric type such as <i2, <f2, |u1, <i4, <i8, <f8)", descr.escape_debug()),
        )
    })?;
    Ok(NpyHeader {
        spec: ArraySpec {
            dtype,
            shape: raw.dict.shape,
        },
        big_endian,
        fortran_order: raw.dict.fortran_order,
        data_offset: raw.data_offset,
        version: raw.version,
    })
}

/// Reads a whole `.npy` file into the model, converted to little-endian C order. A file that was
/// not in the page cache is dropped from it once read ([`page_cache::ReadOnce`]).
///
/// # Errors
/// As [`read_header`], and [`Error::Invalid`] when the payload is shorter or longer than the
/// shape needs, or a `bool` byte is neither 0 nor 1.
pub fn read_npy(path: &Path) -> Result<Array> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let once = page_cache::ReadOnce::probe(&file);
    let mut reader = BufReader::new(file);
    let header = parse_header(path, &mut reader, file_len)?;
    let expected = payload_len(path, &header.spec)?;
    let available = file_len.saturating_sub(header.data_offset);
    if available != expected as u64 {
        let what = if available < expected as u64 {
            "truncated"
        } else {
            "has trailing bytes"
        };
        return Err(Error::invalid(
            path,
            format!(
                "{what}: shape {:?} of {} needs {expected} bytes of data, the file holds {available}",
                header.spec.shape, header.spec.dtype
            ),
        ));
    }
    let array = read_payload(path, &header, &mut reader)?;
    once.done(reader.get_ref());
    Ok(array)
}

/// Reads the payload into a new array: in place for every type but `bool`, transposed with one
/// copy when the file is in Fortran order. The payload length has been checked.
fn read_payload<R: Read>(path: &Path, header: &NpyHeader, reader: &mut R) -> Result<Array> {
    let spec = &header.spec;
    // A Fortran-ordered payload is the C-ordered payload of the transpose.
    let stored: Vec<usize> = match header.fortran_order {
        true => spec.shape.iter().rev().copied().collect(),
        false => spec.shape.clone(),
    };
    let mut array = zeroed(path, spec.dtype, &stored)?;
    match array.le_bytes_mut() {
        Some(bytes) => {
            reader.read_exact(bytes).map_err(|e| Error::io(path, e))?;
            if header.big_endian {
                bytes
                    .chunks_exact_mut(spec.dtype.size())
                    .for_each(<[u8]>::reverse);
            }
        }
        None => {
            let mut bytes = vec![0u8; array.nbytes()];
            reader
                .read_exact(&mut bytes)
                .map_err(|e| Error::io(path, e))?;
            array = Array::from_le_bytes(spec.dtype, &stored, &bytes)
                .map_err(|e| Error::invalid(path, e.to_string()))?;
        }
    }
    Ok(match header.fortran_order {
        true => array.transposed(),
        false => array,
    })
}

/// An array of zeros to read a payload into, allocated zeroed (`calloc`): a large one is fresh
/// pages the kernel zeroes as the read first touches them, so no pass writes zeros the read
/// then overwrites (ndarray's `zeros` writes every element of the types without a zero-bit
/// specialisation in `vec!`, float16 among them: ~5 % of a Zarr conversion's CPU, release build).
fn zeroed(path: &Path, dtype: DType, shape: &[usize]) -> Result<Array> {
    let elements = shape.iter().product();
    with_dtype!(dtype, T => {
        ndarray::ArrayD::from_shape_vec(shape, bytemuck::allocation::zeroed_vec::<T>(elements))
            .map(T::wrap)
            .map_err(|e| Error::invalid(path, format!("shape {shape:?}: {e}")))
    })
}

/// Bytes of the payload. ndarray also needs the product of the non-zero axes (in elements, as
/// `Array::from_le_bytes` checks it) to fit an `isize` even when another axis is 0.
fn payload_len(path: &Path, spec: &ArraySpec) -> Result<usize> {
    let fits = |n: &usize| *n <= isize::MAX as usize;
    let nonzero_elements = spec
        .shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(fits);
    let bytes = spec
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_mul(spec.dtype.size()))
        .filter(fits);
    nonzero_elements
        .and(bytes)
        .ok_or_else(|| Error::invalid(path, format!("shape {:?} is too large", spec.shape)))
}

/// The header bytes numpy (>= 1.24, 2.x) writes for `spec` in C order: format version 1.0,
/// keys sorted, room for the first axis to grow, padded with spaces to a multiple of 64 bytes.
pub fn numpy_header(spec: &ArraySpec) -> Vec<u8> {
    const GROWTH_AXIS_MAX_DIGITS: usize = 21;
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        spec.dtype.npy_descr(),
        shape_literal(&spec.shape)
    );
    if let Some(first) = spec.shape.first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    wrap_header(&dict)
}

/// A shape as the Python tuple literal numpy writes: `()`, `(3,)`, `(3, 128, 128)`.
pub fn shape_literal(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    }
}

/// A format-1.0 header around any header dictionary text, padded with spaces and a newline to a
/// multiple of 64 bytes as numpy pads. The dictionary is not checked, so tests and the corrupt
/// corpus can build hostile headers with it; a length beyond `u16` is written as `u16::MAX`.
pub fn wrap_header(dict: &str) -> Vec<u8> {
    wrap_header_version(dict, (1, 0))
}

/// Like [`wrap_header`] for any format version: 1.0 stores the header length in 2 bytes, the
/// others (numpy's 2.0 and 3.0) in 4. The dictionary's UTF-8 bytes are written as they are.
pub fn wrap_header_version(dict: &str, version: (u8, u8)) -> Vec<u8> {
    const ARRAY_ALIGN: usize = 64;
    let len_bytes = if version == (1, 0) { 2 } else { 4 };
    let prefix_len = 6 + 2 + len_bytes; // magic, version, header length
    let hlen = dict.len() + 1;
    let padlen = (ARRAY_ALIGN - (prefix_len + hlen) % ARRAY_ALIGN) % ARRAY_ALIGN;
    let header_len = hlen + padlen;
    let mut out = Vec::with_capacity(prefix_len + header_len);
    out.extend_from_slice(b"\x93NUMPY");
    out.extend_from_slice(&[version.0, version.1]);
    match len_bytes {
        2 => out.extend_from_slice(&u16::try_from(header_len).unwrap_or(u16::MAX).to_le_bytes()),
        _ => out.extend_from_slice(&u32::try_from(header_len).unwrap_or(u32::MAX).to_le_bytes()),
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    out
}

/// Writes an array as a `.npy` file, byte for byte as `numpy.save` would. The payload is
/// written from the array's own memory ([`Array::le_bytes`]), not copied.
pub fn write_npy(path: &Path, array: &Array) -> Result<()> {
    let spec = ArraySpec {
        dtype: array.dtype(),
        shape: array.shape().to_vec(),
    };
    let mut file = std::io::BufWriter::new(File::create(path).map_err(|e| Error::io(path, e))?);
    file.write_all(&numpy_header(&spec))
        .and_then(|_| file.write_all(&array.le_bytes()))
        .and_then(|_| file.flush())
        .map_err(|e| Error::io(path, e))
}

/// True if `dtype` can hold a NaN or an infinity.
pub fn can_hold_nan(dtype: DType) -> bool {
    dtype.is_float()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_raw(dir: &Path, name: &str, header_dict: &str, payload: &[u8]) -> std::path::PathBuf {
        let mut bytes = wrap_header(header_dict);
        bytes.extend_from_slice(payload);
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn header_matches_numpy() {
        // Bytes numpy 2.x writes for np.save(f, np.zeros((3, 128, 128), np.uint8)).
        let spec = ArraySpec {
            dtype: DType::U8,
            shape: vec![3, 128, 128],
        };
        let h = numpy_header(&spec);
        assert_eq!(h.len(), 128);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(
            text.starts_with("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 128, 128), }")
        );
        assert!(text.ends_with(" \n"));
    }

    #[test]
    fn write_then_read_every_dtype() {
        let dir = tempfile::tempdir().unwrap();
        for dtype in DType::ALL {
            let a = Array::zeros(dtype, &[2, 3]);
            let p = dir.path().join(format!("{dtype}.npy"));
            write_npy(&p, &a).unwrap();
            assert_eq!(read_npy(&p).unwrap(), a);
            assert_eq!(read_header(&p).unwrap().spec.dtype, dtype);
        }
    }

    #[test]
    fn big_endian_and_fortran_are_converted() {
        let dir = tempfile::tempdir().unwrap();
        let be = write_raw(
            dir.path(),
            "be.npy",
            "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }",
            &[0, 1, 1, 0],
        );
        assert_eq!(read_npy(&be).unwrap().to_le_bytes(), vec![1, 0, 0, 1]);
        // Fortran (2, 3) array [[0,1,2],[3,4,5]] stored column-major: 0 3 1 4 2 5.
        let f = write_raw(
            dir.path(),
            "f.npy",
            "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }",
            &[0, 3, 1, 4, 2, 5],
        );
        assert_eq!(read_npy(&f).unwrap().to_le_bytes(), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn empty_arrays_with_huge_axes_read_like_ndarray_allows() {
        // Found by tests/robustness.rs: 0 elements, but the other axis times 2 bytes overflows.
        let dir = tempfile::tempdir().unwrap();
        let dict = format!(
            "{{'descr': '<u2', 'fortran_order': False, 'shape': (0, {}), }}",
            isize::MAX
        );
        let path = write_raw(dir.path(), "e.npy", &dict, &[]);
        assert_eq!(read_npy(&path).unwrap().shape(), &[0, isize::MAX as usize]);
        let dict = format!(
            "{{'descr': '<u4', 'fortran_order': True, 'shape': ({}, 0), }}",
            isize::MAX
        );
        let path = write_raw(dir.path(), "f.npy", &dict, &[]);
        assert_eq!(read_npy(&path).unwrap().shape(), &[isize::MAX as usize, 0]);
        let dict = format!(
            "{{'descr': '<u4', 'fortran_order': True, 'shape': (0, {}), }}",
            isize::MAX
        );
        let path = write_raw(dir.path(), "g.npy", &dict, &[]);
        assert_eq!(read_npy(&path).unwrap().shape(), &[0, isize::MAX as usize]);
        let dict = format!(
            "{{'descr': '<u2', 'fortran_order': False, 'shape': (2, {}), }}",
            isize::MAX
        );
        let path = write_raw(dir.path(), "big.npy", &dict, &[]);
        assert!(read_npy(&path)
            .unwrap_err()
            .to_string()
            .contains("too large"));
    }

    #[test]
    fn every_dtype_in_every_byte_and_memory_order() {
        // [[0, 1, 2], [3, 4, 5]] as element indices, each element's bytes distinct.
        let dir = tempfile::tempdir().unwrap();
        for dtype in DType::ALL {
            let size = dtype.size();
            let le: Vec<u8> = (0..6 * size)
                .map(|i| match dtype {
                    DType::Bool => (i % 2) as u8,
                    _ => (i * 37 % 251) as u8,
                })
                .collect();
            let want = Array::from_le_bytes(dtype, &[2, 3], &le).unwrap();
            let element = |k: usize| le[k * size..(k + 1) * size].to_vec();
            for (big, fortran) in [(false, false), (true, false), (false, true), (true, true)] {
                let order = if fortran {
                    [0, 3, 1, 4, 2, 5]
                } else {
                    [0, 1, 2, 3, 4, 5]
                };
                let payload: Vec<u8> = order
                    .iter()
                    .flat_map(|&k| {
                        let mut e = element(k);
                        if big {
                            e.reverse();
                        }
                        e
                    })
                    .collect();
                let descr = match big {
                    true => dtype.npy_descr().replacen('<', ">", 1),
                    false => dtype.npy_descr().to_string(),
                };
                let dict = format!(
                    "{{'descr': '{descr}', 'fortran_order': {}, 'shape': (2, 3), }}",
                    if fortran { "True" } else { "False" }
                );
                let path = write_raw(dir.path(), "a.npy", &dict, &payload);
                let got = read_npy(&path).unwrap();
                assert_eq!(
                    got.le_bytes(),
                    want.le_bytes(),
                    "{dtype} big {big} F {fortran}"
                );
                assert_eq!(got.shape(), &[2, 3]);
            }
        }
    }

    #[test]
    fn headers_numpy_reads() {
        // Each variant checked with numpy 2.4's numpy.load (tests/npy_headers.rs checks them again).
        let dir = tempfile::tempdir().unwrap();
        let payload = [1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0];
        let variants = [
            (
                (1, 0),
                "{'descr': '<i2', 'fortran_order': False, 'shape': (3L, 2L), }",
            ),
            (
                (2, 0),
                "{'descr': '<i2', 'fortran_order': False, 'shape': (3L, 2L), }",
            ),
            (
                (3, 0),
                "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2), }",
            ),
            (
                (2, 0),
                "{\"shape\": (3, 2), \"fortran_order\": False, \"descr\": \"<i2\"}",
            ),
            (
                (1, 0),
                "{'descr':'h','fortran_order':False,'shape':(3,2,),}   ",
            ),
            (
                (1, 0),
                "{'descr': 'int16',\n 'fortran_order': False,\n 'shape': (3, 2)}",
            ),
        ];
        let want = read_npy(&write_raw(
            dir.path(),
            "want.npy",
            "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2), }",
            &payload,
        ))
        .unwrap();
        for (i, (version, dict)) in variants.into_iter().enumerate() {
            let mut bytes = wrap_header_version(dict, version);
            bytes.extend_from_slice(&payload);
            let path = dir.path().join(format!("{i}.npy"));
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(read_npy(&path).unwrap(), want, "{version:?} {dict}");
            assert_eq!(read_header(&path).unwrap().version, version);
        }
        // No newline at the end of the header, no padding: numpy reads it.
        let dict = b"{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)}";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((dict.len() as u16).to_le_bytes());
        bytes.extend(dict);
        bytes.extend(payload);
        let path = dir.path().join("bare.npy");
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(read_npy(&path).unwrap(), want);
    }

    #[test]
    fn header_refusals_are_one_line_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2)",
                "cannot parse the header dictionary at column",
            ),
            (
                "{'descr': [('a', '<i2')], 'fortran_order': False, 'shape': (3, 2)}",
                "structured arrays are not PASTIS data",
            ),
            (
                "{'descr': 'l', 'fortran_order': False, 'shape': (3, 2)}",
                "unsupported dtype 'l'",
            ),
        ];
        for (dict, needle) in cases {
            let path = write_raw(dir.path(), "bad.npy", dict, &[0; 12]);
            let err = read_npy(&path).unwrap_err().to_string();
            assert!(err.contains("bad.npy") && err.contains(needle), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn bad_files_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let short = write_raw(
            dir.path(),
            "short.npy",
            "{'descr': '<i2', 'fortran_order': False, 'shape': (4,), }",
            &[0; 5],
        );
        let err = read_npy(&short).unwrap_err().to_string();
        assert!(
            err.contains("short.npy") && err.contains("truncated"),
            "{err}"
        );
        let obj = write_raw(
            dir.path(),
            "obj.npy",
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
            &[0; 8],
        );
        assert!(read_npy(&obj)
            .unwrap_err()
            .to_string()
            .contains("unsupported dtype '|O'"));
        let junk = dir.path().join("junk.npy");
        std::fs::write(&junk, b"hello world, not numpy").unwrap();
        assert!(read_npy(&junk)
            .unwrap_err()
            .to_string()
            .contains("not a valid .npy header"));
    }
}
