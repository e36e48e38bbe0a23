//! Which patches and layers a run covers (`--patches`, `--folds`, `--modalities`).

use crate::model::{DatasetMeta, Layer};
use crate::{Error, Result};

/// Which patches and layers to process.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these `ID_PATCH` (all when `None`).
    pub patches: Option<Vec<i64>>,
    /// Only patches of these folds (all when `None`).
    pub folds: Option<Vec<i64>>,
    /// Only these layers (all when `None`).
    pub layers: Option<Vec<Layer>>,
}

impl Selection {
    /// The metadata restricted to the selected patches, in the source's order.
    ///
    /// # Errors
    /// [`Error::Usage`] naming every selected `ID_PATCH` the source lacks.
    pub fn apply(&self, meta: &DatasetMeta) -> Result<DatasetMeta> {
        if let Some(ids) = &self.patches {
            let missing: Vec<String> = ids
                .iter()
                .filter(|id| meta.patch(**id).is_none())
                .map(i64::to_string)
                .collect();
            if !missing.is_empty() {
                return Err(Error::Usage(format!(
                    "no patch with ID_PATCH {} in the source",
                    missing.join(", ")
                )));
            }
        }
        Ok(meta.filtered(|p| {
            self.patches.as_ref().is_none_or(|ids| ids.contains(&p.id))
                && self
                    .folds
                    .as_ref()
                    .is_none_or(|folds| p.fold.is_some_and(|f| folds.contains(&f)))
        }))
    }

    /// The layers to read: those selected, else every layer.
    pub fn layers(&self) -> Vec<Layer> {
        self.layers.clone().unwrap_or_else(|| Layer::ALL.to_vec())
    }
}
