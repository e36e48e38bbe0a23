//! QGIS default styles: a `.qml` file beside a raster, with the raster's base name, which QGIS
//! loads as the layer's style when it opens the raster (QGIS 3.22 ignores GDAL colour
//! interpretation and draws any raster of several bands with bands 1, 2, 3 as red, green, blue).
//!
//! - S2: true colour B4/B3/B2 of the least cloudy date, stretched from its 2nd to 98th percentile;
//! - S1A/S1D: VV/VH/(VV/VH) of the first date with data, stretched the same way;
//! - TARGET (all channels, or a class band that cannot hold a colour table): band 1 as paletted
//!   classes with the PASTIS colours and names.

use crate::model::classes::{CLASS_COLORS, CLASS_NAMES, S1_BANDS, S2_BANDS, S2_NODATA};
use crate::model::{Array, Layer};
use crate::{Error, Result};
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// A frame is a candidate for "least cloudy" if at most this share of it is no-data (as the
/// previews choose).
const MAX_NODATA_SHARE: f64 = 0.1;

/// The cumulative cut of the stretch, as QGIS's own default: 2 % to 98 %.
const CUT: (f64, f64) = (0.02, 0.98);

/// What one frame of a series looks like: the share of valid pixels, the mean of its first
/// composite channel (blue for S2: clouds are bright) and the stretch of its three channels.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameSummary {
    /// Share of pixels that are not no-data (S2: -10000; S1: NaN), 0..1.
    pub valid: f64,
    /// Mean of the valid pixels of the blue channel (S2 B2) or VV (S1).
    pub brightness: f64,
    /// 2nd percentile of the red, green and blue channels of the composite.
    pub low: [f64; 3],
    /// 98th percentile of the same.
    pub high: [f64; 3],
}

/// The frames of one patch's series, in order.
pub type SeriesSummary = Vec<FrameSummary>;

/// Which channels of a series frame make red, green and blue (0-based), if the layer has a
/// default composite: S2 `(T,10,H,W)` → B4, B3, B2; S1 `(T,3,H,W)` → VV, VH, VV/VH.
pub fn composite_channels(layer: Layer, shape: &[usize]) -> Option<[usize; 3]> {
    let [_, channels, _, _] = shape else {
        return None;
    };
    match layer {
        Layer::S2 if *channels == S2_BANDS.len() => Some([2, 1, 0]),
        Layer::S1A | Layer::S1D if *channels == S1_BANDS.len() => Some([0, 1, 2]),
        _ => None,
    }
}

/// Per frame, the valid share, brightness and stretch of a stored S2/S1 series array (S1 also as
/// float16, the same values as its Float32); `None` for other layers and shapes.
///
/// This runs on every frame of every patch of a GeoTIFF export, so it is one pass over each
/// composite plane of a frame (three planes of `H x W`, never the whole series) that keeps the
/// plane's finite values as order keys ([`OrderKey`]) in a buffer reused across planes and frames;
/// the percentiles are then selected among the keys: by a two-level byte histogram for int16 and
/// float16, by `select_nth_unstable` for wider types. The values are exactly those of sorting the
/// f64 values with `f64::total_cmp` (tested), for a fraction of the CPU (bench/RESULTS.md,
/// "GeoTIFF styles").
pub fn summarise(layer: Layer, stored: &Array) -> Option<SeriesSummary> {
    let shape = stored.shape();
    let rgb = composite_channels(layer, shape)?;
    let dims = Dims {
        channels: shape[1],
        plane: shape[2] * shape[3],
        rgb,
        // Clouds are brightest in blue: the blue channel is the third of S2's composite.
        bright: if layer == Layer::S2 { 2 } else { 0 },
    };
    match stored {
        Array::I16(a) => Some(summarise_as(a, dims, |v| {
            (v != S2_NODATA).then_some((Key16::<false>((v as u16) ^ 0x8000), f64::from(v)))
        })),
        Array::F16(a) => Some(summarise_as(a, dims, |v| {
            v.is_finite()
                .then(|| (Key16::<true>(f16_key(v)), v.to_f64()))
        })),
        Array::F32(a) => Some(summarise_as(a, dims, |v| {
            v.is_finite().then(|| (f64_key(f64::from(v)), f64::from(v)))
        })),
        Array::F64(a) => Some(summarise_as(a, dims, |v| {
            v.is_finite().then(|| (f64_key(v), v))
        })),
        _ => None,
    }
}

/// Where a frame's composite planes are in a series `(T, channels, H, W)`.
#[derive(Clone, Copy)]
struct Dims {
    channels: usize,
    /// `H * W`.
    plane: usize,
    rgb: [usize; 3],
    /// Which of the three composite channels gives the brightness.
    bright: usize,
}

/// [`summarise`] for a series of element type `T`; `key` gives a finite, valid element's order
/// key and f64 value, `None` for no-data.
fn summarise_as<T: Copy, K: OrderKey>(
    a: &ndarray::ArrayD<T>,
    dims: Dims,
    key: impl Fn(T) -> Option<(K, f64)>,
) -> SeriesSummary {
    let contiguous = a.as_slice();
    let frames = a.shape()[0];
    let mut keys = Vec::with_capacity(dims.plane);
    (0..frames)
        .map(|t| {
            let mut valid = usize::MAX;
            let mut brightness = f64::INFINITY;
            let (mut low, mut high) = ([0.0; 3], [0.0; 3]);
            for (i, c) in dims.rgb.into_iter().enumerate() {
                let start = (t * dims.channels + c) * dims.plane;
                keys.clear();
                // -0.0, where `Iterator::sum` of f64 starts.
                let mut sum = -0.0;
                let mut push = |v: T| {
                    if let Some((k, v)) = key(v) {
                        sum += v;
                        keys.push(k);
                    }
                };
                match contiguous {
                    Some(all) => all[start..start + dims.plane].iter().for_each(|&v| push(v)),
                    None => a.iter().skip(start).take(dims.plane).for_each(|&v| push(v)),
                }
                valid = valid.min(keys.len());
                if i == dims.bright && !keys.is_empty() {
                    brightness = sum / keys.len() as f64;
                }
                (low[i], high[i]) = cumulative_cut(&mut keys);
            }
            FrameSummary {
                valid: valid as f64 / dims.plane.max(1) as f64,
                brightness,
                low,
                high,
            }
        })
        .collect()
}

/// An integer standing for a finite value, ordered as `f64::total_cmp` orders the values.
trait OrderKey: Copy {
    /// The value the key stands for.
    fn value(self) -> f64;
    /// The keys of ranks `ranks[0] <= ranks[1]` (0-based, ascending) among `keys`, which may be
    /// reordered; `keys` is not empty and the ranks are below its length.
    fn select(keys: &mut [Self], ranks: [usize; 2]) -> [Self; 2];
}

/// A 16-bit order key: an int16 offset by 0x8000 (`FLOAT16` false) or a float16's [`f16_key`].
/// Selected by a histogram of the high byte, then one of the low byte among the keys of the
/// bucket holding the rank: three linear passes.
#[derive(Clone, Copy)]
struct Key16<const FLOAT16: bool>(u16);

impl<const FLOAT16: bool> OrderKey for Key16<FLOAT16> {
    fn value(self) -> f64 {
        let bits = (self.0 ^ 0x8000) as i16;
        if FLOAT16 {
            half::f16::from_bits(total_order16(bits) as u16).to_f64()
        } else {
            f64::from(bits)
        }
    }

    fn select(keys: &mut [Self], ranks: [usize; 2]) -> [Self; 2] {
        let mut high = [0usize; 256];
        keys.iter().for_each(|k| high[usize::from(k.0 >> 8)] += 1);
        ranks.map(|rank| {
            let (bucket, below) = locate(&high, rank);
            let mut low = [0usize; 256];
            keys.iter()
                .filter(|k| usize::from(k.0 >> 8) == bucket)
                .for_each(|k| low[usize::from(k.0 & 0xFF)] += 1);
            let (byte, _) = locate(&low, rank - below);
            Key16((bucket << 8 | byte) as u16)
        })
    }
}

/// f64 keys ([`f64_key`]), selected by `select_nth_unstable`.
impl OrderKey for i64 {
    fn value(self) -> f64 {
        f64::from_bits(total_order64(self) as u64)
    }

    fn select(keys: &mut [i64], [lo, hi]: [usize; 2]) -> [i64; 2] {
        let (_, &mut low, above) = keys.select_nth_unstable(lo);
        // Everything after position `lo` is now at least `low`: the other is selected among those.
        let high = if hi > lo {
            *above.select_nth_unstable(hi - lo - 1).1
        } else {
            low
        };
        [low, high]
    }
}

/// The bucket of a histogram holding the element of rank `rank`, and how many elements the
/// buckets before it hold.
fn locate(histogram: &[usize; 256], rank: usize) -> (usize, usize) {
    let mut below = 0;
    for (bucket, &count) in histogram.iter().enumerate() {
        if rank < below + count {
            return (bucket, below);
        }
        below += count;
    }
    unreachable!("rank {rank} beyond the {below} elements of the histogram")
}

/// The order key of a finite float16: [`total_order16`] of its bits, offset by 0x8000 to order
/// as unsigned.
fn f16_key(v: half::f16) -> u16 {
    (total_order16(v.to_bits() as i16) as u16) ^ 0x8000
}

/// The order key of a finite f64: [`total_order64`] of its bits.
fn f64_key(v: f64) -> i64 {
    total_order64(v.to_bits() as i64)
}

/// The transform `f64::total_cmp` applies to a float's bits (as a signed integer): the magnitude
/// bits flipped when the sign bit is set, so that the integers order as the floats. It is its own
/// inverse. For 64-bit floats.
fn total_order64(bits: i64) -> i64 {
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// [`total_order64`] for 16-bit floats.
fn total_order16(bits: i16) -> i16 {
    bits ^ (((bits >> 15) as u16) >> 1) as i16
}

/// The 2nd and 98th percentiles of the values whose keys are `keys` (0, 1 when there are none);
/// reorders `keys`.
fn cumulative_cut<K: OrderKey>(keys: &mut [K]) -> (f64, f64) {
    let Some(last) = keys.len().checked_sub(1) else {
        return (0.0, 1.0);
    };
    let at = |q: f64| ((last as f64) * q).round() as usize;
    let [low, high] = K::select(keys, [at(CUT.0), at(CUT.1)]).map(K::value);
    if high > low {
        (low, high)
    } else {
        (low, low + 1.0)
    }
}

/// The composite of a series shown by default: its frame, its 1-based bands and stretch.
#[derive(Clone, Debug, PartialEq)]
pub struct Composite {
    /// The frame (date index) shown.
    pub frame: usize,
    /// Red, green and blue bands, 1-based (`frame * channels + channel + 1`).
    pub bands: [usize; 3],
    /// Stretch minimum per band.
    pub low: [f64; 3],
    /// Stretch maximum per band.
    pub high: [f64; 3],
}

/// The default composite over the series of one or more patches of the same dates (a mosaic):
/// for S2 the least cloudy frame (lowest mean blue among frames at most 10 % no-data, else the
/// most complete), for S1 the first frame at most 10 % no-data (else the most complete); the
/// stretch spans the patches' 2nd to 98th percentiles. `None` without frames.
pub fn composite(layer: Layer, shape: &[usize], series: &[&SeriesSummary]) -> Option<Composite> {
    let rgb = composite_channels(layer, shape)?;
    let frames = shape[0];
    let known: Vec<&&SeriesSummary> = series.iter().filter(|s| s.len() == frames).collect();
    if frames == 0 || known.is_empty() {
        return None;
    }
    let mean = |t: usize, f: &dyn Fn(&FrameSummary) -> f64| {
        known.iter().map(|s| f(&s[t])).sum::<f64>() / known.len() as f64
    };
    let complete: Vec<usize> = (0..frames)
        .filter(|&t| mean(t, &|f| f.valid) >= 1.0 - MAX_NODATA_SHARE)
        .collect();
    let frame = match (layer, complete.as_slice()) {
        (Layer::S2, [_, ..]) => complete
            .iter()
            .copied()
            .min_by(|&a, &b| mean(a, &|f| f.brightness).total_cmp(&mean(b, &|f| f.brightness))),
        (_, [first, ..]) => Some(*first),
        (_, []) => {
            (0..frames).max_by(|&a, &b| mean(a, &|f| f.valid).total_cmp(&mean(b, &|f| f.valid)))
        }
    }?;
    let fold = |i: usize, pick: fn(&FrameSummary) -> [f64; 3], lower: bool| {
        let values = known.iter().map(|s| pick(&s[frame])[i]);
        if lower {
            values.fold(f64::INFINITY, f64::min)
        } else {
            values.fold(f64::NEG_INFINITY, f64::max)
        }
    };
    let channels = shape[1];
    Some(Composite {
        frame,
        bands: rgb.map(|c| frame * channels + c + 1),
        low: [0, 1, 2].map(|i| fold(i, |f| f.low, true)),
        high: [0, 1, 2].map(|i| fold(i, |f| f.high, false)),
    })
}

/// A composite for a series no patch summary describes (a mosaic written after `--resume` over
/// patches of an earlier run): the first frame, with a stretch typical of the data (S2
/// reflectance x 10000: 0..2500; S1 dB: VV -25..0, VH -30..-5, VV/VH 0..15).
pub fn typical_composite(layer: Layer, shape: &[usize]) -> Option<Composite> {
    let rgb = composite_channels(layer, shape)?;
    let (low, high) = match layer {
        Layer::S2 => ([0.0; 3], [2500.0; 3]),
        _ => ([-25.0, -30.0, 0.0], [0.0, -5.0, 15.0]),
    };
    Some(Composite {
        frame: 0,
        bands: rgb.map(|c| c + 1),
        low,
        high,
    })
}

/// The `.qml` beside a raster: `S2/S2_10000.tif` → `S2/S2_10000.qml`.
pub fn qml_path(raster: &Path) -> PathBuf {
    raster.with_extension("qml")
}

/// Writes `qml` beside `raster`.
pub fn write_qml(raster: &Path, qml: &str) -> Result<()> {
    let path = qml_path(raster);
    std::fs::write(&path, qml).map_err(|e| Error::io(&path, e))
}

/// A QGIS style drawing bands of a composite as red, green and blue, stretched to min/max.
pub fn multiband_qml(c: &Composite) -> String {
    let mut enhancements = String::new();
    for (i, colour) in ["red", "green", "blue"].iter().enumerate() {
        let _ = write!(
            enhancements,
            "\n      <{colour}ContrastEnhancement>\n        <minValue>{}</minValue>\n        \
             <maxValue>{}</maxValue>\n        <algorithm>StretchToMinimumMaximum</algorithm>\n      \
             </{colour}ContrastEnhancement>",
            c.low[i], c.high[i]
        );
    }
    let [r, g, b] = c.bands;
    let renderer = format!(
        "<rasterrenderer type=\"multibandcolor\" opacity=\"1\" alphaBand=\"-1\" \
         redBand=\"{r}\" greenBand=\"{g}\" blueBand=\"{b}\" nodataColor=\"\">\n      \
         <rasterTransparency/>\n      <minMaxOrigin>\n        <limits>CumulativeCut</limits>\n        \
         <extent>WholeRaster</extent>\n        <statAccuracy>Exact</statAccuracy>\n        \
         <cumulativeCutLower>{}</cumulativeCutLower>\n        \
         <cumulativeCutUpper>{}</cumulativeCutUpper>\n        <stdDevFactor>2</stdDevFactor>\n      \
         </minMaxOrigin>{enhancements}\n    </rasterrenderer>",
        CUT.0, CUT.1
    );
    document(&renderer)
}

/// A QGIS style drawing `band` as the PASTIS classes: colours and names of classes 0..19.
pub fn paletted_qml(band: usize) -> String {
    let mut entries = String::new();
    for (value, ([r, g, b], name)) in CLASS_COLORS.iter().zip(CLASS_NAMES).enumerate() {
        let _ = write!(
            entries,
            "\n        <paletteEntry value=\"{value}\" color=\"#{r:02x}{g:02x}{b:02x}\" \
             alpha=\"255\" label=\"{}\"/>",
            xml_escape(name)
        );
    }
    let renderer = format!(
        "<rasterrenderer type=\"paletted\" opacity=\"1\" alphaBand=\"-1\" band=\"{band}\" \
         nodataColor=\"\">\n      <rasterTransparency/>\n      \
         <colorPalette>{entries}\n      </colorPalette>\n    </rasterrenderer>"
    );
    document(&renderer)
}

/// A `.qml` document holding a raster renderer (the Symbology category only).
fn document(renderer: &str) -> String {
    format!(
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n\
         <qgis version=\"3.22.16-Białowieża\" styleCategories=\"Symbology\">\n  <pipe>\n    \
         {renderer}\n    <brightnesscontrast brightness=\"0\" contrast=\"0\" gamma=\"1\"/>\n    \
         <rasterresampler maxOversampling=\"2\"/>\n  </pipe>\n  <blendMode>0</blendMode>\n</qgis>\n"
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    fn s2(frames: usize, f: impl Fn(usize, usize) -> i16) -> Array {
        let (h, w) = (4, 5);
        let data = (0..frames * 10 * h * w)
            .map(|i| f(i / (10 * h * w), i / (h * w) % 10))
            .collect();
        Array::I16(ArrayD::from_shape_vec(IxDyn(&[frames, 10, h, w]), data).unwrap())
    }

    #[test]
    fn s2_shows_the_least_cloudy_complete_date_in_true_colour() {
        // Frame 0 is bright (cloudy), frame 1 clear, frame 2 clearest but all no-data.
        let a = s2(3, |t, c| match t {
            0 => 5000 + c as i16,
            1 => 300 + 10 * c as i16,
            _ => S2_NODATA,
        });
        let summary = summarise(Layer::S2, &a).unwrap();
        assert_eq!(summary.len(), 3);
        assert_eq!(summary[2].valid, 0.0);
        let c = composite(Layer::S2, a.shape(), &[&summary]).unwrap();
        assert_eq!(c.frame, 1);
        assert_eq!(c.bands, [13, 12, 11]);
        assert_eq!(c.low, [320.0, 310.0, 300.0]);
        assert_eq!(
            c.high,
            [321.0, 311.0, 301.0],
            "a flat band still gets a range"
        );
        let qml = multiband_qml(&c);
        assert!(
            qml.contains("redBand=\"13\" greenBand=\"12\" blueBand=\"11\""),
            "{qml}"
        );
        assert!(qml.contains("<minValue>320</minValue>"), "{qml}");
    }

    /// The percentiles and means as the f64 values and `f64::total_cmp` define them, by sorting.
    fn reference_cut(values: &[f64]) -> (f64, f64) {
        let mut v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if v.is_empty() {
            return (0.0, 1.0);
        }
        v.sort_by(f64::total_cmp);
        let last = v.len() - 1;
        let at = |q: f64| v[((last as f64) * q).round() as usize];
        let (low, high) = (at(CUT.0), at(CUT.1));
        if high > low {
            (low, high)
        } else {
            (low, low + 1.0)
        }
    }

    #[test]
    fn stretch_and_brightness_equal_sorting_the_f64_values() {
        // A pseudo-random series with no-data, NaN, infinities, -0.0 and ties, as i16, f16, f32.
        let (frames, h, w) = (4, 7, 9);
        let n = frames * 3 * h * w;
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let raw: Vec<f64> = (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                match (x % 40, i % 5) {
                    (0, _) => f64::NAN,
                    (1, _) => f64::INFINITY,
                    (2, _) => -0.0,
                    (_, 0) => 250.0,
                    _ => (x % 6000) as f64 - 3000.0,
                }
            })
            .collect();
        let shape = IxDyn(&[frames, 3, h, w]);
        let to = |f: &dyn Fn(f64) -> f64| raw.iter().map(|&v| f(v)).collect::<Vec<f64>>();
        let cases: Vec<(Array, Vec<f64>)> = vec![
            (
                Array::F32(
                    ArrayD::from_shape_vec(shape.clone(), raw.iter().map(|&v| v as f32).collect())
                        .unwrap(),
                ),
                raw.clone(),
            ),
            (
                Array::F16(
                    ArrayD::from_shape_vec(
                        shape.clone(),
                        raw.iter().map(|&v| half::f16::from_f64(v)).collect(),
                    )
                    .unwrap(),
                ),
                to(&|v| half::f16::from_f64(v).to_f64()),
            ),
        ];
        for (stored, values) in cases {
            let summary = summarise(Layer::S1A, &stored).unwrap();
            let plane = h * w;
            for (t, frame) in summary.iter().enumerate() {
                let planes: Vec<&[f64]> = (0..3)
                    .map(|c| &values[(t * 3 + c) * plane..(t * 3 + c + 1) * plane])
                    .collect();
                let finite: Vec<f64> = planes[0]
                    .iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .collect();
                let valid = planes
                    .iter()
                    .map(|p| p.iter().filter(|v| v.is_finite()).count())
                    .min();
                assert_eq!(frame.valid, valid.unwrap() as f64 / plane as f64);
                assert_eq!(
                    frame.brightness,
                    finite.iter().sum::<f64>() / finite.len() as f64
                );
                for (c, values) in planes.iter().enumerate() {
                    let (low, high) = reference_cut(values);
                    assert_eq!(
                        (frame.low[c].to_bits(), frame.high[c].to_bits()),
                        (low.to_bits(), high.to_bits())
                    );
                }
            }
        }
        // S2: int16 with -10000 no-data, blue (channel 0, the composite's third) for brightness.
        let a = s2(3, |t, c| match (t + c) % 4 {
            0 => S2_NODATA,
            1 => -5,
            _ => (t * 100 + c * 7) as i16,
        });
        let summary = summarise(Layer::S2, &a).unwrap();
        let Array::I16(values) = &a else {
            unreachable!()
        };
        let values: Vec<f64> = values
            .iter()
            .map(|&v| {
                if v == S2_NODATA {
                    f64::NAN
                } else {
                    f64::from(v)
                }
            })
            .collect();
        let plane = 4 * 5;
        for (t, frame) in summary.iter().enumerate() {
            let channel = |c: usize| &values[(t * 10 + c) * plane..(t * 10 + c + 1) * plane];
            for (i, c) in [2, 1, 0].into_iter().enumerate() {
                let (low, high) = reference_cut(channel(c));
                assert_eq!((frame.low[i], frame.high[i]), (low, high));
            }
            let blue: Vec<f64> = channel(0)
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            let brightness = if blue.is_empty() {
                f64::INFINITY
            } else {
                blue.iter().sum::<f64>() / blue.len() as f64
            };
            assert_eq!(frame.brightness, brightness);
        }
    }

    #[test]
    fn palette_has_every_class() {
        let qml = paletted_qml(1);
        assert_eq!(qml.matches("<paletteEntry").count(), 20);
        assert!(
            qml.contains("value=\"2\" color=\"#ff7f0e\" alpha=\"255\" label=\"Soft winter wheat\"")
        );
        assert!(composite_channels(Layer::S2, &[3, 10, 4, 4]).is_some());
        assert!(composite_channels(Layer::S2, &[3, 9, 4, 4]).is_none());
        assert_eq!(qml_path(Path::new("S2/S2_1.tif")), Path::new("S2/S2_1.qml"));
        let typical = typical_composite(Layer::S1A, &[4, 3, 1, 1]).unwrap();
        assert_eq!(typical.bands, [1, 2, 3]);
        assert!(typical.low.iter().zip(typical.high).all(|(l, h)| *l < h));
    }
}
