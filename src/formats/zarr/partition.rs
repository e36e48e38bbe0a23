//! The markers of a conversion split over N independent workers (`--partition I/N`, see
//! [`Partition`]).
//!
//! Patches are cut in groups of the writer's group size (one v3 annotation shard), and worker `I`
//! converts the groups `g` with `g % N == I`, so no two workers ever write the same object. Every
//! worker writes the same array metadata (idempotent) and, when done, a marker
//! `_partitions/I-of-N.done` listing its groups, which [`finalize`](super::finalize) checks.

use super::{zarr_error, Store};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use zarrs::storage::{StoreKey, StorePrefix};

pub use crate::pipeline::Partition;

/// The folder (key prefix) of the partition markers.
pub const MARKERS: &str = "_partitions/";

/// The key of the marker of a finished partition: `_partitions/I-of-N.done`.
fn marker_key(partition: Partition) -> String {
    format!("{MARKERS}{}-of-{}.done", partition.index, partition.count)
}

/// What a finished partition leaves behind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Marker {
    partition: usize,
    partitions: usize,
    fingerprint: String,
    groups: Vec<usize>,
}

/// Writes the marker of a finished partition, listing the groups it wrote.
pub(super) fn write_marker(
    root: &Path,
    store: &Store,
    partition: Partition,
    fingerprint: &str,
    groups: &BTreeSet<usize>,
) -> Result<()> {
    let marker = Marker {
        partition: partition.index,
        partitions: partition.count,
        fingerprint: fingerprint.to_string(),
        groups: groups.iter().copied().collect(),
    };
    let bytes = serde_json::to_vec_pretty(&marker).map_err(|e| zarr_error(root, e))?;
    let key = StoreKey::new(marker_key(partition)).map_err(|e| zarr_error(root, e))?;
    store
        .set(&key, bytes.into())
        .map_err(|e| zarr_error(root, e))
}

/// Removes the marker of `partition` (a rerun is not finished until it writes it again).
pub(super) fn remove_marker(root: &Path, store: &Store, partition: Partition) -> Result<()> {
    let key = StoreKey::new(marker_key(partition)).map_err(|e| zarr_error(root, e))?;
    store.erase(&key).map_err(|e| zarr_error(root, e))
}

/// Checks that every partition of a split conversion finished, with this conversion (same
/// `fingerprint`), and wrote its share of the `n_groups` groups.
pub(super) fn check_finished(
    root: &Path,
    store: &Store,
    n_groups: usize,
    fingerprint: &str,
) -> Result<()> {
    let (count, markers) = read_markers(root, store)?;
    check_markers(root, count, &markers, n_groups, fingerprint)
}

/// Removes every partition marker (once the store is finalized).
pub(super) fn remove_markers(root: &Path, store: &Store) -> Result<()> {
    let prefix = StorePrefix::new(MARKERS).map_err(|e| zarr_error(root, e))?;
    store.erase_prefix(&prefix).map_err(|e| zarr_error(root, e))
}

/// Every marker under `_partitions/`, with its key.
fn list_markers(root: &Path, store: &Store) -> Result<Vec<(String, Marker)>> {
    let prefix = StorePrefix::new(MARKERS).map_err(|e| zarr_error(root, e))?;
    let keys = store
        .list_prefix(&prefix)
        .map_err(|e| zarr_error(root, e))?;
    let mut markers = Vec::new();
    for key in keys {
        let bytes = store
            .get(&key)
            .map_err(|e| zarr_error(root, e))?
            .ok_or_else(|| Error::invalid(root, format!("{} vanished", key.as_str())))?;
        let marker: Marker = serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid(root, format!("{}: {e}", key.as_str())))?;
        markers.push((key.as_str().to_string(), marker));
    }
    Ok(markers)
}

/// Every marker under `_partitions/`, by partition index, checked to agree on N.
fn read_markers(root: &Path, store: &Store) -> Result<(usize, BTreeMap<usize, Marker>)> {
    let mut markers = BTreeMap::new();
    let mut count = None;
    for (key, marker) in list_markers(root, store)? {
        if *count.get_or_insert(marker.partitions) != marker.partitions {
            return Err(Error::invalid(
                root,
                format!(
                    "partition markers disagree on N: {} and {} ({key}); remove the stale ones",
                    count.unwrap_or(0),
                    marker.partitions,
                ),
            ));
        }
        markers.insert(marker.partition, marker);
    }
    let count = count.ok_or_else(|| {
        Error::invalid(
            root,
            "no partition has finished (no _partitions/I-of-N.done marker): run the --partition workers first",
        )
    })?;
    Ok((count, markers))
}

/// Refuses to start `partition` when another partition of the store has finished as another
/// conversion (other source, selection, options or N): this run would mix two layouts in one
/// store (say Zarr v3 metadata in a v2 store). Its own marker does not count: it is replaced.
///
/// # Errors
/// [`Error::Invalid`] naming the other partition and what to do.
pub(super) fn check_others(
    root: &Path,
    store: &Store,
    partition: Partition,
    fingerprint: &str,
) -> Result<()> {
    for (_, marker) in list_markers(root, store)? {
        let same_split = marker.partitions == partition.count;
        if same_split && marker.partition == partition.index {
            continue;
        }
        if !same_split || marker.fingerprint != fingerprint {
            let other = Partition {
                index: marker.partition,
                count: marker.partitions,
            };
            return Err(Error::invalid(
                root,
                format!(
                    "partition {other} of this store finished as another conversion (other \
                     source, selection, options or N: {}); run partition {partition} with the \
                     same options as the others, or delete the unfinished store to start again",
                    marker.fingerprint
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that all `count` partitions finished, with this conversion, and wrote their groups.
fn check_markers(
    root: &Path,
    count: usize,
    markers: &BTreeMap<usize, Marker>,
    n_groups: usize,
    fingerprint: &str,
) -> Result<()> {
    let missing: Vec<String> = (0..count)
        .filter(|i| !markers.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(
            root,
            format!(
                "partitions {} have not finished (no marker in {MARKERS}): run them, then --finalize again",
                missing.join(", ")
            ),
        ));
    }
    for (i, marker) in markers {
        let partition = Partition { index: *i, count };
        if marker.fingerprint != fingerprint {
            return Err(Error::invalid(
                root,
                format!(
                    "partition {partition} was run with another source, selection or options ({}); \
                     finalize with the same ones, or run it again",
                    marker.fingerprint
                ),
            ));
        }
        let expected: Vec<usize> = (0..n_groups).filter(|&g| partition.owns(g)).collect();
        if marker.groups != expected {
            return Err(Error::invalid(
                root,
                format!(
                    "partition {partition} wrote groups {:?}, expected {expected:?}",
                    marker.groups
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalize_names_missing_and_foreign_partitions() {
        let marker = |i, fp: &str| Marker {
            partition: i,
            partitions: 3,
            fingerprint: fp.into(),
            groups: (0..5).filter(|g| g % 3 == i).collect(),
        };
        let root = Path::new("out.zarr");
        let mut markers = BTreeMap::from([(0, marker(0, "a")), (2, marker(2, "a"))]);
        let err = check_markers(root, 3, &markers, 5, "a")
            .unwrap_err()
            .to_string();
        assert!(err.contains("partitions 1/3 have not finished"), "{err}");
        markers.insert(1, marker(1, "b"));
        let err = check_markers(root, 3, &markers, 5, "a")
            .unwrap_err()
            .to_string();
        assert!(err.contains("partition 1/3 was run with another"), "{err}");
        markers.insert(1, marker(1, "a"));
        assert!(check_markers(root, 3, &markers, 5, "a").is_ok());
        assert!(check_markers(root, 3, &markers, 6, "a").is_err());
    }
}
