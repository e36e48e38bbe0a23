//! `pastis-bridge parcels` and `pastis-bridge rasterize`.

use super::{progress, Outcome, ParcelCrs, ParcelsArgs, RasterizeArgs};
use anyhow::Context;
use pastis_bridge::formats::{Format, WriteOptions};
use pastis_bridge::parcels::{self, OutputCrs, ParcelOptions, RasterizeOptions};

/// Runs `parcels`.
pub fn run_parcels(args: ParcelsArgs) -> anyhow::Result<Outcome> {
    let ParcelsArgs {
        src,
        out,
        crs,
        keep_going,
        no_georef,
        select,
        run,
    } = args;
    let options = ParcelOptions {
        crs: match (crs, no_georef) {
            (_, true) => OutputCrs::Pixels,
            (ParcelCrs::Wgs84, false) => OutputCrs::Wgs84,
            (ParcelCrs::Native, false) => OutputCrs::Native,
        },
        selection: select.selection(None),
        jobs: run.jobs,
        overwrite: run.overwrite,
        keep_going,
    };
    let bar = progress::bar(run.quiet);
    let summary =
        parcels::write_parcels(&src, &out, &options, &progress::callback(&bar, "tracing"))
            .map_err(super::georef_hint)
            .with_context(|| format!("vectorising {} to {}", src.display(), out.display()))?;
    bar.finish_and_clear();
    if !run.quiet {
        eprintln!(
            "wrote {}: {} parcels from {} patches in {:.2} s",
            out.display(),
            summary.parcels,
            summary.patches,
            summary.seconds
        );
    }
    Ok(progress::failed_outcome(&summary.failed))
}

/// Runs `rasterize`.
pub fn run_rasterize(args: RasterizeArgs) -> anyhow::Result<Outcome> {
    let RasterizeArgs {
        parcels: src,
        dst,
        grid,
        to,
        no_georef,
        select,
        run,
    } = args;
    let to = to
        .or_else(|| Format::from_extension(&dst))
        .unwrap_or(Format::Pastis);
    let options = RasterizeOptions {
        to,
        write: WriteOptions {
            overwrite: run.overwrite,
            ..WriteOptions::default()
        },
        selection: select.selection(None),
        jobs: run.jobs,
        no_georef,
    };
    let bar = progress::bar(run.quiet);
    let summary = parcels::rasterize(
        &src,
        &grid,
        &dst,
        &options,
        &progress::callback(&bar, "rasterising"),
    )
    .map_err(super::georef_hint)
    .with_context(|| {
        format!(
            "rasterising {} on the grids of {}",
            src.display(),
            grid.display()
        )
    })?;
    bar.finish_and_clear();
    progress::print_warnings(&bar, &summary.warnings);
    if !run.quiet {
        eprintln!(
            "wrote {} ({to}): {} patches from {} parcels in {:.2} s",
            dst.display(),
            summary.patches,
            summary.parcels,
            summary.seconds
        );
    }
    Ok(Outcome::Success)
}
