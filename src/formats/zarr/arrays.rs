//! Creating arrays in either Zarr version, and moving model arrays in and out of them.

use super::{zarr_error_in, Store, ZArray};
use crate::formats::{Compression, Shuffle};
use crate::model::{Array, DType, Element};
use crate::{with_array, with_dtype, Error, Result};
use ndarray::{ArrayD, Axis};
use serde_json::{json, Map, Value};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use zarrs::array::codec::api::BytesToBytesCodecTraits;
use zarrs::array::codec::{
    BloscCodec, BloscCompressor, BloscShuffleMode, GzipCodec, ShardingCodecOptions,
    SubchunkWriteOrder, ZstdCodec,
};
use zarrs::array::{
    ArrayBuilder, ArrayMetadata, ArrayMetadataOptions, ArraySubset, CodecSpecificOptions,
};
use zarrs::metadata::v2::{ArrayMetadataV2, MetadataV2};
use zarrs::metadata::FillValueMetadata;

/// The Zarr format version of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Zarr v2: one object per chunk, `.zarray`/`.zattrs`, `_ARRAY_DIMENSIONS`.
    V2,
    /// Zarr v3: sharded, `zarr.json`, `dimension_names`.
    V3,
}

/// The element type of an array: a number type or a UTF-8 string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A numeric or boolean type.
    Number(DType),
    /// UTF-8 strings (`TILE`, `feature`) of at most `chars` characters: variable-length
    /// `string` in v3; fixed-length `<U{chars}` (UTF-32, numpy's unicode type) in v2, which
    /// GDAL's Zarr driver reads, as zarr-python and xarray do (trailing U+0000 are padding).
    Text {
        /// The longest value, in characters (at least 1).
        chars: usize,
    },
}

/// Everything needed to create one array, in either version.
#[derive(Clone, Debug)]
pub struct ArrayDef {
    /// Name under the root group (`S2`, `ID_PATCH`...).
    pub name: String,
    /// Element type.
    pub kind: Kind,
    /// Shape.
    pub shape: Vec<usize>,
    /// The chunk (v3: the inner chunk of a shard).
    pub chunk: Vec<usize>,
    /// v3 shard shape; `None` = unsharded. Ignored in v2.
    pub shard: Option<Vec<usize>>,
    /// Axis names.
    pub dimension_names: Vec<String>,
    /// Array attributes (`long_name`...), besides those Zarr itself needs.
    pub attributes: Map<String, Value>,
}

impl ArrayDef {
    /// An unsharded array stored as one chunk (the small per-patch metadata arrays).
    pub fn whole(name: impl Into<String>, kind: Kind, shape: Vec<usize>, dims: &[&str]) -> Self {
        ArrayDef {
            name: name.into(),
            kind,
            chunk: shape.iter().map(|&s| s.max(1)).collect(),
            shape,
            shard: None,
            dimension_names: dims.iter().map(|d| d.to_string()).collect(),
            attributes: Map::new(),
        }
    }
}

/// Creates the array `def` in `store` and writes its metadata.
pub fn create_array(
    root: &Path,
    store: &Store,
    def: &ArrayDef,
    version: Version,
    compression: Compression,
) -> Result<ZArray> {
    let mut array = match version {
        Version::V3 => build_v3(store, def, compression),
        Version::V2 => build_v2(store, def, compression),
    }
    .map_err(|e| zarr_error_in(root, format!("array {}", def.name), e))?;
    array.set_metadata_options(ArrayMetadataOptions::default().with_include_zarrs_metadata(false));
    array
        .store_metadata()
        .map_err(|e| zarr_error_in(root, format!("array {}", def.name), e))?;
    Ok(array)
}

fn build_v3(
    store: &Store,
    def: &ArrayDef,
    compression: Compression,
) -> Result<ZArray, crate::error::LibraryError> {
    let (data_type, fill) = match def.kind {
        Kind::Number(DType::Bool) => (DType::Bool.name(), FillValueMetadata::from(false)),
        Kind::Number(d) => (d.name(), FillValueMetadata::from(0)),
        Kind::Text { .. } => ("string", FillValueMetadata::from("")),
    };
    let outer = def.shard.as_ref().unwrap_or(&def.chunk);
    let mut builder = ArrayBuilder::new(u64s(&def.shape), u64s(outer), data_type, fill);
    builder
        .dimension_names(Some(def.dimension_names.clone()))
        .bytes_to_bytes_codecs(codecs_v3(compression, element_size(def.kind))?)
        .attributes(def.attributes.clone());
    if def.shard.is_some() {
        // Inner chunks in C order, not in the order threads finish them: the same dataset
        // always gives the same bytes (zarrs' default order varies from run to run).
        let c_order =
            ShardingCodecOptions::default().with_subchunk_write_order(SubchunkWriteOrder::C);
        builder
            .subchunk_shape(u64s(&def.chunk))
            .codec_specific_options(CodecSpecificOptions::default().with_option(c_order));
    }
    Ok(builder.build(store.clone(), &format!("/{}", def.name))?)
}

fn build_v2(
    store: &Store,
    def: &ArrayDef,
    compression: Compression,
) -> Result<ZArray, crate::error::LibraryError> {
    let dtype = match def.kind {
        Kind::Number(d) => d.npy_descr().to_string(),
        Kind::Text { chars } => format!("<U{}", chars.max(1)),
    };
    let chunks = def
        .chunk
        .iter()
        .map(|&c| std::num::NonZeroU64::new(c.max(1) as u64).ok_or("zero chunk"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut attributes = def.attributes.clone();
    attributes.insert("_ARRAY_DIMENSIONS".into(), json!(def.dimension_names));
    // `null`, not 0: xarray would read 0 as a missing value in v2 (docs/zarr-layout.md).
    // zarrs needs a string for `<U` text: "".
    let fill = match def.kind {
        Kind::Number(_) => FillValueMetadata::Null,
        Kind::Text { .. } => FillValueMetadata::from(""),
    };
    let metadata = ArrayMetadataV2::new(
        u64s(&def.shape),
        chunks,
        dtype.into(),
        fill,
        compressor_v2(compression)?,
        None,
    )
    .with_attributes(attributes);
    let path = format!("/{}", def.name);
    Ok(ZArray::new_with_metadata(
        store.clone(),
        &path,
        ArrayMetadata::V2(metadata),
    )?)
}

/// Bytes per element for shuffling (1 for strings).
fn element_size(kind: Kind) -> usize {
    match kind {
        Kind::Number(d) => d.size(),
        Kind::Text { .. } => 1,
    }
}

/// True if the array holds fixed-length `<U` strings (v2 text).
fn is_fixed_text(array: &ZArray) -> bool {
    array
        .data_type()
        .is::<zarrs::array::data_type::FixedLengthUTF32DataType>()
}

/// Writes `values` as rows `0..n` of a 1-D text array of either version.
pub fn write_strings(root: &Path, array: &ZArray, values: &[String]) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    // The whole array: a column (patch,) or a table (patch, k), C order.
    let region = ArraySubset::new_with_shape(array.shape().to_vec());
    let stored = match is_fixed_text(array) {
        true => {
            let chars: Vec<Vec<char>> = values.iter().map(|v| v.chars().collect()).collect();
            array.store_array_subset(&region, &chars)
        }
        false => array.store_array_subset(&region, values),
    };
    stored.map_err(|e| zarr_error_in(root, format!("writing {}", array.path()), e))
}

/// Reads a whole 1-D text array of either version: `string` (v3), `<U` (v2) or the `|O`
/// variable-length strings of layout versions 1 and 2.
pub fn read_strings(root: &Path, array: &ZArray) -> Result<Vec<String>> {
    if !is_fixed_text(array) {
        return read_all(root, array);
    }
    let chars: Vec<Vec<char>> = read_all(root, array)?;
    Ok(chars.into_iter().map(String::from_iter).collect())
}

/// Blosc's block (the unit it shuffles and compresses): 256 KiB, a whole S2 date chunk's worth
/// `(10, 128, 128)` int16 = 320 KiB; Blosc takes the chunk itself when it is smaller. Larger
/// blocks than Blosc's automatic choice (32 KiB at level 1) compress S2 4 % smaller at the same
/// speed (bench/RESULTS.md, "Codec choice").
pub const BLOSC_BLOCKSIZE: usize = 256 * 1024;

/// Blosc (c-blosc 1) with `compressor` at `level` (1..=9, Blosc's scale) after `shuffle`, in
/// [`BLOSC_BLOCKSIZE`] blocks, for elements of `typesize` bytes.
fn blosc(
    compressor: BloscCompressor,
    level: u8,
    shuffle: Shuffle,
    typesize: usize,
) -> Result<BloscCodec, crate::error::LibraryError> {
    let mode = match shuffle {
        Shuffle::Byte => BloscShuffleMode::Shuffle,
        Shuffle::Bit => BloscShuffleMode::BitShuffle,
    };
    Ok(BloscCodec::new(
        compressor,
        level.try_into().map_err(|l| format!("blosc level {l}"))?,
        Some(BLOSC_BLOCKSIZE),
        mode,
        Some(typesize.max(1)),
    )?)
}

fn codecs_v3(
    compression: Compression,
    typesize: usize,
) -> Result<Vec<Arc<dyn BytesToBytesCodecTraits>>, crate::error::LibraryError> {
    Ok(match compression {
        Compression::None => vec![],
        Compression::Zstd(level) => vec![Arc::new(ZstdCodec::new(level, false))],
        Compression::Gzip(level) => vec![Arc::new(GzipCodec::new(level)?)],
        Compression::BloscLz4(level, shuffle) => {
            vec![Arc::new(blosc(
                BloscCompressor::LZ4,
                level,
                shuffle,
                typesize,
            )?)]
        }
        Compression::BloscZstd(level, shuffle) => {
            vec![Arc::new(blosc(
                BloscCompressor::Zstd,
                level,
                shuffle,
                typesize,
            )?)]
        }
        Compression::Lzf => Err(lzf_unsupported())?,
    })
}

/// The v2 `compressor` (numcodecs takes Blosc's typesize from the array's dtype).
fn compressor_v2(
    compression: Compression,
) -> Result<Option<MetadataV2>, crate::error::LibraryError> {
    let config = match compression {
        Compression::None => return Ok(None),
        Compression::Zstd(level) => json!({"id": "zstd", "level": level}),
        Compression::Gzip(level) => json!({"id": "gzip", "level": level}),
        Compression::BloscLz4(level, shuffle) => blosc_v2("lz4", level, shuffle),
        Compression::BloscZstd(level, shuffle) => blosc_v2("zstd", level, shuffle),
        Compression::Lzf => Err(lzf_unsupported())?,
    };
    Ok(Some(v2_codec(config)?))
}

/// numcodecs' Blosc configuration: shuffle 0 none, 1 byte, 2 bit (GDAL's BLOSC_SHUFFLE the same).
fn blosc_v2(cname: &str, level: u8, shuffle: Shuffle) -> Value {
    let shuffle = match shuffle {
        Shuffle::Byte => 1,
        Shuffle::Bit => 2,
    };
    json!({"id": "blosc", "cname": cname, "clevel": level, "blocksize": BLOSC_BLOCKSIZE,
        "shuffle": shuffle})
}

fn v2_codec(config: Value) -> Result<MetadataV2, serde_json::Error> {
    serde_json::from_value(config)
}

/// The error for a compression Zarr has no codec for.
pub fn lzf_unsupported() -> Error {
    Error::Unsupported {
        format: "zarr",
        what: "lzf compression exists only in HDF5; use blosc-zstd, zstd, blosc-lz4, gzip or none"
            .into(),
    }
}

fn u64s(v: &[usize]) -> Vec<u64> {
    v.iter().map(|&x| x as u64).collect()
}

/// The subset of rows `rows` (first axis) and the leading `extents` of the other axes.
pub fn subset(rows: Range<usize>, extents: &[usize]) -> ArraySubset {
    let first = rows.start as u64..rows.end as u64;
    let ranges: Vec<Range<u64>> = std::iter::once(first)
        .chain(extents.iter().map(|&e| 0..e as u64))
        .collect();
    ArraySubset::new_with_ranges(&ranges)
}

/// Writes `block` (whose first axis is the rows) at rows starting from `first_row`.
pub fn write_block(root: &Path, array: &ZArray, first_row: usize, block: &Array) -> Result<()> {
    let shape = block.shape();
    let rows = first_row..first_row + shape.first().copied().unwrap_or(0);
    let region = subset(rows, &shape[1..]);
    with_array!(block, b => array.store_array_subset(&region, b))
        .map_err(|e| zarr_error_in(root, format!("writing {}", array.path()), e))
}

/// Erases the shard (v3) or chunks (v2) of `row` of an array stored one patch per shard (series,
/// SPOT), before the patch is written again by a resumed run or a partition run again: it then
/// never merges its patch into an object a stopped run left behind, possibly half-written (zarrs reads the existing shard to
/// update a partly covered inner chunk, and a torn one fails its checksum). Erasing an object that
/// does not exist is not an error.
///
/// # Errors
/// The store refuses the deletion; the error names the array.
pub fn erase_row(root: &Path, array: &ZArray, row: usize) -> Result<()> {
    let grid = array.chunk_grid_shape();
    let mut ranges: Vec<std::ops::Range<u64>> = grid.iter().map(|&n| 0..n).collect();
    if let Some(first) = ranges.first_mut() {
        *first = row as u64..row as u64 + 1;
    }
    array
        .erase_chunks(&ArraySubset::new_with_ranges(&ranges))
        .map_err(|e| zarr_error_in(root, format!("erasing row {row} of {}", array.path()), e))
}

/// Reads one row (`row`, the leading `extents` of the other axes) as a model array of `dtype`.
pub fn read_row(
    root: &Path,
    array: &ZArray,
    dtype: DType,
    row: usize,
    extents: &[usize],
) -> Result<Array> {
    let region = subset(row..row + 1, extents);
    with_dtype!(dtype, T => {
        let a: ArrayD<T> = array
            .retrieve_array_subset(&region)
            .map_err(|e| zarr_error_in(root, format!("reading {}", array.path()), e))?;
        Ok(T::wrap(a.index_axis_move(Axis(0), 0)))
    })
}

/// Reads a whole array as a flat vector of `T` (the per-patch metadata arrays).
pub fn read_all<T: zarrs::array::ElementOwned>(root: &Path, array: &ZArray) -> Result<Vec<T>> {
    let region = ArraySubset::new_with_shape(array.shape().to_vec());
    array
        .retrieve_array_subset(&region)
        .map_err(|e| zarr_error_in(root, format!("reading {}", array.path()), e))
}

/// A patch's array as one row of a stacked array: a leading row axis of 1, without copying.
///
/// A series keeps its own `T` dates: [`write_block`] stores only `[row, 0..T, ..]`; zarrs
/// completes the chunk holding date `T - 1` with the fill value up to its boundary (a chunk holds
/// several dates, `stacked::SERIES_CHUNK_DATES`), and the chunks past it stay unwritten, read
/// back as the fill value 0 (docs/zarr-layout.md).
pub fn as_row(array: Array) -> Array {
    with_array!(array, a => Element::wrap(a.insert_axis(Axis(0))))
}

/// The zarrs data type of an array as a model [`DType`], if it is one.
pub fn dtype_of(array: &ZArray) -> Option<DType> {
    use zarrs::plugin::{ExtensionName, ZarrVersion};
    DType::from_name(&array.data_type().name(ZarrVersion::V3)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zarrs::storage::store::MemoryStore;

    fn series_def() -> ArrayDef {
        ArrayDef {
            name: "S1A".into(),
            kind: Kind::Number(DType::F16),
            shape: vec![2, 4, 3, 2, 2],
            chunk: vec![1, 1, 3, 2, 2],
            shard: Some(vec![1, 4, 3, 2, 2]),
            dimension_names: ["patch", "S1A_time", "S1A_band", "y", "x"]
                .map(String::from)
                .to_vec(),
            attributes: Map::new(),
        }
    }

    #[test]
    fn rows_round_trip_in_both_versions_on_any_store() {
        let series = Array::from_le_bytes(DType::F16, &[3, 3, 2, 2], &[7u8; 72]).unwrap();
        for version in [Version::V3, Version::V2] {
            let store: Store = Arc::new(MemoryStore::new());
            let root = Path::new("memory");
            let array =
                create_array(root, &store, &series_def(), version, Compression::Zstd(3)).unwrap();
            write_block(root, &array, 1, &as_row(series.clone())).unwrap();
            let back = read_row(root, &array, DType::F16, 1, &[3, 3, 2, 2]).unwrap();
            assert_eq!(back, series);
            let padding = read_row(root, &array, DType::F16, 1, &[4, 3, 2, 2]).unwrap();
            assert_eq!(
                padding.index_first_axis(3),
                Array::zeros(DType::F16, &[3, 2, 2])
            );
            assert_eq!(dtype_of(&array), Some(DType::F16));
        }
    }

    #[test]
    fn a_short_series_stores_only_its_own_dates() {
        // 3 of 4 dates: the v2 chunks of row 1 are one per date, and date 3 is never written.
        let series = Array::from_le_bytes(DType::F16, &[3, 3, 2, 2], &[7u8; 72]).unwrap();
        let store: Store = Arc::new(MemoryStore::new());
        let root = Path::new("memory");
        let array = create_array(
            root,
            &store,
            &series_def(),
            Version::V2,
            Compression::Zstd(3),
        )
        .unwrap();
        write_block(root, &array, 1, &as_row(series)).unwrap();
        let mut chunks: Vec<String> = store
            .list()
            .unwrap()
            .iter()
            .map(|k| k.to_string())
            .filter(|k| !k.ends_with(".zarray") && !k.ends_with(".zattrs"))
            .collect();
        chunks.sort();
        assert_eq!(chunks, ["S1A/1.0.0.0.0", "S1A/1.1.0.0.0", "S1A/1.2.0.0.0"]);
    }

    #[test]
    fn lzf_is_refused() {
        let store: Store = Arc::new(MemoryStore::new());
        let err = create_array(
            Path::new("m"),
            &store,
            &series_def(),
            Version::V3,
            Compression::Lzf,
        );
        assert!(err.is_err());
    }
}
