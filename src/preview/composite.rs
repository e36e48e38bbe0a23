//! The pictures at native resolution (one pixel per patch pixel): S2 true colour with a robust
//! stretch, the S1 VV/VH composite, the semantic map in class colours, and parcel outlines.

use crate::model::classes::{CLASS_COLORS, S2_NODATA};
use crate::model::{Array, Layer};
use crate::{Error, Result};
use image::{Rgb, RgbImage};
use ndarray::{Array2, ArrayD, Axis, Ix2};

/// Colour of pixels without data (S2 no-data, NaN backscatter, class ids outside 0..19).
pub const NODATA_COLOR: Rgb<u8> = Rgb([255, 0, 255]);

/// Lower and upper percentiles of the robust stretch.
pub const STRETCH_PERCENTILES: (f64, f64) = (2.0, 98.0);

/// One picture band: values, and which are missing.
pub struct Band {
    values: Array2<f64>,
    nodata: Option<f64>,
}

impl Band {
    fn valid(&self, v: f64) -> bool {
        v.is_finite() && Some(v) != self.nodata
    }

    fn valid_values(&self) -> impl Iterator<Item = f64> + '_ {
        self.values.iter().copied().filter(|&v| self.valid(v))
    }
}

/// A linear map of each of three bands onto 0..255, clipped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stretch {
    /// Per band: the values shown as 0 and as 255.
    pub ranges: [(f64, f64); 3],
}

impl Stretch {
    /// The 2nd-98th percentile stretch of each band over its valid pixels.
    pub fn robust(bands: &[Band; 3]) -> Stretch {
        Stretch::pooled(std::slice::from_ref(bands))
    }

    /// The 2nd-98th percentile stretch of each band over the valid pixels of several frames.
    pub fn pooled(frames: &[[Band; 3]]) -> Stretch {
        Stretch {
            ranges: [0, 1, 2].map(|b| {
                let values = frames.iter().flat_map(|f| f[b].valid_values()).collect();
                percentile_range(values)
            }),
        }
    }

    fn byte(&self, band: usize, v: f64) -> u8 {
        let (lo, hi) = self.ranges[band];
        ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
    }
}

fn percentile_range(mut v: Vec<f64>) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 1.0);
    }
    let mut at = |p: f64| {
        let k = ((v.len() - 1) as f64 * p / 100.0).round() as usize;
        *v.select_nth_unstable_by(k, f64::total_cmp).1
    };
    let (lo, hi) = (at(STRETCH_PERCENTILES.0), at(STRETCH_PERCENTILES.1));
    (lo, if hi > lo { hi } else { lo + 1.0 })
}

/// Three bands (R, G, B) of frame `t` of a series (T, C, H, W); S2 marks -10000 as no-data.
pub fn frame_bands(
    id: i64,
    layer: Layer,
    series: &Array,
    t: usize,
    channels: [usize; 3],
) -> Result<[Band; 3]> {
    let shape = series.shape();
    if shape.len() != 4 || t >= shape[0] || channels.iter().any(|&c| c >= shape[1]) {
        return Err(Error::patch(
            id,
            format!(
                "{} has shape {shape:?}, expected (T, C, H, W) with frame {t} and channels {channels:?}",
                layer.name()
            ),
        ));
    }
    let frame = series.index_first_axis(t).to_f64();
    let nodata = (layer == Layer::S2).then_some(f64::from(S2_NODATA));
    Ok(channels.map(|c| Band {
        values: plane(frame.index_axis(Axis(0), c).to_owned()),
        nodata,
    }))
}

/// The S1 composite bands: R = VV, G = VH, B = VV/VH ratio (channel 2, or VV - VH in dB).
pub fn radar_bands(id: i64, layer: Layer, series: &Array, t: usize) -> Result<[Band; 3]> {
    let has_ratio = series.shape().get(1).is_some_and(|&c| c >= 3);
    let [vv, vh, ratio] = frame_bands(id, layer, series, t, [0, 1, if has_ratio { 2 } else { 0 }])?;
    let ratio = if has_ratio {
        ratio
    } else {
        Band {
            values: &vv.values - &vh.values,
            nodata: None,
        }
    };
    Ok([vv, vh, ratio])
}

/// PASTIS-HD's SPOT-6 image `(band, H, W)` as R, G, B bands (SPOT6 "RVB" files store red, green,
/// blue in that order); an image of fewer than 3 bands is shown grey from its first band.
/// `nodata` holds each band's no-data value, as found in the GeoTIFF.
pub fn spot_bands(id: i64, spot: &Array, nodata: &[Option<f64>]) -> Result<[Band; 3]> {
    let bands = match spot.shape() {
        &[b, h, w] if b > 0 && h > 0 && w > 0 => b,
        shape => {
            let what = format!("SPOT has shape {shape:?}, expected (band, H, W)");
            return Err(Error::patch(id, what));
        }
    };
    let values = spot.to_f64();
    let channels = if bands >= 3 { [0, 1, 2] } else { [0, 0, 0] };
    Ok(channels.map(|c| Band {
        values: plane(values.index_axis(Axis(0), c).to_owned()),
        nodata: nodata.get(c).copied().flatten(),
    }))
}

fn plane(a: ArrayD<f64>) -> Array2<f64> {
    a.into_dimensionality::<Ix2>()
        .unwrap_or_else(|_| Array2::zeros((0, 0)))
}

/// The bands as an RGB picture; a pixel missing in any band is shown in [`NODATA_COLOR`].
pub fn compose(bands: &[Band; 3], stretch: &Stretch) -> RgbImage {
    let (h, w) = bands[0].values.dim();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let at = |b: usize| bands[b].values[(y as usize, x as usize)];
        if (0..3).any(|b| !bands[b].valid(at(b))) {
            NODATA_COLOR
        } else {
            Rgb([0, 1, 2].map(|b| stretch.byte(b, at(b))))
        }
    })
}

/// Mean blue reflectance (channel 0) over valid pixels, and the share of no-data pixels.
pub fn cloudiness(id: i64, s2: &Array, t: usize) -> Result<(f64, f64)> {
    let [blue, ..] = frame_bands(id, Layer::S2, s2, t, [0, 0, 0])?;
    let valid: Vec<f64> = blue.valid_values().collect();
    let missing = 1.0 - valid.len() as f64 / blue.values.len().max(1) as f64;
    let mean = valid.iter().sum::<f64>() / valid.len().max(1) as f64;
    Ok((
        if valid.is_empty() {
            f64::INFINITY
        } else {
            mean
        },
        missing,
    ))
}

/// A 2-D label map: TARGET channel 0 (or a 2-D TARGET), INSTANCES.
pub fn labels(id: i64, layer: Layer, array: &Array) -> Result<Array2<i64>> {
    let values = array.to_i64().ok_or_else(|| {
        Error::patch(
            id,
            format!(
                "{} holds {} values, not labels",
                layer.name(),
                array.dtype()
            ),
        )
    })?;
    let values = if values.ndim() == 3 {
        values.index_axis(Axis(0), 0).to_owned()
    } else {
        values
    };
    values.into_dimensionality::<Ix2>().map_err(|_| {
        Error::patch(
            id,
            format!(
                "{} has shape {:?}, expected (H, W) or (C, H, W)",
                layer.name(),
                array.shape()
            ),
        )
    })
}

/// The semantic map in the PASTIS class colours.
pub fn semantic(classes: &Array2<i64>) -> RgbImage {
    let (h, w) = classes.dim();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        usize::try_from(classes[(y as usize, x as usize)])
            .ok()
            .and_then(|c| CLASS_COLORS.get(c))
            .map_or(NODATA_COLOR, |c| Rgb(*c))
    })
}

/// Pixels of `image` whose label (looked up at `scale`) differs from a 4-neighbour's, painted
/// `color`: parcel outlines drawn over an already enlarged picture.
pub fn draw_outlines(image: &mut RgbImage, labels: &Array2<i64>, scale: u32, color: Rgb<u8>) {
    let label = |x: u32, y: u32| labels[((y / scale) as usize, (x / scale) as usize)];
    let (w, h) = image.dimensions();
    for y in 0..h {
        for x in 0..w {
            let l = label(x, y);
            let edge = (x > 0 && label(x - 1, y) != l)
                || (x + 1 < w && label(x + 1, y) != l)
                || (y > 0 && label(x, y - 1) != l)
                || (y + 1 < h && label(x, y + 1) != l);
            if edge {
                image.put_pixel(x, y, color);
            }
        }
    }
}

/// Pixel count per class id 0..19 (other values are not counted).
pub fn class_counts(classes: &Array2<i64>) -> [usize; CLASS_COLORS.len()] {
    let mut counts = [0; CLASS_COLORS.len()];
    for &c in classes {
        if let Some(n) = usize::try_from(c).ok().and_then(|c| counts.get_mut(c)) {
            *n += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn stretch_clips_outliers_and_marks_nodata() {
        let values = Array2::from_shape_fn((10, 10), |(y, x)| (y * 10 + x) as f64);
        let band = || Band {
            values: values.clone(),
            nodata: Some(0.0),
        };
        let bands = [band(), band(), band()];
        let stretch = Stretch::robust(&bands);
        let (lo, hi) = stretch.ranges[0];
        assert!(
            (2.0..=4.0).contains(&lo) && (96.0..=98.0).contains(&hi),
            "{lo} {hi}"
        );
        let image = compose(&bands, &stretch);
        assert_eq!(*image.get_pixel(0, 0), NODATA_COLOR);
        assert_eq!(image.get_pixel(9, 9).0, [255; 3]);
        assert_eq!(image.get_pixel(1, 0).0, [0; 3]);
    }

    #[test]
    fn outlines_follow_label_changes_at_scale() {
        let labels = array![[1, 2], [1, 2]];
        let mut image = RgbImage::new(8, 8);
        draw_outlines(&mut image, &labels, 4, Rgb([9, 9, 9]));
        assert_eq!(image.get_pixel(3, 0).0, [9; 3]);
        assert_eq!(image.get_pixel(4, 7).0, [9; 3]);
        assert_eq!(image.get_pixel(2, 0).0, [0; 3]);
        assert_eq!(image.get_pixel(0, 5).0, [0; 3]);
    }
}
