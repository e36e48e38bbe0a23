//! Arrays to and from GDAL bands: `(..., H, W)` arrays as `prod(...)` bands of `W` x `H` pixels,
//! band index (1-based) = flat index over the leading axes + 1 (`t * C + c + 1` for a series).

use crate::model::{Array, DType};
use gdal::raster::{Buffer, GdalType, RasterCreationOptions};
use gdal::{Dataset, Driver};
use half::f16;
use ndarray::{ArrayD, IxDyn};
use std::borrow::Cow;
use std::path::Path;

/// A GDAL result.
type GdalResult<T> = gdal::errors::Result<T>;

/// Height, width and band count of an array of shape `(..., H, W)`; `None` below 2 dimensions.
pub fn raster_size(shape: &[usize]) -> Option<(usize, usize, usize)> {
    let [lead @ .., h, w] = shape else {
        return None;
    };
    Some((*h, *w, lead.iter().product()))
}

/// The band type an array is stored as: itself, or the narrowest lossless type GDAL 3.6 has.
pub fn stored_dtype(dtype: DType) -> DType {
    match dtype {
        DType::Bool => DType::U8,
        DType::I8 => DType::I16,
        DType::F16 => DType::F32,
        other => other,
    }
}

/// The array in its [`stored_dtype`].
pub fn to_stored(array: &Array) -> Cow<'_, Array> {
    match array {
        Array::Bool(a) => Cow::Owned(Array::U8(a.mapv(u8::from))),
        Array::I8(a) => Cow::Owned(Array::I16(a.mapv(i16::from))),
        Array::F16(a) => Cow::Owned(Array::F32(a.mapv(f16_to_f32_exact))),
        other => Cow::Borrowed(other),
    }
}

/// Back from the stored type to `dtype`; `None` if a value does not fit (the file was edited).
pub fn from_stored(stored: Array, dtype: DType) -> Option<Array> {
    match (stored, dtype) {
        (Array::U8(a), DType::Bool) if a.iter().all(|&v| v <= 1) => {
            Some(Array::Bool(a.mapv(|v| v == 1)))
        }
        (Array::I16(a), DType::I8) if a.iter().all(|&v| i8::try_from(v).is_ok()) => {
            Some(Array::I8(a.mapv(|v| v as i8)))
        }
        (Array::F32(a), DType::F16) => Some(Array::F16(a.mapv(f32_to_f16_exact))),
        (a, d) if a.dtype() == d => Some(a),
        _ => None,
    }
}

/// Widens a float16 bit for bit: NaNs keep sign and payload and stay signalling if they were
/// (`half`'s conversion, like the F16C instruction, sets the quiet bit).
fn f16_to_f32_exact(v: f16) -> f32 {
    let bits = v.to_bits();
    if v.is_nan() {
        let (sign, payload) = (u32::from(bits & 0x8000), u32::from(bits & 0x03FF));
        f32::from_bits(sign << 16 | 0x7F80_0000 | payload << 13)
    } else {
        f32::from(v)
    }
}

/// The inverse of [`f16_to_f32_exact`] for the values it gives; other values are rounded.
fn f32_to_f16_exact(v: f32) -> f16 {
    if v.is_nan() {
        let bits = v.to_bits();
        let (sign, payload) = ((bits >> 16) & 0x8000, (bits >> 13) & 0x03FF);
        // A payload only in the low 13 bits (not from a float16) still has to stay a NaN.
        let payload = if payload == 0 { 0x0200 } else { payload };
        f16::from_bits((sign | 0x7C00 | payload) as u16)
    } else {
        f16::from_f32(v)
    }
}

/// Runs `$body` with `$t` the Rust type of a stored dtype; `$other` for dtypes never stored.
macro_rules! with_stored_type {
    ($dtype:expr, $t:ident => $body:expr, $other:expr) => {
        match $dtype {
            DType::U8 => {
                type $t = u8;
                $body
            }
            DType::U16 => {
                type $t = u16;
                $body
            }
            DType::U32 => {
                type $t = u32;
                $body
            }
            DType::U64 => {
                type $t = u64;
                $body
            }
            DType::I16 => {
                type $t = i16;
                $body
            }
            DType::I32 => {
                type $t = i32;
                $body
            }
            DType::I64 => {
                type $t = i64;
                $body
            }
            DType::F32 => {
                type $t = f32;
                $body
            }
            DType::F64 => {
                type $t = f64;
                $body
            }
            _ => $other,
        }
    };
}

/// Creates a dataset for a stored array (any dtype of [`stored_dtype`]'s image).
pub fn create_dataset(
    driver: &Driver,
    path: &Path,
    stored: DType,
    (height, width, bands): (usize, usize, usize),
    options: &RasterCreationOptions,
) -> GdalResult<Dataset> {
    with_stored_type!(stored, T => driver.create_with_band_type_with_options::<T, _>(
        path, width, height, bands, options),
        Err(unsupported(stored)))
}

/// Writes a stored array into the bands of `ds`.
pub fn write_array(ds: &Dataset, stored: &Array) -> GdalResult<()> {
    match stored {
        Array::U8(a) => write_bands(ds, a),
        Array::U16(a) => write_bands(ds, a),
        Array::U32(a) => write_bands(ds, a),
        Array::U64(a) => write_bands(ds, a),
        Array::I16(a) => write_bands(ds, a),
        Array::I32(a) => write_bands(ds, a),
        Array::I64(a) => write_bands(ds, a),
        Array::F32(a) => write_bands(ds, a),
        Array::F64(a) => write_bands(ds, a),
        other => Err(unsupported(other.dtype())),
    }
}

/// Reads the bands of `ds` as an array of `shape` in the `stored` dtype.
pub fn read_array(ds: &Dataset, stored: DType, shape: &[usize]) -> GdalResult<Array> {
    with_stored_type!(stored, T => read_bands::<T>(ds, shape).map(Array::from_ndarray),
        Err(unsupported(stored)))
}

fn write_bands<T: GdalType + Copy>(ds: &Dataset, a: &ArrayD<T>) -> GdalResult<()> {
    let (h, w, _) = raster_size(a.shape()).ok_or_else(|| bad_shape(a.shape()))?;
    let owned;
    let data = match a.as_slice() {
        Some(data) => data,
        None => {
            owned = a.iter().copied().collect::<Vec<T>>();
            &owned
        }
    };
    // One plane-sized buffer, refilled per band: GDAL's `Buffer` owns its data.
    let mut plane_buf = Vec::with_capacity(h * w);
    for (i, plane) in data.chunks(h * w).enumerate() {
        plane_buf.clear();
        plane_buf.extend_from_slice(plane);
        let mut buffer = Buffer::new((w, h), plane_buf);
        ds.rasterband(i + 1)?.write((0, 0), (w, h), &mut buffer)?;
        plane_buf = buffer.into_shape_and_vec().1;
    }
    Ok(())
}

fn read_bands<T: GdalType + Copy + Default>(
    ds: &Dataset,
    shape: &[usize],
) -> GdalResult<ArrayD<T>> {
    let (h, w, bands) = raster_size(shape).ok_or_else(|| bad_shape(shape))?;
    let mut data = vec![T::default(); h * w * bands];
    for (i, plane) in data.chunks_mut(h * w).enumerate() {
        ds.rasterband(i + 1)?
            .read_into_slice((0, 0), (w, h), (w, h), plane, None)?;
    }
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|_| bad_shape(shape))
}

fn unsupported(dtype: DType) -> gdal::errors::GdalError {
    gdal::errors::GdalError::BadArgument(format!("{dtype} is not a GDAL band type here"))
}

fn bad_shape(shape: &[usize]) -> gdal::errors::GdalError {
    gdal::errors::GdalError::BadArgument(format!("shape {shape:?} is not (..., H, W)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_types_round_trip() {
        let f = Array::F16(ArrayD::from_elem(IxDyn(&[2, 2]), f16::from_f32(-1.5)));
        // Every float16 bit pattern survives, signalling NaNs included (found by tests/conformance.rs).
        for bits in 0..=u16::MAX {
            let v = f16::from_bits(bits);
            assert_eq!(f32_to_f16_exact(f16_to_f32_exact(v)).to_bits(), bits);
        }
        let stored = to_stored(&f).into_owned();
        assert_eq!(stored.dtype(), DType::F32);
        assert_eq!(from_stored(stored, DType::F16), Some(f));
        let b = Array::Bool(ArrayD::from_elem(IxDyn(&[1, 3]), true));
        assert_eq!(
            from_stored(to_stored(&b).into_owned(), DType::Bool),
            Some(b)
        );
        let big = Array::I16(ArrayD::from_elem(IxDyn(&[1, 1]), 300));
        assert_eq!(from_stored(big, DType::I8), None);
        assert_eq!(raster_size(&[5, 10, 64, 32]), Some((64, 32, 50)));
        assert_eq!(raster_size(&[7]), None);
    }
}
