//! The synthetic generator: determinism, the relations PASTIS defines, the geometry edge cases,
//! the georeferencing of footprints, realistic compressibility, and the `synth` command.

mod common;

use common::{bin, fixture};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use ndarray::{ArrayD, Axis, Ix2};
use pastis_bridge::formats;
use pastis_bridge::model::{Layer, Patch, PatchMeta};
use pastis_bridge::synth::{generate, plan, SynthOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FIXTURE: &str = "PASTIS-R";

fn options(seed: u64) -> SynthOptions {
    SynthOptions {
        patches: 3,
        seed,
        radar: true,
        size: 32,
        date_scale: 0.1,
        spot: false,
    }
}

fn synth_to(dir: &Path, options: &SynthOptions) -> PathBuf {
    let dst = dir.join("out");
    generate(&dst, options, false, &|_| {}).expect("generate");
    dst
}

fn patches(path: &Path) -> Vec<Patch> {
    let reader = formats::open(path).expect("open");
    reader
        .metadata()
        .ids()
        .into_iter()
        .map(|id| reader.read_patch(id, &Layer::ALL).expect("read patch"))
        .collect()
}

fn plane(patch: &Patch, layer: Layer) -> ArrayD<i64> {
    patch
        .get(layer)
        .and_then(|a| a.to_i64())
        .expect("integer layer")
}

fn ids(patch: &Patch) -> ndarray::Array2<i64> {
    plane(patch, Layer::ParcelIds)
        .into_dimensionality::<Ix2>()
        .expect("2-d")
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (tempdir(), tempdir(), tempdir());
    let first = common::files(&synth_to(a.path(), &options(1)));
    let again = common::files(&synth_to(b.path(), &options(1)));
    let other = common::files(&synth_to(c.path(), &options(2)));
    assert_eq!(
        first.len(),
        3 * 8 + 4,
        "8 arrays per patch, metadata and 3 NORM files"
    );
    assert!(first == again, "the same options gave different bytes");
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        other.keys().collect::<Vec<_>>()
    );
    let differ = first.iter().filter(|(k, v)| other[*k] != **v).count();
    assert!(differ >= 3 * 8, "another seed changed only {differ} files");
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn the_script_regenerates_the_committed_fixture_exactly() {
    let dir = tempdir();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-fixtures.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(dir.path())
        .env("PASTIS_BRIDGE", env!("CARGO_BIN_EXE_pastis-bridge"))
        .status()
        .expect("bash runs");
    assert!(status.success());
    // PASTIS-HD (tests/spot.rs) too: its SPOT GeoTIFFs are as deterministic as the .npy files.
    for name in [FIXTURE, "PASTIS-HD"] {
        let fresh = common::files(&dir.path().join(name));
        let committed = common::files(&fixture(name));
        assert_eq!(
            fresh.keys().collect::<Vec<_>>(),
            committed.keys().collect::<Vec<_>>()
        );
        for (file, bytes) in &committed {
            assert!(
                fresh[file] == *bytes,
                "{name}: {} differs from the committed fixture",
                file.display()
            );
        }
    }
}

#[test]
fn instance_files_follow_the_pastis_relations() {
    let mut background_parcels = false;
    for patch in patches(&fixture(FIXTURE)) {
        let id = patch.id();
        let (target, parcels) = (
            plane(&patch, Layer::Target),
            plane(&patch, Layer::ParcelIds),
        );
        let classes = target.index_axis(Axis(0), 0);
        let instances = plane(&patch, Layer::Instances);
        let masked: BTreeSet<i64> = parcels
            .iter()
            .zip(classes.iter())
            .filter(|(_, &c)| c != 0)
            .map(|(&p, _)| p)
            .collect();
        let rank: BTreeMap<i64, i64> = masked.iter().zip(1..).map(|(&p, k)| (p, k)).collect();
        for ((&p, &c), &i) in parcels.iter().zip(classes.iter()).zip(instances.iter()) {
            assert_eq!(i, if c == 0 { 0 } else { rank[&p] }, "patch {id}");
        }
        assert!(classes.iter().all(|&c| (0..=19).contains(&c)));
        background_parcels |= parcels
            .iter()
            .zip(classes.iter())
            .any(|(&p, &c)| p != 0 && c == 0);
        let k = masked.len() as i64;
        assert_eq!(patch.meta.n_parcel, Some(k), "patch {id}: N_Parcel");
        let zones = plane(&patch, Layer::Zones);
        assert!(
            zones.iter().all(|&z| (1..=k).contains(&z)),
            "patch {id}: ZONES"
        );
        let zone_ids: BTreeSet<i64> = zones.iter().copied().collect();
        assert_eq!(
            zone_ids.len() as i64,
            k,
            "patch {id}: every instance has a zone"
        );
        check_heatmap(&patch, &instances, k);
    }
    assert!(
        background_parcels,
        "no parcel id on background (class 0) pixels"
    );
}

fn check_heatmap(patch: &Patch, instances: &ArrayD<i64>, k: i64) {
    let heat = patch.get(Layer::Heatmap).expect("HEATMAP").to_f64();
    assert!(
        heat.iter().all(|h| (0.0..=1.0).contains(h)),
        "HEATMAP in [0, 1]"
    );
    let instances = instances.view().into_dimensionality::<Ix2>().expect("2-d");
    let mut boxes = vec![(usize::MAX, 0, usize::MAX, 0); k as usize];
    for ((y, x), &v) in instances.indexed_iter().filter(|(_, &v)| v > 0) {
        let b = &mut boxes[v as usize - 1];
        *b = (b.0.min(y), b.1.max(y), b.2.min(x), b.3.max(x));
    }
    for (inst, (y0, y1, x0, x1)) in boxes.into_iter().enumerate() {
        let (y, x) = ((y0 + y1) / 2, (x0 + x1) / 2);
        assert_eq!(
            heat[[y, x]],
            1.0,
            "patch {}: instance {} centre",
            patch.id(),
            inst + 1
        );
    }
}

#[test]
fn series_lengths_and_dates_match() {
    for patch in patches(&fixture(FIXTURE)) {
        for layer in Layer::SERIES {
            let dates = &patch.meta.dates[&layer];
            let t = patch.get(layer).expect("series").shape()[0];
            assert_eq!(t, dates.len(), "patch {} {layer}", patch.id());
            assert!(dates.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
            assert!(dates.iter().all(|d| (20180901..=20191101).contains(d)));
        }
        let s2 = patch.get(Layer::S2).expect("S2");
        assert_eq!(
            (s2.dtype().to_string(), &s2.shape()[1..]),
            ("int16".into(), &[10, 64, 64][..])
        );
        assert_eq!(patch.get(Layer::S1A).expect("S1A").shape()[1], 3);
    }
}

/// Regions (4-connected) of the pixels where `inside` holds; `touches_edge` per region.
fn regions(size: usize, inside: impl Fn(usize, usize) -> bool) -> Vec<bool> {
    let mut seen = vec![false; size * size];
    let mut out = Vec::new();
    for start in 0..size * size {
        if seen[start] || !inside(start / size, start % size) {
            continue;
        }
        let (mut stack, mut edge) = (vec![start], false);
        seen[start] = true;
        while let Some(p) = stack.pop() {
            let (y, x) = (p / size, p % size);
            edge |= y == 0 || x == 0 || y + 1 == size || x + 1 == size;
            let near = [
                (y.wrapping_sub(1), x),
                (y + 1, x),
                (y, x.wrapping_sub(1)),
                (y, x + 1),
            ];
            for (ny, nx) in near {
                if ny < size && nx < size && !seen[ny * size + nx] && inside(ny, nx) {
                    seen[ny * size + nx] = true;
                    stack.push(ny * size + nx);
                }
            }
        }
        out.push(edge);
    }
    out
}

#[test]
fn the_fixture_has_every_geometry_edge_case() {
    let (mut hole, mut diagonal, mut multipart, mut edge) = (false, false, false, false);
    for patch in patches(&fixture(FIXTURE)) {
        let ids = ids(&patch);
        let size = ids.nrows();
        let parcels: BTreeSet<i64> = ids.iter().copied().filter(|&v| v != 0).collect();
        for &p in &parcels {
            let parts = regions(size, |y, x| ids[[y, x]] == p);
            multipart |= parts.len() > 1;
            edge |= parts.iter().any(|&e| e);
            hole |= regions(size, |y, x| ids[[y, x]] != p).iter().any(|&e| !e);
        }
        for w in ids.windows((2, 2)) {
            let (a, b, c, d) = (w[[0, 0]], w[[0, 1]], w[[1, 0]], w[[1, 1]]);
            let corner = |p: i64, q: i64, r: i64, s: i64| {
                p != 0 && q != 0 && p != q && ![p, q].contains(&r) && ![p, q].contains(&s)
            };
            diagonal |= corner(a, d, b, c) || corner(b, c, a, d);
        }
    }
    assert!(hole, "no parcel with a hole");
    assert!(diagonal, "no two parcels meeting at exactly one corner");
    assert!(multipart, "no parcel in several parts");
    assert!(edge, "no parcel touching the patch edge");
}

fn utm_corners(meta: &PatchMeta, epsg: u32) -> Vec<(f64, f64)> {
    let Some(geojson::GeometryValue::MultiPolygon { coordinates }) =
        meta.footprint.as_ref().map(|g| &g.value)
    else {
        panic!("patch {}: footprint is not a MultiPolygon", meta.id)
    };
    let ring = &coordinates[0][0];
    let mut xs: Vec<f64> = ring.iter().map(|p| p[0]).collect();
    let mut ys: Vec<f64> = ring.iter().map(|p| p[1]).collect();
    let srs = |code| {
        let mut s = SpatialRef::from_epsg(code).expect("EPSG");
        s.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        s
    };
    CoordTransform::new(&srs(2154), &srs(epsg))
        .expect("transform")
        .transform_coords(&mut xs, &mut ys, &mut [])
        .expect("transformed");
    xs.into_iter().zip(ys).collect()
}

#[test]
fn footprints_are_snapped_utm_squares_in_lambert93() {
    let reader = formats::open(&fixture(FIXTURE)).expect("open");
    let meta = reader.metadata();
    assert_eq!(meta.crs.as_deref(), Some("urn:ogc:def:crs:EPSG::2154"));
    let zones: BTreeSet<u32> = meta
        .patches
        .iter()
        .map(|p| {
            plan::TILES
                .iter()
                .find(|t| Some(t.name) == p.tile.as_deref())
                .expect("known tile")
                .epsg
        })
        .collect();
    assert!(zones.len() >= 2, "patches on tiles of at least 2 UTM zones");
    for p in &meta.patches {
        let tile = plan::TILES
            .iter()
            .find(|t| Some(t.name) == p.tile.as_deref())
            .expect("tile");
        let corners = utm_corners(p, tile.epsg);
        assert_eq!(corners.len(), 5);
        assert_eq!(corners[0], corners[4], "closed ring");
        let twice_area: f64 = corners
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        assert!(
            twice_area > 0.0,
            "patch {}: ring is counter-clockwise",
            p.id
        );
        let snapped = |v: f64| (v - (v / 10.0).round() * 10.0).abs() < 0.01;
        assert!(
            corners.iter().all(|&(x, y)| snapped(x) && snapped(y)),
            "patch {}: {corners:?}",
            p.id
        );
        let (x0, y0) = corners[0];
        let expected = [(0.0, 0.0), (640.0, 0.0), (640.0, 640.0), (0.0, 640.0)];
        for ((x, y), (dx, dy)) in corners.iter().zip(expected) {
            assert!(
                (x - x0 - dx).abs() < 0.01 && (y - y0 - dy).abs() < 0.01,
                "patch {}: {corners:?}",
                p.id
            );
        }
    }
}

fn zstd_ratio(bytes: &[u8]) -> f64 {
    bytes.len() as f64 / zstd::encode_all(bytes, 3).expect("zstd").len() as f64
}

/// The released PASTIS archives compress about 1.2-1.3x (deflate; zstd 3 does about as well on
/// int16 reflectance): the fixture's S2 must be near that, neither noise (1.0) nor the smooth,
/// easily compressed fields the generator once made (1.3-1.4x here, 1.5x at full size, #17).
#[test]
fn s2_compresses_like_imagery_not_like_noise_or_constants() {
    let dir = fixture(FIXTURE).join("DATA_S2");
    for entry in std::fs::read_dir(dir).expect("DATA_S2").flatten() {
        let ratio = zstd_ratio(&std::fs::read(entry.path()).expect("read"));
        assert!(
            (1.1..1.3).contains(&ratio),
            "{}: zstd ratio {ratio:.2}",
            entry.path().display()
        );
    }
    let mut noise = vec![0u8; 100_000];
    rand::RngCore::fill_bytes(
        &mut <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0),
        &mut noise,
    );
    assert!(zstd_ratio(&noise) < 1.05, "the measure tells noise apart");
}

#[test]
fn the_synth_command_writes_and_refuses_to_clobber() {
    let dir = tempdir();
    let dst = dir.path().join("PASTIS");
    let args = [
        "synth",
        "--patches",
        "2",
        "--size",
        "16",
        "--date-scale",
        "0.05",
        "--quiet",
    ];
    bin().args(args).arg(&dst).assert().success();
    assert!(dst.join("metadata.geojson").is_file() && dst.join("NORM_S2_patch.json").is_file());
    assert!(!dst.join("DATA_S1A").exists(), "no radar unless asked");
    bin()
        .args(args)
        .arg(&dst)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("already exists"));
    bin()
        .args(args)
        .arg(&dst)
        .arg("--overwrite")
        .assert()
        .success();
    bin()
        .args(["synth", "--size", "4"])
        .arg(dir.path().join("x"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--size 4"));
    bin()
        .args(["synth", "--date-scale", "1.5"])
        .arg(dir.path().join("x"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--date-scale"));
}
