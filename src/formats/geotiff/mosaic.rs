//! Per tile and layer, a VRT mosaic of all its patches (`TARGET/TARGET_t30uxv.vrt`), built with
//! GDALBuildVRT; sources are referenced relative to the VRT so the folder can move.

use super::bands::band_labels;
use super::manifest::PatchEntry;
use crate::georef::utm_epsg;
use crate::model::{DType, DatasetMeta, Date, Layer};
use crate::{Error, Result};
use gdal::programs::raster::BuildVRTOptions;
use gdal::{Dataset, DatasetOptions, GdalOpenFlags, Metadata};
use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};

/// What must agree between the patches of one mosaic: CRS, dtype, leading axes, dates.
type Signature = (u32, DType, Vec<usize>, Option<Vec<Date>>);

/// The sources of one (tile, layer) mosaic.
#[derive(Default)]
struct Group {
    files: Vec<PathBuf>,
    signatures: Vec<Signature>,
}

/// Builds every mosaic; returns their paths relative to `root` and warnings for those skipped.
pub fn build_all(
    root: &Path,
    meta: &DatasetMeta,
    patches: &BTreeMap<i64, PatchEntry>,
) -> Result<(Vec<String>, Vec<String>)> {
    let (mut built, mut warnings) = (Vec::new(), Vec::new());
    for ((tile, layer), group) in groups(root, meta, patches) {
        let name = format!("{0}/{0}_{tile}.vrt", layer.name());
        if let Some(first) = group
            .signatures
            .first()
            .filter(|s| group.signatures.iter().all(|o| o == *s))
        {
            let vrt = root.join(&name);
            build_vrt(&vrt, &group.files)?;
            describe_vrt(&vrt, layer, first).map_err(|e| Error::library(&vrt, "GDAL", e))?;
            built.push(name);
        } else {
            warnings.push(format!(
                "no {layer} mosaic for tile {tile}: its patches differ in CRS, dtype, band count or dates"
            ));
        }
    }
    Ok((built, warnings))
}

/// Patches grouped by tile and layer, in patch order; patches without a tile or whose grid is not
/// in their tile's UTM zone are left out.
fn groups(
    root: &Path,
    meta: &DatasetMeta,
    patches: &BTreeMap<i64, PatchEntry>,
) -> BTreeMap<(String, Layer), Group> {
    let mut groups: BTreeMap<(String, Layer), Group> = BTreeMap::new();
    for p in &meta.patches {
        let (Some(tile), Some(entry)) = (&p.tile, patches.get(&p.id)) else {
            continue;
        };
        let Some(epsg) = entry
            .grid
            .as_ref()
            .map(|g| g.epsg)
            .filter(|e| Some(*e) == utm_epsg(tile))
        else {
            continue;
        };
        for (&layer, le) in &entry.layers {
            let Some(file) = &le.file else { continue };
            let lead = le.shape[..le.shape.len() - 2].to_vec();
            let dates = p.dates.get(&layer).cloned();
            let group = groups.entry((tile.clone(), layer)).or_default();
            group.files.push(root.join(file));
            group.signatures.push((epsg, le.dtype, lead, dates));
        }
    }
    groups
}

/// Runs GDALBuildVRT on source file names (opened one at a time, not all at once).
fn build_vrt(dest: &Path, sources: &[PathBuf]) -> Result<()> {
    let c = |p: &Path| {
        CString::new(p.to_string_lossy().as_bytes())
            .map_err(|_| Error::invalid(p, "path holds a NUL byte"))
    };
    let c_dest = c(dest)?;
    let c_sources = sources.iter().map(|p| c(p)).collect::<Result<Vec<_>>>()?;
    let ptrs: Vec<*const c_char> = c_sources.iter().map(|s| s.as_ptr()).collect();
    let options =
        BuildVRTOptions::new(Vec::<String>::new()).map_err(|e| Error::library(dest, "GDAL", e))?;
    let count = i32::try_from(ptrs.len()).map_err(|_| Error::invalid(dest, "too many sources"))?;
    let mut usage_error = 0;
    // SAFETY: every pointer outlives the call; GDAL copies what it keeps.
    let handle = unsafe {
        gdal_sys::GDALBuildVRT(
            c_dest.as_ptr(),
            count,
            std::ptr::null_mut(),
            ptrs.as_ptr(),
            options.c_options(),
            &mut usage_error,
        )
    };
    if handle.is_null() {
        // SAFETY: GDAL returns a valid, NUL-terminated thread-local string.
        let msg = unsafe { CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) };
        return Err(Error::library(
            dest,
            "GDAL",
            format!("GDALBuildVRT failed: {}", msg.to_string_lossy()),
        ));
    }
    // SAFETY: a non-null handle GDALBuildVRT returned, owned from here on.
    let ds = unsafe { Dataset::from_c_dataset(handle) };
    ds.close().map_err(|e| Error::library(dest, "GDAL", e))
}

/// Band descriptions and dates on the mosaic, as on its patches.
fn describe_vrt(vrt: &Path, layer: Layer, sig: &Signature) -> gdal::errors::Result<()> {
    let options = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_UPDATE | GdalOpenFlags::GDAL_OF_RASTER,
        ..Default::default()
    };
    let ds = Dataset::open_ex(vrt, options)?;
    let mut shape = sig.2.clone();
    shape.extend([1, 1]);
    for (i, label) in band_labels(layer, &shape, sig.3.as_deref())
        .iter()
        .enumerate()
    {
        let mut band = ds.rasterband(i + 1)?;
        band.set_description(&label.description)?;
        if let Some(date) = &label.date {
            band.set_metadata_item("DATE", date, "")?;
        }
    }
    ds.close()
}
