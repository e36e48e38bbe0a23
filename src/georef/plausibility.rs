//! Why a patch cannot be georeferenced: every problem a footprint can have, as a typed value
//! naming the patch and the numbers, and the checks that find them.

use super::zone::{band_latitudes, BAND_MARGIN_DEG, S2_EASTINGS_M};
use super::CORNER_TOLERANCE_M;
use gdal::spatial_ref::SpatialRef;

/// A footprint, a declared CRS or a raster from which no trustworthy pixel grid follows.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GeorefProblem {
    /// The metadata declares a CRS pastis-bridge does not understand (dataset-wide).
    #[error("metadata declares the CRS \"{crs}\": {why}")]
    UnsupportedCrs {
        /// The declared name.
        crs: String,
        /// Why it is refused.
        why: String,
    },
    /// The feature's geometry is null or absent: the patch has no place on Earth.
    #[error("patch {patch}: no footprint (null geometry), so no pixel grid")]
    NoFootprint {
        /// `ID_PATCH`.
        patch: i64,
    },
    /// The footprint is not a Polygon or a one-part MultiPolygon.
    #[error("patch {patch}: footprint is a {geometry}, expected a Polygon (or a MultiPolygon of one part)")]
    NotAPolygon {
        /// `ID_PATCH`.
        patch: i64,
        /// The GeoJSON geometry type found.
        geometry: String,
    },
    /// A MultiPolygon of several parts: which one is the patch is ambiguous.
    #[error("patch {patch}: footprint is a MultiPolygon of {parts} parts, ambiguous (expected one square)")]
    MultiPart {
        /// `ID_PATCH`.
        patch: i64,
        /// Number of polygons.
        parts: usize,
    },
    /// The exterior ring is not a ring of at least 4 distinct finite vertices, or has holes.
    #[error("patch {patch}: footprint {what}")]
    BadRing {
        /// `ID_PATCH`.
        patch: i64,
        /// What is wrong with the ring, with the numbers.
        what: String,
    },
    /// A footprint coordinate lies outside the area of use of the declared CRS, or cannot be
    /// transformed to longitude/latitude at all.
    #[error("patch {patch}: footprint vertex ({x}, {y}) is outside the area of use of the declared {crs} ({area}){}",
        lonlat.map(|(lon, lat)| format!(": it is at lon {lon:.4}, lat {lat:.4}")).unwrap_or_default())]
    OutsideAreaOfUse {
        /// `ID_PATCH`.
        patch: i64,
        /// The declared CRS (`EPSG:2154`, `OGC:CRS84`).
        crs: String,
        /// The vertex, in the declared CRS.
        x: f64,
        /// The vertex, in the declared CRS.
        y: f64,
        /// Where it lands in longitude/latitude, if it can be transformed at all.
        lonlat: Option<(f64, f64)>,
        /// The area of use, `lon W..E, lat S..N`.
        area: String,
    },
    /// No TILE naming a zone and the footprint lies beyond the UTM latitudes (-80..84).
    #[error("patch {patch}: no TILE giving a UTM zone, and the footprint centre (lon {lon:.4}, lat {lat:.4}) is outside the UTM latitudes -80..84")]
    NoZone {
        /// `ID_PATCH`.
        patch: i64,
        /// Footprint centre longitude, degrees.
        lon: f64,
        /// Footprint centre latitude, degrees.
        lat: f64,
    },
    /// The footprint lies outside the zone (or latitude band) of the patch's Sentinel-2 tile.
    #[error("patch {patch}: footprint centre (lon {lon:.4}, lat {lat:.4}) is outside tile {tile}'s UTM zone: {detail}")]
    OutsideTileZone {
        /// `ID_PATCH`.
        patch: i64,
        /// The TILE property.
        tile: String,
        /// Footprint centre longitude, degrees.
        lon: f64,
        /// Footprint centre latitude, degrees.
        lat: f64,
        /// Which limit it is past, with the numbers.
        detail: String,
    },
    /// In its UTM zone the footprint is not the raster's square of 10 m pixels.
    #[error("patch {patch}: footprint is {width_m:.2} m x {height_m:.2} m in EPSG:{epsg}, its corners up to {corner_error_m:.2} m from the {expected_width_m} m x {expected_height_m} m square of the {columns} x {rows} raster at 10 m (tolerance {CORNER_TOLERANCE_M} m)")]
    NotPatchSquare {
        /// `ID_PATCH`.
        patch: i64,
        /// The UTM zone's EPSG code.
        epsg: u32,
        /// Footprint extent, metres.
        width_m: f64,
        /// Footprint extent, metres.
        height_m: f64,
        /// Raster width x 10 m.
        expected_width_m: f64,
        /// Raster height x 10 m.
        expected_height_m: f64,
        /// Raster columns.
        columns: usize,
        /// Raster rows.
        rows: usize,
        /// Largest distance between a corner of the snapped square and the footprint.
        corner_error_m: f64,
    },
    /// The patch's arrays have no pixels.
    #[error("patch {patch}: cannot georeference an empty {rows} x {columns} raster")]
    EmptyRaster {
        /// `ID_PATCH`.
        patch: i64,
        /// Raster rows.
        rows: usize,
        /// Raster columns.
        columns: usize,
    },
    /// GDAL/PROJ failed to build or apply a transformation.
    #[error("patch {patch}: GDAL: {message}")]
    Gdal {
        /// `ID_PATCH`.
        patch: i64,
        /// GDAL's message.
        message: String,
    },
}

impl GeorefProblem {
    /// The patch concerned (`None` for the dataset-wide [`GeorefProblem::UnsupportedCrs`]).
    pub fn patch(&self) -> Option<i64> {
        match self {
            GeorefProblem::UnsupportedCrs { .. } => None,
            GeorefProblem::NoFootprint { patch }
            | GeorefProblem::NotAPolygon { patch, .. }
            | GeorefProblem::MultiPart { patch, .. }
            | GeorefProblem::BadRing { patch, .. }
            | GeorefProblem::OutsideAreaOfUse { patch, .. }
            | GeorefProblem::NoZone { patch, .. }
            | GeorefProblem::OutsideTileZone { patch, .. }
            | GeorefProblem::NotPatchSquare { patch, .. }
            | GeorefProblem::EmptyRaster { patch, .. }
            | GeorefProblem::Gdal { patch, .. } => Some(*patch),
        }
    }
}

/// The area of use of a CRS as (west, south, east, north) degrees, from the EPSG database
/// through GDAL; the whole Earth when it has none.
pub fn area_of_use(srs: &SpatialRef) -> (f64, f64, f64, f64) {
    srs.area_of_use().map_or((-180.0, -90.0, 180.0, 90.0), |a| {
        (
            a.west_lon_degree,
            a.south_lat_degree,
            a.east_lon_degree,
            a.north_lat_degree,
        )
    })
}

/// Whether `lon`, `lat` lies in an area of use (which may cross the antimeridian: west > east).
pub fn in_area(area: (f64, f64, f64, f64), lon: f64, lat: f64) -> bool {
    let (west, south, east, north) = area;
    let lon_ok = if west <= east {
        (west..=east).contains(&lon)
    } else {
        lon >= west || lon <= east
    };
    lon_ok && (south..=north).contains(&lat)
}

/// Formats an area of use for messages.
pub fn area_text(area: (f64, f64, f64, f64)) -> String {
    let (w, s, e, n) = area;
    format!("lon {w}..{e}, lat {s}..{n}")
}

/// Why a footprint centred at `lon`, `lat` (easting `easting` in the tile's zone) cannot be in
/// `tile`: past the eastings of every Sentinel-2 tile of the zone ([`S2_EASTINGS_M`]) or more than
/// [`BAND_MARGIN_DEG`] past the tile's latitude band. `None` when it can.
pub fn outside_tile(tile: &str, easting: f64, lat: f64) -> Option<String> {
    let (low, high) = S2_EASTINGS_M;
    if !(low..=high).contains(&easting) {
        return Some(format!(
            "easting {easting:.0} m in the zone, Sentinel-2 tiles span {low:.0}..{high:.0} m"
        ));
    }
    let (south, north) = band_latitudes(tile)?;
    let inside = (south - BAND_MARGIN_DEG..=north + BAND_MARGIN_DEG).contains(&lat);
    (!inside).then(|| {
        format!("latitude band {south}..{north} (+/- {BAND_MARGIN_DEG} degree of tile overlap)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_of_use_come_from_the_epsg_database() {
        let lambert = super::super::crs::spatial_ref(2154).unwrap();
        let area = area_of_use(&lambert);
        assert!(in_area(area, 2.35, 48.85), "{area:?}");
        assert!(!in_area(area, -1.36, -5.98), "{area:?}");
        let mercator = super::super::crs::spatial_ref(3857).unwrap();
        assert!(in_area(area_of_use(&mercator), 6.3, 50.6));
        assert!(!in_area(area_of_use(&mercator), 6.3, 86.0));
        assert!(in_area((170.0, -50.0, -170.0, -30.0), 179.0, -40.0));
        assert!(!in_area((170.0, -50.0, -170.0, -30.0), 0.0, -40.0));
    }

    #[test]
    fn tile_zone_limits() {
        assert_eq!(outside_tile("t30uxv", 650_000.0, 48.5), None);
        assert_eq!(outside_tile("t31tfj", 452_000.0, 48.8), None);
        let far = outside_tile("t30uxv", 1_390_000.0, 48.0).unwrap();
        assert!(far.contains("easting 1390000 m"), "{far}");
        let band = outside_tile("t30uxv", 650_000.0, 45.0).unwrap();
        assert!(band.contains("48..56"), "{band}");
    }

    #[test]
    fn problems_name_their_patch() {
        let p = GeorefProblem::MultiPart { patch: 7, parts: 2 };
        assert_eq!(p.patch(), Some(7));
        assert!(p.to_string().starts_with("patch 7: "), "{p}");
    }
}
