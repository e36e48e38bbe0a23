//! Exact casts between element types, for stacking patches whose dtype differs within a layer
//! (docs/stacked-layout.md, "Mixed dtypes"): [`widen`] into a type that holds the array's
//! ([`DType::holds`]), and [`narrow`] back, which restores the original bits.
//!
//! Floats are widened as IEEE 754 defines, but bit for bit also for NaNs: the payload is shifted
//! into the wider significand and a signalling NaN stays signalling (hardware conversions, and
//! `half`'s, set the quiet bit). Narrowing shifts it back.

use super::{Array, DType};
use thiserror::Error;

/// Why an array could not be narrowed back to a type.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CastError {
    /// The target type does not hold the array's type ([`DType::holds`]).
    #[error("{from} cannot be widened to {to} exactly")]
    NotHeld {
        /// The array's type.
        from: DType,
        /// The type asked for.
        to: DType,
    },
    /// A value is not a value of the narrower type (a damaged dataset).
    #[error("element {index} ({value}) is not a {to} value")]
    Inexact {
        /// Its position, C order.
        index: usize,
        /// The value as stored.
        value: String,
        /// The type asked for.
        to: DType,
    },
}

/// The bit layout of a float type: bits of exponent and of significand.
#[derive(Clone, Copy)]
struct FloatFormat {
    exponent: u32,
    significand: u32,
}

impl FloatFormat {
    fn of(dtype: DType) -> Option<FloatFormat> {
        let (exponent, significand) = match dtype {
            DType::F16 => (5, 10),
            DType::F32 => (8, 23),
            DType::F64 => (11, 52),
            _ => return None,
        };
        Some(FloatFormat {
            exponent,
            significand,
        })
    }

    fn is_nan(self, bits: u64) -> bool {
        let exponent = (bits >> self.significand) & ((1 << self.exponent) - 1);
        exponent == (1 << self.exponent) - 1 && bits & ((1 << self.significand) - 1) != 0
    }

    /// A NaN moved into `to`: sign, all-ones exponent, significand shifted left (wider) or right
    /// (narrower), so the quiet bit and the payload keep their places.
    fn nan_into(self, bits: u64, to: FloatFormat) -> u64 {
        let sign = (bits >> (self.exponent + self.significand)) & 1;
        let payload = bits & ((1 << self.significand) - 1);
        let payload = match to.significand >= self.significand {
            true => payload << (to.significand - self.significand),
            false => payload >> (self.significand - to.significand),
        };
        (sign << (to.exponent + to.significand))
            | (((1 << to.exponent) - 1) << to.significand)
            | payload
    }
}

/// The value of one element's bits.
enum Scalar {
    Int(i128),
    Float(f64),
    Nan(u64, FloatFormat),
}

fn read(dtype: DType, bits: u64) -> Scalar {
    let size = 8 * dtype.size() as u32;
    match dtype {
        DType::I8 | DType::I16 | DType::I32 | DType::I64 => {
            // Sign-extend the low `size` bits.
            Scalar::Int(i128::from((bits << (64 - size)) as i64 >> (64 - size)))
        }
        DType::F16 | DType::F32 | DType::F64 => match FloatFormat::of(dtype) {
            Some(format) if format.is_nan(bits) => Scalar::Nan(bits, format),
            _ => Scalar::Float(match dtype {
                DType::F16 => half::f16::from_bits(bits as u16).to_f64(),
                DType::F32 => f64::from(f32::from_bits(bits as u32)),
                _ => f64::from_bits(bits),
            }),
        },
        _ => Scalar::Int(i128::from(bits)),
    }
}

/// The bits of `value` in `dtype`, rounded or truncated where it is not a value of it (the caller
/// checks exactness).
fn write(dtype: DType, value: &Scalar) -> u64 {
    if let Some(format) = FloatFormat::of(dtype) {
        let v = match *value {
            Scalar::Nan(bits, from) => return from.nan_into(bits, format),
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
        };
        return match dtype {
            DType::F16 => u64::from(half::f16::from_f64(v).to_bits()),
            DType::F32 => u64::from((v as f32).to_bits()),
            _ => v.to_bits(),
        };
    }
    let int = match *value {
        Scalar::Int(i) => i,
        Scalar::Float(f) => f as i128,
        Scalar::Nan(..) => 0,
    };
    match dtype {
        DType::Bool => u64::from(int != 0),
        _ => int as u64 & (u64::MAX >> (64 - 8 * dtype.size() as u32)),
    }
}

/// Every element of `array` converted to `to` by bits (C order).
fn convert(array: &Array, to: DType) -> Array {
    let out = convert_le_bytes(&array.le_bytes(), array.dtype(), to);
    // Same shape and element count, bool bytes 0 or 1: the bytes always fit.
    Array::from_le_bytes(to, array.shape(), &out).unwrap_or_else(|_| Array::zeros(to, &[0]))
}

/// Little-endian elements of `from` converted to `to` by bits; a trailing partial element is
/// dropped.
fn convert_le_bytes(bytes: &[u8], from: DType, to: DType) -> Vec<u8> {
    if (from, to) == (DType::F16, DType::F32) {
        return f16_to_f32_le_bytes(bytes);
    }
    let (size, out_size) = (from.size(), to.size());
    let mut out = Vec::with_capacity(bytes.len() / size.max(1) * out_size);
    for element in bytes.chunks_exact(size) {
        let mut word = [0u8; 8];
        word[..size].copy_from_slice(element);
        let bits = write(to, &read(from, u64::from_le_bytes(word)));
        out.extend_from_slice(&bits.to_le_bytes()[..out_size]);
    }
    out
}

/// float16 → float32, the common case (S1 in HDF5's netCDF-4 default), without the general
/// path's detour through `f64`/`i128`: exact for every value, NaNs moved bit for bit as
/// [`FloatFormat::nan_into`] does.
fn f16_to_f32_le_bytes(bytes: &[u8]) -> Vec<u8> {
    let (half_format, single) = (FloatFormat::of(DType::F16), FloatFormat::of(DType::F32));
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for element in bytes.chunks_exact(2) {
        let bits = u16::from_le_bytes(element.try_into().unwrap_or([0, 0]));
        let value = half::f16::from_bits(bits);
        let wide = match (value.is_nan(), half_format, single) {
            (true, Some(h), Some(s)) => h.nan_into(u64::from(bits), s) as u32,
            _ => f32::from(value).to_bits(),
        };
        out.extend_from_slice(&wide.to_le_bytes());
    }
    out
}

/// [`widen`] on raw little-endian elements (C order), for a writer that widens an array piece
/// by piece (HDF5's chunks) instead of holding a widened copy of the whole array. Fails unless
/// `to` holds `from` ([`DType::holds`]).
pub fn widen_le_bytes(bytes: &[u8], from: DType, to: DType) -> Result<Vec<u8>, CastError> {
    if from == to {
        return Ok(bytes.to_vec());
    }
    if !to.holds(from) {
        return Err(CastError::NotHeld { from, to });
    }
    Ok(convert_le_bytes(bytes, from, to))
}

/// `array` as `to`, every value exact (floats bit for bit); fails unless `to` holds the array's
/// type ([`DType::holds`]).
pub fn widen(array: &Array, to: DType) -> Result<Array, CastError> {
    let from = array.dtype();
    if from == to {
        return Ok(array.clone());
    }
    if !to.holds(from) {
        return Err(CastError::NotHeld { from, to });
    }
    Ok(convert(array, to))
}

/// `array` (of a type that holds `to`) back as `to`: the inverse of [`widen`]. Fails naming the
/// first element that is not a `to` value, so that a damaged dataset is never read inexactly.
pub fn narrow(array: &Array, to: DType) -> Result<Array, CastError> {
    let from = array.dtype();
    if from == to {
        return Ok(array.clone());
    }
    if !from.holds(to) {
        return Err(CastError::NotHeld { from: to, to: from });
    }
    let narrowed = convert(array, to);
    let (original, back) = (array.to_le_bytes(), convert(&narrowed, from).to_le_bytes());
    if original == back && narrowed.len() == array.len() {
        return Ok(narrowed);
    }
    let size = from.size();
    let index = original
        .chunks_exact(size)
        .zip(back.chunks_exact(size))
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    let mut word = [0u8; 8];
    word[..size].copy_from_slice(&original[index * size..(index + 1) * size]);
    let value = match read(from, u64::from_le_bytes(word)) {
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Nan(bits, _) => format!("NaN 0x{bits:x}"),
    };
    Err(CastError::Inexact { index, value, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_float16_fast_path_matches_the_general_one_for_every_value() {
        let bytes: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
        let general: Vec<u8> = (0..=u16::MAX)
            .flat_map(|b| {
                let wide = write(DType::F32, &read(DType::F16, u64::from(b)));
                (wide as u32).to_le_bytes()
            })
            .collect();
        assert_eq!(f16_to_f32_le_bytes(&bytes), general);
    }
    use ndarray::ArrayD;

    fn bits16(values: Vec<u16>) -> Array {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Array::from_le_bytes(DType::F16, &[values.len()], &bytes).unwrap()
    }

    #[test]
    fn every_float16_pattern_survives_float32_and_float64() {
        let all = bits16((0..=u16::MAX).collect());
        for wide in [DType::F32, DType::F64] {
            let widened = widen(&all, wide).unwrap();
            assert_eq!(
                narrow(&widened, DType::F16).unwrap().to_le_bytes(),
                all.to_le_bytes()
            );
        }
        // A signalling NaN stays signalling in float32: 0x7d01 -> 0x7fa02000.
        let widened = widen(&bits16(vec![0x7d01]), DType::F32).unwrap();
        assert_eq!(widened.to_le_bytes(), 0x7fa0_2000u32.to_le_bytes());
    }

    #[test]
    fn float32_patterns_survive_float64() {
        let patterns: Vec<u32> = (0..200_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .chain([
                0x7F80_0001,
                0xFFC0_0001,
                0x8000_0000,
                0x0000_0001,
                0x7F80_0000,
            ])
            .collect();
        let bytes: Vec<u8> = patterns.iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = Array::from_le_bytes(DType::F32, &[patterns.len()], &bytes).unwrap();
        let back = narrow(&widen(&a, DType::F64).unwrap(), DType::F32).unwrap();
        assert_eq!(back.to_le_bytes(), bytes);
    }

    #[test]
    fn integers_widen_and_narrow_exactly() {
        let a =
            Array::from_ndarray(ArrayD::from_shape_vec(vec![4], vec![0u8, 1, 200, 255]).unwrap());
        for wide in [DType::U16, DType::I16, DType::I64, DType::F16, DType::F32] {
            let w = widen(&a, wide).unwrap();
            assert_eq!(w.to_f64(), a.to_f64(), "{wide}");
            assert_eq!(narrow(&w, DType::U8).unwrap(), a, "{wide}");
        }
        let i = Array::from_ndarray(
            ArrayD::from_shape_vec(vec![3], vec![i16::MIN, -1, i16::MAX]).unwrap(),
        );
        let w = widen(&i, DType::I32).unwrap();
        assert_eq!(narrow(&w, DType::I16).unwrap(), i);
        let b = Array::from_ndarray(ArrayD::from_shape_vec(vec![2], vec![true, false]).unwrap());
        assert_eq!(
            narrow(&widen(&b, DType::F16).unwrap(), DType::Bool).unwrap(),
            b
        );
    }

    #[test]
    fn a_value_outside_the_narrow_type_is_refused() {
        assert!(matches!(
            widen(&Array::zeros(DType::I8, &[1]), DType::U8),
            Err(CastError::NotHeld { .. })
        ));
        let wide = Array::from_ndarray(ArrayD::from_shape_vec(vec![2], vec![3i16, 300]).unwrap());
        let err = narrow(&wide, DType::U8).unwrap_err();
        assert_eq!(
            err,
            CastError::Inexact {
                index: 1,
                value: "300".into(),
                to: DType::U8
            }
        );
        let half = Array::from_ndarray(ArrayD::from_shape_vec(vec![1], vec![0.5f32]).unwrap());
        assert!(narrow(&half, DType::U8).is_err());
        let two = Array::from_ndarray(ArrayD::from_shape_vec(vec![1], vec![2u8]).unwrap());
        assert!(narrow(&widen(&two, DType::I16).unwrap(), DType::Bool).is_err());
    }
}
