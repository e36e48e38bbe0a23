//! Property test (issue #16): random patches — random dtypes of `DType::ALL`, shapes with T = 0
//! (now and then 0 rows or columns too), layers present or not, ranks that are wrong now and
//! then, every awkward float bit pattern (NaN payloads, signalling NaNs, -0.0, subnormals, +-inf) and integer extremes — go through
//! every writer of the conformance suite (pastis, zarr v3, zarr v2, hdf5, geotiff) and back to
//! PASTIS, in-process through the library. Each writer either carries the dataset bit for bit
//! (the `.npy` files and metadata come back identical) or refuses it with a typed error that is
//! not a panic and leaves no output. A dataset the model accepts (every rank right, every series
//! as long as its dates) is never refused by the PASTIS writer; one it does not accept is refused
//! by every writer. Failing cases are saved to `proptest-regressions/every_writer.txt`.
#![allow(clippy::unwrap_used)] // test helpers: a failure should panic with its message

mod common;

use common::awkward::{awkward, bare, Writer, WRITERS};
use pastis_bridge::convert::{convert, ConvertOptions};
use pastis_bridge::formats::Format;
use pastis_bridge::model::{check_specs, validate_patch, DType, DatasetMeta, Layer, Patch};
use pastis_bridge::{inspect::specs_of, Error};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::path::{Path, PathBuf};

/// Few cases (each one runs 10 conversions): under a minute in a debug build.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/every_writer.txt"
        )))),
        ..ProptestConfig::default()
    }
}

/// One array of a random patch.
#[derive(Clone, Debug)]
struct ArrayPlan {
    dtype: DType,
    /// Frames of a series.
    t: usize,
    /// Bands of a series, channels of TARGET, when not the dataset's (then stacked formats
    /// refuse the layer).
    c: Option<usize>,
    /// 0 = the layer's rank; -1 one axis fewer, +1 one more (a refusal).
    rank: i8,
    seed: u64,
}

/// A random dataset: rows and columns shared by its arrays, bands or channels per layer, then
/// per patch an optional array per layer (in [`npy_layers`] order).
#[derive(Clone, Debug)]
struct Plan {
    h: usize,
    w: usize,
    c: usize,
    patches: Vec<Vec<Option<ArrayPlan>>>,
}

fn array_plan() -> impl Strategy<Value = Option<ArrayPlan>> {
    let rank = prop_oneof![40 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)];
    let c = prop::option::weighted(0.05, 1..4usize);
    let plan = (0..DType::ALL.len(), 0..3usize, c, rank, any::<u64>()).prop_map(
        |(dtype, t, c, rank, seed)| ArrayPlan {
            dtype: DType::ALL[dtype],
            t,
            c,
            rank,
            seed,
        },
    );
    prop::option::weighted(0.6, plan)
}

/// Rows or columns: 1..3, now and then 0 (an empty picture).
fn pixels() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0usize), 6 => 1..4usize]
}

/// The layers of `.npy` files, in `Layer::ALL` order: SPOT, a GeoTIFF with its own
/// georeferencing, has its own round trips (tests/spot.rs).
fn npy_layers() -> Vec<Layer> {
    Layer::ALL
        .into_iter()
        .filter(|l| !l.has_own_grid())
        .collect()
}

fn plan() -> impl Strategy<Value = Plan> {
    let patch = prop::collection::vec(array_plan(), npy_layers().len());
    (
        pixels(),
        pixels(),
        1..4usize,
        prop::collection::vec(patch, 1..=3),
    )
        .prop_map(|(h, w, c, patches)| Plan { h, w, c, patches })
}

/// The shape of `layer`'s array: `(T, C, H, W)`, `(C, H, W)` or `(H, W)`, with an axis fewer or
/// more when the plan says so.
fn shape(layer: Layer, plan: &ArrayPlan, dataset: &Plan) -> Vec<usize> {
    let (c, h, w) = (plan.c.unwrap_or(dataset.c), dataset.h, dataset.w);
    let mut shape = match layer {
        _ if layer.is_series() => vec![plan.t, c, h, w],
        Layer::Target => vec![c, h, w],
        _ => vec![h, w],
    };
    match plan.rank {
        -1 => {
            shape.remove(0);
        }
        1 => shape.insert(0, 1),
        _ => {}
    }
    shape
}

/// The patches of a plan; a series gets one date per frame (its first axis).
fn patches(plan: &Plan) -> Vec<Patch> {
    let mut out = Vec::new();
    for (id, arrays) in (1..).zip(&plan.patches) {
        let mut patch = bare(id);
        for (layer, array) in npy_layers().into_iter().zip(arrays) {
            let Some(array) = array else { continue };
            let shape = shape(layer, array, plan);
            if layer.is_series() {
                let frames = shape.first().copied().unwrap_or(0) as u32;
                let dates = (0..frames).map(|k| 20180901 + k).collect();
                patch.meta.dates.insert(layer, dates);
            }
            let values = awkward(array.dtype, &shape, array.seed);
            patch.arrays.insert(layer, values);
        }
        out.push(patch);
    }
    out
}

/// True if the model accepts every patch (ranks, dates, spatial sizes).
fn accepted(patches: &[Patch]) -> bool {
    patches
        .iter()
        .all(|p| check_specs(p.id(), &specs_of(p)).is_ok() && validate_patch(p).is_ok())
}

/// What happened to the dataset at `src` through `writer`: `Ok(None)` for an exact round trip,
/// `Ok(Some(refusal))` for a clean refusal, `Err` for anything else.
fn through(src: &Path, dir: &Path, writer: &Writer) -> Result<Option<String>, String> {
    let out = dir.join(writer.name).join(writer.output);
    let options = ConvertOptions {
        jobs: 1,
        ..writer.options()
    };
    if let Err(e) = convert(src, &out, &options, &|_| {}) {
        return refusal(&e, &out).map(Some);
    }
    let back = dir.join(writer.name).join("back");
    let options = ConvertOptions {
        jobs: 1,
        ..ConvertOptions::new(Format::Pastis)
    };
    convert(&out, &back, &options, &|_| {})
        .map_err(|e| format!("reading back failed: {}", e.report()))?;
    match common::differences(src, &back) {
        d if d.is_empty() => Ok(None),
        d => Err(format!("silent difference: {}", d.join("; "))),
    }
}

/// A refusal must be typed, not a panic, and leave neither the output nor `OUTPUT.partial`.
fn refusal(e: &Error, out: &Path) -> Result<String, String> {
    let report = e.report();
    if matches!(e, Error::Panic(_)) {
        return Err(format!("panicked: {report}"));
    }
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    if out.exists() || partial.exists() {
        return Err(format!("the refusal left an output behind: {report}"));
    }
    Ok(report)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_patches_are_carried_exactly_or_refused(plan in plan()) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let patches = patches(&plan);
        let meta = DatasetMeta {
            patches: patches.iter().map(|p| p.meta.clone()).collect(),
            ..DatasetMeta::default()
        };
        common::write_pastis(&src, &meta, &patches);
        let accepted = accepted(&patches);
        for writer in &WRITERS {
            let outcome = through(&src, dir.path(), writer);
            let outcome = outcome.map_err(|e| TestCaseError::fail(format!("{}: {e}", writer.name)))?;
            match outcome {
                Some(refusal) if !accepted || writer.name != "pastis" => {
                    prop_assert!(!refusal.is_empty());
                }
                Some(refusal) => {
                    prop_assert!(false, "pastis refused an accepted dataset: {refusal}");
                }
                None => prop_assert!(accepted, "{} carried a dataset the model refuses", writer.name),
            }
        }
    }
}
