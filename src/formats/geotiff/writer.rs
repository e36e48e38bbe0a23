//! Writes one GeoTIFF (or COG) per patch and layer, then the mosaics and the manifest.

use super::manifest::{ClassesEntry, GridEntry, LayerEntry, Manifest, PatchEntry};
use super::raster::{
    create_dataset, qgis_readable, raster_size, stored_dtype, to_stored, write_array,
};
use super::style::{self, SeriesSummary};
use super::{bands, classes_name, gdal_error, mosaic, stac, tif_name, GeoTiffOptions, FORMAT};
use crate::formats::spot::write_spot;
use crate::formats::{Compression, DatasetWriter, WriteOptions};
use crate::georef::{
    not_georeferenced, recover_grid, spatial_ref, FootprintCrs, PatchGrid, PIXEL_GRID,
};
use crate::model::{Array, DType, DatasetMeta, Layer, Patch, PatchMeta};
use crate::output::StagedPath;
use crate::warnings::Warnings;
use crate::{Error, Result};
use gdal::raster::RasterCreationOptions;
use gdal::{Dataset, DriverManager, GeoTransform};
use std::borrow::Cow;
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
    no_georef: bool,
    compression: (String, Option<String>),
    patches: Mutex<BTreeMap<i64, PatchEntry>>,
    /// The warnings kept in the manifest.
    warnings: Mutex<Vec<String>>,
    /// Where the same warnings go to reach the user (the library never prints).
    report: Warnings,
    /// Per patch and series, what its frames look like, for the mosaics' default styles.
    summaries: Mutex<Summaries>,
}

/// Series summaries by patch and layer.
pub type Summaries = BTreeMap<(i64, Layer), SeriesSummary>;

/// A TIFF to write: the array in its stored type, where it goes and how it is georeferenced.
struct Tif<'a> {
    layer: Layer,
    meta: &'a PatchMeta,
    entry: &'a LayerEntry,
    /// The pixels in `entry.stored_as`, except float16, kept as it is and widened to Float32 band
    /// by band as it is written ([`write_array`]).
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
        super::cache::cap_for_writing();
        let staged = StagedPath::start(path, options.overwrite, options.resume)?;
        std::fs::create_dir_all(staged.path()).map_err(|e| Error::io(staged.path(), e))?;
        Ok(GeoTiffWriter {
            staged,
            meta: meta.clone(),
            cog: GeoTiffOptions::of(options)?.cog,
            no_georef: GeoTiffOptions::of(options)?.no_georef,
            compression,
            patches: Mutex::new(BTreeMap::new()),
            warnings: Mutex::new(Vec::new()),
            report,
            summaries: Mutex::new(BTreeMap::new()),
        })
    }

    fn warn(&self, message: String) {
        self.report.push(message.clone());
        if let Ok(mut w) = self.warnings.lock() {
            w.push(message);
        }
    }

    /// The grid of a patch, or (with `no_georef`) why its TIFFs have none. Errors: the
    /// [`crate::georef::GeorefProblem`] of a patch whose grid cannot be recovered, unless
    /// `no_georef`.
    fn grid(&self, meta: &PatchMeta, height: usize, width: usize) -> Result<GridOrWhyNot> {
        let grid = FootprintCrs::from_declared(self.meta.crs.as_deref())
            .and_then(|crs| recover_grid(crs, meta, height, width));
        Ok(match (grid, self.no_georef) {
            (Ok(_), true) => Err(not_georeferenced(None)),
            (Err(problem), true) => Err(not_georeferenced(Some(&problem))),
            (Ok(grid), false) => Ok(grid),
            (Err(problem), false) => return Err(Error::Georef(problem)),
        })
    }

    /// The SPOT image as a copy of the original GeoTIFF: its own type, CRS, geotransform, band
    /// descriptions and no-data (not the patch's 10 m grid), `SPOT/SPOT_10000.tif`.
    fn write_spot_layer(&self, patch: &Patch, image: &Array) -> Result<LayerEntry> {
        let name = tif_name(Layer::Spot, patch.id());
        let path = self.staged.path().join(&name);
        let georef = patch.spot.as_ref().ok_or_else(|| {
            Error::patch_layer(
                patch.id(),
                Layer::Spot,
                None,
                "the image has no georeferencing",
            )
        })?;
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(|e| Error::io(folder, e))?;
        }
        write_spot(&path, image, georef)?;
        Ok(LayerEntry {
            file: Some(name),
            dtype: image.dtype(),
            stored_as: image.dtype(),
            shape: image.shape().to_vec(),
            classes: None,
        })
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
        let stored_as = stored_dtype(array, layer == Layer::Target);
        let mut entry = LayerEntry {
            file: None,
            dtype: array.dtype(),
            stored_as,
            shape,
            classes: None,
        };
        if h * w * bands == 0 {
            return Ok(entry);
        }
        if !qgis_readable(stored_as) {
            self.warn(format!(
                "patch {} {layer}: values beyond ±2^53 stay {stored_as} (lossless; QGIS 3.22 cannot draw it)",
                patch.id()
            ));
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
        // float16 stays as it is: `write_array` widens it to Float32 band by band, so no
        // Float32 copy of a whole S1 series is held.
        let stored = match array.dtype() {
            DType::F16 => Cow::Borrowed(array),
            _ => to_stored(array, stored_as).ok_or_else(|| not_stored(&path, stored_as))?,
        };
        let tif = Tif {
            layer,
            meta: &patch.meta,
            entry: &entry,
            stored: &stored,
            grid: grid.as_ref().ok(),
        };
        self.write_tif(&path, &tif).map_err(gdal_error(&path))?;
        self.write_style(patch.id(), &path, &tif)?;
        if layer == Layer::Target && bands > 1 {
            entry.classes = Some(self.write_classes(&tif)?);
        }
        entry.file = Some(name);
        Ok(entry)
    }

    /// The default QGIS style beside a TIFF: a true-colour or radar composite for S2/S1 (whose
    /// frames are also summarised for the mosaic's style), paletted classes for a TARGET whose
    /// band 1 holds no colour table.
    fn write_style(&self, id: i64, path: &Path, tif: &Tif) -> Result<()> {
        if tif.layer == Layer::Target && !bands::has_palette(tif.layer, tif.entry) {
            return style::write_qml(path, &style::paletted_qml(1));
        }
        let Some(summary) = style::summarise(tif.layer, tif.stored) else {
            return Ok(());
        };
        if let Some(c) = style::composite(tif.layer, &tif.entry.shape, &[&summary]) {
            style::write_qml(path, &style::multiband_qml(&c))?;
        }
        let mut summaries = self.summaries.lock().map_err(|_| poisoned(path))?;
        summaries.insert((id, tif.layer), summary);
        Ok(())
    }

    /// Writes TARGET's channel 0 as its own single-band class raster,
    /// `TARGET/TARGET_10000_class.tif`, with the class colour table when it fits Byte/UInt16
    /// (else a paletted `.qml` beside it).
    fn write_classes(&self, target: &Tif) -> Result<ClassesEntry> {
        let name = classes_name(target.meta.id);
        let path = self.staged.path().join(&name);
        let classes = first_plane(target.stored);
        let stored_as = stored_dtype(&classes, true);
        let stored = to_stored(&classes, stored_as).ok_or_else(|| not_stored(&path, stored_as))?;
        let entry = LayerEntry {
            file: Some(name.clone()),
            dtype: target.entry.dtype,
            stored_as,
            shape: classes.shape().to_vec(),
            classes: None,
        };
        let tif = Tif {
            entry: &entry,
            stored: &stored,
            ..*target
        };
        self.write_tif(&path, &tif).map_err(gdal_error(&path))?;
        self.write_style(target.meta.id, &path, &tif)?;
        Ok(ClassesEntry {
            file: name,
            stored_as,
        })
    }

    /// Writes one TIFF: straight through the GTiff driver (`Create`, describe, fill), or for a
    /// COG through an in-memory dataset copied by the COG driver (it only copies).
    fn write_tif(&self, path: &Path, tif: &Tif) -> gdal::errors::Result<()> {
        let size = raster_size(&tif.entry.shape).unwrap_or_default();
        let (block, predictor) = (block_size(size.0, size.1), predictor(tif.entry.stored_as));
        if !self.cog {
            let gtiff = DriverManager::get_driver_by_name("GTiff")?;
            let options = self.gtiff_options(block, predictor, size.2);
            let mut ds = create_dataset(&gtiff, path, tif.entry.stored_as, size, &options)?;
            fill(&mut ds, tif)?;
            return ds.close();
        }
        let mem = DriverManager::get_driver_by_name("MEM")?;
        let no_options = RasterCreationOptions::new();
        let mut ds = create_dataset(&mem, Path::new(""), tif.entry.stored_as, size, &no_options)?;
        fill(&mut ds, tif)?;
        let cog = DriverManager::get_driver_by_name("COG")?;
        ds.create_copy(&cog, path, &self.cog_options(block, predictor))?
            .close()
    }

    fn gtiff_options(&self, block: usize, predictor: u8, bands: usize) -> RasterCreationOptions {
        let (method, level) = &self.compression;
        let mut o = vec![
            format!("COMPRESS={method}"),
            "TILED=YES".into(),
            "INTERLEAVE=BAND".into(),
        ];
        if bands > 1 {
            // Else GTiff calls three Byte bands RGB (TARGET's channels are not colours).
            o.push("PHOTOMETRIC=MINISBLACK".into());
        }
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

/// A patch's grid, or why its TIFFs are not georeferenced.
type GridOrWhyNot = std::result::Result<PatchGrid, String>;

/// Grids of a patch per raster size (layers almost always share one).
type Grids = BTreeMap<(usize, usize), GridOrWhyNot>;

impl DatasetWriter for GeoTiffWriter {
    /// Writes the layers one by one, each dropped once written; then hands the freed memory
    /// back to the system ([`memory::release_freed`](crate::formats::memory::release_freed)).
    fn write_patch(&self, _index: usize, mut patch: Patch) -> Result<()> {
        let mut grids = Grids::new();
        let mut entry = PatchEntry::default();
        // Each layer is dropped once its TIFF is written.
        let arrays = std::mem::take(&mut patch.arrays);
        for (layer, array) in arrays {
            let written = match layer {
                Layer::Spot => self.write_spot_layer(&patch, &array)?,
                _ => self.write_layer(&patch, layer, &array, &mut grids)?,
            };
            entry.layers.insert(layer, written);
        }
        entry.grid = grids.values().flatten().next().map(GridEntry::from);
        entry.not_georeferenced = grids.values().find_map(|g| g.as_ref().err().cloned());
        entry.save(self.staged.path(), patch.id())?;
        let mut patches = self
            .patches
            .lock()
            .map_err(|_| poisoned(self.staged.path()))?;
        patches.insert(patch.id(), entry);
        drop(patches);
        drop(patch);
        crate::formats::memory::release_freed();
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let root = self.staged.path();
        let mut manifest = Manifest::new(&self.meta);
        manifest.patches = self.patches.into_inner().map_err(|_| poisoned(root))?;
        PatchEntry::load_saved(root, &self.meta, &mut manifest.patches)?;
        manifest.warnings = self.warnings.into_inner().map_err(|_| poisoned(root))?;
        let summaries = self.summaries.into_inner().map_err(|_| poisoned(root))?;
        let (mosaics, warnings) =
            mosaic::build_all(root, &self.meta, &manifest.patches, &summaries)?;
        for w in &warnings {
            self.report.push(w.clone());
        }
        manifest.mosaics = mosaics;
        manifest.warnings.extend(warnings);
        let id = collection_id(self.staged.target());
        if let Some(w) = stac::write_catalog(root, &id, &self.meta, &manifest, self.cog)? {
            self.report.push(w.clone());
            manifest.warnings.push(w);
        }
        manifest.write(root)?;
        self.staged.commit()?;
        Ok(())
    }
}

/// The STAC Collection's id: the export folder's name (`pastis-tif`), `pastis` without one.
fn collection_id(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "pastis".into())
}

/// Georeferences, describes and fills a new dataset.
fn fill(ds: &mut Dataset, tif: &Tif) -> gdal::errors::Result<()> {
    if let Some(grid) = tif.grid {
        ds.set_spatial_ref(&spatial_ref(grid.epsg)?)?;
        let gt: GeoTransform = grid.geotransform;
        ds.set_geo_transform(&gt)?;
        let error = format!("{:.4}", grid.corner_error_m);
        gdal::Metadata::set_metadata_item(ds, "CORNER_ERROR_M", &error, "")?;
    } else {
        let gt: GeoTransform = PIXEL_GRID;
        ds.set_geo_transform(&gt)?;
    }
    bands::describe(ds, tif.layer, tif.meta, tif.entry)?;
    write_array(ds, tif.stored)
}

/// The first band of a stored array, `(H, W)`: channel 0 of TARGET `(C, H, W)`, the classes.
fn first_plane(stored: &Array) -> Array {
    crate::with_array!(stored, a => {
        let lead = a.ndim().saturating_sub(2);
        let mut view = a.view();
        for _ in 0..lead {
            view = view.index_axis_move(ndarray::Axis(0), 0);
        }
        Array::from_ndarray(view.to_owned())
    })
}

fn not_stored(path: &Path, stored: DType) -> Error {
    Error::invalid(
        path,
        format!("values do not fit the {stored} chosen to store them"),
    )
}

/// The default DEFLATE level (GDAL's `ZLEVEL`, 6 if unset). With the predictor, level 1 of
/// libdeflate stores S2 and S1 1.4 % *smaller* than level 6 on synth data, for about 30 % less
/// CPU (bench/RESULTS.md, "Codec choice"): the predicted residuals of reflectance are noise,
/// which the higher levels' longer match search cannot compress.
pub const DEFAULT_ZLEVEL: u32 = 1;

/// GDAL's compression method and level for the user's choice (DEFLATE level
/// [`DEFAULT_ZLEVEL`] by default).
pub(super) fn compression_options(c: Option<Compression>) -> Result<(String, Option<String>)> {
    match c {
        None => Ok(("DEFLATE".into(), Some(DEFAULT_ZLEVEL.to_string()))),
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
        assert!(compression_options(Some(Compression::Lzf)).is_err());
        let default = ("DEFLATE".to_string(), Some("1".to_string()));
        assert_eq!(compression_options(None).unwrap(), default);
    }
}
