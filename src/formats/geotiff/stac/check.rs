//! Does the catalog still describe the TIFFs? Used by `inspect`: a patch of the manifest without
//! its Item, an Item of no patch, an asset whose file is missing, or `proj:*` fields that are not
//! what the TIFF says (its CRS, geotransform and size, read with GDAL).

use super::{item_path, proj_transform, COLLECTION};
use crate::formats::geotiff::manifest::Manifest;
use crate::model::metadata_geojson::read_json;
use gdal::Dataset;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One way the catalog disagrees with the export.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogProblem {
    /// The catalog file concerned (the Collection or an Item).
    pub path: PathBuf,
    /// The patch concerned, if any.
    pub patch: Option<i64>,
    /// What is wrong, with the values found.
    pub message: String,
}

/// Checks `ROOT/collection.json` and its Items against the manifest and the TIFFs. No
/// Collection, no problem: exports written before the catalog existed have none.
pub fn check_catalog(root: &Path, manifest: &Manifest) -> Vec<CatalogProblem> {
    let path = root.join(COLLECTION);
    if !path.is_file() {
        return Vec::new();
    }
    let collection = match read_json(&path) {
        Ok(c) => c,
        Err(e) => return vec![problem(&path, None, e.report())],
    };
    let linked = item_links(&collection);
    let mut problems = missing_collection_assets(&path, &collection);
    for (&id, entry) in &manifest.patches {
        let href = format!("./{}", item_path(id));
        if !linked.contains(&href) {
            let msg = format!("patch {id} has no item link ({href}) in the collection");
            problems.push(problem(&path, Some(id), msg));
        }
        let item_file = root.join(item_path(id));
        if !item_file.is_file() {
            let msg = format!("patch {id}: its STAC item is missing");
            problems.push(problem(&item_file, Some(id), msg));
            continue;
        }
        problems.extend(check_item(&item_file, id, entry.grid.is_some()));
    }
    let known: BTreeSet<String> = manifest
        .patches
        .keys()
        .map(|id| format!("./{}", item_path(*id)))
        .collect();
    for href in linked.difference(&known) {
        let msg = format!("item link {href} names no patch of the manifest");
        problems.push(problem(&path, None, msg));
    }
    problems
}

fn problem(path: &Path, patch: Option<i64>, message: impl Into<String>) -> CatalogProblem {
    CatalogProblem {
        path: path.to_path_buf(),
        patch,
        message: message.into(),
    }
}

/// The Collection's own assets (the parcels file) whose file is missing.
fn missing_collection_assets(path: &Path, collection: &Value) -> Vec<CatalogProblem> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let assets = collection["assets"].as_object().into_iter().flatten();
    assets
        .filter_map(|(key, asset)| {
            let href = asset["href"].as_str().unwrap_or("");
            let missing = href.is_empty() || !folder.join(href).is_file();
            missing.then(|| problem(path, None, format!("asset {key}: {href:?} is missing")))
        })
        .collect()
}

/// The hrefs of the Collection's `item` links.
fn item_links(collection: &Value) -> BTreeSet<String> {
    let links = collection["links"].as_array().into_iter().flatten();
    links
        .filter(|l| l["rel"] == "item")
        .filter_map(|l| l["href"].as_str().map(str::to_string))
        .collect()
}

/// One Item: every asset's file exists and has the CRS, transform and size the Item states.
fn check_item(path: &Path, id: i64, georeferenced: bool) -> Vec<CatalogProblem> {
    let item = match read_json(path) {
        Ok(item) => item,
        Err(e) => return vec![problem(path, Some(id), e.report())],
    };
    let mut problems = Vec::new();
    if item["id"] != Value::String(id.to_string()) {
        let msg = format!("item id {} is not patch {id}", item["id"]);
        problems.push(problem(path, Some(id), msg));
    }
    if georeferenced == item["geometry"].is_null() {
        let msg = match georeferenced {
            true => "the TIFFs are georeferenced but the item has no geometry",
            false => "the TIFFs have no CRS (--no-georef) but the item has a geometry",
        };
        problems.push(problem(path, Some(id), msg));
    }
    let folder = path.parent().unwrap_or(Path::new("."));
    let assets = item["assets"].as_object().into_iter().flatten();
    for (key, asset) in assets {
        let Some(href) = asset["href"].as_str() else {
            problems.push(problem(path, Some(id), format!("asset {key} has no href")));
            continue;
        };
        let file = folder.join(href);
        if !file.is_file() {
            let msg = format!("asset {key}: {href} is missing");
            problems.push(problem(path, Some(id), msg));
            continue;
        }
        let said = stated_grid(&item["properties"], asset);
        if let Some(msg) = compare_with_tiff(&file, &said) {
            problems.push(problem(
                path,
                Some(id),
                format!("asset {key} ({href}): {msg}"),
            ));
        }
    }
    problems
}

/// The grid an Item states for an asset: the asset's own `proj:*` fields, else the Item's.
#[derive(Debug, Default, PartialEq)]
struct StatedGrid {
    epsg: Option<u64>,
    transform: Option<Vec<f64>>,
    shape: Option<Vec<u64>>,
}

fn stated_grid(properties: &Value, asset: &Value) -> StatedGrid {
    let field = |name: &str| {
        asset
            .get(name)
            .or_else(|| properties.get(name))
            .filter(|v| !v.is_null())
    };
    let numbers = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<f64>>())
    };
    StatedGrid {
        epsg: field("proj:epsg").and_then(Value::as_u64),
        transform: field("proj:transform").and_then(numbers),
        shape: field("proj:shape").and_then(|v| {
            v.as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
        }),
    }
}

/// What differs between the stated grid and the TIFF, if anything.
fn compare_with_tiff(file: &Path, said: &StatedGrid) -> Option<String> {
    let ds = match Dataset::open(file) {
        Ok(ds) => ds,
        Err(e) => return Some(format!("GDAL cannot open it: {e}")),
    };
    let epsg = ds
        .spatial_ref()
        .ok()
        .and_then(|s| s.auth_code().ok())
        .and_then(|c| u64::try_from(c).ok());
    let georeferenced = epsg.is_some();
    let (w, h) = ds.raster_size();
    let mut differences = Vec::new();
    if said.epsg != epsg {
        differences.push(format!(
            "proj:epsg {:?}, the TIFF's CRS EPSG {:?}",
            said.epsg, epsg
        ));
    }
    if let Some(shape) = &said.shape {
        if shape != &[h as u64, w as u64] {
            differences.push(format!("proj:shape {shape:?}, the TIFF is {h} x {w}"));
        }
    }
    match (&said.transform, ds.geo_transform().ok()) {
        (Some(t), Some(gt)) if georeferenced => {
            let expected = proj_transform(&gt);
            let same = t.len() == 6 && t.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6);
            if !same {
                differences.push(format!("proj:transform {t:?}, the TIFF's {expected:?}"));
            }
        }
        (None, _) if georeferenced => differences.push("no proj:transform".into()),
        (Some(t), _) if !georeferenced => {
            differences.push(format!("proj:transform {t:?} on a TIFF without CRS"))
        }
        _ => {}
    }
    (!differences.is_empty()).then(|| differences.join("; "))
}
