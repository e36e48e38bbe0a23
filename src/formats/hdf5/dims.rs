//! HDF5 dimension scales, laid out as netCDF-4 dimensions (the `H5DS` API of the HDF5 high-level
//! library, which the `hdf5` crate does not wrap).
//!
//! Every named axis of the stacked layout (`patch`, `S2_time`, `S2_band`, `y`, `x`,
//! `TARGET_channel`, `geotransform`...) is one dimension scale in the root group, attached to the
//! matching axis of every dataset that has it, so h5netcdf, netCDF-C (`ncdump`, netCDF4-python,
//! GDAL's netCDF driver) and xarray see named dimensions. The conventions are netCDF-C's
//! (libhdf5/hdf5create.c and hdf5open.c of netCDF-C 4.9):
//! - a scale with values is a *coordinate variable* named like its dimension: `patch` holds
//!   `ID_PATCH`, `S2_band` the band names, the other non-spatial axes of data arrays
//!   (`S2_time`, `TARGET_channel`) their indices 0..n-1;
//! - any other scale (`y`, `x`, `geotransform`) is a *dimension without variable*: a float32
//!   dataset of the dimension's length, never written (no storage), whose `NAME` attribute
//!   starts with [`NOT_A_VARIABLE`] and ends with the length in ten characters;
//! - each scale carries `_Netcdf4Dimid` (int32), the dimension's id: its order of first use.
//!
//! Each axis also keeps its layout name as an HDF5 dimension label (`DIMENSION_LABELS`, h5py's
//! `ds.dims[i].label`), as before.

use super::attrs::{write_string_attr, write_strings};
use super::h5err;
use crate::formats::stacked::{dimension_names, Column, StackedArray};
use crate::model::classes::{S1_BANDS, S2_BANDS};
use crate::model::Layer;
use crate::{Error, Result};
use hdf5::{Dataset, Group};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{c_char, c_int, c_uint, CString};
use std::path::Path;

/// The dimension scale of the patch axis (a coordinate variable holding `ID_PATCH`).
pub const PATCH_SCALE: &str = "patch";

/// How netCDF-C marks a dimension scale that is a dimension only, not a variable
/// (`DIM_WITHOUT_VARIABLE` of netCDF-C's nc4internal.h; h5netcdf uses the same text).
pub const NOT_A_VARIABLE: &str = "This is a netCDF dimension but not a netCDF variable.";

/// netCDF-C's attribute giving a dimension scale its dimension id.
const DIMID_ATTRIBUTE: &str = "_Netcdf4Dimid";

// `hid_t` is a 64-bit integer from HDF5 1.10 on, the oldest version the `hdf5` crate builds
// with here; the high-level library ships beside libhdf5 in every distribution of it.
#[link(name = "hdf5_hl")]
extern "C" {
    fn H5DSset_scale(dsid: i64, dimname: *const c_char) -> c_int;
    fn H5DSattach_scale(did: i64, dsid: i64, idx: c_uint) -> c_int;
    fn H5DSset_label(did: i64, idx: c_uint, label: *const c_char) -> c_int;
}

/// One netCDF dimension of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dimension {
    /// The scale's dataset name: the layout's axis name, or `<DATASET>_<axis>` where that axis
    /// name is already a dimension of another length (see [`plan`]).
    pub name: String,
    /// The length.
    pub size: usize,
}

/// The axes of one dataset: its layout names (labels) and the netCDF dimension of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetAxes {
    /// The dataset (`S2`, `S2_dates`...).
    pub dataset: String,
    /// The layout's axis names (`patch, S2_time, ...`), stored as dimension labels.
    pub labels: Vec<String>,
    /// The name of the [`Dimension`] of each axis.
    pub dimensions: Vec<String>,
}

/// The dimensions of a file and the axes of each dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Every dimension, in order of first use (its index is its `_Netcdf4Dimid`).
    pub dimensions: Vec<Dimension>,
    /// Every dataset with its axes, in the order given.
    pub datasets: Vec<DatasetAxes>,
}

/// Plans the dimensions of datasets given as `(name, axis names, shape)`.
///
/// netCDF gives a dimension one length, so an axis whose name is already a dimension of
/// another length (the `y` of a layer whose patches are larger than another layer's) gets its
/// own dimension, `<DATASET>_<axis>` (`TARGET_y`); its label keeps the layout's name. The
/// stacked layout gives every axis but `patch`, `y` and `x` a per-layer name, so only `y`
/// and `x` can differ.
pub fn plan<'a>(datasets: impl IntoIterator<Item = (&'a str, &'a [String], &'a [usize])>) -> Plan {
    let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
    let mut plan = Plan {
        dimensions: vec![],
        datasets: vec![],
    };
    for (dataset, labels, shape) in datasets {
        let mut dimensions = Vec::with_capacity(labels.len());
        for (label, &size) in labels.iter().zip(shape) {
            let name = match sizes.get(label) {
                Some(&known) if known != size => format!("{dataset}_{label}"),
                _ => label.clone(),
            };
            if !sizes.contains_key(&name) {
                sizes.insert(name.clone(), size);
                plan.dimensions.push(Dimension {
                    name: name.clone(),
                    size,
                });
            }
            dimensions.push(name);
        }
        plan.datasets.push(DatasetAxes {
            dataset: dataset.to_string(),
            labels: labels.to_vec(),
            dimensions,
        });
    }
    plan
}

/// The values of a dimension's coordinate variable where the layout has natural ones: the
/// band names of `S2_band` (10 bands) and `S1A_band`/`S1D_band` (3), when the data has that
/// many bands (docs PASTIS_FORMAT: B2..B12; VV, VH, VV/VH). `None`: a dimension only.
fn band_names(dimension: &Dimension) -> Option<&'static [&'static str]> {
    let is_band_axis_of = |layer: Layer| dimension_names(layer, 4).get(2) == Some(&dimension.name);
    let names: &'static [&'static str] = if is_band_axis_of(Layer::S2) {
        &S2_BANDS
    } else if is_band_axis_of(Layer::S1A) || is_band_axis_of(Layer::S1D) {
        &S1_BANDS
    } else {
        return None;
    };
    (names.len() == dimension.size).then_some(names)
}

/// The values of a dimension's scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScaleValues {
    /// `patch`: the patches' `ID_PATCH`.
    Ids,
    /// A band axis with its band names ([`band_names`]).
    Names(&'static [&'static str]),
    /// 0..n-1 (int32): the other axes of data arrays (time, bands of an unknown count,
    /// TARGET_channel), so that readers naming bands by their coordinates (GDAL's netCDF raster
    /// driver) find one; a series' dates are per patch, in `<SERIES>_dates`.
    Indices,
    /// No variable: `y`, `x` (a pixel grid per patch, in `grid_transform`), `geotransform`.
    Nothing,
}

/// Creates the scale of `dimension` with id `dimid` holding `values`: a coordinate variable
/// or, for [`ScaleValues::Nothing`], a dimension without variable.
fn create_scale(
    path: &Path,
    group: &Group,
    dimension: &Dimension,
    dimid: usize,
    values: ScaleValues,
    ids: &[i64],
) -> Result<Dataset> {
    let name = dimension.name.as_str();
    let numbers = |builder: hdf5::DatasetBuilder| builder.obj_track_times(false);
    let (scale, scale_name, long_name) = match values {
        ScaleValues::Ids => {
            let scale = numbers(group.new_dataset_builder())
                .with_data(ids)
                .create(name)
                .map_err(h5err(path))?;
            (scale, name.to_string(), Some("ID_PATCH".to_string()))
        }
        ScaleValues::Names(bands) => {
            let bands: Vec<String> = bands.iter().map(|b| b.to_string()).collect();
            let scale = write_strings(path, group, name, &bands)?;
            (scale, name.to_string(), Some(format!("{name} name")))
        }
        ScaleValues::Indices => {
            let indices = (0..dimension.size)
                .map(i32::try_from)
                .collect::<std::result::Result<Vec<i32>, _>>()
                .map_err(|_| Error::invalid(path, format!("{name} is too long")))?;
            let scale = numbers(group.new_dataset_builder())
                .with_data(&indices)
                .create(name)
                .map_err(h5err(path))?;
            (scale, name.to_string(), Some(format!("index along {name}")))
        }
        ScaleValues::Nothing => {
            // Never written: HDF5 allocates no storage for it.
            let scale = group
                .new_dataset::<f32>()
                .obj_track_times(false)
                .shape([dimension.size])
                .create(name)
                .map_err(h5err(path))?;
            let marker = format!("{NOT_A_VARIABLE}{:10}", dimension.size);
            (scale, marker, None)
        }
    };
    let scale_name = c_string(path, &scale_name)?;
    // SAFETY: a valid dataset id and a NUL-terminated string, under the crate's global lock.
    let status = hdf5::sync::sync(|| unsafe { H5DSset_scale(scale.id(), scale_name.as_ptr()) });
    check(path, status, "H5DSset_scale", name)?;
    let dimid = i32::try_from(dimid)
        .map_err(|_| Error::invalid(path, format!("too many dimensions ({dimid})")))?;
    scale
        .new_attr::<i32>()
        .create(DIMID_ATTRIBUTE)
        .and_then(|a| a.write_scalar(&dimid))
        .map_err(h5err(path))?;
    if let Some(long_name) = long_name {
        write_string_attr(path, &scale, "long_name", &long_name)?;
    }
    Ok(scale)
}

/// Labels each axis of `dataset` and attaches the scale of its dimension.
fn attach_axes(
    path: &Path,
    dataset: &Dataset,
    axes: &DatasetAxes,
    scales: &BTreeMap<String, Dataset>,
) -> Result<()> {
    let what = dataset.name();
    for (axis, (label, dimension)) in axes.labels.iter().zip(&axes.dimensions).enumerate() {
        let label = c_string(path, label)?;
        let axis = c_uint::try_from(axis)
            .map_err(|_| Error::invalid(path, format!("{what} has too many axes")))?;
        // SAFETY: a valid dataset id, an axis below its rank and a NUL-terminated string.
        let status =
            hdf5::sync::sync(|| unsafe { H5DSset_label(dataset.id(), axis, label.as_ptr()) });
        check(path, status, "H5DSset_label", &what)?;
        let scale = scales.get(dimension).ok_or_else(|| {
            Error::invalid(path, format!("{what}: no dimension scale {dimension}"))
        })?;
        // SAFETY: two valid dataset ids of one file; the axis exists.
        let status =
            hdf5::sync::sync(|| unsafe { H5DSattach_scale(dataset.id(), scale.id(), axis) });
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

/// Creates the dimension scales of the stacked layout's data arrays and columns (already
/// written to `group`), labels every axis and attaches its scale ([`plan`]).
pub fn label_layout(
    path: &Path,
    group: &Group,
    ids: &[i64],
    arrays: &[StackedArray],
    columns: &[Column],
) -> Result<Plan> {
    let column_shapes: Vec<Vec<usize>> = columns.iter().map(Column::shape).collect();
    let datasets = arrays
        .iter()
        .map(|a| {
            (
                a.layer.name(),
                a.dimension_names.as_slice(),
                a.shape.as_slice(),
            )
        })
        .chain(columns.iter().zip(&column_shapes).map(|(c, shape)| {
            (
                c.name.as_str(),
                c.dimension_names.as_slice(),
                shape.as_slice(),
            )
        }));
    // `patch` first even when there is no dataset (dimension id 0, as the layout's first axis).
    let patch = [PATCH_SCALE.to_string()];
    let patches = [ids.len()];
    let plan = plan(std::iter::once(("", &patch[..], &patches[..])).chain(datasets));
    // The non-spatial axes of the data arrays (all but the patch and the last two).
    let indexed: BTreeSet<&String> = plan
        .datasets
        .iter()
        .skip(1)
        .take(arrays.len())
        .flat_map(|a| {
            let n = a.dimensions.len();
            a.dimensions.iter().take(n.saturating_sub(2)).skip(1)
        })
        .collect();
    let mut scales = BTreeMap::new();
    for (dimid, dimension) in plan.dimensions.iter().enumerate() {
        let values = match band_names(dimension) {
            _ if dimension.name == PATCH_SCALE => ScaleValues::Ids,
            Some(names) => ScaleValues::Names(names),
            None if indexed.contains(&dimension.name) => ScaleValues::Indices,
            None => ScaleValues::Nothing,
        };
        let scale = create_scale(path, group, dimension, dimid, values, ids)?;
        scales.insert(dimension.name.clone(), scale);
    }
    let datasets = plan.datasets.iter().skip(1);
    for axes in datasets {
        let dataset = group.dataset(&axes.dataset).map_err(h5err(path))?;
        attach_axes(path, &dataset, axes, &scales)?;
    }
    Ok(Plan {
        dimensions: plan.dimensions,
        datasets: plan.datasets.into_iter().skip(1).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_dimension_per_name_and_length() {
        let s2 = names(&["patch", "S2_time", "S2_band", "y", "x"]);
        let dates = names(&["patch", "S2_time"]);
        let target = names(&["patch", "TARGET_channel", "y", "x"]);
        let plan = plan([
            ("S2", &s2[..], &[3, 0, 10, 8, 8][..]),
            ("S2_dates", &dates[..], &[3, 0][..]),
            ("TARGET", &target[..], &[3, 3, 16, 8][..]),
        ]);
        let dims: Vec<(&str, usize)> = plan
            .dimensions
            .iter()
            .map(|d| (d.name.as_str(), d.size))
            .collect();
        assert_eq!(
            dims,
            [
                ("patch", 3),
                ("S2_time", 0),
                ("S2_band", 10),
                ("y", 8),
                ("x", 8),
                ("TARGET_channel", 3),
                ("TARGET_y", 16)
            ]
        );
        assert_eq!(plan.datasets[1].dimensions, dates);
        assert_eq!(
            plan.datasets[2].dimensions,
            names(&["patch", "TARGET_channel", "TARGET_y", "x"])
        );
        assert_eq!(plan.datasets[2].labels, target);
    }

    #[test]
    fn band_coordinates_only_with_the_known_band_count() {
        let dim = |name: &str, size| Dimension {
            name: name.into(),
            size,
        };
        assert_eq!(band_names(&dim("S2_band", 10)), Some(&S2_BANDS[..]));
        assert_eq!(band_names(&dim("S1D_band", 3)), Some(&S1_BANDS[..]));
        assert_eq!(band_names(&dim("S2_band", 4)), None);
        assert_eq!(band_names(&dim("TARGET_channel", 3)), None);
    }
}
