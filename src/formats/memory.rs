//! Handing the memory of a written patch back to the system.
//!
//! A worker frees a patch's arrays (tens of MB) once they are written, but glibc's `malloc` keeps
//! freed memory in the arena of the thread that freed it, up to a trim threshold that it raises to
//! twice the largest block freed so far (up to 64 MiB): each worker's arena held a patch's worth
//! of free pages on top of the patches in flight. Fixing the thresholds instead (`mallopt`) maps
//! and faults every large array afresh, which cost the Zarr conversion 70 % more CPU
//! (bench/RESULTS.md, "Peak memory"); trimming once per patch costs no measurable CPU.
//!
//! This is for programs that use the library with glibc's `malloc` as Rust's allocator. The
//! `pastis-bridge` command itself allocates through jemalloc, configured to return freed pages
//! at once (src/main.rs, .cargo/config.toml); there this trims only what the C libraries (GDAL,
//! HDF5) allocated through glibc.

/// Returns the free pages of every `malloc` arena to the system (glibc's `malloc_trim(0)`);
/// does nothing with other C libraries. The HDF5 and GeoTIFF writers call it once a patch is
/// written and dropped; it frees nothing that is in use.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes each arena's lock and only gives back pages of free chunks;
    // it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
