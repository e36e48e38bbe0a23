//! A synthetic PASTIS-R-like dataset: realistic enough to exercise every format and every
//! geometry edge case, deterministic (same options, same bytes), written through the PASTIS
//! writer.
//!
//! Each patch is drawn from its own random stream (seed, patch index, component), so patches are
//! built in parallel and in any order with identical results.

pub mod instances;
pub mod parcels;
pub mod plan;
pub mod series;
pub mod spot;
mod stats;

use crate::formats::{Format, WriteOptions};
use crate::model::metadata_geojson::write_json;
use crate::model::{Array, ArraySpec, DType, DatasetMeta, Layer, Patch, PatchMeta, LAMBERT93_URN};
use crate::pipeline::{self, Job, PatchSource, Progress, Stage, Summary};
use crate::{Error, Result};
use ndarray::{Array2, Array3, ArrayD};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde_json::{json, Map};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthOptions {
    /// Number of patches (>= 1).
    pub patches: usize,
    /// Random seed: the same options give the same bytes.
    pub seed: u64,
    /// Also generate Sentinel-1 ascending and descending series (PASTIS-R).
    pub radar: bool,
    /// Patch side in pixels (PASTIS: 128; >= 8).
    pub size: usize,
    /// Scale of the number of dates, in (0, 1] (1 = PASTIS: 38..61 S2 dates).
    pub date_scale: f64,
    /// Also generate a SPOT-6 image per patch, like PASTIS-HD ([`spot::spot_image`]).
    pub spot: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            patches: 10,
            seed: 0,
            radar: false,
            size: 128,
            date_scale: 1.0,
            spot: false,
        }
    }
}

impl SynthOptions {
    /// Checks the options: patches >= 1, size >= 8, date_scale in (0, 1].
    pub fn validate(&self) -> Result<()> {
        let problem = if self.patches == 0 {
            Some("--patches must be at least 1".to_string())
        } else if self.size < 8 || self.size > 4096 {
            Some(format!("--size {} must be between 8 and 4096", self.size))
        } else if !(self.date_scale > 0.0 && self.date_scale <= 1.0) {
            Some(format!(
                "--date-scale {} must be in (0, 1]",
                self.date_scale
            ))
        } else {
            None
        };
        problem.map_or(Ok(()), |m| Err(Error::Usage(m)))
    }

    /// The series generated.
    pub fn series(&self) -> Vec<Layer> {
        if self.radar {
            Layer::SERIES.to_vec()
        } else {
            vec![Layer::S2]
        }
    }
}

/// The random stream of one component of one patch (or tile, with `usize::MAX - tile`).
pub(crate) fn rng(seed: u64, index: usize, component: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(((index as u64) << 8) | component);
    r
}

const PARCELS: u64 = 0;
/// The random stream of the SPOT image's texture (after the series' 1..=3).
const SPOT: u64 = 8;

/// Bands of the generated Sentinel-2 and Sentinel-1 series.
const S2_BANDS: usize = 10;
const S1_BANDS: usize = 3;

/// Generates a synthetic dataset at `dst` (a PASTIS folder), through the [`pipeline`] like a
/// conversion, reporting progress patch by patch.
///
/// # Errors
/// Invalid options; `dst` exists without `overwrite`; a file cannot be written.
pub fn generate(
    dst: &Path,
    options: &SynthOptions,
    overwrite: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Summary> {
    options.validate()?;
    let meta = dataset_meta(options)?;
    let source = Generator {
        options,
        index: meta
            .patches
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect(),
        meta: meta.clone(),
        stats: Mutex::new(Vec::new()),
    };
    let job = Job {
        source: &source,
        meta,
        layers: Layer::ALL.to_vec(),
        to: Format::Pastis,
        dst,
        write: WriteOptions {
            overwrite,
            ..WriteOptions::default()
        },
        jobs: 0,
        keep_going: false,
        strict: false,
        stage: Stage::Whole,
    };
    pipeline::run(job, progress)
}

/// The generator as a patch source: builds each patch from its own random streams, keeps its
/// channel statistics, and adds the NORM files once every patch is written.
struct Generator<'a> {
    options: &'a SynthOptions,
    index: HashMap<i64, usize>,
    meta: DatasetMeta,
    stats: Mutex<Vec<(usize, stats::PatchStats)>>,
}

impl Generator<'_> {
    fn index_of(&self, meta: &PatchMeta) -> Result<usize> {
        self.index
            .get(&meta.id)
            .copied()
            .ok_or_else(|| Error::patch(meta.id, "is not a generated patch"))
    }
}

impl PatchSource for Generator<'_> {
    fn describe(&self) -> String {
        let o = self.options;
        format!(
            "synth seed {} patches {} size {} radar {} date_scale {}{}",
            o.seed,
            o.patches,
            o.size,
            o.radar,
            o.date_scale,
            if o.spot { " spot" } else { "" }
        )
    }

    /// Known without drawing anything: the annotations' fixed dtypes, the series' dates.
    fn specs(&self, meta: &PatchMeta) -> Result<BTreeMap<Layer, ArraySpec>> {
        let s = self.options.size;
        let spec = |dtype, shape: &[usize]| ArraySpec {
            dtype,
            shape: shape.to_vec(),
        };
        let mut specs = BTreeMap::from([
            (Layer::Target, spec(DType::U8, &[3, s, s])),
            (Layer::ParcelIds, spec(DType::I32, &[s, s])),
            (Layer::Heatmap, spec(DType::F64, &[s, s])),
            (Layer::Instances, spec(DType::I64, &[s, s])),
            (Layer::Zones, spec(DType::I64, &[s, s])),
        ]);
        for layer in self.options.series() {
            let t = meta.dates.get(&layer).map_or(0, Vec::len);
            let (dtype, bands) = match layer {
                Layer::S2 => (DType::I16, S2_BANDS),
                _ => (DType::F16, S1_BANDS),
            };
            specs.insert(layer, spec(dtype, &[t, bands, s, s]));
        }
        if self.options.spot {
            let side = s * spot::SPOT_SCALE;
            specs.insert(
                Layer::Spot,
                spec(DType::U8, &[spot::BANDS.len(), side, side]),
            );
        }
        Ok(specs)
    }

    fn patch(&self, meta: &PatchMeta, layers: &[Layer]) -> Result<Patch> {
        let index = self.index_of(meta)?;
        let mut patch = build_patch(self.options, index, meta.clone());
        self.stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((index, stats::PatchStats::of(&patch)));
        patch.arrays.retain(|layer, _| layers.contains(layer));
        if !patch.arrays.contains_key(&Layer::Spot) {
            patch.spot = None;
        }
        Ok(patch)
    }

    fn spot_georef(&self, meta: &PatchMeta) -> Result<Option<crate::model::SpotGeoref>> {
        if !self.options.spot {
            return Ok(None);
        }
        let index = self.index_of(meta)?;
        let (_, tile) = plan::tile_of(index);
        let (x0, y0) = plan::utm_origin(self.options, index);
        Ok(spot::georef((tile.epsg, x0, y0)))
    }

    /// Writes NORM_*_patch.json from the statistics of every patch, in patch order (the sums
    /// are then the same whatever order the workers finished in).
    fn complete(&self, writing: &Path) -> Result<()> {
        let mut stats = std::mem::take(&mut *self.stats.lock().unwrap_or_else(|e| e.into_inner()));
        stats.sort_by_key(|(index, _)| *index);
        let stats: Vec<stats::PatchStats> = stats.into_iter().map(|(_, s)| s).collect();
        for layer in self.options.series() {
            let norm = stats::norm(&self.meta, &stats, layer);
            let file = layer.norm_file().unwrap_or_default();
            write_json(&writing.join(file), &norm)?;
        }
        Ok(())
    }
}

/// The metadata of every patch (parcels are drawn here to count them, then again when writing).
pub fn dataset_meta(options: &SynthOptions) -> Result<DatasetMeta> {
    let patches = (0..options.patches)
        .into_par_iter()
        .map(|index| patch_meta(options, index))
        .collect::<Result<_>>()?;
    let mut collection_extra = Map::new();
    collection_extra.insert("name".into(), json!("metadata"));
    Ok(DatasetMeta {
        patches,
        crs: Some(LAMBERT93_URN.to_string()),
        collection_extra,
        norms: BTreeMap::new(),
    })
}

fn patch_meta(options: &SynthOptions, index: usize) -> Result<PatchMeta> {
    let (_, tile) = plan::tile_of(index);
    let id = plan::patch_id(index);
    let (x0, y0) = plan::utm_origin(options, index);
    let ring = plan::footprint(tile.epsg, x0, y0, options.size)?;
    let map = parcels::generate(&mut rng(options.seed, index, PARCELS), options.size);
    let classes = map.classes();
    let (_, count) = instances::renumber(&map.ids(), &classes);
    let covered = classes.iter().filter(|&&c| c != 0).count();
    let mut meta = PatchMeta::new(id);
    meta.feature_id = Some(json!(id.to_string()));
    meta.fold = Some(index as i64 % 5 + 1);
    meta.tile = Some(tile.name.to_string());
    meta.n_parcel = Some(count as i64);
    meta.parcel_cover = Some(covered as f64 / classes.len() as f64);
    for layer in options.series() {
        meta.dates.insert(layer, plan::dates(options, index, layer));
    }
    meta.footprint = Some(plan::footprint_geometry(ring));
    Ok(meta)
}

/// Builds every array of the patch at `index`.
pub fn build_patch(options: &SynthOptions, index: usize, meta: PatchMeta) -> Patch {
    let size = options.size;
    let map = parcels::generate(&mut rng(options.seed, index, PARCELS), size);
    let mut arrays = annotations(&map);
    for (c, layer) in options.series().into_iter().enumerate() {
        let dates = meta.dates.get(&layer).map_or(&[][..], Vec::as_slice);
        let mut r = rng(options.seed, index, 1 + c as u64);
        let array = match layer {
            Layer::S2 => Array::I16(series::sentinel2(&mut r, &map, dates)),
            _ => Array::F16(series::sentinel1(&mut r, &map, dates)),
        };
        arrays.insert(layer, array);
    }
    let spot = options
        .spot
        .then(|| synth_spot(options, index, &map, arrays.get(&Layer::S2)))
        .flatten();
    if let Some((image, _)) = &spot {
        arrays.insert(Layer::Spot, image.clone());
    }
    Patch {
        meta,
        arrays,
        spot: spot.map(|(_, georef)| georef),
    }
}

/// The SPOT image of the patch at `index`, on its 10 m grid's upper-left corner at 1 m.
fn synth_spot(
    options: &SynthOptions,
    index: usize,
    map: &ParcelMap,
    s2: Option<&Array>,
) -> Option<(Array, crate::model::SpotGeoref)> {
    let s2 = s2?.as_ndarray::<i16>()?;
    let (_, tile) = plan::tile_of(index);
    let (x0, y0) = plan::utm_origin(options, index);
    let mut r = rng(options.seed, index, SPOT);
    spot::spot_image(&mut r, s2, map, (tile.epsg, x0, y0))
}

fn plane<T>(size: usize, values: Vec<T>) -> ArrayD<T> {
    Array2::from_shape_vec((size, size), values)
        .map(|a| a.into_dyn())
        .unwrap_or_else(|_| unreachable!("a plane holds size * size values"))
}

/// TARGET, ParcelIDs, INSTANCES, ZONES, HEATMAP of a parcel map.
fn annotations(map: &ParcelMap) -> BTreeMap<Layer, Array> {
    let size = map.size;
    let (ids, classes) = (map.ids(), map.classes());
    let derived = instances::derive(&ids, &classes, size);
    let mut target = Array3::<u8>::zeros((3, size, size));
    for (p, &c) in classes.iter().enumerate() {
        let (y, x) = (p / size, p % size);
        target[[0, y, x]] = c;
        target[[1, y, x]] = if interior(&map.label, size, p) { c } else { 0 };
        target[[2, y, x]] = u8::from(ids[p] != 0);
    }
    BTreeMap::from([
        (Layer::Target, Array::U8(target.into_dyn())),
        (Layer::ParcelIds, Array::I32(plane(size, ids))),
        (Layer::Heatmap, Array::F64(plane(size, derived.heatmap))),
        (Layer::Instances, Array::I64(plane(size, derived.instances))),
        (Layer::Zones, Array::I64(plane(size, derived.zones))),
    ])
}

use parcels::ParcelMap;

/// True if the 4 neighbours of pixel `p` inside the patch belong to the same parcel.
fn interior(label: &[u16], size: usize, p: usize) -> bool {
    let (y, x, l) = (p / size, p % size, label[p]);
    (y == 0 || label[p - size] == l)
        && (y + 1 == size || label[p + size] == l)
        && (x == 0 || label[p - 1] == l)
        && (x + 1 == size || label[p + 1] == l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate_patch;

    #[test]
    fn options_are_validated() {
        let ok = SynthOptions::default();
        ok.validate().unwrap();
        let bad = |o: SynthOptions| o.validate().unwrap_err().to_string();
        assert!(bad(SynthOptions {
            patches: 0,
            ..ok.clone()
        })
        .contains("--patches"));
        assert!(bad(SynthOptions {
            size: 7,
            ..ok.clone()
        })
        .contains("--size 7"));
        for scale in [0.0, -1.0, 1.01, f64::NAN] {
            let o = SynthOptions {
                date_scale: scale,
                ..ok.clone()
            };
            assert!(bad(o).contains("--date-scale"));
        }
    }

    #[test]
    fn a_patch_is_consistent_and_reproducible() {
        let options = SynthOptions {
            patches: 2,
            radar: true,
            size: 16,
            date_scale: 0.2,
            ..SynthOptions::default()
        };
        let meta = dataset_meta(&options).unwrap();
        let patch = build_patch(&options, 1, meta.patches[1].clone());
        validate_patch(&patch).unwrap();
        assert_eq!(patch.arrays.len(), 8);
        assert_eq!(patch, build_patch(&options, 1, meta.patches[1].clone()));
        let s2 = patch.get(Layer::S2).unwrap().as_ndarray::<i16>().unwrap();
        assert!(s2
            .iter()
            .all(|&v| v == series::S2_NODATA || (0..10_000).contains(&v)));
        let s1 = patch
            .get(Layer::S1A)
            .unwrap()
            .as_ndarray::<half::f16>()
            .unwrap();
        assert!(s1.iter().all(|v| v.is_finite() && v.to_f32().abs() < 60.0));
    }

    #[test]
    fn specs_are_those_of_the_built_patches() {
        for radar in [false, true] {
            let options = SynthOptions {
                patches: 2,
                radar,
                size: 16,
                date_scale: 0.1,
                ..SynthOptions::default()
            };
            let meta = dataset_meta(&options).unwrap();
            let source = Generator {
                options: &options,
                index: HashMap::from([(meta.patches[1].id, 1)]),
                meta: meta.clone(),
                stats: Mutex::new(Vec::new()),
            };
            let patch = source.patch(&meta.patches[1], &Layer::ALL).unwrap();
            let built: BTreeMap<Layer, ArraySpec> = patch
                .arrays
                .iter()
                .map(|(l, a)| {
                    let spec = ArraySpec {
                        dtype: a.dtype(),
                        shape: a.shape().to_vec(),
                    };
                    (*l, spec)
                })
                .collect();
            assert_eq!(source.specs(&meta.patches[1]).unwrap(), built);
        }
    }

    #[test]
    fn norms_cover_every_fold_and_channel() {
        let dir = tempfile::tempdir().unwrap();
        let options = SynthOptions {
            patches: 2,
            radar: true,
            size: 8,
            date_scale: 0.05,
            ..SynthOptions::default()
        };
        generate(&dir.path().join("d"), &options, false, &|_| {}).unwrap();
        for (file, channels) in [("NORM_S2_patch.json", 10), ("NORM_S1D_patch.json", 3)] {
            let text = std::fs::read_to_string(dir.path().join("d").join(file)).unwrap();
            let norm: serde_json::Value = serde_json::from_str(&text).unwrap();
            for fold in 1..=5 {
                let f = &norm[format!("Fold_{fold}")];
                assert_eq!(f["mean"].as_array().unwrap().len(), channels, "{file}");
                assert!(f["std"][0].as_f64().unwrap() > 0.0, "{file}");
            }
        }
    }
}
