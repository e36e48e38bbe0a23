//! The CRS a metadata.geojson declares for its footprints.
//!
//! GeoJSON files carry it in the legacy `crs` member (GeoJSON 2008, still written by GDAL and
//! geopandas): `{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}`. RFC 7946
//! dropped the member: a file without one is WGS84 longitude/latitude (RFC 7946 §4).

use super::GeorefProblem;
use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};

/// A footprint CRS pastis-bridge understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FootprintCrs {
    /// OGC CRS84: WGS84 longitude, latitude in degrees (RFC 7946's only CRS).
    Crs84,
    /// An EPSG code (2154 for PASTIS' Lambert-93). Coordinates are read in the traditional GIS
    /// order (easting/longitude first), as every GeoJSON writer stores them, even for EPSG:4326.
    Epsg(u32),
}

impl FootprintCrs {
    /// The CRS of a declared name (`DatasetMeta::crs`); `None` (no `crs` member) is CRS84.
    ///
    /// Accepts, case-insensitively: `urn:ogc:def:crs:EPSG::N` (also with a version between the
    /// colons), `EPSG:N`, `http://www.opengis.net/def/crs/EPSG/0/N`, and OGC CRS84 as
    /// `urn:ogc:def:crs:OGC:1.3:CRS84`, `urn:ogc:def:crs:OGC::CRS84`, `OGC:CRS84`, `CRS84` or
    /// `http://www.opengis.net/def/crs/OGC/1.3/CRS84`.
    ///
    /// Errors: [`GeorefProblem::UnsupportedCrs`] for any other name or an EPSG code GDAL does not
    /// know.
    pub fn from_declared(name: Option<&str>) -> Result<FootprintCrs, GeorefProblem> {
        let Some(name) = name else {
            return Ok(FootprintCrs::Crs84);
        };
        let unsupported = |why: &str| GeorefProblem::UnsupportedCrs {
            crs: name.to_string(),
            why: why.to_string(),
        };
        let lower = name.trim().to_ascii_lowercase();
        if is_crs84(&lower) {
            return Ok(FootprintCrs::Crs84);
        }
        let code = epsg_code(&lower).ok_or_else(|| {
            unsupported("expected an EPSG code (urn:ogc:def:crs:EPSG::N, EPSG:N) or OGC CRS84")
        })?;
        quietly(|| SpatialRef::from_epsg(code)).map_err(|e| unsupported(&format!("GDAL: {e}")))?;
        Ok(FootprintCrs::Epsg(code))
    }

    /// The short name used in messages: `OGC:CRS84`, `EPSG:2154`.
    pub fn name(&self) -> String {
        match self {
            FootprintCrs::Crs84 => "OGC:CRS84".to_string(),
            FootprintCrs::Epsg(code) => format!("EPSG:{code}"),
        }
    }

    /// The spatial reference, with (x, y) = (easting or longitude, northing or latitude).
    pub fn spatial_ref(&self) -> gdal::errors::Result<SpatialRef> {
        match self {
            FootprintCrs::Crs84 => spatial_ref(4326),
            FootprintCrs::Epsg(code) => spatial_ref(*code),
        }
    }
}

/// A spatial reference for `epsg`, in (x, y) = (easting/lon, northing/lat) order.
pub fn spatial_ref(epsg: u32) -> gdal::errors::Result<SpatialRef> {
    let mut srs = SpatialRef::from_epsg(epsg)?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(srs)
}

/// Runs `f` with GDAL's messages silenced on this thread (the library never prints; GDAL/PROJ
/// report unknown codes and failed transforms on stderr besides returning the error).
pub(super) fn quietly<T>(f: impl FnOnce() -> T) -> T {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            // SAFETY: pops the handler pushed below, on the same thread.
            unsafe { gdal_sys::CPLPopErrorHandler() };
        }
    }
    // SAFETY: pushes a handler GDAL provides on this thread's handler stack; `Pop` removes it.
    unsafe { gdal_sys::CPLPushErrorHandler(Some(gdal_sys::CPLQuietErrorHandler)) };
    let _pop = Pop;
    f()
}

fn is_crs84(lower: &str) -> bool {
    matches!(
        lower,
        "urn:ogc:def:crs:ogc:1.3:crs84"
            | "urn:ogc:def:crs:ogc::crs84"
            | "urn:ogc:def:crs:ogc:2:84"
            | "ogc:crs84"
            | "crs84"
            | "http://www.opengis.net/def/crs/ogc/1.3/crs84"
            | "https://www.opengis.net/def/crs/ogc/1.3/crs84"
    )
}

/// The EPSG code of `urn:ogc:def:crs:epsg:[version]:N`, `epsg:N` or an opengis.net EPSG URL.
fn epsg_code(lower: &str) -> Option<u32> {
    let digits = if let Some(rest) = lower.strip_prefix("urn:ogc:def:crs:epsg:") {
        rest.rsplit(':').next()?
    } else if let Some(rest) = lower.strip_prefix("epsg:") {
        rest
    } else {
        let url = lower
            .strip_prefix("http://")
            .or_else(|| lower.strip_prefix("https://"))?;
        url.strip_prefix("www.opengis.net/def/crs/epsg/")?
            .rsplit('/')
            .next()?
    };
    digits.parse().ok().filter(|c| *c > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_names_parse() {
        let cases = [
            (None, FootprintCrs::Crs84),
            (Some("urn:ogc:def:crs:EPSG::2154"), FootprintCrs::Epsg(2154)),
            (
                Some("urn:ogc:def:crs:EPSG:6.3:2154"),
                FootprintCrs::Epsg(2154),
            ),
            (Some("EPSG:3857"), FootprintCrs::Epsg(3857)),
            (Some("epsg:4326"), FootprintCrs::Epsg(4326)),
            (
                Some("http://www.opengis.net/def/crs/EPSG/0/32630"),
                FootprintCrs::Epsg(32630),
            ),
            (Some("urn:ogc:def:crs:OGC:1.3:CRS84"), FootprintCrs::Crs84),
            (Some("urn:ogc:def:crs:OGC::CRS84"), FootprintCrs::Crs84),
            (Some("OGC:CRS84"), FootprintCrs::Crs84),
        ];
        for (name, expected) in cases {
            assert_eq!(FootprintCrs::from_declared(name), Ok(expected), "{name:?}");
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_name() {
        for name in ["EPSG:999999", "urn:ogc:def:crs:EPSG::", "Lambert-93", ""] {
            let err = FootprintCrs::from_declared(Some(name)).unwrap_err();
            assert!(
                matches!(&err, GeorefProblem::UnsupportedCrs { crs, .. } if crs == name),
                "{err}"
            );
            assert!(err.to_string().contains(&format!("\"{name}\"")), "{err}");
        }
    }

    #[test]
    fn names_and_axis_order() {
        assert_eq!(FootprintCrs::Crs84.name(), "OGC:CRS84");
        assert_eq!(FootprintCrs::Epsg(2154).name(), "EPSG:2154");
        let srs = FootprintCrs::Crs84.spatial_ref().unwrap();
        assert_eq!(
            srs.axis_mapping_strategy(),
            AxisMappingStrategy::TraditionalGisOrder
        );
    }
}
