//! Element types of the arrays PASTIS ships, with their numpy descriptors.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The element type of an array, as found in the source file and preserved by every format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// `bool` (numpy `|b1`).
    Bool,
    /// `uint8` (numpy `|u1`).
    U8,
    /// `uint16`.
    U16,
    /// `uint32`.
    U32,
    /// `uint64`.
    U64,
    /// `int8`.
    I8,
    /// `int16` (Sentinel-2 reflectances).
    I16,
    /// `int32` (ParcelIDs).
    I32,
    /// `int64` (INSTANCES, ZONES).
    I64,
    /// IEEE half precision (Sentinel-1 backscatter).
    F16,
    /// `float32`.
    F32,
    /// `float64` (HEATMAP).
    F64,
}

impl DType {
    /// Every supported type, in a stable order.
    pub const ALL: [DType; 12] = [
        DType::Bool,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::F16,
        DType::F32,
        DType::F64,
    ];

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::U16 | DType::I16 | DType::F16 => 2,
            DType::U32 | DType::I32 | DType::F32 => 4,
            DType::U64 | DType::I64 | DType::F64 => 8,
        }
    }

    /// The numpy / array-API name: `int16`, `float16`, `uint8`...
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F16 => "float16",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Parses a name written by [`DType::name`].
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The little-endian numpy type descriptor (`<i2`, `|u1`, ...).
    pub fn npy_descr(self) -> &'static str {
        match self {
            DType::Bool => "|b1",
            DType::U8 => "|u1",
            DType::U16 => "<u2",
            DType::U32 => "<u4",
            DType::U64 => "<u8",
            DType::I8 => "|i1",
            DType::I16 => "<i2",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::F16 => "<f2",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
        }
    }

    /// Parses a numpy type descriptor; returns the type and whether it is big-endian.
    /// `None` for descriptors pastis-bridge does not support (objects, strings, structs...).
    pub fn from_npy_descr(descr: &str) -> Option<(DType, bool)> {
        // `split_at_checked`: a descriptor starting with a multi-byte character is not a panic.
        let (order, code) = descr.split_at_checked(1)?;
        let big_endian = match order {
            "<" | "|" | "=" => false,
            ">" => true,
            _ => return None,
        };
        let dtype = match code {
            "b1" => DType::Bool,
            "u1" => DType::U8,
            "u2" => DType::U16,
            "u4" => DType::U32,
            "u8" => DType::U64,
            "i1" => DType::I8,
            "i2" => DType::I16,
            "i4" => DType::I32,
            "i8" => DType::I64,
            "f2" => DType::F16,
            "f4" => DType::F32,
            "f8" => DType::F64,
            _ => return None,
        };
        Some((dtype, big_endian && dtype.size() > 1))
    }

    /// True for floating-point types.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::F32 | DType::F64)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_npy_descr(d.npy_descr()), Some((d, false)));
            assert_eq!(DType::from_name(d.name()), Some(d));
        }
        assert_eq!(DType::from_npy_descr(">i2"), Some((DType::I16, true)));
        assert_eq!(DType::from_npy_descr("|O"), None);
        assert_eq!(DType::from_npy_descr("<U10"), None);
        assert_eq!(DType::from_npy_descr("é2"), None);
        assert_eq!(DType::from_npy_descr(""), None);
    }
}
