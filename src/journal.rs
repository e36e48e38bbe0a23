//! The journal of a conversion: which groups of patches are finished, so that `--resume` can
//! complete an interrupted run (even one killed with SIGKILL) without redoing them.
//!
//! It lives beside the staged output as `NAME.partial.journal`: a first line identifying the
//! conversion (source, options, patches) and then one line per finished group, `first..end`,
//! appended and synced to disk only after the writer has stored the group for good.

use crate::output::staging_path;
use crate::{Error, Result};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    done: HashSet<usize>,
}

/// The journal's path for the output `target`.
pub fn journal_path(target: &Path) -> PathBuf {
    let mut name = staging_path(target).into_os_string();
    name.push(".journal");
    PathBuf::from(name)
}

impl Journal {
    /// Starts a new journal, or with `resume` continues the one of an interrupted run if it was
    /// started by the same conversion (`fingerprint`); a different one is an error.
    pub fn open(target: &Path, fingerprint: &str, resume: bool) -> Result<Journal> {
        let path = journal_path(target);
        let previous = if resume {
            std::fs::read_to_string(&path).ok()
        } else {
            None
        };
        let done = match previous {
            Some(text) => parse(&path, &text, fingerprint)?,
            None => {
                let header = format!("{fingerprint}\n");
                std::fs::write(&path, header).map_err(|e| Error::io(&path, e))?;
                HashSet::new()
            }
        };
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Journal {
            path,
            file: Mutex::new(file),
            done,
        })
    }

    /// True if patch `index` was finished by an earlier run.
    pub fn is_done(&self, index: usize) -> bool {
        self.done.contains(&index)
    }

    /// Number of patches finished by earlier runs.
    pub fn done_count(&self) -> usize {
        self.done.len()
    }

    /// Records a finished group of patches, durably.
    pub fn record(&self, group: Range<usize>) -> Result<()> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(file, "{}..{}", group.start, group.end)
            .and_then(|_| file.sync_data())
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Deletes the journal once the output is complete.
    pub fn remove(self) -> Result<()> {
        std::fs::remove_file(&self.path).map_err(|e| Error::io(&self.path, e))
    }
}

fn parse(path: &Path, text: &str, fingerprint: &str) -> Result<HashSet<usize>> {
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some(fingerprint) {
        return Err(Error::Usage(format!(
            "{}: the interrupted conversion was started with another source, selection or options; \
             rerun with those, or without --resume to start over",
            path.display()
        )));
    }
    let mut done = HashSet::new();
    // A line without its newline was cut by the interruption: ignore it.
    for line in lines.filter(|l| l.ends_with('\n')) {
        let range = line
            .trim_end()
            .split_once("..")
            .and_then(|(a, b)| Some(a.parse::<usize>().ok()?..b.parse::<usize>().ok()?))
            .ok_or_else(|| Error::invalid(path, format!("malformed journal line {line:?}")))?;
        done.extend(range);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_only_the_same_conversion() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.zarr");
        let j = Journal::open(&target, "conv-1", false).unwrap();
        j.record(0..2).unwrap();
        j.record(4..5).unwrap();
        drop(j);
        // Simulate a cut line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(journal_path(&target))
            .unwrap();
        f.write_all(b"5..").unwrap();
        let j = Journal::open(&target, "conv-1", true).unwrap();
        assert!(j.is_done(0) && j.is_done(1) && j.is_done(4));
        assert!(!j.is_done(2) && !j.is_done(5));
        assert_eq!(j.done_count(), 3);
        let err = Journal::open(&target, "conv-2", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("started with another source"), "{err}");
        let fresh = Journal::open(&target, "conv-2", false).unwrap();
        assert_eq!(fresh.done_count(), 0);
        fresh.remove().unwrap();
        assert!(!journal_path(&target).exists());
    }
}
