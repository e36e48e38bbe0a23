//! Running the real binary the way a user does, and checking what a run left: one set of helpers
//! for every test that runs `convert` (instead of a `run`/`convert` pair per test file).

use super::bin;
use std::ffi::OsStr;
use std::path::Path;

/// One finished run of `pastis-bridge`.
#[derive(Debug)]
pub struct Outcome {
    /// The command line, for messages.
    pub args: String,
    /// The exit code; -1 when a signal ended the process.
    pub code: i32,
    /// Standard error.
    pub stderr: String,
    /// Standard output.
    pub stdout: String,
}

impl Outcome {
    /// Standard error then standard output.
    pub fn text(&self) -> String {
        format!("{}{}", self.stderr, self.stdout)
    }

    /// Asserts the exit `code` and that the output says each of `needles`; returns `self`.
    #[track_caller]
    pub fn expect(self, code: i32, needles: &[&str]) -> Self {
        let text = self.text();
        assert_eq!(self.code, code, "{}: exit {}: {text}", self.args, self.code);
        for needle in needles {
            assert!(
                text.contains(needle),
                "{}: no {needle:?} in {text}",
                self.args
            );
        }
        self
    }

    /// Asserts success (exit 0) with nothing at all on standard error (no warning, no GDAL or
    /// HDF5 message).
    #[track_caller]
    pub fn silent(self) -> Self {
        let out = self.expect(0, &[]);
        assert!(
            out.stderr.trim().is_empty(),
            "{}: wrote to stderr: {}",
            out.args,
            out.stderr
        );
        out
    }
}

/// Runs `pastis-bridge ARGS` to its end. Fails the test if the binary panicked.
#[track_caller]
pub fn run<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Outcome {
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = bin().args(&args).output().expect("the binary runs");
    let outcome = Outcome {
        args: args
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" "),
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    };
    assert!(
        !outcome.text().contains("panicked"),
        "{}: panic: {}",
        outcome.args,
        outcome.text()
    );
    outcome
}

/// Runs `pastis-bridge convert SRC DST ARGS... --quiet` (so `args` never holds `-q`).
#[track_caller]
pub fn convert(src: &Path, dst: &Path, args: &[&str]) -> Outcome {
    let mut all = vec![OsStr::new("convert"), src.as_os_str(), dst.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    all.push(OsStr::new("--quiet"));
    run(all)
}

/// `convert SRC DST ARGS...` must succeed.
#[track_caller]
pub fn convert_ok(src: &Path, dst: &Path, args: &[&str]) -> Outcome {
    convert(src, dst, args).expect(0, &[])
}

/// `convert SRC DST ARGS...` must exit `code`, say each of `needles`, and leave nothing new in
/// DST's folder: neither `DST`, nor its staging `DST.partial`, nor a journal.
#[track_caller]
pub fn convert_refused(src: &Path, dst: &Path, args: &[&str], code: i32, needles: &[&str]) {
    let folder = dst.parent().expect("DST has a folder");
    let before = entries(folder);
    let outcome = convert(src, dst, args).expect(code, needles);
    let after = entries(folder);
    let left: Vec<_> = after.difference(&before).collect();
    assert!(left.is_empty(), "{}: left {left:?}", outcome.args);
}

/// The names in `folder` (none if it does not exist).
fn entries(folder: &Path) -> std::collections::BTreeSet<std::ffi::OsString> {
    std::fs::read_dir(folder)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default()
}
