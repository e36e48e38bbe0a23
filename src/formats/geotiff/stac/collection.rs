//! The Collection, `collection.json`: what the export holds as a whole, and a link to each Item.

use super::assets::{classes, CLASS_ASSET};
use super::item::{day_end, day_start, href, patch_item, Bbox};
use super::{item_path, tiff_media_type, COLLECTION, EXTENSIONS, ITEMS, STAC_VERSION};
use crate::formats::geotiff::manifest::Manifest;
use crate::model::metadata_geojson::write_json;
use crate::model::{DatasetMeta, Date, Layer};
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::Path;

/// Where the PASTIS release and its terms of use are published (the Collection's `license`
/// link: the license is `other`, as the authors state it there).
const PASTIS_URL: &str = "https://github.com/VSainteuf/pastis-benchmark";

/// Writes `ROOT/collection.json` and `ROOT/items/<ID_PATCH>.json` for every patch of
/// `manifest`, the Collection named `id`, the assets Cloud Optimized GeoTIFFs if `cog`.
///
/// Returns a warning instead of writing anything when no patch has a date (a STAC Item needs a
/// time).
///
/// Errors: I/O on the files written; GDAL failing to take a grid's corners to WGS84.
pub fn write_catalog(
    root: &Path,
    id: &str,
    meta: &DatasetMeta,
    manifest: &Manifest,
    cog: bool,
) -> Result<Option<String>> {
    let dataset_dates = meta.patches.iter().filter_map(super::item::date_range);
    let Some(span) = dataset_dates.reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))) else {
        return Ok(Some(
            "no STAC catalog: no patch has a date (a STAC Item needs a time)".into(),
        ));
    };
    let folder = root.join(ITEMS);
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
    let mut items = Vec::with_capacity(manifest.patches.len());
    for (&patch, entry) in &manifest.patches {
        let Some(patch_meta) = meta.patch(patch) else {
            continue;
        };
        let item = patch_item(root, id, patch_meta, entry, cog, span)?;
        write_compact(&root.join(item_path(patch)), &item.item)?;
        // Only the id and bbox stay for the Collection: an Item holds an entry per band
        // (~1,000 for a patch with S2 and S1), and keeping every Item grew the export's peak
        // memory with the dataset (bench/RESULTS.md, "Peak memory").
        items.push((patch, item.bbox));
    }
    let collection = collection(id, meta, manifest, &items, span, cog);
    write_json(&root.join(COLLECTION), &collection)?;
    Ok(None)
}

/// An Item on one line (thousands of them: no indentation).
fn write_compact(path: &Path, value: &Value) -> Result<()> {
    let mut text = serde_json::to_vec(value)
        .map_err(|e| Error::invalid(path, format!("cannot serialise: {e}")))?;
    text.push(b'\n');
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn collection(
    id: &str,
    meta: &DatasetMeta,
    manifest: &Manifest,
    items: &[(i64, Option<Bbox>)],
    span: (Date, Date),
    cog: bool,
) -> Value {
    let bbox = union(items.iter().filter_map(|(_, bbox)| *bbox));
    json!({
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": EXTENSIONS,
        "id": id,
        "title": "PASTIS patches as GeoTIFF",
        "description": format!(
            "{} patches of the PASTIS crop-mapping dataset (Sentinel-2 and Sentinel-1 time \
             series with parcel annotations), one GeoTIFF per patch and layer on the patch's \
             Sentinel-2 UTM grid, written by pastis-bridge.",
            items.len()
        ),
        "license": "other",
        "providers": [
            {
                "name": "PASTIS authors (V. Sainte Fare Garnot, L. Landrieu)",
                "roles": ["producer", "licensor"],
                "url": PASTIS_URL,
            },
            {"name": "pastis-bridge", "roles": ["processor"]},
        ],
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [[day_start(span.0), day_end(span.1)]]},
        },
        "summaries": summaries(meta, manifest),
        "item_assets": item_assets(manifest, cog),
        "links": links(items),
    })
}

/// The union of some bboxes; the whole Earth when there is none (every patch written with
/// `--no-georef`): STAC requires a spatial extent.
fn union(bboxes: impl Iterator<Item = Bbox>) -> Bbox {
    bboxes
        .reduce(|a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
        .unwrap_or([-180.0, -90.0, 180.0, 90.0])
}

/// The tiles, folds and EPSG codes of the patches written, and TARGET's classes.
fn summaries(meta: &DatasetMeta, manifest: &Manifest) -> Value {
    let written = || {
        meta.patches
            .iter()
            .filter(|p| manifest.patches.contains_key(&p.id))
    };
    let tiles: BTreeSet<&str> = written().filter_map(|p| p.tile.as_deref()).collect();
    let folds: BTreeSet<i64> = written().filter_map(|p| p.fold).collect();
    let epsg: BTreeSet<u32> = manifest
        .patches
        .values()
        .filter_map(|e| e.grid.as_ref().map(|g| g.epsg))
        .collect();
    let mut out = Map::new();
    if !tiles.is_empty() {
        out.insert("TILE".into(), json!(tiles));
    }
    if !folds.is_empty() {
        out.insert("Fold".into(), json!(folds));
    }
    if !epsg.is_empty() {
        let codes: Vec<String> = epsg.iter().map(|c| format!("EPSG:{c}")).collect();
        out.insert("proj:code".into(), json!(codes));
        out.insert("proj:epsg".into(), json!(epsg));
    }
    out.insert("classification:classes".into(), classes());
    Value::Object(out)
}

/// What every Item's assets of each key are (STAC 1.1 `item_assets`).
fn item_assets(manifest: &Manifest, cog: bool) -> Value {
    let mut keys: BTreeSet<(Layer, bool)> = BTreeSet::new();
    for entry in manifest.patches.values() {
        for (&layer, le) in entry.layers.iter().filter(|(_, le)| le.file.is_some()) {
            keys.insert((layer, false));
            if le.classes.is_some() {
                keys.insert((layer, true));
            }
        }
    }
    let mut out = Map::new();
    for (layer, class_raster) in keys {
        let (key, title, role) = match (class_raster, layer.is_series()) {
            (true, _) => (
                CLASS_ASSET.to_string(),
                "TARGET classes (channel 0)",
                "labels",
            ),
            (false, true) => (layer.name().to_string(), layer.name(), "data"),
            (false, false) => (layer.name().to_string(), layer.name(), "labels"),
        };
        let asset = json!({"type": tiff_media_type(cog), "title": title, "roles": [role]});
        out.insert(key, asset);
    }
    Value::Object(out)
}

fn links(items: &[(i64, Option<Bbox>)]) -> Value {
    let mut links = vec![
        json!({"rel": "root", "href": format!("./{COLLECTION}"), "type": "application/json"}),
        json!({"rel": "license", "href": PASTIS_URL, "type": "text/html"}),
    ];
    links.extend(
        items.iter().map(
            |(id, _)| json!({"rel": "item", "href": href(*id), "type": "application/geo+json"}),
        ),
    );
    Value::Array(links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PatchMeta;

    #[test]
    fn no_dates_no_catalog_but_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let meta = DatasetMeta {
            patches: vec![PatchMeta::new(10000)],
            ..DatasetMeta::default()
        };
        let manifest = Manifest::new(&meta);
        let warning = write_catalog(dir.path(), "x", &meta, &manifest, false).unwrap();
        assert!(warning.unwrap().contains("no patch has a date"));
        assert!(!dir.path().join(COLLECTION).exists());
        assert!(!dir.path().join(ITEMS).exists());
    }

    #[test]
    fn extent_of_no_georeferenced_patch_is_the_earth() {
        assert_eq!(union(std::iter::empty()), [-180.0, -90.0, 180.0, 90.0]);
        let a = [1.0, 40.0, 2.0, 41.0];
        let b = [-1.0, 45.0, 0.0, 46.0];
        assert_eq!(union([a, b].into_iter()), [-1.0, 40.0, 2.0, 46.0]);
    }
}
