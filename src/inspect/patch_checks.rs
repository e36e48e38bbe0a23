//! Checks of one patch's arrays, whatever format they came from.

use super::{LayerSummary, Problem, ProblemKind};
use crate::model::classes::CLASS_COUNT;
use crate::model::{Array, DType, Date, Layer, Patch};
use std::collections::BTreeMap;

fn problem(kind: ProblemKind, patch: &Patch, layer: Option<Layer>, message: String) -> Problem {
    Problem {
        kind,
        path: None,
        patch: Some(patch.id()),
        layer,
        message,
    }
}

/// The dtype of each layer in the official release; `None` for SPOT, whose dtype is the GeoTIFF's
/// own (read from the file, never assumed).
pub fn official_dtype(layer: Layer) -> Option<DType> {
    match layer {
        Layer::S2 => Some(DType::I16),
        Layer::S1A | Layer::S1D => Some(DType::F16),
        Layer::Target => Some(DType::U8),
        Layer::ParcelIds => Some(DType::I32),
        Layer::Heatmap => Some(DType::F64),
        Layer::Instances | Layer::Zones => Some(DType::I64),
        Layer::Spot => None,
    }
}

/// Rank and fixed axis lengths of each layer: `None` = any length (time, rows, columns).
fn expected_axes(layer: Layer) -> &'static [Option<usize>] {
    match layer {
        Layer::S2 => &[None, Some(10), None, None],
        Layer::S1A | Layer::S1D => &[None, Some(3), None, None],
        Layer::Target => &[Some(3), None, None],
        Layer::Spot => &[None, None, None],
        _ => &[None, None],
    }
}

/// Every check of one patch's arrays: dtypes, shapes, dates, classes, instances, values.
pub fn check_patch(patch: &Patch) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (&layer, array) in &patch.arrays {
        check_array(patch, layer, array, &mut problems);
    }
    check_spatial_agreement(patch, &mut problems);
    check_dates(patch, &mut problems);
    check_classes_and_instances(patch, &mut problems);
    problems
}

fn check_array(patch: &Patch, layer: Layer, array: &Array, problems: &mut Vec<Problem>) {
    if let Some(official) = official_dtype(layer).filter(|d| *d != array.dtype()) {
        problems.push(problem(
            ProblemKind::Dtype,
            patch,
            Some(layer),
            format!(
                "{layer} is {}, the official release has {official}",
                array.dtype()
            ),
        ));
    }
    let axes = expected_axes(layer);
    let shape = array.shape();
    let fits = shape.len() == axes.len()
        && shape
            .iter()
            .zip(axes)
            .all(|(d, e)| e.is_none_or(|e| *d == e));
    if !fits {
        let expected: Vec<String> = axes
            .iter()
            .map(|a| a.map_or("*".to_string(), |n| n.to_string()))
            .collect();
        problems.push(problem(
            ProblemKind::Shape,
            patch,
            Some(layer),
            format!(
                "{layer} has shape {shape:?}, expected ({})",
                expected.join(", ")
            ),
        ));
    }
    if layer == Layer::Heatmap
        && array.dtype().is_float()
        && array.to_f64().iter().any(|v| !v.is_finite())
    {
        problems.push(problem(
            ProblemKind::Values,
            patch,
            Some(layer),
            "HEATMAP holds NaN or infinite values".into(),
        ));
    }
}

fn check_spatial_agreement(patch: &Patch, problems: &mut Vec<Problem>) {
    let sizes: Vec<(Layer, &[usize])> = patch
        .arrays
        .iter()
        .filter(|(l, _)| !l.has_own_grid())
        .filter_map(|(l, a)| {
            let shape = a.shape();
            Some((*l, shape.get(shape.len().checked_sub(2)?..)?))
        })
        .collect();
    if let Some(((first_layer, first), rest)) = sizes.split_first() {
        for (layer, size) in rest {
            if size != first {
                problems.push(problem(
                    ProblemKind::Shape,
                    patch,
                    Some(*layer),
                    format!("{layer} is {size:?} pixels but {first_layer} is {first:?}"),
                ));
            }
        }
    }
}

fn check_dates(patch: &Patch, problems: &mut Vec<Problem>) {
    for layer in Layer::SERIES {
        let key = layer.dates_key().unwrap_or_default();
        let dates = patch.meta.dates.get(&layer);
        // An array of another rank is a shape problem already; its first axis is not time.
        let array = patch
            .arrays
            .get(&layer)
            .filter(|a| a.shape().len() == layer.rank());
        match (array, dates) {
            (Some(a), None) => problems.push(problem(
                ProblemKind::DateCount,
                patch,
                Some(layer),
                format!(
                    "{layer} has {} frames but metadata has no {key}",
                    a.shape().first().copied().unwrap_or(0)
                ),
            )),
            (Some(a), Some(d)) if a.shape().first() != Some(&d.len()) => problems.push(problem(
                ProblemKind::DateCount,
                patch,
                Some(layer),
                format!(
                    "{layer} has {} frames but {key} lists {} dates",
                    a.shape().first().copied().unwrap_or(0),
                    d.len()
                ),
            )),
            _ => {}
        }
        if let Some(d) = dates {
            check_date_order(patch, layer, key, d, problems);
        }
    }
}

fn check_date_order(
    patch: &Patch,
    layer: Layer,
    key: &str,
    dates: &[Date],
    problems: &mut Vec<Problem>,
) {
    if let Some(bad) = dates.iter().find(|d| !is_calendar_date(**d)) {
        problems.push(problem(
            ProblemKind::Dates,
            patch,
            Some(layer),
            format!("{key} holds {bad}, not a valid yyyymmdd date"),
        ));
    }
    let pairs = || dates.iter().zip(dates.iter().skip(1)).enumerate();
    if let Some((i, (date, _))) = pairs().find(|(_, (a, b))| a == b) {
        problems.push(problem(
            ProblemKind::Dates,
            patch,
            Some(layer),
            format!(
                "{key} has the duplicate date {date} at positions {i} and {}",
                i + 1
            ),
        ));
    }
    if let Some((i, (date, next))) = pairs().find(|(_, (a, b))| a > b) {
        problems.push(problem(
            ProblemKind::Dates,
            patch,
            Some(layer),
            format!("{key} is not chronological: {date} at position {i} comes before {next}"),
        ));
    }
}

fn is_calendar_date(d: Date) -> bool {
    let (y, m, day) = (d / 10000, d / 100 % 100, d % 100);
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2999).contains(&y) && (1..=days_in_month).contains(&day)
}

fn check_classes_and_instances(patch: &Patch, problems: &mut Vec<Problem>) {
    let Some(target) = patch
        .get(Layer::Target)
        .filter(|t| t.shape().len() == 3 && t.shape().first() > Some(&0))
        .and_then(Array::to_i64)
    else {
        return;
    };
    let classes = target.index_axis(ndarray::Axis(0), 0);
    let out_of_range: Vec<i64> = {
        let mut v: Vec<i64> = classes
            .iter()
            .copied()
            .filter(|c| !(0..CLASS_COUNT as i64).contains(c))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    if !out_of_range.is_empty() {
        problems.push(problem(
            ProblemKind::ClassValue,
            patch,
            Some(Layer::Target),
            format!("TARGET channel 0 holds class values {out_of_range:?} outside 0..19"),
        ));
    }
    let Some(instances) = patch.get(Layer::Instances).and_then(Array::to_i64) else {
        return;
    };
    if instances.shape() != classes.shape() {
        return; // reported as a shape problem
    }
    let (mut parcel_without, mut background_with) = (0usize, 0usize);
    for (c, i) in classes.iter().zip(instances.iter()) {
        match (*c != 0, *i != 0) {
            (true, false) => parcel_without += 1,
            (false, true) => background_with += 1,
            _ => {}
        }
    }
    if parcel_without + background_with > 0 {
        problems.push(problem(
            ProblemKind::Instances,
            patch,
            Some(Layer::Instances),
            format!("INSTANCES disagrees with TARGET: {parcel_without} parcel pixels have no instance, {background_with} background pixels have one"),
        ));
    }
}

/// Dataset-wide shape checks: patches of one layer should share their size.
pub fn check_dataset_shapes(layers: &BTreeMap<Layer, LayerSummary>) -> Vec<Problem> {
    layers
        .iter()
        // SPOT images have their own size each (their own grid and CRS: #20).
        .filter(|(layer, s)| s.shapes.len() > 1 && !layer.has_own_grid())
        .map(|(layer, s)| Problem {
            kind: ProblemKind::Shape,
            path: None,
            patch: None,
            layer: Some(*layer),
            message: format!(
                "{layer} patches have different shapes: {}",
                s.shapes
                    .iter()
                    .map(|(k, n)| format!("{k} x{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PatchMeta;
    use ndarray::{ArrayD, IxDyn};

    fn patch() -> Patch {
        let mut meta = PatchMeta::new(5);
        meta.dates.insert(Layer::S2, vec![20180901, 20180911]);
        let mut target = ArrayD::<u8>::zeros(IxDyn(&[3, 2, 2]));
        target[[0, 0, 0]] = 3;
        let mut inst = ArrayD::<i64>::zeros(IxDyn(&[2, 2]));
        inst[[0, 0]] = 1;
        let mut p = Patch {
            meta,
            arrays: BTreeMap::new(),
            spot: None,
        };
        p.arrays
            .insert(Layer::S2, Array::zeros(DType::I16, &[2, 10, 2, 2]));
        p.arrays.insert(Layer::Target, Array::from_ndarray(target));
        p.arrays.insert(Layer::Instances, Array::from_ndarray(inst));
        p
    }

    fn kinds(p: &Patch) -> Vec<ProblemKind> {
        check_patch(p).into_iter().map(|p| p.kind).collect()
    }

    #[test]
    fn clean_patch_has_no_problem() {
        assert_eq!(kinds(&patch()), vec![]);
    }

    #[test]
    fn each_planted_problem_is_found() {
        let mut p = patch();
        p.meta.dates.insert(Layer::S2, vec![20180911, 20180901]);
        assert_eq!(kinds(&p), vec![ProblemKind::Dates]);
        p.meta
            .dates
            .insert(Layer::S2, vec![20180901, 20180901, 20180902]);
        assert_eq!(kinds(&p), vec![ProblemKind::DateCount, ProblemKind::Dates]);
        let mut p = patch();
        p.arrays
            .insert(Layer::Instances, Array::zeros(DType::I64, &[2, 2]));
        assert_eq!(kinds(&p), vec![ProblemKind::Instances]);
        let mut p = patch();
        p.arrays.insert(
            Layer::Target,
            Array::from_ndarray(ArrayD::<u8>::from_elem(IxDyn(&[3, 2, 2]), 25)),
        );
        assert!(kinds(&p).contains(&ProblemKind::ClassValue));
        let mut p = patch();
        p.arrays
            .insert(Layer::Zones, Array::zeros(DType::I32, &[2, 3]));
        assert_eq!(kinds(&p), vec![ProblemKind::Dtype, ProblemKind::Shape]);
    }

    #[test]
    fn calendar_dates() {
        assert!(is_calendar_date(20190228));
        assert!(!is_calendar_date(20190229));
        assert!(!is_calendar_date(20181301));
    }
}
