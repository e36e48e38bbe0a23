//! Parcels of one synthetic patch: a warped Voronoi partition of the patch, then the awkward
//! configurations real LPIS data has (holes, islands, split parcels, diagonal corner contacts).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// One parcel: its LPIS-like id and its semantic class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parcel {
    /// Raw parcel id (ParcelIDs); 0 = no parcel.
    pub id: i32,
    /// Semantic class 0..19 (TARGET channel 0).
    pub class: u8,
}

/// The parcels of a `size` x `size` patch: for every pixel, an index into `parcels`.
#[derive(Clone, Debug)]
pub struct ParcelMap {
    /// Side of the patch in pixels.
    pub size: usize,
    /// Per pixel (row-major), index into `parcels`; 0 = no parcel.
    pub label: Vec<u16>,
    /// `parcels[0]` is "no parcel" (id 0, class 0).
    pub parcels: Vec<Parcel>,
}

const NONE: Parcel = Parcel { id: 0, class: 0 };

/// Relative frequency of classes 1..18 (meadow and wheat dominate, as in PASTIS).
const CLASS_WEIGHTS: [u32; 18] = [30, 16, 10, 8, 5, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1];

impl ParcelMap {
    /// The raw parcel id of every pixel.
    pub fn ids(&self) -> Vec<i32> {
        self.label
            .iter()
            .map(|&l| self.parcels[l as usize].id)
            .collect()
    }

    /// The class of every pixel.
    pub fn classes(&self) -> Vec<u8> {
        self.label
            .iter()
            .map(|&l| self.parcels[l as usize].class)
            .collect()
    }

    /// Adds a parcel of a random crop class; returns its label.
    fn add(&mut self, rng: &mut ChaCha8Rng, used: &mut BTreeSet<i32>) -> u16 {
        let class = random_class(rng);
        self.parcels.push(Parcel {
            id: fresh_id(rng, used),
            class,
        });
        (self.parcels.len() - 1) as u16
    }
}

/// Generates the parcels of one patch.
pub fn generate(rng: &mut ChaCha8Rng, size: usize) -> ParcelMap {
    let mut used = BTreeSet::new();
    let mut map = voronoi(rng, size, &mut used);
    let locked = plant_diagonals(rng, &mut map, &mut used);
    carve_holes(rng, &mut map, &mut used, &locked);
    split_one(rng, &mut map, &locked);
    map
}

/// What [`generate`] managed to plant: holes carved, and whether a parcel was split.
#[cfg(test)]
fn generate_reporting(rng: &mut ChaCha8Rng, size: usize) -> (ParcelMap, usize, bool) {
    let mut used = BTreeSet::new();
    let mut map = voronoi(rng, size, &mut used);
    let locked = plant_diagonals(rng, &mut map, &mut used);
    let holes = carve_holes(rng, &mut map, &mut used, &locked);
    let split = split_one(rng, &mut map, &locked);
    (map, holes, split)
}

/// A random LPIS-like id (large positive int32), unique within the patch.
fn fresh_id(rng: &mut ChaCha8Rng, used: &mut BTreeSet<i32>) -> i32 {
    loop {
        let id = rng.random_range(10_000_000..2_100_000_000);
        if used.insert(id) {
            return id;
        }
    }
}

fn random_class(rng: &mut ChaCha8Rng) -> u8 {
    let total: u32 = CLASS_WEIGHTS.iter().sum();
    let mut pick = rng.random_range(0..total);
    for (i, w) in CLASS_WEIGHTS.iter().enumerate() {
        if pick < *w {
            return i as u8 + 1;
        }
        pick -= w;
    }
    1
}

/// The parcel of a Voronoi cell: seeds outside the patch are mostly void (parcels mostly outside
/// their patch), some cells are no parcel, some non-agricultural parcels (class 0 with an id).
fn cell_parcel(rng: &mut ChaCha8Rng, outside: bool, used: &mut BTreeSet<i32>) -> Parcel {
    let roll: f64 = rng.random();
    let class = if outside && roll < 0.5 {
        19
    } else if roll < 0.12 {
        return NONE;
    } else if roll < 0.20 {
        0
    } else if roll < 0.24 {
        19
    } else {
        random_class(rng)
    };
    Parcel {
        id: fresh_id(rng, used),
        class,
    }
}

struct Seed {
    y: f64,
    x: f64,
    wy: f64,
    wx: f64,
}

/// A smooth displacement field (sum of two sinusoids) that makes cell boundaries wavy.
struct Warp {
    terms: [(f64, f64, f64, f64); 4],
}

impl Warp {
    fn new(rng: &mut ChaCha8Rng, size: usize) -> Warp {
        let amp = (size as f64 / 40.0).clamp(0.8, 3.0);
        let mut term = || {
            let f = std::f64::consts::TAU / rng.random_range(10.0..28.0);
            let a: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            (
                amp,
                f * a.cos(),
                f * a.sin(),
                rng.random_range(0.0..std::f64::consts::TAU),
            )
        };
        Warp {
            terms: [term(), term(), term(), term()],
        }
    }

    fn at(&self, y: f64, x: f64) -> (f64, f64) {
        let wave = |(a, fy, fx, p): (f64, f64, f64, f64)| a * (fy * y + fx * x + p).sin();
        (
            y + wave(self.terms[0]) + wave(self.terms[1]),
            x + wave(self.terms[2]) + wave(self.terms[3]),
        )
    }
}

fn voronoi(rng: &mut ChaCha8Rng, size: usize, used: &mut BTreeSet<i32>) -> ParcelMap {
    let margin = size as f64 / 8.0;
    let cells = (size * size / 280).max(6);
    let seeds: Vec<Seed> = (0..cells)
        .map(|_| Seed {
            y: rng.random_range(-margin..size as f64 + margin),
            x: rng.random_range(-margin..size as f64 + margin),
            wy: rng.random_range(0.5..1.8),
            wx: rng.random_range(0.5..1.8),
        })
        .collect();
    let mut parcels = vec![NONE];
    let mut cell_label = Vec::with_capacity(cells);
    for s in &seeds {
        let outside = s.y < 0.0 || s.x < 0.0 || s.y >= size as f64 || s.x >= size as f64;
        let parcel = cell_parcel(rng, outside, used);
        if parcel == NONE {
            cell_label.push(0u16);
        } else {
            parcels.push(parcel);
            cell_label.push((parcels.len() - 1) as u16);
        }
    }
    let warp = Warp::new(rng, size);
    let mut label = vec![0u16; size * size];
    for (p, l) in label.iter_mut().enumerate() {
        let (y, x) = warp.at((p / size) as f64 + 0.5, (p % size) as f64 + 0.5);
        let nearest = seeds
            .iter()
            .map(|s| s.wy * (y - s.y).powi(2) + s.wx * (x - s.x).powi(2))
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(i, _)| i);
        *l = cell_label[nearest];
    }
    ParcelMap {
        size,
        label,
        parcels,
    }
}

/// Plants two 2x2 blocks of `q` x `q` squares: parcels A (top left) and B (bottom right) meeting
/// at exactly one corner; and parcel C in both diagonal squares (touching itself at one corner)
/// between parcels D and E. Returns the mask of pixels later steps must not touch.
fn plant_diagonals(
    rng: &mut ChaCha8Rng,
    map: &mut ParcelMap,
    used: &mut BTreeSet<i32>,
) -> Vec<bool> {
    let size = map.size;
    let q = (size / 20).clamp(1, 3);
    let mut locked = vec![false; size * size];
    let half = size / 2;
    for block in 0..2 {
        let y0 = rng.random_range(1..=size - 2 * q - 1);
        let x0 = block * half + rng.random_range(1..=half - 2 * q - 1);
        let (tl, br, tr, bl) = if block == 0 {
            let a = map.add(rng, used);
            let b = map.add(rng, used);
            (a, b, 0, 0)
        } else {
            let c = map.add(rng, used);
            let d = map.add(rng, used);
            let e = map.add(rng, used);
            (c, c, d, e)
        };
        for dy in 0..2 * q {
            for dx in 0..2 * q {
                let p = (y0 + dy) * size + x0 + dx;
                map.label[p] = match (dy < q, dx < q) {
                    (true, true) => tl,
                    (false, false) => br,
                    (true, false) => tr,
                    (false, true) => bl,
                };
                locked[p] = true;
            }
        }
    }
    locked
}

/// Pixel counts of every parcel.
fn areas(map: &ParcelMap) -> Vec<usize> {
    let mut areas = vec![0; map.parcels.len()];
    for &l in &map.label {
        areas[l as usize] += 1;
    }
    areas
}

/// Parcels (not "no parcel", not locked) from the largest down.
fn by_area(map: &ParcelMap, locked: &[bool]) -> Vec<u16> {
    let areas = areas(map);
    let mut skip = vec![false; map.parcels.len()];
    for (p, &l) in map.label.iter().enumerate() {
        skip[l as usize] |= locked[p];
    }
    let mut order: Vec<u16> = (1..map.parcels.len() as u16)
        .filter(|&l| !skip[l as usize] && areas[l as usize] > 0)
        .collect();
    order.sort_by_key(|&l| (std::cmp::Reverse(areas[l as usize]), l));
    order
}

/// True if the disc of `radius` around (y, x) lies inside the patch and inside parcel `l`.
fn disc_inside(map: &ParcelMap, l: u16, y: usize, x: usize, radius: usize) -> bool {
    let (s, r) = (map.size as isize, radius as isize);
    (-r..=r).all(|dy| {
        (-r..=r).all(|dx| {
            let (yy, xx) = (y as isize + dy, x as isize + dx);
            dy * dy + dx * dx > r * r
                || (yy >= 0 && xx >= 0 && yy < s && xx < s && {
                    map.label[(yy * s + xx) as usize] == l
                })
        })
    })
}

/// Carves a hole into the two largest parcels that can hold one: the first gets a background
/// hole, the second an island parcel of another class.
fn carve_holes(
    rng: &mut ChaCha8Rng,
    map: &mut ParcelMap,
    used: &mut BTreeSet<i32>,
    locked: &[bool],
) -> usize {
    let size = map.size;
    let radius = (size / 32).clamp(1, 3);
    let mut carved = 0;
    for l in by_area(map, locked) {
        let start = rng.random_range(0..size * size);
        let centre = (0..size * size)
            .map(|i| (start + i) % (size * size))
            .find(|&p| map.label[p] == l && disc_inside(map, l, p / size, p % size, radius + 1));
        let Some(centre) = centre else { continue };
        let fill = if carved == 0 { 0 } else { map.add(rng, used) };
        let (cy, cx, r) = (centre / size, centre % size, radius as isize);
        for dy in -r..=r {
            for dx in -r..=r {
                if dy * dy + dx * dx <= r * r {
                    let p = (cy as isize + dy) as usize * size + (cx as isize + dx) as usize;
                    map.label[p] = fill;
                }
            }
        }
        carved += 1;
        if carved == 2 {
            break;
        }
    }
    carved
}

/// Cuts a large parcel in two with a background strip through its centre, so one parcel id
/// covers several disconnected regions. Tries parcels from the largest until the cut splits one.
fn split_one(rng: &mut ChaCha8Rng, map: &mut ParcelMap, locked: &[bool]) -> bool {
    let size = map.size;
    let width = (size / 64).max(1);
    for l in by_area(map, locked).into_iter().take(6) {
        let pixels: Vec<usize> = (0..size * size).filter(|&p| map.label[p] == l).collect();
        let cy = pixels.iter().map(|p| p / size).sum::<usize>() / pixels.len();
        let cx = pixels.iter().map(|p| p % size).sum::<usize>() / pixels.len();
        let vertical = rng.random_bool(0.5);
        let mut trial = map.label.clone();
        for &p in &pixels {
            let along = if vertical { p % size } else { p / size };
            let centre = if vertical { cx } else { cy };
            if along.abs_diff(centre) < width {
                trial[p] = 0;
            }
        }
        if components(&trial, size, l) >= 2 {
            map.label = trial;
            return true;
        }
    }
    false
}

/// Number of 4-connected regions of parcel `l`.
pub fn components(label: &[u16], size: usize, l: u16) -> usize {
    let mut seen = vec![false; label.len()];
    let mut count = 0;
    let mut stack = Vec::new();
    for start in 0..label.len() {
        if label[start] != l || seen[start] {
            continue;
        }
        count += 1;
        seen[start] = true;
        stack.push(start);
        while let Some(p) = stack.pop() {
            let (y, x) = (p / size, p % size);
            let mut visit = |q: usize| {
                if label[q] == l && !seen[q] {
                    seen[q] = true;
                    stack.push(q);
                }
            };
            if y > 0 {
                visit(p - size);
            }
            if y + 1 < size {
                visit(p + size);
            }
            if x > 0 {
                visit(p - 1);
            }
            if x + 1 < size {
                visit(p + 1);
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn map(seed: u64, size: usize) -> ParcelMap {
        generate(&mut ChaCha8Rng::seed_from_u64(seed), size)
    }

    fn has_hole(map: &ParcelMap, l: u16) -> bool {
        // A pixel of another label with no 4-connected path to the edge outside parcel `l`.
        let other: Vec<u16> = map.label.iter().map(|&v| u16::from(v != l)).collect();
        let edge_regions = |p: usize| {
            let (y, x, s) = (p / map.size, p % map.size, map.size);
            y == 0 || x == 0 || y + 1 == s || x + 1 == s
        };
        let mut reached = vec![false; other.len()];
        let mut stack: Vec<usize> = (0..other.len())
            .filter(|&p| other[p] == 1 && edge_regions(p))
            .collect();
        for &p in &stack {
            reached[p] = true;
        }
        while let Some(p) = stack.pop() {
            let (y, x, s) = (p / map.size, p % map.size, map.size);
            let near = [
                (y > 0).then(|| p - s),
                (y + 1 < s).then(|| p + s),
                (x > 0).then(|| p - 1),
                (x + 1 < s).then(|| p + 1),
            ];
            for q in near.into_iter().flatten() {
                if other[q] == 1 && !reached[q] {
                    reached[q] = true;
                    stack.push(q);
                }
            }
        }
        (0..other.len()).any(|p| other[p] == 1 && !reached[p])
    }

    #[test]
    fn every_patch_has_holes_splits_and_corner_contacts() {
        for size in [8, 16, 32, 64, 128] {
            for seed in 0..if size > 64 { 2 } else { 6 } {
                let (m, holes, split) =
                    generate_reporting(&mut ChaCha8Rng::seed_from_u64(seed), size);
                let labels = 1..m.parcels.len() as u16;
                if size >= 32 {
                    assert_eq!(holes, 2, "size {size} seed {seed}: holes");
                    assert!(
                        labels.clone().any(|l| has_hole(&m, l)),
                        "size {size} seed {seed}"
                    );
                    assert!(split, "size {size} seed {seed}: no parcel split");
                }
                let self_touching = labels
                    .clone()
                    .filter(|&l| components(&m.label, size, l) >= 2);
                assert!(
                    self_touching.count() >= 1,
                    "size {size} seed {seed}: multi-part"
                );
                let ids: BTreeSet<i32> = m.parcels.iter().map(|p| p.id).collect();
                assert_eq!(ids.len(), m.parcels.len(), "ids are unique");
                assert!(m.parcels[1..].iter().all(|p| p.id >= 10_000_000));
                assert!(m
                    .parcels
                    .iter()
                    .all(|p| p.class <= 19 && (p.id != 0 || p.class == 0)));
            }
        }
    }

    #[test]
    fn generation_is_deterministic() {
        assert_eq!(map(3, 32).label, map(3, 32).label);
        assert_ne!(map(3, 32).label, map(4, 32).label);
    }
}
