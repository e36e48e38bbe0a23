//! Whether the patches of one layer can be stacked into one array, and how: the survey's rules
//! (docs/stacked-layout.md). Series may differ in length (the longest wins); every other axis
//! must agree; dtypes may differ when one type holds them all exactly ([`DType::common`]).
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::{ArraySpec, DType, Layer, LayerLayout};
use std::collections::BTreeMap;

/// The axes that must agree: all but a series' time axis (and the rank); for a layer on its own
/// grid (SPOT), only the rank: each patch keeps its own band count and size, padded to the
/// largest.
fn stacked_axes(layer: Layer, shape: &[usize]) -> (usize, Vec<usize>) {
    match (layer.is_series(), layer.has_own_grid()) {
        (_, true) => (shape.len(), Vec::new()),
        (true, _) => (shape.len(), shape.get(1..).unwrap_or_default().to_vec()),
        _ => (shape.len(), shape.to_vec()),
    }
}

/// Patches grouped by a key, the largest group first (ties: the group met first).
fn by_frequency<K: Ord + Clone>(keys: &[(usize, K)]) -> Vec<(K, Vec<usize>)> {
    let mut groups: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (row, key) in keys {
        groups.entry(key.clone()).or_default().push(*row);
    }
    let mut groups: Vec<(K, Vec<usize>)> = groups.into_iter().collect();
    groups.sort_by_key(|(_, rows)| (std::cmp::Reverse(rows.len()), rows.first().copied()));
    groups
}

/// What a survey of one layer finds: the stacked dtype, the rows that keep it from stacking
/// (`odd`) and, for the message, the row they are compared with (`base`).
struct Outcome {
    dtype: DType,
    odd: Vec<usize>,
    base: usize,
    reason: &'static str,
}

/// The rows (of `specs`, present ones) that the majority rules out: first those whose
/// non-time axes differ from the most common ones, then those whose dtype no type holds
/// together with the more common dtypes. `None` without specs.
fn outcome(layer: Layer, specs: &[(usize, &ArraySpec)]) -> Option<Outcome> {
    let shapes: Vec<(usize, (usize, Vec<usize>))> = specs
        .iter()
        .map(|(row, s)| (*row, stacked_axes(layer, &s.shape)))
        .collect();
    let shape_groups = by_frequency(&shapes);
    let ((_, kept), other_shapes) = shape_groups.split_first()?;
    let mut odd: Vec<usize> = other_shapes.iter().flat_map(|(_, r)| r.clone()).collect();
    let base = *kept.first()?;
    let dtypes: Vec<(usize, DType)> = specs
        .iter()
        .filter(|(row, _)| kept.contains(row))
        .map(|(row, s)| (*row, s.dtype))
        .collect();
    let dtype_groups = by_frequency(&dtypes);
    let ((first_dtype, _), other_dtypes) = dtype_groups.split_first()?;
    let mut common = *first_dtype;
    let shape_odd = !odd.is_empty();
    for (dtype, rows) in other_dtypes {
        match common.common(*dtype) {
            Some(c) => common = c,
            None => odd.extend(rows),
        }
    }
    odd.sort_unstable();
    Some(Outcome {
        dtype: common,
        odd,
        base,
        reason: match shape_odd {
            true => "their shapes differ",
            false => "no dtype holds both exactly",
        },
    })
}

impl LayerLayout {
    /// The stacked layout of `layer` from each patch's dtype and shape (`None` where a patch
    /// lacks the layer; `ids` name the patches in messages); `None` when no patch has it.
    pub fn survey(layer: Layer, ids: &[i64], per_patch: &[Option<&ArraySpec>]) -> Option<Self> {
        let specs: Vec<(usize, &ArraySpec)> = per_patch
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.map(|s| (i, s)))
            .collect();
        let first = specs.first()?.1;
        let found = outcome(layer, &specs)?;
        let conflict = found.odd.split_first().map(|(&row, rest)| {
            let (spec, base) = (specs_at(&specs, row, first), specs_at(&specs, found.base, first));
            let id = |r: usize| ids.get(r).copied().unwrap_or(r as i64);
            let others: Vec<String> = rest.iter().map(|&r| id(r).to_string()).collect();
            format!(
                "{layer} of patch {} is {} {:?} but {layer} of patch {} is {} {:?}: {}, patches cannot be stacked{}",
                id(row),
                spec.dtype,
                spec.shape,
                id(found.base),
                base.dtype,
                base.shape,
                found.reason,
                match others.is_empty() {
                    true => String::new(),
                    false => format!(" (nor patch {})", others.join(", ")),
                }
            )
        });
        let mut shape = first.shape.clone();
        for (_, spec) in &specs {
            if layer.has_own_grid() && spec.shape.len() == shape.len() {
                // SPOT: every axis padded to the largest.
                for (s, &t) in shape.iter_mut().zip(&spec.shape) {
                    *s = (*s).max(t);
                }
            } else if let (Some(s0), Some(t)) = (shape.first_mut(), spec.shape.first()) {
                *s0 = (*s0).max(*t);
            }
        }
        let mixed = specs.iter().any(|(_, s)| s.dtype != found.dtype);
        Some(LayerLayout {
            dtype: found.dtype,
            shape,
            per_patch: per_patch
                .iter()
                .map(|s| s.map(|s| s.shape.clone()))
                .collect(),
            dtypes: match mixed {
                true => per_patch.iter().map(|s| s.map(|s| s.dtype)).collect(),
                false => Vec::new(),
            },
            conflict,
        })
    }

    /// The patches of `layer` (positions in dataset order) to leave out so that the rest
    /// stack: those whose non-time axes differ from the most common, then those whose dtype no
    /// type holds together with the more common ones. Empty when the layer stacks.
    pub fn odd_patches(&self, layer: Layer) -> Vec<usize> {
        if self.conflict.is_none() {
            return Vec::new();
        }
        let specs: Vec<(usize, ArraySpec)> = (self.per_patch.iter().enumerate())
            .filter_map(|(i, shape)| {
                let shape = shape.clone()?;
                Some((
                    i,
                    ArraySpec {
                        dtype: self.dtype_of(i)?,
                        shape,
                    },
                ))
            })
            .collect();
        let refs: Vec<(usize, &ArraySpec)> = specs.iter().map(|(i, s)| (*i, s)).collect();
        outcome(layer, &refs).map(|o| o.odd).unwrap_or_default()
    }
}

impl super::DatasetLayout {
    /// The patches (positions in dataset order) to leave out so that every layer stacks, for
    /// `--keep-going`; each with the conflict of the first layer that rules it out.
    pub fn odd_patches(&self) -> BTreeMap<usize, String> {
        let mut odd = BTreeMap::new();
        for (&layer, l) in &self.layers {
            for row in l.odd_patches(layer) {
                if let Some(conflict) = &l.conflict {
                    odd.entry(row).or_insert_with(|| conflict.clone());
                }
            }
        }
        odd
    }
}

/// The spec of `row`, else `fallback`.
fn specs_at<'a>(
    specs: &[(usize, &'a ArraySpec)],
    row: usize,
    fallback: &'a ArraySpec,
) -> &'a ArraySpec {
    specs
        .iter()
        .find(|(r, _)| *r == row)
        .map_or(fallback, |(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dtype: DType, shape: &[usize]) -> ArraySpec {
        ArraySpec {
            dtype,
            shape: shape.to_vec(),
        }
    }

    #[test]
    fn a_common_dtype_stacks_and_records_each_patch_dtype() {
        let (a, b) = (spec(DType::U8, &[3, 4, 4]), spec(DType::I16, &[3, 4, 4]));
        let l =
            LayerLayout::survey(Layer::Target, &[1, 2, 3], &[Some(&a), None, Some(&b)]).unwrap();
        assert_eq!(l.dtype, DType::I16);
        assert_eq!(l.conflict, None);
        assert_eq!(l.dtypes, vec![Some(DType::U8), None, Some(DType::I16)]);
        assert!(l.is_mixed());
        let same = LayerLayout::survey(Layer::Target, &[1, 2], &[Some(&a), Some(&a)]).unwrap();
        assert!(same.dtypes.is_empty() && !same.is_mixed());
    }

    #[test]
    fn spot_pads_every_axis_to_the_largest() {
        let (a, b) = (spec(DType::U8, &[3, 40, 30]), spec(DType::U8, &[4, 20, 50]));
        let l = LayerLayout::survey(Layer::Spot, &[1, 2, 3], &[Some(&a), None, Some(&b)]).unwrap();
        assert_eq!(l.conflict, None);
        assert_eq!(l.shape, vec![4, 40, 50]);
        assert_eq!(l.per_patch[2], Some(vec![4, 20, 50]));
        let c = spec(DType::U8, &[40, 30]);
        let odd = LayerLayout::survey(Layer::Spot, &[1, 2, 3], &[Some(&a), Some(&a), Some(&c)]);
        assert!(odd.unwrap().conflict.is_some(), "a rank differs");
    }

    #[test]
    fn the_odd_patches_are_named_and_left_out_by_keep_going() {
        let (i8s, u64s) = (spec(DType::I8, &[4, 4]), spec(DType::U64, &[4, 4]));
        let per_patch = [Some(&i8s), Some(&u64s), Some(&i8s), Some(&u64s), Some(&i8s)];
        let l = LayerLayout::survey(Layer::Zones, &[10, 20, 30, 40, 50], &per_patch).unwrap();
        let conflict = l.conflict.clone().unwrap();
        assert!(
            conflict.contains("ZONES of patch 20 is uint64")
                && conflict.contains("patch 10 is int8")
                && conflict.contains("no dtype holds both exactly")
                && conflict.contains("(nor patch 40)"),
            "{conflict}"
        );
        assert_eq!(l.odd_patches(Layer::Zones), vec![1, 3]);
        // A series may differ in length, not in bands.
        let (t2, t5, bands) = (
            spec(DType::I16, &[2, 10, 4, 4]),
            spec(DType::I16, &[5, 10, 4, 4]),
            spec(DType::I16, &[2, 9, 4, 4]),
        );
        let s = LayerLayout::survey(Layer::S2, &[1, 2, 3], &[Some(&t2), Some(&bands), Some(&t5)])
            .unwrap();
        assert_eq!(s.shape, vec![5, 10, 4, 4]);
        assert_eq!(s.odd_patches(Layer::S2), vec![1]);
        assert!(s.conflict.unwrap().contains("their shapes differ"));
    }
}
