//! Safe outputs: everything is written under a temporary name and moved into place when complete,
//! so an interrupted run never leaves a file or folder that looks finished.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// An output path that is written under `NAME.partial` and renamed to `NAME` by [`commit`](Self::commit).
#[derive(Debug)]
pub struct StagedPath {
    target: PathBuf,
    staging: PathBuf,
    overwrite: bool,
}

impl StagedPath {
    /// Prepares to write `target`. Fails with [`Error::Exists`] if it exists and `overwrite` is
    /// false. A stale staging path from an earlier interrupted run is removed.
    pub fn new(target: &Path, overwrite: bool) -> Result<StagedPath> {
        let staged = StagedPath::resume(target, overwrite)?;
        remove_any(&staged.staging)?;
        Ok(staged)
    }

    /// [`resume`](Self::resume) when `resume`, else [`new`](Self::new).
    pub fn start(target: &Path, overwrite: bool, resume: bool) -> Result<StagedPath> {
        if resume {
            StagedPath::resume(target, overwrite)
        } else {
            StagedPath::new(target, overwrite)
        }
    }

    /// Like [`new`](Self::new) but keeps what an earlier interrupted run left in the staging path.
    pub fn resume(target: &Path, overwrite: bool) -> Result<StagedPath> {
        if target.exists() && !overwrite {
            return Err(Error::Exists(target.to_path_buf()));
        }
        target
            .file_name()
            .ok_or_else(|| Error::Usage(format!("{}: not a file name", target.display())))?;
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            if parent.exists() && !parent.is_dir() {
                return Err(Error::invalid(
                    parent,
                    "is a file, not a folder: the output cannot be created inside it",
                ));
            }
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        Ok(StagedPath {
            staging: staging_path(target),
            target: target.to_path_buf(),
            overwrite,
        })
    }

    /// Where to write now.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the finished output into place, replacing an existing one if allowed.
    pub fn commit(self) -> Result<PathBuf> {
        if self.target.exists() {
            if !self.overwrite {
                return Err(Error::Exists(self.target));
            }
            remove_any(&self.target)?;
        }
        std::fs::rename(&self.staging, &self.target).map_err(|e| Error::io(&self.target, e))?;
        Ok(self.target)
    }
}

/// Where the output `target` is written until complete: `NAME.partial` beside it.
pub fn staging_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    target.with_file_name(name)
}

/// Removes a file or a folder tree if it exists.
pub fn remove_any(path: &Path) -> Result<()> {
    let result = match std::fs::symlink_metadata(path) {
        Err(_) => return Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
    };
    result.map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_moves_into_place_and_refuses_to_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.zarr");
        let staged = StagedPath::new(&target, false).unwrap();
        std::fs::create_dir(staged.path()).unwrap();
        assert!(!target.exists());
        staged.commit().unwrap();
        assert!(target.is_dir());
        assert!(matches!(
            StagedPath::new(&target, false),
            Err(Error::Exists(_))
        ));
        let again = StagedPath::new(&target, true).unwrap();
        std::fs::write(again.path(), b"x").unwrap();
        again.commit().unwrap();
        assert!(target.is_file());
    }
}
