//! PASTIS-HD's SPOT-6 images as GeoTIFFs, through GDAL: the one place that reads and writes them,
//! for every format that keeps them as TIFFs (the PASTIS folder, the GeoTIFF export).
//!
//! A SPOT image is `(band, H, W)` with the file's own size, band count, band type, CRS,
//! geotransform, band descriptions and no-data values, all read from the file: nothing is assumed
//! (not 1280 x 1280, not 3 bands, not uint8). PASTIS-HD's layout:
//! `DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_<ID>.tif` (issue #20).

use super::geotiff::raster::{create_dataset, read_array, write_array};
use crate::model::{Array, ArraySpec, DType, SpotGeoref};
use crate::{Error, Result};
use gdal::raster::{GdalDataType, RasterCreationOptions};
use gdal::{Dataset, DriverManager, Metadata};
use std::path::{Path, PathBuf};

/// The folder of PASTIS-HD's SPOT images, relative to the dataset root.
pub const SPOT_FOLDER: &str = "DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019";

/// The prefix of a SPOT image's file name, before `<ID>.tif`.
const SPOT_PREFIX: &str = "SPOT6_RVB_1M00_2019_";

/// `SPOT6_RVB_1M00_2019_10000.tif`.
pub fn spot_file_name(id: i64) -> String {
    format!("{SPOT_PREFIX}{id}.tif")
}

/// The pattern of SPOT file names, for messages: `SPOT6_RVB_1M00_2019_{ID_PATCH}.tif`.
pub fn spot_file_pattern() -> String {
    format!("{SPOT_PREFIX}{{ID_PATCH}}.tif")
}

/// `ROOT/DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_10000.tif`.
pub fn spot_path(root: &Path, id: i64) -> PathBuf {
    root.join(SPOT_FOLDER).join(spot_file_name(id))
}

/// Parses a SPOT file name (`SPOT6_RVB_1M00_2019_10000.tif`) into its `ID_PATCH`; `None` for any
/// other name (no zero padding, as the other layers).
pub fn parse_spot_file_name(name: &str) -> Option<i64> {
    let id = name.strip_prefix(SPOT_PREFIX)?.strip_suffix(".tif")?;
    let plain = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    plain.then(|| id.parse().ok()).flatten()
}

/// The element type of a GDAL band type; `None` for types no array holds (complex, unknown).
fn dtype_of(band_type: GdalDataType) -> Option<DType> {
    Some(match band_type {
        GdalDataType::UInt8 => DType::U8,
        GdalDataType::UInt16 => DType::U16,
        GdalDataType::Int16 => DType::I16,
        GdalDataType::UInt32 => DType::U32,
        GdalDataType::Int32 => DType::I32,
        GdalDataType::UInt64 => DType::U64,
        GdalDataType::Int64 => DType::I64,
        GdalDataType::Float32 => DType::F32,
        GdalDataType::Float64 => DType::F64,
        _ => return None,
    })
}

/// Wraps a GDAL error about `path`.
fn gdal_error<'a>(
    path: &'a Path,
    doing: &'a str,
) -> impl Fn(gdal::errors::GdalError) -> Error + 'a {
    move |e| Error::library_in(path, "GDAL", doing, e)
}

/// Opens a SPOT image and reads its spec: the band type shared by every band and `(bands, H, W)`.
fn open_spec(path: &Path) -> Result<(Dataset, ArraySpec)> {
    let ds = Dataset::open(path).map_err(gdal_error(path, "opening the SPOT image"))?;
    let bands = ds.raster_count();
    let (width, height) = ds.raster_size();
    let mut dtype = None;
    for index in 1..=bands {
        let band = ds
            .rasterband(index)
            .map_err(gdal_error(path, "reading a band"))?;
        let found = band.band_type();
        let this = dtype_of(found).ok_or_else(|| {
            Error::invalid(
                path,
                format!("band {index} is {found:?}, not a real numeric type"),
            )
        })?;
        if dtype.is_some_and(|d| d != this) {
            return Err(Error::invalid(
                path,
                format!("band {index} is {this}, band 1 is not: SPOT bands must share one type"),
            ));
        }
        dtype = Some(this);
    }
    let dtype = dtype.ok_or_else(|| Error::invalid(path, "a SPOT image without bands"))?;
    let spec = ArraySpec {
        dtype,
        shape: vec![bands, height, width],
    };
    Ok((ds, spec))
}

/// The dtype and shape `(bands, H, W)` of the SPOT image at `path`, without reading pixels.
///
/// # Errors
/// GDAL cannot open it, it has no band, or its bands differ in type.
pub fn read_spot_spec(path: &Path) -> Result<ArraySpec> {
    open_spec(path).map(|(_, spec)| spec)
}

/// Reads the SPOT image at `path`: its pixels `(bands, H, W)` in the file's own type, and its
/// georeferencing, band descriptions and no-data values as found.
///
/// # Errors
/// As [`read_spot_spec`], or a band cannot be read.
pub fn read_spot(path: &Path) -> Result<(Array, SpotGeoref)> {
    let (ds, spec) = open_spec(path)?;
    let image = read_array(&ds, spec.dtype, &spec.shape)
        .map_err(gdal_error(path, "reading the SPOT pixels"))?;
    Ok((image, georef_of(path, &ds)?))
}

/// The georeferencing, band descriptions and no-data values of the SPOT image at `path`, without
/// reading pixels (the survey of a conversion into Zarr or HDF5, whose SPOT columns are written
/// before any patch).
///
/// # Errors
/// As [`read_spot_spec`].
pub fn read_spot_georef(path: &Path) -> Result<SpotGeoref> {
    let (ds, _) = open_spec(path)?;
    georef_of(path, &ds)
}

/// What GDAL finds beside the pixels of an open SPOT image.
fn georef_of(path: &Path, ds: &Dataset) -> Result<SpotGeoref> {
    let geotransform = ds.geo_transform().unwrap_or([0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    let epsg = ds
        .spatial_ref()
        .ok()
        .and_then(|s| s.auth_code().ok())
        .and_then(|c| u32::try_from(c).ok());
    let mut descriptions = Vec::new();
    let mut nodata = Vec::new();
    for index in 1..=ds.raster_count() {
        let band = ds
            .rasterband(index)
            .map_err(gdal_error(path, "reading a band"))?;
        descriptions.push(band.description().unwrap_or_default());
        nodata.push(band.no_data_value());
    }
    Ok(SpotGeoref {
        crs_wkt: ds.projection(),
        epsg,
        geotransform,
        descriptions,
        nodata,
    })
}

/// Writes a SPOT image as a tiled, DEFLATE-compressed GeoTIFF at `path`: the pixels in their own
/// type, the CRS, geotransform, band descriptions and no-data values of `georef`.
///
/// # Errors
/// The array is not `(bands, H, W)` of a GDAL band type, or GDAL cannot write the file.
pub fn write_spot(path: &Path, image: &Array, georef: &SpotGeoref) -> Result<()> {
    let [bands, height, width] = image.shape() else {
        return Err(Error::invalid(
            path,
            format!(
                "SPOT image of shape {:?}, expected (band, H, W)",
                image.shape()
            ),
        ));
    };
    let driver = DriverManager::get_driver_by_name("GTiff")
        .map_err(gdal_error(path, "loading the GTiff driver"))?;
    let mut options = vec!["COMPRESS=DEFLATE".to_string()];
    if *height >= 16 && *width >= 16 {
        options.push("TILED=YES".into());
    }
    if *bands > 1 {
        options.push("INTERLEAVE=PIXEL".into());
    }
    let options = RasterCreationOptions::from_iter(options);
    let mut ds = create_dataset(
        &driver,
        path,
        image.dtype(),
        (*height, *width, *bands),
        &options,
    )
    .map_err(gdal_error(path, "creating the SPOT GeoTIFF"))?;
    if !georef.crs_wkt.is_empty() {
        ds.set_projection(&georef.crs_wkt)
            .map_err(gdal_error(path, "setting the SPOT CRS"))?;
    }
    ds.set_geo_transform(&georef.geotransform)
        .map_err(gdal_error(path, "setting the SPOT geotransform"))?;
    write_array(&ds, image).map_err(gdal_error(path, "writing the SPOT pixels"))?;
    for index in 1..=*bands {
        let mut band = ds
            .rasterband(index)
            .map_err(gdal_error(path, "writing a band"))?;
        if let Some(text) = georef.descriptions.get(index - 1).filter(|d| !d.is_empty()) {
            band.set_description(text)
                .map_err(gdal_error(path, "setting a band description"))?;
        }
        if let Some(value) = georef.nodata.get(index - 1).copied().flatten() {
            band.set_no_data_value(Some(value))
                .map_err(gdal_error(path, "setting a band's no-data"))?;
        }
    }
    ds.close()
        .map_err(gdal_error(path, "closing the SPOT GeoTIFF"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_parse() {
        assert_eq!(
            parse_spot_file_name("SPOT6_RVB_1M00_2019_10000.tif"),
            Some(10000)
        );
        assert_eq!(parse_spot_file_name("SPOT6_RVB_1M00_2019_010000.tif"), None);
        assert_eq!(parse_spot_file_name("S2_10000.tif"), None);
        assert_eq!(spot_file_name(7), "SPOT6_RVB_1M00_2019_7.tif");
    }
}
