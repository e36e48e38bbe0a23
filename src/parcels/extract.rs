//! INSTANCES to parcels: per patch in parallel, written in patch order on one thread.

use super::geometry::{reproject, srs, to_multipolygon, transform, GeoTransform};
use super::trace::trace;
use super::{
    json, ogr, GridFn, OutputCrs, Parcel, ParcelOptions, ParcelSummary, PatchParcels, PatchResult,
    VectorFormat,
};
use crate::formats::{self, geotiff, DatasetReader};
use crate::georef::{not_georeferenced, patch_grid, GeorefProblem, PatchGrid, GRID_M, PIXEL_GRID};
use crate::model::{Layer, Patch, PatchMeta};
use crate::output::{remove_any, StagedPath};
use crate::pipeline::{self, thread_pool, KeepGoing, Progress, Reading};
use crate::{Error, Result};
use geo::Area;
use ndarray::{Array2, ArrayView2, Axis, Ix2};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

/// Vectorises the dataset at `src` (any format) to `out` (.geojson, .gpkg, .fgb).
pub fn write_parcels(
    src: &Path,
    out: &Path,
    options: &ParcelOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ParcelSummary> {
    let reader = formats::open(src)?;
    let crs = reader.metadata().crs.clone();
    let grid = move |m: &PatchMeta, h, w| patch_grid(crs.as_deref(), m, h, w);
    write_parcels_with(reader.as_ref(), out, options, &grid, progress)
}

/// Vectorises an opened dataset, with `grid` giving each patch's grid.
pub fn write_parcels_with(
    reader: &dyn DatasetReader,
    out: &Path,
    options: &ParcelOptions,
    grid: &GridFn,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ParcelSummary> {
    let start = Instant::now();
    let format = VectorFormat::from_path(out)?;
    let crs = match (format, options.crs) {
        (VectorFormat::GeoPackage, OutputCrs::Wgs84) => OutputCrs::Native,
        (_, crs) => crs,
    };
    let meta = options.selection.apply(reader.metadata())?;
    let staged = StagedPath::new(out, options.overwrite)?;
    let pool = thread_pool(options.jobs)?;
    let keep = KeepGoing::new(options.keep_going);
    progress(Progress::Start {
        total: meta.patches.len(),
    });
    let (tx, rx) = mpsc::sync_channel::<(usize, PatchResult)>(64);
    // A panic is a bug, but it must not leave OUT.partial behind: it becomes an error here.
    let parcels = std::panic::catch_unwind(AssertUnwindSafe(|| {
        std::thread::scope(|s| {
            s.spawn(|| {
                pool.install(|| produce(reader, &meta.patches, crs, grid, out, tx));
            });
            let patches = InOrder::new(rx)
                .inspect(|(id, _)| progress(Progress::Patch { id: *id, bytes: 0 }))
                .filter_map(|(id, result)| match keep.absorb(id, result) {
                    Ok(Some(parcels)) => Some((id, Ok(parcels))),
                    Ok(None) => None,
                    Err(e) => Some((id, Err(e))),
                });
            match format {
                VectorFormat::GeoJson => json::write(staged.path(), crs, patches),
                VectorFormat::GeoPackage => ogr::write(staged.path(), "GPKG", patches),
                VectorFormat::FlatGeobuf => ogr::write(staged.path(), "FlatGeobuf", patches),
            }
        })
    }))
    .unwrap_or_else(|payload| Err(Error::from_panic(payload.as_ref())));
    let parcels = parcels.inspect_err(|_| {
        let _ = remove_any(staged.path());
    })?;
    progress(Progress::Finishing);
    staged.commit()?;
    // Written into a GeoTIFF export: the catalog lists it (docs/geotiff.md, "STAC catalog").
    geotiff::stac::add_parcels_asset(out, format.media_type())?;
    let failed = keep.into_failed();
    Ok(ParcelSummary {
        patches: meta.patches.len() - failed.len(),
        parcels,
        seconds: start.elapsed().as_secs_f64(),
        failed,
    })
}

/// Makes every patch's parcels in parallel and sends them, numbered, until the receiver hangs up.
fn produce(
    reader: &dyn DatasetReader,
    patches: &[PatchMeta],
    crs: OutputCrs,
    grid: &GridFn,
    out: &Path,
    tx: mpsc::SyncSender<(usize, PatchResult)>,
) {
    let layers = [Layer::Instances, Layer::Target, Layer::ParcelIds];
    let _ = patches
        .iter()
        .enumerate()
        .par_bridge()
        .try_for_each_with(tx, |tx, (index, meta)| {
            let result = pipeline::produce(&Reading(reader), meta, &layers)
                .and_then(|patch| georeferenced(&patch, crs, grid, out));
            tx.send((index, (meta.id, result)))
        });
}

/// The parcels of one patch on its grid, reprojected to WGS84 if asked, or in pixel coordinates.
fn georeferenced(patch: &Patch, crs: OutputCrs, grid: &GridFn, out: &Path) -> Result<PatchParcels> {
    let instances = instances(patch)?;
    let (h, w) = instances.dim();
    let grid = grid(&patch.meta, h, w);
    if crs == OutputCrs::Pixels {
        return pixel_parcels(patch, grid);
    }
    let no_footprint = GeorefProblem::NoFootprint { patch: patch.id() };
    let grid = grid?.ok_or(Error::Georef(no_footprint))?;
    let mut parcels = patch_parcels(patch, &grid)?;
    if crs == OutputCrs::Native {
        let epsg = Some(grid.epsg);
        return Ok(PatchParcels { epsg, parcels });
    }
    let ct = transform(&srs(grid.epsg, out)?, &srs(super::WGS84, out)?, out)?;
    for p in &mut parcels {
        reproject(&mut p.geometry, &ct, out)?;
        p.epsg = Some(super::WGS84);
    }
    let epsg = Some(super::WGS84);
    Ok(PatchParcels { epsg, parcels })
}

/// The parcels of one patch in pixel coordinates ([`PIXEL_GRID`]), without CRS, each saying
/// why: `--no-georef`, and the patch's georeferencing problem if `grid` (the patch's grid, or
/// why it has none) has one.
fn pixel_parcels(patch: &Patch, grid: Result<Option<PatchGrid>>) -> Result<PatchParcels> {
    let why = match grid {
        Ok(Some(_)) => not_georeferenced(None),
        Ok(None) => not_georeferenced(Some(&GeorefProblem::NoFootprint { patch: patch.id() })),
        Err(Error::Georef(problem)) => not_georeferenced(Some(&problem)),
        Err(e) => return Err(e),
    };
    let mut parcels = traced(patch, &PIXEL_GRID, None)?;
    for p in &mut parcels {
        // One pixel is one unit here and 10 m x 10 m on the ground.
        p.area_m2 *= GRID_M * GRID_M;
        p.not_georeferenced = Some(why.clone());
    }
    Ok(PatchParcels {
        epsg: None,
        parcels,
    })
}

/// The parcels of one patch in its grid CRS: one per instance, with its attributes.
pub fn patch_parcels(patch: &Patch, grid: &PatchGrid) -> Result<Vec<Parcel>> {
    traced(patch, &grid.geotransform, Some(grid.epsg))
}

/// The parcels of one patch with pixel corners mapped through `geotransform`, whose coordinates
/// are in `epsg` (`None`: pixel coordinates).
fn traced(patch: &Patch, geotransform: &GeoTransform, epsg: Option<u32>) -> Result<Vec<Parcel>> {
    let instances = instances(patch)?;
    let classes = channel0(patch, Layer::Target, instances.dim())?;
    let parcel_ids = channel0(patch, Layer::ParcelIds, instances.dim())?;
    let class_of = majority(instances.view(), classes.as_ref().map(|a| a.view()));
    let parcel_of = majority(instances.view(), parcel_ids.as_ref().map(|a| a.view()));
    let parcels = trace(instances.view()).into_iter().map(|shape| {
        let geometry = to_multipolygon(&shape, geotransform);
        Parcel {
            patch: patch.id(),
            instance: shape.label,
            parcel_id: parcel_of.get(&shape.label).copied(),
            class_id: class_of.get(&shape.label).copied(),
            pixels: shape.pixels,
            area_m2: geometry.unsigned_area(),
            fold: patch.meta.fold,
            tile: patch.meta.tile.clone(),
            epsg,
            not_georeferenced: None,
            geometry,
        }
    });
    Ok(parcels.collect())
}

/// INSTANCES as a 2-D i64 array.
fn instances(patch: &Patch) -> Result<Array2<i64>> {
    let (h, w) = patch
        .get(Layer::Instances)
        .map(|a| a.shape())
        .filter(|s| s.len() == 2)
        .map(|s| (s[0], s[1]))
        .ok_or_else(|| Error::patch(patch.id(), "has no 2-D INSTANCES to vectorise"))?;
    channel0(patch, Layer::Instances, (h, w))?
        .ok_or_else(|| Error::patch(patch.id(), "has no INSTANCES to vectorise"))
}

/// A layer as i64 `(H, W)`, its channel 0 if it is `(C, H, W)`; `None` if absent.
fn channel0(patch: &Patch, layer: Layer, dim: (usize, usize)) -> Result<Option<Array2<i64>>> {
    let Some(array) = patch.get(layer) else {
        return Ok(None);
    };
    let bad = |what: &str| Error::patch(patch.id(), format!("{layer} {what}"));
    let values = array
        .to_i64()
        .ok_or_else(|| bad(&format!("is {}, not integers", array.dtype())))?;
    let values = match values.ndim() {
        3 if values.shape()[0] > 0 => values.index_axis_move(Axis(0), 0),
        _ => values,
    };
    let values = values
        .into_dimensionality::<Ix2>()
        .map_err(|_| bad(&format!("has shape {:?}", array.shape())))?;
    if values.dim() != dim {
        return Err(bad(&format!(
            "is {:?} pixels but INSTANCES is {dim:?}",
            values.dim()
        )));
    }
    Ok(Some(values))
}

/// For each non-zero label, the most frequent value of `values` under it (smallest on ties).
fn majority(labels: ArrayView2<i64>, values: Option<ArrayView2<i64>>) -> HashMap<i64, i64> {
    let Some(values) = values else {
        return HashMap::new();
    };
    let mut counts: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    for (&l, &v) in labels.iter().zip(values.iter()).filter(|(&l, _)| l != 0) {
        *counts.entry((l, v)).or_default() += 1;
    }
    let mut best: HashMap<i64, (u64, i64)> = HashMap::new();
    for ((l, v), n) in counts {
        let entry = best.entry(l).or_insert((n, v));
        if n > entry.0 {
            *entry = (n, v);
        }
    }
    best.into_iter().map(|(l, (_, v))| (l, v)).collect()
}

/// Patch results in patch order, whatever order the workers finish in.
struct InOrder {
    rx: mpsc::Receiver<(usize, PatchResult)>,
    pending: BTreeMap<usize, PatchResult>,
    next: usize,
}

impl InOrder {
    fn new(rx: mpsc::Receiver<(usize, PatchResult)>) -> InOrder {
        InOrder {
            rx,
            pending: BTreeMap::new(),
            next: 0,
        }
    }
}

impl Iterator for InOrder {
    type Item = PatchResult;

    fn next(&mut self) -> Option<PatchResult> {
        loop {
            if let Some(item) = self.pending.remove(&self.next) {
                self.next += 1;
                return Some(item);
            }
            let (index, item) = self.rx.recv().ok()?;
            self.pending.insert(index, item);
        }
    }
}
