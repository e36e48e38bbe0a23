//! Serialises the per-patch columns of the stacked layout ([`stacked::columns`]) as Zarr arrays.
//! All are small and written whole, as one chunk.

use super::arrays::{create_array, write_block, write_strings, ArrayDef, Kind, Version};
use super::Store;
use crate::formats::stacked::{self, Column, ColumnValues};
use crate::formats::Compression;
use crate::model::{DatasetLayout, DatasetMeta};
use crate::Result;
use std::path::Path;

/// Where the columns go and how they are encoded.
pub struct ColumnSink<'a> {
    /// The store's path, for errors.
    pub root: &'a Path,
    /// The store.
    pub store: &'a Store,
    /// Zarr version.
    pub version: Version,
    /// Compression.
    pub compression: Compression,
}

impl ColumnSink<'_> {
    /// Creates one column's array and writes its values.
    fn write(&self, column: &Column) -> Result<()> {
        let kind = match &column.values {
            ColumnValues::Numbers(a) => Kind::Number(a.dtype()),
            ColumnValues::Text(t) | ColumnValues::TextTable { values: t, .. } => Kind::Text {
                chars: t
                    .iter()
                    .map(|v| v.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(1),
            },
        };
        let dims: Vec<&str> = column.dimension_names.iter().map(String::as_str).collect();
        let mut def = ArrayDef::whole(&column.name, kind, column.shape(), &dims);
        def.attributes = column.attributes.clone();
        let array = create_array(self.root, self.store, &def, self.version, self.compression)?;
        match &column.values {
            ColumnValues::Numbers(values) => write_block(self.root, &array, 0, values),
            ColumnValues::Text(values) | ColumnValues::TextTable { values, .. } => {
                write_strings(self.root, &array, values)
            }
        }
    }
}

/// Writes every per-patch column of the dataset `meta` with `layout`; returns the warnings met
/// building them (patches without a pixel grid), for the caller to report.
pub fn write_columns(
    sink: &ColumnSink,
    meta: &DatasetMeta,
    layout: &DatasetLayout,
) -> Result<Vec<String>> {
    let built = stacked::columns::build(meta, layout);
    for column in &built.columns {
        sink.write(column)?;
    }
    Ok(built.warnings)
}
