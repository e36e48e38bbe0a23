//! `pastis-bridge verify`.

use super::{Outcome, VerifyArgs};

/// Runs `verify`.
pub fn run(_args: VerifyArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("verify is not implemented yet")
}
