//! The fingerprint of a run: what `--resume` and `--finalize` check to continue or complete only
//! the same run (same source, selection, output format and options).
//!
//! It is a SHA-256 (sha2) of a canonical text, so it is the same on every machine and toolchain
//! (unlike `std`'s `DefaultHasher`, whose output may change between Rust releases): the partitions
//! of one run may be written by workers built differently.

use crate::formats::{Format, WriteOptions};
use crate::model::{DatasetMeta, Layer};
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// What identifies a run.
#[derive(Clone, Copy, Debug)]
pub struct RunIdentity<'a> {
    /// The source, as [`PatchSource::describe`](super::PatchSource::describe) says.
    pub source: &'a str,
    /// The output format.
    pub to: Format,
    /// The selected patches, in output order.
    pub meta: &'a DatasetMeta,
    /// The selected layers.
    pub layers: &'a [Layer],
    /// The writer's options (compression and creation options count; overwrite and resume do not).
    pub write: &'a WriteOptions,
}

/// The canonical text of a run, one `key value` per line.
pub fn canonical_text(run: &RunIdentity) -> String {
    let mut text = String::new();
    let layers: Vec<&str> = run.layers.iter().map(|l| l.name()).collect();
    let compression = run
        .write
        .compression
        .map_or_else(|| "default".to_string(), |c| c.to_string());
    let creation: Vec<String> = run
        .write
        .creation
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let ids: Vec<String> = run.meta.ids().iter().map(i64::to_string).collect();
    // Writing to a String cannot fail.
    let _ = writeln!(text, "pastis-bridge {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(text, "source {}", run.source);
    let _ = writeln!(text, "to {}", run.to);
    let _ = writeln!(text, "layers {}", layers.join(","));
    let _ = writeln!(text, "compression {compression}");
    let _ = writeln!(text, "creation {}", creation.join(","));
    let _ = writeln!(text, "patches {}", ids.join(","));
    text
}

/// The fingerprint: a readable summary and the SHA-256 of the [`canonical_text`], on one line.
pub fn fingerprint(run: &RunIdentity) -> String {
    let hex = sha256_hex(&canonical_text(run));
    format!(
        "pastis-bridge {} {} to {}, {} patches, sha256 {hex}",
        env!("CARGO_PKG_VERSION"),
        run.source,
        run.to,
        run.meta.patches.len()
    )
}

/// The SHA-256 of `text`, in lower-case hexadecimal.
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PatchMeta;

    fn meta(ids: &[i64]) -> DatasetMeta {
        DatasetMeta {
            patches: ids.iter().map(|&id| PatchMeta::new(id)).collect(),
            ..DatasetMeta::default()
        }
    }

    #[test]
    fn fingerprints_are_stable_and_tell_runs_apart() {
        let (m, write) = (meta(&[10000, 10001]), WriteOptions::default());
        let run = RunIdentity {
            source: "read pastis",
            to: Format::Zarr,
            meta: &m,
            layers: &[Layer::S2, Layer::Target],
            write: &write,
        };
        assert_eq!(
            canonical_text(&run),
            format!(
                "pastis-bridge {}\nsource read pastis\nto zarr\nlayers S2,TARGET\n\
                 compression default\ncreation \npatches 10000,10001\n",
                env!("CARGO_PKG_VERSION")
            )
        );
        let a = fingerprint(&run);
        assert_eq!(a, fingerprint(&run));
        assert!(a.ends_with(&sha256_hex(&canonical_text(&run))), "{a}");
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1): the hash is the standard one.
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let other = meta(&[10000, 10002]);
        assert_ne!(
            a,
            fingerprint(&RunIdentity {
                meta: &other,
                ..run
            })
        );
        let mut v2 = write.clone();
        v2.creation.set("ZARR_VERSION", "2");
        assert_ne!(a, fingerprint(&RunIdentity { write: &v2, ..run }));
        // GeoTIFF's creation options too (issue #14): a --no-georef run is not a --cog one.
        let to = Format::GeoTiff;
        let tif = fingerprint(&RunIdentity { to, ..run });
        let mut no_georef = write.clone();
        no_georef.creation.set("GEOREF", "NO");
        let no_georef_run = RunIdentity {
            to,
            write: &no_georef,
            ..run
        };
        assert!(canonical_text(&no_georef_run).contains("\ncreation GEOREF=NO\n"));
        let mut both = no_georef.clone();
        both.creation.set("COG", "YES");
        let both_run = RunIdentity {
            to,
            write: &both,
            ..run
        };
        assert!(canonical_text(&both_run).contains("\ncreation COG=YES,GEOREF=NO\n"));
        let all = [tif, fingerprint(&no_georef_run), fingerprint(&both_run)];
        assert!(
            all[0] != all[1] && all[1] != all[2] && all[0] != all[2],
            "{all:?}"
        );
    }
}
