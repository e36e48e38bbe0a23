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

/// A folder of outputs that may go into an existing folder (`preview`'s sheets): the files are
/// written under `NAME.partial` beside it and moved into `NAME` by [`commit`](Self::commit), so
/// an interrupted or failed run leaves no finished-looking file in `NAME`.
#[derive(Debug)]
pub struct StagedFolder {
    target: PathBuf,
    staging: PathBuf,
    overwrite: bool,
}

impl StagedFolder {
    /// Prepares to add files to the folder `target` (created at commit if missing): an empty
    /// `NAME.partial` replaces a stale one.
    ///
    /// # Errors
    /// `target` is not a folder or has no name; the staging folder cannot be created.
    pub fn new(target: &Path, overwrite: bool) -> Result<StagedFolder> {
        let target = match target.canonicalize() {
            Ok(absolute) if absolute.is_dir() => absolute,
            Ok(_) => return Err(Error::invalid(target, "is a file, not a folder")),
            Err(_) => target.to_path_buf(),
        };
        let staged = StagedPath::new(&target, true)?;
        let staging = staged.path().to_path_buf();
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        Ok(StagedFolder {
            target,
            staging,
            overwrite,
        })
    }

    /// Where to write the files now.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Moves the files written into the folder: the whole staging folder when the folder does
    /// not exist, else file by file (replacing one only with `overwrite`).
    ///
    /// # Errors
    /// A file exists in the folder and `overwrite` is false; a move fails. The staging folder
    /// then keeps the files not moved.
    pub fn commit(self) -> Result<()> {
        if !self.target.exists() {
            return std::fs::rename(&self.staging, &self.target)
                .map_err(|e| Error::io(&self.target, e));
        }
        let entries = std::fs::read_dir(&self.staging).map_err(|e| Error::io(&self.staging, e))?;
        for entry in entries {
            let from = entry.map_err(|e| Error::io(&self.staging, e))?.path();
            let to = self.target.join(from.file_name().unwrap_or_default());
            if to.exists() && !self.overwrite {
                return Err(Error::Exists(to));
            }
            std::fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
        }
        remove_any(&self.staging)
    }

    /// Removes the staging folder and everything in it.
    pub fn discard(self) {
        let _ = remove_any(&self.staging);
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

    #[test]
    fn staged_folders_move_their_files_in_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("previews");
        let staged = StagedFolder::new(&target, false).unwrap();
        std::fs::write(staged.path().join("a.png"), b"a").unwrap();
        assert!(!target.exists());
        staged.commit().unwrap();
        assert_eq!(std::fs::read(target.join("a.png")).unwrap(), b"a");
        assert!(!staging_path(&target).exists());

        let staged = StagedFolder::new(&target, false).unwrap();
        std::fs::write(staged.path().join("b.png"), b"b").unwrap();
        staged.commit().unwrap();
        assert!(target.join("a.png").is_file() && target.join("b.png").is_file());

        let staged = StagedFolder::new(&target, false).unwrap();
        std::fs::write(staged.path().join("a.png"), b"new").unwrap();
        assert!(matches!(staged.commit(), Err(Error::Exists(_))));
        assert_eq!(std::fs::read(target.join("a.png")).unwrap(), b"a");
        let staged = StagedFolder::new(&target, true).unwrap();
        std::fs::write(staged.path().join("a.png"), b"new").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(target.join("a.png")).unwrap(), b"new");

        let staged = StagedFolder::new(&target, false).unwrap();
        std::fs::write(staged.path().join("c.png"), b"c").unwrap();
        staged.discard();
        assert!(!target.join("c.png").exists());
        assert!(!staging_path(&target).exists());
    }
}
