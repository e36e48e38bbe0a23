//! `pastis-bridge convert SRC DST`.

use super::{progress, ConvertArgs, Outcome};
use anyhow::Context;
use pastis_bridge::convert::{convert, ConvertOptions};
use pastis_bridge::formats::{Format, WriteOptions};

/// Runs `convert`.
pub fn run(args: ConvertArgs) -> anyhow::Result<Outcome> {
    let ConvertArgs {
        src,
        dst,
        to,
        compression,
        zarr_version,
        cog,
        modalities,
        select,
        run,
    } = args;
    let to = to
        .or_else(|| Format::from_extension(&dst))
        .unwrap_or(Format::Pastis);
    let options = ConvertOptions {
        to,
        write: WriteOptions {
            overwrite: run.overwrite,
            compression,
            zarr_version,
            cog,
        },
        selection: select.selection(modalities),
        jobs: run.jobs,
    };
    let bar = progress::bar(run.quiet);
    let summary = convert(
        &src,
        &dst,
        &options,
        &progress::callback(&bar, "converting"),
    )
    .with_context(|| format!("converting {} to {to}", src.display()))?;
    bar.finish_and_clear();
    if !run.quiet {
        eprintln!(
            "wrote {} ({to}): {} patches, {:.1} MB in, {:.1} MB out (ratio {:.2}), {:.2} s, {:.0} MB/s",
            dst.display(),
            summary.patches,
            summary.bytes_in as f64 / 1e6,
            summary.bytes_out as f64 / 1e6,
            summary.compression_ratio(),
            summary.seconds,
            summary.throughput_mb_s()
        );
    }
    Ok(Outcome::Success)
}
