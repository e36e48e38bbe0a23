//! CF attributes of the stacked data arrays (CF Conventions 1.10, "Attributes"), the same in
//! every stacked format: `long_name`, `units` where the dataset reference gives them
//! (../shared/PASTIS_FORMAT.md, "Arrays"), and for TARGET the class ids as `flag_values` with
//! their names as `flag_meanings`. HDF5 writes them as typed attributes
//! (`hdf5::netcdf`), Zarr as array attributes ([`attributes`]).

use super::StackedArray;
use crate::model::classes::CLASS_NAMES;
use crate::model::{DType, Layer};
use serde_json::{json, Map, Value};

/// The `long_name` of a layer's data array, and its `units` where the dataset reference gives
/// them (../shared/PASTIS_FORMAT.md, "Arrays").
pub fn description(layer: Layer) -> (String, Option<&'static str>) {
    let padded = |what: &str| {
        format!(
            "{what}, zero-padded after the patch's {}_length dates",
            layer.name()
        )
    };
    match layer {
        Layer::S2 => (
            padded("Sentinel-2 THEIA L2A surface reflectance x 10000 (-10000: no data)"),
            Some("1e-4"),
        ),
        Layer::S1A => (
            padded("Sentinel-1 ascending-orbit backscatter (VV, VH, VV/VH)"),
            Some("dB"),
        ),
        Layer::S1D => (
            padded("Sentinel-1 descending-orbit backscatter (VV, VH, VV/VH)"),
            Some("dB"),
        ),
        Layer::Target => (
            "semantic class (channel 0, see flag_meanings); channels 1-2 kept as found".into(),
            None,
        ),
        Layer::ParcelIds => ("LPIS parcel id, 0 where none".into(), None),
        Layer::Heatmap => (
            "max over parcels of a Gaussian centred on each parcel, 1 at centres".into(),
            Some("1"),
        ),
        Layer::Instances => ("parcel instance id 1..K, 0 for background".into(), None),
        Layer::Zones => (
            "instance whose Gaussian dominates the pixel (Voronoi-like zones)".into(),
            None,
        ),
        Layer::Spot => (
            "SPOT-6 image at 1 m (PASTIS-HD), zero-padded to the largest: the patch's own is \
             SPOT[i, :SPOT_bands[i], :SPOT_height[i], :SPOT_width[i]]"
                .into(),
            None,
        ),
    }
}

/// CF `flag_meanings`: the class names as words (letters, digits and `_` only), blank-separated,
/// in class id order ("Fruits, vegetables, flowers" -> `Fruits_vegetables_flowers`).
pub fn flag_meanings() -> String {
    CLASS_NAMES
        .iter()
        .map(|name| {
            name.split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("_")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The CF attributes of the data array of `spec` as JSON (Zarr array attributes): `long_name`,
/// `units` where known, and for TARGET of an integer dtype `flag_values` 0..19 and
/// `flag_meanings` (class ids are not flags in a float or bool array, so those get neither).
pub fn attributes(spec: &StackedArray) -> Map<String, Value> {
    let (long_name, units) = description(spec.layer);
    let mut attributes = Map::new();
    attributes.insert("long_name".into(), json!(long_name));
    if let Some(units) = units {
        attributes.insert("units".into(), json!(units));
    }
    if spec.layer == Layer::Target && is_integer(spec.dtype) {
        attributes.insert(
            "flag_values".into(),
            json!((0..CLASS_NAMES.len()).collect::<Vec<_>>()),
        );
        attributes.insert("flag_meanings".into(), json!(flag_meanings()));
    }
    attributes
}

/// True for the integer dtypes (the ones `flag_values` can be written in).
pub fn is_integer(dtype: DType) -> bool {
    matches!(
        dtype,
        DType::U8
            | DType::I8
            | DType::U16
            | DType::I16
            | DType::U32
            | DType::I32
            | DType::U64
            | DType::I64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_meanings_are_cf_words() {
        let meanings = flag_meanings();
        let words: Vec<&str> = meanings.split(' ').collect();
        assert_eq!(words.len(), CLASS_NAMES.len());
        assert_eq!(words[2], "Soft_winter_wheat");
        assert_eq!(words[12], "Fruits_vegetables_flowers");
        assert!(words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')));
    }
}
