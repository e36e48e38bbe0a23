//! `--keep-going`: a patch that fails is recorded with its error and skipped, and the run goes
//! on; without it the first failure stops the run. `convert` screens its patches with it before
//! writing; `parcels` and `preview`, which make each patch's output as they go, skip the failed
//! patch's output. The caller reports [`FailedPatch`]es and exits 1.

use super::progress::FailedPatch;
use crate::Result;
use std::sync::Mutex;

/// The failures of a run, shared by its workers.
#[derive(Debug, Default)]
pub struct KeepGoing {
    enabled: bool,
    failed: Mutex<Vec<FailedPatch>>,
}

impl KeepGoing {
    /// Skips failed patches when `enabled`; otherwise passes every error on.
    pub fn new(enabled: bool) -> KeepGoing {
        KeepGoing {
            enabled,
            failed: Mutex::new(Vec::new()),
        }
    }

    /// The value of patch `id`'s `result`, or, for an error: `None` after recording it when
    /// enabled.
    ///
    /// # Errors
    /// The error of `result`, when not enabled.
    pub fn absorb<T>(&self, id: i64, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(e) if self.enabled => {
                let failed = FailedPatch {
                    id,
                    error: e.report(),
                };
                self.failed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(failed);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The patches skipped, by `ID_PATCH`.
    pub fn into_failed(self) -> Vec<FailedPatch> {
        let mut failed = self.failed.into_inner().unwrap_or_else(|e| e.into_inner());
        failed.sort_by_key(|f| f.id);
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn failures_are_recorded_only_when_enabled() {
        let keep = KeepGoing::new(true);
        assert_eq!(keep.absorb(1, Ok(7)).unwrap(), Some(7));
        let none: Option<i32> = keep.absorb(3, Err(Error::patch(3, "bad"))).unwrap();
        assert_eq!(none, None);
        keep.absorb::<()>(2, Err(Error::patch(2, "worse"))).unwrap();
        let failed = keep.into_failed();
        let ids: Vec<i64> = failed.iter().map(|f| f.id).collect();
        assert_eq!(ids, [2, 3]);
        assert_eq!(failed[1].error, "patch 3: bad");
        let stop = KeepGoing::new(false);
        assert!(stop.absorb::<()>(1, Err(Error::patch(1, "bad"))).is_err());
        assert!(stop.into_failed().is_empty());
    }
}
