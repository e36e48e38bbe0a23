//! The write loop itself: check, screen (`--keep-going`), survey, create the writer, write every
//! group of patches in parallel (skipping those a journal says are done), finish; remove the
//! staged output when a whole local run fails.

use super::fingerprint::{fingerprint, RunIdentity};
use super::progress::{thread_pool, FailedPatch, Progress, Summary};
use super::{produce, survey, KeepGoing, Partition, PatchSource, Stage};
use crate::formats::location::Location;
use crate::formats::{registry, DatasetWriter, Driver, Format, WriteOptions};
use crate::journal::Journal;
use crate::model::{DatasetLayout, DatasetMeta, Layer};
use crate::output::{remove_any, staging_path};
use crate::warnings::Warnings;
use crate::{Error, Result};
use rayon::prelude::*;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Test-only: the environment variable that interrupts a run once its journal holds `N` groups,
/// so that the resume tests stop a run at a known point without racing its end. `N` makes the
/// process exit at once with status 75, as if it were killed there (no cleanup, no destructor);
/// `N:hang` makes every worker that records a group from then on wait forever, for a test to
/// kill the process for real; `N:panic` panics there, for a test of the cleanup after a bug.
/// Not for production use.
pub const STOP_AFTER_GROUPS: &str = "PASTIS_BRIDGE_TEST_STOP_AFTER_GROUPS";

/// The exit status of a run stopped by [`STOP_AFTER_GROUPS`].
const STOPPED_EXIT: i32 = 75;

/// One run of the loop.
pub struct Job<'a> {
    /// Where the patches come from.
    pub source: &'a dyn PatchSource,
    /// The patches to write, in output order (a writer's index is the position here).
    pub meta: DatasetMeta,
    /// The layers to write.
    pub layers: Vec<Layer>,
    /// The output format.
    pub to: Format,
    /// The output: a local path or an object-store URL.
    pub dst: &'a Path,
    /// The writer's options.
    pub write: WriteOptions,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// Skip patches that cannot be read or built (reported in [`Summary::failed`]).
    pub keep_going: bool,
    /// Refuse a source holding content the output will not carry
    /// ([`PatchSource::not_carried`]) instead of naming it in the warnings.
    pub strict: bool,
    /// The whole run, one partition of it, or its finalization.
    pub stage: Stage,
}

/// Runs `job`, reporting to `progress`.
///
/// # Errors
/// Options the output format refuses or a stage it cannot do; with `strict`, content of the
/// source the output will not carry ([`Error::NotCarried`], before anything is written); the first patch that cannot be
/// read, built or written (without `keep_going`); the output cannot be created or finished.
/// A failed whole run on a local output leaves nothing behind, unless it was `resume`d.
pub fn run(job: Job, progress: &(dyn Fn(Progress) + Sync)) -> Result<Summary> {
    let start = Instant::now();
    let driver = job.to.driver();
    let location = Location::of(job.dst);
    check(&job, driver, &location)?;
    let not_carried = job.source.not_carried();
    if job.strict && !not_carried.is_empty() {
        return Err(Error::NotCarried(not_carried));
    }
    let pool = thread_pool(job.jobs)?;
    let (meta, failed) = if job.keep_going {
        let mut failed = pool.install(|| screen(job.source, &job.meta, &job.layers));
        let mut meta = job.meta.filtered(|p| !failed.iter().any(|f| f.id == p.id));
        if driver.capabilities().stacked {
            // Patches that cannot be stacked with the others (a dtype no type holds with the
            // rest's, a band count that differs) are skipped too.
            let odd = pool
                .install(|| survey(job.source, &meta, &job.layers))?
                .odd_patches();
            failed.extend(odd.iter().filter_map(|(&row, conflict)| {
                Some(FailedPatch {
                    id: meta.patches.get(row)?.id,
                    error: conflict.clone(),
                })
            }));
            meta = meta.filtered(|p| !failed.iter().any(|f| f.id == p.id));
        }
        (meta, failed)
    } else {
        (job.meta.clone(), Vec::new())
    };
    let report = Report::new(progress);
    for item in not_carried {
        report.warnings.push(format!("not carried: {item}"));
    }
    report.flush();
    // A panic is a bug, but it must not leave a staged output and its journal behind: it
    // becomes an error here, and the cleanup below runs.
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        pool.install(|| match job.stage {
            Stage::Finalize => finalize(&job, driver, &meta, &report),
            _ => write_all(&job, driver, &location, &meta, &report),
        })
    }))
    .unwrap_or_else(|payload| Err(Error::from_panic(payload.as_ref())));
    if result.is_err() && job.stage == Stage::Whole && !location.is_url() && !job.write.resume {
        // Leave nothing behind that could be mistaken for output; an existing output is
        // untouched. With --resume the partial output and its journal stay, to be continued. A
        // partition leaves the shared partial store to the other workers; an object store
        // without root metadata reads as unfinished.
        let _ = remove_any(&staging_path(job.dst));
        let _ = remove_any(&crate::journal::journal_path(job.dst));
    }
    let (patches, bytes_in) = result?;
    Ok(Summary {
        patches,
        bytes_in,
        bytes_out: match job.stage {
            // A partition shares its output with the other workers: no size of its own.
            Stage::Partition(_) => 0,
            _ => location.stored_bytes(),
        },
        seconds: start.elapsed().as_secs_f64(),
        failed,
        warnings: report.into_warnings(),
    })
}

/// Refuses what the output format cannot do, before any work.
fn check(job: &Job, driver: &dyn Driver, location: &Location) -> Result<()> {
    let capabilities = driver.capabilities();
    if location.is_url() && !capabilities.object_store {
        return Err(driver.unsupported(format!(
            "cannot write to object storage ({}); only {} can",
            job.dst.display(),
            registry::titles_with(|c| c.object_store)
        )));
    }
    if job.stage != Stage::Whole && !capabilities.partitions {
        return Err(driver.unsupported(format!(
            "--partition and --finalize need a {} output (one output written by many workers)",
            registry::titles_with(|c| c.partitions)
        )));
    }
    if job.stage != Stage::Whole && job.keep_going {
        return Err(Error::Usage(
            "--keep-going cannot be combined with --partition or --finalize: every worker must \
             convert the same patches (run `inspect` on the source first)"
                .into(),
        ));
    }
    driver.check_options(&job.write)
}

/// Where the writer's warnings go: to the progress callback as they are raised, and to the
/// summary.
struct Report<'a> {
    progress: &'a (dyn Fn(Progress) + Sync),
    warnings: Warnings,
    reported: Mutex<Vec<String>>,
}

impl<'a> Report<'a> {
    fn new(progress: &'a (dyn Fn(Progress) + Sync)) -> Self {
        Report {
            progress,
            warnings: Warnings::new(),
            reported: Mutex::new(Vec::new()),
        }
    }

    /// Passes on the warnings raised since the last call.
    fn flush(&self) {
        for warning in self.warnings.drain() {
            (self.progress)(Progress::Warning(warning.clone()));
            self.reported
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(warning);
        }
    }

    fn into_warnings(self) -> Vec<String> {
        self.flush();
        self.reported
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// The identity of the run, for its fingerprint.
fn identity<'a>(job: &'a Job, meta: &'a DatasetMeta, source: &'a str) -> RunIdentity<'a> {
    RunIdentity {
        source,
        to: job.to,
        meta,
        layers: &job.layers,
        write: &job.write,
    }
}

/// Surveys, creates the writer, writes every group of patches in parallel (skipping those an
/// interrupted run finished, with `resume`; only those of its partition, for a partition) and
/// finishes; returns the patches written and the bytes they held.
fn write_all(
    job: &Job,
    driver: &dyn Driver,
    location: &Location,
    meta: &DatasetMeta,
    report: &Report,
) -> Result<(usize, u64)> {
    let layout = survey(job.source, meta, &job.layers)?;
    check_spot(driver, &layout)?;
    let resume = job.write.resume && driver.capabilities().resume;
    if job.write.resume && job.dst.exists() && !job.write.overwrite {
        return Err(Error::Exists(job.dst.to_path_buf()));
    }
    let options = WriteOptions {
        resume,
        ..job.write.clone()
    };
    let source = job.source.describe();
    let fingerprint = fingerprint(&identity(job, meta, &source));
    let writer = match job.stage {
        Stage::Partition(p) => {
            driver.create_partition(job.dst, meta, &layout, &options, p, &fingerprint)?
        }
        _ => driver.create(job.dst, meta, &layout, &options, &report.warnings)?,
    };
    // A journal is a local file beside a local output; a partition simply runs again.
    let journal = match job.stage {
        Stage::Whole if !location.is_url() => Some(Journal::open(job.dst, &fingerprint, resume)?),
        _ => None,
    };
    let share = Share {
        stage: job.stage,
        group_size: writer.group_size().max(1),
    };
    let groups = share.groups(meta.patches.len());
    if let Stage::Partition(p) = job.stage {
        if let Some(warning) = idle_partitions(meta.patches.len(), p) {
            report.warnings.push(warning);
        }
    }
    let patches = groups
        .iter()
        .flat_map(|g| g.clone())
        .filter(|&i| share.counts(i))
        .count();
    (report.progress)(Progress::Start { total: patches });
    let groups_run = GroupRun {
        job,
        meta,
        writer: writer.as_ref(),
        journal: journal.as_ref(),
        report,
        share,
        stop: TestStop::from_env(),
    };
    let bytes_in = write_groups(&groups, |group| groups_run.write_group(group))?;
    report.flush();
    if job.stage == Stage::Whole {
        let writing = match location {
            Location::Local(path) => staging_path(path),
            Location::Url(_) => job.dst.to_path_buf(),
        };
        job.source.complete(&writing)?;
    }
    (report.progress)(Progress::Finishing);
    writer.finish()?;
    report.flush();
    if let Some(journal) = journal {
        journal.remove()?;
    }
    Ok((patches, bytes_in))
}

/// Runs `write` on every group in parallel and sums the bytes read; on failure, the error of the
/// first failing group in dataset order, whichever thread met its error first (so that the
/// patch an error names does not depend on timing). Groups after a failed one are skipped; the
/// ones before it still run, as one of them may fail too.
fn write_groups(
    groups: &[Range<usize>],
    write: impl Fn(Range<usize>) -> Result<u64> + Sync,
) -> Result<u64> {
    let first_failed = AtomicUsize::new(usize::MAX);
    let results: Vec<Option<Result<u64>>> = groups
        .par_iter()
        .enumerate()
        .map(|(i, group)| {
            if i > first_failed.load(Ordering::Relaxed) {
                return None;
            }
            let result = write(group.clone());
            if result.is_err() {
                first_failed.fetch_min(i, Ordering::Relaxed);
            }
            Some(result)
        })
        .collect();
    results.into_iter().flatten().sum()
}

/// What the workers share while writing groups.
struct GroupRun<'a> {
    job: &'a Job<'a>,
    meta: &'a DatasetMeta,
    writer: &'a dyn DatasetWriter,
    journal: Option<&'a Journal>,
    report: &'a Report<'a>,
    share: Share,
    stop: TestStop,
}

impl GroupRun<'_> {
    fn is_done(&self, index: usize) -> bool {
        self.journal.is_some_and(|j| j.is_done(index))
    }

    /// Writes one group of patches in order (for a partition, the layers of each it writes),
    /// records it in the journal; returns its bytes.
    fn write_group(&self, group: Range<usize>) -> Result<u64> {
        let mut bytes = 0;
        for index in group.clone() {
            let Some(layers) = self.share.layers(index, &self.job.layers) else {
                continue;
            };
            let patch_meta = self.meta.patches.get(index).ok_or_else(|| {
                Error::Usage(format!("group of patches past the last one ({index})"))
            })?;
            let mut patch_bytes = 0;
            if !self.is_done(index) {
                let patch = produce(self.job.source, patch_meta, &layers)?;
                patch_bytes = patch.arrays.values().map(|a| a.nbytes() as u64).sum();
                self.writer.write_patch(index, patch)?;
            }
            bytes += patch_bytes;
            if self.share.counts(index) {
                (self.report.progress)(Progress::Patch {
                    id: patch_meta.id,
                    bytes: patch_bytes,
                });
            }
        }
        if let Some(journal) = self.journal {
            if !group.clone().all(|i| self.is_done(i)) {
                journal.record(group)?;
                self.stop.group_recorded();
            }
        }
        self.report.flush();
        Ok(bytes)
    }
}

/// The test-only stop of [`STOP_AFTER_GROUPS`].
struct TestStop {
    after: Option<usize>,
    mode: String,
    recorded: AtomicUsize,
}

impl TestStop {
    fn from_env() -> TestStop {
        let value = std::env::var(STOP_AFTER_GROUPS).unwrap_or_default();
        let (count, mode) = value.split_once(':').unwrap_or((value.as_str(), "exit"));
        TestStop {
            after: count.trim().parse().ok(),
            mode: mode.to_string(),
            recorded: AtomicUsize::new(0),
        }
    }

    /// Interrupts the run, as a kill would, once this run has recorded the groups asked for.
    fn group_recorded(&self) {
        let recorded = self.recorded.fetch_add(1, Ordering::SeqCst) + 1;
        if self.after.is_none_or(|after| recorded < after) {
            return;
        }
        match self.mode.as_str() {
            "hang" => loop {
                std::thread::park();
            },
            "panic" => panic!("{STOP_AFTER_GROUPS}: a test panic after {recorded} groups"),
            // `_exit`, not `std::process::exit`: no atexit handler may run while other threads
            // (GDAL's) still work, which could end the process by a signal instead of 75.
            // SAFETY: `_exit` ends the process at once; nothing runs after it.
            _ => unsafe { libc::_exit(STOPPED_EXIT) },
        }
    }
}

/// Which layers of which patches a run writes: all of them, or one partition's share.
///
/// Partition `I/N` writes the patches `p` with `p % N == I` (every layer: their series shards,
/// one per patch, hold the bulk of the bytes) and the annotation shards of the groups `g` with
/// `g % N == I` (a group is one v3 annotation shard of up to 32 patches), for which it also reads
/// the annotations (small) of the group's other patches. So N workers share the work whatever
/// the dataset's size, no two write the same object, and each patch is validated whole by the
/// worker that owns it.
#[derive(Clone, Copy, Debug)]
struct Share {
    stage: Stage,
    /// The writer's group size (at least 1).
    group_size: usize,
}

impl Share {
    /// The layers (of `layers`) this run reads for patch `index`; `None` for none.
    fn layers(&self, index: usize, layers: &[Layer]) -> Option<Vec<Layer>> {
        match self.stage {
            Stage::Partition(p) if !p.owns(index) => {
                let annotations: Vec<Layer> = layers
                    .iter()
                    .copied()
                    .filter(|l| !l.stored_by_patch())
                    .collect();
                (p.owns(index / self.group_size) && !annotations.is_empty()).then_some(annotations)
            }
            _ => Some(layers.to_vec()),
        }
    }

    /// True if patch `index` is this run's own (for progress and the summary).
    fn counts(&self, index: usize) -> bool {
        match self.stage {
            Stage::Partition(p) => p.owns(index),
            _ => true,
        }
    }

    /// The groups of consecutive patches (of `n`) in which this run has something to write.
    fn groups(&self, n: usize) -> Vec<Range<usize>> {
        let size = self.group_size.max(1);
        (0..n)
            .step_by(size)
            .map(|s| s..(s + size).min(n))
            .enumerate()
            .filter(|(g, range)| match self.stage {
                Stage::Partition(p) => p.owns(*g) || range.clone().any(|i| p.owns(i)),
                _ => true,
            })
            .map(|(_, range)| range)
            .collect()
    }
}

/// The warning of a split into more partitions than there are patches: the last ones have no
/// work; `None` when every partition has some.
fn idle_partitions(n: usize, partition: Partition) -> Option<String> {
    if n >= partition.count {
        return None;
    }
    let this = if partition.index < n {
        "this one has work"
    } else {
        "this one has none and only writes its marker"
    };
    Some(format!(
        "partition {partition}: {n} patches for {} partitions, so only {n} partitions have work \
         ({this}); use N <= {n}",
        partition.count
    ))
}

/// Refuses a dataset with SPOT images for a format that does not carry them: never dropped
/// silently.
fn check_spot(driver: &dyn Driver, layout: &DatasetLayout) -> Result<()> {
    let Some(spot) = layout.layers.get(&Layer::Spot) else {
        return Ok(());
    };
    if driver.capabilities().spot {
        return Ok(());
    }
    let count = spot.per_patch.iter().flatten().count();
    Err(driver.unsupported(format!(
        "cannot carry PASTIS-HD's SPOT images ({count} patches have one); only {} can. \
         Leave them out with --modalities (every layer but SPOT)",
        registry::titles_with(|c| c.spot)
    )))
}

/// Finalizes a split run through the driver; reads only array headers.
fn finalize(
    job: &Job,
    driver: &dyn Driver,
    meta: &DatasetMeta,
    report: &Report,
) -> Result<(usize, u64)> {
    let layout = survey(job.source, meta, &job.layers)?;
    let source = job.source.describe();
    let fingerprint = fingerprint(&identity(job, meta, &source));
    (report.progress)(Progress::Finishing);
    driver.finalize(job.dst, meta, &layout, &job.write, &fingerprint)?;
    Ok((meta.patches.len(), 0))
}

/// Builds every patch once (for `--keep-going`) and returns those that cannot be read or built.
fn screen(source: &dyn PatchSource, meta: &DatasetMeta, layers: &[Layer]) -> Vec<FailedPatch> {
    let keep = KeepGoing::new(true);
    meta.patches.par_iter().for_each(|p| {
        let result = source
            .specs(p)
            .and_then(|specs| crate::model::check_specs(p.id, &specs))
            .and_then(|()| produce(source, p, layers).map(drop));
        // Enabled: every error is recorded, none is returned.
        let _ = keep.absorb(p.id, result);
    });
    keep.into_failed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_of_the_first_failing_group_wins_whatever_the_timing() {
        // Group 0 fails late, group 1 at once, group 3 would too: group 0's error is reported.
        let groups: Vec<Range<usize>> = (0..4).map(|i| i..i + 1).collect();
        let write = |g: Range<usize>| -> Result<u64> {
            match g.start {
                0 => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    Err(Error::patch(1, "late"))
                }
                1 | 3 => Err(Error::patch(2, "early")),
                _ => Ok(10),
            }
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let error = pool.install(|| write_groups(&groups, write)).unwrap_err();
        assert!(error.to_string().contains("late"), "{error}");
        let fine = |g: Range<usize>| -> Result<u64> { Ok(g.start as u64) };
        assert_eq!(write_groups(&groups, fine).unwrap(), 6);
    }

    #[test]
    fn groups_cover_the_patches_and_partitions_share_them_out() {
        let whole = |size| Share {
            stage: Stage::Whole,
            group_size: size,
        };
        assert_eq!(whole(2).groups(5), vec![0..2, 2..4, 4..5]);
        assert_eq!(whole(1).groups(3), vec![0..1, 1..2, 2..3]);
        let layers = [Layer::S2, Layer::Target];
        // v2: one patch per group; partition 1/2 writes patches 1 and 3, whole.
        let v2 = Share {
            stage: Stage::Partition(Partition { index: 1, count: 2 }),
            group_size: 1,
        };
        assert_eq!(v2.groups(4), vec![1..2, 3..4]);
        assert_eq!(v2.layers(0, &layers), None);
        assert_eq!(v2.layers(1, &layers), Some(layers.to_vec()));
        // v3, 70 patches in groups of 32, 3 partitions: partition 2 writes patches 2, 5, ...,
        // 68 whole and the annotations of group 2 (64..70).
        let v3 = Share {
            stage: Stage::Partition(Partition { index: 2, count: 3 }),
            group_size: 32,
        };
        assert_eq!(v3.groups(70), vec![0..32, 32..64, 64..70]);
        let own: Vec<usize> = (0..70).filter(|&i| v3.counts(i)).collect();
        assert_eq!(own.len(), 23);
        assert_eq!(v3.layers(5, &layers), Some(layers.to_vec()));
        assert_eq!(v3.layers(4, &layers), None);
        assert_eq!(v3.layers(64, &layers), Some(vec![Layer::Target]));
        assert_eq!(v3.layers(64, &[Layer::S2]), None);
    }

    #[test]
    fn idle_partitions_are_announced() {
        let p = |index| Partition { index, count: 3 };
        assert_eq!(idle_partitions(70, p(2)), None);
        assert_eq!(idle_partitions(3, p(2)), None);
        let warning = idle_partitions(2, p(2)).unwrap_or_default();
        assert!(warning.contains("only 2 partitions have work"), "{warning}");
        assert!(warning.contains("this one has none"), "{warning}");
        assert!(idle_partitions(2, p(0)).is_some_and(|w| w.contains("this one has work")));
    }
}
