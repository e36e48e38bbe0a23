//! Arrays to and from GDAL bands: `(..., H, W)` arrays as `prod(...)` bands of `W` x `H` pixels,
//! band index (1-based) = flat index over the leading axes + 1 (`t * C + c + 1` for a series).
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use crate::model::{Array, DType};
use gdal::raster::{Buffer, GdalType, RasterCreationOptions};
use gdal::{Dataset, Driver};
use half::f16;
use half::slice::HalfFloatSliceExt;
use ndarray::{ArrayD, IxDyn};
use num_traits::ToPrimitive;
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

/// The integer band types GDAL 3.6 and QGIS 3.22 both read, in the order they are tried for a
/// 64-bit array (QGIS 3.22 draws nothing of an Int64/UInt64 band; GDAL 3.6 has no Int8).
const READABLE_INTS: [DType; 4] = [DType::U16, DType::I16, DType::U32, DType::I32];

/// The types tried for a class band: Byte and UInt16 are the only ones a GTiff colour table fits.
const CLASS_INTS: [DType; 5] = [DType::U8, DType::U16, DType::I16, DType::U32, DType::I32];

/// Integers up to this magnitude are exact in a float64 (2^53).
const F64_EXACT: i128 = 1 << 53;

/// The band type an array is stored as, the narrowest one GDAL 3.6 and QGIS 3.22 read that holds
/// every value, so that nothing is lost:
/// - bool → Byte, int8 → Int16, float16 → Float32 (bit for bit);
/// - int64/uint64 → the first of UInt16, Int16, UInt32, Int32 that holds the values, else Float64
///   when every value is within ±2^53 (exact), else the 64-bit type itself (GDAL reads it, QGIS
///   3.22 does not: [`qgis_readable`] says so);
/// - a class map (`classes`: TARGET, whatever its integer dtype) → Byte or UInt16 when it fits, so
///   it can carry the class colour table, else as above;
/// - any other dtype → itself.
pub fn stored_dtype(array: &Array, classes: bool) -> DType {
    let dtype = array.dtype();
    match dtype {
        DType::Bool => DType::U8,
        d if classes && !d.is_float() => narrowest(int_range(array), &CLASS_INTS).unwrap_or(d),
        DType::I8 => DType::I16,
        DType::F16 => DType::F32,
        DType::I64 | DType::U64 => narrowest(int_range(array), &READABLE_INTS).unwrap_or(dtype),
        other => other,
    }
}

/// True if QGIS 3.22 reads bands of this stored type (not Int64/UInt64).
pub fn qgis_readable(stored: DType) -> bool {
    !matches!(stored, DType::I64 | DType::U64)
}

/// The first of `ladder` that holds `range` (an empty array takes the first), else Float64 when
/// the values are exact in it, else `None`.
fn narrowest(range: Option<(i128, i128)>, ladder: &[DType]) -> Option<DType> {
    let Some((lo, hi)) = range else {
        return ladder.first().copied();
    };
    let holds = |d: &DType| {
        let (min, max) = int_limits(*d);
        min <= lo && hi <= max
    };
    ladder
        .iter()
        .copied()
        .find(holds)
        .or_else(|| (-F64_EXACT <= lo && hi <= F64_EXACT).then_some(DType::F64))
}

/// The smallest and largest value of an integer type.
fn int_limits(d: DType) -> (i128, i128) {
    match d {
        DType::U8 => (0, u8::MAX.into()),
        DType::U16 => (0, u16::MAX.into()),
        DType::I16 => (i16::MIN.into(), i16::MAX.into()),
        DType::U32 => (0, u32::MAX.into()),
        DType::I32 => (i32::MIN.into(), i32::MAX.into()),
        _ => (0, -1),
    }
}

/// The smallest and largest value of an integer array; `None` for floats, bools and empty arrays.
fn int_range(array: &Array) -> Option<(i128, i128)> {
    fn range<T: Copy + Into<i128>>(a: &ArrayD<T>) -> Option<(i128, i128)> {
        a.iter().fold(None, |acc, &v| {
            let v: i128 = v.into();
            Some(acc.map_or((v, v), |(lo, hi): (i128, i128)| (lo.min(v), hi.max(v))))
        })
    }
    match array {
        Array::U8(a) => range(a),
        Array::U16(a) => range(a),
        Array::U32(a) => range(a),
        Array::U64(a) => range(a),
        Array::I8(a) => range(a),
        Array::I16(a) => range(a),
        Array::I32(a) => range(a),
        Array::I64(a) => range(a),
        Array::Bool(_) | Array::F16(_) | Array::F32(_) | Array::F64(_) => None,
    }
}

/// The array in its `stored` type (from [`stored_dtype`]); `None` if a value does not fit.
pub fn to_stored(array: &Array, stored: DType) -> Option<Cow<'_, Array>> {
    match (array, stored) {
        (a, s) if a.dtype() == s => Some(Cow::Borrowed(a)),
        (Array::Bool(a), DType::U8) => Some(Cow::Owned(Array::U8(a.mapv(u8::from)))),
        (Array::F16(a), DType::F32) => Some(Cow::Owned(Array::F32(a.mapv(f16_to_f32_exact)))),
        (a, s) => cast(a, s).map(Cow::Owned),
    }
}

/// Back from the stored type to `dtype`; `None` if a value does not fit (the file was edited).
pub fn from_stored(stored: Array, dtype: DType) -> Option<Array> {
    match (stored, dtype) {
        (a, d) if a.dtype() == d => Some(a),
        (Array::U8(a), DType::Bool) if a.iter().all(|&v| v <= 1) => {
            Some(Array::Bool(a.mapv(|v| v == 1)))
        }
        (Array::F32(a), DType::F16) => Some(Array::F16(a.mapv(f32_to_f16_exact))),
        (a, d) => cast(&a, d),
    }
}

/// Every element as another numeric type, exactly; `None` if one does not fit (or, from a float,
/// is not a whole number). Bool and float16 are neither source nor target here.
fn cast(array: &Array, to: DType) -> Option<Array> {
    fn all<S: ToPrimitive + Copy, T: num_traits::NumCast + Copy>(
        a: &ArrayD<S>,
    ) -> Option<ArrayD<T>> {
        let mut out = Vec::with_capacity(a.len());
        for &v in a {
            let f = v.to_f64()?;
            if f.fract() != 0.0 {
                return None;
            }
            out.push(<T as num_traits::NumCast>::from(v)?);
        }
        ArrayD::from_shape_vec(a.raw_dim(), out).ok()
    }
    macro_rules! to {
        ($a:expr) => {
            match to {
                DType::U8 => all($a).map(Array::U8),
                DType::U16 => all($a).map(Array::U16),
                DType::U32 => all($a).map(Array::U32),
                DType::U64 => all($a).map(Array::U64),
                DType::I8 => all($a).map(Array::I8),
                DType::I16 => all($a).map(Array::I16),
                DType::I32 => all($a).map(Array::I32),
                DType::I64 => all($a).map(Array::I64),
                DType::F64 => all($a).map(Array::F64),
                DType::Bool | DType::F16 | DType::F32 => None,
            }
        };
    }
    match array {
        Array::U8(a) => to!(a),
        Array::U16(a) => to!(a),
        Array::U32(a) => to!(a),
        Array::U64(a) => to!(a),
        Array::I8(a) => to!(a),
        Array::I16(a) => to!(a),
        Array::I32(a) => to!(a),
        Array::I64(a) => to!(a),
        Array::F64(a) => to!(a),
        Array::Bool(_) | Array::F16(_) | Array::F32(_) => None,
    }
}

/// Puts `plane` into `out` as it is.
fn copy_plane<T: Copy>(plane: &[T], out: &mut Vec<T>) {
    out.clear();
    out.extend_from_slice(plane);
}

/// Puts `plane` into `out` widened as [`f16_to_f32_exact`] widens, vectorised: `half`'s slice
/// conversion (the F16C instruction where the CPU has it), then the NaNs, if any, rewritten
/// bit for bit. A fifth of the CPU of converting element by element.
fn widen_f16_plane(plane: &[f16], out: &mut Vec<f32>) {
    out.clear();
    out.resize(plane.len(), 0.0);
    plane.convert_to_f32_slice(out);
    for (o, &v) in out.iter_mut().zip(plane).filter(|(_, v)| v.is_nan()) {
        *o = f16_to_f32_exact(v);
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

/// Writes a stored array into the bands of `ds`. A float16 array (whose stored type is
/// Float32, [`stored_dtype`]) is widened exactly one band at a time as it is written, so that no
/// Float32 copy of the whole array is made. Where a band is one block (a PASTIS patch: 128 x 128
/// pixels in 128 x 128 tiles), each band goes straight to the driver ([`write_plane`]).
pub fn write_array(ds: &Dataset, stored: &Array) -> GdalResult<()> {
    match stored {
        Array::U8(a) => write_bands(ds, a, copy_plane),
        Array::U16(a) => write_bands(ds, a, copy_plane),
        Array::U32(a) => write_bands(ds, a, copy_plane),
        Array::U64(a) => write_bands(ds, a, copy_plane),
        Array::I16(a) => write_bands(ds, a, copy_plane),
        Array::I32(a) => write_bands(ds, a, copy_plane),
        Array::I64(a) => write_bands(ds, a, copy_plane),
        Array::F32(a) => write_bands(ds, a, copy_plane),
        Array::F64(a) => write_bands(ds, a, copy_plane),
        Array::F16(a) => write_bands(ds, a, widen_f16_plane),
        other => Err(unsupported(other.dtype())),
    }
}

/// Reads the bands of `ds` as an array of `shape` in the `stored` dtype.
pub fn read_array(ds: &Dataset, stored: DType, shape: &[usize]) -> GdalResult<Array> {
    with_stored_type!(stored, T => read_bands::<T>(ds, shape).map(Array::from_ndarray),
        Err(unsupported(stored)))
}

/// Writes `a` band by band, each plane put into the band's buffer by `convert` ([`copy_plane`],
/// or a widening).
fn write_bands<S: Copy, T: GdalType + Copy>(
    ds: &Dataset,
    a: &ArrayD<S>,
    convert: impl Fn(&[S], &mut Vec<T>),
) -> GdalResult<()> {
    let (h, w, _) = raster_size(a.shape()).ok_or_else(|| bad_shape(a.shape()))?;
    let owned;
    let data = match a.as_slice() {
        Some(data) => data,
        None => {
            owned = a.iter().copied().collect::<Vec<S>>();
            &owned
        }
    };
    // One plane-sized buffer, refilled per band: GDAL's `Buffer` owns its data.
    let mut plane_buf = Vec::with_capacity(h * w);
    for (i, plane) in data.chunks(h * w).enumerate() {
        convert(plane, &mut plane_buf);
        let mut buffer = Buffer::new((w, h), plane_buf);
        write_plane(&mut ds.rasterband(i + 1)?, &mut buffer)?;
        plane_buf = buffer.into_shape_and_vec().1;
    }
    Ok(())
}

/// Writes one whole band. A band that is a single block is handed to the driver as that block
/// (`GDALWriteBlock`: the GTiff driver compresses it and writes it to the file at once);
/// otherwise it goes through `GDALRasterIO`, whose blocks wait in GDAL's block cache until it
/// is full or the dataset closes. Both store the same bytes (the unit test below compares them), but
/// the cache held up to [`super::cache::WRITE_CACHE_BYTES`] of blocks waiting and copied every
/// pixel into it once more.
fn write_plane<T: GdalType + Copy>(
    band: &mut gdal::raster::RasterBand,
    buffer: &mut Buffer<T>,
) -> GdalResult<()> {
    let (w, h) = buffer.shape();
    if band.block_size() == (w, h) && band.size() == (w, h) {
        band.write_block((0, 0), buffer)
    } else {
        band.write((0, 0), (w, h), buffer)
    }
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
    fn a_plane_widens_as_each_element_does() {
        let every: Vec<f16> = (0..=u16::MAX).map(f16::from_bits).collect();
        let mut out = vec![1.0; 3];
        widen_f16_plane(&every, &mut out);
        assert_eq!(out.len(), every.len());
        for (v, w) in every.iter().zip(&out) {
            assert_eq!(
                w.to_bits(),
                f16_to_f32_exact(*v).to_bits(),
                "{:#06x}",
                v.to_bits()
            );
        }
    }

    #[test]
    fn stored_types_round_trip() {
        let f = Array::F16(ArrayD::from_elem(IxDyn(&[2, 2]), f16::from_f32(-1.5)));
        // Every float16 bit pattern survives, signalling NaNs included (found by tests/conformance.rs).
        for bits in 0..=u16::MAX {
            let v = f16::from_bits(bits);
            assert_eq!(f32_to_f16_exact(f16_to_f32_exact(v)).to_bits(), bits);
        }
        let stored = to_stored(&f, stored_dtype(&f, false)).unwrap().into_owned();
        assert_eq!(stored.dtype(), DType::F32);
        assert_eq!(from_stored(stored, DType::F16), Some(f));
        let b = Array::Bool(ArrayD::from_elem(IxDyn(&[1, 3]), true));
        let stored = to_stored(&b, stored_dtype(&b, false)).unwrap().into_owned();
        assert_eq!(from_stored(stored, DType::Bool), Some(b));
        let big = Array::I16(ArrayD::from_elem(IxDyn(&[1, 1]), 300));
        assert_eq!(from_stored(big, DType::I8), None);
        assert_eq!(raster_size(&[5, 10, 64, 32]), Some((64, 32, 50)));
        assert_eq!(raster_size(&[7]), None);
    }

    fn i64s(values: &[i64]) -> Array {
        Array::I64(ArrayD::from_shape_vec(IxDyn(&[1, values.len()]), values.to_vec()).unwrap())
    }

    /// Writes `array` into a new tiled GTiff at `path`, bands through `write_array` (`direct`)
    /// or through `GDALRasterIO` and GDAL's block cache, and returns the file's bytes.
    fn tiff_bytes(path: &Path, array: &Array, predictor: u8, direct: bool) -> Vec<u8> {
        let gtiff = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
        let size = raster_size(array.shape()).unwrap();
        let options = RasterCreationOptions::from_iter([
            "COMPRESS=DEFLATE".to_string(),
            "ZLEVEL=1".into(),
            format!("PREDICTOR={predictor}"),
            "TILED=YES".into(),
            "INTERLEAVE=BAND".into(),
            "PHOTOMETRIC=MINISBLACK".into(),
            "BLOCKXSIZE=32".into(),
            "BLOCKYSIZE=32".into(),
        ]);
        let stored = stored_dtype(array, false);
        let ds = create_dataset(&gtiff, path, stored, size, &options).unwrap();
        assert_eq!(ds.rasterband(1).unwrap().block_size(), (32, 32));
        if direct {
            write_array(&ds, array).unwrap();
        } else {
            let stored = to_stored(array, stored).unwrap();
            let bytes = stored.to_le_bytes();
            let plane = size.0 * size.1 * stored.dtype().size();
            for (i, p) in bytes.chunks(plane).enumerate() {
                let mut band = ds.rasterband(i + 1).unwrap();
                match &*stored {
                    Array::I16(_) => {
                        let v: Vec<i16> = bytemuck::pod_collect_to_vec(p);
                        band.write((0, 0), (32, 32), &mut Buffer::new((32, 32), v))
                    }
                    _ => {
                        let v: Vec<f32> = bytemuck::pod_collect_to_vec(p);
                        band.write((0, 0), (32, 32), &mut Buffer::new((32, 32), v))
                    }
                }
                .unwrap();
            }
        }
        ds.close().unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn one_block_bands_written_as_blocks_store_the_same_bytes_as_through_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let ints: Vec<i16> = (0..3 * 32 * 32)
            .map(|i: i32| ((i * 7919) % 5003 - 2500) as i16)
            .collect();
        let s2 = Array::I16(ArrayD::from_shape_vec(IxDyn(&[3, 32, 32]), ints).unwrap());
        let halves: Vec<f16> = (0..2 * 32 * 32)
            .map(|i| f16::from_f32((i % 97) as f32 * 0.37 - 20.0))
            .collect();
        let s1 = Array::F16(ArrayD::from_shape_vec(IxDyn(&[2, 32, 32]), halves).unwrap());
        for (name, array, predictor) in [("s2", &s2, 2), ("s1", &s1, 3)] {
            let direct = tiff_bytes(
                &dir.path().join(format!("{name}-block.tif")),
                array,
                predictor,
                true,
            );
            let cached = tiff_bytes(
                &dir.path().join(format!("{name}-io.tif")),
                array,
                predictor,
                false,
            );
            assert!(direct == cached, "{name}: the files differ");
        }
    }

    #[test]
    fn int64_is_stored_in_the_narrowest_readable_type_and_restored() {
        let cases: [(&[i64], DType); 7] = [
            (&[0, 17], DType::U16),
            (&[0, 65535], DType::U16),
            (&[-1, 300], DType::I16),
            (&[0, 70000], DType::U32),
            (&[-70000, 0], DType::I32),
            (&[1 << 33, -(1 << 53)], DType::F64),
            (&[(1 << 53) + 1, 0], DType::I64),
        ];
        for (values, expected) in cases {
            let a = i64s(values);
            let stored_as = stored_dtype(&a, false);
            assert_eq!(stored_as, expected, "{values:?}");
            let stored = to_stored(&a, stored_as).unwrap().into_owned();
            assert_eq!(stored.dtype(), expected);
            assert_eq!(from_stored(stored, DType::I64), Some(a), "{values:?}");
        }
        let u = Array::U64(ArrayD::from_elem(IxDyn(&[1, 1]), u64::MAX));
        assert_eq!(stored_dtype(&u, false), DType::U64);
        assert!(!qgis_readable(DType::I64) && qgis_readable(DType::U16));
        // An edited file: a fraction or a value out of range is refused, not truncated.
        let frac = Array::F64(ArrayD::from_elem(IxDyn(&[1, 1]), 1.5));
        assert_eq!(from_stored(frac, DType::I64), None);
        let neg = Array::I32(ArrayD::from_elem(IxDyn(&[1, 1]), -1));
        assert_eq!(from_stored(neg, DType::U64), None);
    }

    #[test]
    fn classes_of_any_integer_dtype_fit_a_colour_table() {
        for a in [
            Array::I64(ArrayD::from_elem(IxDyn(&[3, 2, 2]), 19)),
            Array::I16(ArrayD::from_elem(IxDyn(&[3, 2, 2]), 19)),
            Array::U16(ArrayD::from_elem(IxDyn(&[3, 2, 2]), 19)),
        ] {
            assert_eq!(stored_dtype(&a, true), DType::U8, "{}", a.dtype());
            let stored = to_stored(&a, DType::U8).unwrap().into_owned();
            assert_eq!(from_stored(stored, a.dtype()), Some(a));
        }
        let wide = Array::I32(ArrayD::from_elem(IxDyn(&[2, 2]), 300));
        assert_eq!(stored_dtype(&wide, true), DType::U16);
        // Other layers keep their type unless it is 64-bit.
        assert_eq!(stored_dtype(&wide, false), DType::I32);
    }
}
