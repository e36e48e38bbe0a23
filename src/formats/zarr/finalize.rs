//! Finalizes a conversion split over many workers (`--partition I/N`, then `--finalize` once).

use super::columns::{write_columns, ColumnSink};
use super::consistency::check_store;
use super::consolidate::write_root;
use super::partition::{check_finished, remove_markers};
use super::store;
use super::writer::{compression_of, patches_per_group, series_chunk_dates_of, version_of, Target};
use crate::formats::stacked::{data_arrays, dataset_attributes};
use crate::formats::WriteOptions;
use crate::model::{DatasetLayout, DatasetMeta};
use crate::output::StagedPath;
use crate::{Error, Result};
use std::path::Path;

/// Finalizes a split conversion into the store at `path`: checks every partition's marker and
/// that the store holds only what this conversion writes (one Zarr version, this run's array
/// metadata: [`check_store`]), then writes the per-patch arrays and the root and consolidated
/// metadata, removes the markers and moves a local store into place. `meta`, `layout` and `fingerprint` must be those the
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
    let specs = data_arrays(layout, meta.patches.len(), series_chunk_dates_of(options)?);
    let n_groups = meta
        .patches
        .len()
        .div_ceil(patches_per_group(version, &specs));
    check_finished(&root, &store, n_groups, fingerprint)?;
    check_store(&root, &store, &specs, version, compression)?;
    let sink = ColumnSink {
        root: &root,
        store: &store,
        version,
        compression,
    };
    write_columns(&sink, meta, layout)?;
    write_root(&root, &store, version, dataset_attributes(meta, "PASTIS"))?;
    remove_markers(&root, &store)?;
    drop(store);
    target.commit()
}
