//! The `pastis-bridge` command: a thin layer over the library.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// jemalloc, with one arena and freed pages returned at once (`.cargo/config.toml`): converting
/// 200 patches to Zarr peaks at 160 MB instead of 215-232 MB with glibc's malloc, whose
/// per-thread arenas kept freed patch buffers (bench/RESULTS.md, "Zarr peak memory"). The
/// library leaves the allocator to its users.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // A panic that escapes the library is a bug: exit 2 ("could not run") with the message,
    // not Rust's 101.
    let result = std::panic::catch_unwind(|| cli::run(args))
        .unwrap_or_else(|payload| Err(pastis_bridge::Error::from_panic(payload.as_ref()).into()));
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            // Each message of the chain once (ripgrep/uv style): a cause the message above
            // already shows is left out.
            let messages = pastis_bridge::error::chain(err.as_ref());
            let mut messages = messages.iter();
            if let Some(first) = messages.next() {
                eprintln!("pastis-bridge: error: {first}");
            }
            for cause in messages {
                eprintln!("  caused by: {cause}");
            }
            cli::Outcome::Error.into()
        }
    }
}
