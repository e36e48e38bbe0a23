//! Which acquisition a preview shows: `--date` by index or calendar day, the least cloudy S2
//! date by default, and the S1 date nearest to the chosen S2 date.

use crate::model::{Date, Layer, Patch};
use crate::{Error, Result};
use chrono::NaiveDate;
use std::fmt;
use std::str::FromStr;

/// The S2 date asked for on the command line (`--date`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateChoice {
    /// Position in the patch's S2 series, 0-based (the keys of `dates-S2`).
    Index(usize),
    /// A calendar day `yyyymmdd`: the S2 acquisition nearest to it, within the series' span.
    Day(Date),
}

impl FromStr for DateChoice {
    type Err = String;

    /// `N` (an index) or `YYYY-MM-DD` (also `YYYYMMDD`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || format!("'{s}' is neither a date index (0, 1, ...) nor a date YYYY-MM-DD");
        if s.contains('-') || s.len() == 8 {
            let digits: String = s.chars().filter(|c| *c != '-').collect();
            let (y, m, d) = split_ymd(&digits).ok_or_else(bad)?;
            NaiveDate::from_ymd_opt(y, m, d)
                .ok_or_else(|| format!("'{s}' is not a calendar date"))?;
            return Ok(DateChoice::Day(y as u32 * 10000 + m * 100 + d));
        }
        s.parse().map(DateChoice::Index).map_err(|_| bad())
    }
}

impl fmt::Display for DateChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateChoice::Index(i) => write!(f, "index {i}"),
            DateChoice::Day(d) => f.write_str(&format_date(*d)),
        }
    }
}

fn split_ymd(digits: &str) -> Option<(i32, u32, u32)> {
    if digits.len() != 8 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((
        digits[..4].parse().ok()?,
        digits[4..6].parse().ok()?,
        digits[6..].parse().ok()?,
    ))
}

/// `yyyymmdd` as `yyyy-mm-dd`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d / 10000, d / 100 % 100, d % 100)
}

/// Days since the common era of a `yyyymmdd` date, `None` if it is not a calendar date.
fn day_number(d: Date) -> Option<i64> {
    let date = NaiveDate::from_ymd_opt((d / 10000) as i32, d / 100 % 100, d % 100)?;
    Some(i64::from(chrono::Datelike::num_days_from_ce(&date)))
}

/// The dates of one series of a patch, as many as its frames (`None` where metadata lacks them).
pub fn series_dates(patch: &Patch, layer: Layer, frames: usize) -> Vec<Option<Date>> {
    let dates = patch.meta.dates.get(&layer);
    (0..frames)
        .map(|t| dates.and_then(|d| d.get(t).copied()))
        .collect()
}

/// Resolves `--date` against a patch's S2 series of `frames` frames.
pub fn resolve(choice: DateChoice, id: i64, dates: &[Option<Date>]) -> Result<usize> {
    match choice {
        DateChoice::Index(i) if i < dates.len() => Ok(i),
        DateChoice::Index(i) => Err(Error::patch(
            id,
            format!(
                "--date {i} is out of range: S2 has {} dates (0..={})",
                dates.len(),
                dates.len().saturating_sub(1)
            ),
        )),
        DateChoice::Day(day) => nearest_within_span(day, dates).ok_or_else(|| {
            let known: Vec<Date> = dates.iter().flatten().copied().collect();
            let span = match (known.first(), known.last()) {
                (Some(a), Some(b)) => format!("{}..{}", format_date(*a), format_date(*b)),
                _ => "none in its metadata".to_string(),
            };
            Error::patch(
                id,
                format!(
                    "--date {} is outside its S2 dates ({span})",
                    format_date(day)
                ),
            )
        }),
    }
}

fn nearest_within_span(day: Date, dates: &[Option<Date>]) -> Option<usize> {
    let known = dates.iter().flatten();
    let (first, last) = (known.clone().min()?, known.max()?);
    if day < *first || day > *last {
        return None;
    }
    nearest(day, dates)
}

/// The index of the date nearest to `day` (ties: the earlier), `None` if no date is known.
pub fn nearest(day: Date, dates: &[Option<Date>]) -> Option<usize> {
    let target = day_number(day)?;
    dates
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((i, (day_number((*d)?)? - target).abs())))
        .min_by_key(|&(i, gap)| (gap, i))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_indexes_and_days() {
        assert_eq!("3".parse(), Ok(DateChoice::Index(3)));
        assert_eq!("2019-06-04".parse(), Ok(DateChoice::Day(20190604)));
        assert_eq!("20190604".parse(), Ok(DateChoice::Day(20190604)));
        assert!("2019-02-30".parse::<DateChoice>().is_err());
        assert!("June".parse::<DateChoice>().is_err());
        assert!("-1".parse::<DateChoice>().is_err());
    }

    #[test]
    fn resolves_to_the_nearest_date_within_the_span() {
        let dates = [Some(20180927), Some(20181012), Some(20190125)];
        assert_eq!(resolve(DateChoice::Index(2), 1, &dates).ok(), Some(2));
        assert!(resolve(DateChoice::Index(3), 1, &dates).is_err());
        assert_eq!(resolve(DateChoice::Day(20181010), 1, &dates).ok(), Some(1));
        assert!(resolve(DateChoice::Day(20170101), 1, &dates).is_err());
        assert_eq!(nearest(20190601, &dates), Some(2));
    }
}
