//! The parcels file as an asset of the Collection, when `parcels` writes it into a GeoTIFF
//! export folder that has a catalog (`pastis-bridge parcels SRC OUT/parcels.gpkg`).

use super::COLLECTION;
use crate::formats::geotiff::is_geotiff_folder;
use crate::model::metadata_geojson::{read_json, write_json};
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::path::Path;

/// The Collection asset key of the parcels file.
pub const PARCELS_ASSET: &str = "parcels";

/// Adds `file` (the parcels just written, of media type `media_type`) to the Collection of the
/// GeoTIFF export folder holding it, as the asset [`PARCELS_ASSET`] with a relative href,
/// replacing an earlier one. Returns false, changing nothing, when `file` is not directly in an
/// export folder with a `collection.json`.
///
/// Errors: the Collection cannot be read or written.
pub fn add_parcels_asset(file: &Path, media_type: &str) -> Result<bool> {
    let (Some(root), Some(name)) = (file.parent(), file.file_name()) else {
        return Ok(false);
    };
    let root = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let path = root.join(COLLECTION);
    if !is_geotiff_folder(root) || !path.is_file() {
        return Ok(false);
    }
    let mut collection = read_json(&path)?;
    let Some(top) = collection.as_object_mut() else {
        return Err(Error::invalid(&path, "not a STAC Collection object"));
    };
    let assets = top
        .entry("assets")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(assets) = assets.as_object_mut() else {
        return Err(Error::invalid(&path, "`assets` is not an object"));
    };
    let asset = json!({
        "href": format!("./{}", name.to_string_lossy()),
        "type": media_type,
        "title": "Parcels: the polygons of every instance of INSTANCES, with their class",
        "roles": ["labels"],
    });
    assets.insert(PARCELS_ASSET.into(), asset);
    let aside = root.join(format!("{COLLECTION}.partial"));
    write_json(&aside, &collection)?;
    std::fs::rename(&aside, &path).map_err(|e| Error::io(&path, e))?;
    Ok(true)
}
