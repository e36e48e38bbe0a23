//! NORM_*_patch.json from the generated data: per fold, the average of the per-patch channel
//! means and standard deviations. A fold without patches gets the average over all patches.

use crate::model::{Array, DatasetMeta, Layer, Patch};
use ndarray::{ArrayD, Axis};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Per-channel mean and standard deviation of each series of one patch.
#[derive(Clone, Debug, Default)]
pub struct PatchStats {
    fold: i64,
    series: BTreeMap<Layer, Channels>,
}

/// Per-channel means and standard deviations.
#[derive(Clone, Debug, Default)]
struct Channels {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl PatchStats {
    /// The statistics of every series of `patch`, over (T, H, W) per channel.
    pub fn of(patch: &Patch) -> PatchStats {
        let series = patch
            .arrays
            .iter()
            .filter(|(l, _)| l.is_series())
            .map(|(l, a)| (*l, array_stats(a)))
            .collect();
        PatchStats {
            fold: patch.meta.fold.unwrap_or(1),
            series,
        }
    }
}

/// Channel statistics without copying the series (S2 is int16, S1 float16).
fn array_stats(a: &Array) -> Channels {
    match a {
        Array::I16(a) => channel_stats(a, f64::from),
        Array::F16(a) => channel_stats(a, f64::from),
        other => channel_stats(&other.to_f64(), |v| v),
    }
}

fn channel_stats<T: Copy>(a: &ArrayD<T>, to_f64: impl Fn(T) -> f64) -> Channels {
    let (mean, std) = a
        .axis_iter(Axis(1))
        .map(|c| {
            let n = c.len().max(1) as f64;
            let mean = c.fold(0.0, |s, &v| s + to_f64(v)) / n;
            let var = c.fold(0.0, |s, &v| s + (to_f64(v) - mean).powi(2)) / n;
            (mean, var.sqrt())
        })
        .unzip();
    Channels { mean, std }
}

fn average(rows: &[&Channels]) -> Value {
    let channels = rows.first().map_or(0, |r| r.mean.len());
    let n = rows.len().max(1) as f64;
    let avg = |pick: fn(&Channels) -> &Vec<f64>| -> Vec<f64> {
        (0..channels)
            .map(|c| rows.iter().map(|r| pick(r)[c]).sum::<f64>() / n)
            .collect()
    };
    json!({"mean": avg(|r| &r.mean), "std": avg(|r| &r.std)})
}

/// The NORM document of one series: `{"Fold_1": {"mean": [...], "std": [...]}, ...}`.
pub fn norm(_meta: &DatasetMeta, stats: &[PatchStats], layer: Layer) -> Value {
    let all: Vec<&Channels> = stats.iter().filter_map(|s| s.series.get(&layer)).collect();
    let mut doc = Map::new();
    for fold in 1..=5 {
        let rows: Vec<_> = stats
            .iter()
            .filter(|s| s.fold == fold)
            .filter_map(|s| s.series.get(&layer))
            .collect();
        let rows = if rows.is_empty() { &all } else { &rows };
        doc.insert(format!("Fold_{fold}"), average(rows));
    }
    Value::Object(doc)
}
