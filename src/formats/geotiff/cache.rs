//! GDAL's block cache, capped for our writes.
//!
//! GDAL keeps every block written through a dataset in its process-wide block cache until the
//! block is evicted or the dataset closed; the cache may grow to `GDAL_CACHEMAX`, by default 5 %
//! of the RAM (about 1.2 GB on a 24 GB machine). An export writes each block once and never reads
//! it back, so the cache only delays compression: with a TIFF of 600 bands open per worker, it
//! held a second copy of each patch in flight (bench/RESULTS.md, "Peak memory"). Capped, blocks
//! are compressed and written as soon as the cache is full.

/// The cap on GDAL's block cache while we write GeoTIFFs: a few hundred 128 x 128 blocks.
pub const WRITE_CACHE_BYTES: i64 = 16 << 20;

/// Lowers GDAL's block cache, process-wide, to [`WRITE_CACHE_BYTES`], unless the user chose a
/// size (`GDAL_CACHEMAX` in the environment or GDAL's configuration, which then wins) or the
/// cache is already smaller. Never raises it.
pub fn cap_for_writing() {
    let chosen = gdal::config::get_config_option("GDAL_CACHEMAX", "")
        .is_ok_and(|value| !value.trim().is_empty());
    if chosen {
        return;
    }
    // SAFETY: plain getters and setters of a process-wide size; GDAL locks the cache itself,
    // and lowering it flushes blocks above the new size (written out, never lost).
    unsafe {
        if gdal_sys::GDALGetCacheMax64() > WRITE_CACHE_BYTES {
            gdal_sys::GDALSetCacheMax64(WRITE_CACHE_BYTES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdal::config::{clear_thread_local_config_option, set_thread_local_config_option};

    fn cache_max() -> i64 {
        // SAFETY: a plain getter.
        unsafe { gdal_sys::GDALGetCacheMax64() }
    }

    fn set_cache_max(bytes: i64) {
        // SAFETY: a plain setter.
        unsafe { gdal_sys::GDALSetCacheMax64(bytes) }
    }

    #[test]
    fn writing_caps_the_block_cache_unless_the_user_chose_a_size() {
        // The user's choice (here this thread's GDAL configuration) wins.
        set_cache_max(4 * WRITE_CACHE_BYTES);
        set_thread_local_config_option("GDAL_CACHEMAX", "64").unwrap();
        cap_for_writing();
        assert_eq!(cache_max(), 4 * WRITE_CACHE_BYTES);
        clear_thread_local_config_option("GDAL_CACHEMAX").unwrap();
        assert!(
            std::env::var_os("GDAL_CACHEMAX").is_none(),
            "run the tests without GDAL_CACHEMAX in the environment"
        );
        cap_for_writing();
        assert_eq!(cache_max(), WRITE_CACHE_BYTES);
        // A smaller cache is never raised.
        set_cache_max(WRITE_CACHE_BYTES / 2);
        cap_for_writing();
        assert_eq!(cache_max(), WRITE_CACHE_BYTES / 2);
        set_cache_max(WRITE_CACHE_BYTES);
    }
}
