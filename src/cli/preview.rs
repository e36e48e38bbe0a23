//! `pastis-bridge preview SRC OUTDIR`: one PNG sheet per patch.

use super::{progress, Outcome, PreviewArgs};
use anyhow::Context;
use pastis_bridge::preview::{preview, PreviewOptions};

/// Runs `preview`.
pub fn run(args: PreviewArgs) -> anyhow::Result<Outcome> {
    let PreviewArgs {
        src,
        outdir,
        patches,
        date,
        timeline,
        scale,
        overwrite,
        keep_going,
        quiet,
    } = args;
    let options = PreviewOptions {
        date,
        timeline,
        scale,
        keep_going,
    };
    let bar = progress::bar(quiet);
    let summary = preview(
        &src,
        &outdir,
        patches.as_deref(),
        &options,
        overwrite,
        &progress::callback(&bar, "drawing"),
    )
    .with_context(|| format!("previewing {}", src.display()))?;
    bar.finish_and_clear();
    progress::print_warnings(&bar, &pastis_bridge::preview::warnings(&summary.outputs));
    if !quiet {
        eprintln!(
            "wrote {} previews to {}",
            summary.outputs.len(),
            outdir.display()
        );
    }
    Ok(progress::failed_outcome(&summary.failed))
}
