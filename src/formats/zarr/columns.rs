//! The per-patch metadata arrays: typed columns, the GeoJSON feature, the pixel grid, the series
//! lengths and dates, and annotation presence. All are small and written whole, as one chunk.

use super::arrays::{create_array, write_block, ArrayDef, Kind, Version};
use super::{zarr_error, Store};
use crate::formats::stacked::{
    dates_name, dates_table, feature_json, length_name, names, present_name, PatchColumns,
};
use crate::formats::Compression;
use crate::georef::patch_grid;
use crate::model::{DatasetLayout, DatasetMeta, Element};
use crate::Result;
use ndarray::{ArrayD, IxDyn};
use std::path::Path;

/// Where the columns go and how they are encoded.
pub struct ColumnSink<'a> {
    /// The store's path, for errors.
    pub root: &'a Path,
    /// The store.
    pub store: &'a Store,
    /// Zarr version.
    pub version: Version,
    /// Compression.
    pub compression: Compression,
}

impl ColumnSink<'_> {
    fn number<T: Element>(
        &self,
        name: &str,
        values: Vec<T>,
        shape: &[usize],
        dims: &[&str],
    ) -> Result<()> {
        let def = ArrayDef::whole(name, Kind::Number(T::DTYPE), shape.to_vec(), dims);
        let array = create_array(self.root, self.store, &def, self.version, self.compression)?;
        let block = ArrayD::from_shape_vec(IxDyn(shape), values)
            .map_err(|e| zarr_error(self.root, format!("array {name}: {e}")))?;
        write_block(self.root, &array, 0, &T::wrap(block))
    }

    fn text(&self, name: &str, values: Vec<String>) -> Result<()> {
        let def = ArrayDef::whole(name, Kind::Text, vec![values.len()], &["patch"]);
        let array = create_array(self.root, self.store, &def, self.version, self.compression)?;
        if values.is_empty() {
            return Ok(());
        }
        let region = super::arrays::subset(0..values.len(), &[]);
        array
            .store_array_subset(&region, &values)
            .map_err(|e| zarr_error(self.root, format!("writing {name}: {e}")))
    }
}

/// Writes every per-patch array of the dataset `meta` with `layout`.
pub fn write_columns(sink: &ColumnSink, meta: &DatasetMeta, layout: &DatasetLayout) -> Result<()> {
    let n = meta.patches.len();
    let c = PatchColumns::new(&meta.patches);
    sink.number(names::ID_PATCH, c.id_patch, &[n], &["patch"])?;
    sink.number(names::FOLD, c.fold, &[n], &["patch"])?;
    sink.text(names::TILE, c.tile)?;
    sink.number(names::N_PARCEL, c.n_parcel, &[n], &["patch"])?;
    sink.number(names::PARCEL_COVER, c.parcel_cover, &[n], &["patch"])?;
    sink.text(
        names::FEATURE,
        (0..n).map(|i| feature_json(meta, i)).collect(),
    )?;
    write_grids(sink, meta, layout)?;
    for (&layer, l) in &layout.layers {
        if layer.is_series() {
            let lengths = l.lengths();
            let max = l.shape.first().copied().unwrap_or(0);
            let len_values = lengths.iter().map(|&t| t as i32).collect();
            sink.number(&length_name(layer), len_values, &[n], &["patch"])?;
            let time = format!("{}_time", layer.name());
            let dates = dates_table(&meta.patches, layer, max);
            sink.number(&dates_name(layer), dates, &[n, max], &["patch", &time])?;
        } else {
            let present = l.per_patch.iter().map(|s| u8::from(s.is_some())).collect();
            sink.number(&present_name(layer), present, &[n], &["patch"])?;
        }
    }
    Ok(())
}

/// `grid_epsg` and `grid_transform`, from [`patch_grid`]; 0 and NaN where unknown.
fn write_grids(sink: &ColumnSink, meta: &DatasetMeta, layout: &DatasetLayout) -> Result<()> {
    let n = meta.patches.len();
    let mut epsg = vec![0i32; n];
    let mut transform = vec![f64::NAN; n * 6];
    for (i, p) in meta.patches.iter().enumerate() {
        let Some((h, w)) = spatial_size(layout, i) else {
            continue;
        };
        // Implausible footprints get the sentinels: the footprint itself is kept in `feature`.
        if let Ok(Some(grid)) = patch_grid(meta.crs.as_deref(), p, h, w) {
            epsg[i] = i32::try_from(grid.epsg).unwrap_or(0);
            transform[i * 6..i * 6 + 6].copy_from_slice(&grid.geotransform);
        }
    }
    sink.number(names::GRID_EPSG, epsg, &[n], &["patch"])?;
    sink.number(
        names::GRID_TRANSFORM,
        transform,
        &[n, 6],
        &["patch", "geotransform"],
    )
}

/// The `(height, width)` of patch `index`, from any layer it has.
fn spatial_size(layout: &DatasetLayout, index: usize) -> Option<(usize, usize)> {
    layout.layers.values().find_map(|l| {
        let shape = l.per_patch.get(index)?.as_ref()?;
        match shape.as_slice() {
            [.., h, w] => Some((*h, *w)),
            _ => None,
        }
    })
}
