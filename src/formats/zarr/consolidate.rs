//! The root group and consolidated metadata (the zarr-python convention that lets
//! `xr.open_zarr` read every array's metadata in one request).

use super::arrays::Version;
use super::{zarr_error, Store};
use crate::Result;
use serde_json::{json, Map, Value};
use std::path::Path;
use zarrs::group::{Group, GroupBuilder, GroupMetadata};
use zarrs::metadata::v2::GroupMetadataV2;
use zarrs::storage::StoreKey;

/// The v2 consolidated metadata key.
const ZMETADATA: &str = ".zmetadata";

/// Writes the root group with the dataset attributes.
pub fn write_root_group(
    root: &Path,
    store: &Store,
    version: Version,
    attributes: Map<String, Value>,
) -> Result<()> {
    let group = match version {
        Version::V3 => GroupBuilder::new()
            .attributes(attributes)
            .build(store.clone(), "/"),
        Version::V2 => Group::new_with_metadata(
            store.clone(),
            "/",
            GroupMetadata::V2(GroupMetadataV2::new().with_attributes(attributes)),
        ),
    }
    .map_err(|e| zarr_error(root, e))?;
    group.store_metadata().map_err(|e| zarr_error(root, e))
}

/// Consolidates every array's metadata into the root: inline in `zarr.json` (v3) or in
/// `.zmetadata` (v2), each entry a verbatim copy of the array's own metadata document.
///
/// (zarrs' `Node::consolidate_metadata` abbreviates codecs without configuration to bare strings,
/// which zarr-python 3.1 rejects, hence the copy.)
pub fn consolidate(root: &Path, store: &Store, version: Version) -> Result<()> {
    match version {
        Version::V3 => consolidate_v3(root, store),
        Version::V2 => consolidate_v2(root, store),
    }
}

fn consolidate_v3(root: &Path, store: &Store) -> Result<()> {
    let documents = metadata_documents(root, store, &["zarr.json"])?;
    let mut group = documents
        .get("zarr.json")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| zarr_error(root, "zarr.json of the root group is missing"))?;
    let children: Map<String, Value> = documents
        .into_iter()
        .filter_map(|(key, doc)| Some((key.strip_suffix("/zarr.json")?.to_string(), doc)))
        .collect();
    group.insert(
        "consolidated_metadata".into(),
        json!({"kind": "inline", "must_understand": false, "metadata": children}),
    );
    put_json(root, store, "zarr.json", &Value::Object(group))
}

fn consolidate_v2(root: &Path, store: &Store) -> Result<()> {
    let metadata = metadata_documents(root, store, &[".zgroup", ".zarray", ".zattrs"])?;
    let document = json!({"metadata": metadata, "zarr_consolidated_format": 1});
    put_json(root, store, ZMETADATA, &document)
}

/// Every metadata document of the store whose key ends with one of `names`, by key.
fn metadata_documents(root: &Path, store: &Store, names: &[&str]) -> Result<Map<String, Value>> {
    let mut documents = Map::new();
    for key in store.list().map_err(|e| zarr_error(root, e))? {
        let name = key.as_str();
        let wanted = names
            .iter()
            .any(|m| name == *m || name.ends_with(&format!("/{m}")));
        if !wanted {
            continue;
        }
        let bytes = store
            .get(&key)
            .map_err(|e| zarr_error(root, e))?
            .ok_or_else(|| zarr_error(root, format!("{name} vanished while consolidating")))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| zarr_error(root, format!("{name}: {e}")))?;
        documents.insert(name.to_string(), value);
    }
    Ok(documents)
}

fn put_json(root: &Path, store: &Store, key: &str, value: &Value) -> Result<()> {
    let key = StoreKey::new(key).map_err(|e| zarr_error(root, e))?;
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| zarr_error(root, e))?;
    store
        .set(&key, bytes.into())
        .map_err(|e| zarr_error(root, e))
}
