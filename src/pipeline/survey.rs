//! The survey: the dtype and shape of every selected layer of every patch (headers only), and
//! from them the stacked shape and dtype of each layer (`LayerLayout::survey`: the longest series,
//! the dtype that holds every patch's, and whether patches agree),
//! which stacked formats need before writing anything.

use super::PatchSource;
use crate::model::{check_specs, ArraySpec, DatasetLayout, DatasetMeta, Layer, LayerLayout};
use crate::Result;
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
    let results: Vec<Result<BTreeMap<Layer, ArraySpec>>> = meta
        .patches
        .par_iter()
        .map(|p| {
            let specs = source.specs(p)?;
            check_specs(p.id, &specs)?;
            Ok(specs)
        })
        .collect();
    let specs: Vec<BTreeMap<Layer, ArraySpec>> = results.into_iter().collect::<Result<_>>()?;
    let ids = meta.ids();
    let mut layout = DatasetLayout::default();
    for &layer in layers {
        let per_patch: Vec<Option<&ArraySpec>> = specs.iter().map(|s| s.get(&layer)).collect();
        if let Some(l) = LayerLayout::survey(layer, &ids, &per_patch) {
            layout.layers.insert(layer, l);
        }
    }
    Ok(layout)
}
