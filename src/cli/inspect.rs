//! `pastis-bridge inspect`.

use super::{InspectArgs, Outcome};

/// Runs `inspect`.
pub fn run(_args: InspectArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("inspect is not implemented yet")
}
