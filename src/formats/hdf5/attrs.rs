//! Strings and JSON values as HDF5 attributes and string datasets.
//!
//! Attribute values become native HDF5 types where one fits (a string, a list of strings, a
//! vector of integers; a matrix of integers row by row, as one vector, since netCDF attributes
//! are 1-D) so h5py users read them directly; anything nested (objects, mixed lists) is stored
//! as its JSON text.

use super::h5err;
use crate::{Error, Result};
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, Group, Location};
use ndarray::Array2;
use serde_json::{Map, Value};
use std::path::Path;

/// A UTF-8 variable-length string for HDF5 (which cannot hold NUL characters).
pub fn vlen(path: &Path, s: &str) -> Result<VarLenUnicode> {
    s.parse::<VarLenUnicode>()
        .map_err(|e| Error::invalid(path, format!("cannot store the string {s:?} in HDF5: {e}")))
}

/// Writes every value of `attrs` as an attribute of `loc`.
pub fn write_json_attrs(path: &Path, loc: &Location, attrs: &Map<String, Value>) -> Result<()> {
    for (name, value) in attrs {
        write_json_attr(path, loc, name, value)?;
    }
    Ok(())
}

fn write_json_attr(path: &Path, loc: &Location, name: &str, value: &Value) -> Result<()> {
    if let Some(strings) = string_list(value) {
        return write_string_list_attr(path, loc, name, &strings);
    }
    if let Some(ints) = int_matrix(value) {
        // netCDF attributes are 1-D (netCDF-C refuses to open a file with a 2-D one), so a
        // matrix is stored row by row: `class_colors` (20, 3) is 60 integers.
        let flat: Vec<i64> = ints.iter().copied().collect();
        return loc
            .new_attr_builder()
            .with_data(flat.as_slice())
            .create(name)
            .map(drop)
            .map_err(h5err(path));
    }
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    write_string_attr(path, loc, name, &text)
}

/// A list of strings, if `value` is one (not empty).
fn string_list(value: &Value) -> Option<Vec<&str>> {
    let items = value.as_array().filter(|a| !a.is_empty())?;
    items.iter().map(Value::as_str).collect()
}

/// Integers as a matrix: a list of integers is one row, a list of equally long lists of
/// integers one row each.
fn int_matrix(value: &Value) -> Option<Array2<i64>> {
    let items = value.as_array().filter(|a| !a.is_empty())?;
    let rows: Vec<Vec<i64>> = if items.iter().all(Value::is_number) {
        vec![items.iter().map(Value::as_i64).collect::<Option<_>>()?]
    } else {
        items
            .iter()
            .map(|row| {
                row.as_array()?
                    .iter()
                    .map(Value::as_i64)
                    .collect::<Option<Vec<_>>>()
            })
            .collect::<Option<_>>()?
    };
    let width = rows[0].len();
    if width == 0 || rows.iter().any(|r| r.len() != width) {
        return None;
    }
    Array2::from_shape_vec((rows.len(), width), rows.concat()).ok()
}

/// Writes a scalar UTF-8 string attribute.
pub fn write_string_attr(path: &Path, loc: &Location, name: &str, text: &str) -> Result<()> {
    let value = vlen(path, text)?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .map_err(h5err(path))
}

/// Writes a 1-D attribute of UTF-8 strings.
pub fn write_string_list_attr(
    path: &Path,
    loc: &Location,
    name: &str,
    items: &[&str],
) -> Result<()> {
    let values = items
        .iter()
        .map(|s| vlen(path, s))
        .collect::<Result<Vec<_>>>()?;
    loc.new_attr_builder()
        .with_data(values.as_slice())
        .create(name)
        .map(drop)
        .map_err(h5err(path))
}

/// Reads a scalar string attribute, `None` if `loc` has no attribute `name`.
pub fn read_string_attr(path: &Path, loc: &Location, name: &str) -> Result<Option<String>> {
    if !loc
        .attr_names()
        .map_err(h5err(path))?
        .iter()
        .any(|n| n == name)
    {
        return Ok(None);
    }
    let value = loc
        .attr(name)
        .and_then(|a| a.read_scalar::<VarLenUnicode>())
        .map_err(h5err(path))?;
    Ok(Some(value.as_str().to_string()))
}

/// Creates a 1-D dataset of UTF-8 strings (one per patch).
pub fn write_strings(path: &Path, group: &Group, name: &str, items: &[String]) -> Result<Dataset> {
    let values = items
        .iter()
        .map(|s| vlen(path, s))
        .collect::<Result<Vec<_>>>()?;
    group
        .new_dataset_builder()
        .obj_track_times(false)
        .with_data(values.as_slice())
        .create(name)
        .map_err(h5err(path))
}

/// Creates a dataset of UTF-8 strings of `shape` (`(patch, k)`: `SPOT_band_description`) from
/// `items` in C order.
pub fn write_string_table(
    path: &Path,
    group: &Group,
    name: &str,
    items: &[String],
    shape: &[usize],
) -> Result<Dataset> {
    let values = items
        .iter()
        .map(|s| vlen(path, s))
        .collect::<Result<Vec<_>>>()?;
    let table = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), values).map_err(|e| {
        Error::invalid(
            path,
            format!("{name}: {} strings for shape {shape:?}: {e}", items.len()),
        )
    })?;
    group
        .new_dataset_builder()
        .obj_track_times(false)
        .with_data(&table)
        .create(name)
        .map_err(h5err(path))
}

/// Reads a dataset of strings (any shape), C order.
pub fn read_strings(path: &Path, group: &Group, name: &str) -> Result<Vec<String>> {
    let values = group
        .dataset(name)
        .and_then(|d| d.read_raw::<VarLenUnicode>())
        .map_err(h5err(path))?;
    Ok(values.iter().map(|v| v.as_str().to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_lists_become_matrices() {
        assert_eq!(
            int_matrix(&json!([[1, 2], [3, 4]])).unwrap().shape(),
            &[2, 2]
        );
        assert_eq!(int_matrix(&json!([1, 2, 3])).unwrap().shape(), &[1, 3]);
        assert!(int_matrix(&json!([[1, 2], [3]])).is_none());
        assert!(int_matrix(&json!([1.5])).is_none());
        assert!(int_matrix(&json!({"a": 1})).is_none());
        assert_eq!(string_list(&json!(["a", "b"])), Some(vec!["a", "b"]));
        assert_eq!(string_list(&json!(["a", 1])), None);
    }
}
