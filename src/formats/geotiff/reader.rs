//! Reads an export folder back: metadata from the manifest, arrays from the TIFFs, restored to
//! their original dtype and shape.
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

use super::gdal_error;
use super::manifest::{LayerEntry, Manifest};
use super::raster::{from_stored, raster_size, read_array};
use crate::formats::spot::{read_spot, read_spot_georef};
use crate::formats::{DatasetReader, Format};
use crate::model::{Array, ArraySpec, DatasetMeta, Layer, Patch, SpotGeoref};
use crate::{Error, Result};
use gdal::Dataset;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A GeoTIFF export folder opened for reading. Only the manifest is held in memory; each read
/// opens its own GDAL datasets (they are not shareable between threads).
#[derive(Debug)]
pub struct GeoTiffReader {
    root: PathBuf,
    manifest: Manifest,
    meta: DatasetMeta,
}

impl GeoTiffReader {
    /// Opens a folder: reads and checks its manifest.
    pub fn open(root: &Path) -> Result<GeoTiffReader> {
        let manifest = Manifest::read(root)?;
        let meta = manifest.dataset_meta(root)?;
        Ok(GeoTiffReader {
            root: root.to_path_buf(),
            manifest,
            meta,
        })
    }

    /// The manifest read.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn read_layer(&self, id: i64, layer: Layer, entry: &LayerEntry) -> Result<Array> {
        let Some(file) = &entry.file else {
            return Ok(Array::zeros(entry.dtype, &entry.shape));
        };
        let path = self.root.join(file);
        if !path.is_file() {
            let what = format!("missing: the manifest lists it for {layer} of patch {id}");
            return Err(Error::invalid(&path, what));
        }
        let ds = Dataset::open(&path).map_err(gdal_error(&path))?;
        check_size(&ds, &path, &entry.shape)?;
        let stored = read_array(&ds, entry.stored_as, &entry.shape).map_err(gdal_error(&path))?;
        from_stored(stored, entry.dtype).ok_or_else(|| {
            let what = format!(
                "patch {id} {layer}: values do not fit the original {}",
                entry.dtype
            );
            Error::invalid(&path, what)
        })
    }
}

impl GeoTiffReader {
    /// Reads the SPOT copy with its own georeferencing; fails unless its type and shape are
    /// those the manifest records.
    fn read_spot_layer(&self, id: i64, entry: &LayerEntry) -> Result<(Array, SpotGeoref)> {
        let file = entry.file.as_deref().unwrap_or_default();
        let path = self.root.join(file);
        if file.is_empty() || !path.is_file() {
            let what = format!("missing: the manifest lists it for SPOT of patch {id}");
            return Err(Error::invalid(&path, what));
        }
        let (image, georef) = read_spot(&path)?;
        if image.dtype() != entry.dtype || image.shape() != entry.shape.as_slice() {
            let what = format!(
                "{} {:?}, the manifest expects {} {:?}",
                image.dtype(),
                image.shape(),
                entry.dtype,
                entry.shape
            );
            return Err(Error::invalid(&path, what));
        }
        Ok((image, georef))
    }
}

/// Fails unless the TIFF has the bands and size the manifest records.
fn check_size(ds: &Dataset, path: &Path, shape: &[usize]) -> Result<()> {
    let (h, w, bands) = raster_size(shape).unwrap_or_default();
    let found = (ds.raster_size(), ds.raster_count());
    if found != ((w, h), bands) {
        let msg = format!(
            "{}x{} pixels in {} bands, the manifest expects {w}x{h} pixels in {bands} bands (shape {shape:?})",
            found.0 .0, found.0 .1, found.1
        );
        return Err(Error::invalid(path, msg));
    }
    Ok(())
}

impl DatasetReader for GeoTiffReader {
    fn format(&self) -> Format {
        Format::GeoTiff
    }

    fn metadata(&self) -> &DatasetMeta {
        &self.meta
    }

    fn specs(&self, id: i64) -> Result<BTreeMap<Layer, ArraySpec>> {
        let entry = self.manifest.patches.get(&id);
        let layers = entry.map(|e| &e.layers).into_iter().flatten();
        Ok(layers.map(|(&l, e)| (l, e.spec())).collect())
    }

    fn spot_georef(&self, id: i64) -> Result<Option<SpotGeoref>> {
        let entry = self.manifest.patches.get(&id);
        let Some(le) = entry.and_then(|e| e.layers.get(&Layer::Spot)) else {
            return Ok(None);
        };
        let file = le.file.as_deref().unwrap_or_default();
        let path = self.root.join(file);
        if file.is_empty() || !path.is_file() {
            let what = format!("missing: the manifest lists it for SPOT of patch {id}");
            return Err(Error::invalid(&path, what));
        }
        read_spot_georef(&path).map(Some)
    }

    fn read_patch(&self, id: i64, layers: &[Layer]) -> Result<Patch> {
        let meta = self
            .meta
            .patch(id)
            .ok_or_else(|| Error::patch(id, "not listed in the manifest"))?
            .clone();
        let mut arrays = BTreeMap::new();
        let mut spot = None;
        if let Some(entry) = self.manifest.patches.get(&id) {
            for &layer in layers {
                let Some(le) = entry.layers.get(&layer) else {
                    continue;
                };
                let array = match layer {
                    Layer::Spot => {
                        let (image, georef) = self.read_spot_layer(id, le)?;
                        spot = Some(georef);
                        image
                    }
                    _ => self.read_layer(id, layer, le)?,
                };
                arrays.insert(layer, array);
            }
        }
        Ok(Patch { meta, arrays, spot })
    }
}
