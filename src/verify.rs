//! `verify`: compare two datasets in any formats, array by array (dtype, shape, values bit for
//! bit) and metadata field by field, and say precisely what differs.

use crate::formats::{self, DatasetReader};
use crate::model::{Array, DatasetMeta, Layer, PatchMeta, SpotGeoref};
use crate::Result;
use gdal::spatial_ref::SpatialRef;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What kind of difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// A patch present in one dataset only.
    Patch,
    /// A layer present for a patch in one dataset only.
    Layer,
    /// Element types differ.
    Dtype,
    /// Shapes differ.
    Shape,
    /// Values differ (bit for bit).
    Values,
    /// A metadata field differs.
    Metadata,
    /// A patch could not be read.
    Unreadable,
    /// The georeferencing of a SPOT image differs: CRS, geotransform, band descriptions or
    /// no-data values.
    Georef,
}

/// One difference between A and B.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// What kind.
    pub kind: DiffKind,
    /// The patch, if the difference is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<i64>,
    /// The layer, if the difference is in an array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<Layer>,
    /// The metadata field, if the difference is in metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// First differing element (C-order multi-index), for value differences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_index: Option<Vec<usize>>,
    /// Number of differing elements, for value differences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// The difference in words, with both values.
    pub message: String,
}

impl Difference {
    fn new(kind: DiffKind, message: String) -> Self {
        Difference {
            kind,
            patch: None,
            layer: None,
            field: None,
            first_index: None,
            count: None,
            message,
        }
    }
    fn in_patch(mut self, id: i64) -> Self {
        self.patch = Some(id);
        self
    }
    fn in_layer(mut self, layer: Layer) -> Self {
        self.layer = Some(layer);
        self
    }
    fn in_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }
}

/// The outcome of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Dataset A and its format.
    pub a: PathBuf,
    /// Format of A.
    pub format_a: String,
    /// Dataset B.
    pub b: PathBuf,
    /// Format of B.
    pub format_b: String,
    /// Patches present in both and compared.
    pub patches_compared: usize,
    /// Arrays compared value by value.
    pub arrays_compared: usize,
    /// Every difference, in a stable order.
    pub differences: Vec<Difference>,
}

impl VerifyReport {
    /// True when nothing differs.
    pub fn identical(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compares the datasets at `a` and `b` (any formats).
pub fn verify(a: &Path, b: &Path) -> Result<VerifyReport> {
    let ra = formats::open(a)?;
    let rb = formats::open(b)?;
    let mut report = verify_readers(ra.as_ref(), rb.as_ref());
    report.a = a.to_path_buf();
    report.b = b.to_path_buf();
    Ok(report)
}

/// Compares two opened datasets.
pub fn verify_readers(a: &dyn DatasetReader, b: &dyn DatasetReader) -> VerifyReport {
    let (ma, mb) = (a.metadata(), b.metadata());
    let mut differences = compare_dataset_meta(ma, mb);
    let ids_b: BTreeSet<i64> = mb.patches.iter().map(|p| p.id).collect();
    let ids_a: BTreeSet<i64> = ma.patches.iter().map(|p| p.id).collect();
    for id in ids_a.difference(&ids_b) {
        differences.push(
            Difference::new(DiffKind::Patch, format!("patch {id} is only in A")).in_patch(*id),
        );
    }
    for id in ids_b.difference(&ids_a) {
        differences.push(
            Difference::new(DiffKind::Patch, format!("patch {id} is only in B")).in_patch(*id),
        );
    }
    let common: Vec<&PatchMeta> = ma
        .patches
        .iter()
        .filter(|p| ids_b.contains(&p.id))
        .collect();
    let order_a: Vec<i64> = common.iter().map(|p| p.id).collect();
    let order_b: Vec<i64> = mb
        .patches
        .iter()
        .map(|p| p.id)
        .filter(|id| ids_a.contains(id))
        .collect();
    if order_a != order_b {
        differences.push(
            Difference::new(
                DiffKind::Metadata,
                "patches are listed in a different order".into(),
            )
            .in_field("order"),
        );
    }
    let per_patch: Vec<(usize, Vec<Difference>)> = common
        .par_iter()
        .map(|p| compare_patch(a, b, p.id))
        .collect();
    let arrays_compared = per_patch.iter().map(|(n, _)| n).sum();
    differences.extend(per_patch.into_iter().flat_map(|(_, d)| d));
    differences.sort_by(|x, y| {
        (x.patch, x.kind, x.layer, &x.field).cmp(&(y.patch, y.kind, y.layer, &y.field))
    });
    VerifyReport {
        a: PathBuf::new(),
        format_a: a.format().name().into(),
        b: PathBuf::new(),
        format_b: b.format().name().into(),
        patches_compared: common.len(),
        arrays_compared,
        differences,
    }
}

fn compare_dataset_meta(a: &DatasetMeta, b: &DatasetMeta) -> Vec<Difference> {
    let mut d = Vec::new();
    field(&mut d, "crs", json!(a.crs), json!(b.crs));
    field(
        &mut d,
        "collection",
        json!(a.collection_extra),
        json!(b.collection_extra),
    );
    for series in crate::model::Series::ALL {
        let name = format!("NORM_{series}");
        field(
            &mut d,
            &name,
            json!(a.norms.get(&series)),
            json!(b.norms.get(&series)),
        );
    }
    d
}

fn field(out: &mut Vec<Difference>, name: &str, a: Value, b: Value) {
    if a != b {
        out.push(
            Difference::new(
                DiffKind::Metadata,
                format!("{name} differs: A has {}, B has {}", short(&a), short(&b)),
            )
            .in_field(name),
        );
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(117).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

fn compare_patch_meta(a: &PatchMeta, b: &PatchMeta) -> Vec<Difference> {
    let mut d = Vec::new();
    field(&mut d, "id", json!(a.feature_id), json!(b.feature_id));
    field(&mut d, "Fold", json!(a.fold), json!(b.fold));
    field(&mut d, "TILE", json!(a.tile), json!(b.tile));
    field(&mut d, "N_Parcel", json!(a.n_parcel), json!(b.n_parcel));
    let bits = |c: Option<f64>| c.map(f64::to_bits);
    if bits(a.parcel_cover) != bits(b.parcel_cover) {
        field(
            &mut d,
            "Parcel_Cover",
            json!(a.parcel_cover),
            json!(b.parcel_cover),
        );
    }
    for layer in Layer::SERIES {
        let key = layer.dates_key().unwrap_or_default();
        field(
            &mut d,
            key,
            json!(a.dates.get(&layer)),
            json!(b.dates.get(&layer)),
        );
    }
    field(&mut d, "geometry", json!(a.footprint), json!(b.footprint));
    let keys: BTreeSet<&String> = a.extra.keys().chain(b.extra.keys()).collect();
    for k in keys {
        field(&mut d, k, json!(a.extra.get(k)), json!(b.extra.get(k)));
    }
    d.into_iter().map(|x| x.in_patch(a.id)).collect()
}

fn compare_patch(
    a: &dyn DatasetReader,
    b: &dyn DatasetReader,
    id: i64,
) -> (usize, Vec<Difference>) {
    let read = |r: &dyn DatasetReader, side: &str| {
        r.read_patch(id, &Layer::ALL)
            .map_err(|e| Difference::new(DiffKind::Unreadable, format!("{side}: {e}")).in_patch(id))
    };
    let (pa, pb) = match (read(a, "A"), read(b, "B")) {
        (Ok(pa), Ok(pb)) => (pa, pb),
        (ea, eb) => return (0, [ea.err(), eb.err()].into_iter().flatten().collect()),
    };
    let mut diffs = compare_patch_meta(&pa.meta, &pb.meta);
    let mut compared = 0;
    for layer in Layer::ALL {
        match (pa.get(layer), pb.get(layer)) {
            (Some(x), Some(y)) => {
                compared += 1;
                diffs.extend(compare_arrays(x, y).map(|d| d.in_patch(id).in_layer(layer)));
            }
            (Some(_), None) => diffs.push(
                Difference::new(DiffKind::Layer, format!("{layer} is only in A"))
                    .in_patch(id)
                    .in_layer(layer),
            ),
            (None, Some(_)) => diffs.push(
                Difference::new(DiffKind::Layer, format!("{layer} is only in B"))
                    .in_patch(id)
                    .in_layer(layer),
            ),
            (None, None) => {}
        }
    }
    if let (Some(x), Some(y)) = (&pa.spot, &pb.spot) {
        diffs.extend(
            compare_spot_georef(x, y)
                .into_iter()
                .map(|d| d.in_patch(id).in_layer(Layer::Spot)),
        );
    }
    (compared, diffs)
}

/// Compares the georeferencing of two SPOT images, one difference per member that differs (the
/// CRS by meaning, through GDAL, when the texts differ; numbers bit for bit).
fn compare_spot_georef(a: &SpotGeoref, b: &SpotGeoref) -> Vec<Difference> {
    let mut d = Vec::new();
    let mut differs = |what: &str, x: String, y: String| {
        d.push(Difference::new(
            DiffKind::Georef,
            format!("SPOT {what} differs: A is {x}, B is {y}"),
        ));
    };
    if a.crs_wkt != b.crs_wkt && !same_crs(&a.crs_wkt, &b.crs_wkt) {
        differs("CRS", crs_label(a), crs_label(b));
    }
    if a.geotransform.map(f64::to_bits) != b.geotransform.map(f64::to_bits) {
        differs(
            "geotransform",
            format!("{:?}", a.geotransform),
            format!("{:?}", b.geotransform),
        );
    }
    if a.descriptions != b.descriptions {
        differs(
            "band descriptions",
            format!("{:?}", a.descriptions),
            format!("{:?}", b.descriptions),
        );
    }
    let bits = |v: &[Option<f64>]| v.iter().map(|n| n.map(f64::to_bits)).collect::<Vec<_>>();
    if bits(&a.nodata) != bits(&b.nodata) {
        differs(
            "no-data",
            format!("{:?}", a.nodata),
            format!("{:?}", b.nodata),
        );
    }
    d
}

/// True if two WKT texts are the same CRS for GDAL (`OSRIsSame`).
fn same_crs(a: &str, b: &str) -> bool {
    match (SpatialRef::from_wkt(a), SpatialRef::from_wkt(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// A CRS in a message: its EPSG code, else the start of its WKT.
fn crs_label(g: &SpotGeoref) -> String {
    match g.epsg {
        Some(code) => format!("EPSG:{code}"),
        None if g.crs_wkt.is_empty() => "none".into(),
        None => g.crs_wkt.chars().take(60).collect(),
    }
}

/// Compares two arrays: dtype, then shape, then values bit for bit. `None` when identical.
pub fn compare_arrays(a: &Array, b: &Array) -> Option<Difference> {
    if a.dtype() != b.dtype() {
        return Some(Difference::new(
            DiffKind::Dtype,
            format!("dtype differs: A is {}, B is {}", a.dtype(), b.dtype()),
        ));
    }
    if a.shape() != b.shape() {
        return Some(Difference::new(
            DiffKind::Shape,
            format!("shape differs: A is {:?}, B is {:?}", a.shape(), b.shape()),
        ));
    }
    let size = a.dtype().size();
    let (ba, bb) = (a.to_le_bytes(), b.to_le_bytes());
    if ba == bb {
        return None;
    }
    let differing = ba
        .chunks_exact(size)
        .zip(bb.chunks_exact(size))
        .enumerate()
        .filter(|(_, (x, y))| x != y);
    let mut count = 0;
    let mut first = None;
    for (i, _) in differing {
        count += 1;
        first.get_or_insert(i);
    }
    let flat = first.unwrap_or(0);
    let index = unravel(flat, a.shape());
    let (mut va, mut vb) = (
        fmt_value(a.to_f64().as_slice().and_then(|s| s.get(flat).copied())),
        fmt_value(b.to_f64().as_slice().and_then(|s| s.get(flat).copied())),
    );
    if a.dtype().is_float() {
        // Two NaNs (or other values) that print alike differ in their bits: show them.
        let element = |bytes: &[u8]| bytes.get(flat * size..(flat + 1) * size).map(bits_hex);
        va = format!("{va} ({})", element(&ba).unwrap_or_default());
        vb = format!("{vb} ({})", element(&bb).unwrap_or_default());
    }
    let mut d = Difference::new(
        DiffKind::Values,
        format!(
            "{count} of {} values differ; first at {index:?}: A = {va}, B = {vb}",
            a.len(),
        ),
    );
    d.first_index = Some(index);
    d.count = Some(count);
    Some(d)
}

/// The bits of one little-endian element, most significant first: `0x7d01`.
fn bits_hex(le: &[u8]) -> String {
    let digits: String = le.iter().rev().map(|b| format!("{b:02x}")).collect();
    format!("0x{digits}")
}

fn fmt_value(v: Option<f64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}

fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &dim) in shape.iter().enumerate().rev() {
        if dim > 0 {
            index[i] = flat % dim;
            flat /= dim;
        }
    }
    index
}

/// The report as text: a verdict, then each difference.
pub fn render_text(report: &VerifyReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "A: {} ({})\nB: {} ({})\n{} patches and {} arrays compared",
        report.a.display(),
        report.format_a,
        report.b.display(),
        report.format_b,
        report.patches_compared,
        report.arrays_compared
    );
    if report.identical() {
        let _ = writeln!(out, "identical");
        return out;
    }
    let _ = writeln!(out, "{} differences:", report.differences.len());
    for d in &report.differences {
        let mut location = Vec::new();
        if let Some(p) = d.patch {
            location.push(format!("patch {p}"));
        }
        if let Some(l) = d.layer {
            location.push(l.to_string());
        }
        let prefix = if location.is_empty() {
            String::new()
        } else {
            format!("{}: ", location.join(" "))
        };
        let _ = writeln!(out, "  {prefix}{}", d.message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DType;

    #[test]
    fn arrays_compare_bit_for_bit() {
        let a = Array::zeros(DType::F64, &[2, 3]);
        assert_eq!(compare_arrays(&a, &a.clone()), None);
        let mut values = a.to_le_bytes();
        values[8 * 4..8 * 5].copy_from_slice(&(-0.0f64).to_le_bytes());
        let b = Array::from_le_bytes(DType::F64, &[2, 3], &values).unwrap();
        let d = compare_arrays(&a, &b).unwrap();
        assert_eq!(
            (d.kind, d.first_index.clone(), d.count),
            (DiffKind::Values, Some(vec![1, 1]), Some(1))
        );
        assert_eq!(
            compare_arrays(&a, &Array::zeros(DType::F32, &[2, 3]))
                .unwrap()
                .kind,
            DiffKind::Dtype
        );
        assert_eq!(
            compare_arrays(&a, &Array::zeros(DType::F64, &[3, 2]))
                .unwrap()
                .kind,
            DiffKind::Shape
        );
    }

    #[test]
    fn nan_differences_show_their_bits() {
        let a = Array::from_le_bytes(DType::F16, &[1], &0x7d01u16.to_le_bytes()).unwrap();
        let b = Array::from_le_bytes(DType::F16, &[1], &0x7f01u16.to_le_bytes()).unwrap();
        let d = compare_arrays(&a, &b).unwrap();
        assert_eq!(
            d.message,
            "1 of 1 values differ; first at [0]: A = NaN (0x7d01), B = NaN (0x7f01)"
        );
    }

    #[test]
    fn unravel_is_c_order() {
        assert_eq!(unravel(5, &[2, 3]), vec![1, 2]);
        assert_eq!(unravel(0, &[4]), vec![0]);
    }
}
