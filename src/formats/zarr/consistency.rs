//! Finalize's check that a store written by many workers is one store: every object is one this
//! conversion writes (one Zarr version, this layout), and every data array's metadata is the
//! document this conversion writes. A partition run with other options (another
//! `--zarr-version`, compression, selection) leaves objects that the markers alone cannot reveal
//! once the partition is run again correctly; this is where they are found (issue #19).

use super::arrays::{create_array, Version};
use super::writer::data_def;
use super::{zarr_error, Store};
use crate::formats::stacked::StackedArray;
use crate::formats::Compression;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use zarrs::storage::store::MemoryStore;

/// How many offending keys an error names before "and N more".
const NAMED: usize = 5;

/// The metadata documents of one array or group in `version`.
fn metadata_names(version: Version) -> &'static [&'static str] {
    match version {
        Version::V3 => &["zarr.json"],
        Version::V2 => &[".zarray", ".zattrs", ".zgroup", ".zmetadata"],
    }
}

/// True if `rest` (a key below an array's folder) is a chunk key of `version`: `c/0/1/...`
/// (v3, default encoding) or `0.1...` (v2, `.` separator), with `rank` indices.
fn is_chunk_key(rest: &str, version: Version, rank: Option<usize>) -> bool {
    let indices: Vec<&str> = match version {
        Version::V3 => match rest.strip_prefix("c/") {
            Some(r) => r.split('/').collect(),
            None => return rest == "c" && rank == Some(0),
        },
        Version::V2 => rest.split('.').collect(),
    };
    let numeric = indices
        .iter()
        .all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
    numeric && rank.is_none_or(|r| r == indices.len())
}

/// The metadata documents this conversion writes for the data arrays `specs`, by key.
fn expected_documents(
    root: &Path,
    specs: &[StackedArray],
    version: Version,
    compression: Compression,
) -> Result<BTreeMap<String, Value>> {
    let memory: Store = Arc::new(MemoryStore::new());
    for spec in specs {
        create_array(
            root,
            &memory,
            &data_def(spec, version),
            version,
            compression,
        )?;
    }
    read_documents(
        root,
        &memory,
        memory.list().map_err(|e| zarr_error(root, e))?,
    )
}

/// The JSON documents at `keys` of `store`.
fn read_documents(
    root: &Path,
    store: &Store,
    keys: impl IntoIterator<Item = zarrs::storage::StoreKey>,
) -> Result<BTreeMap<String, Value>> {
    let mut documents = BTreeMap::new();
    for key in keys {
        let bytes = store
            .get(&key)
            .map_err(|e| zarr_error(root, e))?
            .ok_or_else(|| Error::invalid(root, format!("{} vanished", key.as_str())))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid(root, format!("{}: not JSON: {e}", key.as_str())))?;
        documents.insert(key.as_str().to_string(), value);
    }
    Ok(documents)
}

/// `keys` as `a, b, c (and N more)`.
fn name_some(keys: &[String]) -> String {
    let mut text = keys
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > NAMED {
        text.push_str(&format!(" (and {} more)", keys.len() - NAMED));
    }
    text
}

/// Checks the store at `root` before finalize writes its dataset-level metadata: every key is
/// a partition marker, metadata of `version`, or a chunk key of `version` (data arrays, the
/// per-patch arrays of an earlier finalize, which it rewrites); every data array's metadata is
/// present and equal to the document this conversion writes.
///
/// # Errors
/// [`Error::Invalid`] naming the objects that another run left (another Zarr version or layout)
/// or the metadata documents that differ or are missing, and what to do.
pub(super) fn check_store(
    root: &Path,
    store: &Store,
    specs: &[StackedArray],
    version: Version,
    compression: Compression,
) -> Result<()> {
    let expected = expected_documents(root, specs, version, compression)?;
    let ranks: BTreeMap<&str, usize> = specs
        .iter()
        .map(|s| (s.layer.name(), s.shape.len()))
        .collect();
    let names = metadata_names(version);
    let mut foreign = Vec::new();
    let mut documents = Vec::new();
    for key in store.list().map_err(|e| zarr_error(root, e))? {
        let text = key.as_str().to_string();
        if text.starts_with(super::partition::MARKERS) {
            continue;
        }
        if expected.contains_key(&text) {
            documents.push(key);
            continue;
        }
        let belongs = match text.split_once('/') {
            // Root metadata of this version (an earlier finalize, or a store being replaced).
            None => names.contains(&text.as_str()),
            Some((array, rest)) => match ranks.get(array) {
                Some(&rank) => is_chunk_key(rest, version, Some(rank)),
                // A per-patch array of an earlier finalize: rewritten by this one.
                None => {
                    (!rest.contains('/') && names.contains(&rest))
                        || is_chunk_key(rest, version, None)
                }
            },
        };
        if !belongs {
            foreign.push(text);
        }
    }
    let version_name = match version {
        Version::V2 => 2,
        Version::V3 => 3,
    };
    if !foreign.is_empty() {
        return Err(Error::invalid(
            root,
            format!(
                "{} objects are not part of this Zarr v{version_name} store: {}; they were left by \
                 a run with other options (another --zarr-version, selection or layout): delete \
                 them, then run --finalize again",
                foreign.len(),
                name_some(&foreign)
            ),
        ));
    }
    let stored = read_documents(root, store, documents)?;
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(key, document)| stored.get(*key) != Some(document))
        .map(|(key, _)| key.clone())
        .collect();
    if !wrong.is_empty() {
        return Err(Error::invalid(
            root,
            format!(
                "the array metadata {} is missing or differs from what this conversion writes \
                 (a partition was run with other options after the others?): run every \
                 partition again with the same options, then --finalize",
                name_some(&wrong)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_of_each_version() {
        assert!(is_chunk_key("c/0/1/0/0", Version::V3, Some(4)));
        assert!(!is_chunk_key("c/0/1/0/0", Version::V2, Some(4)));
        assert!(!is_chunk_key("c/0/1", Version::V3, Some(4)));
        assert!(is_chunk_key("0.1.0.0", Version::V2, Some(4)));
        assert!(!is_chunk_key("0.1.0.0", Version::V3, Some(4)));
        assert!(!is_chunk_key("zarr.json", Version::V2, None));
        assert!(!is_chunk_key("c/x", Version::V3, None));
    }
}
