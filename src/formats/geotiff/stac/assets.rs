//! An Item's assets: one per TIFF the manifest lists for the patch (and TARGET's class raster),
//! with media type, roles, band names (`eo:bands`), stored types (`raster:bands`), the dates of
//! each series and TARGET's classes.

use super::{proj_transform, tiff_media_type};
use crate::formats::geotiff::bands::{band_labels, iso_date, BandLabel};
use crate::formats::geotiff::manifest::{LayerEntry, PatchEntry};
use crate::formats::geotiff::raster::raster_size;
use crate::georef::GRID_M;
#[cfg(test)]
use crate::model::classes::S2_BANDS;
use crate::model::classes::{CLASS_COLORS, CLASS_NAMES, S2_NODATA};
use crate::model::{DType, Date, Layer, PatchMeta};
use serde_json::{json, Map, Value};
use std::path::Path;

/// The asset key of TARGET's class raster (`TARGET_<ID>_class.tif`).
pub const CLASS_ASSET: &str = "TARGET_class";

/// Sentinel-2 bands in PASTIS channel order: the eo extension's common name and the centre
/// wavelength in micrometres (Sentinel-2 MSI, ESA's spectral response of S2A, rounded as the
/// Sentinel-2 STAC collections publish them).
const S2_EO: [(&str, &str, f64); 10] = [
    ("B2", "blue", 0.49),
    ("B3", "green", 0.56),
    ("B4", "red", 0.665),
    ("B5", "rededge", 0.704),
    ("B6", "rededge", 0.74),
    ("B7", "rededge", 0.783),
    ("B8", "nir", 0.842),
    ("B8A", "nir08", 0.865),
    ("B11", "swir16", 1.61),
    ("B12", "swir22", 2.19),
];

/// The raster size `(height, width)` of a patch's TIFFs (the first layer with pixels).
pub fn raster_shape(entry: &PatchEntry) -> Option<(usize, usize)> {
    entry
        .layers
        .iter()
        .filter(|(layer, l)| l.file.is_some() && !layer.has_own_grid())
        .find_map(|(_, l)| raster_size(&l.shape))
        .map(|(h, w, _)| (h, w))
}

/// The assets of a patch: one per layer TIFF, keyed by the layer's name, plus
/// [`CLASS_ASSET`] for TARGET's class raster. The SPOT image, on its own grid, gets the
/// projection fields GDAL reads from its TIFF under `root` ([`own_grid_fields`]).
pub fn layer_assets(
    root: &Path,
    meta: &PatchMeta,
    entry: &PatchEntry,
    cog: bool,
) -> Map<String, Value> {
    let mut assets = Map::new();
    for (&layer, le) in &entry.layers {
        let Some(file) = &le.file else { continue };
        let dates = meta.dates.get(&layer).map(Vec::as_slice);
        let mut asset = tiff_asset(file, layer, le, dates, cog, entry);
        if layer.has_own_grid() {
            own_grid_fields(&root.join(file), &mut asset);
        }
        if let Some(dates) = dates.filter(|_| layer.is_series()) {
            let iso: Vec<String> = dates.iter().copied().map(iso_date).collect();
            asset.insert("pastis:dates".into(), json!(iso));
        }
        assets.insert(layer.name().into(), Value::Object(asset));
        if let Some(classes) = &le.classes {
            let class_entry = LayerEntry {
                file: Some(classes.file.clone()),
                dtype: le.dtype,
                stored_as: classes.stored_as,
                shape: le.shape[le.shape.len().saturating_sub(2)..].to_vec(),
                classes: None,
            };
            let asset = tiff_asset(&classes.file, layer, &class_entry, None, cog, entry);
            assets.insert(CLASS_ASSET.into(), Value::Object(asset));
        }
    }
    assets
}

/// One TIFF's asset.
fn tiff_asset(
    file: &str,
    layer: Layer,
    le: &LayerEntry,
    dates: Option<&[Date]>,
    cog: bool,
    entry: &PatchEntry,
) -> Map<String, Value> {
    let labels = band_labels(layer, &le.shape, dates);
    let mut asset = Map::new();
    asset.insert("href".into(), json!(format!("../{file}")));
    asset.insert("type".into(), json!(tiff_media_type(cog)));
    asset.insert("title".into(), json!(title(layer, le, labels.len())));
    asset.insert("roles".into(), json!([role(layer)]));
    let patch_grid = entry.grid.as_ref().filter(|_| !layer.has_own_grid());
    if let (Some(grid), Some((h, w, _))) = (patch_grid, raster_size(&le.shape)) {
        asset.insert("proj:shape".into(), json!([h, w]));
        asset.insert(
            "proj:transform".into(),
            json!(proj_transform(&grid.geotransform)),
        );
    }
    let eo: Vec<Value> = labels.iter().map(|l| eo_band(layer, l)).collect();
    asset.insert("eo:bands".into(), Value::Array(eo));
    let georef = patch_grid.is_some();
    let raster: Vec<Value> = (0..labels.len())
        .map(|band| raster_band(layer, le, band, georef))
        .collect();
    asset.insert("raster:bands".into(), Value::Array(raster));
    asset
}

/// `data` for the satellite images (series, SPOT), `labels` for the annotations (STAC's roles).
fn role(layer: Layer) -> &'static str {
    if layer.is_series() || layer == Layer::Spot {
        "data"
    } else {
        "labels"
    }
}

fn title(layer: Layer, le: &LayerEntry, bands: usize) -> String {
    let shape: Vec<String> = le.shape.iter().map(usize::to_string).collect();
    let stored = if le.stored_as == le.dtype {
        String::new()
    } else {
        format!(", stored as {}", le.stored_as.name())
    };
    format!(
        "{} {} ({}){stored}, {bands} band{}",
        layer.name(),
        le.dtype.name(),
        shape.join(" x "),
        if bands == 1 { "" } else { "s" }
    )
}

/// A band's `eo:bands` entry: its channel name and the TIFF's band description, with the common
/// name and wavelength for Sentinel-2 bands.
fn eo_band(layer: Layer, label: &BandLabel) -> Value {
    let mut band = Map::new();
    band.insert("name".into(), json!(label.channel));
    band.insert("description".into(), json!(label.description));
    let s2 = S2_EO.iter().find(|(name, ..)| *name == label.channel);
    if let (Layer::S2, Some((_, common, wavelength))) = (layer, s2) {
        band.insert("common_name".into(), json!(common));
        band.insert("center_wavelength".into(), json!(wavelength));
    }
    Value::Object(band)
}

/// A band's `raster:bands` entry: the stored type, S2's no-data, the 10 m resolution, and on a
/// class band (TARGET's band 1) the classes.
fn raster_band(layer: Layer, le: &LayerEntry, band: usize, georef: bool) -> Value {
    let mut out = Map::new();
    out.insert("data_type".into(), json!(le.stored_as.name()));
    if layer == Layer::S2 && le.stored_as == DType::I16 {
        out.insert("nodata".into(), json!(S2_NODATA));
    }
    if georef {
        out.insert("spatial_resolution".into(), json!(GRID_M));
    }
    let integer_classes = le.stored_as != DType::F32 && le.stored_as != DType::F64;
    if layer == Layer::Target && band == 0 && integer_classes {
        out.insert("classification:classes".into(), classes());
    }
    Value::Object(out)
}

/// The PASTIS classes for the classification extension: id, name, and the palette's colour
/// (the same table the TIFF colour table, the VRTs and the `.qml` styles use).
pub fn classes() -> Value {
    let classes: Vec<Value> = CLASS_NAMES
        .iter()
        .zip(CLASS_COLORS)
        .enumerate()
        .map(|(value, (name, [r, g, b]))| {
            json!({
                "value": value,
                "name": slug(name),
                "description": name,
                "color_hint": format!("{r:02X}{g:02X}{b:02X}"),
            })
        })
        .collect();
    Value::Array(classes)
}

/// The projection fields of an image on its own grid (SPOT, about 1 m), as GDAL reads them from
/// its TIFF (the copy the export just wrote from the patch's `SpotGeoref`): `proj:code`/`proj:epsg`
/// when GDAL identifies an EPSG code, `proj:shape`, `proj:transform`, and each band's
/// `spatial_resolution`. Nothing is added when GDAL cannot open it (`inspect` then names it).
fn own_grid_fields(path: &Path, asset: &mut Map<String, Value>) {
    let Ok(ds) = gdal::Dataset::open(path) else {
        return;
    };
    let epsg = ds.spatial_ref().ok().and_then(|s| s.auth_code().ok());
    if let Some(code) = epsg {
        asset.insert("proj:code".into(), json!(format!("EPSG:{code}")));
        asset.insert("proj:epsg".into(), json!(code));
    }
    let (w, h) = ds.raster_size();
    asset.insert("proj:shape".into(), json!([h, w]));
    if let Some(Value::Array(bands)) = asset.get_mut("eo:bands") {
        for (i, band) in bands.iter_mut().enumerate() {
            let description = ds
                .rasterband(i + 1)
                .map(|b| gdal::Metadata::description(&b));
            if let (Some(band), Ok(Ok(d))) = (band.as_object_mut(), description) {
                if !d.is_empty() {
                    band.insert("name".into(), json!(d));
                    band.insert("description".into(), json!(d));
                }
            }
        }
    }
    if let Ok(gt) = ds.geo_transform() {
        asset.insert("proj:transform".into(), json!(proj_transform(&gt)));
        if let Some(Value::Array(bands)) = asset.get_mut("raster:bands") {
            for (i, band) in bands.iter_mut().enumerate() {
                let Some(band) = band.as_object_mut() else {
                    continue;
                };
                band.insert("spatial_resolution".into(), json!(gt[1].abs()));
                let nodata = ds.rasterband(i + 1).ok().and_then(|b| b.no_data_value());
                if let Some(nodata) = nodata {
                    band.insert("nodata".into(), json!(nodata));
                }
            }
        }
    }
}

/// `Fruits, vegetables, flowers` → `fruits_vegetables_flowers` (a name without spaces).
fn slug(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    words.join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s2_bands_follow_pastis_order() {
        assert!(S2_EO.iter().map(|b| b.0).eq(S2_BANDS.iter().copied()));
    }

    #[test]
    fn classes_carry_names_and_palette_colours() {
        let classes = classes();
        let list = classes.as_array().unwrap();
        assert_eq!(list.len(), 20);
        assert_eq!(list[2]["description"], "Soft winter wheat");
        assert_eq!(list[2]["name"], "soft_winter_wheat");
        assert_eq!(list[2]["color_hint"], "FF7F0E");
        assert_eq!(list[12]["name"], "fruits_vegetables_flowers");
        assert_eq!(list[19]["color_hint"], "FFFFFF");
    }
}
