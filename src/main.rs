//! The `pastis-bridge` command: a thin layer over the library.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    release_large_blocks();
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

/// Blocks of 1 MiB and more (a patch's arrays) get their own mapping from glibc's malloc and go
/// back to the system as soon as they are freed. By default glibc raises this threshold to the
/// size of the largest block freed (up to 32 MiB), after which each worker thread's arena keeps
/// the memory of the patches it dropped: ~30 MB more peak RSS for an HDF5 conversion on two
/// workers, at the cost of ~1 s more system CPU (page faults) per 20 patches (bench/RESULTS.md,
/// "Peak memory").
fn release_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only tunes the allocator; it runs first, before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
