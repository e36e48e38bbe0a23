//! A synthetic PASTIS-HD SPOT-6 image of a patch: true colour upsampled from the patch's
//! Sentinel-2 series to 1 m, with the detail only a 1 m image shows at parcel edges (hedges and
//! tracks, darker), a little texture, on the patch's own UTM grid at 1 m.
//!
//! A choice of the generator, not a fact of the release: 3 bands (Red, Green, Blue), uint8, 10 x
//! the patch's side (1280 x 1280 for a 128 px patch), no no-data.

use super::parcels::ParcelMap;
use super::series::S2_NODATA;
use crate::georef::spatial_ref;
use crate::model::{Array, SpotGeoref};
use ndarray::{Array3, ArrayD, Axis, IxDyn};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// SPOT pixels per Sentinel-2 pixel along each axis (1 m vs 10 m).
pub const SPOT_SCALE: usize = 10;

/// The Sentinel-2 bands (indices into B2, B3, B4...) of red, green and blue.
const RGB_OF_S2: [usize; 3] = [2, 1, 0];

/// Reflectance x 10000 shown as full brightness (255).
const WHITE: f64 = 2500.0;

/// The band descriptions of the generated image.
pub const BANDS: [&str; 3] = ["Red", "Green", "Blue"];

/// The synthetic SPOT image of a patch and its georeferencing, from its S2 series `(T, 10, H, W)`
/// (int16), its parcel map and the upper-left corner `(x0, y0)` of its 10 m grid in UTM `epsg`.
/// `None` if the CRS is unknown to GDAL or S2 is not what the generator makes.
pub fn spot_image(
    rng: &mut ChaCha8Rng,
    s2: &ArrayD<i16>,
    map: &ParcelMap,
    (epsg, x0, y0): (u32, f64, f64),
) -> Option<(Array, SpotGeoref)> {
    let colour = true_colour(s2)?;
    let size = map.size;
    let side = size * SPOT_SCALE;
    let mut image = Array3::<u8>::zeros((3, side, side));
    for y in 0..side {
        for x in 0..side {
            let (py, px) = (y / SPOT_SCALE, x / SPOT_SCALE);
            let shade = if on_parcel_edge(map, y, x) { 0.55 } else { 1.0 };
            let grain: f64 = rng.random_range(-6.0..6.0);
            for (b, plane) in colour.iter().enumerate() {
                let v = plane[py * size + px] * shade + grain;
                image[[b, y, x]] = v.clamp(0.0, 255.0).round() as u8;
            }
        }
    }
    Some((Array::U8(image.into_dyn()), georef((epsg, x0, y0))?))
}

/// The georeferencing of the synthetic SPOT image whose upper-left corner is `(x0, y0)` in UTM
/// `epsg` (1 m pixels, the generator's band names, no no-data); `None` if GDAL does not know
/// the CRS. Known without drawing the image (the survey of a conversion asks for it).
pub fn georef((epsg, x0, y0): (u32, f64, f64)) -> Option<SpotGeoref> {
    Some(SpotGeoref {
        crs_wkt: spatial_ref(epsg).ok()?.to_wkt().ok()?,
        epsg: Some(epsg),
        geotransform: [x0, 1.0, 0.0, y0, 0.0, -1.0],
        descriptions: BANDS.iter().map(|b| b.to_string()).collect(),
        nodata: vec![None; BANDS.len()],
    })
}

/// Per colour band, the mean over the valid dates of each 10 m pixel, scaled to 0..255.
fn true_colour(s2: &ArrayD<i16>) -> Option<[Vec<f64>; 3]> {
    let [_, bands, h, w] = s2.shape() else {
        return None;
    };
    if *bands <= RGB_OF_S2[0] {
        return None;
    }
    let mut out: [Vec<f64>; 3] = Default::default();
    for (plane, &band) in out.iter_mut().zip(&RGB_OF_S2) {
        let series = s2.index_axis(Axis(1), band);
        *plane = (0..h * w)
            .map(|p| {
                let (y, x) = (p / w, p % w);
                let valid = series
                    .axis_iter(Axis(0))
                    .map(|frame| frame[IxDyn(&[y, x])])
                    .filter(|&v| v != S2_NODATA);
                let (sum, n) = valid.fold((0.0, 0), |(s, n), v| (s + f64::from(v), n + 1));
                let mean = if n == 0 { 0.0 } else { sum / f64::from(n) };
                mean / WHITE * 255.0
            })
            .collect();
    }
    Some(out)
}

/// True if the 1 m pixel `(y, x)` lies on the outer metre of its 10 m pixel where the
/// neighbouring 10 m pixel belongs to another parcel (or to none).
fn on_parcel_edge(map: &ParcelMap, y: usize, x: usize) -> bool {
    let size = map.size;
    let (py, px) = (y / SPOT_SCALE, x / SPOT_SCALE);
    let (oy, ox) = (y % SPOT_SCALE, x % SPOT_SCALE);
    let here = map.label[py * size + px];
    let differs = |ny: Option<usize>, nx: Option<usize>| match (ny, nx) {
        (Some(ny), Some(nx)) if ny < size && nx < size => map.label[ny * size + nx] != here,
        _ => false,
    };
    (oy == 0 && differs(py.checked_sub(1), Some(px)))
        || (oy == SPOT_SCALE - 1 && differs(Some(py + 1), Some(px)))
        || (ox == 0 && differs(Some(py), px.checked_sub(1)))
        || (ox == SPOT_SCALE - 1 && differs(Some(py), Some(px + 1)))
}
