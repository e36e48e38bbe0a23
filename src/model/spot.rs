//! PASTIS-HD's SPOT-6 image: what a GeoTIFF carries beside its pixels (the pixels are the
//! patch's [`Layer::Spot`](super::Layer::Spot) array, `(band, H, W)`).

use serde::{Deserialize, Serialize};

/// The georeferencing and band metadata of a patch's SPOT image, kept as found in its GeoTIFF
/// (`DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_<ID>.tif`). Unlike the Lambert-93
/// footprint of the other layers, these are real: SPOT's own CRS and 1 m geotransform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpotGeoref {
    /// The CRS as OGC WKT (GDAL's `GetProjectionRef`), empty if the file has none.
    pub crs_wkt: String,
    /// The EPSG code of the CRS, if GDAL identifies one.
    pub epsg: Option<u32>,
    /// GDAL's affine geotransform: `[x0, pixel width, row rotation, y0, column rotation, pixel
    /// height]`, in the CRS's units (metres).
    pub geotransform: [f64; 6],
    /// Each band's description (GDAL `GetDescription`), empty where it has none; one per band.
    pub descriptions: Vec<String>,
    /// Each band's no-data value, `None` where it has none; one per band.
    pub nodata: Vec<Option<f64>>,
}

impl SpotGeoref {
    /// The footprint `(xmin, ymin, xmax, ymax)` of an image of `height` x `width` pixels on this
    /// geotransform, in the CRS's units (rotation terms included).
    pub fn bounds(&self, height: usize, width: usize) -> (f64, f64, f64, f64) {
        let g = self.geotransform;
        let corner = |col: f64, row: f64| {
            (
                g[0] + col * g[1] + row * g[2],
                g[3] + col * g[4] + row * g[5],
            )
        };
        let (w, h) = (width as f64, height as f64);
        let corners = [
            corner(0.0, 0.0),
            corner(w, 0.0),
            corner(0.0, h),
            corner(w, h),
        ];
        corners.iter().fold(
            (
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ),
            |(a, b, c, d), &(x, y)| (a.min(x), b.min(y), c.max(x), d.max(y)),
        )
    }

    /// True if `other` is the same georeferencing: same CRS text and EPSG, geotransform,
    /// descriptions, and no-data values compared bit for bit (a NaN no-data equals itself).
    pub fn same_as(&self, other: &SpotGeoref) -> bool {
        let bits = |v: &[Option<f64>]| v.iter().map(|n| n.map(f64::to_bits)).collect::<Vec<_>>();
        let gt = |g: &[f64; 6]| g.map(f64::to_bits);
        self.crs_wkt == other.crs_wkt
            && self.epsg == other.epsg
            && gt(&self.geotransform) == gt(&other.geotransform)
            && self.descriptions == other.descriptions
            && bits(&self.nodata) == bits(&other.nodata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_equality() {
        let g = SpotGeoref {
            crs_wkt: String::new(),
            epsg: Some(32631),
            geotransform: [500_000.0, 1.0, 0.0, 5_000_000.0, 0.0, -1.0],
            descriptions: vec!["Red".into()],
            nodata: vec![Some(f64::NAN)],
        };
        assert_eq!(
            g.bounds(10, 20),
            (500_000.0, 4_999_990.0, 500_020.0, 5_000_000.0)
        );
        assert!(g.same_as(&g.clone()));
        let mut other = g.clone();
        other.geotransform[1] = 1.5;
        assert!(!g.same_as(&other));
    }
}
