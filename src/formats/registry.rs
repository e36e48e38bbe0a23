//! The registry of formats: each format declares itself once as a [`Driver`] (names, extensions,
//! how to recognise, open and create a dataset, what it can do, which creation options it
//! understands) and is listed in [`DRIVERS`]. Everything above the formats (the pipeline, the CLI) asks a driver
//! for a capability instead of naming a format.
//!
//! Adding a format: its own module with a reader, a writer and a `driver.rs` implementing
//! [`Driver`], a variant of [`Format`], and one line in [`DRIVERS`].

use super::driver::{Capabilities, Driver};
use super::{geotiff, hdf5, pastis, zarr, Format};
use crate::{Error, Result};
use std::path::Path;

/// Every driver, in the order datasets are recognised (the most specific first: a PASTIS folder
/// is recognised by little more than its metadata.geojson).
pub static DRIVERS: [&dyn Driver; 4] = [
    &zarr::DRIVER,
    &hdf5::DRIVER,
    &geotiff::DRIVER,
    &pastis::DRIVER,
];

/// The driver of `format`.
pub fn driver(format: Format) -> &'static dyn Driver {
    DRIVERS
        .iter()
        .copied()
        .find(|d| d.format() == format)
        .unwrap_or_else(|| unreachable!("every format has a driver in DRIVERS"))
}

/// The driver named `name` or one of its aliases (any case).
pub fn by_name(name: &str) -> Option<&'static dyn Driver> {
    let name = name.to_ascii_lowercase();
    DRIVERS
        .iter()
        .copied()
        .find(|d| d.name() == name || d.aliases().contains(&name.as_str()))
}

/// The driver whose output extension `path` has (`.zarr`, `.h5`...), if any.
pub fn by_extension(path: &Path) -> Option<&'static dyn Driver> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    DRIVERS
        .iter()
        .copied()
        .find(|d| d.extensions().contains(&extension.as_str()))
}

/// The titles of the drivers that have a capability, for messages: `Zarr`, `Zarr or HDF5`.
pub fn titles_with(has: impl Fn(Capabilities) -> bool) -> String {
    let titles: Vec<&str> = DRIVERS
        .iter()
        .filter(|d| has(d.capabilities()))
        .map(|d| d.title())
        .collect();
    titles.join(" or ")
}

/// Recognises an existing dataset from what it is.
///
/// # Errors
/// [`Error::Io`] when nothing is there, [`Error::UnknownFormat`] when no driver recognises it.
pub fn detect(path: &Path) -> Result<&'static dyn Driver> {
    let url = super::location::is_url(path);
    if !url && !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        ));
    }
    for driver in DRIVERS {
        if (!url || driver.capabilities().object_store) && driver.detect(path)? {
            return Ok(driver);
        }
    }
    Err(Error::UnknownFormat(path.to_path_buf()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_one_driver_with_its_own_names() {
        for format in Format::ALL {
            assert_eq!(driver(format).format(), format);
            assert_eq!(
                by_name(driver(format).name()).map(|d| d.format()),
                Some(format)
            );
        }
        let mut names: Vec<&str> = DRIVERS
            .iter()
            .flat_map(|d| std::iter::once(d.name()).chain(d.aliases().iter().copied()))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name or alias is claimed twice");
        assert_eq!(titles_with(|c| c.partitions), "Zarr");
    }
}
