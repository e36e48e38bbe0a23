//! GeoJSON output, streamed feature by feature with the `geojson` crate.
//!
//! WGS84 output is RFC 7946 (no `crs` member, longitude first). Native output carries the legacy
//! `crs` member (`urn:ogc:def:crs:EPSG::326xx`), so every patch written must share one grid CRS.

use super::{fields, OutputCrs, Parcel, PatchResult};
use crate::{Error, Result};
use geojson::{Feature, FeatureWriter, Geometry, GeometryValue, JsonObject};
use serde_json::{json, Value};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Writes every patch's parcels to `path`; returns the number of features.
pub fn write(
    path: &Path,
    crs: OutputCrs,
    patches: impl Iterator<Item = PatchResult>,
) -> Result<u64> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut writer = FeatureWriter::from_writer(BufWriter::new(file));
    let lib = |e: geojson::Error| Error::library(path, "GeoJSON", e);
    let mut epsg = None;
    let mut count = 0;
    for (_, parcels) in patches {
        for parcel in parcels? {
            if crs == OutputCrs::Native {
                check_crs(&mut writer, &mut epsg, &parcel, path)?;
            }
            writer.write_feature(&feature(&parcel)).map_err(lib)?;
            count += 1;
        }
    }
    writer.finish().map_err(lib)?;
    writer.flush().map_err(lib)?;
    Ok(count)
}

/// Writes the `crs` member before the first feature; fails if a later patch is in another CRS.
fn check_crs(
    writer: &mut FeatureWriter<BufWriter<File>>,
    epsg: &mut Option<u32>,
    parcel: &Parcel,
    path: &Path,
) -> Result<()> {
    match *epsg {
        None => {
            let name = format!("urn:ogc:def:crs:EPSG::{}", parcel.epsg);
            let crs = json!({"type": "name", "properties": {"name": name}});
            writer
                .write_foreign_member("crs", &crs)
                .map_err(|e| Error::library(path, "GeoJSON", e))?;
            *epsg = Some(parcel.epsg);
            Ok(())
        }
        Some(e) if e == parcel.epsg => Ok(()),
        Some(e) => Err(Error::Unsupported {
            format: "GeoJSON",
            what: format!(
                "patch {} lies in EPSG:{} but earlier patches in EPSG:{e}: a native-CRS GeoJSON holds \
                 one CRS; write WGS84 (--crs wgs84), a .gpkg (one layer per CRS) or select patches of one zone",
                parcel.patch, parcel.epsg
            ),
        }),
    }
}

/// One parcel as a GeoJSON Feature.
fn feature(p: &Parcel) -> Feature {
    let mut props = JsonObject::new();
    let mut put = |k: &str, v: Value| {
        props.insert(k.to_string(), v);
    };
    put(fields::PATCH, p.patch.into());
    put(fields::INSTANCE, p.instance.into());
    put(fields::PARCEL, p.parcel_id.into());
    put(fields::CLASS, p.class_id.into());
    put(fields::CLASS_NAME, p.class_name().into());
    put(fields::PIXELS, p.pixels.into());
    put(fields::AREA, p.area_m2.into());
    put(fields::FOLD, p.fold.into());
    put(fields::TILE, p.tile.clone().into());
    Feature {
        geometry: Some(Geometry::new(GeometryValue::from(&p.geometry))),
        properties: Some(props),
        ..Feature::default()
    }
}
