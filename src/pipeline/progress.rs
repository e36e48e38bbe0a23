//! What a long run tells its caller while it works, and what it did.

/// Progress of a long operation, for a progress bar owned by the caller (the library never
/// prints: warnings travel here and in the [`Summary`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Progress {
    /// Work begins on `total` patches.
    Start {
        /// Patches to process.
        total: usize,
    },
    /// One patch is done.
    Patch {
        /// Its `ID_PATCH`.
        id: i64,
        /// Bytes of array payload it held (0 for a patch an earlier run finished).
        bytes: u64,
    },
    /// Something the caller should know that does not stop the run (e.g. a GeoTIFF written
    /// without georeferencing); the same text is in [`Summary::warnings`].
    Warning(String),
    /// All patches are done; dataset-level metadata is being written.
    Finishing,
}

/// What a run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    /// Patches written (or, for a finalization, finalized).
    pub patches: usize,
    /// Bytes of array payload read or built (uncompressed).
    pub bytes_in: u64,
    /// Bytes of the output as stored (0 for one partition of a split run).
    pub bytes_out: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Patches skipped with `keep_going`, with their errors.
    pub failed: Vec<FailedPatch>,
    /// Warnings of the writer, in the order they were raised.
    pub warnings: Vec<String>,
}

impl Summary {
    /// Uncompressed over stored size; `None` when the run did not both read and store the
    /// data (one partition of a split run stores no size of its own; a finalization reads none).
    pub fn compression_ratio(&self) -> Option<f64> {
        (self.bytes_in > 0 && self.bytes_out > 0)
            .then(|| self.bytes_in as f64 / self.bytes_out as f64)
    }
    /// Uncompressed megabytes per second.
    pub fn throughput_mb_s(&self) -> f64 {
        self.bytes_in as f64 / 1e6 / self.seconds.max(1e-9)
    }
}

/// A patch that could not be read or built, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FailedPatch {
    /// `ID_PATCH`.
    pub id: i64,
    /// The error, naming the file.
    pub error: String,
}

/// A rayon pool of `jobs` threads (0 = one per core).
///
/// # Errors
/// [`crate::Error::Usage`] when the threads cannot be started.
pub fn thread_pool(jobs: usize) -> crate::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| crate::Error::Usage(format!("cannot start {jobs} worker threads: {e}")))
}
