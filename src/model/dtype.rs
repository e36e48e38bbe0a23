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

    /// Parses a numpy type descriptor as `numpy.dtype` does; returns the type and whether it is
    /// big-endian. Accepted: an optional byte order (`<`, `>`, `|`, `=`; none means the native
    /// little-endian) before a kind and size (`i2`, `f4`, `b1`...) or a fixed-size character code
    /// (`h`, `e`, `d`, `?`...), or a numpy name without byte order (`int16`, `float32`, `bool`).
    /// `None` for descriptors pastis-bridge does not support (objects, strings, structs...) and for
    /// the codes whose size depends on the platform that wrote the file (`l`, `L`, `p`, `P`, `int`).
    pub fn from_npy_descr(descr: &str) -> Option<(DType, bool)> {
        if let Some(dtype) = DType::from_name(descr) {
            return Some((dtype, false));
        }
        let (big_endian, code) = match descr.strip_prefix(['<', '|', '=']) {
            Some(code) => (false, code),
            None => match descr.strip_prefix('>') {
                Some(code) => (true, code),
                None => (false, descr),
            },
        };
        let dtype = match code {
            "b1" | "?" => DType::Bool,
            "u1" | "B" => DType::U8,
            "u2" | "H" => DType::U16,
            "u4" | "I" => DType::U32,
            "u8" | "Q" => DType::U64,
            "i1" | "b" => DType::I8,
            "i2" | "h" => DType::I16,
            "i4" | "i" => DType::I32,
            "i8" | "q" => DType::I64,
            "f2" | "e" => DType::F16,
            "f4" | "f" => DType::F32,
            "f8" | "d" => DType::F64,
            _ => return None,
        };
        Some((dtype, big_endian && dtype.size() > 1))
    }

    /// True for floating-point types.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::F32 | DType::F64)
    }

    /// For `bool` and integer types: whether negative values exist, and the bits of magnitude
    /// (`bool` 1, `uint8` 8, `int8` 7...). `None` for floats.
    fn integer_bits(self) -> Option<(bool, u32)> {
        let bits = 8 * self.size() as u32;
        match self {
            DType::Bool => Some((false, 1)),
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => Some((false, bits)),
            DType::I8 | DType::I16 | DType::I32 | DType::I64 => Some((true, bits - 1)),
            DType::F16 | DType::F32 | DType::F64 => None,
        }
    }

    /// For floats: the bits of integer magnitude held exactly (significand + the implicit bit:
    /// 11, 24, 53, IEEE 754). `None` for integers.
    fn float_precision(self) -> Option<u32> {
        match self {
            DType::F16 => Some(11),
            DType::F32 => Some(24),
            DType::F64 => Some(53),
            _ => None,
        }
    }

    /// True if every value of `other` is a value of `self` and comes back from it unchanged, bit
    /// for bit: the same type; `bool` and integers into any integer with a wider range (`uint8`
    /// into `int16`, never a signed type into an unsigned one); integers into a float whose
    /// significand holds their magnitude (`uint8` into `float16`, `int16` into `float32`,
    /// `uint32` into `float64`, never a 64-bit integer into a float); a float into a wider float
    /// (`float16` into `float32`: every bit pattern, NaN payloads and signalling NaNs included,
    /// widened as IEEE 754 defines, see `model::cast`). Floats never go into integers.
    pub fn holds(self, other: DType) -> bool {
        if self == other {
            return true;
        }
        match (self.integer_bits(), other.integer_bits()) {
            (Some((wide_signed, wide)), Some((signed, bits))) => {
                other == DType::Bool || ((wide_signed || !signed) && wide >= bits)
            }
            (None, Some((_, bits))) => self.float_precision().is_some_and(|p| bits <= p),
            (None, None) => self.size() > other.size(),
            (Some(_), None) => false,
        }
    }

    /// The smallest type that [`holds`](DType::holds) both `self` and `other`, preferring at one
    /// size an unsigned integer, then a signed one, then a float: `uint8` + `int16` = `int16`,
    /// `uint16` + `int16` = `int32`, `uint8` + `float16` = `float16`, `int16` + `float16` =
    /// `float32`. `None` when no type holds both exactly (`uint64` + any signed type, a 64-bit
    /// integer + a float).
    pub fn common(self, other: DType) -> Option<DType> {
        let mut by_size = DType::ALL;
        by_size.sort_by_key(|d| (d.size(), d.is_float(), d.integer_bits().map(|(s, _)| s)));
        by_size
            .into_iter()
            .find(|d| d.holds(self) && d.holds(other))
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

    #[test]
    fn descriptors_numpy_also_reads() {
        // Each pair checked with numpy 2.4: numpy.dtype(text).str.
        let same = [
            ("i2", "<i2"),
            ("|i2", "<i2"),
            (">u1", "|u1"),
            (">b1", "|b1"),
            ("?", "|b1"),
            ("<?", "|b1"),
            ("b", "|i1"),
            ("B", "|u1"),
            ("h", "<i2"),
            ("H", "<u2"),
            ("i", "<i4"),
            ("I", "<u4"),
            ("q", "<i8"),
            ("Q", "<u8"),
            ("e", "<f2"),
            ("f", "<f4"),
            ("d", "<f8"),
            ("int16", "<i2"),
            ("float16", "<f2"),
            ("bool", "|b1"),
        ];
        for (text, canonical) in same {
            assert_eq!(
                DType::from_npy_descr(text),
                DType::from_npy_descr(canonical),
                "{text}"
            );
        }
        assert_eq!(DType::from_npy_descr(">h"), Some((DType::I16, true)));
        assert_eq!(DType::from_npy_descr(">e"), Some((DType::F16, true)));
        // numpy refuses these, or reads them with a size that depends on the writer's platform.
        for text in [
            "<int16", "<i2 ", " <i2", "|b2", "l", "L", "p", "int", "float", "g", "<f16",
        ] {
            assert_eq!(DType::from_npy_descr(text), None, "{text}");
        }
    }

    #[test]
    fn common_dtypes_hold_both_exactly() {
        use DType::*;
        let cases = [
            (U8, I16, Some(I16)),
            (U8, I8, Some(I16)),
            (U16, I16, Some(I32)),
            (U32, I32, Some(I64)),
            (Bool, U8, Some(U8)),
            (Bool, I8, Some(I8)),
            (U8, U16, Some(U16)),
            (U8, F16, Some(F16)),
            (I16, F16, Some(F32)),
            (I32, F32, Some(F64)),
            (U32, F16, Some(F64)),
            (F16, F32, Some(F32)),
            (F16, F64, Some(F64)),
            (U64, I8, None),
            (I64, F64, None),
            (U64, F16, None),
            (I64, U64, None),
            (I64, I64, Some(I64)),
        ];
        for (a, b, common) in cases {
            assert_eq!(a.common(b), common, "{a} + {b}");
            assert_eq!(b.common(a), common, "{b} + {a}");
        }
        assert!(!U8.holds(I8) && !I64.holds(F16) && !F16.holds(I16) && !F32.holds(F64));
        for a in DType::ALL {
            for b in DType::ALL {
                if let Some(c) = a.common(b) {
                    assert!(c.holds(a) && c.holds(b), "{a} + {b} = {c}");
                }
            }
        }
    }
}
