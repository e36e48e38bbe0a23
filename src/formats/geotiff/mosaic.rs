//! Per tile and layer, a VRT mosaic of all its patches (`TARGET/TARGET_t30uxv.vrt`, and
//! `TARGET/TARGET_t30uxv_class.vrt` over the class rasters), built with GDALBuildVRT; sources are
//! referenced relative to the VRT so the folder can move. Each mosaic gets the default QGIS style
//! of its layer (see [`style`](super::style)).

use super::bands::{band_labels, class_palette, has_palette};
use super::manifest::{LayerEntry, PatchEntry};
use super::style;
use super::writer::Summaries;
use crate::georef::utm_epsg;
use crate::model::{DType, DatasetMeta, Date, Layer};
use crate::{Error, Result};
use gdal::programs::raster::BuildVRTOptions;
use gdal::{Dataset, DatasetOptions, GdalOpenFlags, Metadata};
use std::collections::BTreeMap;
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};

/// What must agree between the patches of one mosaic: CRS, dtype, stored type, leading axes,
/// dates (GDALBuildVRT of GDAL 3.6 skips sources of another band type).
#[derive(Clone, Debug, PartialEq)]
struct Signature {
    epsg: u32,
    dtype: DType,
    stored_as: DType,
    lead: Vec<usize>,
    dates: Option<Vec<Date>>,
}

/// The sources of one (tile, layer, class raster or not) mosaic.
#[derive(Default)]
struct Group {
    ids: Vec<i64>,
    files: Vec<PathBuf>,
    signatures: Vec<Signature>,
}

/// A mosaic: its tile, layer, and whether it mosaics the class rasters.
type Key = (String, Layer, bool);

/// Builds every mosaic and its default style; returns their paths relative to `root` and
/// warnings for those skipped. `summaries` describe the patches' series for the styles.
pub fn build_all(
    root: &Path,
    meta: &DatasetMeta,
    patches: &BTreeMap<i64, PatchEntry>,
    summaries: &Summaries,
) -> Result<(Vec<String>, Vec<String>)> {
    let (mut built, mut warnings) = (Vec::new(), Vec::new());
    for ((tile, layer, classes), group) in groups(root, meta, patches) {
        let suffix = if classes { "_class" } else { "" };
        let name = format!("{0}/{0}_{tile}{suffix}.vrt", layer.name());
        if let Some(first) = group
            .signatures
            .first()
            .filter(|s| group.signatures.iter().all(|o| o == *s))
        {
            let vrt = root.join(&name);
            build_vrt(&vrt, &group.files)?;
            describe_vrt(&vrt, layer, first).map_err(|e| Error::library(&vrt, "GDAL", e))?;
            style_vrt(&vrt, layer, first, &group.ids, summaries)?;
            built.push(name);
        } else {
            let stored: Vec<String> = group
                .signatures
                .iter()
                .map(|s| s.stored_as.to_string())
                .collect();
            warnings.push(format!(
                "no {layer}{suffix} mosaic for tile {tile}: its patches differ in CRS, dtype, stored type ({}), band count or dates",
                dedup(stored).join(", ")
            ));
        }
    }
    Ok((built, warnings))
}

/// `v` sorted, without repeats.
fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// The default style of a mosaic: paletted classes for TARGET without a colour table, the
/// composite of the patches' series for S2/S1.
fn style_vrt(
    vrt: &Path,
    layer: Layer,
    sig: &Signature,
    ids: &[i64],
    summaries: &Summaries,
) -> Result<()> {
    if layer == Layer::Target && !has_palette(layer, &sig.entry()) {
        return style::write_qml(vrt, &style::paletted_qml(1));
    }
    let series: Vec<_> = ids
        .iter()
        .filter_map(|&id| summaries.get(&(id, layer)))
        .collect();
    let mut shape = sig.lead.clone();
    shape.extend([1, 1]);
    let composite = style::composite(layer, &shape, &series)
        .or_else(|| style::typical_composite(layer, &shape).filter(|_| shape[0] > 0));
    match composite {
        Some(c) => style::write_qml(vrt, &style::multiband_qml(&c)),
        None => Ok(()),
    }
}

impl Signature {
    /// A layer entry of the mosaic's type and band layout (1 x 1 pixels).
    fn entry(&self) -> LayerEntry {
        let mut shape = self.lead.clone();
        shape.extend([1, 1]);
        LayerEntry {
            file: None,
            dtype: self.dtype,
            stored_as: self.stored_as,
            shape,
            classes: None,
        }
    }
}

/// Patches grouped by tile and layer, in patch order; patches without a tile or whose grid is not
/// in their tile's UTM zone are left out.
fn groups(
    root: &Path,
    meta: &DatasetMeta,
    patches: &BTreeMap<i64, PatchEntry>,
) -> BTreeMap<Key, Group> {
    let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
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
            // SPOT is on its own grid and CRS: no mosaic of the 10 m layers' kind.
            let Some(file) = le.file.as_ref().filter(|_| !layer.has_own_grid()) else {
                continue;
            };
            let sig = Signature {
                epsg,
                dtype: le.dtype,
                stored_as: le.stored_as,
                lead: le.shape[..le.shape.len() - 2].to_vec(),
                dates: p.dates.get(&layer).cloned(),
            };
            if let Some(classes) = &le.classes {
                let group = groups.entry((tile.clone(), layer, true)).or_default();
                group.ids.push(p.id);
                group.files.push(root.join(&classes.file));
                let stored_as = classes.stored_as;
                let (lead, dates) = (Vec::new(), None);
                group.signatures.push(Signature {
                    stored_as,
                    lead,
                    dates,
                    ..sig.clone()
                });
            }
            let group = groups.entry((tile.clone(), layer, false)).or_default();
            group.ids.push(p.id);
            group.files.push(root.join(file));
            group.signatures.push(sig);
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
    let entry = sig.entry();
    for (i, label) in band_labels(layer, &entry.shape, sig.dates.as_deref())
        .iter()
        .enumerate()
    {
        let mut band = ds.rasterband(i + 1)?;
        band.set_description(&label.description)?;
        if let Some(date) = &label.date {
            band.set_metadata_item("DATE", date, "")?;
        }
    }
    if has_palette(layer, &entry) {
        class_palette(&mut ds.rasterband(1)?)?;
    }
    ds.close()
}
