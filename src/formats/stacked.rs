//! The stacked layout shared by the Zarr store and the HDF5 file: one array per layer with the
//! patch as first axis, ragged series padded with zeros beside their true lengths and dates, and
//! per-patch metadata as arrays. It is described once here: the data arrays ([`data_arrays`]),
//! the per-patch columns ([`columns::build`]) and the dataset attributes
//! ([`dataset_attributes`]); the Zarr and HDF5 writers only serialise them, and both readers
//! interpret what they find through [`read::interpret`]. docs/zarr-layout.md and
//! docs/hdf5-layout.md describe it.

use crate::model::classes::{CLASS_COLORS, CLASS_NAMES, S1_BANDS, S2_BANDS};
use crate::model::metadata_geojson::{metadata_document, parse_metadata};
use crate::model::{
    cast, Array, DType, DatasetLayout, DatasetMeta, Layer, Patch, Series, SpotGeoref,
};
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::path::Path;

pub mod cf;
pub mod columns;
pub mod read;

pub use columns::{Column, ColumnValues, Columns};
pub use read::{LayerIndex, LayoutVersion, Stacked, StackedSource};

/// Identifies the layout in the dataset attributes (`pastis_bridge_layout`); bump on any
/// incompatible change, and keep reading the versions before.
pub const LAYOUT_VERSION: &str = "pastis-bridge-stacked/3";

/// The second version, still read: as version 3 but without `<LAYER>_dtype` (every patch of a
/// layer had the stacked dtype) and with Zarr v2 text as variable-length `|O` strings.
pub const LAYOUT_V2: &str = "pastis-bridge-stacked/2";

/// The first version, still read: no `<SERIES>_present` in Zarr stores (a series of length 0
/// was absent), the dates axis of HDF5's `<SERIES>_dates` named `time`.
pub const LAYOUT_V1: &str = "pastis-bridge-stacked/1";

/// Per-patch metadata arrays (first axis = patch).
pub mod names {
    /// `ID_PATCH` (int64).
    pub const ID_PATCH: &str = "ID_PATCH";
    /// `Fold` (int64, -1 where unknown).
    pub const FOLD: &str = "Fold";
    /// `TILE` (string, "" where unknown).
    pub const TILE: &str = "TILE";
    /// `N_Parcel` (int64, -1 where unknown).
    pub const N_PARCEL: &str = "N_Parcel";
    /// `Parcel_Cover` (float64, NaN where unknown).
    pub const PARCEL_COVER: &str = "Parcel_Cover";
    /// The whole metadata.geojson Feature of each patch (string, GeoJSON), the exact source of
    /// every metadata field when reading back.
    pub const FEATURE: &str = "feature";
    /// EPSG code of each patch's pixel grid (int32, 0 where unknown).
    pub const GRID_EPSG: &str = "grid_epsg";
    /// GDAL geotransform of each patch's pixel grid (float64 (patch, 6), NaN where unknown).
    pub const GRID_TRANSFORM: &str = "grid_transform";
    /// Band count of each patch's SPOT image (int32, 0 where absent): `SPOT[i, :SPOT_bands[i]]`.
    pub const SPOT_BANDS: &str = "SPOT_bands";
    /// Height in pixels of each patch's SPOT image (int32, 0 where absent).
    pub const SPOT_HEIGHT: &str = "SPOT_height";
    /// Width in pixels of each patch's SPOT image (int32, 0 where absent).
    pub const SPOT_WIDTH: &str = "SPOT_width";
    /// The CRS of each SPOT image as OGC WKT (string, "" where none or absent).
    pub const SPOT_CRS_WKT: &str = "SPOT_crs_wkt";
    /// The EPSG code of each SPOT image's CRS (int32, 0 where GDAL identifies none, or absent).
    pub const SPOT_EPSG: &str = "SPOT_epsg";
    /// GDAL geotransform of each SPOT image (float64 (patch, 6), NaN where absent).
    pub const SPOT_GEOTRANSFORM: &str = "SPOT_geotransform";
    /// Each SPOT band's description (string (patch, SPOT_band), "" where none).
    pub const SPOT_BAND_DESCRIPTION: &str = "SPOT_band_description";
    /// Each SPOT band's no-data value (float64 (patch, SPOT_band), valid where
    /// `SPOT_nodata_present` is 1).
    pub const SPOT_NODATA: &str = "SPOT_nodata";
    /// 1 where the SPOT band has a no-data value (uint8 (patch, SPOT_band)).
    pub const SPOT_NODATA_PRESENT: &str = "SPOT_nodata_present";
}

/// `S2_length`: the true number of dates of each patch's series (int32, 0 where absent).
pub fn length_name(layer: Layer) -> String {
    format!("{}_length", layer.name())
}

/// `S2_dates`: dates of each patch's series as yyyymmdd (int32 (patch, time), 0-padded).
pub fn dates_name(layer: Layer) -> String {
    format!("{}_dates", layer.name())
}

/// `S2_present`, `TARGET_present`: whether each patch has the layer (uint8 (patch), 1 = present).
/// Every layer has one, series included, so that a series with 0 dates (present) and a missing
/// one (absent) differ.
pub fn present_name(layer: Layer) -> String {
    format!("{}_present", layer.name())
}

/// `TARGET_dtype`: each patch's own dtype as a numpy descriptor (`|u1`, `<i2`; "" where the patch
/// lacks the layer), only for a layer whose patches' dtypes differ: the stacked array holds them
/// all in a common dtype ([`DType::common`]) and reading restores each patch's own.
pub fn dtype_name(layer: Layer) -> String {
    format!("{}_dtype", layer.name())
}

/// The axis names of a layer's stacked array: `patch`, then the layer's own axes, those other
/// than `y` and `x` prefixed with the layer (`S2_time`, `S2_band`, `TARGET_channel`), so that
/// layers of different lengths never share an axis name (xarray and netCDF need one size per name).
pub fn dimension_names(layer: Layer, ndim: usize) -> Vec<String> {
    let mut names = vec!["patch".to_string()];
    let prefix = format!("{}_", layer.name());
    names.extend(layer.dimension_names(ndim).into_iter().map(|n| match n {
        "y" | "x" => n.to_string(),
        // SPOT's axes are named for the layer already (`SPOT_band`, `SPOT_y`, `SPOT_x`).
        _ if n.starts_with(&prefix) => n.to_string(),
        _ => format!("{prefix}{n}"),
    }));
    names
}

/// The name of a series' time axis (`S2_time`), shared by its data array and its `_dates`.
pub fn time_dimension(layer: Layer, ndim: usize) -> String {
    dimension_names(layer, ndim.max(1))
        .get(1)
        .cloned()
        .unwrap_or_else(|| format!("{}_time", layer.name()))
}

/// One stacked data array: a layer of every patch.
#[derive(Clone, Debug, PartialEq)]
pub struct StackedArray {
    /// The layer; the array is named after it (`S2`, `TARGET`...).
    pub layer: Layer,
    /// Element type: the patches' own, or the smallest that holds each patch's exactly.
    pub dtype: DType,
    /// Per patch: its own element type where the layer mixes dtypes (empty when every patch
    /// has [`dtype`](Self::dtype)).
    pub own_dtypes: Vec<Option<DType>>,
    /// `(patch, ...)`: for series, time is the dataset's longest series.
    pub shape: Vec<usize>,
    /// Axis names: `patch` then the layer's own (`S2_time, S2_band, y, x`), see [`dimension_names`].
    pub dimension_names: Vec<String>,
    /// The smallest unit read: one patch and, for series, a run of dates (`series_chunk_dates`
    /// of [`data_arrays`], at most the time axis, at least 1): `(1, k, C, H, W)`; for SPOT, a
    /// window of [`SPOT_CHUNK`] pixels; `(1, ...)` for annotations.
    pub chunk: Vec<usize>,
    /// Patches per shard (Zarr v3) for this layer: 1 for series and SPOT (one object per
    /// sample), a group of patches for annotations.
    pub patches_per_shard: usize,
}

impl StackedArray {
    /// The Zarr v3 shard: [`patches_per_shard`](Self::patches_per_shard) rows, and every other
    /// axis rounded up to a whole number of chunks (a shard holds whole inner chunks: a series'
    /// time axis to a multiple of its chunk's dates, SPOT's windows may overhang the image; the
    /// rounding is never stored). Every extent at least 1.
    pub fn shard(&self) -> Vec<usize> {
        let mut shard: Vec<usize> = (self.shape.iter().zip(&self.chunk))
            .map(|(&s, &c)| s.div_ceil(c.max(1)) * c.max(1))
            .collect();
        if let Some(first) = shard.first_mut() {
            *first = self.patches_per_shard;
        }
        shard.iter().map(|&c| c.max(1)).collect()
    }

    /// Checks that `array`, the layer of patch `id` at `row`, fits this stacked array (its own
    /// dtype as surveyed; every axis but a series' time equal, the time no longer) and returns
    /// it in the stacked dtype, widened exactly where the patch's own dtype is narrower.
    pub fn fit<'a>(&self, id: i64, row: usize, array: &'a Array) -> Result<Cow<'a, Array>> {
        self.check(id, row, array)?;
        let (layer, expected, shape) = (self.layer, &self.shape[1..], array.shape());
        let widened = match array.dtype() == self.dtype {
            true => Cow::Borrowed(array),
            false => cast::widen(array, self.dtype)
                .map(Cow::Owned)
                .map_err(|e| Error::patch(id, format!("{layer}: {e}")))?,
        };
        if !layer.has_own_grid() || shape == expected {
            return Ok(widened);
        }
        // SPOT: zero-padded to the largest image (checked to fit above).
        widened.padded(expected).map(Cow::Owned).ok_or_else(|| {
            Error::patch(
                id,
                format!("{layer} {shape:?} cannot be padded to {expected:?}"),
            )
        })
    }

    /// The test of [`fit`](Self::fit) without the cast or SPOT's padding: a writer that widens
    /// piece by piece (HDF5's chunks, [`cast::widen_le_bytes`]) checks the whole array first
    /// with this.
    pub fn check(&self, id: i64, row: usize, array: &Array) -> Result<()> {
        let (layer, expected) = (self.layer, &self.shape[1..]);
        let shape = array.shape();
        let fits = shape.len() == expected.len()
            && match (layer.is_series(), layer.has_own_grid()) {
                (_, true) => shape.iter().zip(expected).all(|(a, b)| a <= b),
                (true, _) => shape[1..] == expected[1..] && shape.first() <= expected.first(),
                _ => shape == expected,
            };
        let own = self.own_dtypes.get(row).copied().flatten();
        if !fits || array.dtype() != own.unwrap_or(self.dtype) {
            return Err(Error::patch(
                id,
                format!(
                    "{layer} is {} {shape:?}, which does not fit the stacked {} {expected:?}",
                    array.dtype(),
                    own.unwrap_or(self.dtype)
                ),
            ));
        }
        Ok(())
    }
}

/// The largest side of a SPOT chunk `(1, SPOT_band, <=256, <=256)`, in pixels (bench/RESULTS.md,
/// "SPOT chunks").
pub const SPOT_CHUNK: usize = 256;

/// Fails unless the SPOT georeferencing a patch arrives with (at `row`) is the one the survey
/// found and the `SPOT_*` columns hold (`surveyed`, [`DatasetLayout::spot`]): the columns are
/// written before the pixels, so a source whose headers and images disagree is refused rather
/// than stored with the wrong georeferencing.
pub fn check_spot(surveyed: &[Option<SpotGeoref>], row: usize, patch: &Patch) -> Result<()> {
    let Some(own) = &patch.spot else {
        return Ok(());
    };
    match surveyed.get(row).and_then(Option::as_ref) {
        Some(found) if found.same_as(own) => Ok(()),
        _ => Err(Error::patch_layer(
            patch.id(),
            Layer::Spot,
            None,
            "the image's georeferencing differs from its header's, read by the survey",
        )),
    }
}

/// The side of SPOT's chunk window along an axis of `extent` pixels: `extent` cut into the fewest
/// equal windows of at most [`SPOT_CHUNK`] (the last window may be a few pixels short).
pub fn spot_window(extent: usize) -> usize {
    let windows = extent.div_ceil(SPOT_CHUNK).max(1);
    extent.div_ceil(windows)
}

/// Patches per annotation shard: 128x128 annotations are small, so a shard holds a group.
pub const ANNOTATION_PATCHES_PER_SHARD: usize = 32;

/// Dates per series chunk in a Zarr store (`--co SERIES_CHUNK_DATES`, default): 8 dates of
/// one patch, (1, 8, 10, 128, 128) int16 = 2.6 MB raw for S2. zarr-python pays about 1 ms per
/// chunk, so one chunk per date made a loader item (S2 + S1A + S1D, ~180 dates) 2-3x slower than
/// `np.load`; 8 dates per chunk cut the chunks 8-fold while a single date (`mono_date`) or a
/// short sub-series still decodes only 8 dates (bench/RESULTS.md, "Series chunks").
pub const SERIES_CHUNK_DATES: usize = 8;

/// The data arrays of a dataset of `n_patches` patches with `layout`, series chunked by
/// `series_chunk_dates` dates (clamped to 1..=Tmax; HDF5 passes 1, Zarr
/// [`SERIES_CHUNK_DATES`] or the user's choice).
pub fn data_arrays(
    layout: &DatasetLayout,
    n_patches: usize,
    series_chunk_dates: usize,
) -> Vec<StackedArray> {
    layout
        .layers
        .iter()
        .map(|(&layer, l)| {
            let mut shape = vec![n_patches];
            shape.extend(&l.shape);
            let dimension_names = dimension_names(layer, l.shape.len());
            let mut chunk = shape.clone();
            chunk[0] = 1;
            if layer.is_series() && chunk.len() > 1 {
                chunk[1] = series_chunk_dates.clamp(1, chunk[1].max(1));
            }
            if layer.has_own_grid() {
                // SPOT: every band of a window of at most SPOT_CHUNK pixels a side, the windows
                // of equal size (a 1280 x 1280 image is 5 x 5 chunks of 256, a 320 x 320 one
                // 2 x 2 of 160), so a window reads without the whole image.
                let n = chunk.len();
                for axis in chunk.iter_mut().skip(n.saturating_sub(2)) {
                    *axis = spot_window(*axis);
                }
            }
            StackedArray {
                layer,
                dtype: l.dtype,
                own_dtypes: l.dtypes.clone(),
                shape,
                dimension_names,
                chunk,
                patches_per_shard: if layer.stored_by_patch() {
                    1
                } else {
                    ANNOTATION_PATCHES_PER_SHARD.min(n_patches.max(1))
                },
            }
        })
        .collect()
}

/// The metadata.geojson Feature of one patch, as a compact JSON string.
pub fn feature_json(meta: &DatasetMeta, index: usize) -> String {
    let one = DatasetMeta {
        patches: vec![meta.patches[index].clone()],
        crs: None,
        collection_extra: Map::new(),
        norms: Default::default(),
    };
    metadata_document(&one)["features"][0].to_string()
}

/// Rebuilds the dataset metadata from the dataset attributes and each patch's Feature string.
pub fn dataset_meta(
    path: &Path,
    attributes: &Map<String, Value>,
    features: &[String],
) -> Result<DatasetMeta> {
    let features = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            serde_json::from_str::<Value>(f)
                .map_err(|e| Error::invalid(path, format!("feature of patch {i} is not JSON: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut doc = attributes
        .get("collection")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    doc.insert("type".into(), json!("FeatureCollection"));
    if let Some(crs) = attributes.get("crs").and_then(Value::as_str) {
        doc.insert(
            "crs".into(),
            json!({"type": "name", "properties": {"name": crs}}),
        );
    }
    doc.insert("features".into(), Value::Array(features));
    let mut meta = parse_metadata(path, Value::Object(doc))?;
    if let Some(Value::Object(norms)) = attributes.get("norm") {
        for (name, value) in norms {
            let series: Series = name
                .parse()
                .map_err(|e: String| Error::invalid(path, format!("NORM statistics: {e}")))?;
            meta.norms.insert(series, value.clone());
        }
    }
    Ok(meta)
}

/// Dataset-level attributes: layout version, source, classes, band names, NORM statistics, CRS
/// of the footprints, and the FeatureCollection's other members.
pub fn dataset_attributes(meta: &DatasetMeta, source: &str) -> Map<String, Value> {
    let mut a = Map::new();
    a.insert("pastis_bridge_layout".into(), json!(LAYOUT_VERSION));
    a.insert(
        "pastis_bridge_version".into(),
        json!(env!("CARGO_PKG_VERSION")),
    );
    a.insert("source".into(), json!(source));
    a.insert("class_names".into(), json!(CLASS_NAMES));
    a.insert("class_colors".into(), json!(CLASS_COLORS));
    a.insert("S2_bands".into(), json!(S2_BANDS));
    a.insert("S1_bands".into(), json!(S1_BANDS));
    if let Some(crs) = &meta.crs {
        a.insert("crs".into(), json!(crs));
    }
    a.insert(
        "collection".into(),
        Value::Object(meta.collection_extra.clone()),
    );
    let norms: Map<String, Value> = meta
        .norms
        .iter()
        .map(|(l, v)| (l.name().to_string(), v.clone()))
        .collect();
    a.insert("norm".into(), Value::Object(norms));
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LayerLayout, PatchMeta};

    #[test]
    fn series_chunks_of_k_dates_annotations_per_patch() {
        let mut layout = DatasetLayout::default();
        layout.layers.insert(
            Layer::S2,
            LayerLayout {
                dtype: DType::I16,
                shape: vec![5, 10, 8, 8],
                per_patch: vec![],
                dtypes: Vec::new(),
                conflict: None,
            },
        );
        layout.layers.insert(
            Layer::Target,
            LayerLayout {
                dtype: DType::U8,
                shape: vec![3, 8, 8],
                per_patch: vec![],
                dtypes: Vec::new(),
                conflict: None,
            },
        );
        let arrays = data_arrays(&layout, 4, 2);
        assert_eq!(arrays[0].shape, vec![4, 5, 10, 8, 8]);
        assert_eq!(arrays[0].chunk, vec![1, 2, 10, 8, 8]);
        // 5 dates in chunks of 2: the shard holds 3 whole chunks.
        assert_eq!(arrays[0].shard(), vec![1, 6, 10, 8, 8]);
        assert_eq!(
            arrays[0].dimension_names,
            ["patch", "S2_time", "S2_band", "y", "x"]
        );
        assert_eq!(arrays[0].patches_per_shard, 1);
        assert_eq!(arrays[1].chunk, vec![1, 3, 8, 8]);
        assert_eq!(
            arrays[1].dimension_names,
            ["patch", "TARGET_channel", "y", "x"]
        );
        assert_eq!(arrays[1].patches_per_shard, 4);
        assert_eq!(arrays[1].shard(), vec![4, 3, 8, 8]);
        // One date per chunk, and more dates than the series has: the whole series.
        assert_eq!(data_arrays(&layout, 4, 1)[0].chunk, vec![1, 1, 10, 8, 8]);
        let whole = &data_arrays(&layout, 4, usize::MAX)[0];
        assert_eq!(whole.chunk, vec![1, 5, 10, 8, 8]);
        assert_eq!(whole.shard(), vec![1, 5, 10, 8, 8]);
        // A layer whose every series has 0 dates: chunk and shard extents stay at least 1.
        layout.layers.get_mut(&Layer::S2).unwrap().shape[0] = 0;
        let empty = &data_arrays(&layout, 4, 8)[0];
        assert_eq!(empty.chunk, vec![1, 1, 10, 8, 8]);
        assert_eq!(empty.shard(), vec![1, 1, 10, 8, 8]);
    }

    #[test]
    fn spot_pads_to_the_stacked_shape_and_must_match_the_survey() {
        let mut layout = DatasetLayout::default();
        layout.layers.insert(
            Layer::Spot,
            LayerLayout {
                dtype: DType::U16,
                shape: vec![4, 600, 300],
                per_patch: vec![Some(vec![3, 600, 300]), Some(vec![4, 20, 30])],
                dtypes: vec![Some(DType::U8), Some(DType::U16)],
                conflict: None,
            },
        );
        let spot = &data_arrays(&layout, 2, SERIES_CHUNK_DATES)[0];
        assert_eq!(
            spot.dimension_names,
            ["patch", "SPOT_band", "SPOT_y", "SPOT_x"]
        );
        assert_eq!(spot.chunk, vec![1, 4, 200, 150]);
        assert_eq!(spot.shard(), vec![1, 4, 600, 300]);
        assert_eq!(spot.patches_per_shard, 1);
        let small = Array::from_ndarray(ndarray::ArrayD::<u16>::from_elem(vec![4, 20, 30], 9));
        let padded = spot.fit(2, 1, &small).unwrap();
        assert_eq!(padded.shape(), &[4, 600, 300]);
        let values = padded.to_f64();
        assert_eq!(
            (values[[3, 19, 29]], values[[3, 20, 29]], values[[0, 0, 30]]),
            (9.0, 0.0, 0.0)
        );
        let too_big = Array::zeros(DType::U16, &[5, 20, 30]);
        assert!(spot.fit(2, 1, &too_big).is_err());

        let georef = SpotGeoref {
            crs_wkt: String::new(),
            epsg: None,
            geotransform: [0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
            descriptions: vec![String::new(); 4],
            nodata: vec![None; 4],
        };
        let mut patch = Patch {
            meta: crate::model::PatchMeta::new(2),
            arrays: Default::default(),
            spot: Some(georef.clone()),
        };
        assert!(check_spot(&[None, Some(georef.clone())], 1, &patch).is_ok());
        let mut moved = georef;
        moved.geotransform[0] = 10.0;
        let err = check_spot(&[None, Some(moved)], 1, &patch)
            .unwrap_err()
            .to_string();
        assert!(err.contains("patch 2") && err.contains("SPOT"), "{err}");
        patch.spot = None;
        assert!(check_spot(&[], 1, &patch).is_ok());
    }

    #[test]
    fn spot_windows_are_equal_and_at_most_256() {
        assert_eq!(spot_window(1280), 256);
        assert_eq!(spot_window(320), 160);
        assert_eq!(spot_window(1001), 251);
        assert_eq!(spot_window(100), 100);
        assert_eq!(spot_window(0), 0);
    }

    #[test]
    fn metadata_survives_features_and_attributes() {
        let mut p = PatchMeta::new(7);
        p.fold = Some(2);
        p.dates.insert(Layer::S2, vec![20180901, 20180911]);
        p.extra.insert("x".into(), json!([1, 2]));
        let mut meta = DatasetMeta {
            patches: vec![p],
            crs: Some("urn:ogc:def:crs:EPSG::2154".into()),
            ..Default::default()
        };
        meta.norms.insert(
            Series::S2,
            json!({"Fold_1": {"mean": [1.5], "std": [0.25]}}),
        );
        meta.collection_extra
            .insert("name".into(), json!("metadata"));
        let attrs = dataset_attributes(&meta, "test");
        let back = dataset_meta(Path::new("x"), &attrs, &[feature_json(&meta, 0)]).unwrap();
        assert_eq!(back, meta);
    }
}
