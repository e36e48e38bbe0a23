//! The progress bar: owned by the binary, fed by the library's progress callback.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pastis_bridge::convert::Progress;
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

/// A callback that advances `bar`.
pub fn callback<'a>(bar: &'a ProgressBar, message: &'static str) -> impl Fn(Progress) + Sync + 'a {
    move |p| match p {
        Progress::Start { total } => {
            bar.set_length(total as u64);
            bar.set_message(message);
        }
        Progress::Patch { .. } => bar.inc(1),
        Progress::Finishing => bar.set_message("finishing"),
    }
}
