//! The per-patch columns of the stacked layout, built once from the dataset's metadata and
//! layout: the typed metadata columns (`ID_PATCH`, `Fold`...), each patch's GeoJSON `feature`,
//! its pixel grid, and for every layer `<LAYER>_present` (plus `_length` and `_dates` for
//! series). The Zarr and HDF5 writers only serialise the [`Column`]s this returns.

use super::{
    dates_name, dtype_name, feature_json, length_name, names, present_name, time_dimension,
};
use crate::georef::patch_grid;
use crate::model::{
    Array, DType, DatasetLayout, DatasetMeta, Layer, LayerLayout, PatchMeta, SpotGeoref,
};
use ndarray::{Array1, Array2};
use serde_json::{json, Map, Value};

/// The values of a column: numbers (a model array, first axis = patch) or one string per patch.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnValues {
    /// A numeric column of shape `(patch,)` or `(patch, k)`.
    Numbers(Array),
    /// A `(patch,)` column of UTF-8 strings (`TILE`, `feature`).
    Text(Vec<String>),
    /// A `(patch, width)` table of UTF-8 strings, C order (`SPOT_band_description`).
    TextTable {
        /// The length of the second axis.
        width: usize,
        /// `patch * width` strings, row after row.
        values: Vec<String>,
    },
}

impl ColumnValues {
    /// Every string of a text column, C order; `None` for numbers.
    pub fn strings(&self) -> Option<&[String]> {
        match self {
            ColumnValues::Numbers(_) => None,
            ColumnValues::Text(t) | ColumnValues::TextTable { values: t, .. } => Some(t),
        }
    }
}

/// One per-patch array of the stacked layout, exactly as both formats store it.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// The array (Zarr) or dataset (HDF5) name: `ID_PATCH`, `S2_present`...
    pub name: String,
    /// Axis names, `patch` first (`["patch", "S2_time"]` for `S2_dates`).
    pub dimension_names: Vec<String>,
    /// The values, whose first axis is the patch.
    pub values: ColumnValues,
    /// Array attributes: `long_name` (CF), saying what the column holds and its sentinel.
    pub attributes: Map<String, Value>,
}

impl Column {
    /// The shape: `(patch,)` or `(patch, k)`.
    pub fn shape(&self) -> Vec<usize> {
        match &self.values {
            ColumnValues::Numbers(a) => a.shape().to_vec(),
            ColumnValues::Text(t) => vec![t.len()],
            ColumnValues::TextTable { width, values } => {
                vec![values.len().checked_div(*width).unwrap_or(0), *width]
            }
        }
    }

    /// The element type; `None` for strings.
    pub fn dtype(&self) -> Option<DType> {
        match &self.values {
            ColumnValues::Numbers(a) => Some(a.dtype()),
            ColumnValues::Text(_) | ColumnValues::TextTable { .. } => None,
        }
    }

    fn new(name: impl Into<String>, dims: &[&str], values: ColumnValues, long_name: &str) -> Self {
        let mut attributes = Map::new();
        attributes.insert("long_name".into(), json!(long_name));
        Column {
            name: name.into(),
            dimension_names: dims.iter().map(|d| d.to_string()).collect(),
            values,
            attributes,
        }
    }

    fn numbers<T: crate::model::Element>(name: &str, values: Vec<T>, long_name: &str) -> Self {
        let values =
            ColumnValues::Numbers(Array::from_ndarray(Array1::from_vec(values).into_dyn()));
        Column::new(name, &["patch"], values, long_name)
    }
}

/// Every per-patch column of a dataset, and the warnings met while building them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Columns {
    /// The columns, in the order they are written.
    pub columns: Vec<Column>,
    /// One line per patch whose pixel grid could not be recovered from its footprint (a Point,
    /// say): its grid columns hold the "unknown" sentinels, the footprint itself stays verbatim
    /// in `feature`. The writer hands these to its caller; the library never prints.
    pub warnings: Vec<String>,
}

/// Builds every per-patch column of the patches of `meta` with the shapes of `layout`.
pub fn build(meta: &DatasetMeta, layout: &DatasetLayout) -> Columns {
    let p = &meta.patches;
    let mut columns = vec![
        Column::numbers(
            names::ID_PATCH,
            p.iter().map(|p| p.id).collect(),
            "ID_PATCH",
        ),
        Column::numbers(
            names::FOLD,
            p.iter().map(|p| p.fold.unwrap_or(-1)).collect(),
            "cross-validation fold 1..5, -1 where unknown",
        ),
        Column::new(
            names::TILE,
            &["patch"],
            ColumnValues::Text(
                p.iter()
                    .map(|p| p.tile.clone().unwrap_or_default())
                    .collect(),
            ),
            "Sentinel-2 tile, empty where unknown",
        ),
        Column::numbers(
            names::N_PARCEL,
            p.iter().map(|p| p.n_parcel.unwrap_or(-1)).collect(),
            "number of parcels, -1 where unknown",
        ),
        Column::numbers(
            names::PARCEL_COVER,
            p.iter()
                .map(|p| p.parcel_cover.unwrap_or(f64::NAN))
                .collect(),
            "share of the patch covered by parcels, NaN where unknown",
        ),
        Column::new(
            names::FEATURE,
            &["patch"],
            ColumnValues::Text((0..p.len()).map(|i| feature_json(meta, i)).collect()),
            "the patch's metadata.geojson Feature, verbatim (GeoJSON)",
        ),
    ];
    let (grids, warnings) = grid_columns(meta, layout);
    columns.extend(grids);
    for (&layer, l) in &layout.layers {
        columns.extend(layer_columns(p, layer, l));
    }
    if let Some(spot) = layout.layers.get(&Layer::Spot) {
        columns.extend(spot_columns(spot, &layout.spot));
    }
    Columns { columns, warnings }
}

/// SPOT's own per-patch columns: each image's true size (`SPOT_bands`, `SPOT_height`,
/// `SPOT_width`; the stacked array is padded to the largest) and its georeferencing as found
/// in its GeoTIFF (`SPOT_crs_wkt`, `SPOT_epsg`, `SPOT_geotransform`, `SPOT_band_description`,
/// `SPOT_nodata` with `SPOT_nodata_present`), sentinels where a patch lacks SPOT.
fn spot_columns(spot: &LayerLayout, georefs: &[Option<SpotGeoref>]) -> Vec<Column> {
    let n = spot.per_patch.len();
    let bands = spot.shape.first().copied().unwrap_or(0);
    let size = |axis: usize| -> Vec<i32> {
        (spot.per_patch.iter())
            .map(|s| {
                s.as_ref()
                    .and_then(|s| s.get(axis))
                    .map_or(0, |&v| v as i32)
            })
            .collect()
    };
    let georef = |row: usize| georefs.get(row).and_then(Option::as_ref);
    let mut transform = Array2::from_elem((n, 6), f64::NAN);
    let mut descriptions = vec![String::new(); n * bands];
    let mut nodata = Array2::from_elem((n, bands), f64::NAN);
    let mut nodata_present = Array2::<u8>::zeros((n, bands));
    for row in 0..n {
        let Some(g) = georef(row) else { continue };
        for (k, &v) in g.geotransform.iter().enumerate() {
            transform[(row, k)] = v;
        }
        for (b, text) in g.descriptions.iter().take(bands).enumerate() {
            descriptions[row * bands + b] = text.clone();
        }
        for (b, value) in g.nodata.iter().take(bands).enumerate() {
            if let Some(value) = value {
                nodata[(row, b)] = *value;
                nodata_present[(row, b)] = 1;
            }
        }
    }
    let band_dims = ["patch", "SPOT_band"];
    let numbers = |a: Array| ColumnValues::Numbers(a);
    vec![
        Column::numbers(names::SPOT_BANDS, size(0), "band count of the patch's SPOT image, 0 where it lacks SPOT"),
        Column::numbers(names::SPOT_HEIGHT, size(1), "height in pixels of the patch's SPOT image, 0 where it lacks SPOT"),
        Column::numbers(names::SPOT_WIDTH, size(2), "width in pixels of the patch's SPOT image, 0 where it lacks SPOT"),
        Column::new(
            names::SPOT_CRS_WKT,
            &["patch"],
            ColumnValues::Text((0..n).map(|r| georef(r).map_or(String::new(), |g| g.crs_wkt.clone())).collect()),
            "CRS of the patch's SPOT image as OGC WKT, empty where none",
        ),
        Column::numbers(
            names::SPOT_EPSG,
            (0..n).map(|r| georef(r).and_then(|g| g.epsg).and_then(|e| i32::try_from(e).ok()).unwrap_or(0)).collect(),
            "EPSG code of the patch's SPOT CRS, 0 where none is identified or it lacks SPOT",
        ),
        Column::new(
            names::SPOT_GEOTRANSFORM,
            &["patch", "geotransform"],
            numbers(Array::from_ndarray(transform.into_dyn())),
            "GDAL geotransform of the patch's SPOT image, NaN where it lacks SPOT",
        ),
        Column::new(
            names::SPOT_BAND_DESCRIPTION,
            &band_dims,
            ColumnValues::TextTable { width: bands, values: descriptions },
            "description of each band of the patch's SPOT image, empty where none",
        ),
        Column::new(
            names::SPOT_NODATA,
            &band_dims,
            numbers(Array::from_ndarray(nodata.into_dyn())),
            "no-data value of each band of the patch's SPOT image, valid where SPOT_nodata_present is 1",
        ),
        Column::new(
            names::SPOT_NODATA_PRESENT,
            &band_dims,
            numbers(Array::from_ndarray(nodata_present.into_dyn())),
            "1 where the band of the patch's SPOT image has a no-data value, 0 where not",
        ),
    ]
}

/// `<LAYER>_present` for every layer; `_length` and `_dates` for series.
fn layer_columns(patches: &[PatchMeta], layer: Layer, l: &LayerLayout) -> Vec<Column> {
    let present = l.per_patch.iter().map(|s| u8::from(s.is_some())).collect();
    let mut columns = vec![Column::numbers(
        &present_name(layer),
        present,
        &format!("1 where the patch has {layer}, 0 where it lacks it"),
    )];
    if l.is_mixed() {
        let descr = (0..patches.len())
            .map(|i| l.dtype_of(i).map_or("", DType::npy_descr).to_string())
            .collect();
        columns.push(Column::new(
            dtype_name(layer),
            &["patch"],
            ColumnValues::Text(descr),
            &format!(
                "the patch's own {layer} dtype (numpy descriptor), stored as {}; empty where it lacks {layer}",
                l.dtype
            ),
        ));
    }
    if layer.is_series() {
        let lengths = l.lengths().into_iter().map(|t| t as i32).collect();
        columns.push(Column::numbers(
            &length_name(layer),
            lengths,
            &format!("number of dates of the patch's {layer} series"),
        ));
        let max = l.shape.first().copied().unwrap_or(0);
        let table = Array2::from_shape_fn((patches.len(), max), |(row, t)| {
            patches[row]
                .dates
                .get(&layer)
                .and_then(|d| d.get(t))
                .map_or(0, |&d| d as i32)
        });
        let time = time_dimension(layer, l.shape.len());
        columns.push(Column::new(
            dates_name(layer),
            &["patch", &time],
            ColumnValues::Numbers(Array::from_ndarray(table.into_dyn())),
            &format!("dates of the patch's {layer} series as yyyymmdd, 0-padded"),
        ));
    }
    columns
}

/// `grid_epsg` and `grid_transform` (0 and NaN where unknown), and a warning for each patch
/// whose footprint gives no grid (`georef::GeorefProblem`: not the patch's square, a Point...).
fn grid_columns(meta: &DatasetMeta, layout: &DatasetLayout) -> (Vec<Column>, Vec<String>) {
    let n = meta.patches.len();
    let mut epsg = vec![0i32; n];
    let mut transform = Array2::from_elem((n, 6), f64::NAN);
    let mut warnings = Vec::new();
    for (i, p) in meta.patches.iter().enumerate() {
        let Some((h, w)) = spatial_size(layout, i) else {
            continue;
        };
        match patch_grid(meta.crs.as_deref(), p, h, w) {
            Ok(Some(grid)) => {
                epsg[i] = i32::try_from(grid.epsg).unwrap_or(0);
                for (k, v) in grid.geotransform.into_iter().enumerate() {
                    transform[(i, k)] = v;
                }
            }
            Ok(None) => {}
            Err(e) => warnings.push(format!(
                "{e}: no pixel grid (grid_epsg 0, grid_transform NaN); the footprint is kept as it is in `feature`"
            )),
        }
    }
    let columns = vec![
        Column::numbers(
            names::GRID_EPSG,
            epsg,
            "EPSG code of the patch's pixel grid, 0 where unknown",
        ),
        Column::new(
            names::GRID_TRANSFORM,
            &["patch", "geotransform"],
            ColumnValues::Numbers(Array::from_ndarray(transform.into_dyn())),
            "GDAL geotransform of the patch's pixel grid, NaN where unknown",
        ),
    ];
    (columns, warnings)
}

/// The `(height, width)` of patch `index`: from a layer it has, else from the dataset's layout
/// (every patch of a layer shares the size of its last two axes).
fn spatial_size(layout: &DatasetLayout, index: usize) -> Option<(usize, usize)> {
    let last_two = |shape: &[usize]| match shape {
        [.., h, w] => Some((*h, *w)),
        _ => None,
    };
    // SPOT is on its own grid: never the patch's size.
    let layers = || {
        (layout.layers.iter())
            .filter(|(layer, _)| !layer.has_own_grid())
            .map(|(_, l)| l)
    };
    layers()
        .find_map(|l| last_two(l.per_patch.get(index)?.as_ref()?))
        .or_else(|| layers().find_map(|l| last_two(&l.shape)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LayerLayout;

    fn layout() -> DatasetLayout {
        let mut layout = DatasetLayout::default();
        layout.layers.insert(
            Layer::S2,
            LayerLayout {
                dtype: DType::I16,
                shape: vec![2, 10, 4, 4],
                per_patch: vec![Some(vec![2, 10, 4, 4]), Some(vec![0, 10, 4, 4]), None],
                dtypes: Vec::new(),
                conflict: None,
            },
        );
        layout
    }

    fn meta() -> DatasetMeta {
        let mut patches: Vec<PatchMeta> = (1..=3).map(PatchMeta::new).collect();
        patches[0].dates.insert(Layer::S2, vec![20180901, 20180911]);
        patches[1].dates.insert(Layer::S2, vec![]);
        patches[2].footprint = Some(
            serde_json::from_value(json!({"type": "Point", "coordinates": [700000.0, 6600000.0]}))
                .unwrap(),
        );
        DatasetMeta {
            patches,
            ..Default::default()
        }
    }

    fn column<'a>(columns: &'a Columns, name: &str) -> &'a Column {
        columns.columns.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn series_with_no_dates_is_present_and_absence_is_not() {
        let columns = build(&meta(), &layout());
        let ints = |name: &str| column(&columns, name).values.clone();
        let expect = |v: Vec<i32>| {
            ColumnValues::Numbers(Array::from_ndarray(Array1::from_vec(v).into_dyn()))
        };
        assert_eq!(
            ints("S2_present"),
            ColumnValues::Numbers(Array::from_ndarray(
                Array1::from_vec(vec![1u8, 1, 0]).into_dyn()
            ))
        );
        assert_eq!(ints("S2_length"), expect(vec![2, 0, 0]));
        let dates = column(&columns, "S2_dates");
        assert_eq!(dates.shape(), vec![3, 2]);
        assert_eq!(dates.dimension_names, ["patch", "S2_time"]);
        assert_eq!(dates.dtype(), Some(DType::I32));
    }

    #[test]
    fn a_point_footprint_gives_unknown_grid_and_a_warning() {
        let columns = build(&meta(), &layout());
        assert_eq!(columns.warnings.len(), 1, "{:?}", columns.warnings);
        assert!(
            columns.warnings[0].contains("patch 3"),
            "{:?}",
            columns.warnings
        );
        let ColumnValues::Numbers(transform) = &column(&columns, "grid_transform").values else {
            panic!("grid_transform is numeric");
        };
        assert_eq!(transform.shape(), &[3, 6]);
        assert!(transform.to_f64().iter().all(|v| v.is_nan()));
    }
}
