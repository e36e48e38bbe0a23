//! Scanline fill with the pixel-centre rule: a pixel takes a polygon's value when its centre lies
//! inside the polygon (even-odd over all rings), like GDALRasterizeLayers without ALL_TOUCHED.
//!
//! Polygons traced along pixel edges have every edge 0.5 pixel away from every centre, so the fill
//! gives back the traced pixels exactly even after a reprojection round trip.

use geo_types::{Coord, MultiPolygon};
use ndarray::Array2;

/// Burns `value` into `out` (rows x columns) wherever a pixel centre lies inside `mp`, whose
/// coordinates are fractional pixel coordinates (x = column, y = row). Returns the pixels burnt.
pub fn burn(out: &mut Array2<i64>, mp: &MultiPolygon<f64>, value: i64) -> u64 {
    let (h, w) = out.dim();
    let mut crossings: Vec<Vec<f64>> = vec![Vec::new(); h];
    let rings =
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()));
    for ring in rings {
        for e in ring.0.windows(2) {
            add_edge(&mut crossings, e[0], e[1]);
        }
    }
    let mut burnt = 0;
    for (row, xs) in crossings.iter_mut().enumerate() {
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let (first, end) = (centre_index(pair[0], w), centre_index(pair[1], w));
            for col in first..end {
                out[[row, col]] = value;
                burnt += 1;
            }
        }
    }
    burnt
}

/// Records where the edge `a`-`b` crosses each row's centre line `y = row + 0.5`, half-open so a
/// vertex exactly on a centre line counts once.
fn add_edge(crossings: &mut [Vec<f64>], a: Coord<f64>, b: Coord<f64>) {
    if a.y == b.y || !(a.y.is_finite() && b.y.is_finite()) {
        return;
    }
    let (lo, hi) = if a.y < b.y { (a, b) } else { (b, a) };
    let first = centre_index(lo.y, crossings.len());
    let end = centre_index(hi.y, crossings.len());
    let slope = (hi.x - lo.x) / (hi.y - lo.y);
    for (row, xs) in crossings.iter_mut().enumerate().take(end).skip(first) {
        let y = row as f64 + 0.5;
        xs.push(lo.x + (y - lo.y) * slope);
    }
}

/// The first index `i` in `0..=n` whose centre `i + 0.5` is at or after `v`.
fn centre_index(v: f64, n: usize) -> usize {
    let i = (v - 0.5).ceil();
    if i.is_nan() || i <= 0.0 {
        0
    } else {
        (i as usize).min(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parcels::geometry::to_multipolygon;
    use crate::parcels::trace::trace;
    use rand::{Rng, SeedableRng};

    #[test]
    fn traced_polygons_burn_back_to_the_raster() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let identity = [0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        for _ in 0..200 {
            let (h, w) = (rng.random_range(1..30), rng.random_range(1..30));
            let labels = rng.random_range(1..6);
            let raster = Array2::from_shape_fn((h, w), |_| rng.random_range(0..=labels as i64));
            let mut out = Array2::zeros((h, w));
            for shape in trace(raster.view()) {
                let mp = to_multipolygon(&shape, &identity);
                assert_eq!(burn(&mut out, &mp, shape.label), shape.pixels);
            }
            assert_eq!(out, raster);
        }
    }

    #[test]
    fn centres_decide_and_tiny_errors_do_not_matter() {
        let square = |x0: f64, y0: f64, x1: f64, y1: f64| {
            MultiPolygon(vec![geo_types::Polygon::new(
                vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)].into(),
                vec![],
            )])
        };
        let mut out = Array2::zeros((4, 4));
        assert_eq!(
            burn(
                &mut out,
                &square(0.9999999, 1.0000001, 3.0000001, 2.999999),
                5
            ),
            4
        );
        assert_eq!(out.sum(), 20);
        let mut out = Array2::zeros((4, 4));
        assert_eq!(burn(&mut out, &square(-10.0, -10.0, 1.4, 9.0), 1), 4);
    }
}
