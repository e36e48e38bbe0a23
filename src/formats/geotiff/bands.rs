//! What each band is: descriptions (`2018-09-24 B8A`), DATE items, no-data, and the class colour
//! table and names of a single-band class raster (TARGET's channel 0).

use super::manifest::LayerEntry;
use crate::model::classes::{CLASS_COLORS, CLASS_NAMES, S1_BANDS, S2_BANDS, S2_NODATA};
use crate::model::{DType, Date, Layer, PatchMeta};
use gdal::cpl::CslStringList;
use gdal::raster::{ColorEntry, ColorTable, PaletteInterpretation, RasterBand};
use gdal::{Dataset, Metadata};

/// A GDAL result.
type GdalResult<T> = gdal::errors::Result<T>;

/// One band's label and date.
#[derive(Clone, Debug, PartialEq)]
pub struct BandLabel {
    /// The band description: `2018-09-24 B8A`, `class`, `ParcelIDs`.
    pub description: String,
    /// The acquisition date, `2018-09-24`, for time series with known dates.
    pub date: Option<String>,
    /// The channel's own name: `B8A`, `VV`, `class`.
    pub channel: String,
}

/// `20180924` → `2018-09-24`.
pub fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date / 10000,
        date / 100 % 100,
        date % 100
    )
}

/// The labels of the bands of a `layer` array of `shape`, in band order.
pub fn band_labels(layer: Layer, shape: &[usize], dates: Option<&[Date]>) -> Vec<BandLabel> {
    let lead = &shape[..shape.len().saturating_sub(2)];
    let channels = lead.last().copied().unwrap_or(1);
    let frames = lead.iter().rev().skip(1).product::<usize>();
    let dates = dates.filter(|d| layer.is_series() && lead.len() == 2 && d.len() == frames);
    let mut labels = Vec::with_capacity(frames * channels);
    for t in 0..frames {
        let date = dates.map(|d| iso_date(d[t]));
        for c in 0..channels {
            let channel = channel_name(layer, lead.len(), channels, c);
            let when = match (&date, layer.is_series() && lead.len() == 2) {
                (Some(d), _) => format!("{d} "),
                (None, true) => format!("t{t} "),
                (None, false) => String::new(),
            };
            let description = format!("{when}{channel}");
            labels.push(BandLabel {
                description,
                date: date.clone(),
                channel,
            });
        }
    }
    labels
}

fn channel_name(layer: Layer, lead_axes: usize, channels: usize, c: usize) -> String {
    let known: Option<&[&str]> = match (layer, lead_axes) {
        (Layer::S2, 2) if channels == S2_BANDS.len() => Some(&S2_BANDS),
        (Layer::S1A | Layer::S1D, 2) if channels == S1_BANDS.len() => Some(&S1_BANDS),
        _ => None,
    };
    match (known, layer, lead_axes) {
        (Some(names), _, _) => names[c].to_string(),
        (None, Layer::Target, 1) if c == 0 => "class".into(),
        (None, Layer::Target, 0) => "class".into(),
        (None, _, 0) => layer.name().into(),
        _ => format!("{} channel {c}", layer.name()),
    }
}

/// Writes dataset metadata, band descriptions, dates, no-data and the class palette.
pub fn describe(
    ds: &mut Dataset,
    layer: Layer,
    meta: &PatchMeta,
    entry: &LayerEntry,
) -> GdalResult<()> {
    let dates = meta.dates.get(&layer).map(Vec::as_slice);
    dataset_items(ds, layer, meta, entry, dates)?;
    let labels = band_labels(layer, &entry.shape, dates);
    for (i, label) in labels.iter().enumerate() {
        let mut band = ds.rasterband(i + 1)?;
        band.set_description(&label.description)?;
        band.set_metadata_item("CHANNEL", &label.channel, "")?;
        if let Some(date) = &label.date {
            band.set_metadata_item("DATE", date, "")?;
        }
        if layer == Layer::S2 && entry.stored_as == DType::I16 {
            band.set_no_data_value(Some(f64::from(S2_NODATA)))?;
        }
    }
    if has_palette(layer, entry) {
        class_palette(&mut ds.rasterband(1)?)?;
    }
    Ok(())
}

/// True if a raster is a single class band a colour table fits (Byte or UInt16: GTiff holds a
/// colour table only on a single band of these types).
pub fn has_palette(layer: Layer, entry: &LayerEntry) -> bool {
    let single =
        entry.shape.len() >= 2 && entry.shape[..entry.shape.len() - 2].iter().all(|&n| n == 1);
    layer == Layer::Target && single && matches!(entry.stored_as, DType::U8 | DType::U16)
}

fn dataset_items(
    ds: &mut Dataset,
    layer: Layer,
    meta: &PatchMeta,
    entry: &LayerEntry,
    dates: Option<&[Date]>,
) -> GdalResult<()> {
    let shape: Vec<String> = entry.shape.iter().map(usize::to_string).collect();
    ds.set_metadata_item("ID_PATCH", &meta.id.to_string(), "")?;
    ds.set_metadata_item("LAYER", layer.name(), "")?;
    ds.set_metadata_item("DTYPE", entry.dtype.name(), "")?;
    ds.set_metadata_item("SHAPE", &shape.join(","), "")?;
    if let Some(tile) = &meta.tile {
        ds.set_metadata_item("TILE", tile, "")?;
    }
    if let Some(fold) = meta.fold {
        ds.set_metadata_item("FOLD", &fold.to_string(), "")?;
    }
    if let Some(dates) = dates {
        let iso: Vec<String> = dates.iter().copied().map(iso_date).collect();
        ds.set_metadata_item("DATES", &iso.join(","), "")?;
    }
    Ok(())
}

/// The class names as one metadata item, `0=Background;1=Meadow;...`: kept inside the TIFF, while
/// GDAL 3.6 writes a GTiff band's category names only to the `.aux.xml` sidecar.
pub fn class_list() -> String {
    let items: Vec<String> = CLASS_NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{i}={n}"))
        .collect();
    items.join(";")
}

/// The PASTIS class colours and names on a class band (GDAL category names, which QGIS shows as
/// the legend of its paletted renderer), and the names as the `CLASSES` item.
pub fn class_palette(band: &mut RasterBand) -> GdalResult<()> {
    band.set_metadata_item("CLASSES", &class_list(), "")?;
    let mut table = ColorTable::new(PaletteInterpretation::Rgba);
    for (i, [r, g, b]) in CLASS_COLORS.iter().enumerate() {
        let entry = ColorEntry::rgba(i16::from(*r), i16::from(*g), i16::from(*b), 255);
        table.set_color_entry(i as u16, &entry);
    }
    band.set_color_table(&table);
    let names: CslStringList = CLASS_NAMES.iter().map(|n| n.to_string()).collect();
    // SAFETY: the band handle is valid while `band` lives; GDAL copies the string list.
    let rv = unsafe { gdal_sys::GDALSetRasterCategoryNames(band.c_rasterband(), names.as_ptr()) };
    if rv != gdal_sys::CPLErr::CE_None {
        return Err(gdal::errors::GdalError::BadArgument(
            "GDAL refused the class names".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_bands_are_date_and_channel() {
        let labels = band_labels(Layer::S2, &[2, 10, 4, 4], Some(&[20180924, 20181004]));
        assert_eq!(labels.len(), 20);
        assert_eq!(labels[7].description, "2018-09-24 B8A");
        assert_eq!(labels[10].description, "2018-10-04 B2");
        assert_eq!(labels[10].date.as_deref(), Some("2018-10-04"));
        let s1 = band_labels(Layer::S1D, &[3, 3, 4, 4], None);
        assert_eq!(s1[4].description, "t1 VH");
        assert_eq!(s1[4].date, None);
    }

    #[test]
    fn annotation_bands_are_named() {
        let target = band_labels(Layer::Target, &[3, 4, 4], None);
        let names: Vec<_> = target.iter().map(|l| l.description.as_str()).collect();
        assert_eq!(names, ["class", "TARGET channel 1", "TARGET channel 2"]);
        assert_eq!(
            band_labels(Layer::Heatmap, &[4, 4], None)[0].description,
            "HEATMAP"
        );
        assert_eq!(iso_date(20190101), "2019-01-01");
    }
}
