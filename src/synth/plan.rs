//! Where and when each synthetic patch is: its tile, its square on the tile's UTM 10 m grid, its
//! footprint in Lambert-93, its acquisition dates.

use super::{rng, SynthOptions};
use crate::model::{Date, Layer};
use crate::{Error, Result};
use chrono::{Datelike, Days, NaiveDate};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use rand::seq::index::sample;
use rand::Rng;

/// A Sentinel-2 tile of PASTIS: its name, UTM EPSG code and upper-left corner (UTM metres).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tile {
    /// Lower-case tile name (`t30uxv`).
    pub name: &'static str,
    /// EPSG code of its UTM zone.
    pub epsg: u32,
    /// Upper-left corner easting of the tile (Sentinel-2 convention, 10 m grid).
    pub ulx: f64,
    /// Upper-left corner northing.
    pub uly: f64,
}

/// The four tiles of PASTIS, in three UTM zones.
pub const TILES: [Tile; 4] = [
    Tile {
        name: "t30uxv",
        epsg: 32630,
        ulx: 599_960.0,
        uly: 5_500_020.0,
    },
    Tile {
        name: "t31tfj",
        epsg: 32631,
        ulx: 599_960.0,
        uly: 4_900_020.0,
    },
    Tile {
        name: "t31tfm",
        epsg: 32631,
        ulx: 599_960.0,
        uly: 5_200_020.0,
    },
    Tile {
        name: "t32ulu",
        epsg: 32632,
        ulx: 299_960.0,
        uly: 5_400_020.0,
    },
];

/// Pixels along a tile's side (109.8 km at 10 m).
const TILE_PIXELS: usize = 10_980;

/// First and last day of the PASTIS period.
const FIRST_DAY: (i32, u32, u32) = (2018, 9, 1);
/// Days from 2018-09-01 to 2019-11-01.
pub const PERIOD_DAYS: u32 = 426;

/// The EPSG code of PASTIS footprints (Lambert-93).
pub const LAMBERT93: u32 = 2154;

/// The tile of the patch at `index`: patches cycle over the tiles.
pub fn tile_of(index: usize) -> (usize, Tile) {
    (index % TILES.len(), TILES[index % TILES.len()])
}

/// `ID_PATCH` of the patch at `index`, PASTIS-like: 10000 + ... per tile.
pub fn patch_id(index: usize) -> i64 {
    let (t, _) = tile_of(index);
    10_000 * (t as i64 + 1) + (index / TILES.len()) as i64
}

/// Upper-left corner (UTM metres) of the patch at `index`: non-overlapping squares on the tile's
/// 10 m grid, from a per-tile offset.
pub fn utm_origin(options: &SynthOptions, index: usize) -> (f64, f64) {
    let (t, tile) = tile_of(index);
    let size = options.size;
    let cols = (TILE_PIXELS / size).saturating_sub(1).max(1);
    let base = rng(options.seed, usize::MAX - t, 0).random_range(0..size);
    let k = index / TILES.len();
    let (col, row) = (k % cols, (k / cols) % cols);
    (
        tile.ulx + 10.0 * (base + col * size) as f64,
        tile.uly - 10.0 * (base + row * size) as f64,
    )
}

fn srs(epsg: u32) -> Result<SpatialRef> {
    let mut srs = SpatialRef::from_epsg(epsg).map_err(|e| gdal_error(epsg, e))?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

fn gdal_error(epsg: u32, e: gdal::errors::GdalError) -> Error {
    Error::library(format!("EPSG:{epsg}"), "GDAL", e)
}

/// The footprint of a `size` x `size` patch with upper-left corner (x0, y0) in `epsg`, as a
/// counter-clockwise closed ring in Lambert-93.
pub fn footprint(epsg: u32, x0: f64, y0: f64, size: usize) -> Result<Vec<[f64; 2]>> {
    let side = 10.0 * size as f64;
    let mut xs = [x0, x0 + side, x0 + side, x0, x0];
    let mut ys = [y0 - side, y0 - side, y0, y0, y0 - side];
    let transform =
        CoordTransform::new(&srs(epsg)?, &srs(LAMBERT93)?).map_err(|e| gdal_error(epsg, e))?;
    transform
        .transform_coords(&mut xs, &mut ys, &mut [])
        .map_err(|e| gdal_error(epsg, e))?;
    Ok(xs.iter().zip(ys).map(|(&x, y)| [x, y]).collect())
}

/// The footprint as a GeoJSON MultiPolygon.
pub fn footprint_geometry(ring: Vec<[f64; 2]>) -> geojson::Geometry {
    let ring: Vec<geojson::Position> = ring.into_iter().map(|[x, y]| vec![x, y].into()).collect();
    geojson::Geometry::new(geojson::GeometryValue::new_multi_polygon([[ring]]))
}

/// The day `offset` days after 2018-09-01, as yyyymmdd.
pub fn date(offset: u32) -> Date {
    let (y, m, d) = FIRST_DAY;
    let day = NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|first| first.checked_add_days(Days::new(offset.into())))
        .unwrap_or(NaiveDate::MIN);
    day.year() as u32 * 10_000 + day.month() * 100 + day.day()
}

/// Candidate acquisition days (offsets from 2018-09-01) of a tile for one modality: S2 every
/// 5 days with a few gaps of missing acquisitions, S1 every 3 days (two satellites, orbits).
fn tile_days(seed: u64, tile: usize, layer: Layer) -> Vec<u32> {
    let stream = match layer {
        Layer::S2 => 1,
        Layer::S1A => 2,
        _ => 3,
    };
    let mut r = rng(seed, usize::MAX - tile, stream);
    let step = if layer == Layer::S2 { 5 } else { 3 };
    let start = r.random_range(0..step);
    let gaps: Vec<u32> = (0..3).map(|_| r.random_range(0..PERIOD_DAYS)).collect();
    (start..=PERIOD_DAYS)
        .step_by(step as usize)
        .filter(|d| layer != Layer::S2 || gaps.iter().all(|g| d.abs_diff(*g) > 8))
        .collect()
}

/// The number of dates of a series at full scale (PASTIS: S2 38..61, S1 about 65..75).
fn full_length(layer: Layer) -> std::ops::RangeInclusive<usize> {
    if layer == Layer::S2 {
        38..=61
    } else {
        65..=75
    }
}

/// The dates of one series of the patch at `index`: a sorted subset of its tile's days.
pub fn dates(options: &SynthOptions, index: usize, layer: Layer) -> Vec<Date> {
    let (t, _) = tile_of(index);
    let days = tile_days(options.seed, t, layer);
    let mut r = rng(options.seed, index, 10 + layer as u64);
    let full = r.random_range(full_length(layer));
    let count = ((full as f64 * options.date_scale).round() as usize).clamp(2, days.len());
    let mut picked: Vec<usize> = sample(&mut r, days.len(), count).into_vec();
    picked.sort_unstable();
    picked.into_iter().map(|i| date(days[i])).collect()
}

/// Days since 2018-09-01 of a yyyymmdd date.
pub fn day_offset(date: Date) -> f64 {
    let parsed = NaiveDate::from_ymd_opt((date / 10_000) as i32, date / 100 % 100, date % 100);
    let (y, m, d) = FIRST_DAY;
    match (parsed, NaiveDate::from_ymd_opt(y, m, d)) {
        (Some(day), Some(first)) => (day - first).num_days() as f64,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_convert_both_ways() {
        assert_eq!(date(0), 20180901);
        assert_eq!(date(PERIOD_DAYS), 20191101);
        assert_eq!(day_offset(20191101), PERIOD_DAYS as f64);
    }

    #[test]
    fn footprint_is_in_france_in_lambert93() {
        for (i, tile) in TILES.iter().enumerate() {
            let ring = footprint(tile.epsg, tile.ulx, tile.uly, 128).unwrap();
            assert_eq!(ring.len(), 5, "tile {i}");
            assert_eq!(ring[0], ring[4]);
            let [x, y] = ring[0];
            assert!((100_000.0..1_250_000.0).contains(&x), "{tile:?}: x {x}");
            assert!((6_000_000.0..7_150_000.0).contains(&y), "{tile:?}: y {y}");
        }
    }
}
