//! Satellite time series of a synthetic patch: per-parcel phenology curves by class, mixed
//! between soil and vegetation spectra, plus a static texture and grain, sensor noise, clouds
//! and no-data (Sentinel-2), or backscatter with speckle (Sentinel-1).

use super::parcels::ParcelMap;
use super::plan::day_offset;
use crate::model::Date;
use half::f16;
use ndarray::{Array4, ArrayD, Axis};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

/// Sentinel-2 bands B2, B3, B4, B5, B6, B7, B8, B8A, B11, B12: reflectance x 10000 of bare soil.
const SOIL: [f64; 10] = [
    900., 1100., 1300., 1600., 1800., 1900., 2000., 2100., 2600., 2000.,
];
/// The same bands over dense green vegetation.
const VEGETATION: [f64; 10] = [
    300., 600., 350., 900., 2500., 3200., 3600., 3700., 1600., 800.,
];
/// S2 no-data value.
pub const S2_NODATA: i16 = -10000;
/// Within-parcel heterogeneity (soil, plant density), the same on every date: the coefficient
/// of variation of a pixel's reflectance around its parcel's. Chosen so that the S2 files
/// deflate (level 6) about 1.3x, as the released PASTIS archives do (1.2-1.3x, issue #17);
/// without it they deflated 1.5x.
const S2_GRAIN: f32 = 0.08;

/// Phenology per class 0..18: (base, amplitude, peak day since 2018-09-01, width in days).
const PHENOLOGY: [(f64, f64, f64, f64); 19] = [
    (0.30, 0.10, 250., 120.),
    (0.45, 0.35, 250., 80.),
    (0.10, 0.80, 245., 45.),
    (0.08, 0.82, 335., 35.),
    (0.10, 0.78, 230., 40.),
    (0.15, 0.75, 215., 60.),
    (0.08, 0.75, 270., 30.),
    (0.08, 0.70, 320., 30.),
    (0.20, 0.40, 310., 50.),
    (0.08, 0.80, 330., 45.),
    (0.10, 0.78, 245., 45.),
    (0.10, 0.75, 240., 40.),
    (0.15, 0.55, 300., 50.),
    (0.08, 0.75, 310., 30.),
    (0.35, 0.50, 260., 70.),
    (0.08, 0.78, 345., 30.),
    (0.30, 0.45, 290., 70.),
    (0.12, 0.70, 250., 45.),
    (0.08, 0.72, 345., 35.),
];

/// How one parcel departs from its class: growth shift, vigour, brightness.
struct Habit {
    class: usize,
    shift: f64,
    vigour: f64,
    bright: f64,
}

fn habits(rng: &mut ChaCha8Rng, map: &ParcelMap) -> Vec<Habit> {
    map.parcels
        .iter()
        .map(|p| Habit {
            // Void parcels still grow something.
            class: if p.class >= 19 {
                rng.random_range(1..19)
            } else {
                p.class as usize
            },
            shift: rng.random_range(-15.0..15.0),
            vigour: rng.random_range(0.8..1.1),
            bright: rng.random_range(0.9..1.1),
        })
        .collect()
}

/// Vegetation fraction 0..1 of a parcel on a day.
fn greenness(h: &Habit, day: f64) -> f64 {
    let (base, amp, peak, width) = PHENOLOGY[h.class];
    let z = (day - peak - h.shift) / width;
    (base + amp * h.vigour * (-z * z).exp()).clamp(0.0, 1.0)
}

/// A smooth field in about [-1, 1] (sum of random plane waves), for texture and clouds.
fn smooth_field(rng: &mut ChaCha8Rng, size: usize, wavelength: f64) -> Vec<f32> {
    let waves: Vec<(f64, f64, f64)> = (0..3)
        .map(|_| {
            let f = std::f64::consts::TAU / (wavelength * rng.random_range(0.6..1.4));
            let a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            (
                f * a.cos(),
                f * a.sin(),
                rng.random_range(0.0..std::f64::consts::TAU),
            )
        })
        .collect();
    (0..size * size)
        .map(|p| {
            let (y, x) = ((p / size) as f64, (p % size) as f64);
            let s: f64 = waves
                .iter()
                .map(|(fy, fx, ph)| (fy * y + fx * x + ph).sin())
                .sum();
            (s / 3.0) as f32
        })
        .collect()
}

/// Fills `out` with triangular noise of standard deviation about `sigma`.
fn noise(rng: &mut ChaCha8Rng, out: &mut [f32], sigma: f32) {
    let scale = sigma / 104.5;
    for chunk in out.chunks_mut(4) {
        let bits = rng.next_u64().to_le_bytes();
        for (i, v) in chunk.iter_mut().enumerate() {
            *v = (bits[2 * i] as f32 + bits[2 * i + 1] as f32 - 255.0) * scale;
        }
    }
}

/// The S2 series `(T, 10, H, W)` int16 for these dates.
pub fn sentinel2(rng: &mut ChaCha8Rng, map: &ParcelMap, dates: &[Date]) -> ArrayD<i16> {
    let size = map.size;
    let habits = habits(rng, map);
    let texture = smooth_field(rng, size, 16.0);
    let mut grain = vec![0f32; size * size];
    noise(rng, &mut grain, S2_GRAIN);
    let mut out = Array4::<i16>::zeros((dates.len(), 10, size, size));
    let mut buf = vec![0f32; size * size];
    for (t, &d) in dates.iter().enumerate() {
        let day = day_offset(d);
        let cloud = rng.random_bool(0.2).then(|| {
            let f = smooth_field(rng, size, 30.0);
            let cover = rng.random_range(-0.6..0.8f32);
            (f, cover)
        });
        let nodata = rng
            .random_bool(0.1)
            .then(|| rng.random_range(1.6..1.95) * size as f64);
        let v: Vec<f64> = habits.iter().map(|h| greenness(h, day)).collect();
        for b in 0..10 {
            let table: Vec<f32> = habits
                .iter()
                .zip(&v)
                .map(|(h, v)| ((SOIL[b] * (1.0 - v) + VEGETATION[b] * v) * h.bright) as f32)
                .collect();
            noise(rng, &mut buf, 8.0);
            let gain = 20.0 + 4.0 * b as f32;
            let band = out.index_axis_mut(Axis(0), t);
            let mut band = band.index_axis_move(Axis(0), b);
            let plane = band.as_slice_mut().unwrap_or(&mut []);
            for (p, o) in plane.iter_mut().enumerate() {
                let surface = table[map.label[p] as usize] + texture[p] * gain;
                let mut value = surface * (1.0 + grain[p]) + buf[p];
                if let Some((f, cover)) = &cloud {
                    if f[p] > *cover {
                        value = 5000.0 + 2000.0 * (f[p] - cover) + buf[p] * 2.0;
                    }
                }
                let edge = nodata.is_some_and(|n| ((p / size) + (p % size)) as f64 > n);
                *o = if edge {
                    S2_NODATA
                } else {
                    value.round() as i16
                };
            }
        }
    }
    out.into_dyn()
}

/// An S1 series `(T, 3, H, W)` float16: VV, VH in dB and VV - VH.
pub fn sentinel1(rng: &mut ChaCha8Rng, map: &ParcelMap, dates: &[Date]) -> ArrayD<f16> {
    let size = map.size;
    let habits = habits(rng, map);
    let texture = smooth_field(rng, size, 16.0);
    let mut out = Array4::<f16>::from_elem((dates.len(), 3, size, size), f16::ZERO);
    let (mut vv_noise, mut vh_noise) = (vec![0f32; size * size], vec![0f32; size * size]);
    for (t, &d) in dates.iter().enumerate() {
        let day = day_offset(d);
        let wet: f64 = rng.random_range(-1.0..1.0);
        let vv: Vec<f32> = habits
            .iter()
            .map(|h| (-15.0 + 7.0 * greenness(h, day) + wet) as f32)
            .collect();
        let vh: Vec<f32> = habits
            .iter()
            .map(|h| (-23.0 + 9.0 * greenness(h, day) + wet) as f32)
            .collect();
        noise(rng, &mut vv_noise, 1.5);
        noise(rng, &mut vh_noise, 1.5);
        let mut frame = out.index_axis_mut(Axis(0), t);
        let planes = frame.as_slice_mut().unwrap_or(&mut []);
        let (vv_plane, rest) = planes.split_at_mut(size * size);
        let (vh_plane, ratio_plane) = rest.split_at_mut(size * size);
        for p in 0..size * size {
            let l = map.label[p] as usize;
            let a = vv[l] + texture[p] + vv_noise[p];
            let b = vh[l] + texture[p] + vh_noise[p];
            vv_plane[p] = f16::from_f32(a);
            vh_plane[p] = f16::from_f32(b);
            ratio_plane[p] = f16::from_f32(a - b);
        }
    }
    out.into_dyn()
}
