//! One patch in memory, and the shapes of a whole dataset's layers.

use super::{Array, DType, Layer, PatchMeta, SpotGeoref};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One patch: its metadata and every array it has, each with the dtype and shape found on disk.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    /// The patch's metadata (id, fold, tile, dates, footprint...).
    pub meta: PatchMeta,
    /// The arrays present, by layer.
    pub arrays: BTreeMap<Layer, Array>,
    /// The georeferencing of the SPOT image, present with [`Layer::Spot`]'s array (readers of
    /// formats that carry SPOT set both, or neither).
    pub spot: Option<SpotGeoref>,
}

impl Patch {
    /// `ID_PATCH`.
    pub fn id(&self) -> i64 {
        self.meta.id
    }

    /// The array of one layer, if present.
    pub fn get(&self, layer: Layer) -> Option<&Array> {
        self.arrays.get(&layer)
    }
}

/// Element type and shape of one array, known without reading its values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArraySpec {
    /// The element type.
    pub dtype: DType,
    /// The shape, C order.
    pub shape: Vec<usize>,
}

/// The shape of one layer across the dataset, as stacked formats need it before writing
/// (built by [`LayerLayout::survey`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerLayout {
    /// The stacked element type: the smallest that holds every patch's exactly
    /// ([`DType::common`]); the patches' own where they all agree.
    pub dtype: DType,
    /// Shape of one patch's array; for a series, axis 0 is the longest series of the dataset.
    pub shape: Vec<usize>,
    /// Per patch (in dataset order): its own shape, or `None` if the patch lacks this layer.
    pub per_patch: Vec<Option<Vec<usize>>>,
    /// Per patch (in dataset order): its own element type, or `None` if it lacks this layer.
    /// An empty list means every patch that has the layer has [`dtype`](Self::dtype).
    pub dtypes: Vec<Option<DType>>,
    /// Why the patches cannot be stacked into one array (no type holds every patch's dtype
    /// exactly, or a non-time axis differs), naming the patches; `None` if they can.
    pub conflict: Option<String>,
}

impl LayerLayout {
    /// The true length of each patch's series (axis 0), 0 where the patch lacks the layer.
    pub fn lengths(&self) -> Vec<usize> {
        self.per_patch
            .iter()
            .map(|s| s.as_ref().and_then(|s| s.first().copied()).unwrap_or(0))
            .collect()
    }

    /// The own element type of patch `index` (in dataset order), `None` where it lacks the layer.
    pub fn dtype_of(&self, index: usize) -> Option<DType> {
        self.per_patch.get(index)?.as_ref()?;
        Some(
            self.dtypes
                .get(index)
                .copied()
                .flatten()
                .unwrap_or(self.dtype),
        )
    }

    /// True if some patch's own dtype differs from the stacked [`dtype`](Self::dtype).
    pub fn is_mixed(&self) -> bool {
        (0..self.per_patch.len()).any(|i| self.dtype_of(i).is_some_and(|d| d != self.dtype))
    }
}

impl DatasetLayout {
    /// Fails if any layer's patches differ in dtype or in a non-time axis, as stacked formats
    /// (Zarr, HDF5) cannot store them.
    pub fn require_stackable(&self, format: &'static str) -> crate::Result<()> {
        match self.layers.values().find_map(|l| l.conflict.clone()) {
            Some(conflict) => Err(crate::Error::Unsupported {
                format,
                what: conflict,
            }),
            None => Ok(()),
        }
    }
}

/// The shapes of every layer of a dataset, in patch order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetLayout {
    /// Layers present in at least one patch.
    pub layers: BTreeMap<Layer, LayerLayout>,
    /// Per patch (in dataset order), the georeferencing of its SPOT image, `None` where it has
    /// none; empty when SPOT is not surveyed. Stacked formats store it in per-patch columns
    /// written before any pixel (`SPOT_crs_wkt`, `SPOT_geotransform`...), so the survey reads it
    /// from the source's headers ([`crate::pipeline::PatchSource::spot_georef`]).
    pub spot: Vec<Option<SpotGeoref>>,
}
