//! The arrays a PASTIS patch can hold, under the dataset's own names.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One array of a patch: a satellite time series or an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Layer {
    /// Sentinel-2 time series `(T, 10, H, W)`, int16 reflectance x 10000.
    S2,
    /// Sentinel-1 ascending orbit `(T, 3, H, W)`, float16 dB.
    S1A,
    /// Sentinel-1 descending orbit `(T, 3, H, W)`, float16 dB.
    S1D,
    /// Semantic annotation `(3, H, W)`; channel 0 is the class.
    #[serde(rename = "TARGET")]
    Target,
    /// Raw LPIS parcel identifiers `(H, W)`.
    #[serde(rename = "ParcelIDs")]
    ParcelIds,
    /// Instance centre-ness heatmap `(H, W)`.
    #[serde(rename = "HEATMAP")]
    Heatmap,
    /// Instance ids `(H, W)`, 0 = background.
    #[serde(rename = "INSTANCES")]
    Instances,
    /// Instance zones `(H, W)`.
    #[serde(rename = "ZONES")]
    Zones,
    /// PASTIS-HD's SPOT-6 image `(band, H, W)`: about 1 m, its own size, band count, dtype, CRS and
    /// geotransform, read from the file (never assumed 1280 x 1280 or 3 bands); its
    /// georeferencing travels beside it in [`Patch::spot`](crate::model::Patch::spot).
    #[serde(rename = "SPOT")]
    Spot,
}

impl Layer {
    /// Every layer, in the canonical order.
    pub const ALL: [Layer; 9] = [
        Layer::S2,
        Layer::S1A,
        Layer::S1D,
        Layer::Target,
        Layer::ParcelIds,
        Layer::Heatmap,
        Layer::Instances,
        Layer::Zones,
        Layer::Spot,
    ];

    /// The time-series layers (satellite modalities).
    pub const SERIES: [Layer; 3] = [Layer::S2, Layer::S1A, Layer::S1D];

    /// The dataset's own name: file prefix, array and dataset name (`S2`, `TARGET`, `ParcelIDs`...).
    pub fn name(self) -> &'static str {
        match self {
            Layer::S2 => "S2",
            Layer::S1A => "S1A",
            Layer::S1D => "S1D",
            Layer::Target => "TARGET",
            Layer::ParcelIds => "ParcelIDs",
            Layer::Heatmap => "HEATMAP",
            Layer::Instances => "INSTANCES",
            Layer::Zones => "ZONES",
            Layer::Spot => "SPOT",
        }
    }

    /// The folder of the original layout that holds this layer's `.npy` files.
    pub fn folder(self) -> &'static str {
        match self {
            Layer::S2 => "DATA_S2",
            Layer::S1A => "DATA_S1A",
            Layer::S1D => "DATA_S1D",
            Layer::Target | Layer::ParcelIds => "ANNOTATIONS",
            Layer::Heatmap | Layer::Instances | Layer::Zones => "INSTANCE_ANNOTATIONS",
            Layer::Spot => "DATA_SPOT",
        }
    }

    /// True for a layer on its own pixel grid (SPOT, about 1 m), not the patch's 10 m grid: its
    /// spatial size need not match the other layers', and its georeferencing is its own.
    pub fn has_own_grid(self) -> bool {
        self == Layer::Spot
    }

    /// True for the layers a stacked format writes one patch at a time, one patch per Zarr
    /// shard (the series and SPOT: the bulk of the bytes); the small annotations are written in
    /// groups of patches instead.
    pub fn stored_by_patch(self) -> bool {
        self.is_series() || self.has_own_grid()
    }

    /// True for the satellite time series, whose first axis is time.
    pub fn is_series(self) -> bool {
        matches!(self, Layer::S2 | Layer::S1A | Layer::S1D)
    }

    /// The number of axes PASTIS gives this layer: 4 for a series `(T, C, H, W)`, 3 for TARGET
    /// `(3, H, W)`, 2 for the rest `(H, W)` (docs/architecture.md, "Model"). Every format
    /// refuses another rank, the same way ([`crate::model::check_rank`]).
    pub fn rank(self) -> usize {
        match self {
            Layer::S2 | Layer::S1A | Layer::S1D => 4,
            Layer::Target | Layer::Spot => 3,
            _ => 2,
        }
    }

    /// The axes of [`Layer::rank`], as the docs write them: `(T, C, H, W)`.
    pub fn axes(self) -> &'static str {
        if self == Layer::Spot {
            return "(band, H, W)";
        }
        match self.rank() {
            4 => "(T, C, H, W)",
            3 => "(C, H, W)",
            _ => "(H, W)",
        }
    }

    /// The metadata key holding this series' dates (`dates-S2`), `None` for annotations.
    pub fn dates_key(self) -> Option<&'static str> {
        match self {
            Layer::S2 => Some("dates-S2"),
            Layer::S1A => Some("dates-S1A"),
            Layer::S1D => Some("dates-S1D"),
            _ => None,
        }
    }

    /// The NORM file of this series (`NORM_S2_patch.json`), `None` for annotations.
    pub fn norm_file(self) -> Option<&'static str> {
        Series::of(self).map(Series::norm_file)
    }

    /// The names of the axes, for formats with dimension names.
    pub fn dimension_names(self, ndim: usize) -> Vec<&'static str> {
        let names: &[&str] = match self {
            Layer::S2 | Layer::S1A | Layer::S1D => &["time", "band", "y", "x"],
            Layer::Target => &["channel", "y", "x"],
            Layer::Spot => &["SPOT_band", "SPOT_y", "SPOT_x"],
            _ => &["y", "x"],
        };
        if names.len() == ndim {
            names.to_vec()
        } else {
            // An unusual redistribution: name the trailing axes y, x and the rest generically.
            let mut v: Vec<&'static str> = ["dim_0", "dim_1", "dim_2", "dim_3", "dim_4"]
                .into_iter()
                .take(ndim.saturating_sub(2))
                .collect();
            v.extend(["y", "x"].into_iter().take(ndim));
            v
        }
    }
}

/// A satellite time series: the only layers with dates (`dates-S2`) and NORM statistics
/// (`NORM_S2_patch.json`), so that a date list or a NORM entry cannot be keyed by an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Series {
    /// Sentinel-2.
    S2,
    /// Sentinel-1 ascending orbit.
    S1A,
    /// Sentinel-1 descending orbit.
    S1D,
}

impl Series {
    /// Every series, in the canonical order.
    pub const ALL: [Series; 3] = [Series::S2, Series::S1A, Series::S1D];

    /// The layer of this series.
    pub fn layer(self) -> Layer {
        match self {
            Series::S2 => Layer::S2,
            Series::S1A => Layer::S1A,
            Series::S1D => Layer::S1D,
        }
    }

    /// The series of `layer`, `None` for an annotation.
    pub fn of(layer: Layer) -> Option<Series> {
        Series::ALL.into_iter().find(|s| s.layer() == layer)
    }

    /// The dataset's own name (`S2`, `S1A`, `S1D`).
    pub fn name(self) -> &'static str {
        self.layer().name()
    }

    /// The NORM file of this series (`NORM_S2_patch.json`).
    pub fn norm_file(self) -> &'static str {
        match self {
            Series::S2 => "NORM_S2_patch.json",
            Series::S1A => "NORM_S1A_patch.json",
            Series::S1D => "NORM_S1D_patch.json",
        }
    }
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Series {
    type Err = String;

    /// Parses a series name, case-insensitively; an annotation layer is refused by name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let layer: Layer = s.parse()?;
        Series::of(layer).ok_or_else(|| {
            format!("{layer} is not a time series (only S2, S1A and S1D have dates and NORM statistics)")
        })
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Layer {
    type Err = String;

    /// Parses a layer name, case-insensitively (`s2`, `TARGET`, `parcelids`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Layer::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Layer::ALL.iter().map(|l| l.name()).collect();
                format!("unknown layer '{s}', expected one of {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for l in Layer::ALL {
            assert_eq!(l.name().parse::<Layer>().unwrap(), l);
            assert_eq!(l.name().to_lowercase().parse::<Layer>().unwrap(), l);
        }
        assert!("S3".parse::<Layer>().is_err());
        assert_eq!("s1a".parse::<Series>(), Ok(Series::S1A));
        let err = "TARGET".parse::<Series>().unwrap_err();
        assert!(err.starts_with("TARGET is not a time series"), "{err}");
    }

    #[test]
    fn dimension_names_fit_any_rank() {
        assert_eq!(Layer::S2.dimension_names(4), ["time", "band", "y", "x"]);
        assert_eq!(Layer::Target.dimension_names(2), ["y", "x"]);
        assert_eq!(Layer::Zones.dimension_names(3).len(), 3);
    }
}
