//! The instance annotations derived from ParcelIDs and TARGET, as PASTIS defines them:
//! INSTANCES = ParcelIDs masked where TARGET[0] != 0, renumbered 1..K (by ascending parcel id);
//! HEATMAP = max over instances of a Gaussian centred on the instance's bounding box, 1.0 at the
//! centre pixel; ZONES = for every pixel, the instance whose Gaussian dominates there.

use std::collections::BTreeMap;

/// INSTANCES, ZONES and HEATMAP of one patch, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceMaps {
    /// Instance id 1..K per pixel, 0 = background.
    pub instances: Vec<i64>,
    /// Dominant instance per pixel (0 only when there is no instance at all).
    pub zones: Vec<i64>,
    /// Centre-ness in [0, 1].
    pub heatmap: Vec<f64>,
    /// Number of instances K.
    pub count: usize,
}

/// The Gaussian of one instance: centre pixel and standard deviations (rows, columns).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Blob {
    /// Centre row (integer, so the heatmap is exactly 1.0 there).
    pub cy: usize,
    /// Centre column.
    pub cx: usize,
    /// Standard deviation along rows.
    pub sy: f64,
    /// Standard deviation along columns.
    pub sx: f64,
}

impl Blob {
    /// Half the squared normalised distance of (y, x) to the centre: the Gaussian is `exp(-q)`.
    fn q(&self, y: usize, x: usize) -> f64 {
        let dy = (y as f64 - self.cy as f64) / self.sy;
        let dx = (x as f64 - self.cx as f64) / self.sx;
        0.5 * (dy * dy + dx * dx)
    }
}

/// Renumbers the parcel ids of pixels whose class is not background to 1..K, by ascending id.
pub fn renumber(ids: &[i32], classes: &[u8]) -> (Vec<i64>, usize) {
    let mut number: BTreeMap<i32, i64> = ids
        .iter()
        .zip(classes)
        .filter(|(_, &c)| c != 0)
        .map(|(&id, _)| (id, 0))
        .collect();
    for (k, v) in number.values_mut().enumerate() {
        *v = k as i64 + 1;
    }
    let instances = ids
        .iter()
        .zip(classes)
        .map(|(id, &c)| if c == 0 { 0 } else { number[id] })
        .collect();
    (instances, number.len())
}

/// The Gaussian of every instance 1..K (index k-1), from its bounding box.
pub fn blobs(instances: &[i64], size: usize, count: usize) -> Vec<Blob> {
    let mut boxes = vec![(usize::MAX, 0, usize::MAX, 0); count];
    for (p, &k) in instances.iter().enumerate() {
        if k > 0 {
            let b = &mut boxes[k as usize - 1];
            let (y, x) = (p / size, p % size);
            *b = (b.0.min(y), b.1.max(y), b.2.min(x), b.3.max(x));
        }
    }
    boxes
        .into_iter()
        .map(|(y0, y1, x0, x1)| Blob {
            cy: (y0 + y1) / 2,
            cx: (x0 + x1) / 2,
            sy: ((y1 - y0 + 1) as f64 / 4.0).max(1.0),
            sx: ((x1 - x0 + 1) as f64 / 4.0).max(1.0),
        })
        .collect()
}

/// Derives INSTANCES, ZONES and HEATMAP from ParcelIDs and the class map.
pub fn derive(ids: &[i32], classes: &[u8], size: usize) -> InstanceMaps {
    let (instances, count) = renumber(ids, classes);
    let blobs = blobs(&instances, size, count);
    let mut zones = vec![0i64; size * size];
    let mut heatmap = vec![0f64; size * size];
    for (p, (zone, heat)) in zones.iter_mut().zip(heatmap.iter_mut()).enumerate() {
        let (y, x) = (p / size, p % size);
        let best = blobs
            .iter()
            .map(|b| b.q(y, x))
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((k, q)) = best {
            *zone = k as i64 + 1;
            *heat = (-q).exp();
        }
    }
    InstanceMaps {
        instances,
        zones,
        heatmap,
        count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_classes_have_no_instance_and_ids_are_renumbered_in_order() {
        let ids = [0, 500, 500, 42, 7, 7];
        let classes = [0, 3, 3, 19, 0, 0];
        let (inst, k) = renumber(&ids, &classes);
        assert_eq!(inst, vec![0, 2, 2, 1, 0, 0]);
        assert_eq!(k, 2);
    }

    #[test]
    fn heatmap_is_one_at_centres_and_zones_cover_everything() {
        let size = 6;
        let mut ids = vec![0; 36];
        let mut classes = vec![0; 36];
        for p in [0, 1, 6, 7, 28, 29, 34, 35] {
            ids[p] = if p < 10 { 11 } else { 22 };
            classes[p] = 1;
        }
        let maps = derive(&ids, &classes, size);
        assert_eq!(maps.count, 2);
        assert_eq!(maps.heatmap[0], 1.0);
        assert_eq!(maps.heatmap[28], 1.0);
        assert!(maps.heatmap.iter().all(|h| (0.0..=1.0).contains(h)));
        assert!(maps.zones.iter().all(|&z| z == 1 || z == 2));
        assert_eq!((maps.zones[0], maps.zones[35]), (1, 2));
    }
}
