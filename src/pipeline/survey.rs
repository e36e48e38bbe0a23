//! The survey: the dtype and shape of every selected layer of every patch (headers only), and
//! from them the stacked shape and dtype of each layer (`LayerLayout::survey`: the longest series,
//! the dtype that holds every patch's, and whether patches agree),
//! which stacked formats need before writing anything.

use super::PatchSource;
use crate::model::{
    check_specs, ArraySpec, DatasetLayout, DatasetMeta, Layer, LayerLayout, SpotGeoref,
};
use crate::{Error, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Surveys the patches of `meta` through `source` (in parallel, on the current rayon pool).
///
/// # Errors
/// The first patch whose specs cannot be read, or with an array of a rank its layer does not have.
pub fn survey(
    source: &dyn PatchSource,
    meta: &DatasetMeta,
    layers: &[Layer],
) -> Result<DatasetLayout> {
    // Every patch's result first, then the first error in patch order: rayon's own
    // `collect::<Result<_>>` returns whichever error a thread met first, so the error named
    // would depend on timing (and differ from run to run, and writer to writer).
    let spot = layers.contains(&Layer::Spot);
    type Found = (BTreeMap<Layer, ArraySpec>, Option<SpotGeoref>);
    let results: Vec<Result<Found>> = meta
        .patches
        .par_iter()
        .map(|p| {
            let specs = source.specs(p)?;
            check_specs(p.id, &specs)?;
            let georef = match spot && specs.contains_key(&Layer::Spot) {
                true => Some(source.spot_georef(p)?.ok_or_else(|| {
                    Error::patch_layer(p.id, Layer::Spot, None, "no georeferencing for the image")
                })?),
                false => None,
            };
            Ok((specs, georef))
        })
        .collect();
    let found: Vec<Found> = results.into_iter().collect::<Result<_>>()?;
    let (specs, georefs): (Vec<_>, Vec<_>) = found.into_iter().unzip();
    let ids = meta.ids();
    let mut layout = DatasetLayout::default();
    for &layer in layers {
        let per_patch: Vec<Option<&ArraySpec>> = specs.iter().map(|s| s.get(&layer)).collect();
        if let Some(l) = LayerLayout::survey(layer, &ids, &per_patch) {
            layout.layers.insert(layer, l);
        }
    }
    if layout.layers.contains_key(&Layer::Spot) {
        layout.spot = georefs;
    }
    Ok(layout)
}
