//! Dataset- and patch-level metadata: what metadata.geojson and the NORM files hold.

use super::{Layer, Series};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A date as the integer `yyyymmdd`, like PASTIS' metadata.
pub type Date = u32;

/// The legacy CRS name PASTIS' metadata.geojson carries.
pub const LAMBERT93_URN: &str = "urn:ogc:def:crs:EPSG::2154";

/// Everything known about one patch besides its arrays (one Feature of metadata.geojson).
#[derive(Clone, Debug, PartialEq)]
pub struct PatchMeta {
    /// `ID_PATCH`, the integer that names the patch's files.
    pub id: i64,
    /// The Feature's own `id` member, kept verbatim (PASTIS: the id as a string).
    pub feature_id: Option<Value>,
    /// Cross-validation fold 1..5.
    pub fold: Option<i64>,
    /// Sentinel-2 tile, lower case (`t30uxv`).
    pub tile: Option<String>,
    /// Number of parcels in the patch.
    pub n_parcel: Option<i64>,
    /// Share of the patch covered by parcels, 0..1.
    pub parcel_cover: Option<f64>,
    /// Acquisition dates of each time series present in the metadata, in stored order.
    pub dates: BTreeMap<Layer, Vec<Date>>,
    /// The footprint, in the dataset's CRS (Lambert-93 for PASTIS).
    pub footprint: Option<geojson::Geometry>,
    /// Any other properties, kept verbatim and in order.
    pub extra: Map<String, Value>,
}

impl PatchMeta {
    /// A patch with only an id.
    pub fn new(id: i64) -> Self {
        PatchMeta {
            id,
            feature_id: None,
            fold: None,
            tile: None,
            n_parcel: None,
            parcel_cover: None,
            dates: BTreeMap::new(),
            footprint: None,
            extra: Map::new(),
        }
    }
}

/// The dataset: its patches' metadata, the normalisation statistics and collection-level members.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetMeta {
    /// One entry per Feature of metadata.geojson, in file order.
    pub patches: Vec<PatchMeta>,
    /// The CRS name of the footprints (the legacy `crs` member), e.g. [`LAMBERT93_URN`].
    pub crs: Option<String>,
    /// Other top-level members of the FeatureCollection (`name`...), kept verbatim.
    pub collection_extra: Map<String, Value>,
    /// Contents of `NORM_{S2,S1A,S1D}_patch.json`, kept verbatim, per series (only a series
    /// has NORM statistics: the key type says so).
    pub norms: BTreeMap<Series, Value>,
}

impl DatasetMeta {
    /// The metadata of one patch, by `ID_PATCH`.
    pub fn patch(&self, id: i64) -> Option<&PatchMeta> {
        self.patches.iter().find(|p| p.id == id)
    }

    /// The ids of all patches, in order.
    pub fn ids(&self) -> Vec<i64> {
        self.patches.iter().map(|p| p.id).collect()
    }

    /// A copy restricted to the patches `keep` accepts, order preserved.
    pub fn filtered(&self, keep: impl Fn(&PatchMeta) -> bool) -> DatasetMeta {
        DatasetMeta {
            patches: self.patches.iter().filter(|p| keep(p)).cloned().collect(),
            ..self.clone()
        }
    }
}
