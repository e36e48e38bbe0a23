//! The tracer on nasty rasters: every geometry valid (geo and GEOS), areas equal pixel counts.

use super::*;
use crate::parcels::geometry::to_multipolygon;
use gdal::vector::ToGdal;
use geo::Validation;
use ndarray::Array2;
use rand::{Rng, SeedableRng};

const IDENTITY: [f64; 6] = [0.0, 1.0, 0.0, 0.0, 0.0, 1.0];

/// A raster from text rows: `.` is 0, a digit its value, a letter 10 + its position.
fn raster(rows: &[&str]) -> Array2<i64> {
    let w = rows[0].len();
    Array2::from_shape_fn((rows.len(), w), |(r, c)| match rows[r].as_bytes()[c] {
        b'.' => 0,
        b @ b'0'..=b'9' => (b - b'0') as i64,
        b => (b - b'a') as i64 + 10,
    })
}

/// Traces and checks every invariant; returns the shapes.
fn check(labels: &Array2<i64>) -> Vec<LabelShape> {
    let shapes = trace(labels.view());
    let mut total = 0;
    for shape in &shapes {
        let count = labels.iter().filter(|&&v| v == shape.label).count() as u64;
        assert_eq!(shape.pixels, count, "label {}", shape.label);
        let mut area2 = 0;
        for p in &shape.polygons {
            check_ring(&p.exterior, true);
            area2 += ring_area2(&p.exterior);
            for h in &p.holes {
                check_ring(h, false);
                area2 += ring_area2(h);
            }
        }
        assert_eq!(area2, 2 * count as i64, "area of label {}", shape.label);
        let mp = to_multipolygon(shape, &IDENTITY);
        assert!(
            mp.is_valid(),
            "geo: {:?}\n{:?}",
            mp.validation_errors(),
            shape
        );
        let gdal = mp.to_gdal().expect("to GDAL");
        assert!(gdal.is_valid(), "GEOS says invalid: {shape:?}");
        total += count;
    }
    assert_eq!(total, labels.iter().filter(|&&v| v != 0).count() as u64);
    shapes
}

/// Closed, simple (no vertex twice), no collinear vertex, oriented by role.
fn check_ring(ring: &[[i32; 2]], exterior: bool) {
    assert!(ring.len() >= 5 && ring.first() == ring.last(), "{ring:?}");
    let open = &ring[..ring.len() - 1];
    let mut seen = open.to_vec();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), open.len(), "ring touches itself: {ring:?}");
    let n = open.len();
    for i in 0..n {
        let (a, b, c) = (open[(i + n - 1) % n], open[i], open[(i + 1) % n]);
        let cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
        assert_ne!(cross, 0, "collinear vertex {b:?} in {ring:?}");
    }
    assert_eq!(ring_area2(ring) > 0, exterior, "{ring:?}");
}

fn shape(shapes: &[LabelShape], label: i64) -> &LabelShape {
    shapes
        .iter()
        .find(|s| s.label == label)
        .expect("label traced")
}

#[test]
fn one_pixel_is_a_square() {
    let shapes = check(&raster(&["...", ".1.", "..."]));
    assert_eq!(
        shapes[0].polygons[0].exterior,
        vec![[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]
    );
}

#[test]
fn strip_has_four_corners() {
    for rows in [&["1111111"][..], &["1", "1", "1", "1"]] {
        let shapes = check(&raster(rows));
        assert_eq!(shapes[0].polygons[0].exterior.len(), 5);
    }
}

#[test]
fn hole_is_an_interior_ring() {
    let shapes = check(&raster(&["111", "1.1", "111"]));
    assert_eq!(shapes[0].polygons.len(), 1);
    assert_eq!(shapes[0].polygons[0].holes.len(), 1);
}

#[test]
fn island_in_a_hole_is_a_second_part() {
    let shapes = check(&raster(&["11111", "1...1", "1.1.1", "1...1", "11111"]));
    let s = shape(&shapes, 1);
    assert_eq!(s.polygons.len(), 2);
    assert_eq!(s.polygons[0].holes.len(), 1);
    assert!(s.polygons[1].holes.is_empty());
    let shapes = check(&raster(&[
        "1111111", "1.....1", "1.111.1", "1.1.1.1", "1.111.1", "1.....1", "1111111",
    ]));
    let s = shape(&shapes, 1);
    assert_eq!(
        (s.polygons[0].holes.len(), s.polygons[1].holes.len()),
        (1, 1)
    );
    let shapes = check(&raster(&["11111", "12221", "12321", "12221", "11111"]));
    assert_eq!(shape(&shapes, 2).polygons[0].holes.len(), 1);
}

#[test]
fn checkerboard_pixels_are_separate_parts() {
    let shapes = check(&raster(&["1212", "2121", "1212", "2121"]));
    assert_eq!(shape(&shapes, 1).polygons.len(), 8);
    assert_eq!(shape(&shapes, 2).polygons.len(), 8);
    let shapes = check(&raster(&["1.", ".1"]));
    assert_eq!(shapes[0].polygons.len(), 2);
}

#[test]
fn hole_touching_the_outline_at_a_corner_splits_rings() {
    // The background reaches the hole diagonally: exterior and hole meet at one vertex.
    let shapes = check(&raster(&[".11", "1.1", "111"]));
    assert_eq!(shapes[0].polygons.len(), 1);
    assert_eq!(shapes[0].polygons[0].holes.len(), 1);
    // Two holes meeting at a corner inside one region.
    let shapes = check(&raster(&["1111", "1.11", "11.1", "1111"]));
    assert_eq!(shapes[0].polygons[0].holes.len(), 2);
    // A region inside a plus-shaped hole, touching it at four corners.
    let shapes = check(&raster(&["11111", "11.11", "1.2.1", "11.11", "11111"]));
    assert_eq!(shape(&shapes, 1).polygons[0].holes.len(), 1);
}

#[test]
fn touching_labels_and_multipart_labels() {
    let shapes = check(&raster(&["1122", "1122", "3333", "1..1"]));
    assert_eq!(shape(&shapes, 1).polygons.len(), 3);
    assert_eq!(shape(&shapes, 3).polygons[0].exterior.len(), 5);
}

#[test]
fn random_rasters_keep_every_invariant() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    for _ in 0..300 {
        let (h, w) = (rng.random_range(1..24), rng.random_range(1..24));
        let labels = rng.random_range(1..5);
        let density = rng.random_range(0.2..1.0);
        let raster = Array2::from_shape_fn((h, w), |_| {
            if rng.random_bool(density) {
                rng.random_range(1..=labels)
            } else {
                0
            }
        });
        check(&raster);
    }
}
