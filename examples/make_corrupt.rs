//! Regenerates `fixtures/corrupt/` (everything but its README, byte for byte): a tiny clean dataset derived from `fixtures/PASTIS-R` and one
//! damaged copy of it per kind of bad input. `fixtures/corrupt/README.md` lists every case and the
//! error it must give; `tests/corrupt.rs` checks them.
//!
//!     cargo run --example make_corrupt
//!
//! The base keeps two patches (10000, 20000), the first 3 dates of each series and the top-left
//! 8x8 pixels, so every case weighs a few kilobytes; each footprint is cropped likewise (the 80 m
//! upper-left square of the patch's UTM grid, back in the metadata's CRS), so the base is clean for
//! `georef` too. The damage always hits patch 20000.

use gdal::spatial_ref::CoordTransform;
use ndarray::{ArrayD, Slice};
use pastis_bridge::convert::{convert, ConvertOptions};
use pastis_bridge::formats::pastis::PastisReader;
use pastis_bridge::formats::{self, DatasetReader, Format, WriteOptions};
use pastis_bridge::georef;
use pastis_bridge::model::{Array, DatasetLayout, Element, Layer, Patch};
use pastis_bridge::output::remove_any;
use pastis_bridge::{npy, with_array};
use serde_json::Value;
use std::error::Error;
use std::path::{Path, PathBuf};

type Res<T = ()> = Result<T, Box<dyn Error>>;

const SIZE: usize = 8;
const FRAMES: usize = 3;
const IDS: [i64; 2] = [10000, 20000];

fn main() -> Res {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("fixtures/corrupt");
    std::fs::create_dir_all(&out)?;
    for entry in std::fs::read_dir(&out)? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| n != "README.md") {
            remove_any(&path)?;
        }
    }
    let base = out.join("base");
    write_base(&root.join("fixtures/PASTIS-R"), &base)?;
    npy_cases(&base, &out)?;
    metadata_cases(&base, &out)?;
    stacked_cases(&base, &out)?;
    geotiff_cases(&base, &out)?;
    parcels_cases(&out)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// The clean base: two patches of the committed fixture, cropped.
fn write_base(src: &Path, dst: &Path) -> Res {
    let reader = PastisReader::open(src)?;
    let mut meta = reader.metadata().filtered(|p| IDS.contains(&p.id));
    for p in &mut meta.patches {
        for dates in p.dates.values_mut() {
            dates.truncate(FRAMES);
        }
    }
    let crs = meta.crs.clone();
    for p in &mut meta.patches {
        let full = reader.read_patch(p.id, &[Layer::Target])?;
        let [.., h, w] = full.arrays[&Layer::Target].shape() else {
            return Err(format!("patch {}: TARGET is not an image", p.id).into());
        };
        p.footprint = Some(cropped_footprint(crs.as_deref(), p, (*h, *w))?);
    }
    let writer = formats::create(
        Format::Pastis,
        dst,
        &meta,
        &DatasetLayout::default(),
        &WriteOptions::default(),
    )?;
    for (index, p) in meta.patches.iter().enumerate() {
        let full = reader.read_patch(p.id, &Layer::ALL)?;
        let arrays = full.arrays.iter().map(|(&l, a)| (l, crop(l, a))).collect();
        writer.write_patch(
            index,
            Patch {
                meta: p.clone(),
                arrays,
                spot: None,
            },
        )?;
    }
    writer.finish()?;
    Ok(())
}

/// The footprint of the top-left `SIZE` x `SIZE` pixels of a `size` patch, in the CRS `crs`.
fn cropped_footprint(
    crs: Option<&str>,
    meta: &pastis_bridge::model::PatchMeta,
    size: (usize, usize),
) -> Res<geojson::Geometry> {
    let grid = georef::patch_grid(crs, meta, size.0, size.1)?
        .ok_or_else(|| format!("patch {}: no footprint", meta.id))?;
    let utm = georef::spatial_ref(grid.epsg)?;
    let target = georef::FootprintCrs::from_declared(crs)?.spatial_ref()?;
    let mut corners = grid.corners(SIZE, SIZE).to_vec();
    corners.reverse(); // LL, LR, UR, UL: counter-clockwise, like PASTIS' rings
    let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = corners.into_iter().unzip();
    CoordTransform::new(&utm, &target)?.transform_coords(&mut xs, &mut ys, &mut [])?;
    let mut ring: Vec<geojson::Position> =
        xs.iter().zip(&ys).map(|(&x, &y)| [x, y].into()).collect();
    ring.push(ring[0].clone());
    Ok(geojson::Geometry::new(
        geojson::GeometryValue::new_multi_polygon([[ring]]),
    ))
}

/// The first `FRAMES` dates of a series and the top-left `SIZE` x `SIZE` pixels.
fn crop(layer: Layer, array: &Array) -> Array {
    fn typed<T: Element>(a: &ArrayD<T>, series: bool) -> Array {
        let n = a.ndim();
        let v = a.slice_each_axis(|ax| match ax.axis.index() {
            0 if series => Slice::from(0..FRAMES),
            i if i + 2 >= n => Slice::from(0..SIZE),
            _ => Slice::from(..),
        });
        T::wrap(v.as_standard_layout().into_owned())
    }
    with_array!(array, a => typed(a, layer.is_series()))
}

fn copy_dir(src: &Path, dst: &Path) -> Res {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

/// A copy of the base named `name`; returns its path.
fn case(base: &Path, out: &Path, name: &str) -> Res<PathBuf> {
    let dst = out.join(name);
    copy_dir(base, &dst)?;
    Ok(dst)
}

fn npy_file(dir: &Path, layer: Layer) -> PathBuf {
    dir.join(layer.folder())
        .join(format!("{}_{}.npy", layer.name(), IDS[1]))
}

/// Rewrites a file of patch 20000 big-endian (`descr` `>..`), same values.
fn write_big_endian(dir: &Path, layer: Layer) -> Res {
    let path = npy_file(dir, layer);
    let a = npy::read_npy(&path)?;
    let size = a.dtype().size();
    let mut payload = a.to_le_bytes();
    payload.chunks_exact_mut(size).for_each(<[u8]>::reverse);
    let descr = a.dtype().npy_descr().replacen('<', ">", 1);
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        pastis_bridge::npy::shape_literal(a.shape())
    );
    std::fs::write(&path, npy_file_bytes(&dict, &payload))?;
    Ok(())
}

/// Rewrites a file of patch 20000 in Fortran order, same values.
fn write_fortran(dir: &Path, layer: Layer) -> Res {
    let path = npy_file(dir, layer);
    let a = npy::read_npy(&path)?;
    let payload = with_array!(&a, x => {
        let t = x.t().as_standard_layout().into_owned();
        Element::wrap(t)
    })
    .to_le_bytes();
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': True, 'shape': {}, }}",
        a.dtype().npy_descr(),
        pastis_bridge::npy::shape_literal(a.shape())
    );
    std::fs::write(&path, npy_file_bytes(&dict, &payload))?;
    Ok(())
}

/// Rewrites a file of patch 20000 with the header dictionary `dict(descr, shape)` in format
/// `version`, same payload.
fn rewrite_header(
    dir: &Path,
    layer: Layer,
    version: (u8, u8),
    dict: impl Fn(&str, &[usize]) -> String,
) -> Res {
    let path = npy_file(dir, layer);
    let a = npy::read_npy(&path)?;
    let mut bytes = npy::wrap_header_version(&dict(a.dtype().npy_descr(), a.shape()), version);
    bytes.extend_from_slice(&a.le_bytes());
    std::fs::write(&path, bytes)?;
    Ok(())
}

fn npy_cases(base: &Path, out: &Path) -> Res {
    let s2 = |dir: &Path| npy_file(dir, Layer::S2);
    let dir = case(base, out, "npy-truncated")?;
    let bytes = std::fs::read(s2(&dir))?;
    std::fs::write(s2(&dir), &bytes[..bytes.len() / 2])?;

    let dir = case(base, out, "npy-bad-magic")?;
    let mut bytes = std::fs::read(s2(&dir))?;
    bytes[..6].copy_from_slice(b"NUMPY!");
    std::fs::write(s2(&dir), bytes)?;

    let dir = case(base, out, "npy-version-9")?;
    let mut bytes = std::fs::read(s2(&dir))?;
    bytes[6..8].copy_from_slice(&[9, 0]);
    std::fs::write(s2(&dir), bytes)?;

    let dir = case(base, out, "npy-object-dtype")?;
    let dict = "{'descr': '|O', 'fortran_order': False, 'shape': (8, 8), }";
    std::fs::write(
        npy_file(&dir, Layer::Heatmap),
        npy_file_bytes(dict, &[0; 64]),
    )?;

    let dir = case(base, out, "npy-complex-dtype")?;
    let dict = "{'descr': '<c16', 'fortran_order': False, 'shape': (8, 8), }";
    std::fs::write(
        npy_file(&dir, Layer::Heatmap),
        npy_file_bytes(dict, &[0; 1024]),
    )?;

    // Readable, to be converted: the same values as the base.
    let dir = case(base, out, "npy-big-endian")?;
    for layer in [Layer::S2, Layer::Heatmap, Layer::ParcelIds] {
        write_big_endian(&dir, layer)?;
    }
    let dir = case(base, out, "npy-fortran")?;
    for layer in [Layer::S2, Layer::Target, Layer::Zones] {
        write_fortran(&dir, layer)?;
    }

    // Headers numpy reads, spelled as other writers spelled them: the same values as the base.
    let dir = case(base, out, "npy-numpy-headers")?;
    rewrite_header(&dir, Layer::S2, (1, 0), |descr, shape| {
        // Python 2's numpy: long integers in the shape.
        let dims: Vec<String> = shape.iter().map(|d| format!("{d}L")).collect();
        format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}), }}",
            dims.join(", ")
        )
    })?;
    rewrite_header(&dir, Layer::Target, (2, 0), |descr, shape| {
        format!(
            "{{\"shape\": {}, \"fortran_order\": False, \"descr\": \"{descr}\"}}",
            npy::shape_literal(shape)
        )
    })?;
    rewrite_header(&dir, Layer::Heatmap, (3, 0), |descr, shape| {
        format!(
            "{{'descr': '{descr}',\n 'fortran_order': False,\n 'shape': {}}}",
            npy::shape_literal(shape)
        )
    })?;

    // Headers numpy refuses too.
    let dir = case(base, out, "npy-header-syntax")?;
    rewrite_header(&dir, Layer::S2, (1, 0), |descr, shape| {
        format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}",
            npy::shape_literal(shape)
        )
    })?;
    let dir = case(base, out, "npy-header-longs-v3")?;
    rewrite_header(&dir, Layer::S2, (3, 0), |descr, shape| {
        let dims: Vec<String> = shape.iter().map(|d| format!("{d}L")).collect();
        format!(
            "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}), }}",
            dims.join(", ")
        )
    })?;
    let dir = case(base, out, "npy-header-keys")?;
    rewrite_header(&dir, Layer::S2, (1, 0), |descr, shape| {
        format!(
            "{{'descr': '{descr}', 'shape': {}, }}",
            npy::shape_literal(shape)
        )
    })?;

    let dir = case(base, out, "shapes-disagree")?;
    npy::write_npy(
        &npy_file(&dir, Layer::Zones),
        &Array::zeros(pastis_bridge::model::DType::I64, &[SIZE, SIZE + 1]),
    )?;

    // A 0-d (scalar) S2 and no dates-S2: a rank no format can hold.
    let dir = case(base, out, "npy-scalar-s2")?;
    npy::write_npy(
        &s2(&dir),
        &Array::from_le_bytes(pastis_bridge::model::DType::I16, &[], &[7, 0])?,
    )?;
    edit_metadata(&dir, |d| {
        if let Some(p) = d["features"][1]["properties"].as_object_mut() {
            p.remove("dates-S2");
        }
    })?;

    // A directory where DATA_S1A/S1A_20000.npy should be: not an absent layer.
    let dir = case(base, out, "layer-is-directory")?;
    let s1a = npy_file(&dir, Layer::S1A);
    std::fs::remove_file(&s1a)?;
    std::fs::create_dir(&s1a)?;
    std::fs::write(
        s1a.join("README"),
        "a directory where a .npy file should be\n",
    )?;

    // What a conversion does not carry (#16 item 7): a stray in PASTIS-HD's DATA_SPOT/ (not its
    // SPOT images' folder, which is carried since #20), a file beside the layout, a file of a
    // patch metadata does not list.
    let dir = case(base, out, "not-carried")?;
    std::fs::create_dir_all(dir.join("DATA_SPOT"))?;
    std::fs::copy(s2(&dir), dir.join("DATA_SPOT/SPOT_20000.npy"))?;
    std::fs::write(dir.join("README.txt"), "notes kept beside the dataset\n")?;
    std::fs::copy(s2(&dir), dir.join("DATA_S2/S2_30000.npy"))?;

    // ZONES of 20000 saved as uint64 beside the int64 of 10000: no dtype holds both exactly, so
    // a stacked output refuses it (issue #16 item 5); PASTIS carries it.
    let dir = case(base, out, "dtypes-no-common")?;
    let path = npy_file(&dir, Layer::Zones);
    let zones = npy::read_npy(&path)?;
    let unsigned = match zones.to_i64() {
        Some(z) => Array::from_ndarray(z.mapv(|v| v.unsigned_abs())),
        None => return Err("ZONES of the base is not an integer array".into()),
    };
    npy::write_npy(&path, &unsigned)?;

    let dir = case(base, out, "heatmap-nan")?;
    let path = npy_file(&dir, Layer::Heatmap);
    let mut heatmap = npy::read_npy(&path)?;
    if let Array::F64(h) = &mut heatmap {
        h[[0, 0]] = f64::NAN;
        h[[1, 1]] = f64::INFINITY;
    }
    npy::write_npy(&path, &heatmap)?;
    Ok(())
}

fn edit_metadata(dir: &Path, edit: impl FnOnce(&mut Value)) -> Res {
    let path = dir.join("metadata.geojson");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    edit(&mut doc);
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")?;
    Ok(())
}

fn metadata_cases(base: &Path, out: &Path) -> Res {
    let dir = case(base, out, "metadata-not-json")?;
    let path = dir.join("metadata.geojson");
    let text = std::fs::read_to_string(&path)?;
    std::fs::write(&path, &text[..text.len() / 3])?;

    // NORM_S2 as Python's json.dump writes NaN and infinities: read, kept, written back.
    let dir = case(base, out, "norm-nan")?;
    let norm = dir.join("NORM_S2_patch.json");
    let text = std::fs::read_to_string(&norm)?;
    let text = text.replacen("1730.3319769965278", "NaN", 1);
    let text = text.replacen("1915.0636393229167", "Infinity", 1);
    std::fs::write(&norm, text.replacen("1981.716769748264", "-Infinity", 1))?;

    // NORM_S1A cut in half and a ZONES file of the wrong size: inspect reports both.
    let dir = case(base, out, "norm-not-json")?;
    let norm = dir.join("NORM_S1A_patch.json");
    let text = std::fs::read_to_string(&norm)?;
    std::fs::write(&norm, &text[..text.len() / 2])?;
    npy::write_npy(
        &npy_file(&dir, Layer::Zones),
        &Array::zeros(pastis_bridge::model::DType::I64, &[SIZE, SIZE + 1]),
    )?;

    let dir = case(base, out, "metadata-no-id-patch")?;
    edit_metadata(&dir, |d| {
        if let Some(p) = d["features"][1]["properties"].as_object_mut() {
            p.remove("ID_PATCH");
        }
    })?;

    let dir = case(base, out, "metadata-duplicate-ids")?;
    edit_metadata(&dir, |d| {
        d["features"][1]["properties"]["ID_PATCH"] = 10000.into()
    })?;

    let dir = case(base, out, "metadata-dates-mismatch")?;
    edit_metadata(&dir, |d| {
        if let Some(dates) = d["features"][1]["properties"]["dates-S2"].as_object_mut() {
            dates.remove("2");
        }
    })?;
    Ok(())
}

fn convert_base(base: &Path, dst: &Path, to: Format) -> Res {
    let options = ConvertOptions {
        jobs: 1,
        ..ConvertOptions::new(to)
    };
    convert(base, dst, &options, &|_| {})?;
    Ok(())
}

/// Zarr and HDF5: a data array missing, or an array with fewer patches than ID_PATCH.
fn stacked_cases(base: &Path, out: &Path) -> Res {
    let zarr = out.join("zarr-missing-array.zarr");
    convert_base(base, &zarr, Format::Zarr)?;
    remove_any(&zarr.join("S2"))?;

    let zarr = out.join("zarr-wrong-shape.zarr");
    convert_base(base, &zarr, Format::Zarr)?;
    let meta = zarr.join("TARGET/zarr.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&meta)?)?;
    doc["shape"][0] = 1.into();
    std::fs::write(&meta, serde_json::to_string_pretty(&doc)?)?;

    // NORM statistics attached to TARGET, an annotation: only a series has them.
    let zarr = out.join("zarr-norm-target.zarr");
    convert_base(base, &zarr, Format::Zarr)?;
    let meta = zarr.join("zarr.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&meta)?)?;
    doc["attributes"]["norm"]["TARGET"] =
        serde_json::json!({"Fold_1": {"mean": [1.0], "std": [2.0]}});
    std::fs::write(&meta, serde_json::to_string_pretty(&doc)?)?;

    let h5 = out.join("hdf5-missing-dataset.h5");
    convert_base(base, &h5, Format::Hdf5)?;
    hdf5::File::open_rw(&h5)?.unlink("S2")?;

    let h5 = out.join("hdf5-wrong-shape.h5");
    convert_base(base, &h5, Format::Hdf5)?;
    let file = hdf5::File::open_rw(&h5)?;
    file.unlink("TARGET")?;
    file.new_dataset::<u8>()
        .shape([1, 3, SIZE, SIZE])
        .create("TARGET")?
        .write(&ndarray::Array4::<u8>::zeros((1, 3, SIZE, SIZE)))?;
    Ok(())
}

fn geotiff_cases(base: &Path, out: &Path) -> Res {
    let dir = out.join("geotiff-missing-files");
    convert_base(base, &dir, Format::GeoTiff)?;
    std::fs::remove_file(dir.join(formats::geotiff::tif_name(Layer::Target, IDS[1])))?;
    Ok(())
}

/// A parcel layer with a self-intersecting ("bow tie") polygon, for `rasterize`.
fn parcels_cases(out: &Path) -> Res {
    let doc = serde_json::json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": {"ID_PATCH": 10000, "instance_id": 1, "parcel_id": 1, "class_id": 2},
            "geometry": {"type": "Polygon", "coordinates": [[
                [-1.0, 48.0], [-0.99, 48.01], [-0.99, 48.0], [-1.0, 48.01], [-1.0, 48.0]
            ]]}
        }]
    });
    let path = out.join("parcels-self-intersecting.geojson");
    std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
    Ok(())
}

/// A `.npy` file from a header dictionary and a payload (format 1.0, padded as numpy pads).
fn npy_file_bytes(dict: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = pastis_bridge::npy::wrap_header(dict);
    bytes.extend_from_slice(payload);
    bytes
}
