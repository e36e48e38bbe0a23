//! What makes the HDF5 file a netCDF-4 file as well (docs/hdf5-layout.md, "netCDF-4"): the
//! `_NCProperties` provenance of the root group, CF attributes of the data arrays (`long_name`,
//! `units`, `flag_values`/`flag_meanings` of the TARGET classes) and the root `Conventions`.
//! The dimensions themselves are in [`dims`](super::dims). netCDF has no 16-bit float, so
//! float16 layers are stored as float32 ([`storable_layout`]).
//!
//! No data array has a `_FillValue` attribute: the HDF5 fill value (0) is what padding and
//! absent patches read as, but 0 is also a valid value everywhere (a zero reflectance, the
//! Background class, no parcel), so declaring it would make xarray and CF readers mask real data.
//! The padding is told by `<SERIES>_length` and absence by `<LAYER>_present`.

use super::attrs::write_string_attr;
use super::h5err;
use crate::formats::stacked::cf::{description, flag_meanings};
use crate::formats::stacked::StackedArray;
use crate::formats::{CreationOption, WriteOptions};
use crate::model::classes::CLASS_NAMES;
use crate::model::{DType, DatasetLayout, Layer};
use crate::{Error, Result};
use hdf5::{Dataset, File, Location};
use std::path::Path;

/// The netCDF-C provenance attribute of the root group.
const NCPROPERTIES: &str = "_NCProperties";

/// The CF version whose attributes the file uses (root attribute `Conventions`).
pub const CONVENTIONS: &str = "CF-1.8";

/// The creation option choosing how float16 layers are stored (`--co FLOAT16=FLOAT32|KEEP`).
pub const FLOAT16_OPTION: CreationOption = CreationOption {
    key: "FLOAT16",
    values: "FLOAT32 or KEEP (default FLOAT32)",
    doc: "float16 layers (S1A, S1D) stored as float32 with <LAYER>_dtype, as netCDF-4 readers \
          need, or kept as float16 (smaller; h5py and h5netcdf read it, netCDF-C readers do not)",
};

/// True if float16 layers are stored as float32 ([`storable_layout`]): `FLOAT16=FLOAT32` or
/// unset; false for `FLOAT16=KEEP`.
///
/// # Errors
/// [`Error::Usage`] for any other value.
pub fn widen_float16(options: &WriteOptions) -> Result<bool> {
    let Some(value) = options.creation.get(FLOAT16_OPTION.key) else {
        return Ok(true);
    };
    match value.to_ascii_uppercase().as_str() {
        "FLOAT32" => Ok(true),
        "KEEP" => Ok(false),
        _ => Err(Error::Usage(format!(
            "hdf5 creation option FLOAT16={value}: expected FLOAT32 or KEEP"
        ))),
    }
}

/// The layout as the HDF5 file stores it: a layer stacked as float16 is stored as float32, with
/// `<LAYER>_dtype` giving each patch's own dtype back, exactly as for a layer of mixed dtypes
/// (docs/stacked-layout.md): the netCDF-4 data model has no 16-bit float, and netCDF-C readers
/// either convert the values on the fly (netCDF-C 4.9) or misread the variable as strings and
/// crash (netCDF4-python 1.7.5 with netCDF-C 4.10.1 and HDF5 2.0). Every float16 value, NaN
/// payloads and signalling NaNs included, widens to float32 and narrows back bit for bit
/// ([`crate::model::cast`]).
pub fn storable_layout(layout: &DatasetLayout) -> DatasetLayout {
    let mut stored = layout.clone();
    for l in stored.layers.values_mut() {
        if l.dtype == DType::F16 {
            l.dtypes = (0..l.per_patch.len()).map(|i| l.dtype_of(i)).collect();
            l.dtype = DType::F32;
        }
    }
    stored
}

/// The `_NCProperties` text: `version=2` (netCDF-C's provenance format 2) then the writing
/// library and the HDF5 library, as netCDF-C and h5netcdf write it
/// (`version=2,netcdf=4.9.0,hdf5=1.10.8`; `version=2,h5netcdf=1.8.2,hdf5=...`).
pub fn ncproperties() -> String {
    let (major, minor, release) = hdf5::library_version();
    format!(
        "version=2,pastis-bridge={},hdf5={major}.{minor}.{release}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Writes `_NCProperties` (a fixed-length ASCII string, the type netCDF-C reads it as) and
/// `Conventions` on the root group.
pub fn write_root(path: &Path, file: &File) -> Result<()> {
    let text = ncproperties();
    let value: hdf5::types::FixedAscii<64> = hdf5::types::FixedAscii::from_ascii(&text)
        .map_err(|e| Error::invalid(path, format!("{NCPROPERTIES} {text:?}: {e}")))?;
    file.new_attr_builder()
        .with_data_as(
            &ndarray::arr0(value),
            &hdf5::types::TypeDescriptor::FixedAscii(text.len()),
        )
        .create(NCPROPERTIES)
        .map_err(h5err(path))?;
    write_string_attr(path, file, "Conventions", CONVENTIONS)
}

/// Writes the CF attributes of the data array of `spec`. TARGET of an integer dtype gets
/// `flag_values` (the class ids 0..19, in the array's dtype, as CF requires) and `flag_meanings`.
pub fn write_data_attributes(path: &Path, dataset: &Dataset, spec: &StackedArray) -> Result<()> {
    let (long_name, units) = description(spec.layer);
    write_string_attr(path, dataset, "long_name", &long_name)?;
    if let Some(units) = units {
        write_string_attr(path, dataset, "units", units)?;
    }
    if spec.layer == Layer::Target && write_flag_values(path, dataset, spec.dtype)? {
        write_string_attr(path, dataset, "flag_meanings", &flag_meanings())?;
    }
    Ok(())
}

/// Writes `flag_values` 0..19 in `dtype`; false (nothing written) for a dtype that is not an
/// integer (bool, floats: class ids are not flags there).
fn write_flag_values(path: &Path, loc: &Location, dtype: DType) -> Result<bool> {
    macro_rules! flags {
        ($t:ty) => {{
            let values: Vec<$t> = (0..CLASS_NAMES.len() as $t).collect();
            loc.new_attr_builder()
                .with_data(values.as_slice())
                .create("flag_values")
        }};
    }
    let created = match dtype {
        DType::U8 => flags!(u8),
        DType::I8 => flags!(i8),
        DType::U16 => flags!(u16),
        DType::I16 => flags!(i16),
        DType::U32 => flags!(u32),
        DType::I32 => flags!(i32),
        DType::U64 => flags!(u64),
        DType::I64 => flags!(i64),
        _ => return Ok(false),
    };
    created.map_err(h5err(path))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_names_the_writer_and_hdf5() {
        let text = ncproperties();
        assert!(text.starts_with("version=2,pastis-bridge="), "{text}");
        assert!(text.contains(",hdf5="), "{text}");
        assert!(text.len() <= 64);
    }
}
