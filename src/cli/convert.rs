//! `pastis-bridge convert SRC DST`.

use super::{progress, ConvertArgs, Outcome};
use anyhow::Context;
use pastis_bridge::convert::{convert, ConvertOptions, Stage};
use pastis_bridge::formats::{CreationOptions, Format, WriteOptions};
use pastis_bridge::pipeline::Summary;
use std::path::Path;

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
        (Some(spec), _) => Stage::Partition(
            spec.resolve(|name| std::env::var(name).ok())
                .map_err(anyhow::Error::msg)?,
        ),
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
        eprintln!("{}", summary_line(&dst, to, stage, &summary));
    }
    Ok(progress::failed_outcome(&summary.failed))
}

/// The one-line summary of a run: what a whole run read and stored (and their ratio); what one
/// partition read (it shares the store with the others: no size of its own); what a
/// finalization left stored (it reads no data).
fn summary_line(dst: &Path, to: Format, stage: Stage, summary: &Summary) -> String {
    let mb = |bytes: u64| bytes as f64 / 1e6;
    let read = format!(
        "{:.1} MB in, {:.2} s, {:.0} MB/s",
        mb(summary.bytes_in),
        summary.seconds,
        summary.throughput_mb_s()
    );
    match stage {
        Stage::Whole => {
            let ratio = summary
                .compression_ratio()
                .map_or_else(String::new, |r| format!(" (ratio {r:.2})"));
            format!(
                "wrote {} ({to}): {} patches, {:.1} MB in, {:.1} MB out{ratio}, {:.2} s, {:.0} MB/s",
                dst.display(),
                summary.patches,
                mb(summary.bytes_in),
                mb(summary.bytes_out),
                summary.seconds,
                summary.throughput_mb_s()
            )
        }
        Stage::Partition(p) => format!(
            "wrote partition {p} of {} ({to}): {} patches, {read}; run --finalize once every partition has finished",
            dst.display(),
            summary.patches
        ),
        Stage::Finalize => format!(
            "finalized {} ({to}): {} patches, {:.1} MB stored, {:.2} s",
            dst.display(),
            summary.patches,
            mb(summary.bytes_out),
            summary.seconds
        ),
    }
}
