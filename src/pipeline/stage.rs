//! Which part of a run a process does: the whole of it, one partition of a run split over many
//! workers (`--partition I/N`), or the finalization once every partition is done (`--finalize`).
//! Only formats whose driver has the `partitions` capability can be split.

use std::fmt;
use std::str::FromStr;

/// Which part of a run a process does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    /// The whole run.
    #[default]
    Whole,
    /// One partition: only the groups of patches it owns, no dataset-level metadata.
    Partition(Partition),
    /// After every partition: check they all finished, write the dataset-level metadata.
    Finalize,
}

/// Environment variables of batch schedulers holding a worker's index, read by `auto/N`, each
/// with how to ask that scheduler for N tasks numbered from 0 (for the error messages).
pub const INDEX_VARIABLES: [&str; 3] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// How to get indices `0..count` from the scheduler that sets `variable`.
fn index_hint(variable: &str, count: usize) -> String {
    match variable {
        "SLURM_ARRAY_TASK_ID" => {
            format!("submit with sbatch --array=0-{}", count.saturating_sub(1))
        }
        "JOB_COMPLETION_INDEX" => format!("give the Indexed Job completions: {count}"),
        _ => format!("give the array job size {count}"),
    }
}

/// Worker `index` of `count` (`I/N`, 0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// This worker, `0..count`.
    pub index: usize,
    /// Number of workers.
    pub count: usize,
}

/// A `--partition` argument as written: `I/N`, or `auto/N` whose `I` is read from the
/// environment by [`resolve`](PartitionSpec::resolve) (after the command line is checked, so
/// that `auto/N` with `--finalize` is reported as the conflict it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionSpec {
    /// `I/N`.
    Explicit(Partition),
    /// `auto/N`.
    Auto {
        /// N.
        count: usize,
    },
}

impl FromStr for PartitionSpec {
    type Err = String;
    /// `I/N` (0 <= I < N) or `auto/N` (N >= 1).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("partition '{text}': expected I/N or auto/N"))?;
        let count: usize = count
            .trim()
            .parse()
            .map_err(|_| format!("partition '{text}': N is not a number"))?;
        if count == 0 {
            return Err(format!("partition '{text}': N must be at least 1"));
        }
        if index.eq_ignore_ascii_case("auto") {
            return Ok(PartitionSpec::Auto { count });
        }
        let index: usize = index
            .trim()
            .parse()
            .map_err(|_| format!("partition '{text}': I is not a number"))?;
        if index >= count {
            return Err(format!(
                "partition {index}/{count}: expected 0 <= I < N (I counts from 0)"
            ));
        }
        Ok(PartitionSpec::Explicit(Partition { index, count }))
    }
}

impl PartitionSpec {
    /// The partition: `I/N` as given, or for `auto/N` `I` from every one of
    /// [`INDEX_VARIABLES`] that is set (`lookup` reads an environment variable).
    ///
    /// # Errors
    /// A message naming the variable and its value: none is set, a value is not a number or not
    /// below N, or two variables are set to different values (a `JOB_COMPLETION_INDEX` exported
    /// into every Slurm task, say: all tasks would convert the same partition).
    pub fn resolve(self, lookup: impl Fn(&str) -> Option<String>) -> Result<Partition, String> {
        let count = match self {
            PartitionSpec::Explicit(partition) => return Ok(partition),
            PartitionSpec::Auto { count } => count,
        };
        let set: Vec<(&str, String)> = INDEX_VARIABLES
            .iter()
            .filter_map(|&name| lookup(name).map(|value| (name, value)))
            .collect();
        let mut found: Option<(&str, String, usize)> = None;
        for (name, value) in set {
            let index: usize = value
                .trim()
                .parse()
                .map_err(|_| format!("partition auto/{count}: {name}={value:?} is not a number"))?;
            if let Some((first, first_value, first_index)) = &found {
                if *first_index != index {
                    return Err(format!(
                        "partition auto/{count}: {first}={first_value} and {name}={value} disagree; \
                         unset the one this scheduler did not set (exported by the submitting shell?)"
                    ));
                }
            } else {
                found = Some((name, value, index));
            }
        }
        let (name, value, index) = found.ok_or_else(|| {
            format!(
                "partition auto/{count}: none of {} is set (not running as an array task?)",
                INDEX_VARIABLES.join(", ")
            )
        })?;
        if index >= count {
            return Err(format!(
                "partition auto/{count}: {name}={value} is not below N = {count} (indices count \
                 from 0: {})",
                index_hint(name, count)
            ));
        }
        Ok(Partition { index, count })
    }
}

impl fmt::Display for PartitionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartitionSpec::Explicit(p) => p.fmt(f),
            PartitionSpec::Auto { count } => write!(f, "auto/{count}"),
        }
    }
}

impl Partition {
    /// True if this worker converts group `group`.
    pub fn owns(&self, group: usize) -> bool {
        group % self.count == self.index
    }

    /// `I/N` with explicit numbers, or `auto/N` with `I` from the environment, as
    /// [`PartitionSpec::resolve`] reads it (0-based: a Slurm array must be `--array=0-(N-1)`).
    /// `lookup` reads an environment variable.
    ///
    /// # Errors
    /// The text is not `I/N` or `auto/N`, or see [`PartitionSpec::resolve`].
    pub fn parse_with(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        text.parse::<PartitionSpec>()?.resolve(lookup)
    }
}

impl FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Partition::parse_with(s, |name| std::env::var(name).ok())
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_and_share_out_groups() {
        let none = |_: &str| None;
        assert_eq!(
            Partition::parse_with("1/3", none),
            Ok(Partition { index: 1, count: 3 })
        );
        assert!(Partition::parse_with("3/3", none).is_err());
        assert!(Partition::parse_with("0/0", none).is_err());
        assert!(Partition::parse_with("x/3", none).is_err());
        assert!(Partition::parse_with("auto/4", none).is_err());
        let slurm = |v: &str| (v == "SLURM_ARRAY_TASK_ID").then(|| "2".to_string());
        assert_eq!(
            Partition::parse_with("auto/4", slurm),
            Ok(Partition { index: 2, count: 4 })
        );
        let p = Partition { index: 1, count: 3 };
        let owned: Vec<usize> = (0..8).filter(|&g| p.owns(g)).collect();
        assert_eq!(owned, vec![1, 4, 7]);
    }

    #[test]
    fn auto_errors_name_the_variable_and_refuse_disagreement() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |v: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == v)
                    .map(|(_, x)| x.to_string())
            }
        };
        let err =
            Partition::parse_with("auto/3", env(&[("SLURM_ARRAY_TASK_ID", "3")])).unwrap_err();
        assert!(err.contains("SLURM_ARRAY_TASK_ID=3"), "{err}");
        assert!(err.contains("--array=0-2"), "{err}");
        let err = Partition::parse_with("auto/3", env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "x")]))
            .unwrap_err();
        assert!(err.contains("AWS_BATCH_JOB_ARRAY_INDEX=\"x\""), "{err}");
        let both = env(&[("JOB_COMPLETION_INDEX", "0"), ("SLURM_ARRAY_TASK_ID", "2")]);
        let err = Partition::parse_with("auto/3", both).unwrap_err();
        assert!(
            err.contains("JOB_COMPLETION_INDEX=0") && err.contains("SLURM_ARRAY_TASK_ID=2"),
            "{err}"
        );
        let agree = env(&[("JOB_COMPLETION_INDEX", "1"), ("SLURM_ARRAY_TASK_ID", "1")]);
        assert_eq!(
            Partition::parse_with("auto/3", agree),
            Ok(Partition { index: 1, count: 3 })
        );
        assert_eq!(
            "auto/3".parse::<PartitionSpec>(),
            Ok(PartitionSpec::Auto { count: 3 })
        );
    }
}
