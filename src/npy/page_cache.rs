//! Reading an input file once without leaving it in the page cache.
//!
//! A conversion reads every `.npy` payload once. Read through the page cache, a cold dataset
//! grows the cache by its whole size, and on a virtual machine whose fresh memory is slow to touch
//! that growth is most of a conversion's system time: reading the 6.1 GB of series of the
//! 200-patch benchmark into one buffer took 1.4-8.8 s of system time when the files stayed
//! cached (it varies from run to run), 1.0 s when each file's pages were dropped once read
//! (bench/fresh_pages.py; the analysis in bench/RESULTS.md). So a file whose first page was not cached before we opened it
//! is dropped from the cache once read ([`ReadOnce::done`]); a file that was already cached,
//! e.g. read by the user's previous command, is left as it was.

use std::fs::File;

/// Whether a file was in the page cache when it was opened, to drop it after reading if not.
#[derive(Debug)]
pub struct ReadOnce {
    was_cached: bool,
}

impl ReadOnce {
    /// Probes `file` before anything reads it: its first byte is read with `RWF_NOWAIT`, which
    /// fails with `EAGAIN` when that page is not cached. Where the probe is not supported
    /// (another OS, an old kernel, a file system without it), the file counts as cached and is
    /// left alone.
    pub fn probe(file: &File) -> ReadOnce {
        ReadOnce {
            was_cached: first_page_cached(file),
        }
    }

    /// After the whole file was read: drops its pages from the page cache
    /// (`POSIX_FADV_DONTNEED`) unless it was cached before. Clean pages only, so it never loses
    /// data; a failure changes nothing but speed and is ignored.
    pub fn done(self, file: &File) {
        if !self.was_cached {
            drop_pages(file);
        }
    }
}

#[cfg(target_os = "linux")]
fn first_page_cached(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    let mut byte = 0u8;
    let iov = libc::iovec {
        iov_base: (&mut byte as *mut u8).cast(),
        iov_len: 1,
    };
    // SAFETY: one iovec pointing at a live 1-byte buffer; the descriptor is open for reading.
    let read = unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, 0, libc::RWF_NOWAIT) };
    let not_cached =
        read < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN);
    !not_cached
}

#[cfg(not(target_os = "linux"))]
fn first_page_cached(_file: &File) -> bool {
    true
}

#[cfg(target_os = "linux")]
fn drop_pages(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: advice on an open descriptor; it reads and writes no memory of ours.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
}

#[cfg(not(target_os = "linux"))]
fn drop_pages(_file: &File) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A file just written and read is cached: the probe says so, and `done` leaves it cached.
    /// After `POSIX_FADV_DONTNEED` on a clean file the probe sees it uncached; the file's bytes
    /// are unchanged either way. In the project's directory, on a disk file system (tmpfs keeps
    /// its pages).
    #[test]
    fn probe_tells_cached_from_dropped_files() {
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let path = dir.path().join("a.bin");
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        let mut file = File::create(&path).unwrap();
        file.write_all(&bytes).unwrap();
        file.sync_all().unwrap();
        let file = File::open(&path).unwrap();
        let once = ReadOnce::probe(&file);
        assert!(once.was_cached, "a file just written is in the page cache");
        once.done(&file);
        assert!(first_page_cached(&file), "a cached file is left cached");
        drop_pages(&file);
        let once = ReadOnce::probe(&file);
        assert!(!once.was_cached, "dropped pages are not cached");
        let mut read = Vec::new();
        (&file).read_to_end(&mut read).unwrap();
        assert_eq!(read, bytes);
        once.done(&file);
        assert!(
            !first_page_cached(&file),
            "a file read once is dropped again"
        );
    }

    /// `read_npy` and `read_header` leave a `.npy` file as they found it: dropped when it was not
    /// cached, cached when it was; the values read are the same either way.
    #[test]
    fn reading_a_npy_file_leaves_the_page_cache_as_found() {
        use crate::model::Array;
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let path = dir.path().join("S2_1.npy");
        let values: Vec<i16> = (0..4 * 10 * 64 * 64).map(|v| (v % 9973) as i16).collect();
        let array =
            Array::I16(ndarray::ArrayD::from_shape_vec(vec![4, 10, 64, 64], values).unwrap());
        crate::npy::write_npy(&path, &array).unwrap();
        File::open(&path).unwrap().sync_all().unwrap();
        let cached = || first_page_cached(&File::open(&path).unwrap());
        assert!(cached(), "just written");
        assert_eq!(crate::npy::read_npy(&path).unwrap(), array);
        assert!(cached(), "a cached file stays cached");
        drop_pages(&File::open(&path).unwrap());
        assert!(!cached());
        crate::npy::read_header(&path).unwrap();
        assert!(
            !cached(),
            "reading the header of an uncached file leaves it uncached"
        );
        assert_eq!(crate::npy::read_npy(&path).unwrap(), array);
        assert!(!cached(), "reading an uncached file leaves it uncached");
    }
}
