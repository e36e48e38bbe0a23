//! UTM zones: from a Sentinel-2 tile name, or from a longitude and latitude (the standard rule
//! with the Norway and Svalbard exceptions), and the extent a tile's zone covers.
//!
//! Source: the MGRS / UTM grid (NGA.SIG.0012, DMA TM 8358.1): zones of 6 degrees from -180,
//! latitude bands of 8 degrees from -80 lettered C..X without I and O (X spans 72..84);
//! zone 32V widened to 3..12 E, zones 31X..37X of 9 or 12 degrees over Svalbard.

/// Latitude band letters from -80 degrees, 8 degrees each (X: 72..84).
const BANDS: &str = "cdefghjklmnpqrstuvwx";

/// Eastings every Sentinel-2 tile lies within, in metres, in its own zone: MGRS 100 km columns
/// start at 100 000 and 800 000 at most, and a tile extends 109.8 km from its column's start.
pub const S2_EASTINGS_M: (f64, f64) = (100_000.0, 909_800.0);

/// Degrees a Sentinel-2 tile may extend past its latitude band (a 109.8 km tile is ~1 degree).
pub const BAND_MARGIN_DEG: f64 = 1.0;

/// The EPSG code of the UTM zone of a Sentinel-2 tile name (`t30uxv`, `31TFJ` → 32630, 32631),
/// if it starts with a zone 1..60 and a latitude band letter.
pub fn utm_epsg(tile: &str) -> Option<u32> {
    let (zone, band) = zone_and_band(tile)?;
    let south = band < 10;
    Some(if south { 32700 } else { 32600 } + zone)
}

/// The latitudes (south, north) of a tile's latitude band, in degrees.
pub fn band_latitudes(tile: &str) -> Option<(f64, f64)> {
    let (_, band) = zone_and_band(tile)?;
    let south = -80.0 + 8.0 * band as f64;
    let north = if band == BANDS.len() - 1 {
        84.0
    } else {
        south + 8.0
    };
    Some((south, north))
}

/// The EPSG code (326zz north, 327zz south) of the UTM zone containing `lon`, `lat` (degrees),
/// with the Norway (32V) and Svalbard (31X, 33X, 35X, 37X) exceptions; `None` outside the UTM
/// latitudes (-80..84) or for non-finite input.
pub fn zone_epsg(lon: f64, lat: f64) -> Option<u32> {
    if !(lon.is_finite() && (-80.0..=84.0).contains(&lat)) {
        return None;
    }
    let lon = (lon + 180.0).rem_euclid(360.0) - 180.0;
    let mut zone = (((lon + 180.0) / 6.0).floor() as u32 + 1).min(60);
    if (56.0..64.0).contains(&lat) && (3.0..12.0).contains(&lon) {
        zone = 32;
    }
    if lat >= 72.0 && (0.0..42.0).contains(&lon) {
        zone = match lon {
            l if l < 9.0 => 31,
            l if l < 21.0 => 33,
            l if l < 33.0 => 35,
            _ => 37,
        };
    }
    Some(if lat < 0.0 { 32700 } else { 32600 } + zone)
}

/// The zone number and band index (0 = C) of a tile name.
fn zone_and_band(tile: &str) -> Option<(u32, usize)> {
    let name = tile.trim().to_ascii_lowercase();
    let name = name.strip_prefix('t').unwrap_or(&name);
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    let zone: u32 = digits.parse().ok().filter(|z| (1..=60).contains(z))?;
    let band = name[digits.len()..].chars().next()?;
    Some((zone, BANDS.find(band)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_names_give_utm_zones() {
        assert_eq!(utm_epsg("t30uxv"), Some(32630));
        assert_eq!(utm_epsg("t31tfj"), Some(32631));
        assert_eq!(utm_epsg("32ULU"), Some(32632));
        assert_eq!(utm_epsg("t55hbd"), Some(32755));
        assert_eq!(utm_epsg("t61uxv"), None);
        assert_eq!(utm_epsg("t30iab"), None);
        assert_eq!(utm_epsg("tile"), None);
        assert_eq!(utm_epsg(""), None);
        assert_eq!(utm_epsg("t30"), None);
    }

    #[test]
    fn tile_bands() {
        assert_eq!(band_latitudes("t30uxv"), Some((48.0, 56.0)));
        assert_eq!(band_latitudes("t31tfj"), Some((40.0, 48.0)));
        assert_eq!(band_latitudes("t33xwg"), Some((72.0, 84.0)));
        assert_eq!(band_latitudes("t55hbd"), Some((-40.0, -32.0)));
    }

    #[test]
    fn standard_zones() {
        assert_eq!(zone_epsg(-1.5, 47.0), Some(32630));
        assert_eq!(zone_epsg(0.0, 45.0), Some(32631));
        assert_eq!(zone_epsg(-0.000001, 45.0), Some(32630));
        assert_eq!(zone_epsg(6.5, 48.0), Some(32632));
        assert_eq!(zone_epsg(-180.0, 10.0), Some(32601));
        assert_eq!(zone_epsg(180.0, 10.0), Some(32601));
        assert_eq!(zone_epsg(179.9, -10.0), Some(32760));
        assert_eq!(zone_epsg(151.2, -33.9), Some(32756));
        assert_eq!(zone_epsg(0.0, 84.5), None);
        assert_eq!(zone_epsg(0.0, -80.5), None);
        assert_eq!(zone_epsg(f64::NAN, 45.0), None);
    }

    #[test]
    fn norway_and_svalbard_exceptions() {
        // Bergen (5.3 E, 60.4 N) is in 32V, not 31V; west of 3 E stays 31V.
        assert_eq!(zone_epsg(5.3, 60.4), Some(32632));
        assert_eq!(zone_epsg(2.9, 60.4), Some(32631));
        // Just outside band V (64 N) the rule is standard again.
        assert_eq!(zone_epsg(5.3, 64.1), Some(32631));
        // Svalbard: Longyearbyen (15.6 E, 78.2 N) is 33X; 8 E is 31X; 22 E is 35X; 40 E is 37X.
        assert_eq!(zone_epsg(15.6, 78.2), Some(32633));
        assert_eq!(zone_epsg(8.0, 78.2), Some(32631));
        assert_eq!(zone_epsg(22.0, 78.2), Some(32635));
        assert_eq!(zone_epsg(40.0, 78.2), Some(32637));
        // West of 0 and east of 42 in band X: standard zones.
        assert_eq!(zone_epsg(-1.0, 78.2), Some(32630));
        assert_eq!(zone_epsg(43.0, 78.2), Some(32638));
    }
}
