//! `pastis-bridge verify A B [--json]`.

use super::{Outcome, VerifyArgs};
use pastis_bridge::verify::{render_text, verify};

/// Runs `verify`: exit 0 identical, 1 different (2 via the error path when unreadable).
pub fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let report = verify(&args.a, &args.b)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_text(&report));
    }
    Ok(if report.identical() {
        Outcome::Success
    } else {
        Outcome::Problems
    })
}
