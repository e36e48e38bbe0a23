//! The edge tracer: a label raster to polygons along pixel edges, in pixel coordinates.
//!
//! One pass over the raster marks every boundary edge as a directed edge with its label on the
//! right (screen coordinates, y down). Edges are chained with a fixed rule — at a
//! vertex, turn right if the region continues there, else go straight, else turn left — which keeps
//! diagonal pixels of a region apart (4-connectivity). A chain that passes a vertex twice (the
//! region's complement touches itself diagonally there) is split into simple rings at that vertex.
//! Clockwise rings on screen (positive area with y down) are exteriors, the others holes; each hole
//! belongs to the smallest exterior of its label around the pixel on its right (its own region's).
//! Only corners are recorded, so collinear vertices never appear.

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

/// One traced ring: its label, a pixel on its right (inside its region), its corners.
struct Ring {
    label: i64,
    /// Twice the centre of a pixel of the ring's region, `[2x + 1, 2y + 1]`.
    inside2: [i64; 2],
    /// Twice its signed area: positive for exteriors.
    area2: i64,
    coords: PixelRing,
}

/// The label raster and its boundary edges.
///
/// Pixels are stored with a one-pixel border of background, pixel (row, col) at
/// `(row + 1) * s + col + 1` with stride `s = w + 2`; vertex (x, y) is at `y * s + x`, so the four
/// pixels around vertex `v` are at `v` (NW), `v + 1` (NE), `v + s` (SW) and `v + s + 1` (SE),
/// with no bounds checks.
struct Grid {
    /// The stride of both pixels and vertices.
    s: usize,
    /// The labels with a border of background.
    lab: Vec<i64>,
    /// Per vertex: bit `d` set when a boundary edge leaves it heading `d`.
    out: Vec<u8>,
}

impl Grid {
    fn new(labels: ArrayView2<i64>) -> Grid {
        let (h, w) = labels.dim();
        let s = w + 2;
        let mut lab = vec![0i64; (h + 2) * s];
        for (r, row) in labels.outer_iter().enumerate() {
            let dst = &mut lab[(r + 1) * s + 1..(r + 1) * s + 1 + w];
            match row.as_slice() {
                Some(src) => dst.copy_from_slice(src),
                None => dst.iter_mut().zip(row.iter()).for_each(|(d, &v)| *d = v),
            }
        }
        let out = boundary_edges(&lab, s, h);
        Grid { s, lab, out }
    }

    /// Labels of the pixels NW, NE, SW, SE of vertex `v`.
    fn around(&self, v: usize) -> [i64; 4] {
        let s = self.s;
        [
            self.lab[v],
            self.lab[v + 1],
            self.lab[v + s],
            self.lab[v + s + 1],
        ]
    }

    /// The pixel (padded index) on the right of the edge leaving vertex `v` heading `d`.
    fn right_pixel(&self, v: usize, d: u8) -> usize {
        let s = self.s;
        [v + s + 1, v + s, v, v + 1][d as usize]
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

    /// The edge that follows one arriving at `v` heading `d` around label `k`: right turn, else
    /// straight, else left. An edge heading `n` exists for `k` when `k` is on its right and not on
    /// its left. Turning right first keeps diagonal pixels apart, so a walk stays in one
    /// 4-connected region.
    fn next(&self, v: usize, d: u8, k: i64) -> Option<u8> {
        let [nw, ne, sw, se] = self.around(v);
        let right = [se, sw, nw, ne];
        let left = [ne, se, sw, nw];
        [(d + 1) % 4, d, (d + 3) % 4]
            .into_iter()
            .find(|&n| right[n as usize] == k && left[n as usize] != k)
    }

    /// Every simple ring.
    fn rings(&self) -> Vec<Ring> {
        let mut out = self.out.clone();
        let mut rings = Vec::new();
        let mut splitter = Splitter::new(out.len());
        for v0 in 0..out.len() {
            while out[v0] != 0 {
                // The first vertex of a ring in scan order is its top-left corner.
                let d0 = out[v0].trailing_zeros() as u8;
                let label = self.lab[self.right_pixel(v0, d0)];
                let walk = self.walk(&mut out, v0, d0, label);
                for ring in splitter.split(&walk) {
                    rings.push(self.ring(label, &ring));
                }
            }
        }
        rings
    }

    /// Follows edges from the corner `(v0, d0)` until back to it, clearing them from `out`;
    /// returns the corners passed, each with the heading it is left by. A vertex passed twice
    /// (where the walk must be split) is always a corner: both passes turn right there.
    fn walk(&self, out: &mut [u8], v0: usize, d0: u8, k: i64) -> Vec<(usize, u8)> {
        let mut walk = vec![(v0, d0)];
        let (mut v, mut d) = (self.step(v0, d0), d0);
        // The successor rule is a bijection on the label's edges, so this returns to (v0, d0).
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

    /// A simple ring of corners as pixel-corner coordinates, closed.
    fn ring(&self, label: i64, ring: &[(usize, u8)]) -> Ring {
        let xy = |v: usize| [(v % self.s) as i32, (v / self.s) as i32];
        let mut coords: PixelRing = ring.iter().map(|&(v, _)| xy(v)).collect();
        if let Some(&first) = coords.first() {
            coords.push(first);
        }
        let (v, d) = ring.first().copied().unwrap_or_default();
        // Padded pixel p has its top-left vertex at p - s - 1.
        let [x, y] = xy(self.right_pixel(v, d) - self.s - 1);
        Ring {
            label,
            inside2: [2 * x as i64 + 1, 2 * y as i64 + 1],
            area2: ring_area2(&coords),
            coords,
        }
    }

    /// Groups rings into polygons and polygons into shapes per label.
    fn assemble(&self, mut rings: Vec<Ring>) -> Vec<LabelShape> {
        // Stable: rings of a label stay in scan order.
        rings.sort_by_key(|r| r.label);
        let mut shapes = Vec::new();
        let mut rings = rings.into_iter().peekable();
        while let Some(first) = rings.next() {
            let label = first.label;
            let mut group = vec![first];
            while let Some(r) = rings.next_if(|r| r.label == label) {
                group.push(r);
            }
            shapes.push(shape(label, group));
        }
        shapes
    }
}

/// The polygons of one label, each hole in the smallest exterior around its region's pixel.
fn shape(label: i64, rings: Vec<Ring>) -> LabelShape {
    let area2: i64 = rings.iter().map(|r| r.area2).sum();
    let (exteriors, holes): (Vec<Ring>, Vec<Ring>) = rings.into_iter().partition(|r| r.area2 > 0);
    let owners: Vec<Option<usize>> = holes
        .iter()
        .map(|hole| match exteriors.len() {
            1 => Some(0),
            _ => (0..exteriors.len())
                .filter(|&i| contains2(&exteriors[i].coords, hole.inside2))
                .min_by_key(|&i| exteriors[i].area2),
        })
        .collect();
    let mut polygons: Vec<PixelPolygon> = exteriors
        .into_iter()
        .map(|r| PixelPolygon {
            exterior: r.coords,
            holes: Vec::new(),
        })
        .collect();
    for (hole, owner) in holes.into_iter().zip(owners) {
        if let Some(i) = owner {
            polygons[i].holes.push(hole.coords);
        }
    }
    LabelShape {
        label,
        pixels: (area2 / 2) as u64,
        polygons,
    }
}

/// Whether the point `p2` (coordinates doubled, odd, so never on a ring) is inside `ring`.
fn contains2(ring: &[[i32; 2]], p2: [i64; 2]) -> bool {
    let mut inside = false;
    for e in ring.windows(2) {
        let (a, b) = (e[0].map(|c| 2 * c as i64), e[1].map(|c| 2 * c as i64));
        // Only vertical edges cross a horizontal ray.
        if a[0] == b[0] && a[0] > p2[0] && (a[1] < p2[1]) != (b[1] < p2[1]) {
            inside = !inside;
        }
    }
    inside
}

/// Per vertex, the directed boundary edges leaving it (label on the right).
fn boundary_edges(lab: &[i64], s: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; (h + 1) * s];
    for p in s..lab.len() - s {
        let l = lab[p];
        if l == 0 {
            continue;
        }
        // Pixel p has its top-left vertex at p - s - 1.
        if lab[p - s] != l {
            out[p - s - 1] |= 1 << EAST;
        }
        if lab[p + 1] != l {
            out[p - s] |= 1 << SOUTH;
        }
        if lab[p + s] != l {
            out[p] |= 1 << WEST;
        }
        if lab[p - 1] != l {
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
