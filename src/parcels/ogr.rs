//! GeoPackage and FlatGeobuf output through GDAL/OGR, and reading any parcel file back.
//!
//! A layer has one CRS, so parcels go to one layer per EPSG code, `parcels_{EPSG}`
//! (`parcels_32631`...). Parcels in pixel coordinates (`--no-georef`) go to one layer without
//! CRS, `parcels_pixels`, with a `not_georeferenced` field. GeoPackage writes in one transaction;
//! FlatGeobuf holds one layer only.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::geometry::{srs, transform};
use super::{fields, Parcel, PatchResult};
use crate::{Error, Result};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{Feature, FieldValue, LayerAccess, LayerOptions, OGRFieldType, ToGdal};
use gdal::{Dataset, DriverManager};
use geo::Validation;
use geo_types::MultiPolygon;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// Writes every patch's parcels to `path` with the OGR `driver`; returns the number of features.
/// `path` is a staging name (`x.gpkg.partial`): GDAL writes `x.gpkg.partial.gpkg`, which keeps
/// the extension drivers expect, and it is renamed to `path` once closed.
pub fn write(path: &Path, driver: &str, patches: impl Iterator<Item = PatchResult>) -> Result<u64> {
    let ext = if driver == "GPKG" { "gpkg" } else { "fgb" };
    let tmp = path.with_extension(format!("partial.{ext}"));
    let ds = DriverManager::get_driver_by_name(driver)
        .and_then(|d| d.create_vector_only(&tmp))
        .map_err(|e| Error::library(path, "GDAL", e))?;
    let count = write_into(ds, &tmp, driver, patches).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    Ok(count)
}

/// Writes the features and closes the dataset.
fn write_into(
    mut ds: Dataset,
    path: &Path,
    driver: &str,
    patches: impl Iterator<Item = PatchResult>,
) -> Result<u64> {
    let lib = |e: gdal::errors::GdalError| Error::library(path, "GDAL", e);
    let transactions = driver == "GPKG";
    if transactions {
        start(&ds, path)?;
    }
    let mut layers = BTreeSet::new();
    let mut count = 0;
    for (id, patch) in patches {
        let patch = patch?;
        // A patch without parcels still makes its layer: an empty output has its fields and CRS.
        let name = layer_name(patch.epsg);
        if layers.insert(patch.epsg) {
            if driver == "FlatGeobuf" && layers.len() > 1 {
                return Err(one_crs_only(id, patch.epsg, &layers));
            }
            create_layer(&mut ds, driver, &name, patch.epsg, path)?;
        }
        let layer = ds.layer_by_name(&name).map_err(lib)?;
        for parcel in &patch.parcels {
            write_feature(&layer, parcel).map_err(lib)?;
            count += 1;
        }
    }
    if transactions {
        commit(&ds, path)?;
    }
    ds.close().map_err(lib)?;
    Ok(count)
}

/// The layer of parcels in `epsg`: `parcels_32631`, or `parcels_pixels` without CRS.
fn layer_name(epsg: Option<u32>) -> String {
    match epsg {
        Some(epsg) => format!("parcels_{epsg}"),
        None => "parcels_pixels".to_string(),
    }
}

fn one_crs_only(id: i64, epsg: Option<u32>, layers: &BTreeSet<Option<u32>>) -> Error {
    let epsgs: Vec<String> = layers.iter().flatten().map(u32::to_string).collect();
    Error::Unsupported {
        format: "FlatGeobuf",
        what: format!(
            "patch {id} lies in EPSG:{} but earlier patches in EPSG:{}: a FlatGeobuf file holds one CRS; \
             write WGS84 (--crs wgs84) or a .gpkg (one layer per CRS)",
            epsg.map_or_else(|| "none".into(), |e| e.to_string()),
            epsgs.join(", ")
        ),
    }
}

// The safe `Transaction` borrows the dataset mutably for its whole life, which the layer
// lookups in the loop cannot share; the raw calls keep one transaction around the whole write.
fn start(ds: &Dataset, path: &Path) -> Result<()> {
    // SAFETY: a valid dataset handle owned by `ds`.
    let rv = unsafe { gdal_sys::GDALDatasetStartTransaction(ds.c_dataset(), 1) };
    ogr_ok(rv, "GDALDatasetStartTransaction", path)
}

fn commit(ds: &Dataset, path: &Path) -> Result<()> {
    // SAFETY: a valid dataset handle owned by `ds`, with a transaction started by `start`.
    let rv = unsafe { gdal_sys::GDALDatasetCommitTransaction(ds.c_dataset()) };
    ogr_ok(rv, "GDALDatasetCommitTransaction", path)
}

fn ogr_ok(rv: gdal_sys::OGRErr::Type, what: &str, path: &Path) -> Result<()> {
    if rv == gdal_sys::OGRErr::OGRERR_NONE {
        Ok(())
    } else {
        Err(Error::library(
            path,
            "GDAL",
            format!("{what} failed ({rv})"),
        ))
    }
}

/// Creates the layer `name` in `epsg` (`None`: no CRS, with the `not_georeferenced` field).
fn create_layer(
    ds: &mut Dataset,
    driver: &str,
    name: &str,
    epsg: Option<u32>,
    path: &Path,
) -> Result<()> {
    let srs = match epsg {
        Some(epsg) => Some(srs(epsg, path)?),
        None if driver == "GPKG" => Some(undefined_cartesian(path)?),
        None => None,
    };
    let layer = ds
        .create_layer(LayerOptions {
            name,
            srs: srs.as_ref(),
            ty: gdal_sys::OGRwkbGeometryType::wkbMultiPolygon,
            options: None,
        })
        .map_err(|e| Error::library(path, "GDAL", e))?;
    let int64 = OGRFieldType::OFTInteger64;
    let mut defn = vec![
        (fields::PATCH, int64),
        (fields::INSTANCE, int64),
        (fields::PARCEL, int64),
        (fields::CLASS, int64),
        (fields::CLASS_NAME, OGRFieldType::OFTString),
        (fields::PIXELS, int64),
        (fields::AREA, OGRFieldType::OFTReal),
        (fields::FOLD, int64),
        (fields::TILE, OGRFieldType::OFTString),
    ];
    if epsg.is_none() {
        defn.push((fields::NOT_GEOREFERENCED, OGRFieldType::OFTString));
    }
    layer
        .create_defn_fields(&defn)
        .map_err(|e| Error::library(path, "GDAL", e))
}

/// GeoPackage's "undefined Cartesian SRS" (the `srs_id` -1 record OGC 12-128 requires): how a
/// GeoPackage says "no CRS". Without it GDAL gives a layer without SRS the "undefined
/// geographic SRS" (`srs_id` 0), which would read pixel coordinates as degrees.
fn undefined_cartesian(path: &Path) -> Result<SpatialRef> {
    SpatialRef::from_wkt(r#"LOCAL_CS["Undefined Cartesian SRS"]"#)
        .map_err(|e| Error::library(path, "GDAL", e))
}

fn write_feature<L: LayerAccess>(layer: &L, p: &Parcel) -> gdal::errors::Result<()> {
    let mut f = Feature::new(layer.defn())?;
    let int = |v: Option<i64>| v.map(FieldValue::Integer64Value);
    let text = |v: Option<&str>| v.map(|s| FieldValue::StringValue(s.to_string()));
    let mut values = vec![
        int(Some(p.patch)),
        int(Some(p.instance)),
        int(p.parcel_id),
        int(p.class_id),
        text(p.class_name()),
        int(Some(p.pixels as i64)),
        Some(FieldValue::RealValue(p.area_m2)),
        int(p.fold),
        text(p.tile.as_deref()),
    ];
    if p.epsg.is_none() {
        values.push(text(p.not_georeferenced.as_deref()));
    }
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => f.set_field(i, v)?,
            None => f.set_field_null(i)?,
        }
    }
    f.set_geometry(p.geometry.to_gdal()?)?;
    f.create(layer)
}

/// A parcel read back from a file, its polygons in the grid CRS asked for.
#[derive(Clone, Debug)]
pub struct ReadParcel {
    /// `ID_PATCH`.
    pub patch: i64,
    /// Instance id.
    pub instance: i64,
    /// Class id, if the file has one.
    pub class_id: Option<i64>,
    /// The polygons, in the coordinates `place(patch)` gave.
    pub geometry: MultiPolygon<f64>,
}

/// Where the parcels of a patch are read into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The patch's grid CRS: the file must be georeferenced; its coordinates are transformed.
    Epsg(u32),
    /// Pixel coordinates as written by `parcels --no-georef`: the file must be in pixels (a
    /// layer without CRS or with the `not_georeferenced` field); coordinates are kept.
    Pixels,
}

/// Reads every feature of every layer of `path`, into the coordinates `place` gives for its
/// patch; features for which it gives `None` are skipped. Errors: a feature of a georeferenced
/// layer read into pixels, or of a pixel layer read into a CRS (mixing the two).
pub fn read(path: &Path, place: &dyn Fn(i64) -> Result<Option<Place>>) -> Result<Vec<ReadParcel>> {
    let ds = Dataset::open(path).map_err(|e| Error::library(path, "GDAL", e))?;
    let mut out = Vec::new();
    for mut layer in ds.layers() {
        let name = layer.name();
        let pixels = layer.defn().field_index(fields::NOT_GEOREFERENCED).is_ok();
        let from = match layer.spatial_ref() {
            Some(mut srs) if !pixels => {
                srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
                Some(srs)
            }
            _ => None,
        };
        let mut transforms: HashMap<u32, CoordTransform> = HashMap::new();
        for feature in layer.features() {
            let Some((to, mut parcel)) = read_feature(&feature, path, place)? else {
                continue;
            };
            match (to, &from) {
                (Place::Pixels, None) => {}
                (Place::Epsg(epsg), Some(from)) => {
                    let ct = match transforms.entry(epsg) {
                        Entry::Occupied(e) => e.into_mut(),
                        Entry::Vacant(e) => e.insert(transform(from, &srs(epsg, path)?, path)?),
                    };
                    super::geometry::reproject(&mut parcel.geometry, ct, path)?;
                }
                (Place::Pixels, Some(from)) => {
                    return Err(Error::invalid(path, georeferenced_layer(&name, from)))
                }
                (Place::Epsg(_), None) => return Err(Error::invalid(path, pixel_layer(&name))),
            }
            out.push(parcel);
        }
    }
    Ok(out)
}

/// Why a georeferenced layer cannot be read into pixel coordinates.
fn georeferenced_layer(name: &str, srs: &SpatialRef) -> String {
    let crs = match (srs.auth_name(), srs.auth_code()) {
        (Some(auth), Ok(code)) => format!("{auth}:{code}"),
        _ => srs.name().unwrap_or_else(|| "a CRS".into()),
    };
    format!(
        "layer {name} is georeferenced ({crs}), but --no-georef reads parcels in pixel coordinates \
         (written by `parcels --no-georef`); rasterize it without --no-georef"
    )
}

/// Why a pixel layer cannot be read into a grid CRS.
fn pixel_layer(name: &str) -> String {
    format!(
        "layer {name} has no CRS: its coordinates are pixels, as `parcels --no-georef` writes \
         them; rasterize it with --no-georef"
    )
}

fn read_feature(
    f: &Feature,
    path: &Path,
    place: &dyn Fn(i64) -> Result<Option<Place>>,
) -> Result<Option<(Place, ReadParcel)>> {
    let fid = f.fid().unwrap_or_default();
    let bad = |what: String| Error::invalid(path, format!("feature {fid}: {what}"));
    let int = |name: &str| -> Result<Option<i64>> {
        let i = f
            .field_index(name)
            .map_err(|_| bad(format!("no field {name}")))?;
        f.field_as_integer64(i).map_err(|e| bad(e.to_string()))
    };
    let patch = int(fields::PATCH)?.ok_or_else(|| bad(format!("{} is null", fields::PATCH)))?;
    let Some(to) = place(patch)? else {
        return Ok(None);
    };
    let instance =
        int(fields::INSTANCE)?.ok_or_else(|| bad(format!("{} is null", fields::INSTANCE)))?;
    let class_id = int(fields::CLASS).unwrap_or(None);
    let geometry = f.geometry().ok_or_else(|| bad("no geometry".into()))?;
    let geometry = match geo_types::Geometry::try_from(geometry).map_err(|e| bad(e.to_string()))? {
        geo_types::Geometry::MultiPolygon(mp) => mp,
        geo_types::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        _ => return Err(bad("geometry is not a (multi)polygon".into())),
    };
    if let Err(e) = geometry.check_validation() {
        return Err(bad(format!("invalid geometry: {e}")));
    }
    Ok(Some((
        to,
        ReadParcel {
            patch,
            instance,
            class_id,
            geometry,
        },
    )))
}
