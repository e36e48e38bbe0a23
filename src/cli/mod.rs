//! Command-line arguments (clap) and their mapping to the library. Exit codes:
//! 0 success / clean / identical, 1 problems found / differences / some patches failed,
//! 2 could not run (unreadable input, bad usage, I/O error).

mod convert;
mod inspect;
mod parcels;
mod preview;
mod progress;
mod synth;
mod verify;

use clap::{Args, Parser, Subcommand};
use pastis_bridge::formats::{Compression, Format};
use pastis_bridge::model::Layer;
use std::path::PathBuf;
use std::process::ExitCode;

/// What a command's run tells `main` to exit with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0: done, clean, identical.
    Success,
    /// Exit 1: problems found, datasets differ, or some patches failed.
    Problems,
    /// Exit 2: could not run.
    Error,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        ExitCode::from(match o {
            Outcome::Success => 0,
            Outcome::Problems => 1,
            Outcome::Error => 2,
        })
    }
}

/// Bridges the PASTIS / PASTIS-R crop-mapping dataset between its original .npy folders, Zarr,
/// HDF5, GeoTIFF and GeoJSON, and proves the round trips exact.
///
/// A DATASET or SRC is any supported format, recognised from what it is: a PASTIS folder
/// (metadata.geojson + DATA_S2/...), a .zarr store, an .h5 file or a GeoTIFF export folder.
///
/// Exit codes: 0 success; 1 problems found (inspect), differences (verify) or failed patches;
/// 2 could not run (unreadable input, bad usage, I/O error).
#[derive(Debug, Parser)]
#[command(name = "pastis-bridge", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a dataset and report every problem found (counts, missing and stray files,
    /// shapes, dtypes, dates, class values, instance consistency).
    Inspect(InspectArgs),
    /// Convert a dataset to another format (pastis, zarr, hdf5, geotiff).
    Convert(ConvertArgs),
    /// Vectorise INSTANCES into parcel polygons with their attributes (GeoJSON, GeoPackage).
    Parcels(ParcelsArgs),
    /// Rasterise parcel polygons back to INSTANCES and TARGET on the grid of a dataset.
    Rasterize(RasterizeArgs),
    /// Compare two datasets in any formats, array by array and field by field.
    Verify(VerifyArgs),
    /// Generate a realistic synthetic PASTIS-R-like dataset.
    Synth(SynthArgs),
    /// Draw one PNG sheet per patch: S2 true colour, classes, parcels, S1 (see docs/preview.md).
    Preview(PreviewArgs),
}

/// Arguments of `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The dataset to check (any supported format).
    pub dataset: PathBuf,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Which patches and layers to process.
#[derive(Debug, Args, Clone)]
pub struct SelectArgs {
    /// Only these patches (ID_PATCH, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub patches: Option<Vec<i64>>,
    /// Only patches of these folds (1..5, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "FOLD,...")]
    pub folds: Option<Vec<i64>>,
}

/// Options shared by long-running commands.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Replace an existing output.
    #[arg(long)]
    pub overwrite: bool,
}

/// Arguments of `convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The dataset to read (any supported format).
    pub src: PathBuf,
    /// The output: a folder (pastis, geotiff), a .zarr store or an .h5 file; a Zarr store may be
    /// an object-store URL (s3://bucket/prefix/name.zarr, gs://, az://; credentials and endpoint
    /// from the environment: AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL...).
    pub dst: PathBuf,
    /// Output format; default from DST's extension (.zarr, .h5), else pastis.
    #[arg(long, value_name = "FORMAT")]
    pub to: Option<Format>,
    /// Compression: blosc-zstd[:LEVEL[:bit|byte]] (default for Zarr: blosc-zstd:1:bit), blosc-lz4[:LEVEL[:bit|byte]] (blosc-lz4:9:bit: ~2x faster codec, ~3 % larger), zstd[:LEVEL], gzip[:LEVEL] (default for HDF5), lzf, none.
    #[arg(long, value_name = "CODEC")]
    pub compression: Option<Compression>,
    /// Zarr format version: 3 (sharded, default) or 2 (unsharded, for GDAL and QGIS); the same
    /// as `--co ZARR_VERSION=N`.
    #[arg(long, value_name = "2|3", value_parser = clap::value_parser!(u8).range(2..=3))]
    pub zarr_version: Option<u8>,
    /// GeoTIFF: write Cloud Optimized GeoTIFFs; the same as `--co COG=YES`.
    #[arg(long)]
    pub cog: bool,
    /// GeoTIFF: write the TIFFs without CRS, on a pixel grid (origin 0,0, 1 unit per pixel), for
    /// datasets whose footprints do not give the patches' grids; the manifest records why.
    /// Without it such a patch stops the export (exit 2).
    #[arg(long)]
    pub no_georef: bool,
    /// A format-specific creation option, KEY=VALUE (repeatable): ZARR_VERSION=2|3 (zarr),
    /// COG=YES|NO, GEOREF=YES|NO (geotiff), FLOAT16=FLOAT32|KEEP (hdf5). A format refuses keys
    /// it does not understand.
    #[arg(long = "co", value_name = "KEY=VALUE")]
    pub creation_options: Vec<String>,
    /// Only these layers (S2, S1A, S1D, TARGET, ParcelIDs, HEATMAP, INSTANCES, ZONES, SPOT;
    /// comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "LAYER,...")]
    pub modalities: Option<Vec<Layer>>,
    /// Skip patches that cannot be read, convert the others, and exit 1 naming every failed
    /// patch (reads each patch twice). Without it, the first error stops the run and no output is left.
    #[arg(long)]
    pub keep_going: bool,
    /// Refuse (exit 2, naming each item, nothing written) a source holding content the output
    /// will not carry: files beside the PASTIS layout, files of patches metadata.geojson does
    /// not list, strays in PASTIS-HD's DATA_SPOT/. Without it they are named as warnings.
    #[arg(long)]
    pub strict: bool,
    /// Continue an interrupted conversion (DST.partial and its journal) with the same source and
    /// options, skipping the patches already written. HDF5 outputs are written again from the start.
    #[arg(long)]
    pub resume: bool,
    /// Convert only partition I of N (0-based) of a Zarr conversion split over N workers, each
    /// writing its own shards into the same store; `auto/N` reads I from JOB_COMPLETION_INDEX,
    /// SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX. Then run --finalize once (docs/scale-out.md).
    #[arg(long, value_name = "I/N", conflicts_with_all = ["finalize", "resume"])]
    pub partition: Option<pastis_bridge::pipeline::PartitionSpec>,
    /// After all partitions: check that each finished and write the dataset-level metadata
    /// (same SRC, DST and options as the partitions).
    #[arg(long)]
    pub finalize: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Coordinate reference system of the parcel polygons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ParcelCrs {
    /// WGS84 longitude/latitude, as RFC 7946 GeoJSON requires.
    Wgs84,
    /// The patch's own UTM grid CRS: no coordinate is reprojected.
    Native,
}

/// Arguments of `parcels`.
#[derive(Debug, Args)]
pub struct ParcelsArgs {
    /// The dataset to read INSTANCES, TARGET and ParcelIDs from (any supported format).
    pub src: PathBuf,
    /// The output: .geojson, .gpkg or .fgb.
    pub out: PathBuf,
    /// CRS of the output coordinates (GeoPackage keeps the native grid CRS instead of WGS84).
    #[arg(long, value_enum, default_value_t = ParcelCrs::Wgs84)]
    pub crs: ParcelCrs,
    /// Skip patches whose parcels cannot be traced, write the others, and exit 1 naming every
    /// failed patch. Without it, the first error stops the run and no output is left.
    #[arg(long)]
    pub keep_going: bool,
    /// Write the polygons without CRS, in each patch's pixel coordinates (x = column, y = -row,
    /// as the GeoTIFFs of `convert --no-georef`), for datasets whose footprints do not give the
    /// patches' grids; every feature's `not_georeferenced` says why. Without it such a patch
    /// stops the run (exit 2).
    #[arg(long, conflicts_with = "crs")]
    pub no_georef: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of `rasterize`.
#[derive(Debug, Args)]
pub struct RasterizeArgs {
    /// Parcel polygons written by `parcels` (.geojson, .gpkg, .fgb).
    pub parcels: PathBuf,
    /// The output dataset holding INSTANCES and TARGET.
    pub dst: PathBuf,
    /// The dataset whose patch grids to rasterise on.
    #[arg(long, value_name = "SRC")]
    pub grid: PathBuf,
    /// Output format; default from DST's extension, else pastis.
    #[arg(long, value_name = "FORMAT")]
    pub to: Option<Format>,
    /// The parcels are in pixel coordinates without CRS (written by `parcels --no-georef`):
    /// burn them on each patch's pixel grid; the footprints of SRC are not used.
    #[arg(long)]
    pub no_georef: bool,
    /// Patches of the grid dataset to rebuild (default: all).
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The first dataset (any supported format).
    pub a: PathBuf,
    /// The second dataset (any supported format).
    pub b: PathBuf,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The folder to create (PASTIS layout).
    pub dst: PathBuf,
    /// Number of patches.
    #[arg(long, default_value_t = 10)]
    pub patches: usize,
    /// Random seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also generate Sentinel-1 (S1A, S1D), like PASTIS-R.
    #[arg(long)]
    pub radar: bool,
    /// Also generate a SPOT-6 image per patch (1 m true colour, 3 bands, uint8, on the patch's
    /// UTM grid), like PASTIS-HD: DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/.
    #[arg(long)]
    pub spot: bool,
    /// Patch size in pixels (PASTIS: 128).
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Scale the number of dates down (1.0 = full PASTIS length, 38..61 S2 dates).
    #[arg(long, default_value_t = 1.0)]
    pub date_scale: f64,
    /// Replace an existing output.
    #[arg(long)]
    pub overwrite: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Arguments of `preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The dataset to read (any supported format).
    pub src: PathBuf,
    /// The folder to write `preview_{ID}.png` into (created if missing).
    pub outdir: PathBuf,
    /// Only these patches (ID_PATCH, comma-separated); default: every patch.
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub patches: Option<Vec<i64>>,
    /// The S2 date shown: an index into the patch's S2 series, or YYYY-MM-DD (the nearest S2
    /// acquisition). Default: the least cloudy date. S1 panels show their nearest date.
    #[arg(long, value_name = "N|YYYY-MM-DD")]
    pub date: Option<pastis_bridge::preview::DateChoice>,
    /// Add a strip of small true-colour thumbnails, one per S2 date.
    #[arg(long)]
    pub timeline: bool,
    /// Enlargement of each patch pixel (nearest neighbour).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,
    /// Replace existing previews.
    #[arg(long)]
    pub overwrite: bool,
    /// Skip patches whose sheet cannot be drawn, draw the others, and exit 1 naming every
    /// failed patch. Without it, the first error stops the run and no sheet is written.
    #[arg(long)]
    pub keep_going: bool,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Parcels(a) => parcels::run_parcels(a),
        Command::Rasterize(a) => parcels::run_rasterize(a),
        Command::Verify(a) => verify::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Preview(a) => preview::run(a),
    }
}

/// A library error with, for a georeferencing problem, the way out: `--no-georef`.
pub fn georef_hint(err: pastis_bridge::Error) -> anyhow::Error {
    let hint = matches!(err, pastis_bridge::Error::Georef(_));
    let err = anyhow::Error::new(err);
    if hint {
        err.context(
            "a footprint does not give its patch's grid (--no-georef writes the output \
             without CRS, in pixel coordinates)",
        )
    } else {
        err
    }
}

impl SelectArgs {
    /// The library's selection for these arguments.
    pub fn selection(&self, layers: Option<Vec<Layer>>) -> pastis_bridge::pipeline::Selection {
        pastis_bridge::pipeline::Selection {
            patches: self.patches.clone(),
            folds: self.folds.clone(),
            layers,
        }
    }
}
