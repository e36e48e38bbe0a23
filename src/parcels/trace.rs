//! The edge tracer: a label raster to polygons along pixel edges, in pixel coordinates.
//!
//! One pass labels 4-connected regions and marks every boundary edge as a directed edge with its
//! region on the right (screen coordinates, y down). Edges are chained with a fixed rule — at a
//! vertex, turn right if the region continues there, else go straight, else turn left — which keeps
//! diagonal pixels of a region apart (4-connectivity). A chain that passes a vertex twice (the
//! region's complement touches itself diagonally there) is split into simple rings at that vertex.
//! Clockwise rings on screen (positive area with y down) are exteriors, the others holes; each hole
//! belongs to the exterior of its own region. Collinear vertices are dropped.

use ndarray::ArrayView2;

/// A closed ring of pixel-corner vertices `[x = column, y = row]` (first == last), without
/// collinear vertices. Exteriors turn clockwise on screen (y down), holes counter-clockwise.
pub type PixelRing = Vec<[i32; 2]>;

/// One 4-connected region: its outline and its holes, in pixel coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PixelPolygon {
    /// The outer ring.
    pub exterior: PixelRing,
    /// The holes, each a simple ring that may touch the exterior or another hole at a vertex.
    pub holes: Vec<PixelRing>,
}

/// Every region of one label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelShape {
    /// The label value.
    pub label: i64,
    /// Its pixel count.
    pub pixels: u64,
    /// One polygon per 4-connected region, in raster scan order of their first pixel.
    pub polygons: Vec<PixelPolygon>,
}

// Directions, clockwise on screen: a right turn is +1.
const EAST: u8 = 0;
const SOUTH: u8 = 1;
const WEST: u8 = 2;
const NORTH: u8 = 3;

/// Traces every non-zero label of `labels` (rows x columns); 0 is background. Sorted by label.
pub fn trace(labels: ArrayView2<i64>) -> Vec<LabelShape> {
    let grid = Grid::new(labels);
    let rings = grid.rings();
    grid.assemble(rings)
}

/// Twice the signed area of a closed ring (positive for exteriors, y down).
pub fn ring_area2(ring: &[[i32; 2]]) -> i64 {
    ring.windows(2)
        .map(|p| p[0][0] as i64 * p[1][1] as i64 - p[1][0] as i64 * p[0][1] as i64)
        .sum()
}

/// The label raster with its 4-connected components and boundary edges.
///
/// Pixels are stored with a one-pixel border of background, pixel (row, col) at
/// `(row + 1) * s + col + 1` with stride `s = w + 2`; vertex (x, y) is at `y * s + x`, so the four
/// pixels around vertex `v` are at `v` (NW), `v + 1` (NE), `v + s` (SW) and `v + s + 1` (SE),
/// with no bounds checks.
struct Grid {
    /// The stride of both pixels and vertices.
    s: usize,
    /// Component of each (padded) pixel, 0 for background, else 1-based.
    comp: Vec<u32>,
    /// Label and pixel count of each component (index = component - 1).
    comps: Vec<(i64, u64)>,
    /// Per vertex: bit `d` set when a boundary edge leaves it heading `d`.
    out: Vec<u8>,
}

impl Grid {
    fn new(labels: ArrayView2<i64>) -> Grid {
        let (h, w) = labels.dim();
        let s = w + 2;
        let mut padded = vec![0i64; (h + 2) * s];
        for (r, row) in labels.outer_iter().enumerate() {
            let base = (r + 1) * s + 1;
            for (dst, &v) in padded[base..base + w].iter_mut().zip(row.iter()) {
                *dst = v;
            }
        }
        let (comp, comps) = components(&padded, s);
        let out = boundary_edges(&padded, s, h);
        Grid {
            s,
            comp,
            comps,
            out,
        }
    }

    /// Components of the pixels NW, NE, SW, SE of vertex `v`.
    fn around(&self, v: usize) -> [u32; 4] {
        let s = self.s;
        [
            self.comp[v],
            self.comp[v + 1],
            self.comp[v + s],
            self.comp[v + s + 1],
        ]
    }

    /// Component on the right of the edge leaving vertex `v` heading `d`.
    fn right_comp(&self, v: usize, d: u8) -> u32 {
        let [nw, ne, sw, se] = self.around(v);
        [se, sw, nw, ne][d as usize]
    }

    /// The vertex reached from `v` heading `d`.
    fn step(&self, v: usize, d: u8) -> usize {
        match d {
            EAST => v + 1,
            SOUTH => v + self.s,
            WEST => v - 1,
            _ => v - self.s,
        }
    }

    /// The edge that follows one arriving at `v` heading `d` around component `k`: right turn,
    /// else straight, else left. An edge heading `n` exists for `k` when `k` is on its right and
    /// not on its left.
    fn next(&self, v: usize, d: u8, k: u32) -> Option<u8> {
        let [nw, ne, sw, se] = self.around(v);
        let right = [se, sw, nw, ne];
        let left = [ne, se, sw, nw];
        [(d + 1) % 4, d, (d + 3) % 4]
            .into_iter()
            .find(|&n| right[n as usize] == k && left[n as usize] != k)
    }

    /// Every simple ring, with the component it bounds.
    fn rings(&self) -> Vec<(u32, PixelRing)> {
        let mut out = self.out.clone();
        let mut rings = Vec::new();
        let mut splitter = Splitter::new(out.len());
        for v0 in 0..out.len() {
            while out[v0] != 0 {
                // The first vertex of a ring in scan order is its top-left corner.
                let d0 = out[v0].trailing_zeros() as u8;
                let k = self.right_comp(v0, d0);
                let walk = self.walk(&mut out, v0, d0, k);
                for ring in splitter.split(&walk) {
                    rings.push((k, self.coords(&ring)));
                }
            }
        }
        rings
    }

    /// Follows edges from the corner `(v0, d0)` until back to it, clearing them from `out`;
    /// returns the corners passed, each with the heading it is left by. A vertex passed twice
    /// (where the walk must be split) is always a corner: both passes turn right there.
    fn walk(&self, out: &mut [u8], v0: usize, d0: u8, k: u32) -> Vec<(usize, u8)> {
        let mut walk = vec![(v0, d0)];
        let (mut v, mut d) = (self.step(v0, d0), d0);
        // The successor rule is a bijection on the component's edges, so this returns to (v0, d0).
        while let Some(n) = self.next(v, d, k) {
            if (v, n) == (v0, d0) {
                break;
            }
            out[v] &= !(1 << n);
            if n != d {
                walk.push((v, n));
            }
            (v, d) = (self.step(v, n), n);
        }
        out[v0] &= !(1 << d0);
        walk
    }

    /// The corners of a simple ring as pixel-corner coordinates, closed.
    fn coords(&self, ring: &[(usize, u8)]) -> PixelRing {
        let mut pts: PixelRing = ring
            .iter()
            .map(|&(v, _)| [(v % self.s) as i32, (v / self.s) as i32])
            .collect();
        if let Some(&first) = pts.first() {
            pts.push(first);
        }
        pts
    }

    /// Groups rings into polygons per component and polygons into shapes per label.
    fn assemble(&self, rings: Vec<(u32, PixelRing)>) -> Vec<LabelShape> {
        let mut polys: Vec<Option<PixelPolygon>> = vec![None; self.comps.len()];
        let mut holes: Vec<Vec<PixelRing>> = vec![Vec::new(); self.comps.len()];
        for (k, ring) in rings {
            let i = k as usize - 1;
            if ring_area2(&ring) > 0 {
                debug_assert!(polys[i].is_none(), "one exterior per 4-connected region");
                polys[i] = Some(PixelPolygon {
                    exterior: ring,
                    holes: Vec::new(),
                });
            } else {
                holes[i].push(ring);
            }
        }
        let mut shapes: std::collections::BTreeMap<i64, LabelShape> = Default::default();
        for (i, (poly, hs)) in polys.into_iter().zip(holes).enumerate() {
            let Some(mut poly) = poly else { continue };
            poly.holes = hs;
            let (label, pixels) = self.comps[i];
            let shape = shapes.entry(label).or_insert_with(|| LabelShape {
                label,
                pixels: 0,
                polygons: Vec::new(),
            });
            shape.pixels += pixels;
            shape.polygons.push(poly);
        }
        shapes.into_values().collect()
    }
}

/// 4-connected components of non-zero pixels of a padded raster of stride `s`: the component
/// of each pixel and (label, count) of each component.
fn components(padded: &[i64], s: usize) -> (Vec<u32>, Vec<(i64, u64)>) {
    let mut comp = vec![0u32; padded.len()];
    let mut comps = Vec::new();
    let mut stack = Vec::new();
    for start in 0..padded.len() {
        let label = padded[start];
        if label == 0 || comp[start] != 0 {
            continue;
        }
        comps.push((label, 0u64));
        let id = comps.len() as u32;
        comp[start] = id;
        stack.push(start);
        let mut count = 0;
        while let Some(p) = stack.pop() {
            count += 1;
            // The border is background, so the neighbours of a labelled pixel are in bounds.
            for q in [p - s, p - 1, p + 1, p + s] {
                if comp[q] == 0 && padded[q] == label {
                    comp[q] = id;
                    stack.push(q);
                }
            }
        }
        comps[id as usize - 1].1 = count;
    }
    (comp, comps)
}

/// Per vertex, the directed boundary edges leaving it (region on the right).
fn boundary_edges(padded: &[i64], s: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; (h + 1) * s];
    for p in s..padded.len() - s {
        let l = padded[p];
        if l == 0 {
            continue;
        }
        // Pixel p has its top-left vertex at p - s - 1.
        if padded[p - s] != l {
            out[p - s - 1] |= 1 << EAST;
        }
        if padded[p + 1] != l {
            out[p - s] |= 1 << SOUTH;
        }
        if padded[p + s] != l {
            out[p] |= 1 << WEST;
        }
        if padded[p - 1] != l {
            out[p - 1] |= 1 << NORTH;
        }
    }
    out
}

/// Splits closed walks into simple rings at repeated vertices.
struct Splitter {
    /// Per vertex, 1 + its position on the stack, 0 when not on it.
    on_stack: Vec<usize>,
    stack: Vec<(usize, u8)>,
}

impl Splitter {
    fn new(vertices: usize) -> Splitter {
        Splitter {
            on_stack: vec![0; vertices],
            stack: Vec::new(),
        }
    }

    /// The simple rings of a closed walk of `(vertex, heading)` edges.
    fn split(&mut self, walk: &[(usize, u8)]) -> Vec<Vec<(usize, u8)>> {
        let mut rings = Vec::new();
        for &(v, d) in walk {
            if self.on_stack[v] != 0 {
                rings.push(self.pop_from(self.on_stack[v] - 1));
            }
            self.on_stack[v] = self.stack.len() + 1;
            self.stack.push((v, d));
        }
        rings.push(self.pop_from(0));
        rings
    }

    /// Removes and returns the stack from position `i` on.
    fn pop_from(&mut self, i: usize) -> Vec<(usize, u8)> {
        let ring = self.stack.split_off(i);
        for &(v, _) in &ring {
            self.on_stack[v] = 0;
        }
        ring
    }
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
