//! `pastis-bridge synth DST`: a synthetic PASTIS-R-like dataset.

use super::{progress, Outcome, SynthArgs};
use anyhow::Context;
use pastis_bridge::synth::{generate, SynthOptions};

/// Runs `synth`.
pub fn run(args: SynthArgs) -> anyhow::Result<Outcome> {
    let SynthArgs {
        dst,
        patches,
        seed,
        radar,
        spot,
        size,
        date_scale,
        overwrite,
        quiet,
    } = args;
    let options = SynthOptions {
        patches,
        seed,
        radar,
        size,
        date_scale,
        spot,
    };
    options.validate()?;
    let bar = progress::bar(quiet);
    let summary = generate(
        &dst,
        &options,
        overwrite,
        &progress::callback(&bar, "generating"),
    )
    .with_context(|| format!("generating a synthetic dataset at {}", dst.display()))?;
    bar.finish_and_clear();
    progress::print_warnings(&bar, &summary.warnings);
    if !quiet {
        eprintln!(
            "wrote {} (pastis): {patches} synthetic patches of {size}x{size} px, seed {seed}{}",
            dst.display(),
            if radar { ", with S1A and S1D" } else { "" }
        );
    }
    Ok(Outcome::Success)
}
