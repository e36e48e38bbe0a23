//! Parcel polygons back to INSTANCES and TARGET on the grids of a dataset.
//!
//! Each feature is transformed to its patch's grid CRS, mapped to pixel coordinates and burnt with
//! the pixel-centre rule ([`super::fill`]). INSTANCES keeps the grid dataset's dtype; TARGET has 3
//! channels, channel 0 rebuilt from `class_id`, channels 1-2 zero (polygons do not carry them).
//! With [`RasterizeOptions::no_georef`] the polygons are in pixel coordinates
//! ([`crate::georef::PIXEL_GRID`], as `parcels --no-georef` writes them) and the footprints are
//! not used: the grid dataset only gives each patch's size and dtypes.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::fill::burn;
use super::geometry::{inverse, GeoTransform};
use super::ogr::{self, Place, ReadParcel};
use super::GridFn;
use crate::formats::{self, DatasetReader, Format, WriteOptions};
use crate::georef::{patch_grid, GeorefProblem, PIXEL_GRID};
use crate::model::{Array, ArraySpec, DType, Layer, Patch, PatchMeta};
use crate::pipeline::{self, thread_pool, Job, PatchSource, Progress, Selection, Stage};
use crate::{Error, Result};
use geo::MapCoords;
use ndarray::{Array2, Array3, ArrayD, Axis};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

/// How to rasterise.
#[derive(Clone, Debug)]
pub struct RasterizeOptions {
    /// Output format.
    pub to: Format,
    /// Options of the writer.
    pub write: WriteOptions,
    /// Patches of the grid dataset to rebuild (layers are ignored).
    pub selection: Selection,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// The parcels are in pixel coordinates without CRS (written by `parcels --no-georef`):
    /// burn them on [`crate::georef::PIXEL_GRID`] instead of each patch's recovered grid.
    /// Errors: a georeferenced parcels file with it, a pixel one without it.
    pub no_georef: bool,
}

/// What [`rasterize`] did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RasterizeSummary {
    /// Patches written.
    pub patches: usize,
    /// Features burnt.
    pub parcels: usize,
    /// Wall time.
    pub seconds: f64,
    /// Warnings of the writer.
    pub warnings: Vec<String>,
}

/// What a patch of the grid dataset fixes: its grid, size and dtypes.
struct Target {
    /// The coordinates its parcels are read into.
    place: Place,
    /// Pixel corners to those coordinates.
    geotransform: GeoTransform,
    instances: ArraySpec,
    /// INSTANCES' (rows, columns).
    size: (usize, usize),
    target_dtype: DType,
}

/// The layers a rasterisation writes.
const LAYERS: [Layer; 2] = [Layer::Target, Layer::Instances];

/// Rasterises the parcels file `parcels` on the grids of the dataset `grid_src` into `dst`.
pub fn rasterize(
    parcels: &Path,
    grid_src: &Path,
    dst: &Path,
    options: &RasterizeOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RasterizeSummary> {
    let reader = formats::open(grid_src)?;
    let crs = reader.metadata().crs.clone();
    let grid = move |m: &PatchMeta, h, w| patch_grid(crs.as_deref(), m, h, w);
    rasterize_with(parcels, reader.as_ref(), dst, options, &grid, progress)
}

/// Rasterises `parcels` on the grids of an opened dataset, `grid` giving each patch's grid; the
/// patches go through the [`pipeline`] like a conversion's.
pub fn rasterize_with(
    parcels: &Path,
    reader: &dyn DatasetReader,
    dst: &Path,
    options: &RasterizeOptions,
    grid: &GridFn,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<RasterizeSummary> {
    let start = Instant::now();
    let meta = options.selection.apply(reader.metadata())?;
    let targets: Vec<Target> = thread_pool(options.jobs)?.install(|| {
        meta.patches
            .par_iter()
            .map(|p| target(reader, p, grid, options.no_georef))
            .collect::<Result<_>>()
    })?;
    let groups = read_grouped(parcels, reader, &meta.patches, &targets)?;
    let count = groups.iter().map(Vec::len).sum();
    let ids = meta.patches.iter().map(|p| p.id);
    let source = Rasterizer {
        parcels: parcels.file_name().map_or_else(
            || parcels.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        patches: ids.zip(targets.into_iter().zip(groups)).collect(),
    };
    let job = Job {
        source: &source,
        meta,
        layers: LAYERS.to_vec(),
        to: options.to,
        dst,
        write: options.write.clone(),
        jobs: options.jobs,
        keep_going: false,
        strict: false,
        stage: Stage::Whole,
    };
    let summary = pipeline::run(job, progress)?;
    Ok(RasterizeSummary {
        patches: summary.patches,
        parcels: count,
        seconds: start.elapsed().as_secs_f64(),
        warnings: summary.warnings,
    })
}

/// The patches rebuilt from parcels: each patch's grid and its parcels, by `ID_PATCH`.
struct Rasterizer {
    parcels: String,
    patches: HashMap<i64, (Target, Vec<ReadParcel>)>,
}

impl Rasterizer {
    fn get(&self, meta: &PatchMeta) -> Result<&(Target, Vec<ReadParcel>)> {
        self.patches
            .get(&meta.id)
            .ok_or_else(|| Error::patch(meta.id, "is not among the patches being rasterised"))
    }
}

impl PatchSource for Rasterizer {
    fn describe(&self) -> String {
        format!("rasterize {}", self.parcels)
    }

    /// INSTANCES as in the grid dataset, TARGET with 3 channels of the grid dataset's dtype.
    fn specs(&self, meta: &PatchMeta) -> Result<BTreeMap<Layer, ArraySpec>> {
        let (t, _) = self.get(meta)?;
        let target = ArraySpec {
            dtype: t.target_dtype,
            shape: vec![3, t.size.0, t.size.1],
        };
        Ok(BTreeMap::from([
            (Layer::Instances, t.instances.clone()),
            (Layer::Target, target),
        ]))
    }

    fn patch(&self, meta: &PatchMeta, _layers: &[Layer]) -> Result<Patch> {
        let (t, parcels) = self.get(meta)?;
        burn_patch(meta, t, parcels)
    }
}

/// The grid, size and dtypes of a patch of the grid dataset; with `no_georef`, the pixel grid.
fn target(
    reader: &dyn DatasetReader,
    meta: &PatchMeta,
    grid: &GridFn,
    no_georef: bool,
) -> Result<Target> {
    let specs = reader.specs(meta.id)?;
    let no_instances = || Error::patch(meta.id, "has no 2-D INSTANCES to take the grid from");
    let instances = specs
        .get(&Layer::Instances)
        .cloned()
        .ok_or_else(no_instances)?;
    let &[h, w] = instances.shape.as_slice() else {
        return Err(no_instances());
    };
    let (place, geotransform) = if no_georef {
        (Place::Pixels, PIXEL_GRID)
    } else {
        let no_footprint = GeorefProblem::NoFootprint { patch: meta.id };
        let grid = grid(meta, h, w)?.ok_or(Error::Georef(no_footprint))?;
        (Place::Epsg(grid.epsg), grid.geotransform)
    };
    let target_dtype = specs.get(&Layer::Target).map_or(DType::U8, |s| s.dtype);
    Ok(Target {
        place,
        geotransform,
        instances,
        size: (h, w),
        target_dtype,
    })
}

/// Reads the parcels, transformed to each patch's grid CRS (or kept in pixels), grouped by
/// selected patch.
fn read_grouped(
    path: &Path,
    reader: &dyn DatasetReader,
    patches: &[PatchMeta],
    targets: &[Target],
) -> Result<Vec<Vec<ReadParcel>>> {
    let index: HashMap<i64, usize> = patches.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    let known: HashSet<i64> = reader.metadata().ids().into_iter().collect();
    let place = |id: i64| match index.get(&id) {
        Some(&i) => Ok(targets.get(i).map(|t| t.place)),
        None if known.contains(&id) => Ok(None),
        None => Err(Error::invalid(
            path,
            format!("has parcels of patch {id}, which the grid dataset lacks"),
        )),
    };
    let mut groups: Vec<Vec<ReadParcel>> = patches.iter().map(|_| Vec::new()).collect();
    for parcel in ogr::read(path, &place)? {
        if let Some(group) = index.get(&parcel.patch).and_then(|&i| groups.get_mut(i)) {
            group.push(parcel);
        }
    }
    Ok(groups)
}

/// Burns one patch's parcels into INSTANCES and TARGET.
fn burn_patch(meta: &PatchMeta, t: &Target, parcels: &[ReadParcel]) -> Result<Patch> {
    let (h, w) = t.size;
    let to_pixels = inverse(&t.geotransform)
        .ok_or_else(|| Error::patch(meta.id, "has a singular geotransform"))?;
    let mut instances = Array2::<i64>::zeros((h, w));
    let mut classes = HashMap::new();
    for p in parcels {
        burn(
            &mut instances,
            &p.geometry.map_coords(&to_pixels),
            p.instance,
        );
        classes.insert(p.instance, p.class_id.unwrap_or(0));
    }
    let mut target = Array3::<i64>::zeros((3, h, w));
    let classes_of = |class: &mut i64, &i: &i64| {
        if i != 0 {
            *class = classes.get(&i).copied().unwrap_or(0);
        }
    };
    target
        .index_axis_mut(Axis(0), 0)
        .zip_mut_with(&instances, classes_of);
    let mut arrays = BTreeMap::new();
    let instances = instances.into_dyn();
    arrays.insert(
        Layer::Instances,
        cast(t.instances.dtype, instances, meta.id, Layer::Instances)?,
    );
    arrays.insert(
        Layer::Target,
        cast(t.target_dtype, target.into_dyn(), meta.id, Layer::Target)?,
    );
    Ok(Patch {
        meta: meta.clone(),
        arrays,
        spot: None,
    })
}

/// Integer values as an array of `dtype`; fails on a value the dtype cannot hold.
fn cast(dtype: DType, a: ArrayD<i64>, id: i64, layer: Layer) -> Result<Array> {
    macro_rules! cast {
        ($t:ty) => {{
            let mut bad = None;
            let b = a.mapv(|v| {
                <$t>::try_from(v).unwrap_or_else(|_| {
                    bad = Some(v);
                    0
                })
            });
            match bad {
                Some(v) => Err(Error::patch(
                    id,
                    format!("{layer} value {v} does not fit {dtype}"),
                )),
                None => Ok(Array::from_ndarray(b)),
            }
        }};
    }
    match dtype {
        DType::U8 => cast!(u8),
        DType::U16 => cast!(u16),
        DType::U32 => cast!(u32),
        DType::U64 => cast!(u64),
        DType::I8 => cast!(i8),
        DType::I16 => cast!(i16),
        DType::I32 => cast!(i32),
        DType::I64 => Ok(Array::from_ndarray(a)),
        _ => Err(Error::Unsupported {
            format: "rasterize",
            what: format!("patch {id}: {layer} of dtype {dtype} (integers only)"),
        }),
    }
}
