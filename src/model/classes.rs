//! The PASTIS nomenclature: semantic classes of TARGET channel 0, their colours, S2 band names.

/// Number of semantic classes (0 background .. 19 void).
pub const CLASS_COUNT: usize = 20;

/// The class id of "Void label".
pub const VOID_CLASS: u8 = 19;

/// Class names, indexed by class id.
pub const CLASS_NAMES: [&str; CLASS_COUNT] = [
    "Background",
    "Meadow",
    "Soft winter wheat",
    "Corn",
    "Winter barley",
    "Winter rapeseed",
    "Spring barley",
    "Sunflower",
    "Grapevine",
    "Beet",
    "Winter triticale",
    "Winter durum wheat",
    "Fruits, vegetables, flowers",
    "Potatoes",
    "Leguminous fodder",
    "Soybeans",
    "Orchard",
    "Mixed cereal",
    "Sorghum",
    "Void label",
];

/// Class colours (RGB) of the reference notebook: tab20 entries, black background, white void.
pub const CLASS_COLORS: [[u8; 3]; CLASS_COUNT] = [
    [0, 0, 0],
    [174, 199, 232],
    [255, 127, 14],
    [255, 187, 120],
    [44, 160, 44],
    [152, 223, 138],
    [214, 39, 40],
    [255, 152, 150],
    [148, 103, 189],
    [197, 176, 213],
    [140, 86, 75],
    [196, 156, 148],
    [227, 119, 194],
    [247, 182, 210],
    [127, 127, 127],
    [199, 199, 199],
    [188, 189, 34],
    [219, 219, 141],
    [23, 190, 207],
    [255, 255, 255],
];

/// Sentinel-2 band names in PASTIS channel order.
pub const S2_BANDS: [&str; 10] = [
    "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12",
];

/// Sentinel-1 channel names in PASTIS channel order.
pub const S1_BANDS: [&str; 3] = ["VV", "VH", "VV/VH"];

/// The name of a class id, or `None` outside 0..19.
pub fn class_name(class: i64) -> Option<&'static str> {
    usize::try_from(class)
        .ok()
        .and_then(|c| CLASS_NAMES.get(c).copied())
}

/// No-data value of Sentinel-2 reflectances.
pub const S2_NODATA: i16 = -10000;
