//! One STAC Item per patch: WGS84 geometry from the recovered UTM grid, the patch's dates, its
//! PASTIS properties, the projection fields of its TIFFs and one asset per TIFF.

use super::assets::{layer_assets, raster_shape};
use super::{item_path, proj_transform, COLLECTION, EXTENSIONS, STAC_VERSION};
use crate::formats::geotiff::manifest::{GridEntry, PatchEntry};
use crate::georef::{corners, to_lonlat};
use crate::model::{Date, PatchMeta};
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::path::Path;

/// A WGS84 bounding box `[west, south, east, north]`, degrees.
pub type Bbox = [f64; 4];

/// An Item and what the Collection's extent needs from it.
#[derive(Debug)]
pub struct PatchItem {
    /// The Item document.
    pub item: Value,
    /// Its WGS84 bbox; `None` for a patch written without georeferencing.
    pub bbox: Option<Bbox>,
}

/// The Item of patch `meta` written as `entry`, in the Collection `collection`, its assets
/// `cog` or not. `dates` stands in when the patch has no date of its own (STAC needs a time).
///
/// Errors: GDAL's, naming `root`'s TIFF, when the grid's corners cannot be taken to WGS84.
pub fn patch_item(
    root: &Path,
    collection: &str,
    meta: &PatchMeta,
    entry: &PatchEntry,
    cog: bool,
    dataset_dates: (Date, Date),
) -> Result<PatchItem> {
    let shape = raster_shape(entry);
    let grid = entry.grid.as_ref().zip(shape);
    let ring = match grid {
        Some((g, (h, w))) => Some(lonlat_ring(root, meta.id, g, h, w)?),
        None => None,
    };
    let bbox = ring.as_deref().map(bbox_of);
    let mut properties = Map::new();
    time_fields(&mut properties, date_range(meta).unwrap_or(dataset_dates));
    pastis_fields(&mut properties, meta);
    if let Some((g, (h, w))) = grid {
        projection_fields(&mut properties, g, h, w);
    }
    let mut item = Map::new();
    item.insert("type".into(), json!("Feature"));
    item.insert("stac_version".into(), json!(STAC_VERSION));
    item.insert("stac_extensions".into(), json!(EXTENSIONS));
    item.insert("id".into(), json!(meta.id.to_string()));
    item.insert(
        "geometry".into(),
        ring.as_deref().map_or(Value::Null, polygon),
    );
    if let Some(b) = bbox {
        item.insert("bbox".into(), json!(b));
    }
    item.insert("properties".into(), Value::Object(properties));
    item.insert("links".into(), links());
    let assets = layer_assets(root, meta, entry, cog);
    item.insert("assets".into(), Value::Object(assets));
    item.insert("collection".into(), json!(collection));
    Ok(PatchItem {
        item: Value::Object(item),
        bbox,
    })
}

/// The raster's corners, UL, LL, LR, UR and UL again (counterclockwise, RFC 7946), in WGS84.
fn lonlat_ring(
    root: &Path,
    id: i64,
    grid: &GridEntry,
    height: usize,
    width: usize,
) -> Result<Vec<[f64; 2]>> {
    let [ul, ur, lr, ll] = corners(&grid.geotransform, height, width);
    let lonlat = to_lonlat(grid.epsg, &[ul, ll, lr, ur, ul]).map_err(|e| {
        Error::library_in(
            root,
            "GDAL",
            format!("patch {id}: its corners from EPSG:{} to WGS84", grid.epsg),
            e,
        )
    })?;
    Ok(lonlat.into_iter().map(|(x, y)| [x, y]).collect())
}

fn bbox_of(ring: &[[f64; 2]]) -> Bbox {
    let fold =
        |f: fn(f64, f64) -> f64, i: usize, start: f64| ring.iter().map(|p| p[i]).fold(start, f);
    [
        fold(f64::min, 0, f64::INFINITY),
        fold(f64::min, 1, f64::INFINITY),
        fold(f64::max, 0, f64::NEG_INFINITY),
        fold(f64::max, 1, f64::NEG_INFINITY),
    ]
}

fn polygon(ring: &[[f64; 2]]) -> Value {
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// The first and last date of any series of a patch.
pub fn date_range(meta: &PatchMeta) -> Option<(Date, Date)> {
    let all = meta.dates.values().flatten().copied();
    let first = all.clone().min()?;
    Some((first, all.max().unwrap_or(first)))
}

/// `datetime` null, `start_datetime` the first day's start and `end_datetime` the last day's end
/// (PASTIS dates are days, UTC).
fn time_fields(properties: &mut Map<String, Value>, (first, last): (Date, Date)) {
    properties.insert("datetime".into(), Value::Null);
    properties.insert("start_datetime".into(), json!(day_start(first)));
    properties.insert("end_datetime".into(), json!(day_end(last)));
}

/// `20180924` → `2018-09-24T00:00:00Z`.
pub fn day_start(date: Date) -> String {
    format!(
        "{}T00:00:00Z",
        crate::formats::geotiff::bands::iso_date(date)
    )
}

/// `20180924` → `2018-09-24T23:59:59Z`.
pub fn day_end(date: Date) -> String {
    format!(
        "{}T23:59:59Z",
        crate::formats::geotiff::bands::iso_date(date)
    )
}

/// The dataset's own properties, named as in metadata.geojson.
fn pastis_fields(properties: &mut Map<String, Value>, meta: &PatchMeta) {
    properties.insert("ID_PATCH".into(), json!(meta.id));
    if let Some(fold) = meta.fold {
        properties.insert("Fold".into(), json!(fold));
    }
    if let Some(tile) = &meta.tile {
        properties.insert("TILE".into(), json!(tile));
    }
    if let Some(n) = meta.n_parcel {
        properties.insert("N_Parcel".into(), json!(n));
    }
    if let Some(cover) = meta.parcel_cover {
        properties.insert("Parcel_Cover".into(), json!(cover));
    }
}

/// The projection extension's fields of a `height` x `width` grid, as the TIFFs carry it.
fn projection_fields(properties: &mut Map<String, Value>, grid: &GridEntry, h: usize, w: usize) {
    let [ul, _, lr, _] = corners(&grid.geotransform, h, w);
    properties.insert("proj:code".into(), json!(format!("EPSG:{}", grid.epsg)));
    properties.insert("proj:epsg".into(), json!(grid.epsg));
    properties.insert("proj:shape".into(), json!([h, w]));
    properties.insert(
        "proj:transform".into(),
        json!(proj_transform(&grid.geotransform)),
    );
    let bbox = [
        ul.0.min(lr.0),
        ul.1.min(lr.1),
        ul.0.max(lr.0),
        ul.1.max(lr.1),
    ];
    properties.insert("proj:bbox".into(), json!(bbox));
}

/// Root, parent and collection: the Collection, one folder up.
fn links() -> Value {
    let collection = format!("../{COLLECTION}");
    let link = |rel: &str| json!({"rel": rel, "href": collection, "type": "application/json"});
    json!([link("root"), link("parent"), link("collection")])
}

/// The Item's path, for its links from the Collection.
pub fn href(id: i64) -> String {
    format!("./{}", item_path(id))
}
