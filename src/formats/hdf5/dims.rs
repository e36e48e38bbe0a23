//! HDF5 dimension scales and labels (the `H5DS` API of the HDF5 high-level library, which the
//! `hdf5` crate does not wrap): every axis gets its name as a label (`DIMENSION_LABELS`, h5py's
//! `ds.dims[i].label`), and the patch axis of every per-patch dataset gets the `patch` scale,
//! which holds `ID_PATCH` (h5py's `ds.dims[0][0]`, netCDF-4's coordinate of the dimension).

use super::h5err;
use crate::formats::stacked::{Column, StackedArray};
use crate::{Error, Result};
use hdf5::{Dataset, Group};
use std::ffi::{c_char, c_int, c_uint, CString};
use std::path::Path;

/// The dimension scale of the patch axis.
pub const PATCH_SCALE: &str = "patch";

// `hid_t` is a 64-bit integer from HDF5 1.10 on, the oldest version the `hdf5` crate builds
// with here; the high-level library ships beside libhdf5 in every distribution of it.
#[link(name = "hdf5_hl")]
extern "C" {
    fn H5DSset_scale(dsid: i64, dimname: *const c_char) -> c_int;
    fn H5DSattach_scale(did: i64, dsid: i64, idx: c_uint) -> c_int;
    fn H5DSset_label(did: i64, idx: c_uint, label: *const c_char) -> c_int;
}

/// Creates the `patch` scale holding the patches' `ID_PATCH`.
pub fn create_patch_scale(path: &Path, group: &Group, ids: &[i64]) -> Result<Dataset> {
    let scale = group
        .new_dataset_builder()
        .obj_track_times(false)
        .with_data(ids)
        .create(PATCH_SCALE)
        .map_err(h5err(path))?;
    let name = c_string(path, PATCH_SCALE)?;
    // SAFETY: a valid dataset id and a NUL-terminated string, under the crate's global lock.
    let status = hdf5::sync::sync(|| unsafe { H5DSset_scale(scale.id(), name.as_ptr()) });
    check(path, status, "H5DSset_scale", PATCH_SCALE)?;
    Ok(scale)
}

/// Labels each axis of `dataset` and attaches `scale` to its first (patch) axis.
pub fn label_axes(
    path: &Path,
    dataset: &Dataset,
    labels: &[&str],
    scale: Option<&Dataset>,
) -> Result<()> {
    let what = dataset.name();
    for (axis, label) in labels.iter().enumerate() {
        let label = c_string(path, label)?;
        let axis = axis as c_uint;
        // SAFETY: a valid dataset id, an axis below its rank and a NUL-terminated string.
        let status =
            hdf5::sync::sync(|| unsafe { H5DSset_label(dataset.id(), axis, label.as_ptr()) });
        check(path, status, "H5DSset_label", &what)?;
    }
    if let Some(scale) = scale {
        // SAFETY: two valid dataset ids of one file; axis 0 exists.
        let status = hdf5::sync::sync(|| unsafe { H5DSattach_scale(dataset.id(), scale.id(), 0) });
        check(path, status, "H5DSattach_scale", &what)?;
    }
    Ok(())
}

fn c_string(path: &Path, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(path, format!("{s:?} holds a NUL character")))
}

fn check(path: &Path, status: c_int, call: &str, what: &str) -> Result<()> {
    match status {
        s if s < 0 => Err(Error::library(
            path,
            super::LIBRARY,
            format!("{call} failed on {what}"),
        )),
        _ => Ok(()),
    }
}

/// Labels every per-patch dataset of the stacked layout (data arrays and columns, with the axis
/// names the layout gives them) and attaches the `patch` scale.
pub fn label_layout(
    path: &Path,
    group: &Group,
    ids: &[i64],
    arrays: &[StackedArray],
    columns: &[Column],
) -> Result<()> {
    let scale = create_patch_scale(path, group, ids)?;
    let labelled = arrays
        .iter()
        .map(|a| (a.layer.name(), &a.dimension_names))
        .chain(
            columns
                .iter()
                .map(|c| (c.name.as_str(), &c.dimension_names)),
        );
    for (name, labels) in labelled {
        let dataset = group.dataset(name).map_err(h5err(path))?;
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        label_axes(path, &dataset, &labels, Some(&scale))?;
    }
    Ok(())
}
