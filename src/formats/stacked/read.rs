//! Reading the stacked layout back, the same way from a Zarr store and an HDF5 file: the layout
//! version, the metadata (from `feature` and the dataset attributes), `ID_PATCH`, and for each
//! layer which patches have it and with what shape (presence, lengths), checked against the dates.
//! Each format only says how to get at a named array ([`StackedSource`]).
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::{dataset_meta, dates_name, dtype_name, length_name, names, present_name};
use super::{LAYOUT_V1, LAYOUT_V2, LAYOUT_VERSION};
use crate::model::{cast, Array, DType, DatasetMeta, Layer, Patch, SpotGeoref};
use crate::{Error, Result};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The versions of the stacked layout this version reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutVersion {
    /// `pastis-bridge-stacked/1`: series had no `_present` column in Zarr (length 0 = absent);
    /// HDF5 files had one. Where it is missing, a series is present when its length is > 0.
    V1,
    /// `pastis-bridge-stacked/2`: `<LAYER>_present` for every layer, series included.
    V2,
    /// `pastis-bridge-stacked/3`: as V2, plus `<LAYER>_dtype` where a layer mixes dtypes (Zarr
    /// v2 text as fixed-length `<U` strings).
    V3,
}

/// How a format gives access to the arrays of a stacked dataset, by name.
pub trait StackedSource {
    /// What the dataset is, for errors: "Zarr store", "HDF5 file".
    fn container(&self) -> &'static str;
    /// What one of its arrays is called, for errors: "array", "dataset".
    fn item(&self) -> &'static str;
    /// The root's `pastis_bridge_layout` attribute, `None` if it has none.
    fn layout_attribute(&self) -> Result<Option<String>>;
    /// The dataset attributes the metadata is rebuilt from (`crs`, `collection`, `norm`).
    fn attributes(&self) -> Result<Map<String, Value>>;
    /// True if an array of this name exists.
    fn has(&self, name: &str) -> Result<bool>;
    /// The shape of the named array.
    fn shape(&self, name: &str) -> Result<Vec<usize>>;
    /// A 1-D array of strings.
    fn strings(&self, name: &str) -> Result<Vec<String>>;
    /// A whole int64 array, C order.
    fn i64s(&self, name: &str) -> Result<Vec<i64>>;
    /// A whole int32 array, C order.
    fn i32s(&self, name: &str) -> Result<Vec<i32>>;
    /// A whole uint8 array, C order.
    fn u8s(&self, name: &str) -> Result<Vec<u8>>;
    /// A whole float64 array, C order.
    fn f64s(&self, name: &str) -> Result<Vec<f64>>;
}

/// Which patches have one layer, and their shapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerIndex {
    /// The stacked array's shape, `(patch, ...)`.
    pub shape: Vec<usize>,
    /// Per row: the patch's own shape (a series cut to its length), `None` where it lacks the layer.
    pub per_patch: Vec<Option<Vec<usize>>>,
    /// Per row: the patch's own dtype from `<LAYER>_dtype`, where the layer mixes dtypes
    /// (empty when there is no such column: every patch has the stored dtype).
    pub dtypes: Vec<Option<DType>>,
}

impl LayerIndex {
    /// The own dtype of the patch at `row`, given the stored array's `stored` dtype.
    pub fn dtype(&self, row: usize, stored: DType) -> DType {
        self.dtypes.get(row).copied().flatten().unwrap_or(stored)
    }

    /// Fails unless the stored dtype holds every patch's own exactly ([`DType::holds`]).
    pub fn check_stored(&self, path: &Path, layer: Layer, stored: DType) -> Result<()> {
        match self.dtypes.iter().flatten().find(|d| !stored.holds(**d)) {
            Some(own) => Err(Error::invalid(
                path,
                format!(
                    "{} names {own}, which the stored {layer} ({stored}) cannot hold",
                    dtype_name(layer)
                ),
            )),
            None => Ok(()),
        }
    }

    /// One patch's array as read in the stored dtype, back in the patch's own dtype.
    pub fn restore(&self, layer: Layer, id: i64, row: usize, array: Array) -> Result<Array> {
        let own = self.dtype(row, array.dtype());
        if own == array.dtype() {
            return Ok(array);
        }
        cast::narrow(&array, own).map_err(|e| {
            Error::patch(
                id,
                format!("{layer} does not read back as its own {own}: {e}"),
            )
        })
    }
}

/// A stacked dataset as read: its version, metadata, rows and layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Stacked {
    /// The layout version found.
    pub version: LayoutVersion,
    /// The metadata, rebuilt from `feature` and the dataset attributes.
    pub meta: DatasetMeta,
    /// The row of each `ID_PATCH`.
    pub rows: HashMap<i64, usize>,
    /// The layers stored, with who has them.
    pub layers: BTreeMap<Layer, LayerIndex>,
    /// Per row, the georeferencing of the patch's SPOT image from the `SPOT_*` columns, `None`
    /// where it lacks SPOT; empty without a `SPOT` array.
    pub spot: Vec<Option<SpotGeoref>>,
}

/// The patch `id` at `row` of a stacked dataset from the `arrays` read for it: its metadata from
/// `meta`, and the georeferencing of its SPOT image (`spot`, per row) where SPOT was read.
/// `source` names the file or store in the error.
///
/// # Errors
/// `meta` has no patch at `row`.
pub fn assemble_patch(
    meta: &DatasetMeta,
    spot: &[Option<SpotGeoref>],
    id: i64,
    row: usize,
    arrays: BTreeMap<Layer, Array>,
    source: &str,
) -> Result<Patch> {
    let meta = meta.patches.get(row).cloned();
    let meta = meta.ok_or_else(|| Error::patch(id, format!("not in the {source}'s metadata")))?;
    let spot = match arrays.contains_key(&Layer::Spot) {
        true => spot.get(row).cloned().flatten(),
        false => None,
    };
    Ok(Patch { meta, arrays, spot })
}

/// Reads and checks the layout of the dataset at `path`.
pub fn interpret(path: &Path, source: &dyn StackedSource) -> Result<Stacked> {
    let attribute = source.layout_attribute()?;
    let version = layout_version(path, source.container(), attribute.as_deref())?;
    let features = source.strings(names::FEATURE)?;
    let meta = dataset_meta(path, &source.attributes()?, &features)?;
    let ids = source.i64s(names::ID_PATCH)?;
    if ids != meta.ids() {
        return Err(Error::invalid(
            path,
            "ID_PATCH disagrees with the patches of the feature array",
        ));
    }
    let mut layers = BTreeMap::new();
    for layer in Layer::ALL {
        if source.has(layer.name())? {
            layers.insert(layer, layer_index(path, version, &meta, layer, source)?);
        } else {
            check_no_column(path, layer, source)?;
        }
    }
    let mut spot = Vec::new();
    if let Some(index) = layers.get_mut(&Layer::Spot) {
        let (shapes, georefs) = spot_rows(path, index, source)?;
        index.per_patch = shapes;
        spot = georefs;
    }
    let rows = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    Ok(Stacked {
        version,
        meta,
        rows,
        layers,
        spot,
    })
}

/// Each patch's SPOT image: its true `(bands, H, W)` from `SPOT_bands`, `SPOT_height` and
/// `SPOT_width` (within the padded stacked array), and its georeferencing from the other
/// `SPOT_*` columns; `None` where `SPOT_present` is 0.
#[allow(clippy::type_complexity)]
fn spot_rows(
    path: &Path,
    index: &LayerIndex,
    source: &dyn StackedSource,
) -> Result<(Vec<Option<Vec<usize>>>, Vec<Option<SpotGeoref>>)> {
    let n = index.per_patch.len();
    let padded = index.shape.get(1..).unwrap_or_default();
    let bands = padded.first().copied().unwrap_or(0);
    let table = |name: &str, values_per_patch: usize, len: usize| -> Result<()> {
        match len == n * values_per_patch {
            true => Ok(()),
            false => Err(Error::invalid(
                path,
                format!("{name} has {len} values, expected {n} x {values_per_patch}"),
            )),
        }
    };
    let sizes = [names::SPOT_BANDS, names::SPOT_HEIGHT, names::SPOT_WIDTH]
        .map(|name| source.i32s(name).and_then(|v| per_patch(path, name, v, n)));
    let [b, h, w] = sizes;
    let (b, h, w) = (b?, h?, w?);
    let wkt = per_patch(
        path,
        names::SPOT_CRS_WKT,
        source.strings(names::SPOT_CRS_WKT)?,
        n,
    )?;
    let epsg = per_patch(path, names::SPOT_EPSG, source.i32s(names::SPOT_EPSG)?, n)?;
    let transform = source.f64s(names::SPOT_GEOTRANSFORM)?;
    table(names::SPOT_GEOTRANSFORM, 6, transform.len())?;
    let descriptions = source.strings(names::SPOT_BAND_DESCRIPTION)?;
    table(names::SPOT_BAND_DESCRIPTION, bands, descriptions.len())?;
    let nodata = source.f64s(names::SPOT_NODATA)?;
    table(names::SPOT_NODATA, bands, nodata.len())?;
    let nodata_present = source.u8s(names::SPOT_NODATA_PRESENT)?;
    table(names::SPOT_NODATA_PRESENT, bands, nodata_present.len())?;
    let mut shapes = Vec::with_capacity(n);
    let mut georefs = Vec::with_capacity(n);
    for row in 0..n {
        if index.per_patch.get(row).is_none_or(Option::is_none) {
            shapes.push(None);
            georefs.push(None);
            continue;
        }
        let own: Vec<usize> = [&b, &h, &w]
            .iter()
            .map(|v| {
                v.get(row)
                    .and_then(|&x| usize::try_from(x).ok())
                    .unwrap_or(usize::MAX)
            })
            .collect();
        if own.len() != padded.len() || own.iter().zip(padded).any(|(o, p)| o > p) {
            return Err(Error::invalid(
                path,
                format!(
                    "SPOT_bands/SPOT_height/SPOT_width of row {row} ({}, {}, {}) exceed the stacked SPOT {padded:?}",
                    b.get(row).unwrap_or(&0), h.get(row).unwrap_or(&0), w.get(row).unwrap_or(&0)
                ),
            ));
        }
        let k = own.first().copied().unwrap_or(0);
        let band_range = row * bands..row * bands + k;
        let geotransform: [f64; 6] = transform
            .get(row * 6..row * 6 + 6)
            .and_then(|t| t.try_into().ok())
            .unwrap_or([f64::NAN; 6]);
        let present = nodata_present.get(band_range.clone()).unwrap_or_default();
        let values = nodata.get(band_range.clone()).unwrap_or_default();
        georefs.push(Some(SpotGeoref {
            crs_wkt: wkt.get(row).cloned().unwrap_or_default(),
            epsg: epsg
                .get(row)
                .and_then(|&e| u32::try_from(e).ok())
                .filter(|&e| e != 0),
            geotransform,
            descriptions: descriptions.get(band_range).unwrap_or_default().to_vec(),
            nodata: present
                .iter()
                .zip(values)
                .map(|(&p, &v)| (p != 0).then_some(v))
                .collect(),
        }));
        shapes.push(Some(own));
    }
    Ok((shapes, georefs))
}

/// The version declared by `attribute`; an unknown or missing one is refused.
pub fn layout_version(path: &Path, what: &str, attribute: Option<&str>) -> Result<LayoutVersion> {
    match attribute {
        Some(LAYOUT_VERSION) => Ok(LayoutVersion::V3),
        Some(LAYOUT_V2) => Ok(LayoutVersion::V2),
        Some(LAYOUT_V1) => Ok(LayoutVersion::V1),
        Some(other) => Err(Error::invalid(
            path,
            format!(
                "layout {other} is not one this version reads ({LAYOUT_VERSION}, {LAYOUT_V2}, {LAYOUT_V1}); \
                 it may come from a newer pastis-bridge"
            ),
        )),
        None => Err(Error::invalid(
            path,
            format!("not a pastis-bridge {what} (no pastis_bridge_layout attribute on the root)"),
        )),
    }
}

/// Works out which patches have `layer` and checks its columns against each other and the dates.
fn layer_index(
    path: &Path,
    version: LayoutVersion,
    meta: &DatasetMeta,
    layer: Layer,
    source: &dyn StackedSource,
) -> Result<LayerIndex> {
    let n = meta.patches.len();
    let shape = source.shape(layer.name())?;
    let series_ok = !layer.is_series() || shape.len() >= 2;
    if shape.first() != Some(&n) || !series_ok {
        return Err(Error::invalid(
            path,
            format!("{layer} has shape {shape:?}, expected {n} patches first"),
        ));
    }
    let column = |name: String| -> Result<Vec<i32>> {
        let values = source.i32s(&name)?;
        per_patch(path, &name, values, n)
    };
    let lengths = match layer.is_series() {
        true => Some(column(length_name(layer))?),
        false => None,
    };
    let present_column = present_name(layer);
    let present: Vec<bool> = if source.has(&present_column)? || version != LayoutVersion::V1 {
        let values = source.u8s(&present_column)?;
        per_patch(path, &present_column, values, n)?
            .into_iter()
            .map(|p| p != 0)
            .collect()
    } else {
        // v1 Zarr stores: a series is present when it has dates, an annotation everywhere.
        match &lengths {
            Some(lengths) => lengths.iter().map(|&t| t > 0).collect(),
            None => vec![true; n],
        }
    };
    let per_patch = present
        .iter()
        .enumerate()
        .map(|(row, &present)| own_shape(path, layer, &shape, present, lengths.as_ref(), row))
        .collect::<Result<Vec<_>>>()?;
    if let Some(lengths) = &lengths {
        check_dates(path, layer, meta, &present, lengths, source)?;
    }
    let dtypes = own_dtypes(path, layer, &present, source)?;
    Ok(LayerIndex {
        shape,
        per_patch,
        dtypes,
    })
}

/// The patches' own dtypes from `<LAYER>_dtype` (empty without the column): a numpy descriptor
/// where the patch has the layer, "" where it lacks it.
fn own_dtypes(
    path: &Path,
    layer: Layer,
    present: &[bool],
    source: &dyn StackedSource,
) -> Result<Vec<Option<DType>>> {
    let name = dtype_name(layer);
    if !source.has(&name)? {
        return Ok(Vec::new());
    }
    let descr = per_patch(path, &name, source.strings(&name)?, present.len())?;
    descr
        .iter()
        .zip(present)
        .enumerate()
        .map(|(row, (d, &present))| match (present, d.as_str()) {
            (false, "") => Ok(None),
            (true, d) => match DType::from_npy_descr(d) {
                Some((dtype, false)) => Ok(Some(dtype)),
                _ => Err(Error::invalid(
                    path,
                    format!("{name} holds {d:?} at row {row}, not a little-endian numpy dtype this version reads"),
                )),
            },
            (false, d) => Err(Error::invalid(
                path,
                format!("{name} holds {d:?} at row {row}, where the patch lacks {layer}"),
            )),
        })
        .collect()
}

/// The shape of one patch's array, `None` where absent; a length must fit the stacked array and
/// be 0 where the patch lacks the series.
fn own_shape(
    path: &Path,
    layer: Layer,
    shape: &[usize],
    present: bool,
    lengths: Option<&Vec<i32>>,
    row: usize,
) -> Result<Option<Vec<usize>>> {
    let mut own = shape.get(1..).unwrap_or_default().to_vec();
    let Some(lengths) = lengths else {
        return Ok(present.then_some(own));
    };
    // The longest series the stacked array holds (its time axis, after the patch axis).
    let longest = own.first().copied().unwrap_or(0);
    let length = lengths.get(row).copied().unwrap_or(-1);
    let fits = usize::try_from(length)
        .ok()
        .filter(|&t| t <= longest && (present || t == 0));
    match (fits, own.first_mut()) {
        (Some(t), Some(time)) => {
            *time = t;
            Ok(present.then_some(own))
        }
        _ => Err(Error::invalid(
            path,
            format!(
                "{} holds {length} at row {row}, outside 0..={longest}{}",
                length_name(layer),
                if present {
                    ""
                } else {
                    " (and 0 for an absent series)"
                }
            ),
        )),
    }
}

/// Checks that `<SERIES>_dates[row, :length]` are the dates of the patch's Feature.
fn check_dates(
    path: &Path,
    layer: Layer,
    meta: &DatasetMeta,
    present: &[bool],
    lengths: &[i32],
    source: &dyn StackedSource,
) -> Result<()> {
    let name = dates_name(layer);
    let shape = source.shape(&name)?;
    let width = shape.get(1).copied().unwrap_or(0);
    let table = source.i32s(&name)?;
    let n = meta.patches.len();
    if shape.len() != 2 || shape.first() != Some(&n) || table.len() != n * width {
        return Err(Error::invalid(
            path,
            format!(
                "{name} has shape {shape:?}, expected ({}, time)",
                meta.patches.len()
            ),
        ));
    }
    let rows = meta.patches.iter().zip(lengths).zip(present).enumerate();
    for (row, ((p, &length), &present)) in rows {
        let length = usize::try_from(length).unwrap_or(0).min(width);
        if !present {
            continue;
        }
        let stored = table
            .get(row * width..row * width + length)
            .unwrap_or_default();
        let listed = p.dates.get(&layer).map(Vec::as_slice).unwrap_or_default();
        let agree = stored
            .iter()
            .enumerate()
            .all(|(t, &d)| listed.get(t).map_or(0, |&d| d as i32) == d);
        if !agree {
            return Err(Error::invalid(
                path,
                format!(
                    "{name} of patch {} ({stored:?}) disagrees with the dates of its feature",
                    p.id
                ),
            ));
        }
    }
    Ok(())
}

/// Fails unless a per-patch column has one value per patch.
fn per_patch<T>(path: &Path, name: &str, values: Vec<T>, n: usize) -> Result<Vec<T>> {
    if values.len() == n {
        Ok(values)
    } else {
        Err(Error::invalid(
            path,
            format!(
                "{name} has {} values, expected {n} (one per patch)",
                values.len()
            ),
        ))
    }
}

/// Fails if a per-patch column of `layer` exists without its data array (a damaged dataset).
fn check_no_column(path: &Path, layer: Layer, source: &dyn StackedSource) -> Result<()> {
    let mut columns = vec![];
    if layer.is_series() {
        columns.extend([length_name(layer), dates_name(layer)]);
    }
    columns.extend([present_name(layer), dtype_name(layer)]);
    if layer == Layer::Spot {
        columns.extend([names::SPOT_BANDS, names::SPOT_GEOTRANSFORM].map(String::from));
    }
    for column in columns {
        if source.has(&column)? {
            let item = source.item();
            return Err(Error::invalid(
                path,
                format!("{item} {layer} is missing, but {column} says which patches have it"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_known_unknown_and_missing() {
        let p = Path::new("x.zarr");
        assert_eq!(
            layout_version(p, "Zarr store", Some(LAYOUT_VERSION)).unwrap(),
            LayoutVersion::V3
        );
        assert_eq!(
            layout_version(p, "Zarr store", Some("pastis-bridge-stacked/2")).unwrap(),
            LayoutVersion::V2
        );
        assert_eq!(
            layout_version(p, "Zarr store", Some("pastis-bridge-stacked/1")).unwrap(),
            LayoutVersion::V1
        );
        let err = layout_version(p, "Zarr store", Some("pastis-bridge-stacked/9"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.zarr") && err.contains("pastis-bridge-stacked/9"),
            "{err}"
        );
        let err = layout_version(p, "Zarr store", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a pastis-bridge Zarr store"), "{err}");
    }

    #[test]
    fn a_length_must_fit_and_be_zero_when_absent() {
        let p = Path::new("x");
        let shape = [2, 3, 10, 4, 4];
        let lengths = vec![3, 0];
        assert_eq!(
            own_shape(p, Layer::S2, &shape, true, Some(&lengths), 1).unwrap(),
            Some(vec![0, 10, 4, 4])
        );
        assert_eq!(
            own_shape(p, Layer::S2, &shape, false, Some(&lengths), 1).unwrap(),
            None
        );
        assert!(own_shape(p, Layer::S2, &shape, false, Some(&lengths), 0).is_err());
        assert!(own_shape(p, Layer::S2, &shape, true, Some(&vec![4, 0]), 0).is_err());
        assert!(own_shape(p, Layer::S2, &shape, true, Some(&vec![-1, 0]), 0).is_err());
    }
}
