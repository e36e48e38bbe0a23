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
/// float16, the same values as its Float32); `None` for
/// other layers and shapes. Only the three composite planes of a frame are converted to f64 at a
/// time (three planes of `H x W`), never the whole series (an S2 series as f64 is ~80 MB).
pub fn summarise(layer: Layer, stored: &Array) -> Option<SeriesSummary> {
    let shape = stored.shape();
    let rgb = composite_channels(layer, shape)?;
    let (frames, channels, plane) = (shape[0], shape[1], shape[2] * shape[3]);
    let mut planes: [Vec<f64>; 3] = Default::default();
    (0..frames)
        .map(|t| {
            for (values, c) in planes.iter_mut().zip(rgb) {
                plane_values(stored, (t * channels + c) * plane, plane, values)?;
            }
            Some(frame_summary(planes.each_ref().map(Vec::as_slice), layer))
        })
        .collect()
}

/// Fills `out` with the `len` pixels of a stored series from element `start` (C order) as f64,
/// no-data as NaN (S2 -10000 is no-data); `None` for a type with no composite.
fn plane_values(stored: &Array, start: usize, len: usize, out: &mut Vec<f64>) -> Option<()> {
    out.clear();
    match stored {
        Array::I16(a) => extend_plane(out, a, start, len, |v| {
            if v == S2_NODATA {
                f64::NAN
            } else {
                f64::from(v)
            }
        }),
        Array::F16(a) => extend_plane(out, a, start, len, half::f16::to_f64),
        Array::F32(a) => extend_plane(out, a, start, len, f64::from),
        Array::F64(a) => extend_plane(out, a, start, len, |v| v),
        _ => return None,
    }
    Some(())
}

/// Appends elements `start..start + len` (C order) of `a`, converted by `f`.
fn extend_plane<T: Copy>(
    out: &mut Vec<f64>,
    a: &ndarray::ArrayD<T>,
    start: usize,
    len: usize,
    f: impl Fn(T) -> f64,
) {
    match a.as_slice() {
        Some(all) => out.extend(all.iter().skip(start).take(len).map(|&v| f(v))),
        None => out.extend(a.iter().skip(start).take(len).map(|&v| f(v))),
    }
}

fn frame_summary(planes: [&[f64]; 3], layer: Layer) -> FrameSummary {
    let valid_of = |p: &[f64]| p.iter().filter(|v| v.is_finite()).count();
    let total = planes[0].len().max(1) as f64;
    let valid = planes.iter().map(|p| valid_of(p)).min().unwrap_or(0) as f64 / total;
    // Clouds are brightest in blue: the blue channel is the third of S2's composite.
    let bright = if layer == Layer::S2 {
        planes[2]
    } else {
        planes[0]
    };
    let finite: Vec<f64> = bright.iter().copied().filter(|v| v.is_finite()).collect();
    let brightness = if finite.is_empty() {
        f64::INFINITY
    } else {
        finite.iter().sum::<f64>() / finite.len() as f64
    };
    let cut = planes.map(cumulative_cut);
    FrameSummary {
        valid,
        brightness,
        low: cut.map(|c| c.0),
        high: cut.map(|c| c.1),
    }
}

/// The 2nd and 98th percentiles of the finite values (0, 1 when there are none).
fn cumulative_cut(plane: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = plane.iter().copied().filter(|v| v.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    let last = v.len() - 1;
    let at = |q: f64| ((last as f64) * q).round() as usize;
    let (lo, hi) = (at(CUT.0), at(CUT.1));
    let low = *v.select_nth_unstable_by(lo, f64::total_cmp).1;
    let high = *v.select_nth_unstable_by(hi, f64::total_cmp).1;
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
