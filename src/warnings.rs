//! Warnings raised deep inside a writer (a GeoTIFF without georeferencing, a mosaic left out, a
//! Zarr/HDF5 patch whose pixel grid is unknown) that must reach the user without the library
//! printing: every writer pushes them here (the one path; `Driver::create` hands it over), the
//! [`pipeline`](crate::pipeline) drains them into `Progress::Warning` and the run's summary.

use std::sync::{Arc, Mutex};

/// A shared, thread-safe list of warnings; clones share the same list.
#[derive(Clone, Debug, Default)]
pub struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    /// An empty list.
    pub fn new() -> Warnings {
        Warnings::default()
    }

    /// Adds a warning (a sentence naming the patch or file it concerns).
    pub fn push(&self, message: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message.into());
    }

    /// Removes and returns the warnings raised since the last call.
    pub fn drain(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_list() {
        let w = Warnings::new();
        w.clone().push("patch 1: no footprint");
        w.push("patch 2: no footprint");
        assert_eq!(
            w.drain(),
            ["patch 1: no footprint", "patch 2: no footprint"]
        );
        assert!(w.drain().is_empty());
    }
}
