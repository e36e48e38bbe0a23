//! Preview sheets: one PNG per patch that a person can look at before trusting a conversion.
//!
//! A sheet shows, side by side and enlarged (nearest neighbour, 4x by default): the S2 true
//! colour composite (B4, B3, B2, each band stretched between its 2nd and 98th percentile over
//! valid pixels, no-data in magenta); the semantic map (TARGET channel 0) in the PASTIS class
//! colours with a legend of the classes present; the parcels (INSTANCES) outlined in yellow over
//! the true colour picture; and, for each Sentinel-1 orbit present, a VV/VH false colour
//! composite (R = VV, G = VH, B = VV/VH ratio, stretched likewise). The header names the patch,
//! tile, fold and dates, and how the patch is georeferenced: its UTM grid recovered from the
//! footprint in the CRS the metadata declares ([`crate::georef`]), or why it has none. Optionally a
//! timeline of small thumbnails, one per S2 date.
//!
//! The S2 date shown is `--date` (an index or the nearest acquisition to a day), by default the
//! least cloudy: the lowest mean blue (B2) reflectance among dates at most 10 % no-data. Each S1
//! orbit shows its date nearest to the S2 date shown. See `docs/preview.md`.

mod composite;
mod content;
mod dates;
mod draw;
mod sheet;

pub use composite::{NODATA_COLOR, STRETCH_PERCENTILES};
pub use content::OUTLINE_COLOR;
pub use dates::DateChoice;

use crate::convert::Progress;
use crate::formats::{self, DatasetReader};
use crate::georef::{recover_grid, FootprintCrs, GeorefProblem, GridResult};
use crate::model::{Layer, Patch};
use crate::output::StagedFolder;
use crate::pipeline::{FailedPatch, KeepGoing};
use crate::{Error, Result};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ImageEncoder, RgbImage};
use rayon::prelude::*;
use std::io::BufWriter;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

/// The layers a preview reads; the others are never loaded.
pub const LAYERS: [Layer; 5] = [
    Layer::S2,
    Layer::Target,
    Layer::Instances,
    Layer::S1A,
    Layer::S1D,
];

/// How sheets are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreviewOptions {
    /// The S2 date shown; `None` = the least cloudy.
    pub date: Option<DateChoice>,
    /// Add a strip of thumbnails, one per S2 date.
    pub timeline: bool,
    /// Enlargement of the panels, 1..=16 (each patch pixel becomes `scale` x `scale`).
    pub scale: u32,
    /// [`preview`]: skip a patch whose sheet cannot be drawn (named in
    /// [`PreviewSummary::failed`]) instead of stopping.
    pub keep_going: bool,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        PreviewOptions {
            date: None,
            timeline: false,
            scale: 4,
            keep_going: false,
        }
    }
}

/// What a panel of a sheet shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelKind {
    /// S2 true colour.
    TrueColour,
    /// TARGET classes in the PASTIS colours.
    Semantic,
    /// INSTANCES outlines over the true colour picture.
    Parcels,
    /// A Sentinel-1 VV/VH composite of this orbit (S1A or S1D).
    Radar(Layer),
}

/// Where a panel's picture lies on its sheet, in sheet pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Panel {
    /// What it shows.
    pub kind: PanelKind,
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width: patch width x scale.
    pub width: u32,
    /// Height: patch height x scale.
    pub height: u32,
}

/// A drawn sheet.
#[derive(Clone, Debug)]
pub struct Sheet {
    /// The picture.
    pub image: RgbImage,
    /// Where each panel lies on it.
    pub panels: Vec<Panel>,
}

impl Sheet {
    /// The panel of a kind, if the sheet has one.
    pub fn panel(&self, kind: PanelKind) -> Option<&Panel> {
        self.panels.iter().find(|p| p.kind == kind)
    }
}

/// One written preview.
#[derive(Clone, Debug)]
pub struct PreviewOutput {
    /// `ID_PATCH`.
    pub id: i64,
    /// The PNG written.
    pub path: PathBuf,
    /// Where each panel lies on it.
    pub panels: Vec<Panel>,
    /// Its size in pixels (width, height).
    pub size: (u32, u32),
    /// The patch's grid, or why it cannot be georeferenced (the sheet says which).
    pub georef: GridResult,
}

impl PreviewOutput {
    /// The warning this preview raises: why its patch is not georeferenced, if it is not.
    pub fn warning(&self) -> Option<String> {
        let problem = self.georef.as_ref().err()?;
        Some(format!(
            "{problem} (the header of {} says \"Not georeferenced\")",
            self.path.file_name().map_or_else(
                || self.path.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            )
        ))
    }
}

/// The warnings of some previews, in order: why each patch that is not georeferenced is not
/// (what [`preview`] also sends as [`Progress::Warning`]).
pub fn warnings(outputs: &[PreviewOutput]) -> Vec<String> {
    outputs.iter().filter_map(PreviewOutput::warning).collect()
}

/// Draws the sheet of a patch read with (at least) [`LAYERS`]; with `georef`, its header says
/// how the patch is georeferenced (the grid) or why it is not (the problem).
pub fn render_patch(
    patch: &Patch,
    georef: Option<&GridResult>,
    options: &PreviewOptions,
) -> Result<Sheet> {
    if !(1..=16).contains(&options.scale) {
        return Err(Error::Usage(format!(
            "scale {} is outside 1..=16",
            options.scale
        )));
    }
    let line = georef.map(content::georef_line);
    Ok(sheet::render(content::build(patch, line, options)?))
}

/// The file a patch's preview is written to: `OUTDIR/preview_{ID}.png`.
pub fn preview_path(outdir: &Path, id: i64) -> PathBuf {
    outdir.join(format!("preview_{id}.png"))
}

/// What [`preview`] did.
#[derive(Clone, Debug, Default)]
pub struct PreviewSummary {
    /// The sheets written, in the order of the patches.
    pub outputs: Vec<PreviewOutput>,
    /// Patches whose sheet could not be drawn, skipped with `keep_going`.
    pub failed: Vec<FailedPatch>,
}

/// Writes `OUTDIR/preview_{ID}.png` for each patch of `patches` (all if `None`) of the dataset
/// at `src`, in parallel. Refuses existing previews unless `overwrite`, before drawing any. The
/// sheets are drawn in `OUTDIR.partial` and moved into OUTDIR (created if missing) once all are
/// drawn, so a failed or interrupted run leaves no sheet in OUTDIR. With `keep_going`, a patch
/// whose sheet cannot be drawn is skipped and named in [`PreviewSummary::failed`].
///
/// # Errors
/// The dataset cannot be opened; an unknown patch; an existing preview without `overwrite`;
/// the first patch that cannot be read or drawn (without `keep_going`); a sheet cannot be
/// written. Nothing is left in OUTDIR then.
/// A patch that cannot be georeferenced is drawn all the same (its header says why) and raises a
/// [`Progress::Warning`] ([`PreviewOutput::warning`]).
pub fn preview(
    src: &Path,
    outdir: &Path,
    patches: Option<&[i64]>,
    options: &PreviewOptions,
    overwrite: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<PreviewSummary> {
    let reader = formats::open(src)?;
    let crs = FootprintCrs::from_declared(reader.metadata().crs.as_deref());
    let ids = chosen_ids(reader.as_ref(), src, patches)?;
    if let Some(existing) = ids
        .iter()
        .map(|&id| preview_path(outdir, id))
        .find(|path| path.exists() && !overwrite)
    {
        return Err(Error::Exists(existing));
    }
    let staged = StagedFolder::new(outdir, overwrite)?;
    let keep = KeepGoing::new(options.keep_going);
    progress(Progress::Start { total: ids.len() });
    // A panic is a bug, but it must not leave the staged sheets behind.
    let drawn = std::panic::catch_unwind(AssertUnwindSafe(|| {
        ids.par_iter()
            .map(|&id| {
                let out = write_one(reader.as_ref(), &crs, id, options, staged.path());
                progress(Progress::Patch { id, bytes: 0 });
                keep.absorb(id, out)
            })
            .collect::<Result<Vec<_>>>()
    }))
    .unwrap_or_else(|payload| Err(Error::from_panic(payload.as_ref())));
    let drawn = match drawn {
        Ok(drawn) => drawn,
        Err(e) => {
            staged.discard();
            return Err(e);
        }
    };
    let outputs: Vec<PreviewOutput> = drawn
        .into_iter()
        .flatten()
        .map(|out| PreviewOutput {
            path: preview_path(outdir, out.id),
            ..out
        })
        .collect();
    for warning in warnings(&outputs) {
        progress(Progress::Warning(warning));
    }
    progress(Progress::Finishing);
    staged.commit()?;
    Ok(PreviewSummary {
        outputs,
        failed: keep.into_failed(),
    })
}

fn chosen_ids(reader: &dyn DatasetReader, src: &Path, patches: Option<&[i64]>) -> Result<Vec<i64>> {
    let all = reader.metadata().ids();
    let Some(wanted) = patches else {
        return Ok(all);
    };
    match wanted.iter().find(|id| !all.contains(id)) {
        Some(id) => Err(Error::Usage(format!(
            "patch {id} is not in {}",
            src.display()
        ))),
        None => Ok(wanted.to_vec()),
    }
}

/// Draws the sheet of patch `id` into the folder `dir`; its `path` is the file there.
fn write_one(
    reader: &dyn DatasetReader,
    crs: &std::result::Result<FootprintCrs, GeorefProblem>,
    id: i64,
    options: &PreviewOptions,
    dir: &Path,
) -> Result<PreviewOutput> {
    let patch = reader.read_patch(id, &LAYERS)?;
    let georef = patch_georef(crs, &patch);
    let sheet = render_patch(&patch, Some(&georef), options)?;
    let path = preview_path(dir, id);
    write_png(&sheet.image, &path)?;
    Ok(PreviewOutput {
        id,
        size: sheet.image.dimensions(),
        panels: sheet.panels,
        path,
        georef,
    })
}

/// The grid of a read patch (raster size from its first array of 2+ axes), or its problem.
fn patch_georef(
    crs: &std::result::Result<FootprintCrs, GeorefProblem>,
    patch: &Patch,
) -> GridResult {
    let crs = crs.clone()?;
    let (rows, columns) = patch
        .arrays
        .values()
        .find_map(|a| match a.shape() {
            [.., h, w] => Some((*h, *w)),
            _ => None,
        })
        .unwrap_or((0, 0));
    recover_grid(crs, &patch.meta, rows, columns)
}

/// Encodes `image` as PNG at `path` (best compression: sheets are mostly flat colour).
pub fn write_png(image: &RgbImage, path: &Path) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let encoder = PngEncoder::new_with_quality(
        BufWriter::new(file),
        CompressionType::Best,
        FilterType::Adaptive,
    );
    let (w, h) = image.dimensions();
    encoder
        .write_image(image.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::library(path, "PNG", e))
}
