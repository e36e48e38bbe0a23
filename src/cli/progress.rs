//! The progress bar: owned by the binary, fed by the library's progress callback. Warnings the
//! library raises while the bar is drawn are printed above it (`ProgressBar::suspend`), so they
//! never break it; when no bar is drawn (`--quiet`, not a terminal) they are printed from the
//! summary at the end.

use super::Outcome;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pastis_bridge::pipeline::{FailedPatch, Progress};
use std::io::IsTerminal;

/// A bar that shows nothing when `quiet` or when standard error is not a terminal.
pub fn bar(quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:12} [{bar:30}] {pos}/{len} patches  {binary_bytes_per_sec}  eta {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar
}

/// A callback that advances `bar`, and prints warnings above it while it is drawn.
pub fn callback<'a>(bar: &'a ProgressBar, message: &'static str) -> impl Fn(Progress) + Sync + 'a {
    move |p| match p {
        Progress::Start { total } => {
            bar.set_length(total as u64);
            bar.set_message(message);
        }
        Progress::Patch { .. } => bar.inc(1),
        Progress::Warning(w) if !bar.is_hidden() => {
            bar.suspend(|| eprintln!("pastis-bridge: warning: {w}"));
        }
        Progress::Finishing => bar.set_message("finishing"),
        _ => {}
    }
}

/// Prints the warnings of a run's summary, unless `bar` is drawn (it printed them as they came).
/// Warnings are printed even with `--quiet`: they say what the output lacks.
pub fn print_warnings(bar: &ProgressBar, warnings: &[String]) {
    if !bar.is_hidden() {
        return;
    }
    for w in warnings {
        eprintln!("pastis-bridge: warning: {w}");
    }
}

/// Names each patch skipped with `--keep-going` and why, then all of them on one line; exit 1
/// when any was skipped (the contract of `convert`, `parcels` and `preview`).
pub fn failed_outcome(failed: &[FailedPatch]) -> Outcome {
    for f in failed {
        eprintln!("pastis-bridge: patch {} skipped: {}", f.id, f.error);
    }
    if failed.is_empty() {
        return Outcome::Success;
    }
    let ids: Vec<String> = failed.iter().map(|f| f.id.to_string()).collect();
    eprintln!(
        "pastis-bridge: {} patches failed: {}",
        ids.len(),
        ids.join(", ")
    );
    Outcome::Problems
}
