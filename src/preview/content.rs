//! What a patch's sheet shows, computed from its arrays: the panels (already enlarged), the
//! header lines, the legend and the timeline thumbnails. [`super::sheet`] lays them out.

use super::composite::{self, Band, Stretch};
use super::dates::{self, format_date, DateChoice};
use super::{PanelKind, PreviewOptions};
use crate::georef::GridResult;
use crate::model::{Array, Date, Layer, Patch};
use crate::{Error, Result};
use image::{Rgb, RgbImage};
use ndarray::Array2;

/// Colour of parcel outlines.
pub const OUTLINE_COLOR: Rgb<u8> = Rgb([255, 230, 0]);

/// A dated S2 frame is a candidate for "least cloudy" if at most this share of it is no-data.
pub const MAX_NODATA_SHARE: f64 = 0.1;

/// The pictures and words of one sheet.
pub struct Content {
    /// "Patch 10000 | tile t30uxv | fold 1".
    pub title: String,
    /// The dates shown.
    pub subtitle: String,
    /// How the patch is georeferenced, or why it is not (`None`: not stated).
    pub georef: Option<String>,
    /// What the colours mean.
    pub note: String,
    /// Panels in order, each with its caption and enlarged picture.
    pub panels: Vec<PanelPicture>,
    /// Classes present: id and share of the patch's pixels.
    pub legend: Vec<(usize, f64)>,
    /// Timeline thumbnails: picture, date label, whether it is the date shown in the panels.
    pub thumbnails: Vec<(RgbImage, String, bool)>,
}

/// The S2 frame shown and how it was chosen.
struct S2View {
    t: usize,
    dates: Vec<Option<Date>>,
    picture: RgbImage,
    why: &'static str,
    clearest: Vec<usize>,
}

/// A panel: what it shows, its caption, its picture.
pub type PanelPicture = (PanelKind, String, RgbImage);

/// Computes a sheet's content; fails if the patch has nothing to show or its layers disagree.
pub fn build(patch: &Patch, georef: Option<String>, options: &PreviewOptions) -> Result<Content> {
    let id = patch.id();
    let s2 = patch
        .get(Layer::S2)
        .map(|a| s2_view(patch, a, options.date))
        .transpose()?;
    let (panels, legend, subtitle) = native_panels(patch, s2.as_ref(), options.date)?;
    let mut panels: Vec<PanelPicture> = panels
        .into_iter()
        .map(|(k, c, p)| (k, c, super::draw::enlarge(&p, options.scale)))
        .collect();
    if let Some(instances) = patch.get(Layer::Instances) {
        let parcels = parcels_panel(id, instances, &panels, options.scale)?;
        let after = panels
            .iter()
            .rposition(|p| matches!(p.0, PanelKind::TrueColour | PanelKind::Semantic));
        panels.insert(after.map_or(0, |i| i + 1), parcels);
    }
    if let Some(spot) = spot_panel(patch, &panels, options.scale)? {
        let after = panels.iter().position(|p| p.0 == PanelKind::TrueColour);
        panels.insert(after.map_or(0, |i| i + 1), spot);
    }
    if panels.is_empty() {
        let what = "has none of S2, TARGET, INSTANCES, S1A, S1D, SPOT to preview";
        return Err(Error::patch(id, what));
    }
    let thumbnails = match (&s2, options.timeline) {
        (Some(v), true) => timeline(patch, v)?,
        _ => Vec::new(),
    };
    Ok(Content {
        title: title(patch),
        subtitle: subtitle.join("    "),
        georef,
        note: note(
            s2.is_some(),
            patch.get(Layer::Instances).is_some(),
            options.scale,
        ),
        panels,
        legend,
        thumbnails,
    })
}

/// Classes present: id and share of the patch's pixels.
type Legend = Vec<(usize, f64)>;

/// The panels at native resolution (true colour, classes, radar), checked to agree in size,
/// with the legend and the header's date captions.
fn native_panels(
    patch: &Patch,
    s2: Option<&S2View>,
    choice: Option<DateChoice>,
) -> Result<(Vec<PanelPicture>, Legend, Vec<String>)> {
    let (mut panels, mut legend, mut subtitle) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(v) = s2 {
        subtitle.push(s2_caption(v));
        let caption = "S2 true colour (B4 B3 B2)".to_string();
        panels.push((PanelKind::TrueColour, caption, v.picture.clone()));
    }
    if let Some(target) = patch.get(Layer::Target) {
        let classes = composite::labels(patch.id(), Layer::Target, target)?;
        legend = legend_entries(&classes);
        let caption = "Semantic classes (TARGET)".to_string();
        panels.push((PanelKind::Semantic, caption, composite::semantic(&classes)));
    }
    let reference = reference_day(s2, choice);
    for layer in [Layer::S1A, Layer::S1D] {
        if let Some(series) = patch.get(layer) {
            let (caption, picture, t) = radar_panel(patch, layer, series, reference, choice)?;
            subtitle.push(format!("{} {}", layer.name(), date_label(patch, layer, t)));
            panels.push((PanelKind::Radar(layer), caption, picture));
        }
    }
    check_sizes(patch.id(), &panels)?;
    Ok((panels, legend, subtitle))
}

/// Longest georeferencing line drawn, in characters (a longer problem is cut with "...").
const GEOREF_LINE_CHARS: usize = 150;

/// The header line saying how a patch is georeferenced: its grid, or why it has none.
pub fn georef_line(grid: &GridResult) -> String {
    let line = match grid {
        Ok(g) => {
            let gt = g.geotransform;
            format!(
                "Grid: EPSG:{}, upper-left {} E {} N, {} m pixels ({})",
                g.epsg, gt[0], gt[3], gt[1], g.zone
            )
        }
        Err(problem) => {
            let text = problem.to_string();
            let text = match problem.patch() {
                Some(id) => text
                    .trim_start_matches(&format!("patch {id}: "))
                    .to_string(),
                None => text,
            };
            format!("Not georeferenced: {text}")
        }
    };
    if line.chars().count() <= GEOREF_LINE_CHARS {
        return line;
    }
    let cut: String = line.chars().take(GEOREF_LINE_CHARS - 3).collect();
    format!("{cut}...")
}

fn title(patch: &Patch) -> String {
    let meta = &patch.meta;
    let tile = meta.tile.as_deref().unwrap_or("?");
    let fold = meta.fold.map_or("?".to_string(), |f| f.to_string());
    format!("Patch {}  |  tile {tile}  |  fold {fold}", meta.id)
}

fn note(s2: bool, instances: bool, scale: u32) -> String {
    let mut parts = vec![format!("{scale}x nearest neighbour")];
    parts.push("stretch: 2-98th percentile per band".into());
    if s2 {
        parts.push("magenta: no data".into());
    }
    if instances {
        parts.push("yellow: parcel outlines".into());
    }
    parts.join("   ")
}

fn s2_view(patch: &Patch, s2: &Array, choice: Option<DateChoice>) -> Result<S2View> {
    let id = patch.id();
    let frames = s2.shape().first().copied().unwrap_or(0);
    if frames == 0 {
        return Err(Error::patch(id, "S2 has no dates"));
    }
    let dates = dates::series_dates(patch, Layer::S2, frames);
    let scores = (0..frames)
        .map(|t| composite::cloudiness(id, s2, t))
        .collect::<Result<Vec<_>>>()?;
    let clearest = clearest_first(&scores);
    let (t, why) = match choice {
        Some(c) => (dates::resolve(c, id, &dates)?, "chosen"),
        None => (clearest[0], "least cloudy"),
    };
    let bands = composite::frame_bands(id, Layer::S2, s2, t, [2, 1, 0])?;
    let stretch = Stretch::robust(&bands);
    let picture = composite::compose(&bands, &stretch);
    Ok(S2View {
        t,
        dates,
        picture,
        why,
        clearest,
    })
}

/// Frame indexes from the least to the most cloudy: lowest mean blue reflectance first (clouds
/// are bright in blue), frames more than [`MAX_NODATA_SHARE`] no-data last. Ties: the earlier.
fn clearest_first(scores: &[(f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |t: usize| (scores[t].1 > MAX_NODATA_SHARE, scores[t].0);
        let ((ma, ba), (mb, bb)) = (key(a), key(b));
        ma.cmp(&mb).then(ba.total_cmp(&bb)).then(a.cmp(&b))
    });
    order
}

fn s2_caption(v: &S2View) -> String {
    let day = v.dates[v.t].map_or("date unknown".to_string(), format_date);
    format!(
        "S2 {day} (index {} of {} dates, {})",
        v.t,
        v.dates.len(),
        v.why
    )
}

/// The day S1 frames are matched to: the S2 date shown, else the `--date` day.
fn reference_day(s2: Option<&S2View>, choice: Option<DateChoice>) -> Option<Date> {
    match (s2, choice) {
        (Some(v), _) => v.dates[v.t],
        (None, Some(DateChoice::Day(d))) => Some(d),
        _ => None,
    }
}

fn radar_panel(
    patch: &Patch,
    layer: Layer,
    series: &Array,
    reference: Option<Date>,
    choice: Option<DateChoice>,
) -> Result<(String, RgbImage, usize)> {
    let frames = series.shape().first().copied().unwrap_or(0);
    let dates = dates::series_dates(patch, layer, frames);
    let t = match (reference.and_then(|d| dates::nearest(d, &dates)), choice) {
        (Some(t), _) => t,
        (None, Some(DateChoice::Index(i))) => {
            dates::resolve(DateChoice::Index(i), patch.id(), &dates)?
        }
        _ => frames / 2,
    };
    let bands: [Band; 3] = composite::radar_bands(patch.id(), layer, series, t)?;
    let picture = composite::compose(&bands, &Stretch::robust(&bands));
    Ok((format!("{} VV / VH / ratio", layer.name()), picture, t))
}

fn date_label(patch: &Patch, layer: Layer, t: usize) -> String {
    let date = patch.meta.dates.get(&layer).and_then(|d| d.get(t));
    date.map_or(format!("index {t}"), |&d| format_date(d))
}

fn legend_entries(classes: &Array2<i64>) -> Legend {
    let counts = composite::class_counts(classes);
    let total = classes.len().max(1) as f64;
    (0..counts.len())
        .filter(|&c| counts[c] > 0)
        .map(|c| (c, counts[c] as f64 / total))
        .collect()
}

fn parcels_panel(
    id: i64,
    instances: &Array,
    panels: &[PanelPicture],
    scale: u32,
) -> Result<PanelPicture> {
    let labels = composite::labels(id, Layer::Instances, instances)?;
    let (h, w) = labels.dim();
    let base = panels
        .iter()
        .find(|p| p.0 == PanelKind::TrueColour)
        .or_else(|| panels.first())
        .map(|p| p.2.clone())
        .unwrap_or_else(|| RgbImage::new(w as u32 * scale, h as u32 * scale));
    if base.dimensions() != (w as u32 * scale, h as u32 * scale) {
        return Err(Error::patch(
            id,
            format!("INSTANCES is {h}x{w} px, unlike the other layers"),
        ));
    }
    let mut picture = base;
    composite::draw_outlines(&mut picture, &labels, scale, OUTLINE_COLOR);
    let count = labels
        .iter()
        .filter(|&&l| l != 0)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Ok((
        PanelKind::Parcels,
        format!("Parcels (INSTANCES, {count})"),
        picture,
    ))
}

/// The SPOT image (PASTIS-HD) with its own robust stretch, resampled (triangle filter) to the
/// size of the other panels, or at the 10 m panels' scale when it is the only one.
fn spot_panel(patch: &Patch, panels: &[PanelPicture], scale: u32) -> Result<Option<PanelPicture>> {
    let Some(spot) = patch.get(Layer::Spot) else {
        return Ok(None);
    };
    let nodata = patch.spot.as_ref().map_or(&[][..], |g| g.nodata.as_slice());
    let bands = composite::spot_bands(patch.id(), spot, nodata)?;
    let picture = composite::compose(&bands, &Stretch::robust(&bands));
    let at_10m = |px: u32| (px * scale / SPOT_TO_S2).max(1);
    let own = (at_10m(picture.width()), at_10m(picture.height()));
    let (w, h) = panels.first().map_or(own, |p| p.2.dimensions());
    let resized = image::imageops::resize(&picture, w, h, image::imageops::FilterType::Triangle);
    let caption = format!(
        "SPOT-6 true colour ({}x{} px)",
        picture.width(),
        picture.height()
    );
    Ok(Some((PanelKind::Spot, caption, resized)))
}

/// SPOT-6 pixels (about 1 m) per S2 pixel (10 m), per side.
const SPOT_TO_S2: u32 = 10;

fn check_sizes(id: i64, panels: &[PanelPicture]) -> Result<()> {
    let sizes: Vec<_> = panels.iter().map(|p| (p.0, p.2.dimensions())).collect();
    match sizes.windows(2).find(|w| w[0].1 != w[1].1) {
        Some(w) => Err(Error::patch(
            id,
            format!(
                "layers differ in size: {:?} is {}x{} px, {:?} is {}x{} px",
                w[0].0, w[0].1 .1, w[0].1 .0, w[1].0, w[1].1 .1, w[1].1 .0
            ),
        )),
        None => Ok(()),
    }
}

/// One thumbnail per S2 date, all with one stretch pooled over the clearest half of the dates,
/// so that cloudy dates stand out bright and no-data in magenta.
fn timeline(patch: &Patch, v: &S2View) -> Result<Vec<(RgbImage, String, bool)>> {
    let Some(s2) = patch.get(Layer::S2) else {
        return Ok(Vec::new());
    };
    let id = patch.id();
    let bands = |t: usize| composite::frame_bands(id, Layer::S2, s2, t, [2, 1, 0]);
    let clear = v.clearest[..v.clearest.len().div_ceil(2)]
        .iter()
        .map(|&t| bands(t))
        .collect::<Result<Vec<_>>>()?;
    let stretch = Stretch::pooled(&clear);
    let thumb_scale = thumbnail_scale(v.picture.width());
    (0..v.dates.len())
        .map(|t| {
            let picture = composite::compose(&bands(t)?, &stretch);
            let label = v.dates[t].map_or(format!("#{t}"), format_date);
            Ok((super::draw::enlarge(&picture, thumb_scale), label, t == v.t))
        })
        .collect()
}

/// Thumbnails are at least 96 px wide: small patches are enlarged, PASTIS' 128 px are not.
fn thumbnail_scale(width: u32) -> u32 {
    96u32.div_ceil(width.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearest_first_prefers_dark_blue_then_complete_frames() {
        // (mean blue, no-data share) per frame.
        let scores = [
            (900.0, 0.0),
            (300.0, 0.5),
            (400.0, 0.05),
            (400.0, 0.0),
            (f64::INFINITY, 1.0),
        ];
        assert_eq!(clearest_first(&scores), [2, 3, 0, 1, 4]);
    }
}
