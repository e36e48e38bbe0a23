//! Writes one GeoTIFF (or COG) per patch and layer, then the mosaics and the manifest.

use super::manifest::{GridEntry, LayerEntry, Manifest, PatchEntry};
use super::raster::{create_dataset, raster_size, stored_dtype, to_stored, write_array};
use super::{bands, gdal_error, mosaic, tif_name, GeoTiffOptions, FORMAT};
use crate::formats::{Compression, DatasetWriter, WriteOptions};
use crate::georef::{patch_grid, spatial_ref, PatchGrid};
use crate::model::{Array, DType, DatasetMeta, Layer, Patch, PatchMeta};
use crate::output::StagedPath;
use crate::warnings::Warnings;
use crate::{Error, Result};
use gdal::raster::RasterCreationOptions;
use gdal::{Dataset, DriverManager, GeoTransform};
use std::collections::btree_map::{BTreeMap, Entry};
use std::path::Path;
use std::sync::Mutex;

/// Writes an export folder under a staging name and moves it into place on
/// [`finish`](DatasetWriter::finish).
#[derive(Debug)]
pub struct GeoTiffWriter {
    staged: StagedPath,
    meta: DatasetMeta,
    cog: bool,
    compression: (String, Option<String>),
    patches: Mutex<BTreeMap<i64, PatchEntry>>,
    /// The warnings kept in the manifest.
    warnings: Mutex<Vec<String>>,
    /// Where the same warnings go to reach the user (the library never prints).
    report: Warnings,
}

/// A TIFF to write: the array in its stored type, where it goes and how it is georeferenced.
struct Tif<'a> {
    layer: Layer,
    meta: &'a PatchMeta,
    entry: &'a LayerEntry,
    stored: &'a Array,
    grid: Option<&'a PatchGrid>,
}

impl GeoTiffWriter {
    /// Starts a folder at `path` for the patches of `meta`; warnings (a patch without
    /// georeferencing, a mosaic left out) are kept in the manifest and pushed to `report`.
    pub fn create(
        path: &Path,
        meta: &DatasetMeta,
        options: &WriteOptions,
        report: Warnings,
    ) -> Result<Self> {
        let compression = compression_options(options.compression)?;
        let staged = StagedPath::start(path, options.overwrite, options.resume)?;
        std::fs::create_dir_all(staged.path()).map_err(|e| Error::io(staged.path(), e))?;
        Ok(GeoTiffWriter {
            staged,
            meta: meta.clone(),
            cog: GeoTiffOptions::of(options)?.cog,
            compression,
            patches: Mutex::new(BTreeMap::new()),
            warnings: Mutex::new(Vec::new()),
            report,
        })
    }

    fn warn(&self, message: String) {
        self.report.push(message.clone());
        if let Ok(mut w) = self.warnings.lock() {
            w.push(message);
        }
    }

    /// The grid of a patch, with a warning when it is missing or does not match the footprint.
    fn grid(&self, meta: &PatchMeta, height: usize, width: usize) -> Result<Option<PatchGrid>> {
        let grid = patch_grid(meta, height, width)?;
        match &grid {
            None => self.warn(format!("patch {}: no footprint, TIFFs not georeferenced", meta.id)),
            Some(g) if !g.is_exact() => self.warn(format!(
                "patch {}: the {height}x{width} grid's corners are {:.2} m from the footprint (EPSG:{})",
                meta.id, g.corner_error_m, g.epsg
            )),
            Some(_) => {}
        }
        Ok(grid)
    }

    fn write_layer(
        &self,
        patch: &Patch,
        layer: Layer,
        array: &Array,
        grids: &mut Grids,
    ) -> Result<LayerEntry> {
        let shape = array.shape().to_vec();
        let (h, w, bands) = raster_size(&shape).ok_or_else(|| Error::Unsupported {
            format: FORMAT,
            what: format!(
                "patch {} {layer}: a {}-d array is not a raster",
                patch.id(),
                shape.len()
            ),
        })?;
        let mut entry = LayerEntry {
            file: None,
            dtype: array.dtype(),
            stored_as: stored_dtype(array.dtype()),
            shape,
        };
        if h * w * bands == 0 {
            return Ok(entry);
        }
        let grid = match grids.entry((h, w)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(self.grid(&patch.meta, h, w)?),
        };
        let name = tif_name(layer, patch.id());
        let path = self.staged.path().join(&name);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
        }
        let stored = to_stored(array);
        let tif = Tif {
            layer,
            meta: &patch.meta,
            entry: &entry,
            stored: &stored,
            grid: grid.as_ref(),
        };
        self.write_tif(&path, &tif).map_err(gdal_error(&path))?;
        entry.file = Some(name);
        Ok(entry)
    }

    /// Writes one TIFF: straight through the GTiff driver (`Create`, describe, fill) when it can
    /// hold everything, else through an in-memory copy (see [`needs_copy`]).
    fn write_tif(&self, path: &Path, tif: &Tif) -> gdal::errors::Result<()> {
        let size = raster_size(&tif.entry.shape).unwrap_or_default();
        let (block, predictor) = (block_size(size.0, size.1), predictor(tif.entry.stored_as));
        if !needs_copy(self.cog, tif.layer, tif.entry.stored_as, size.2) {
            let gtiff = DriverManager::get_driver_by_name("GTiff")?;
            let options = self.gtiff_options(block, predictor);
            let mut ds = create_dataset(&gtiff, path, tif.entry.stored_as, size, &options)?;
            fill(&mut ds, tif)?;
            return ds.close();
        }
        let mem = DriverManager::get_driver_by_name("MEM")?;
        let no_options = RasterCreationOptions::new();
        let mut ds = create_dataset(&mem, Path::new(""), tif.entry.stored_as, size, &no_options)?;
        fill(&mut ds, tif)?;
        let (driver, options) = if self.cog {
            ("COG", self.cog_options(block, predictor))
        } else {
            ("GTiff", self.gtiff_options(block, predictor))
        };
        let driver = DriverManager::get_driver_by_name(driver)?;
        let _quiet = QuietErrors::new(tif.layer == Layer::Target && size.2 > 1);
        ds.create_copy(&driver, path, &options)?.close()
    }

    fn gtiff_options(&self, block: usize, predictor: u8) -> RasterCreationOptions {
        let (method, level) = &self.compression;
        let mut o = vec![
            format!("COMPRESS={method}"),
            "TILED=YES".into(),
            "INTERLEAVE=BAND".into(),
        ];
        o.push(format!("BLOCKXSIZE={block}"));
        o.push(format!("BLOCKYSIZE={block}"));
        o.push("BIGTIFF=IF_SAFER".into());
        if method != "NONE" {
            o.push(format!("PREDICTOR={predictor}"));
        }
        match (method.as_str(), level) {
            ("DEFLATE", Some(l)) => o.push(format!("ZLEVEL={l}")),
            ("ZSTD", Some(l)) => o.push(format!("ZSTD_LEVEL={l}")),
            _ => {}
        }
        o.into_iter().collect()
    }

    fn cog_options(&self, block: usize, predictor: u8) -> RasterCreationOptions {
        let (method, level) = &self.compression;
        // The COG driver wants tiles of 128 pixels or more.
        let block = block.next_power_of_two().clamp(128, 512);
        let mut o = vec![format!("COMPRESS={method}"), format!("BLOCKSIZE={block}")];
        o.push("BIGTIFF=IF_SAFER".into());
        if method != "NONE" && predictor > 1 {
            o.push("PREDICTOR=YES".into());
        }
        if let Some(l) = level {
            o.push(format!("LEVEL={l}"));
        }
        o.into_iter().collect()
    }
}

/// Silences GDAL's messages on this thread while alive (GDAL reports the colour table it moves to
/// the sidecar as an error although the copy succeeds); errors are still returned.
struct QuietErrors(bool);

impl QuietErrors {
    fn new(active: bool) -> QuietErrors {
        if active {
            // SAFETY: pushes a handler GDAL provides on this thread's handler stack.
            unsafe { gdal_sys::CPLPushErrorHandler(Some(gdal_sys::CPLQuietErrorHandler)) };
        }
        QuietErrors(active)
    }
}

impl Drop for QuietErrors {
    fn drop(&mut self) {
        if self.0 {
            // SAFETY: pops the handler pushed in `new`, on the same thread.
            unsafe { gdal_sys::CPLPopErrorHandler() };
        }
    }
}

/// Grids of a patch per raster size (layers almost always share one).
type Grids = BTreeMap<(usize, usize), Option<PatchGrid>>;

impl DatasetWriter for GeoTiffWriter {
    fn write_patch(&self, _index: usize, patch: Patch) -> Result<()> {
        let mut grids = Grids::new();
        let mut entry = PatchEntry::default();
        for (&layer, array) in &patch.arrays {
            entry
                .layers
                .insert(layer, self.write_layer(&patch, layer, array, &mut grids)?);
        }
        entry.grid = grids.values().flatten().next().map(GridEntry::from);
        entry.save(self.staged.path(), patch.id())?;
        let mut patches = self
            .patches
            .lock()
            .map_err(|_| poisoned(self.staged.path()))?;
        patches.insert(patch.id(), entry);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let root = self.staged.path();
        let mut manifest = Manifest::new(&self.meta);
        manifest.patches = self.patches.into_inner().map_err(|_| poisoned(root))?;
        PatchEntry::load_saved(root, &self.meta, &mut manifest.patches)?;
        manifest.warnings = self.warnings.into_inner().map_err(|_| poisoned(root))?;
        let (mosaics, warnings) = mosaic::build_all(root, &self.meta, &manifest.patches)?;
        for w in &warnings {
            self.report.push(w.clone());
        }
        manifest.mosaics = mosaics;
        manifest.warnings.extend(warnings);
        manifest.write(root)?;
        self.staged.commit()?;
        Ok(())
    }
}

/// Georeferences, describes and fills a new dataset.
fn fill(ds: &mut Dataset, tif: &Tif) -> gdal::errors::Result<()> {
    if let Some(grid) = tif.grid {
        ds.set_spatial_ref(&spatial_ref(grid.epsg)?)?;
        let gt: GeoTransform = grid.geotransform;
        ds.set_geo_transform(&gt)?;
        let error = format!("{:.4}", grid.corner_error_m);
        gdal::Metadata::set_metadata_item(ds, "CORNER_ERROR_M", &error, "")?;
    }
    bands::describe(ds, tif.layer, tif.meta, tif.entry)?;
    write_array(ds, tif.stored)
}

/// True if a TIFF must be filled in memory and copied: COGs (the COG driver only copies), and a
/// multi-band TARGET with its palette, since GTiff's `Create` refuses a colour table on a file of
/// several samples per pixel while `CreateCopy` moves it to the `.aux.xml` sidecar.
fn needs_copy(cog: bool, layer: Layer, stored: DType, bands: usize) -> bool {
    cog || (layer == Layer::Target && bands > 1 && matches!(stored, DType::U8 | DType::U16))
}

/// GDAL's compression method and level for the user's choice (DEFLATE by default).
pub(super) fn compression_options(c: Option<Compression>) -> Result<(String, Option<String>)> {
    match c {
        None => Ok(("DEFLATE".into(), None)),
        Some(Compression::None) => Ok(("NONE".into(), None)),
        Some(Compression::Gzip(l)) => Ok(("DEFLATE".into(), Some(l.to_string()))),
        Some(Compression::Zstd(l)) if l >= 1 => Ok(("ZSTD".into(), Some(l.to_string()))),
        Some(other) => Err(Error::Unsupported {
            format: FORMAT,
            what: format!("compression {other}; use gzip[:LEVEL], zstd[:1..22] or none"),
        }),
    }
}

/// TIFF tile size: the raster's larger side rounded up to 16 (TIFF's unit), at most 512.
fn block_size(height: usize, width: usize) -> usize {
    height.max(width).div_ceil(16).clamp(1, 32) * 16
}

/// TIFF predictor: horizontal differencing for integers, floating point for floats, none for
/// bytes (class maps gain nothing).
fn predictor(stored: DType) -> u8 {
    match stored {
        DType::U8 => 1,
        DType::F32 | DType::F64 => 3,
        _ => 2,
    }
}

fn poisoned(path: &Path) -> Error {
    Error::invalid(path, "a writer thread panicked")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_follow_the_data() {
        assert_eq!(block_size(128, 128), 128);
        assert_eq!(block_size(64, 20), 64);
        assert_eq!(block_size(5, 3), 16);
        assert_eq!(block_size(10980, 10980), 512);
        assert_eq!(predictor(DType::I16), 2);
        assert_eq!(predictor(DType::F64), 3);
        assert!(needs_copy(false, Layer::Target, DType::U8, 3));
        assert!(!needs_copy(false, Layer::Target, DType::U8, 1));
        assert!(!needs_copy(false, Layer::Target, DType::I64, 3));
        assert!(!needs_copy(false, Layer::S2, DType::I16, 700));
        assert!(needs_copy(true, Layer::S2, DType::I16, 700));
        assert!(compression_options(Some(Compression::Lzf)).is_err());
        assert_eq!(compression_options(None).unwrap().0, "DEFLATE");
    }
}
