//! Unit tests of grid recovery and its plausibility checks, with real GDAL/PROJ transforms.
#![allow(clippy::unwrap_used)]

use super::grid::transform;
use super::*;
use gdal::spatial_ref::CoordTransform;
use geojson::{Geometry, GeometryValue};

/// The corners (closed ring, UL first, clockwise) of a `size` m square with upper-left (x0, y0)
/// in UTM `epsg`, transformed to `target` (an EPSG code; 4326 read lon/lat) and rounded to
/// `decimals`.
fn ring(epsg: u32, x0: f64, y0: f64, size: f64, target: u32, decimals: i32) -> Vec<Vec<f64>> {
    let corners = [
        (x0, y0),
        (x0 + size, y0),
        (x0 + size, y0 - size),
        (x0, y0 - size),
    ];
    let ct = CoordTransform::new(&spatial_ref(epsg).unwrap(), &spatial_ref(target).unwrap());
    let scale = 10f64.powi(decimals);
    let mut ring: Vec<Vec<f64>> = transform(&ct.unwrap(), &corners)
        .unwrap()
        .into_iter()
        .map(|(x, y)| vec![(x * scale).round() / scale, (y * scale).round() / scale])
        .collect();
    ring.push(ring[0].clone());
    ring
}

fn multipolygon(rings: Vec<Vec<Vec<Vec<f64>>>>) -> Geometry {
    let coordinates = rings
        .into_iter()
        .map(|polygon| {
            polygon
                .into_iter()
                .map(|r| r.into_iter().map(Into::into).collect())
                .collect()
        })
        .collect();
    Geometry::new(GeometryValue::MultiPolygon { coordinates })
}

fn meta(tile: Option<&str>, footprint: Option<Geometry>) -> PatchMeta {
    let mut meta = PatchMeta::new(10000);
    meta.tile = tile.map(String::from);
    meta.footprint = footprint;
    meta
}

/// (tile, UTM EPSG, upper-left corner) of squares in PASTIS' three zones.
const PLACES: [(&str, u32, f64, f64); 3] = [
    ("t30uxv", 32630, 641_230.0, 5_301_270.0),
    ("t31tfj", 32631, 702_560.0, 4_871_930.0),
    ("t32ulu", 32632, 310_080.0, 5_390_020.0),
];

fn recover(crs: FootprintCrs, m: &PatchMeta) -> Result<PatchGrid, GeorefProblem> {
    recover_grid(crs, m, 128, 128)
}

#[test]
fn lambert93_wgs84_and_web_mercator_give_the_same_grid() {
    let lambert = FootprintCrs::Epsg(2154);
    for (tile, epsg, x0, y0) in PLACES {
        let expected = [x0, 10.0, 0.0, y0, 0.0, -10.0];
        for (crs, target, decimals) in [
            (lambert, 2154, 2),
            (FootprintCrs::Crs84, 4326, 6),
            (FootprintCrs::Epsg(4326), 4326, 6),
            (FootprintCrs::Epsg(3857), 3857, 2),
        ] {
            let fp = multipolygon(vec![vec![ring(epsg, x0, y0, 1280.0, target, decimals)]]);
            let grid = recover(crs, &meta(Some(tile), Some(fp))).unwrap();
            assert_eq!(grid.epsg, epsg, "{tile} {crs:?}");
            assert_eq!(grid.geotransform, expected, "{tile} {crs:?}");
            assert!(grid.corner_error_m < 0.1, "{tile} {crs:?}: {grid:?}");
            assert_eq!(grid.zone, ZoneSource::Tile(tile.into()));
        }
    }
}

#[test]
fn the_stated_tolerance_holds_for_rounded_degrees() {
    // 6 and 5 decimals recover the exact grid; 4 decimals (up to ~6 m) are refused.
    for (tile, epsg, x0, y0) in PLACES {
        for decimals in [6, 5] {
            let fp = multipolygon(vec![vec![ring(epsg, x0, y0, 1280.0, 4326, decimals)]]);
            let grid = recover(FootprintCrs::Crs84, &meta(Some(tile), Some(fp))).unwrap();
            assert_eq!(grid.geotransform, [x0, 10.0, 0.0, y0, 0.0, -10.0]);
            let bound = if decimals == 6 {
                0.1
            } else {
                CORNER_TOLERANCE_M
            };
            assert!(grid.corner_error_m < bound, "{decimals}: {grid:?}");
        }
    }
    let (tile, epsg, x0, y0) = PLACES[0];
    let fp = multipolygon(vec![vec![ring(epsg, x0, y0, 1280.0, 4326, 4)]]);
    let err = recover(FootprintCrs::Crs84, &meta(Some(tile), Some(fp))).unwrap_err();
    assert!(
        matches!(err, GeorefProblem::NotPatchSquare { corner_error_m, .. } if corner_error_m > 1.0),
        "{err}"
    );
}

#[test]
fn without_a_tile_the_zone_comes_from_the_centre() {
    for (_, epsg, x0, y0) in PLACES {
        for tile in [None, Some("nowhere")] {
            let fp = multipolygon(vec![vec![ring(epsg, x0, y0, 1280.0, 4326, 7)]]);
            let grid = recover(FootprintCrs::Crs84, &meta(tile, Some(fp))).unwrap();
            assert_eq!(grid.epsg, epsg);
            assert_eq!(grid.geotransform, [x0, 10.0, 0.0, y0, 0.0, -10.0]);
            assert!(
                matches!(grid.zone, ZoneSource::Centroid { lat, .. } if (43.0..49.0).contains(&lat)),
                "{:?}",
                grid.zone
            );
            assert!(grid.zone.to_string().starts_with("no TILE"));
        }
    }
}

#[test]
fn polygons_one_part_multipolygons_and_densified_rings_are_accepted() {
    let (tile, epsg, x0, y0) = PLACES[1];
    let r = ring(epsg, x0, y0, 1280.0, 2154, 3);
    let polygon = Geometry::new(GeometryValue::Polygon {
        coordinates: vec![r.iter().cloned().map(Into::into).collect()],
    });
    let grid = recover(FootprintCrs::Epsg(2154), &meta(Some(tile), Some(polygon))).unwrap();
    assert_eq!(grid.geotransform[0], x0);
    // Midpoints of every edge added, and a repeated vertex: still the same square.
    let mut dense = Vec::new();
    for pair in r.windows(2) {
        dense.push(pair[0].clone());
        dense.push(pair[0].clone());
        dense.push(vec![
            (pair[0][0] + pair[1][0]) / 2.0,
            (pair[0][1] + pair[1][1]) / 2.0,
        ]);
    }
    dense.push(r[0].clone());
    let fp = multipolygon(vec![vec![dense]]);
    let grid = recover(FootprintCrs::Epsg(2154), &meta(Some(tile), Some(fp))).unwrap();
    assert_eq!(grid.geotransform, [x0, 10.0, 0.0, y0, 0.0, -10.0]);
}

#[test]
fn ambiguous_and_missing_footprints_are_problems() {
    let (tile, epsg, x0, y0) = PLACES[0];
    let r = ring(epsg, x0, y0, 1280.0, 2154, 3);
    let lambert = FootprintCrs::Epsg(2154);
    let two = multipolygon(vec![vec![r.clone()], vec![r.clone()]]);
    assert_eq!(
        recover(lambert, &meta(Some(tile), Some(two))),
        Err(GeorefProblem::MultiPart {
            patch: 10000,
            parts: 2
        })
    );
    let point = Geometry::new(GeometryValue::new_point([r[0][0], r[0][1]]));
    let err = recover(lambert, &meta(Some(tile), Some(point))).unwrap_err();
    assert!(
        err.to_string()
            .contains("patch 10000: footprint is a Point"),
        "{err}"
    );
    assert_eq!(
        recover(lambert, &meta(Some(tile), None)),
        Err(GeorefProblem::NoFootprint { patch: 10000 })
    );
    let triangle = multipolygon(vec![vec![vec![
        r[0].clone(),
        r[1].clone(),
        r[2].clone(),
        r[0].clone(),
    ]]]);
    let err = recover(lambert, &meta(Some(tile), Some(triangle))).unwrap_err();
    assert!(err.to_string().contains("3 distinct vertices"), "{err}");
    let fp = multipolygon(vec![vec![r]]);
    assert!(matches!(
        recover_grid(lambert, &meta(Some(tile), Some(fp)), 0, 128),
        Err(GeorefProblem::EmptyRaster { .. })
    ));
}

#[test]
fn patch_grid_reads_the_declared_crs() {
    let (tile, epsg, x0, y0) = PLACES[0];
    let fp = multipolygon(vec![vec![ring(epsg, x0, y0, 1280.0, 4326, 6)]]);
    let m = meta(Some(tile), Some(fp));
    for declared in [None, Some("urn:ogc:def:crs:OGC:1.3:CRS84")] {
        let grid = patch_grid(declared, &m, 128, 128).unwrap().unwrap();
        assert_eq!(grid.geotransform[0], x0);
    }
    let err = patch_grid(Some("urn:ogc:def:crs:EPSG::2154"), &m, 128, 128).unwrap_err();
    assert!(
        matches!(
            err,
            crate::Error::Georef(GeorefProblem::OutsideAreaOfUse { .. })
        ),
        "{err}"
    );
    assert_eq!(
        patch_grid(None, &meta(Some(tile), None), 128, 128).unwrap(),
        None
    );
    assert!(patch_grid(Some("Lambert"), &m, 128, 128).is_err());
}

#[test]
fn wgs84_numbers_declared_lambert93_are_outside_its_area() {
    let (tile, epsg, x0, y0) = PLACES[0];
    let fp = multipolygon(vec![vec![ring(epsg, x0, y0, 1280.0, 4326, 6)]]);
    let err = recover(FootprintCrs::Epsg(2154), &meta(Some(tile), Some(fp))).unwrap_err();
    let GeorefProblem::OutsideAreaOfUse { lonlat, crs, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(crs, "EPSG:2154");
    let (_, lat) = lonlat.unwrap();
    assert!(lat < 0.0, "{err}");
    assert!(err.to_string().contains("patch 10000"), "{err}");
}

#[test]
fn lambert93_numbers_declared_crs84_are_outside_its_area() {
    let (tile, epsg, x0, y0) = PLACES[0];
    let fp = multipolygon(vec![vec![ring(epsg, x0, y0, 1280.0, 2154, 2)]]);
    let err = recover(FootprintCrs::Crs84, &meta(Some(tile), Some(fp))).unwrap_err();
    assert!(
        matches!(err, GeorefProblem::OutsideAreaOfUse { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("lon -180..180"), "{err}");
}

#[test]
fn lambert93_numbers_declared_web_mercator_are_refused() {
    // In EPSG:3857 the Lambert-93 numbers land near 6.3 E, 50.6 N: outside zone 30, and
    // without a TILE, a square of the wrong size (Mercator scale there is ~1.58).
    let (tile, epsg, x0, y0) = PLACES[0];
    let r = ring(epsg, x0, y0, 1280.0, 2154, 2);
    let fp = multipolygon(vec![vec![r]]);
    let err = recover(
        FootprintCrs::Epsg(3857),
        &meta(Some(tile), Some(fp.clone())),
    )
    .unwrap_err();
    assert!(
        matches!(&err, GeorefProblem::OutsideTileZone { tile, .. } if tile == "t30uxv"),
        "{err}"
    );
    let err = recover(FootprintCrs::Epsg(3857), &meta(None, Some(fp))).unwrap_err();
    let GeorefProblem::NotPatchSquare { width_m, .. } = err else {
        panic!("{err}");
    };
    assert!((700.0..900.0).contains(&width_m), "{width_m}");
}

#[test]
fn unit_squares_and_wrong_sizes_are_not_the_patch() {
    // A CRS84 unit square (a stand-in dataset's footprints): 111 km wide.
    let unit = vec![
        vec![0.0, 0.0],
        vec![1.0, 0.0],
        vec![1.0, 1.0],
        vec![0.0, 1.0],
        vec![0.0, 0.0],
    ];
    let err = recover(
        FootprintCrs::Crs84,
        &meta(None, Some(multipolygon(vec![vec![unit]]))),
    )
    .unwrap_err();
    let GeorefProblem::NotPatchSquare { epsg, width_m, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*epsg, 32631);
    assert!(*width_m > 100_000.0, "{err}");
    // A footprint 300 m wide.
    let (tile, epsg, x0, y0) = PLACES[0];
    let mut narrow = ring(epsg, x0, y0, 1280.0, epsg, 3);
    narrow[1][0] = x0 + 300.0;
    narrow[2][0] = x0 + 300.0;
    let fp = multipolygon(vec![vec![narrow]]);
    let err = recover(FootprintCrs::Epsg(epsg), &meta(Some(tile), Some(fp))).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("300.00 m x 1280.00 m in EPSG:32630")
            && text.contains("1280 m x 1280 m square of the 128 x 128 raster"),
        "{text}"
    );
}

#[test]
fn a_footprint_in_the_wrong_zone_for_its_tile() {
    // A zone-32 square (Alps) labelled with the zone-30 tile t30uxv.
    let (_, epsg, x0, y0) = PLACES[2];
    let fp = multipolygon(vec![vec![ring(epsg, x0, y0, 1280.0, 2154, 2)]]);
    let err = recover(FootprintCrs::Epsg(2154), &meta(Some("t30uxv"), Some(fp))).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("patch 10000: footprint centre (lon 6.")
            && text.contains("outside tile t30uxv's UTM zone: easting"),
        "{text}"
    );
    // A zone-30 square (Brittany) labelled with the band-S tile t30syn: wrong latitude band.
    let (_, epsg, x0, y0) = PLACES[0];
    let fp = multipolygon(vec![vec![ring(epsg, x0, y0, 1280.0, 2154, 2)]]);
    let err = recover(FootprintCrs::Epsg(2154), &meta(Some("t30syn"), Some(fp))).unwrap_err();
    assert!(err.to_string().contains("latitude band 32..40"), "{err}");
}
