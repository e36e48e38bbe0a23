//! A typed n-dimensional array whose element type is known only at run time.

use super::DType;
use half::f16;
use ndarray::{ArrayD, Axis, IxDyn};
use std::borrow::Cow;
use thiserror::Error;

#[cfg(target_endian = "big")]
compile_error!("pastis-bridge assumes a little-endian host (x86_64, aarch64)");

/// Why raw bytes could not become an [`Array`].
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ArrayError {
    /// The byte count does not match shape x element size.
    #[error("got {got} bytes, expected {expected} for shape {shape:?} of {dtype}")]
    Size {
        /// Bytes received.
        got: usize,
        /// Bytes the shape needs.
        expected: usize,
        /// The shape asked for.
        shape: Vec<usize>,
        /// The element type asked for.
        dtype: DType,
    },
    /// A boolean byte other than 0 or 1.
    #[error("boolean array holds the byte {0}, expected 0 or 1")]
    Bool(u8),
    /// A shape whose size overflows memory addresses.
    #[error("shape {0:?} is too large")]
    TooLarge(Vec<usize>),
}

/// An n-dimensional, C-ordered array of one of the [`DType`]s.
///
/// Every format reads into and writes from this type, so an array keeps the element type and
/// shape found on disk from one end of a conversion to the other.
#[derive(Clone, Debug, PartialEq)]
pub enum Array {
    /// `bool`
    Bool(ArrayD<bool>),
    /// `uint8`
    U8(ArrayD<u8>),
    /// `uint16`
    U16(ArrayD<u16>),
    /// `uint32`
    U32(ArrayD<u32>),
    /// `uint64`
    U64(ArrayD<u64>),
    /// `int8`
    I8(ArrayD<i8>),
    /// `int16`
    I16(ArrayD<i16>),
    /// `int32`
    I32(ArrayD<i32>),
    /// `int64`
    I64(ArrayD<i64>),
    /// `float16`
    F16(ArrayD<f16>),
    /// `float32`
    F32(ArrayD<f32>),
    /// `float64`
    F64(ArrayD<f64>),
}

/// Runs `$body` with `$a` bound to the inner `ArrayD<T>` of an [`Array`], whatever `T` is.
#[macro_export]
macro_rules! with_array {
    ($array:expr, $a:ident => $body:expr) => {
        match $array {
            $crate::model::Array::Bool($a) => $body,
            $crate::model::Array::U8($a) => $body,
            $crate::model::Array::U16($a) => $body,
            $crate::model::Array::U32($a) => $body,
            $crate::model::Array::U64($a) => $body,
            $crate::model::Array::I8($a) => $body,
            $crate::model::Array::I16($a) => $body,
            $crate::model::Array::I32($a) => $body,
            $crate::model::Array::I64($a) => $body,
            $crate::model::Array::F16($a) => $body,
            $crate::model::Array::F32($a) => $body,
            $crate::model::Array::F64($a) => $body,
        }
    };
}

/// Runs `$body` with the type alias `$t` set to the Rust element type of a [`DType`].
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            $crate::model::DType::Bool => {
                type $t = bool;
                $body
            }
            $crate::model::DType::U8 => {
                type $t = u8;
                $body
            }
            $crate::model::DType::U16 => {
                type $t = u16;
                $body
            }
            $crate::model::DType::U32 => {
                type $t = u32;
                $body
            }
            $crate::model::DType::U64 => {
                type $t = u64;
                $body
            }
            $crate::model::DType::I8 => {
                type $t = i8;
                $body
            }
            $crate::model::DType::I16 => {
                type $t = i16;
                $body
            }
            $crate::model::DType::I32 => {
                type $t = i32;
                $body
            }
            $crate::model::DType::I64 => {
                type $t = i64;
                $body
            }
            $crate::model::DType::F16 => {
                type $t = half::f16;
                $body
            }
            $crate::model::DType::F32 => {
                type $t = f32;
                $body
            }
            $crate::model::DType::F64 => {
                type $t = f64;
                $body
            }
        }
    };
}

/// Conversion between a Rust element type and its [`Array`] variant.
pub trait Element: Copy + Default + Send + Sync + 'static {
    /// The run-time type tag.
    const DTYPE: DType;
    /// Wraps a typed array.
    fn wrap(a: ArrayD<Self>) -> Array;
    /// Borrows the typed array if the variant matches.
    fn unwrap_ref(a: &Array) -> Option<&ArrayD<Self>>;
}

macro_rules! impl_element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(a: ArrayD<Self>) -> Array {
                Array::$variant(a)
            }
            fn unwrap_ref(a: &Array) -> Option<&ArrayD<Self>> {
                match a {
                    Array::$variant(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}
impl_element!(bool, Bool);
impl_element!(u8, U8);
impl_element!(u16, U16);
impl_element!(u32, U32);
impl_element!(u64, U64);
impl_element!(i8, I8);
impl_element!(i16, I16);
impl_element!(i32, I32);
impl_element!(i64, I64);
impl_element!(f16, F16);
impl_element!(f32, F32);
impl_element!(f64, F64);

impl Array {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Array::Bool(_) => DType::Bool,
            Array::U8(_) => DType::U8,
            Array::U16(_) => DType::U16,
            Array::U32(_) => DType::U32,
            Array::U64(_) => DType::U64,
            Array::I8(_) => DType::I8,
            Array::I16(_) => DType::I16,
            Array::I32(_) => DType::I32,
            Array::I64(_) => DType::I64,
            Array::F16(_) => DType::F16,
            Array::F32(_) => DType::F32,
            Array::F64(_) => DType::F64,
        }
    }

    /// The shape, C order.
    pub fn shape(&self) -> &[usize] {
        with_array!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_array!(self, a => a.len())
    }

    /// True when the array holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size of the payload in bytes.
    pub fn nbytes(&self) -> usize {
        self.len() * self.dtype().size()
    }

    /// An array of zeros, in standard (C) layout, so [`Array::le_bytes_mut`] can fill it in place.
    /// Integer and `f32`/`f64` zeros come from zeroed memory (`calloc`): pages are not touched
    /// before they are written.
    ///
    /// # Panics
    /// When the product of the non-zero axes overflows `isize` (ndarray's limit).
    pub fn zeros(dtype: DType, shape: &[usize]) -> Array {
        with_dtype!(dtype, T => T::wrap(ArrayD::<T>::from_elem(IxDyn(shape), T::default())))
    }

    /// Wraps a typed ndarray.
    pub fn from_ndarray<T: Element>(a: ArrayD<T>) -> Array {
        T::wrap(a)
    }

    /// Borrows the typed ndarray, if `T` is this array's element type.
    pub fn as_ndarray<T: Element>(&self) -> Option<&ArrayD<T>> {
        T::unwrap_ref(self)
    }

    /// Builds an array from C-ordered little-endian bytes.
    pub fn from_le_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<Array, ArrayError> {
        let too_large = || ArrayError::TooLarge(shape.to_vec());
        // Elements first, then bytes: `(isize::MAX, 0)` holds 0 bytes whatever the axis order.
        let expected = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(dtype.size()))
            .ok_or_else(too_large)?;
        if bytes.len() != expected {
            return Err(ArrayError::Size {
                got: bytes.len(),
                expected,
                shape: shape.to_vec(),
                dtype,
            });
        }
        if dtype == DType::Bool {
            let values = bytes
                .iter()
                .map(|&b| match b {
                    0 => Ok(false),
                    1 => Ok(true),
                    other => Err(ArrayError::Bool(other)),
                })
                .collect::<Result<Vec<bool>, _>>()?;
            return Ok(Array::Bool(shaped(shape, values).ok_or_else(too_large)?));
        }
        with_pod_dtype!(dtype, T => {
            let values: Vec<T> = bytemuck::pod_collect_to_vec(bytes);
            shaped(shape, values).map(T::wrap)
        })
        .ok_or_else(too_large)
    }

    /// The payload as C-ordered little-endian bytes: borrowed for arrays in standard layout
    /// (every array the readers make; the host is little-endian), copied otherwise. Writers that
    /// only need bytes (the `.npy` writer, HDF5 chunks) use this instead of [`Array::to_le_bytes`].
    pub fn le_bytes(&self) -> Cow<'_, [u8]> {
        fn typed<T: bytemuck::NoUninit>(a: &ArrayD<T>) -> Cow<'_, [u8]> {
            match a.as_slice() {
                Some(s) => Cow::Borrowed(bytemuck::cast_slice(s)),
                None => Cow::Owned(
                    a.iter()
                        .flat_map(|v| bytemuck::bytes_of(v).to_vec())
                        .collect(),
                ),
            }
        }
        with_array!(self, a => typed(a))
    }

    /// The payload as mutable C-ordered little-endian bytes, to fill an array in place (e.g.
    /// straight from a file, see [`crate::npy::read_npy`]). `None` for `bool` arrays, whose bytes
    /// may only be 0 or 1, and for arrays not in standard layout.
    pub fn le_bytes_mut(&mut self) -> Option<&mut [u8]> {
        fn typed<T: bytemuck::Pod>(a: &mut ArrayD<T>) -> Option<&mut [u8]> {
            a.as_slice_mut().map(bytemuck::cast_slice_mut)
        }
        match self {
            Array::Bool(_) => None,
            Array::U8(a) => typed(a),
            Array::U16(a) => typed(a),
            Array::U32(a) => typed(a),
            Array::U64(a) => typed(a),
            Array::I8(a) => typed(a),
            Array::I16(a) => typed(a),
            Array::I32(a) => typed(a),
            Array::I64(a) => typed(a),
            Array::F16(a) => typed(a),
            Array::F32(a) => typed(a),
            Array::F64(a) => typed(a),
        }
    }

    /// The payload as C-ordered little-endian bytes, always copied; see [`Array::le_bytes`].
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.le_bytes().into_owned()
    }

    /// The transpose (every axis reversed), in standard layout: one copy of the payload.
    pub fn transposed(self) -> Array {
        with_array!(self, a => Element::wrap(a.reversed_axes().as_standard_layout().into_owned()))
    }

    /// The sub-array at `index` along the first axis (e.g. one date of a time series).
    pub fn index_first_axis(&self, index: usize) -> Array {
        with_array!(self, a => Element::wrap(a.index_axis(Axis(0), index).to_owned()))
    }

    /// The first `len` entries along the first axis (drops time padding).
    pub fn truncate_first_axis(&self, len: usize) -> Array {
        with_array!(self, a => Element::wrap(a.slice_axis(Axis(0), (0..len).into()).to_owned()))
    }

    /// This array at the origin of a zero-filled array of `shape` (same rank, every axis at
    /// least as long): SPOT images of several sizes padded to the largest. `None` if the rank
    /// differs or an axis is longer than `shape`'s.
    pub fn padded(&self, shape: &[usize]) -> Option<Array> {
        let own = self.shape();
        if own.len() != shape.len() || own.iter().zip(shape).any(|(a, b)| a > b) {
            return None;
        }
        Some(with_array!(self, a => {
            let mut out = ndarray::ArrayD::from_elem(ndarray::IxDyn(shape), Default::default());
            let region: Vec<ndarray::SliceInfoElem> =
                own.iter().map(|&n| (0..n).into()).collect();
            out.slice_mut(region.as_slice()).assign(a);
            Element::wrap(out)
        }))
    }

    /// Stacks equally shaped arrays of one type along a new first axis.
    /// Returns `None` if the list is empty or types or shapes differ.
    pub fn stack(parts: &[Array]) -> Option<Array> {
        fn typed<T: Element>(parts: &[Array]) -> Option<Array> {
            let views = parts
                .iter()
                .map(|p| T::unwrap_ref(p).map(|a| a.view()))
                .collect::<Option<Vec<_>>>()?;
            ndarray::stack(Axis(0), &views).ok().map(T::wrap)
        }
        let dtype = parts.first()?.dtype();
        with_dtype!(dtype, T => typed::<T>(parts))
    }

    /// The values as `i64`, for integer label arrays (TARGET, INSTANCES, ZONES, ParcelIDs).
    /// `None` for floating-point and unsigned 64-bit arrays whose values do not fit.
    pub fn to_i64(&self) -> Option<ArrayD<i64>> {
        match self {
            Array::Bool(a) => Some(a.mapv(i64::from)),
            Array::U8(a) => Some(a.mapv(i64::from)),
            Array::U16(a) => Some(a.mapv(i64::from)),
            Array::U32(a) => Some(a.mapv(i64::from)),
            Array::U64(a) => a
                .iter()
                .map(|&v| i64::try_from(v).ok())
                .collect::<Option<Vec<_>>>()
                .and_then(|v| shaped(a.shape(), v)),
            Array::I8(a) => Some(a.mapv(i64::from)),
            Array::I16(a) => Some(a.mapv(i64::from)),
            Array::I32(a) => Some(a.mapv(i64::from)),
            Array::I64(a) => Some(a.clone()),
            Array::F16(_) | Array::F32(_) | Array::F64(_) => None,
        }
    }

    /// The values as `f64` (exact for every type but 64-bit integers beyond 2^53).
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            Array::Bool(a) => a.mapv(|v| f64::from(u8::from(v))),
            Array::U8(a) => a.mapv(f64::from),
            Array::U16(a) => a.mapv(f64::from),
            Array::U32(a) => a.mapv(f64::from),
            Array::U64(a) => a.mapv(|v| v as f64),
            Array::I8(a) => a.mapv(f64::from),
            Array::I16(a) => a.mapv(f64::from),
            Array::I32(a) => a.mapv(f64::from),
            Array::I64(a) => a.mapv(|v| v as f64),
            Array::F16(a) => a.mapv(f64::from),
            Array::F32(a) => a.mapv(f64::from),
            Array::F64(a) => a.clone(),
        }
    }
}

/// Like [`with_dtype!`] for the plain-old-data types (all but `bool`, which panics).
macro_rules! with_pod_dtype {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            DType::Bool => unreachable!("bool is handled before"),
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
            DType::I8 => {
                type $t = i8;
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
            DType::F16 => {
                type $t = f16;
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
        }
    };
}
use with_pod_dtype;

/// `None` when ndarray refuses the shape (the product of its non-zero axes overflows `isize`).
fn shaped<T>(shape: &[usize], values: Vec<T>) -> Option<ArrayD<T>> {
    ArrayD::from_shape_vec(IxDyn(shape), values).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_for_every_dtype() {
        for dtype in DType::ALL {
            let shape = [2, 3, 4];
            let bytes: Vec<u8> = (0..24 * dtype.size())
                .map(|i| {
                    if dtype == DType::Bool {
                        (i % 2) as u8
                    } else {
                        (i * 7 % 251) as u8
                    }
                })
                .collect();
            let a = Array::from_le_bytes(dtype, &shape, &bytes).unwrap();
            assert_eq!(a.dtype(), dtype);
            assert_eq!(a.shape(), &shape);
            assert_eq!(a.to_le_bytes(), bytes);
        }
    }

    #[test]
    fn empty_arrays_with_a_huge_axis_in_any_order() {
        // Found by tests/robustness.rs: the size check overflowed on (isize::MAX, 0) but not (0, isize::MAX).
        let huge = isize::MAX as usize;
        for shape in [[huge, 0], [0, huge]] {
            let a = Array::from_le_bytes(DType::U32, &shape, &[]).unwrap();
            assert_eq!(a.shape(), &shape);
        }
    }

    #[test]
    fn size_mismatch_is_an_error() {
        let err = Array::from_le_bytes(DType::I16, &[2, 2], &[0; 7]).unwrap_err();
        assert!(err.to_string().contains("got 7 bytes, expected 8"));
    }

    #[test]
    fn stack_and_slice() {
        let a = Array::from_ndarray(ArrayD::from_elem(IxDyn(&[2, 2]), 3i16));
        let b = Array::zeros(DType::I16, &[2, 2]);
        let s = Array::stack(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(s.shape(), &[2, 2, 2]);
        assert_eq!(s.index_first_axis(0), a);
        assert_eq!(s.truncate_first_axis(1).shape(), &[1, 2, 2]);
        assert!(Array::stack(&[a, Array::zeros(DType::U8, &[2, 2])]).is_none());
    }
}
