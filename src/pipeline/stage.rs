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

/// Environment variables of batch schedulers holding a worker's index, read by `auto/N`.
pub const INDEX_VARIABLES: [&str; 3] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// Worker `index` of `count` (`I/N`, 0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// This worker, `0..count`.
    pub index: usize,
    /// Number of workers.
    pub count: usize,
}

impl Partition {
    /// True if this worker converts group `group`.
    pub fn owns(&self, group: usize) -> bool {
        group % self.count == self.index
    }

    /// `I/N` with explicit numbers, or `auto/N` with `I` from the first of [`INDEX_VARIABLES`]
    /// that is set (0-based: a Slurm array must be `--array=0-(N-1)`). `lookup` reads an
    /// environment variable.
    pub fn parse_with(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("partition '{text}': expected I/N or auto/N"))?;
        let count: usize = count
            .parse()
            .map_err(|_| format!("partition '{text}': N is not a number"))?;
        let index = if index.eq_ignore_ascii_case("auto") {
            let (name, value) = INDEX_VARIABLES
                .iter()
                .find_map(|v| lookup(v).map(|value| (*v, value)))
                .ok_or_else(|| {
                    format!(
                        "partition auto/{count}: none of {} is set",
                        INDEX_VARIABLES.join(", ")
                    )
                })?;
            value
                .trim()
                .parse()
                .map_err(|_| format!("partition auto/{count}: {name}={value:?} is not a number"))?
        } else {
            index
                .parse()
                .map_err(|_| format!("partition '{text}': I is not a number"))?
        };
        if count == 0 || index >= count {
            return Err(format!(
                "partition {index}/{count}: expected 0 <= I < N (I counts from 0)"
            ));
        }
        Ok(Partition { index, count })
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
}
