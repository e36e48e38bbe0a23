//! The one builder of awkward patches for the conformance suite (tests/conformance.rs): every
//! dtype of `model::DType`, ranks 2-4, ragged and T = 0 series, missing layers, float payloads
//! that `==` cannot see (NaN payloads, signalling NaNs, -0.0, subnormals, +-inf), Point, Polygon
//! and MultiPolygon footprints, NORM files present and absent, and datasets some formats must
//! refuse. Each case is a small dataset (a few patches of 3 x 4 pixels) written as a PASTIS folder
//! with the library's PASTIS writer, the carrier every format converts from and back to.

use pastis_bridge::model::{
    Array, DType, DatasetMeta, Layer, Patch, PatchMeta, Series, LAMBERT93_URN,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// Rows and columns of every patch (not square, so a swapped axis shows).
pub const H: usize = 3;
/// Columns.
pub const W: usize = 4;

/// One dataset of the suite and what every writer must do with it.
#[derive(Clone, Debug)]
pub struct Case {
    /// A short name, used in reports and in `KNOWN_GAPS`.
    pub name: String,
    /// The dataset's metadata (one entry per patch, NORM files, CRS).
    pub meta: DatasetMeta,
    /// The patches, with their arrays.
    pub patches: Vec<Patch>,
    /// Writers (by [`Writer`] name) that must refuse this dataset; every other one must carry it.
    pub refused_by: Vec<&'static str>,
    /// What every refusal must say (the patch, the layer...).
    pub refusal_mentions: Vec<String>,
}

impl Case {
    fn new(name: impl Into<String>, patches: Vec<Patch>) -> Case {
        let meta = DatasetMeta {
            patches: patches.iter().map(|p| p.meta.clone()).collect(),
            crs: Some(LAMBERT93_URN.into()),
            ..Default::default()
        };
        Case {
            name: name.into(),
            meta,
            patches,
            refused_by: Vec::new(),
            refusal_mentions: Vec::new(),
        }
    }

    fn refused(mut self, by: &[&'static str], mentions: &[&str]) -> Case {
        self.refused_by = by.to_vec();
        self.refusal_mentions = mentions.iter().map(|m| m.to_string()).collect();
        self
    }

    /// Writes the case as a PASTIS folder at `root` with the library's PASTIS writer.
    pub fn write(&self, root: &Path) {
        super::write_pastis(root, &self.meta, &self.patches);
    }

    /// True if `writer` must refuse this dataset.
    pub fn is_refused_by(&self, writer: &str) -> bool {
        self.refused_by.contains(&writer)
    }
}

/// A writer of the suite: a name, the `convert` options that select it, the output's file name.
#[derive(Clone, Copy, Debug)]
pub struct Writer {
    /// `pastis`, `zarr3`, `zarr2`, `hdf5`, `geotiff`.
    pub name: &'static str,
    /// The format name as `Error::Unsupported` prints it.
    pub format: &'static str,
    /// Arguments of `pastis-bridge convert` that choose it.
    pub args: &'static [&'static str],
    /// The output's name in a temp dir.
    pub output: &'static str,
}

impl Writer {
    /// The library's options for this writer: what [`Writer::args`] say on the command line.
    pub fn options(&self) -> pastis_bridge::convert::ConvertOptions {
        use pastis_bridge::formats::Format;
        let mut args = self.args.iter();
        let mut options = pastis_bridge::convert::ConvertOptions::new(Format::Pastis);
        while let Some(arg) = args.next() {
            let mut value = || args.next().copied().unwrap_or_default();
            match *arg {
                "--to" => options.to = value().parse().expect("a format name"),
                "--zarr-version" => {
                    options.write.creation.set("ZARR_VERSION", value());
                }
                "--no-georef" => {
                    options.write.creation.set("GEOREF", "NO");
                }
                other => panic!("Writer::options does not know {other}"),
            }
        }
        options
    }
}

/// Every writer, each with its own options.
pub const WRITERS: [Writer; 5] = [
    Writer {
        name: "pastis",
        format: "pastis",
        args: &["--to", "pastis"],
        output: "out",
    },
    Writer {
        name: "zarr3",
        format: "zarr",
        args: &["--to", "zarr", "--zarr-version", "3"],
        output: "out.zarr",
    },
    Writer {
        name: "zarr2",
        format: "zarr",
        args: &["--to", "zarr", "--zarr-version", "2"],
        output: "out.zarr",
    },
    Writer {
        name: "hdf5",
        format: "hdf5",
        args: &["--to", "hdf5"],
        output: "out.h5",
    },
    Writer {
        name: "geotiff",
        format: "geotiff",
        // The cases' footprints are placeholders (Lambert-93 rectangles that are not the patches'
        // 10 m squares, Points, several parts, no TILE): the data round trip is what is tested
        // here; georeferencing is tested in tests/georef.rs and tests/geotiff.rs.
        args: &["--to", "geotiff", "--no-georef"],
        output: "tiffs",
    },
];

/// The stacked writers: they need one non-time shape per layer, and dtypes that one dtype holds.
pub const STACKED: [&str; 3] = ["zarr3", "zarr2", "hdf5"];

/// Every case of the suite.
pub fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = DType::ALL.into_iter().map(dtype_case).collect();
    cases.extend([
        ranks(),
        scalar_series(),
        series_t0(),
        series_t0_everywhere(),
        missing_layers(),
        footprints(),
        footprint_point(),
        norms_present(),
        mixed_dtypes(),
        not_stackable_dtype(),
        not_stackable_shape(),
        dates_disagree_with_frames(),
    ]);
    cases
}

/// Bit patterns of awkward floats (as in tests/python/make_golden_npy.py): quiet NaN, NaN with a
/// payload, negative NaN, signalling NaN, -0.0, +0.0, +inf, -inf, smallest and largest
/// subnormal, largest finite, -1.5.
fn float_bits(size: usize) -> &'static [u64] {
    match size {
        2 => &[
            0x7E00, 0x7E2A, 0xFE01, 0x7D01, 0x8000, 0x0000, 0x7C00, 0xFC00, 0x0001, 0x03FF, 0x7BFF,
            0xBE00,
        ],
        4 => &[
            0x7FC0_0000,
            0x7FC0_BEEF,
            0xFFC0_0001,
            0x7F80_0001,
            0x8000_0000,
            0x0000_0000,
            0x7F80_0000,
            0xFF80_0000,
            0x0000_0001,
            0x007F_FFFF,
            0x7F7F_FFFF,
            0xBFC0_0000,
        ],
        _ => &[
            0x7FF8_0000_0000_0000,
            0x7FF8_0000_0000_BEEF,
            0xFFF8_0000_0000_0001,
            0x7FF0_0000_0000_0001,
            0x8000_0000_0000_0000,
            0x0000_0000_0000_0000,
            0x7FF0_0000_0000_0000,
            0xFFF0_0000_0000_0000,
            0x0000_0000_0000_0001,
            0x000F_FFFF_FFFF_FFFF,
            0x7FEF_FFFF_FFFF_FFFF,
            0xBFF8_0000_0000_0000,
        ],
    }
}

/// SplitMix64: deterministic bits without a dependency.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The little-endian bytes of element `i`: integer extremes (MIN, MAX, 0, all ones) and the
/// awkward floats first, then arbitrary bit patterns (every pattern is a valid float).
fn element(dtype: DType, i: usize, seed: u64) -> Vec<u8> {
    let size = dtype.size();
    let random = mix(seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
    let bits = match dtype {
        DType::Bool => random & 1,
        _ if dtype.is_float() => {
            let specials = float_bits(size);
            match specials.get((i + seed as usize) % (2 * specials.len())) {
                Some(&b) => b,
                None => random,
            }
        }
        _ => {
            let (min, max) = int_extremes(dtype);
            match (i + seed as usize) % 6 {
                0 => min,
                1 => max,
                2 => 0,
                3 => u64::MAX,
                _ => random,
            }
        }
    };
    bits.to_le_bytes()[..size].to_vec()
}

/// MIN and MAX of an integer type, as little-endian bit patterns.
fn int_extremes(dtype: DType) -> (u64, u64) {
    let bits = 8 * dtype.size() as u32;
    let all = u64::MAX >> (64 - bits);
    match dtype {
        DType::I8 | DType::I16 | DType::I32 | DType::I64 => (1 << (bits - 1), all >> 1),
        _ => (0, all),
    }
}

/// An array of `dtype` and `shape` filled with [`element`]s.
pub fn awkward(dtype: DType, shape: &[usize], seed: u64) -> Array {
    let n: usize = shape.iter().product();
    let bytes: Vec<u8> = (0..n).flat_map(|i| element(dtype, i, seed)).collect();
    Array::from_le_bytes(dtype, shape, &bytes).expect("the builder makes consistent arrays")
}

/// A Lambert-93 rectangle of `H` x `W` 10 m pixels, upper-left at (x0, y0), as an exterior ring.
fn ring(x0: f64, y0: f64) -> serde_json::Value {
    let (w, h) = (10.0 * W as f64, 10.0 * H as f64);
    json!([
        [x0, y0],
        [x0 + w, y0],
        [x0 + w, y0 - h],
        [x0, y0 - h],
        [x0, y0]
    ])
}

fn geometry(value: serde_json::Value) -> geojson::Geometry {
    serde_json::from_value(value).expect("the builder makes valid geometries")
}

/// A Polygon footprint in France, away from other patches.
pub fn polygon(id: i64) -> geojson::Geometry {
    let x0 = 700_000.0 + 1000.0 * id as f64;
    geometry(json!({"type": "Polygon", "coordinates": [ring(x0, 6_600_000.0)]}))
}

/// A MultiPolygon footprint: the patch's rectangle and a second, disjoint one.
pub fn multipolygon(id: i64) -> geojson::Geometry {
    let x0 = 700_000.0 + 1000.0 * id as f64;
    geometry(json!({"type": "MultiPolygon", "coordinates": [
        [ring(x0, 6_600_000.0)],
        [ring(x0, 6_500_000.0)],
    ]}))
}

/// A patch with the usual metadata and no arrays; footprints alternate Polygon and MultiPolygon.
pub fn bare(id: i64) -> Patch {
    let mut meta = PatchMeta::new(id);
    meta.feature_id = Some(json!(id.to_string()));
    meta.fold = Some(id % 5 + 1);
    meta.n_parcel = Some(id * 3);
    meta.parcel_cover = Some(0.125 * id as f64);
    meta.footprint = Some(if id % 2 == 0 {
        polygon(id)
    } else {
        multipolygon(id)
    });
    Patch {
        meta,
        arrays: BTreeMap::new(),
        spot: None,
    }
}

/// Adds a series of `t` frames (dates 20180901 + k) with the given per-frame shape.
pub fn with_series(mut p: Patch, layer: Layer, dtype: DType, t: usize, frame: &[usize]) -> Patch {
    let dates = (0..t as u32).map(|k| 20180901 + k).collect();
    p.meta.dates.insert(layer, dates);
    let mut shape = vec![t];
    shape.extend(frame);
    let seed = p.id() as u64 * 131 + layer as u64;
    p.arrays.insert(layer, awkward(dtype, &shape, seed));
    p
}

/// Adds an annotation of `shape`.
pub fn with_annotation(mut p: Patch, layer: Layer, dtype: DType, shape: &[usize]) -> Patch {
    let seed = p.id() as u64 * 131 + layer as u64;
    p.arrays.insert(layer, awkward(dtype, shape, seed));
    p
}

/// Every kind of array in one `dtype`: a ragged 4-d series (2 then 1 frames), a 3-d TARGET and
/// a 2-d HEATMAP; the float cases carry every awkward bit pattern.
fn dtype_case(dtype: DType) -> Case {
    let patch = |id: i64, t: usize| {
        let p = with_series(bare(id), Layer::S2, dtype, t, &[2, H, W]);
        let p = with_annotation(p, Layer::Target, dtype, &[3, H, W]);
        with_annotation(p, Layer::Heatmap, dtype, &[H, W])
    };
    Case::new(format!("dtype-{dtype}"), vec![patch(1, 2), patch(2, 1)])
}

/// Ranks other than the layer's own (a 3-d series `(T, H, W)`, annotations of rank 3 and 4, a
/// 0-d S2 with no dates): every writer refuses them the same way, naming the layer and its rank.
fn ranks() -> Case {
    let patch = |id: i64| {
        let p = with_series(bare(id), Layer::S1A, DType::F32, 2, &[H, W]);
        let p = with_series(p, Layer::S1D, DType::F16, 3, &[3, H, W]);
        let p = with_annotation(p, Layer::ParcelIds, DType::I32, &[H, W]);
        let p = with_annotation(p, Layer::Zones, DType::I64, &[1, H, W]);
        with_annotation(p, Layer::Instances, DType::U16, &[2, 2, H, W])
    };
    let all: Vec<&'static str> = WRITERS.iter().map(|w| w.name).collect();
    Case::new("ranks", vec![patch(1), patch(2)])
        .refused(&all, &["S1A: has 3 axes", "S1A is 4-d (T, C, H, W)"])
}

/// A 0-d (scalar) S2 without dates-S2 beside a normal patch: refused, never a panic.
fn scalar_series() -> Case {
    let mut scalar = with_annotation(bare(1), Layer::Target, DType::U8, &[3, H, W]);
    scalar.arrays.insert(Layer::S2, awkward(DType::I16, &[], 1));
    let normal = with_series(bare(2), Layer::S2, DType::I16, 2, &[10, H, W]);
    let normal = with_annotation(normal, Layer::Target, DType::U8, &[3, H, W]);
    let all: Vec<&'static str> = WRITERS.iter().map(|w| w.name).collect();
    Case::new("scalar-S2", vec![scalar, normal])
        .refused(&all, &["patch 1, S2", "has 0 axes (shape [])", "S2 is 4-d"])
}

/// A patch whose S2 has 0 frames (present, no dates) beside one with 2.
fn series_t0() -> Case {
    let t0 = with_series(bare(1), Layer::S2, DType::I16, 0, &[10, H, W]);
    let t0 = with_annotation(t0, Layer::Target, DType::U8, &[3, H, W]);
    let t2 = with_series(bare(2), Layer::S2, DType::I16, 2, &[10, H, W]);
    let t2 = with_annotation(t2, Layer::Target, DType::U8, &[3, H, W]);
    Case::new("series-T0", vec![t0, t2])
}

/// Every patch's S1A has 0 frames: the stacked time axis has length 0.
fn series_t0_everywhere() -> Case {
    let patch = |id: i64| {
        let p = with_series(bare(id), Layer::S1A, DType::F16, 0, &[3, H, W]);
        with_annotation(p, Layer::ParcelIds, DType::I32, &[H, W])
    };
    Case::new("series-T0-everywhere", vec![patch(1), patch(2)])
}

/// Layers missing here and there: only S2; only TARGET and ZONES; no array at all.
fn missing_layers() -> Case {
    let only_s2 = with_series(bare(1), Layer::S2, DType::I16, 2, &[10, H, W]);
    let annotations = with_annotation(bare(2), Layer::Target, DType::U8, &[3, H, W]);
    let annotations = with_annotation(annotations, Layer::Zones, DType::I64, &[H, W]);
    Case::new("missing-layers", vec![only_s2, annotations, bare(3)])
}

/// Polygon, MultiPolygon and no footprint, with and without the other metadata fields.
fn footprints() -> Case {
    let full = |id: i64| with_annotation(bare(id), Layer::Target, DType::U8, &[3, H, W]);
    let mut none = full(3);
    none.meta.footprint = None;
    none.meta.feature_id = None;
    none.meta.fold = None;
    none.meta.n_parcel = None;
    none.meta.parcel_cover = None;
    none.meta
        .extra
        .insert("note".into(), json!({"nested": [1, 2.5, null, "é"]}));
    let mut case = Case::new("footprints", vec![full(1), full(2), none]);
    case.meta.crs = None;
    case.meta
        .collection_extra
        .insert("name".into(), json!("metadata"));
    case
}

/// A footprint that is a Point: no grid can be derived from it, but the metadata must survive.
fn footprint_point() -> Case {
    let mut point = with_annotation(bare(1), Layer::Target, DType::U8, &[3, H, W]);
    point.meta.footprint = Some(geometry(
        json!({"type": "Point", "coordinates": [700_000.0, 6_600_000.0]}),
    ));
    let polygon = with_annotation(bare(2), Layer::Target, DType::U8, &[3, H, W]);
    Case::new("footprint-Point", vec![point, polygon])
}

/// NORM_S2, NORM_S1A and NORM_S1D present, with awkward JSON in them.
fn norms_present() -> Case {
    let patch = |id: i64| {
        let p = with_series(bare(id), Layer::S2, DType::I16, 2, &[10, H, W]);
        let p = with_series(p, Layer::S1A, DType::F16, 1, &[3, H, W]);
        with_series(p, Layer::S1D, DType::F16, 2, &[3, H, W])
    };
    let mut case = Case::new("norms-present", vec![patch(1), patch(2)]);
    for series in Series::ALL {
        let norm = json!({"Fold_1": {"mean": [1e-300, -0.0, 12.5], "std": [1.0, 2.0, 3.0]},
                          "Fold_2": {"mean": [], "std": []}, "note": series.name()});
        case.meta.norms.insert(series, norm);
    }
    case
}

/// Patches whose dtype differs within a layer, stacked in a dtype that holds them all and read
/// back in their own (issue #16 item 5): TARGET uint8 / int16 / uint8 (a redistribution's int16
/// patch: int16), S1A float16 / float32 with every awkward bit pattern (float32, signalling NaNs
/// kept), HEATMAP uint8 / float16 (float16), INSTANCES bool / int64, ZONES uint16 / int16 (int32),
/// and a ParcelIDs that only one patch has.
fn mixed_dtypes() -> Case {
    let patch = |id: i64, target, s1a, heatmap, instances, zones| {
        let p = with_annotation(bare(id), Layer::Target, target, &[3, H, W]);
        let p = with_series(p, Layer::S1A, s1a, id as usize, &[2, H, W]);
        let p = with_annotation(p, Layer::Heatmap, heatmap, &[H, W]);
        let p = with_annotation(p, Layer::Instances, instances, &[H, W]);
        with_annotation(p, Layer::Zones, zones, &[H, W])
    };
    use DType::*;
    let third = with_annotation(
        patch(3, U8, F32, F16, I64, I16),
        Layer::ParcelIds,
        U32,
        &[H, W],
    );
    Case::new(
        "mixed-dtypes",
        vec![
            patch(1, U8, F16, U8, Bool, U16),
            patch(2, I16, F32, F16, I64, U16),
            third,
        ],
    )
}

/// TARGET is int8 in one patch and uint64 in the other: no dtype holds both exactly.
fn not_stackable_dtype() -> Case {
    let a = with_annotation(bare(1), Layer::Target, DType::I8, &[3, H, W]);
    let b = with_annotation(bare(2), Layer::Target, DType::U64, &[3, H, W]);
    Case::new("not-stackable-dtype", vec![a, b]).refused(
        &STACKED,
        &["TARGET", "patch 2", "no dtype holds both exactly"],
    )
}

/// ParcelIDs is 3 x 4 in one patch and 4 x 3 in the other: a stacked array has one shape.
fn not_stackable_shape() -> Case {
    let a = with_annotation(bare(1), Layer::ParcelIds, DType::I32, &[H, W]);
    let b = with_annotation(bare(2), Layer::ParcelIds, DType::I32, &[W, H]);
    Case::new("not-stackable-shape", vec![a, b]).refused(&STACKED, &["ParcelIDs", "patch 2"])
}

/// S2 has 2 frames but dates-S2 lists 3: no format may write it.
fn dates_disagree_with_frames() -> Case {
    let mut p = with_series(bare(1), Layer::S2, DType::I16, 2, &[10, H, W]);
    p.meta
        .dates
        .insert(Layer::S2, vec![20180901, 20180902, 20180903]);
    let all: Vec<&'static str> = WRITERS.iter().map(|w| w.name).collect();
    let mut case = Case::new("dates-disagree-with-frames", vec![p]);
    case.refused_by = all;
    case.refusal_mentions = vec!["patch 1".into(), "S2".into(), "dates-S2".into()];
    case
}

/// True if two arrays have the same dtype, shape and bits (never `==` on floats).
pub fn same_bits(a: &Array, b: &Array) -> bool {
    a.dtype() == b.dtype() && a.shape() == b.shape() && a.to_le_bytes() == b.to_le_bytes()
}
