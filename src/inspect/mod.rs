//! `inspect`: validate a dataset and report every problem a user can act on.
//!
//! Checks of a PASTIS folder look at files (missing, stray, hidden, unknown ids, unreadable) and
//! then, for any format, at each patch's arrays (shapes, dtypes, dates, classes, instances) and
//! at whether its footprint, in the CRS the metadata declares, gives its pixel grid
//! ([`crate::georef`]).
#![warn(clippy::expect_used, clippy::indexing_slicing)] // input-dependent: no panic (#16)

mod files;
mod georef_checks;
mod patch_checks;

pub use patch_checks::check_patch;

use crate::formats::{self, geotiff, pastis::PastisReader, DatasetReader, Format};
use crate::georef::FootprintCrs;
use crate::model::{ArraySpec, DType, Layer, Patch, SpotGeoref};
use crate::Result;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The kind of a problem, for grouping and for machine-readable reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A patch listed in metadata lacks a file of a layer the dataset has.
    MissingFile,
    /// A file whose name is not part of the layout (duplicates, strays, unknown folders).
    StrayFile,
    /// A hidden file or folder (name starting with a dot).
    HiddenFile,
    /// A file for a patch absent from metadata.
    UnknownPatch,
    /// A file that cannot be read (truncated, bad header, unsupported dtype).
    Unreadable,
    /// A shape that disagrees with the layout or with the patch's other arrays.
    Shape,
    /// A dtype other than the official release's.
    Dtype,
    /// A series whose frame count differs from its number of dates, or that has no dates.
    DateCount,
    /// Dates out of chronological order, duplicated, or not valid calendar dates.
    Dates,
    /// TARGET channel 0 values outside 0..19.
    ClassValue,
    /// INSTANCES disagreeing with TARGET (instance on background, or none on a parcel).
    Instances,
    /// Values that should not be there (NaN or infinity in HEATMAP).
    Values,
    /// A footprint that gives no trustworthy pixel grid (none, not a square of the patch's size
    /// in its UTM zone, outside its tile's zone or its declared CRS's area of use), or a declared
    /// CRS that is not understood: see [`crate::georef::GeorefProblem`].
    Georef,
    /// A STAC catalog of a GeoTIFF export that disagrees with its TIFFs (a patch without its
    /// Item, an asset href to a missing file, `proj:*` fields other than the TIFF's grid): see
    /// [`crate::formats::geotiff::stac::check_catalog`].
    Catalog,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// The file concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The patch concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<i64>,
    /// The layer concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<Layer>,
    /// What is wrong, with the numbers in it.
    pub message: String,
}

/// What one layer looks like across the dataset.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LayerSummary {
    /// Patches that have this layer.
    pub patches: usize,
    /// Element types found, with how many patches have each.
    pub dtypes: BTreeMap<DType, usize>,
    /// Shapes of one patch without the time axis (series) or whole (annotations), with counts.
    pub shapes: BTreeMap<String, usize>,
    /// Shortest and longest series (series only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_range: Option<(usize, usize)>,
}

/// The validation report of one dataset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The dataset inspected.
    pub dataset: PathBuf,
    /// Its format.
    pub format: String,
    /// Patches listed in the metadata.
    pub patches: usize,
    /// Per layer present: counts, dtypes, shapes.
    pub layers: BTreeMap<Layer, LayerSummary>,
    /// Every problem found, in a stable order.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Inspects a dataset of any format. Errors only when the dataset cannot be read at all (not
/// recognised, metadata unreadable); everything else is a [`Problem`] in the report.
pub fn inspect(path: &Path) -> Result<Report> {
    let format = Format::detect(path)?;
    let (reader, mut problems): (Box<dyn DatasetReader>, Vec<Problem>) = match format {
        Format::Pastis => {
            // A bad NORM file is one problem among the others, not the end of the inspection.
            let (reader, unreadable) = PastisReader::open_lenient(path)?;
            let mut problems = files::check_files(&reader);
            problems.extend(unreadable.into_iter().map(files::unreadable_file));
            (Box::new(reader), problems)
        }
        _ => (formats::open(path)?, Vec::new()),
    };
    let meta = reader.metadata();
    let crs = FootprintCrs::from_declared(meta.crs.as_deref());
    if let Err(e) = &crs {
        problems.push(georef_checks::georef_problem(e));
    }
    let per_patch: Vec<(BTreeMap<Layer, ArraySpec>, Vec<Problem>)> = meta
        .patches
        .par_iter()
        .map(|p| {
            let (specs, mut found, spot) = match format {
                Format::Pastis => files::check_patch_files(path, p),
                _ => check_read_patch(reader.as_ref(), p.id),
            };
            found.extend(georef_checks::check_patch_georef(
                crs.as_ref().copied(),
                p,
                &specs,
            ));
            if let Some(spot) = &spot {
                let problem =
                    georef_checks::check_spot_footprint(crs.as_ref().copied(), p, &specs, spot);
                found.extend(problem.map(|mut problem| {
                    if format == Format::Pastis {
                        problem.path = Some(formats::pastis::array_path(path, Layer::Spot, p.id));
                    }
                    problem
                }));
            }
            (specs, found)
        })
        .collect();
    let mut layers: BTreeMap<Layer, LayerSummary> = BTreeMap::new();
    for (specs, patch_problems) in per_patch {
        for (layer, spec) in specs {
            summarise(layers.entry(layer).or_default(), layer, &spec);
        }
        problems.extend(patch_problems);
    }
    problems.extend(patch_checks::check_dataset_shapes(&layers));
    if format == Format::GeoTiff {
        problems.extend(catalog_problems(path)?);
    }
    problems.sort_by(|a, b| {
        (a.kind, a.patch, a.layer, &a.path).cmp(&(b.kind, b.patch, b.layer, &b.path))
    });
    Ok(Report {
        dataset: path.to_path_buf(),
        format: format.name().to_string(),
        patches: meta.patches.len(),
        layers,
        problems,
    })
}

/// The problems of a GeoTIFF export's STAC catalog.
fn catalog_problems(path: &Path) -> Result<Vec<Problem>> {
    let manifest = geotiff::Manifest::read(path)?;
    let found = geotiff::stac::check_catalog(path, &manifest);
    Ok(found
        .into_iter()
        .map(|p| Problem {
            kind: ProblemKind::Catalog,
            path: Some(p.path),
            patch: p.patch,
            layer: None,
            message: p.message,
        })
        .collect())
}

/// What inspect learns of one patch: its arrays' specs, its problems, its SPOT georeferencing.
pub(crate) type PatchFindings = (BTreeMap<Layer, ArraySpec>, Vec<Problem>, Option<SpotGeoref>);

fn check_read_patch(reader: &dyn DatasetReader, id: i64) -> PatchFindings {
    match reader.read_patch(id, &Layer::ALL) {
        Ok(patch) => (specs_of(&patch), check_patch(&patch), patch.spot),
        Err(e) => (
            BTreeMap::new(),
            vec![Problem {
                kind: ProblemKind::Unreadable,
                path: None,
                patch: Some(id),
                layer: None,
                message: e.report(),
            }],
            None,
        ),
    }
}

/// The dtype and shape of each array of a patch.
pub fn specs_of(patch: &Patch) -> BTreeMap<Layer, ArraySpec> {
    patch
        .arrays
        .iter()
        .map(|(l, a)| {
            (
                *l,
                ArraySpec {
                    dtype: a.dtype(),
                    shape: a.shape().to_vec(),
                },
            )
        })
        .collect()
}

fn summarise(summary: &mut LayerSummary, layer: Layer, spec: &ArraySpec) {
    summary.patches += 1;
    *summary.dtypes.entry(spec.dtype).or_default() += 1;
    let (time, rest) = match (layer.is_series(), spec.shape.split_first()) {
        (true, Some((t, rest))) => (Some(*t), rest),
        _ => (None, &spec.shape[..]),
    };
    let key = if layer.is_series() {
        format!("(T, {})", join(rest))
    } else {
        format!("({})", join(rest))
    };
    *summary.shapes.entry(key).or_default() += 1;
    if let Some(t) = time {
        let (lo, hi) = summary.time_range.unwrap_or((t, t));
        summary.time_range = Some((lo.min(t), hi.max(t)));
    }
}

fn join(dims: &[usize]) -> String {
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report as text for a terminal: a summary per layer, then problems grouped by kind.
pub fn render_text(report: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}): {} patches in metadata",
        report.dataset.display(),
        report.format,
        report.patches
    );
    for (layer, s) in &report.layers {
        let dtypes: Vec<String> = s.dtypes.keys().map(|d| d.to_string()).collect();
        let shapes: Vec<&str> = s.shapes.keys().map(String::as_str).collect();
        let time = s
            .time_range
            .map(|(a, b)| format!(", T = {a}..{b}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<10} {:>6} patches  {}  {}{time}",
            layer.name(),
            s.patches,
            dtypes.join("/"),
            shapes.join(" / ")
        );
    }
    if report.problems.is_empty() {
        let _ = writeln!(out, "no problems found");
        return out;
    }
    let _ = writeln!(out, "{} problems found:", report.problems.len());
    let mut kind = None;
    for p in &report.problems {
        if kind != Some(p.kind) {
            kind = Some(p.kind);
            let n = report.problems.iter().filter(|q| q.kind == p.kind).count();
            let _ = writeln!(
                out,
                "  {} ({n}):",
                serde_json::to_value(p.kind)
                    .map(|v| v.as_str().unwrap_or_default().replace('_', " "))
                    .unwrap_or_default()
            );
        }
        let location = match (&p.path, p.patch) {
            (Some(path), _) => format!("{}: ", path.display()),
            (None, Some(id)) => format!("patch {id}: "),
            (None, None) => String::new(),
        };
        let _ = writeln!(out, "    {location}{}", p.message);
    }
    out
}
