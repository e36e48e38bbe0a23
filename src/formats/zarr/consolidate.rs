//! The root group and consolidated metadata (the zarr-python convention that lets
//! `xr.open_zarr` read every array's metadata in one request).

use super::arrays::Version;
use super::{zarr_error, zarr_error_in, Store};
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::path::Path;
use zarrs::group::{Group, GroupBuilder, GroupMetadata};
use zarrs::metadata::v2::GroupMetadataV2;
use zarrs::storage::StoreKey;

/// The v2 consolidated metadata key.
const ZMETADATA: &str = ".zmetadata";

/// Writes the root group with the dataset `attributes` and the consolidated metadata of every
/// array, root metadata LAST: inline in `zarr.json` (v3), or `.zmetadata` then `.zattrs` then
/// `.zgroup` (v2). A store is recognised by `zarr.json` / `.zgroup`, so until this returns it reads
/// as incomplete, which matters on object storage, where nothing can be renamed into place.
///
/// Each consolidated entry is a verbatim copy of the array's own metadata document. (zarrs'
/// `Node::consolidate_metadata` abbreviates codecs without configuration to bare strings, which
/// zarr-python 3.1 rejects, hence the copy.)
pub fn write_root(
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
    match group.metadata() {
        GroupMetadata::V3(metadata) => {
            let document = serde_json::to_value(metadata).map_err(|e| zarr_error(root, e))?;
            consolidate_v3(root, store, document)
        }
        GroupMetadata::V2(metadata) => {
            consolidate_v2(root, store, metadata)?;
            group.store_metadata().map_err(|e| zarr_error(root, e))
        }
    }
}

fn consolidate_v3(root: &Path, store: &Store, group: Value) -> Result<()> {
    let mut group = group
        .as_object()
        .cloned()
        .ok_or_else(|| Error::invalid(root, "root group metadata is not an object"))?;
    let documents = metadata_documents(root, store, &["zarr.json"])?;
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

fn consolidate_v2(root: &Path, store: &Store, group: &GroupMetadataV2) -> Result<()> {
    let mut metadata = metadata_documents(root, store, &[".zarray", ".zattrs"])?;
    metadata.retain(|key, _| key.contains('/'));
    let mut zgroup = group.clone();
    let attributes = std::mem::take(&mut zgroup.attributes);
    let zgroup = serde_json::to_value(&zgroup).map_err(|e| zarr_error(root, e))?;
    metadata.insert(".zgroup".into(), zgroup);
    if !attributes.is_empty() {
        metadata.insert(".zattrs".into(), Value::Object(attributes));
    }
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
            .ok_or_else(|| Error::invalid(root, format!("{name} vanished while consolidating")))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| zarr_error_in(root, name.to_string(), e))?;
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
