//! GeoJSON output, streamed feature by feature with the `geojson` crate.
//!
//! WGS84 output is RFC 7946 (no `crs` member, longitude first). Native output carries the legacy
//! `crs` member (`urn:ogc:def:crs:EPSG::326xx`), so every patch written must share one grid CRS.
//! Pixel output (`--no-georef`) has `"crs": null`, which the 2008 GeoJSON specification reads as
//! "no CRS can be assumed", and a `not_georeferenced` property on every feature. (GDAL 3.6 still
//! gives every GeoJSON layer WGS84; `rasterize` tells pixel files by that property.)

use super::{fields, OutputCrs, Parcel, PatchResult};
use crate::{Error, Result};
use geojson::{Feature, FeatureCollection, FeatureWriter, Geometry, GeometryValue, JsonObject};
use serde_json::{json, Value};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes every patch's parcels to `path`; returns the number of features. Without any parcel
/// the file is still a valid, empty FeatureCollection (with the `crs` member in native CRS).
pub fn write(
    path: &Path,
    crs: OutputCrs,
    patches: impl Iterator<Item = PatchResult>,
) -> Result<u64> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut file = Some(BufWriter::new(file));
    let mut writer = None;
    let lib = |e: geojson::Error| Error::library(path, "GeoJSON", e);
    let mut epsg = None;
    let member = |epsg: Option<u32>| match crs {
        OutputCrs::Wgs84 => None,
        OutputCrs::Native => epsg.map(crs_member),
        OutputCrs::Pixels => Some(("crs".to_string(), Value::Null)),
    };
    let mut count = 0;
    for (id, patch) in patches {
        let patch = patch?;
        if crs == OutputCrs::Native {
            if let Some(patch_epsg) = patch.epsg {
                check_crs(&mut epsg, id, patch_epsg)?;
            }
        }
        for parcel in &patch.parcels {
            // The writer starts with the first feature: geojson 1.0 closes a collection that has
            // foreign members but no feature without its `"features": [`.
            let w = match (&mut writer, file.take()) {
                (Some(w), _) => w,
                (None, Some(f)) => writer.insert(start(f, member(epsg), path)?),
                (None, None) => return Err(Error::invalid(path, "GeoJSON writer lost its file")),
            };
            w.write_feature(&feature(parcel)).map_err(lib)?;
            count += 1;
        }
    }
    if let Some(mut w) = writer {
        w.finish().map_err(lib)?;
        w.flush().map_err(lib)?;
    } else if let Some(mut f) = file {
        let empty = FeatureCollection {
            bbox: None,
            features: Vec::new(),
            foreign_members: member(epsg).map(|m| [m].into_iter().collect()),
        };
        serde_json::to_writer(&mut f, &empty).map_err(|e| Error::library(path, "GeoJSON", e))?;
        f.flush().map_err(|e| Error::io(path, e))?;
    }
    Ok(count)
}

/// A feature writer on `file`, with the `crs` member (native CRS, or null for pixels) first.
fn start(
    file: BufWriter<File>,
    crs: Option<(String, Value)>,
    path: &Path,
) -> Result<FeatureWriter<BufWriter<File>>> {
    let mut writer = FeatureWriter::from_writer(file);
    if let Some((key, value)) = crs {
        writer
            .write_foreign_member(&key, &value)
            .map_err(|e| Error::library(path, "GeoJSON", e))?;
    }
    Ok(writer)
}

/// The legacy `crs` member naming `epsg`: `urn:ogc:def:crs:EPSG::32630`.
fn crs_member(epsg: u32) -> (String, Value) {
    let name = format!("urn:ogc:def:crs:EPSG::{epsg}");
    let value = json!({"type": "name", "properties": {"name": name}});
    ("crs".into(), value)
}

/// Records the CRS of the first patch; fails if patch `id` is in another CRS than earlier ones.
fn check_crs(epsg: &mut Option<u32>, id: i64, patch_epsg: u32) -> Result<()> {
    match *epsg {
        None => {
            *epsg = Some(patch_epsg);
            Ok(())
        }
        Some(e) if e == patch_epsg => Ok(()),
        Some(e) => Err(Error::Unsupported {
            format: "GeoJSON",
            what: format!(
                "patch {id} lies in EPSG:{patch_epsg} but earlier patches in EPSG:{e}: a native-CRS GeoJSON holds \
                 one CRS; write WGS84 (--crs wgs84), a .gpkg (one layer per CRS) or select patches of one zone"
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
    if let Some(why) = &p.not_georeferenced {
        put(fields::NOT_GEOREFERENCED, why.clone().into());
    }
    Feature {
        geometry: Some(Geometry::new(GeometryValue::from(&p.geometry))),
        properties: Some(props),
        ..Feature::default()
    }
}
