//! `preview` draws sheets a person can read: the expected panels at the expected size, a valid
//! PNG, class colours where TARGET says, no-data in magenta, parcel outlines, the S1 panels, the
//! timeline, clear errors for a bad `--date`, and the same sheet from any format.
#![allow(clippy::unwrap_used)]

mod common;

use common::{bin, fixture};
use image::{Rgb, RgbImage};
use ndarray::{Array2, Array4, Axis, Ix2, Ix4};
use pastis_bridge::convert::{convert, ConvertOptions};
use pastis_bridge::formats::{self, Format};
use pastis_bridge::georef::{recover_grid, FootprintCrs};
use pastis_bridge::model::classes::CLASS_COLORS;
use pastis_bridge::model::Layer;
use pastis_bridge::npy::read_npy;
use pastis_bridge::preview::{
    preview, preview_path, render_patch, DateChoice, Panel, PanelKind, PreviewOptions,
    NODATA_COLOR, OUTLINE_COLOR,
};
use std::path::Path;

const FIXTURE: &str = "PASTIS-R";
/// Side of the fixture's patches, in pixels.
const SIDE: u32 = 64;

fn target_classes(id: i64) -> Array2<i64> {
    let path = fixture(FIXTURE).join(format!("ANNOTATIONS/TARGET_{id}.npy"));
    let target = read_npy(&path).unwrap().to_i64().unwrap();
    target
        .index_axis(Axis(0), 0)
        .to_owned()
        .into_dimensionality::<Ix2>()
        .unwrap()
}

fn instances(id: i64) -> Array2<i64> {
    let path = fixture(FIXTURE).join(format!("INSTANCE_ANNOTATIONS/INSTANCES_{id}.npy"));
    let a = read_npy(&path).unwrap().to_i64().unwrap();
    a.into_dimensionality::<Ix2>().unwrap()
}

fn s2(id: i64) -> Array4<i64> {
    let path = fixture(FIXTURE).join(format!("DATA_S2/S2_{id}.npy"));
    let a = read_npy(&path).unwrap().to_i64().unwrap();
    a.into_dimensionality::<Ix4>().unwrap()
}

fn decode(path: &Path) -> RgbImage {
    image::ImageReader::open(path)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap()
        .to_rgb8()
}

/// The colour of patch pixel (row, col) in a panel drawn at `scale` (sampled inside its square).
fn at(image: &RgbImage, panel: &Panel, row: usize, col: usize, scale: u32) -> Rgb<u8> {
    let (x, y) = (panel.x + col as u32 * scale, panel.y + row as u32 * scale);
    *image.get_pixel(x + scale / 2, y + scale / 2)
}

/// The sheet of a fixture patch, its header stating its grid as `preview` does.
fn render(id: i64, options: &PreviewOptions) -> pastis_bridge::preview::Sheet {
    let reader = formats::open(&fixture(FIXTURE)).unwrap();
    let patch = reader
        .read_patch(id, &pastis_bridge::preview::LAYERS)
        .unwrap();
    let crs = FootprintCrs::from_declared(reader.metadata().crs.as_deref()).unwrap();
    let [.., h, w] = patch.arrays[&Layer::Target].shape() else {
        panic!("TARGET is not an image");
    };
    let grid = recover_grid(crs, &patch.meta, *h, *w);
    assert!(grid.is_ok(), "{grid:?}");
    render_patch(&patch, Some(&grid), options).unwrap()
}

#[test]
fn sheet_is_a_png_with_every_panel_at_4x_and_class_colours_where_target_says() {
    let out = tempfile::tempdir().unwrap();
    let options = PreviewOptions::default();
    let written = preview(
        &fixture(FIXTURE),
        out.path(),
        Some(&[10000]),
        &options,
        false,
        &|_| {},
    )
    .unwrap()
    .outputs;
    assert_eq!(written.len(), 1);
    let path = preview_path(out.path(), 10000);
    assert_eq!(written[0].path, path);
    let image = decode(&path);
    assert_eq!(image.dimensions(), written[0].size);
    let kinds: Vec<PanelKind> = written[0].panels.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            PanelKind::TrueColour,
            PanelKind::Semantic,
            PanelKind::Parcels,
            PanelKind::Radar(Layer::S1A),
            PanelKind::Radar(Layer::S1D)
        ]
    );
    for p in &written[0].panels {
        assert_eq!((p.width, p.height), (4 * SIDE, 4 * SIDE), "{:?}", p.kind);
        assert!(p.x + p.width < image.width() && p.y + p.height < image.height());
    }
    let semantic = written[0].panels[1];
    let classes = target_classes(10000);
    let distinct: std::collections::BTreeSet<i64> = classes.iter().copied().collect();
    assert!(
        distinct.len() >= 4,
        "the fixture patch has several classes: {distinct:?}"
    );
    for ((row, col), &class) in classes.indexed_iter() {
        let expected = Rgb(CLASS_COLORS[class as usize]);
        assert_eq!(
            at(&image, &semantic, row, col, 4),
            expected,
            "pixel ({row}, {col}) class {class}"
        );
    }
    assert!(!out.path().join("preview_10000.png.partial").exists());
}

#[test]
fn nodata_is_magenta_and_parcels_are_outlined() {
    // Patch 20000's first S2 date has a no-data corner.
    let options = PreviewOptions {
        date: Some(DateChoice::Index(0)),
        ..PreviewOptions::default()
    };
    let sheet = render(20000, &options);
    let colour = sheet.panel(PanelKind::TrueColour).unwrap();
    let s2 = s2(20000);
    let mut nodata = 0;
    for row in 0..SIDE as usize {
        for col in 0..SIDE as usize {
            let missing = (0..3).any(|b| s2[(0, b, row, col)] == -10000);
            nodata += usize::from(missing);
            let shown = at(&sheet.image, colour, row, col, 4);
            assert_eq!(shown == NODATA_COLOR, missing, "pixel ({row}, {col})");
        }
    }
    assert!(nodata > 0, "the fixture's date 0 has no-data pixels");

    let parcels = sheet.panel(PanelKind::Parcels).unwrap();
    let ids = instances(20000);
    let (mut edges, mut interiors) = (0, 0);
    for row in 1..SIDE as usize - 1 {
        for col in 1..SIDE as usize - 1 {
            let id = ids[(row, col)];
            let (x, y) = (parcels.x + col as u32 * 4, parcels.y + row as u32 * 4);
            let right_edge = *sheet.image.get_pixel(x + 3, y + 1);
            if ids[(row, col + 1)] != id {
                assert_eq!(right_edge, OUTLINE_COLOR, "edge right of ({row}, {col})");
                edges += 1;
            }
            let same = [
                (row - 1, col),
                (row + 1, col),
                (row, col - 1),
                (row, col + 1),
            ]
            .iter()
            .all(|&p| ids[p] == id);
            if same {
                let shown = at(&sheet.image, parcels, row, col, 4);
                assert_eq!(
                    shown,
                    at(&sheet.image, colour, row, col, 4),
                    "interior ({row}, {col})"
                );
                interiors += 1;
            }
        }
    }
    assert!(
        edges > 20 && interiors > 1000,
        "{edges} edges, {interiors} interiors"
    );
}

#[test]
fn s1_panels_only_when_s1_is_read_and_timeline_makes_the_sheet_taller() {
    let reader = formats::open(&fixture(FIXTURE)).unwrap();
    let optical = reader
        .read_patch(10000, &[Layer::S2, Layer::Target, Layer::Instances])
        .unwrap();
    let sheet = render_patch(&optical, None, &PreviewOptions::default()).unwrap();
    assert!(sheet
        .panels
        .iter()
        .all(|p| !matches!(p.kind, PanelKind::Radar(_))));

    let plain = render(10000, &PreviewOptions::default());
    let timeline = PreviewOptions {
        timeline: true,
        ..PreviewOptions::default()
    };
    let tall = render(10000, &timeline);
    assert!(tall.image.height() > plain.image.height() + SIDE);
    assert_eq!(tall.panels, plain.panels);

    let small = render(
        10000,
        &PreviewOptions {
            scale: 2,
            ..PreviewOptions::default()
        },
    );
    assert!(small
        .panels
        .iter()
        .all(|p| p.width == 2 * SIDE && p.height == 2 * SIDE));
}

#[test]
fn a_zarr_store_previews_like_the_original_folder() {
    let dir = tempfile::tempdir().unwrap();
    let zarr = dir.path().join("fixture.zarr");
    convert(
        &fixture(FIXTURE),
        &zarr,
        &ConvertOptions::new(Format::Zarr),
        &|_| {},
    )
    .unwrap();
    let options = PreviewOptions {
        timeline: true,
        ..PreviewOptions::default()
    };
    let from_zarr = preview(
        &zarr,
        &dir.path().join("z"),
        Some(&[30000]),
        &options,
        false,
        &|_| {},
    )
    .unwrap()
    .outputs;
    let from_npy = render(30000, &options);
    assert_eq!(decode(&from_zarr[0].path), from_npy.image);
}

#[test]
fn cli_writes_previews_and_refuses_to_overwrite() {
    let out = tempfile::tempdir().unwrap();
    let outdir = out.path().join("previews");
    let run = |extra: &[&str]| {
        bin()
            .arg("preview")
            .arg(fixture(FIXTURE))
            .arg(&outdir)
            .args([
                "--patches",
                "10000,40000",
                "--timeline",
                "--date",
                "2019-06-01",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let first = run(&[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for id in [10000, 40000] {
        let image = decode(&preview_path(&outdir, id));
        assert!(image.width() > 5 * 4 * SIDE && image.height() > 4 * SIDE);
    }
    let names: Vec<_> = std::fs::read_dir(&outdir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let again = run(&[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(run(&["--overwrite"]).status.success());
}

#[test]
fn bad_dates_and_patches_are_clear_errors() {
    let out = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--date", "99"],
            "patch 10000: --date 99 is out of range: S2 has 9 dates",
        ),
        (
            &["--date", "2017-01-01"],
            "--date 2017-01-01 is outside its S2 dates (2018-09-27..2019-09-17)",
        ),
        (&["--date", "2019-02-30"], "not a calendar date"),
        (&["--date", "june"], "neither a date index"),
        (&["--patches", "123"], "patch 123 is not in"),
    ];
    for (args, message) in cases {
        let mut cmd = bin();
        cmd.arg("preview").arg(fixture(FIXTURE)).arg(out.path());
        if !args.contains(&"--patches") {
            cmd.args(["--patches", "10000"]);
        }
        let result = cmd.args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}
