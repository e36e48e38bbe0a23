//! The root group and consolidated metadata (the zarr-python convention that lets
//! `xr.open_zarr` read every array's metadata in one request).

use super::arrays::Version;
use super::{zarr_error, Store};
use crate::Result;
use serde_json::{json, Map, Value};
use std::path::Path;
use zarrs::group::{Group, GroupBuilder, GroupMetadata};
use zarrs::metadata::v2::GroupMetadataV2;
use zarrs::metadata_ext::group::consolidated_metadata::{
    ConsolidatedMetadata, ConsolidatedMetadataKind,
};
use zarrs::node::Node;
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
/// `.zmetadata` (v2).
pub fn consolidate(root: &Path, store: &Store, version: Version) -> Result<()> {
    match version {
        Version::V3 => consolidate_v3(root, store),
        Version::V2 => consolidate_v2(root, store),
    }
}

fn consolidate_v3(root: &Path, store: &Store) -> Result<()> {
    let node = Node::open(store, "/").map_err(|e| zarr_error(root, e))?;
    let metadata = node
        .consolidate_metadata()
        .ok_or_else(|| zarr_error(root, "the root is not a group"))?;
    let mut group = Group::open(store.clone(), "/").map_err(|e| zarr_error(root, e))?;
    group.set_consolidated_metadata(Some(ConsolidatedMetadata {
        metadata,
        kind: ConsolidatedMetadataKind::Inline,
    }));
    group.store_metadata().map_err(|e| zarr_error(root, e))
}

fn consolidate_v2(root: &Path, store: &Store) -> Result<()> {
    let mut metadata = Map::new();
    let keys = store.list().map_err(|e| zarr_error(root, e))?;
    for key in keys {
        let name = key.as_str();
        let is_meta = [".zgroup", ".zarray", ".zattrs"]
            .iter()
            .any(|m| name == *m || name.ends_with(&format!("/{m}")));
        if !is_meta {
            continue;
        }
        let bytes = store
            .get(&key)
            .map_err(|e| zarr_error(root, e))?
            .ok_or_else(|| zarr_error(root, format!("{name} vanished while consolidating")))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| zarr_error(root, format!("{name}: {e}")))?;
        metadata.insert(name.to_string(), value);
    }
    let document = json!({"metadata": metadata, "zarr_consolidated_format": 1});
    let key = StoreKey::new(ZMETADATA).map_err(|e| zarr_error(root, e))?;
    let bytes = serde_json::to_vec_pretty(&document).map_err(|e| zarr_error(root, e))?;
    store
        .set(&key, bytes.into())
        .map_err(|e| zarr_error(root, e))
}
