//! `pastis-bridge synth`.

use super::{Outcome, SynthArgs};

/// Runs `synth`.
pub fn run(_args: SynthArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("synth is not implemented yet")
}
