//! Consistency rules every patch must satisfy before any format writes it.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::{ArraySpec, Layer, Patch};
use crate::{Error, Result};
use std::collections::BTreeMap;

/// Checks that an array of `layer` has the rank PASTIS gives the layer ([`Layer::rank`]); the
/// message says what was found and what is expected.
///
/// # Errors
/// The message, e.g. `S2 has 0 axes (shape []), but S2 is 4-d (T, C, H, W)`.
pub fn check_rank(layer: Layer, shape: &[usize]) -> std::result::Result<(), String> {
    if shape.len() == layer.rank() {
        return Ok(());
    }
    Err(format!(
        "has {} axes (shape {shape:?}), but {layer} is {}-d {}",
        shape.len(),
        layer.rank(),
        layer.axes()
    ))
}

/// Checks the rank of every array of patch `id` from its specs (headers only), before anything
/// looks at an axis: the one place every command and format refuses an unexpected rank.
///
/// # Errors
/// [`Error::Patch`] naming the patch and the layer.
pub fn check_specs(id: i64, specs: &BTreeMap<Layer, ArraySpec>) -> Result<()> {
    for (&layer, spec) in specs {
        check_rank(layer, &spec.shape).map_err(|m| Error::patch_layer(id, layer, None, m))?;
    }
    Ok(())
}

/// Checks that a patch is consistent: each array has its layer's rank, each series has as many
/// frames as its metadata has dates, and all arrays share the same spatial size (the last two
/// axes).
///
/// # Errors
/// [`Error::Patch`] naming the patch (and the layer) and what disagrees.
pub fn validate_patch(patch: &Patch) -> Result<()> {
    let id = patch.id();
    for (&layer, array) in &patch.arrays {
        check_rank(layer, array.shape()).map_err(|m| Error::patch_layer(id, layer, None, m))?;
    }
    for (layer, array) in &patch.arrays {
        if let (true, Some(dates)) = (layer.is_series(), patch.meta.dates.get(layer)) {
            let t = array.shape().first().copied().unwrap_or(0);
            if t != dates.len() {
                return Err(Error::patch(
                    id,
                    format!(
                        "{layer} has {t} frames but {} lists {} dates",
                        layer.dates_key().unwrap_or_default(),
                        dates.len()
                    ),
                ));
            }
        }
    }
    let mut sizes = patch
        .arrays
        .iter()
        .filter(|(l, _)| !l.has_own_grid())
        .map(|(l, a)| {
            let shape = a.shape();
            (
                l,
                shape
                    .get(shape.len().saturating_sub(2)..)
                    .unwrap_or_default(),
            )
        });
    if let Some((first_layer, first)) = sizes.next() {
        if let Some((layer, size)) = sizes.find(|(_, s)| s != &first) {
            return Err(Error::patch(
                id,
                format!("{layer} is {size:?} pixels but {first_layer} is {first:?}: arrays of one patch must share their size"),
            ));
        }
    }
    check_spot(patch)
}

/// The SPOT image and its georeferencing come together, one description and no-data per band.
fn check_spot(patch: &Patch) -> Result<()> {
    let id = patch.id();
    let spot = |m: String| Err(Error::patch_layer(id, Layer::Spot, None, m));
    match (patch.arrays.get(&Layer::Spot), &patch.spot) {
        (None, None) => Ok(()),
        (Some(_), None) => spot("the image has no georeferencing".into()),
        (None, Some(_)) => spot("georeferencing without an image".into()),
        (Some(image), Some(g)) => {
            let bands = image.shape().first().copied().unwrap_or(0);
            if g.descriptions.len() != bands || g.nodata.len() != bands {
                return spot(format!(
                    "{bands} bands but {} descriptions and {} no-data values",
                    g.descriptions.len(),
                    g.nodata.len()
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Array, DType, Layer, PatchMeta};

    fn patch() -> Patch {
        let mut meta = PatchMeta::new(1);
        meta.dates.insert(Layer::S2, vec![20180901, 20180911]);
        let mut p = Patch {
            meta,
            arrays: Default::default(),
            spot: None,
        };
        p.arrays
            .insert(Layer::S2, Array::zeros(DType::I16, &[2, 10, 4, 4]));
        p.arrays
            .insert(Layer::Target, Array::zeros(DType::U8, &[3, 4, 4]));
        p
    }

    #[test]
    fn consistent_patch_passes() {
        validate_patch(&patch()).unwrap();
    }

    #[test]
    fn frame_count_must_match_dates() {
        let mut p = patch();
        p.meta.dates.get_mut(&Layer::S2).unwrap().push(20180921);
        let err = validate_patch(&p).unwrap_err().to_string();
        assert_eq!(err, "patch 1: S2 has 2 frames but dates-S2 lists 3 dates");
    }

    #[test]
    fn ranks_are_checked_first() {
        let mut p = patch();
        p.meta.dates.remove(&Layer::S2);
        p.arrays.insert(Layer::S2, Array::zeros(DType::I16, &[]));
        let err = validate_patch(&p).unwrap_err().to_string();
        assert_eq!(
            err,
            "patch 1, S2: has 0 axes (shape []), but S2 is 4-d (T, C, H, W)"
        );
        let mut p = patch();
        p.arrays
            .insert(Layer::Target, Array::zeros(DType::U8, &[4, 4]));
        let err = validate_patch(&p).unwrap_err().to_string();
        assert!(err.contains("TARGET is 3-d (C, H, W)"), "{err}");
    }

    #[test]
    fn spatial_sizes_must_agree() {
        let mut p = patch();
        p.arrays
            .insert(Layer::Zones, Array::zeros(DType::I64, &[4, 5]));
        assert!(validate_patch(&p)
            .unwrap_err()
            .to_string()
            .contains("ZONES is [4, 5] pixels"));
    }
}
