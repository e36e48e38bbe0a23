//! A conversion split over N independent workers (`--partition I/N`), then finalized once.
//!
//! Patches are cut in groups of the writer's group size (one v3 annotation shard), and worker `I`
//! converts the groups `g` with `g % N == I`, so no two workers ever write the same object. Every
//! worker writes the same array metadata (idempotent) and, when done, a marker
//! `_partitions/I-of-N.done` listing its groups. [`finalize`] checks that every marker is there and
//! agrees, writes the dataset-level metadata (per-patch arrays, root attributes, consolidated
//! metadata, root last), removes the markers and, for a local store, renames `NAME.partial`.

use super::columns::{write_columns, ColumnSink};
use super::consolidate::write_root;
use super::writer::{compression_of, patches_per_group, version_of, Target};
use super::{store, zarr_error, Store};
use crate::formats::stacked::{data_arrays, dataset_attributes};
use crate::formats::WriteOptions;
use crate::model::{DatasetLayout, DatasetMeta};
use crate::output::StagedPath;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use zarrs::storage::{StoreKey, StorePrefix};

/// The folder (key prefix) of the partition markers.
pub const MARKERS: &str = "_partitions/";

/// Environment variables of batch schedulers holding a worker's index, read by `auto/N`.
pub const INDEX_VARIABLES: [&str; 3] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// Worker `index` of `count` (`I/N`, 0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// This worker, `0..count`.
    pub index: usize,
    /// Number of workers.
    pub count: usize,
}

impl Partition {
    /// True if this worker converts group `group`.
    pub fn owns(&self, group: usize) -> bool {
        group % self.count == self.index
    }

    /// `I/N` with explicit numbers, or `auto/N` with `I` from the first of [`INDEX_VARIABLES`]
    /// that is set (0-based: a Slurm array must be `--array=0-(N-1)`). `lookup` reads an
    /// environment variable.
    pub fn parse_with(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("partition '{text}': expected I/N or auto/N"))?;
        let count: usize = count
            .parse()
            .map_err(|_| format!("partition '{text}': N is not a number"))?;
        let index = if index.eq_ignore_ascii_case("auto") {
            let (name, value) = INDEX_VARIABLES
                .iter()
                .find_map(|v| lookup(v).map(|value| (*v, value)))
                .ok_or_else(|| {
                    format!(
                        "partition auto/{count}: none of {} is set",
                        INDEX_VARIABLES.join(", ")
                    )
                })?;
            value
                .trim()
                .parse()
                .map_err(|_| format!("partition auto/{count}: {name}={value:?} is not a number"))?
        } else {
            index
                .parse()
                .map_err(|_| format!("partition '{text}': I is not a number"))?
        };
        if count == 0 || index >= count {
            return Err(format!(
                "partition {index}/{count}: expected 0 <= I < N (I counts from 0)"
            ));
        }
        Ok(Partition { index, count })
    }

    fn marker_key(&self) -> String {
        format!("{MARKERS}{}-of-{}.done", self.index, self.count)
    }
}

impl FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Partition::parse_with(s, |name| std::env::var(name).ok())
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
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
    let key = StoreKey::new(partition.marker_key()).map_err(|e| zarr_error(root, e))?;
    store
        .set(&key, bytes.into())
        .map_err(|e| zarr_error(root, e))
}

/// Removes the marker of `partition` (a rerun is not finished until it writes it again).
pub(super) fn remove_marker(root: &Path, store: &Store, partition: Partition) -> Result<()> {
    let key = StoreKey::new(partition.marker_key()).map_err(|e| zarr_error(root, e))?;
    store.erase(&key).map_err(|e| zarr_error(root, e))
}

/// Every marker under `_partitions/`, by partition index, checked to agree on N.
fn read_markers(root: &Path, store: &Store) -> Result<(usize, BTreeMap<usize, Marker>)> {
    let prefix = StorePrefix::new(MARKERS).map_err(|e| zarr_error(root, e))?;
    let keys = store
        .list_prefix(&prefix)
        .map_err(|e| zarr_error(root, e))?;
    let mut markers = BTreeMap::new();
    let mut count = None;
    for key in keys {
        let bytes = store
            .get(&key)
            .map_err(|e| zarr_error(root, e))?
            .ok_or_else(|| zarr_error(root, format!("{} vanished", key.as_str())))?;
        let marker: Marker = serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid(root, format!("{}: {e}", key.as_str())))?;
        if *count.get_or_insert(marker.partitions) != marker.partitions {
            return Err(Error::invalid(
                root,
                format!(
                    "partition markers disagree on N: {} and {} ({}); remove the stale ones",
                    count.unwrap_or(0),
                    marker.partitions,
                    key.as_str()
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

/// Finalizes a split conversion into the store at `path`: checks every partition's marker, then
/// writes the per-patch arrays and the root and consolidated metadata, removes the markers and
/// moves a local store into place. `meta`, `layout` and `fingerprint` must be those the
/// partitions were run with (same source, selection and options).
pub fn finalize(
    path: &Path,
    meta: &DatasetMeta,
    layout: &DatasetLayout,
    options: &WriteOptions,
    fingerprint: &str,
) -> Result<()> {
    let version = version_of(options)?;
    let compression = compression_of(options)?;
    let target = if store::is_url(path) {
        Target::InPlace(path.to_path_buf())
    } else {
        let staged = StagedPath::resume(path, options.overwrite)?;
        if !staged.path().is_dir() {
            return Err(Error::invalid(
                staged.path(),
                "no partition output here: run the --partition workers first",
            ));
        }
        Target::Staged(staged)
    };
    let root = target.path().to_path_buf();
    let store = store::store_at(&root)?;
    let (count, markers) = read_markers(&root, &store)?;
    let specs = data_arrays(layout, meta.patches.len());
    let n_groups = meta
        .patches
        .len()
        .div_ceil(patches_per_group(version, &specs));
    check_markers(&root, count, &markers, n_groups, fingerprint)?;
    let sink = ColumnSink {
        root: &root,
        store: &store,
        version,
        compression,
    };
    write_columns(&sink, meta, layout)?;
    write_root(&root, &store, version, dataset_attributes(meta, "PASTIS"))?;
    let prefix = StorePrefix::new(MARKERS).map_err(|e| zarr_error(&root, e))?;
    store
        .erase_prefix(&prefix)
        .map_err(|e| zarr_error(&root, e))?;
    drop(store);
    target.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_and_share_out_groups() {
        let none = |_: &str| None;
        assert_eq!(
            Partition::parse_with("1/3", none),
            Ok(Partition { index: 1, count: 3 })
        );
        assert!(Partition::parse_with("3/3", none).is_err());
        assert!(Partition::parse_with("0/0", none).is_err());
        assert!(Partition::parse_with("x/3", none).is_err());
        assert!(Partition::parse_with("auto/4", none).is_err());
        let slurm = |v: &str| (v == "SLURM_ARRAY_TASK_ID").then(|| "2".to_string());
        assert_eq!(
            Partition::parse_with("auto/4", slurm),
            Ok(Partition { index: 2, count: 4 })
        );
        let p = Partition { index: 1, count: 3 };
        let owned: Vec<usize> = (0..8).filter(|&g| p.owns(g)).collect();
        assert_eq!(owned, vec![1, 4, 7]);
    }

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
