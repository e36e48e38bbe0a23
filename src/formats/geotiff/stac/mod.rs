//! A static STAC catalog of the export: `collection.json` (a STAC 1.1 Collection) and one Item
//! per patch, `items/<ID_PATCH>.json`, every link and asset href relative, so that the folder can
//! be moved or uploaded as it is (docs/geotiff.md, "STAC catalog").
//!
//! Built from the same manifest and metadata the TIFFs were written with, never from the TIFFs
//! themselves: each Item's `proj:*` fields are the patch's recovered UTM grid, its geometry and
//! bbox that grid's corners taken to WGS84 by GDAL/PROJ ([`crate::georef::to_lonlat`]), not the
//! Lambert-93 footprint of metadata.geojson. Extensions: projection v1.2.0 (`proj:code` and, for
//! GDAL's STACIT driver before 3.10, `proj:epsg`), eo v1.1.0 and raster v1.1.0 (`eo:bands`,
//! `raster:bands`), classification v1.1.0 (TARGET's classes, with the palette's colours).
//!
//! [`check_catalog`] is what `inspect` uses to find a catalog that disagrees with the TIFFs.

mod assets;
mod check;
mod collection;
mod item;
mod parcels;

pub use check::check_catalog;
pub use collection::write_catalog;
pub use parcels::{add_parcels_asset, PARCELS_ASSET};

/// The Collection file, at the top of the export folder.
pub const COLLECTION: &str = "collection.json";

/// The folder of the Items, one `<ID_PATCH>.json` per patch.
pub const ITEMS: &str = "items";

/// The STAC version written (pystac 1.14 bundles its JSON schemas: offline validation).
pub const STAC_VERSION: &str = "1.1.0";

/// The projection extension: `proj:code`, `proj:epsg`, `proj:transform`, `proj:shape`,
/// `proj:bbox`.
pub const PROJECTION_EXT: &str = "https://stac-extensions.github.io/projection/v1.2.0/schema.json";

/// The electro-optical extension: `eo:bands` (band names, S2 common names and wavelengths).
pub const EO_EXT: &str = "https://stac-extensions.github.io/eo/v1.1.0/schema.json";

/// The raster extension: `raster:bands` (data type, no-data, resolution).
pub const RASTER_EXT: &str = "https://stac-extensions.github.io/raster/v1.1.0/schema.json";

/// The classification extension: `classification:classes` (TARGET's class ids, names, colours).
pub const CLASSIFICATION_EXT: &str =
    "https://stac-extensions.github.io/classification/v1.1.0/schema.json";

/// The extensions every Item and the Collection declare.
pub const EXTENSIONS: [&str; 4] = [PROJECTION_EXT, EO_EXT, RASTER_EXT, CLASSIFICATION_EXT];

/// An Item's path relative to the folder: `items/10000.json`.
pub fn item_path(id: i64) -> String {
    format!("{ITEMS}/{id}.json")
}

/// The media type of the export's TIFFs (STAC best practices), with the COG profile for `--cog`.
pub fn tiff_media_type(cog: bool) -> &'static str {
    if cog {
        "image/tiff; application=geotiff; profile=cloud-optimized"
    } else {
        "image/tiff; application=geotiff"
    }
}

/// STAC's `proj:transform` (the first two rows of the affine matrix, `[a, b, c, d, e, f]`) of a
/// GDAL geotransform `[c, a, b, f, d, e]`.
pub fn proj_transform(gt: &[f64; 6]) -> [f64; 6] {
    [gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_is_stac_order() {
        let gt = [600_000.0, 10.0, 0.0, 5_300_000.0, 0.0, -10.0];
        assert_eq!(
            proj_transform(&gt),
            [10.0, 0.0, 600_000.0, 0.0, -10.0, 5_300_000.0]
        );
        assert_eq!(item_path(10000), "items/10000.json");
        assert!(tiff_media_type(true).ends_with("profile=cloud-optimized"));
    }
}
