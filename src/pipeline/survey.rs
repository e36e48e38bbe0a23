//! The survey: the dtype and shape of every selected layer of every patch (headers only), and
//! from them the stacked shape of each layer (the longest series, and whether patches agree),
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
    let specs: Vec<BTreeMap<Layer, ArraySpec>> = meta
        .patches
        .par_iter()
        .map(|p| {
            let specs = source.specs(p)?;
            check_specs(p.id, &specs)?;
            Ok(specs)
        })
        .collect::<Result<_>>()?;
    let mut layout = DatasetLayout::default();
    for &layer in layers {
        let per_patch: Vec<Option<&ArraySpec>> = specs.iter().map(|s| s.get(&layer)).collect();
        if let Some(l) = layer_layout(layer, meta, &per_patch) {
            layout.layers.insert(layer, l);
        }
    }
    Ok(layout)
}

/// The stacked layout of one layer; `None` when no patch has it. Series may differ in length
/// (the longest wins); anything else that differs is recorded as the layer's `conflict`.
fn layer_layout(
    layer: Layer,
    meta: &DatasetMeta,
    per_patch: &[Option<&ArraySpec>],
) -> Option<LayerLayout> {
    let (first_index, first) = per_patch
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.map(|s| (i, s)))?;
    let mut shape = first.shape.clone();
    let mut conflict = None;
    for (i, spec) in per_patch.iter().enumerate() {
        let Some(spec) = spec else { continue };
        let differs = spec.dtype != first.dtype
            || spec.shape.len() != first.shape.len()
            || (spec.shape.len() > 1 && spec.shape[1..] != first.shape[1..])
            || (!layer.is_series() && spec.shape != first.shape);
        if differs && conflict.is_none() {
            conflict = Some(format!(
                "{layer} of patch {} is {} {:?} but {layer} of patch {} is {} {:?}: patches cannot be stacked",
                meta.patches[i].id, spec.dtype, spec.shape,
                meta.patches[first_index].id, first.dtype, first.shape
            ));
        }
        if let (Some(s0), Some(t)) = (shape.first_mut(), spec.shape.first()) {
            *s0 = (*s0).max(*t);
        }
    }
    Some(LayerLayout {
        dtype: first.dtype,
        shape,
        per_patch: per_patch
            .iter()
            .map(|s| s.map(|s| s.shape.clone()))
            .collect(),
        conflict,
    })
}
