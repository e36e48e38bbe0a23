//! `pastis-bridge parcels` and `pastis-bridge rasterize`.

use super::{Outcome, ParcelsArgs, RasterizeArgs};

/// Runs `parcels`.
pub fn run_parcels(_args: ParcelsArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("parcels is not implemented yet")
}

/// Runs `rasterize`.
pub fn run_rasterize(_args: RasterizeArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("rasterize is not implemented yet")
}
