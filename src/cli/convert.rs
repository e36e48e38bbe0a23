//! `pastis-bridge convert SRC DST`.

use super::{progress, ConvertArgs, Outcome};
use anyhow::Context;
use pastis_bridge::convert::{convert, ConvertOptions, Stage};
use pastis_bridge::formats::{CreationOptions, Format, WriteOptions};

/// Runs `convert`.
pub fn run(args: ConvertArgs) -> anyhow::Result<Outcome> {
    let ConvertArgs {
        src,
        dst,
        to,
        compression,
        zarr_version,
        cog,
        no_georef,
        creation_options,
        modalities,
        keep_going,
        strict,
        resume,
        partition,
        finalize,
        select,
        run,
    } = args;
    let stage = match (partition, finalize) {
        (Some(p), _) => Stage::Partition(p),
        (None, true) => Stage::Finalize,
        (None, false) => Stage::Whole,
    };
    let to = to
        .or_else(|| Format::from_extension(&dst))
        .unwrap_or(Format::Pastis);
    let mut creation = CreationOptions::default();
    for option in &creation_options {
        creation.add(option).map_err(anyhow::Error::msg)?;
    }
    if let Some(version) = zarr_version {
        creation.set("ZARR_VERSION", version.to_string());
    }
    if cog {
        creation.set("COG", "YES");
    }
    if no_georef {
        creation.set("GEOREF", "NO");
    }
    let options = ConvertOptions {
        to,
        write: WriteOptions {
            overwrite: run.overwrite,
            compression,
            resume,
            creation,
        },
        selection: select.selection(modalities),
        jobs: run.jobs,
        keep_going,
        strict,
        stage,
    };
    let bar = progress::bar(run.quiet);
    let summary = convert(
        &src,
        &dst,
        &options,
        &progress::callback(&bar, "converting"),
    )
    .map_err(super::georef_hint)
    .with_context(|| format!("converting {} to {to}", src.display()))?;
    bar.finish_and_clear();
    progress::print_warnings(&bar, &summary.warnings);
    if !run.quiet {
        let what = match stage {
            Stage::Whole => String::new(),
            Stage::Partition(p) => format!(" partition {p}"),
            Stage::Finalize => " dataset metadata".into(),
        };
        eprintln!(
            "wrote {}{what} ({to}): {} patches, {:.1} MB in, {:.1} MB out (ratio {:.2}), {:.2} s, {:.0} MB/s",
            dst.display(),
            summary.patches,
            summary.bytes_in as f64 / 1e6,
            summary.bytes_out as f64 / 1e6,
            summary.compression_ratio(),
            summary.seconds,
            summary.throughput_mb_s()
        );
    }
    Ok(progress::failed_outcome(&summary.failed))
}
