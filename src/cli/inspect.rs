//! `pastis-bridge inspect DATASET [--json]`.

use super::{InspectArgs, Outcome};
use pastis_bridge::inspect::{inspect, render_text};

/// Runs `inspect`: exit 0 when clean, 1 when problems were found (2 via the error path).
pub fn run(args: InspectArgs) -> anyhow::Result<Outcome> {
    let report = inspect(&args.dataset)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_text(&report));
    }
    Ok(if report.is_clean() {
        Outcome::Success
    } else {
        Outcome::Problems
    })
}
