//! How to write: the options every writer understands ([`WriteOptions`]), the compression
//! vocabulary shared by the formats ([`Compression`], each driver accepts its own subset), and the
//! format-specific creation options (`KEY=VALUE`, as GDAL's `-co`), which each driver parses into
//! its own options type (Zarr's version, GeoTIFF's COG).

use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Compression of the array payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// No compression.
    None,
    /// Zstandard at a level (default 3).
    Zstd(i32),
    /// Blosc with LZ4 at a level 1..=9 (Blosc's scale, default 5) after a shuffle (default byte,
    /// as before the level and shuffle could be chosen). `blosc-lz4:9:bit` encodes about 2x and
    /// decodes 2x faster than the Zarr default for 0.3 % more bytes on S1 float16 and 3 % more on
    /// S2 int16 (bench/RESULTS.md, "Codec choice").
    BloscLz4(u8, Shuffle),
    /// Blosc with Zstandard at a level 1..=9 (Blosc's scale) after a shuffle: the Zarr default
    /// at level 1 with bit shuffle (bench/RESULTS.md, "Codec choice").
    BloscZstd(u8, Shuffle),
    /// Deflate / gzip at a level 1..9 (default 6).
    Gzip(u32),
    /// LZF (HDF5 only).
    Lzf,
}

/// Blosc's transposition before compressing: bytes or bits by element size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shuffle {
    /// Byte `b` of every element together, for each `b` (Blosc's and HDF5's `shuffle`).
    Byte,
    /// Bit `b` of every element together (Blosc's `bitshuffle`).
    Bit,
}

impl Shuffle {
    fn parse(text: Option<&str>, default: Shuffle) -> Result<Shuffle, String> {
        match text {
            None => Ok(default),
            Some("bit") => Ok(Shuffle::Bit),
            Some("byte") => Ok(Shuffle::Byte),
            Some(other) => Err(format!("blosc shuffle '{other}': expected bit or byte")),
        }
    }
}

impl fmt::Display for Shuffle {
    /// `bit` or `byte`, the third field of a Blosc compression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shuffle::Byte => "byte",
            Shuffle::Bit => "bit",
        })
    }
}

impl FromStr for Compression {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let name = parts.next().unwrap_or_default();
        let (level, extra) = (parts.next(), parts.next());
        let blosc = ["blosc-zstd", "blosc-lz4", "blosc"];
        if extra.is_some() && !blosc.iter().any(|b| name.eq_ignore_ascii_case(b)) {
            return Err(format!(
                "compression '{s}': only blosc-zstd and blosc-lz4 take a third field (the shuffle)"
            ));
        }
        let parse_level =
            |default: i64, range: std::ops::RangeInclusive<i64>| -> Result<i64, String> {
                let v = match level {
                    None => default,
                    Some(l) => l
                        .parse::<i64>()
                        .map_err(|_| format!("compression level '{l}' is not a number"))?,
                };
                if range.contains(&v) {
                    Ok(v)
                } else {
                    Err(format!(
                        "{name} level {v} is outside {}..={}",
                        range.start(),
                        range.end()
                    ))
                }
            };
        match name.to_ascii_lowercase().as_str() {
            "none" => Ok(Compression::None),
            "zstd" => Ok(Compression::Zstd(parse_level(3, -7..=22)? as i32)),
            "blosc-lz4" | "blosc" => Ok(Compression::BloscLz4(
                parse_level(5, 1..=9)? as u8,
                Shuffle::parse(extra, Shuffle::Byte)?,
            )),
            "blosc-zstd" => Ok(Compression::BloscZstd(
                parse_level(1, 1..=9)? as u8,
                Shuffle::parse(extra, Shuffle::Bit)?,
            )),
            "gzip" | "deflate" => Ok(Compression::Gzip(parse_level(6, 1..=9)? as u32)),
            "lzf" => Ok(Compression::Lzf),
            _ => Err(format!(
                "unknown compression '{s}', expected zstd[:LEVEL], blosc-zstd[:LEVEL[:bit|byte]], \
                 blosc-lz4[:LEVEL[:bit|byte]], gzip[:LEVEL], lzf or none"
            )),
        }
    }
}

impl fmt::Display for Compression {
    /// The command-line spelling, which [`FromStr`] parses back: `zstd:3`, `gzip:6`,
    /// `blosc-lz4:5:byte`, `blosc-zstd:1:bit`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::None => f.write_str("none"),
            Compression::Zstd(level) => write!(f, "zstd:{level}"),
            Compression::BloscLz4(level, shuffle) => write!(f, "blosc-lz4:{level}:{shuffle}"),
            Compression::BloscZstd(level, shuffle) => write!(f, "blosc-zstd:{level}:{shuffle}"),
            Compression::Gzip(level) => write!(f, "gzip:{level}"),
            Compression::Lzf => f.write_str("lzf"),
        }
    }
}

/// Options every writer understands.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// Replace an existing output.
    pub overwrite: bool,
    /// Payload compression; `None` = the format's default. A driver refuses what it cannot
    /// store ([`Driver::check_options`](super::Driver::check_options)).
    pub compression: Option<Compression>,
    /// Continue an interrupted output (`NAME.partial`) instead of starting over; only for
    /// formats whose driver has the `resume` capability.
    pub resume: bool,
    /// Format-specific creation options; a driver refuses a key it does not understand.
    pub creation: CreationOptions,
}

/// Format-specific options as `KEY=VALUE` pairs (keys upper case), as GDAL's creation options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreationOptions(BTreeMap<String, String>);

impl CreationOptions {
    /// Sets `key` (stored upper case) to `value`.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.0.insert(key.to_ascii_uppercase(), value.into());
        self
    }

    /// The value of `key` (any case), if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(&key.to_ascii_uppercase()).map(String::as_str)
    }

    /// Every pair, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Parses `KEY=VALUE` and adds it.
    ///
    /// # Errors
    /// A message naming the text when it has no `=` or an empty key.
    pub fn add(&mut self, text: &str) -> Result<(), String> {
        match text.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                self.set(key.trim(), value.trim());
                Ok(())
            }
            _ => Err(format!("creation option '{text}': expected KEY=VALUE")),
        }
    }

    /// Checks that every key is one of `known`, which `format` understands.
    ///
    /// # Errors
    /// [`Error::Usage`] naming the key, the format and the keys it understands.
    pub fn check_keys(&self, format: &str, known: &[CreationOption]) -> Result<()> {
        for (key, _) in self.iter() {
            if !known.iter().any(|o| o.key == key) {
                let keys: Vec<&str> = known.iter().map(|o| o.key).collect();
                return Err(Error::Usage(format!(
                    "{format} does not understand the creation option {key} (it understands: {})",
                    if keys.is_empty() {
                        "none".to_string()
                    } else {
                        keys.join(", ")
                    }
                )));
            }
        }
        Ok(())
    }
}

/// A creation option a driver understands, for `--help`-like listings and checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreationOption {
    /// The key, upper case: `ZARR_VERSION`.
    pub key: &'static str,
    /// The values accepted and the default: `2 or 3 (default 3)`.
    pub values: &'static str,
    /// What it does.
    pub doc: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_parses_and_prints_back() {
        assert_eq!("zstd".parse(), Ok(Compression::Zstd(3)));
        assert_eq!("zstd:9".parse(), Ok(Compression::Zstd(9)));
        assert_eq!("gzip".parse(), Ok(Compression::Gzip(6)));
        assert_eq!("none".parse(), Ok(Compression::None));
        assert!("zstd:99".parse::<Compression>().is_err());
        assert!("brotli".parse::<Compression>().is_err());
        let blosc = |l, s| Ok(Compression::BloscZstd(l, s));
        assert_eq!("blosc-zstd".parse(), blosc(1, Shuffle::Bit));
        assert_eq!("blosc-zstd:3:byte".parse(), blosc(3, Shuffle::Byte));
        assert!("blosc-zstd:0".parse::<Compression>().is_err());
        assert!("blosc-zstd:1:word".parse::<Compression>().is_err());
        assert!("zstd:3:bit".parse::<Compression>().is_err());
        let lz4 = |l, s| Ok(Compression::BloscLz4(l, s));
        assert_eq!("blosc-lz4".parse(), lz4(5, Shuffle::Byte));
        assert_eq!("blosc".parse(), lz4(5, Shuffle::Byte));
        assert_eq!("blosc-lz4:9:bit".parse(), lz4(9, Shuffle::Bit));
        assert!("blosc-lz4:10".parse::<Compression>().is_err());
        for c in [
            Compression::BloscZstd(1, Shuffle::Bit),
            Compression::BloscZstd(5, Shuffle::Byte),
            Compression::None,
            Compression::Zstd(-3),
            Compression::BloscLz4(5, Shuffle::Byte),
            Compression::BloscLz4(9, Shuffle::Bit),
            Compression::Gzip(9),
            Compression::Lzf,
        ] {
            assert_eq!(c.to_string().parse(), Ok(c));
        }
    }

    #[test]
    fn creation_options_are_checked_per_format() {
        let mut options = CreationOptions::default();
        options.add("zarr_version=2").unwrap();
        assert_eq!(options.get("ZARR_VERSION"), Some("2"));
        assert!(options.add("novalue").is_err());
        let known = [CreationOption {
            key: "ZARR_VERSION",
            values: "2 or 3",
            doc: "",
        }];
        options.check_keys("zarr", &known).unwrap();
        let err = options.check_keys("hdf5", &[]).unwrap_err().to_string();
        assert!(
            err.contains("hdf5 does not understand the creation option ZARR_VERSION"),
            "{err}"
        );
    }
}
