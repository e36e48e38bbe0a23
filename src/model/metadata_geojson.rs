//! The metadata.geojson codec (and the JSON files beside it, NORM_*_patch.json), to and from the
//! model: the PASTIS folder, the Zarr and HDF5 attributes and the GeoTIFF manifest all carry the
//! dataset's metadata as this one document.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::{DatasetMeta, Date, Layer, PatchMeta};
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Property keys the model holds in typed fields; everything else goes to `extra`.
const ID_PATCH: &str = "ID_PATCH";
const FOLD: &str = "Fold";
const TILE: &str = "TILE";
const N_PARCEL: &str = "N_Parcel";
const PARCEL_COVER: &str = "Parcel_Cover";

/// Reads a JSON file, naming it in every error.
pub fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::invalid(path, format!("not valid JSON: {e}")))
}

/// Writes pretty JSON followed by a newline.
pub fn write_json(path: &Path, value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::invalid(path, format!("cannot be written as JSON: {e}")))?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Parses a metadata.geojson document into the dataset model (norms left empty).
pub fn parse_metadata(path: &Path, doc: Value) -> Result<DatasetMeta> {
    let Value::Object(mut top) = doc else {
        return Err(Error::invalid(
            path,
            "expected a GeoJSON FeatureCollection object",
        ));
    };
    if top.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(Error::invalid(
            path,
            "expected \"type\": \"FeatureCollection\"",
        ));
    }
    let features = match top.remove("features") {
        Some(Value::Array(f)) => f,
        _ => {
            return Err(Error::invalid(
                path,
                "the FeatureCollection has no \"features\" array",
            ))
        }
    };
    top.remove("type");
    let crs = top.remove("crs").map(|c| crs_name(path, &c)).transpose()?;
    let mut seen = HashSet::new();
    let mut patches = Vec::with_capacity(features.len());
    for (index, feature) in features.into_iter().enumerate() {
        let patch = parse_feature(feature)
            .map_err(|m| Error::invalid(path, format!("feature {index}: {m}")))?;
        if !seen.insert(patch.id) {
            return Err(Error::invalid(
                path,
                format!(
                    "feature {index}: ID_PATCH {} appears more than once",
                    patch.id
                ),
            ));
        }
        patches.push(patch);
    }
    Ok(DatasetMeta {
        patches,
        crs,
        collection_extra: top,
        norms: BTreeMap::new(),
    })
}

fn crs_name(path: &Path, crs: &Value) -> Result<String> {
    crs.pointer("/properties/name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::invalid(path, format!("unsupported \"crs\" member {crs}")))
}

fn parse_feature(feature: Value) -> std::result::Result<PatchMeta, String> {
    let Value::Object(mut feature) = feature else {
        return Err("not a JSON object".into());
    };
    let mut props = match feature.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => return Err("has no \"properties\" object".into()),
    };
    let id = take_int(&mut props, ID_PATCH)?.ok_or("has no ID_PATCH property")?;
    let mut meta = PatchMeta::new(id);
    meta.feature_id = feature.remove("id");
    meta.fold = take_int(&mut props, FOLD)?;
    meta.n_parcel = take_int(&mut props, N_PARCEL)?;
    meta.tile = match props.remove(TILE) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => return Err(format!("TILE is {other}, expected a string")),
    };
    meta.parcel_cover = match props.remove(PARCEL_COVER) {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .ok_or(format!("Parcel_Cover is {v}, expected a number"))?,
        ),
    };
    for layer in Layer::SERIES {
        let Some(key) = layer.dates_key() else {
            continue;
        };
        if let Some(v) = props.remove(key) {
            meta.dates.insert(layer, parse_dates(key, v)?);
        }
    }
    meta.footprint = match feature.remove("geometry") {
        None | Some(Value::Null) => None,
        Some(g) => Some(
            serde_json::from_value::<geojson::Geometry>(g)
                .map_err(|e| format!("invalid geometry: {e}"))?,
        ),
    };
    meta.extra = props;
    Ok(meta)
}

fn take_int(props: &mut Map<String, Value>, key: &str) -> std::result::Result<Option<i64>, String> {
    match props.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or(format!("{key} is {v}, expected an integer")),
    }
}

/// Parses `{"0": 20180924, "1": ...}` (or the same object serialised as a JSON string).
fn parse_dates(key: &str, value: Value) -> std::result::Result<Vec<Date>, String> {
    let value = match value {
        Value::String(s) => {
            serde_json::from_str(&s).map_err(|e| format!("{key} is not a JSON object: {e}"))?
        }
        v => v,
    };
    let Value::Object(map) = value else {
        return Err(format!(
            "{key} is {value}, expected an object {{\"0\": yyyymmdd, ...}}"
        ));
    };
    let mut indexed = Vec::with_capacity(map.len());
    for (k, v) in map {
        let i: usize = k
            .parse()
            .map_err(|_| format!("{key} has the key '{k}', expected 0, 1, 2..."))?;
        let date = v
            .as_u64()
            .and_then(|d| Date::try_from(d).ok())
            .filter(|d| (19000101..=29991231).contains(d))
            .ok_or(format!(
                "{key}[{k}] is {v}, expected a date as an integer yyyymmdd"
            ))?;
        indexed.push((i, date));
    }
    indexed.sort_unstable();
    if indexed.iter().enumerate().any(|(pos, (i, _))| pos != *i) {
        return Err(format!(
            "{key} keys are not 0..{} without gaps",
            indexed.len()
        ));
    }
    Ok(indexed.into_iter().map(|(_, d)| d).collect())
}

/// The dates object as PASTIS writes it: `{"0": 20180924, ...}`.
pub fn dates_object(dates: &[Date]) -> Value {
    Value::Object(
        dates
            .iter()
            .enumerate()
            .map(|(i, d)| (i.to_string(), json!(d)))
            .collect(),
    )
}

/// The properties object of one patch, in PASTIS' key order, extras last.
pub fn patch_properties(meta: &PatchMeta) -> Map<String, Value> {
    let mut props = Map::new();
    props.insert(ID_PATCH.into(), json!(meta.id));
    if let Some(n) = meta.n_parcel {
        props.insert(N_PARCEL.into(), json!(n));
    }
    if let Some(c) = meta.parcel_cover {
        props.insert(PARCEL_COVER.into(), json!(c));
    }
    if let Some(t) = &meta.tile {
        props.insert(TILE.into(), json!(t));
    }
    for (layer, dates) in &meta.dates {
        if let Some(key) = layer.dates_key() {
            props.insert(key.into(), dates_object(dates));
        }
    }
    if let Some(f) = meta.fold {
        props.insert(FOLD.into(), json!(f));
    }
    props.extend(meta.extra.clone());
    props
}

/// The metadata.geojson document of a dataset.
pub fn metadata_document(meta: &DatasetMeta) -> Value {
    let mut top = Map::new();
    top.insert("type".into(), json!("FeatureCollection"));
    top.extend(meta.collection_extra.clone());
    if let Some(crs) = &meta.crs {
        top.insert(
            "crs".into(),
            json!({"type": "name", "properties": {"name": crs}}),
        );
    }
    let features = meta.patches.iter().map(feature).collect();
    top.insert("features".into(), Value::Array(features));
    Value::Object(top)
}

fn feature(meta: &PatchMeta) -> Value {
    let mut f = Map::new();
    f.insert("type".into(), json!("Feature"));
    if let Some(id) = &meta.feature_id {
        f.insert("id".into(), id.clone());
    }
    f.insert("properties".into(), Value::Object(patch_properties(meta)));
    let geometry = meta
        .footprint
        .as_ref()
        .map(|g| {
            // A geojson Geometry holds only numbers, strings and arrays: it always serialises.
            #[allow(clippy::expect_used)]
            serde_json::to_value(g).expect("geometries serialise")
        })
        .unwrap_or(Value::Null);
    f.insert("geometry".into(), geometry);
    Value::Object(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "type": "FeatureCollection",
            "name": "metadata",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}},
            "features": [{
                "type": "Feature", "id": "10000",
                "properties": {"ID_PATCH": 10000, "N_Parcel": 119, "Parcel_Cover": 0.808,
                    "TILE": "t30uxv", "dates-S2": {"0": 20180924, "1": 20180929}, "Fold": 1, "other": [1]},
                "geometry": {"type": "MultiPolygon", "coordinates": [[[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]]}
            }]
        })
    }

    #[test]
    fn metadata_round_trips() {
        let meta = parse_metadata(Path::new("m.geojson"), doc()).unwrap();
        let p = &meta.patches[0];
        assert_eq!((p.id, p.fold, p.n_parcel), (10000, Some(1), Some(119)));
        assert_eq!(p.dates[&Layer::S2], vec![20180924, 20180929]);
        assert_eq!(meta.crs.as_deref(), Some("urn:ogc:def:crs:EPSG::2154"));
        assert_eq!(metadata_document(&meta), doc());
    }

    #[test]
    fn dates_as_json_strings_are_accepted() {
        let mut d = doc();
        d["features"][0]["properties"]["dates-S2"] = json!("{\"0\": 20180924}");
        let meta = parse_metadata(Path::new("m.geojson"), d).unwrap();
        assert_eq!(meta.patches[0].dates[&Layer::S2], vec![20180924]);
    }

    #[test]
    fn bad_metadata_names_the_problem() {
        let mut d = doc();
        d["features"][0]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("ID_PATCH");
        let err = parse_metadata(Path::new("m.geojson"), d)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("m.geojson: feature 0: has no ID_PATCH"),
            "{err}"
        );
        let mut d = doc();
        let f = d["features"][0].clone();
        d["features"].as_array_mut().unwrap().push(f);
        let err = parse_metadata(Path::new("m.geojson"), d)
            .unwrap_err()
            .to_string();
        assert!(err.contains("appears more than once"), "{err}");
    }
}
