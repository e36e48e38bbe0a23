//! `.npy` files: read any numeric array into the model, write it back the way numpy does.
//!
//! The header is parsed by `ndarray-npy`; the dtype is known only at run time, so the payload is
//! read as bytes and typed from the header's descriptor. Big-endian and Fortran-ordered arrays
//! are converted to the little-endian C order every other format uses.

use crate::model::{Array, ArraySpec, DType};
use crate::{with_array, Error, Result};
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use ndarray_npy::npy::header::{Header, Layout};
use py_literal::Value as PyValue;
use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
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
}

/// Reads only the header of a `.npy` file.
pub fn read_header(path: &Path) -> Result<NpyHeader> {
    let mut reader = BufReader::new(File::open(path).map_err(|e| Error::io(path, e))?);
    parse_header(path, &mut reader)
}

fn parse_header<R: Read + Seek>(path: &Path, reader: &mut R) -> Result<NpyHeader> {
    let header = Header::from_reader(reader)
        .map_err(|e| Error::invalid(path, format!("not a valid .npy header: {e}")))?;
    let data_offset = reader.stream_position().map_err(|e| Error::io(path, e))?;
    let descr = match &header.type_descriptor {
        PyValue::String(s) => s.clone(),
        other => {
            return Err(Error::invalid(
                path,
                format!("unsupported dtype {other}: structured arrays are not PASTIS data"),
            ))
        }
    };
    let (dtype, big_endian) = DType::from_npy_descr(&descr).ok_or_else(|| {
        Error::invalid(
            path,
            format!("unsupported dtype '{descr}' (expected a numeric type such as <i2, <f2, |u1, <i4, <i8, <f8)"),
        )
    })?;
    Ok(NpyHeader {
        spec: ArraySpec {
            dtype,
            shape: header.shape.clone(),
        },
        big_endian,
        fortran_order: header.layout == Layout::Fortran,
        data_offset,
    })
}

/// Reads a whole `.npy` file into the model, converted to little-endian C order.
pub fn read_npy(path: &Path) -> Result<Array> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut reader = BufReader::new(file);
    let header = parse_header(path, &mut reader)?;
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
    let mut bytes = vec![0u8; expected];
    reader
        .read_exact(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    decode_payload(path, &header, bytes)
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

fn decode_payload(path: &Path, header: &NpyHeader, mut bytes: Vec<u8>) -> Result<Array> {
    let spec = &header.spec;
    if header.big_endian {
        for chunk in bytes.chunks_exact_mut(spec.dtype.size()) {
            chunk.reverse();
        }
    }
    if !header.fortran_order {
        return Array::from_le_bytes(spec.dtype, &spec.shape, &bytes)
            .map_err(|e| Error::invalid(path, e.to_string()));
    }
    // Fortran order: the bytes are the transpose in C order; read them so and re-lay them out.
    let reversed: Vec<usize> = spec.shape.iter().rev().copied().collect();
    let transposed = Array::from_le_bytes(spec.dtype, &reversed, &bytes)
        .map_err(|e| Error::invalid(path, e.to_string()))?;
    Ok(with_array!(transposed, a => {
        let f: ArrayD<_> = a.reversed_axes();
        let mut c = ArrayD::from_elem(IxDyn(&spec.shape).set_f(false), Default::default());
        c.assign(&f);
        crate::model::Element::wrap(c)
    }))
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
    match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    }
}

/// A format-1.0 header around any header dictionary text, padded with spaces and a newline to a
/// multiple of 64 bytes as numpy pads. The dictionary is not checked, so tests and the corrupt
/// corpus can build hostile headers with it; a length beyond `u16` is written as `u16::MAX`.
pub fn wrap_header(dict: &str) -> Vec<u8> {
    const ARRAY_ALIGN: usize = 64;
    let prefix_len = 6 + 2 + 2; // magic, version, u16 header length
    let hlen = dict.len() + 1;
    let padlen = (ARRAY_ALIGN - (prefix_len + hlen) % ARRAY_ALIGN) % ARRAY_ALIGN;
    let header_len = hlen + padlen;
    let mut out = Vec::with_capacity(prefix_len + header_len);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&u16::try_from(header_len).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padlen));
    out.push(b'\n');
    out
}

/// Writes an array as a `.npy` file, byte for byte as `numpy.save` would.
pub fn write_npy(path: &Path, array: &Array) -> Result<()> {
    let spec = ArraySpec {
        dtype: array.dtype(),
        shape: array.shape().to_vec(),
    };
    let mut file = std::io::BufWriter::new(File::create(path).map_err(|e| Error::io(path, e))?);
    file.write_all(&numpy_header(&spec))
        .and_then(|_| file.write_all(&array.to_le_bytes()))
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
