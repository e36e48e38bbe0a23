//! Shards of a Zarr v3 store encoded by pastis-bridge from the patches' own bytes: a series
//! shard whole from one patch, an annotation shard from the inner chunks (one patch each) encoded
//! as the group's patches arrive.
//!
//! A series array stores one patch per shard, `(1, T', C, H, W)` with `T'` the dataset's longest
//! series rounded up to whole inner chunks of `k` dates, `(1, k, C, H, W)`. Through zarrs'
//! `store_array_subset`, a patch of `T < T'` dates is a partial shard: zarrs builds a shard of
//! fill values, copies the patch into it, copies each inner chunk out again, and assembles the
//! encoded chunks into a third buffer (bench/RESULTS.md, "Zarr write path": about a fifth of
//! the conversion's CPU and one extra shard per worker in memory).
//!
//! Here, as the inner chunk spans every axis after time, inner chunk `i` *is* the run of bytes
//! of dates `i·k .. (i+1)·k` of the patch's C-ordered array: it is encoded in place (only the
//! last, partial chunk is padded with the fill value into a buffer of its own) by the array's
//! own inner codecs, on the worker pool, and the encoded chunks are concatenated in C order with
//! the index encoded by the array's own index codecs: the bytes zarrs' sharding codec writes with
//! [`SubchunkWriteOrder::C`](zarrs::array::codec::SubchunkWriteOrder) (tested byte for byte).
//! Inner chunks that hold only the fill value are not stored (index entry `u64::MAX`), as zarrs
//! does; a shard of fill values only is not stored at all.
//!
//! An annotation array stores a group of 32 patches per shard, `(32, ...)` in inner chunks of one
//! patch, `(1, ...)`: inner chunk `i` is patch `32·g + i`'s row, encoded by the writer as soon as
//! the patch arrives ([`ShardEncoder::encode_chunk`]), so a group waiting for its last patches
//! holds encoded rows (a few hundred kB) rather than raw ones (~0.5 MB per patch); the shard is
//! assembled from them when the group is complete ([`ShardEncoder::assemble`]).
//!
//! Source of the layout: the Zarr v3 `sharding_indexed` codec specification (encoded inner
//! chunks, then the index of `(offset, nbytes)` pairs in C order of the chunk grid, with
//! `u64::MAX` pairs for empty chunks, encoded by the index codecs, at the end).

use super::ZArray;
use rayon::prelude::*;
use std::borrow::Cow;
use std::num::NonZeroU64;
use zarrs::array::codec::{CodecChain, ShardingCodecConfiguration, ShardingIndexLocation};
use zarrs::array::{
    ArrayBytes, ArrayMetadata, ArrayToBytesCodecTraits, CodecError, CodecOptions, DataType,
    FillValue,
};

/// How to encode the shards of one sharded array whose inner chunks run along one axis: the
/// array's inner and index codecs, and the shapes they are applied to.
pub(super) struct ShardEncoder {
    inner: CodecChain,
    index: CodecChain,
    /// The inner chunk: `(1, k, C, H, W)` for a series, `(1, ...)` for an annotation.
    subchunk_shape: Vec<NonZeroU64>,
    /// The index's shape: the inner chunks per shard along each axis, then 2.
    index_shape: Vec<NonZeroU64>,
    /// Inner chunks per shard (all along one axis: time for a series, patches for an annotation).
    chunks: usize,
    /// Bytes of one inner chunk.
    chunk_bytes: usize,
    data_type: DataType,
    fill_value: FillValue,
}

impl ShardEncoder {
    /// The shard encoder of `array`, if its inner chunks run along one axis of the shard, in
    /// whole chunks, every axis before it of extent 1 and every axis after it spanned whole (a v3
    /// series array: `(1, T', C, H, W)` in `(1, k, C, H, W)`; a v3 annotation array: `(32, ...)`
    /// in `(1, ...)`; not SPOT's windows, not a v2 array), so that inner chunk `i` is a run of the
    /// shard's C-ordered bytes; with the index at the end and a fill value of zero bytes. `None`
    /// otherwise (such arrays are written through zarrs' `store_array_subset`).
    pub(super) fn of(array: &ZArray) -> Option<ShardEncoder> {
        let ArrayMetadata::V3(metadata) = array.metadata() else {
            return None;
        };
        let [codec] = metadata.codecs.as_slice() else {
            return None;
        };
        if codec.name() != "sharding_indexed" {
            return None;
        }
        let ShardingCodecConfiguration::V1(config) = codec
            .to_typed_configuration::<ShardingCodecConfiguration>()
            .ok()?
        else {
            return None;
        };
        if config.index_location != ShardingIndexLocation::End {
            return None;
        }
        let shard: Vec<u64> = array
            .chunk_shape(&vec![0; array.dimensionality()])
            .ok()?
            .iter()
            .map(|n| n.get())
            .collect();
        let inner: Vec<u64> = config.chunk_shape.iter().map(|n| n.get()).collect();
        if inner.len() != shard.len() {
            return None;
        }
        // The axis the inner chunks run along: the first where they differ from the shard.
        let axis = (0..shard.len())
            .find(|&a| shard[a] != inner[a])
            .unwrap_or(0);
        let along_one_axis = shard[..axis].iter().all(|&n| n == 1)
            && shard.get(axis)?.is_multiple_of(*inner.get(axis)?)
            && shard[axis + 1..] == inner[axis + 1..];
        let element = array.data_type().fixed_size()?;
        let fill_value = array.fill_value().clone();
        if !along_one_axis || fill_value.as_ne_bytes().iter().any(|&b| b != 0) {
            return None;
        }
        let chunks = usize::try_from(shard[axis] / inner[axis]).ok()?;
        let elements: u64 = inner.iter().product();
        let mut index_shape = (shard.iter().zip(&inner))
            .map(|(s, i)| NonZeroU64::new(s / i))
            .collect::<Option<Vec<_>>>()?;
        index_shape.push(NonZeroU64::new(2)?);
        Some(ShardEncoder {
            inner: CodecChain::from_metadata(&config.codecs).ok()?,
            index: CodecChain::from_metadata(&config.index_codecs).ok()?,
            subchunk_shape: config.chunk_shape.to_vec(),
            index_shape,
            chunks,
            chunk_bytes: usize::try_from(elements).ok()?.checked_mul(element)?,
            data_type: array.data_type().clone(),
            fill_value,
        })
    }

    /// The encoded shard of a series given as the C-ordered little-endian bytes of its own
    /// dates (at most the shard's, whole dates); `None` if every inner chunk holds only the fill
    /// value (the shard is then not stored). Inner chunks are encoded in parallel on the
    /// current rayon pool, each on one thread ([`Self::encode_chunk`]).
    ///
    /// # Errors
    /// More bytes than the shard holds, or a codec's error.
    pub(super) fn encode(&self, bytes: &[u8]) -> Result<Option<Vec<u8>>, CodecError> {
        if bytes.len() > self.chunks * self.chunk_bytes {
            return Err(CodecError::Other(format!(
                "{} bytes do not fit a shard of {} inner chunks of {} bytes",
                bytes.len(),
                self.chunks,
                self.chunk_bytes
            )));
        }
        let encoded: Vec<Option<Vec<u8>>> = (0..self.chunks)
            .into_par_iter()
            .map(|i| {
                let start = (i * self.chunk_bytes).min(bytes.len());
                let end = bytes.len().min(start + self.chunk_bytes);
                self.encode_chunk(&bytes[start..end])
            })
            .collect::<Result<_, _>>()?;
        self.assemble(encoded)
    }

    /// The shard of the encoded inner chunks `encoded`, in C order, one per inner chunk of the
    /// shard (`None` for one of fill values only, not stored); `None` if they all are.
    ///
    /// # Errors
    /// Not one entry per inner chunk, or the index codecs' error.
    pub(super) fn assemble(
        &self,
        encoded: Vec<Option<Vec<u8>>>,
    ) -> Result<Option<Vec<u8>>, CodecError> {
        if encoded.len() != self.chunks {
            return Err(CodecError::Other(format!(
                "{} encoded chunks for a shard of {}",
                encoded.len(),
                self.chunks
            )));
        }
        if encoded.iter().all(Option::is_none) {
            return Ok(None);
        }
        let mut index = vec![u64::MAX; 2 * self.chunks];
        let mut offset = 0u64;
        for (pair, chunk) in index.chunks_exact_mut(2).zip(&encoded) {
            if let Some(chunk) = chunk {
                pair[0] = offset;
                pair[1] = chunk.len() as u64;
                offset += chunk.len() as u64;
            }
        }
        let index_bytes: Vec<u8> = index.iter().flat_map(|v| v.to_le_bytes()).collect();
        let index = self.index.encode(
            ArrayBytes::new_flen(index_bytes),
            &self.index_shape,
            &zarrs::array::data_type::uint64(),
            &FillValue::from(u64::MAX),
            &Self::options(),
        )?;
        let total = usize::try_from(offset).map_err(|e| CodecError::Other(e.to_string()))?;
        let mut shard = Vec::with_capacity(total + index.len());
        for chunk in encoded.into_iter().flatten() {
            shard.extend_from_slice(&chunk);
        }
        shard.extend_from_slice(&index);
        Ok(Some(shard))
    }

    /// One inner chunk encoded from `own`, its bytes (C order, little-endian; fewer than a chunk
    /// holds are padded with the fill value); `None` if it holds only the fill value. Encoded on
    /// the calling thread.
    ///
    /// # Errors
    /// More bytes than an inner chunk holds, or a codec's error.
    pub(super) fn encode_chunk(&self, own: &[u8]) -> Result<Option<Vec<u8>>, CodecError> {
        if own.len() > self.chunk_bytes {
            return Err(CodecError::Other(format!(
                "{} bytes do not fit an inner chunk of {} bytes",
                own.len(),
                self.chunk_bytes
            )));
        }
        if own.iter().all(|&b| b == 0) {
            // Nothing or only the fill value (zero bytes, see `of`).
            return Ok(None);
        }
        let chunk: Cow<[u8]> = match own.len() == self.chunk_bytes {
            true => Cow::Borrowed(own),
            false => {
                let mut padded = vec![0u8; self.chunk_bytes];
                padded[..own.len()].copy_from_slice(own);
                Cow::Owned(padded)
            }
        };
        let encoded = self.inner.encode(
            ArrayBytes::new_flen(chunk),
            &self.subchunk_shape,
            &self.data_type,
            &self.fill_value,
            &Self::options(),
        )?;
        // Codecs allocate for the worst case (zarrs' Blosc: the chunk's size plus Blosc's
        // overhead) and keep that capacity: an S2 chunk of 2.6 MB encoded to ~1.4 MB would hold
        // all 2.6 MB until its shard is written, the largest share of the writer's heap
        // (bench/RESULTS.md, "Zarr peak memory"). Shrinking gives the rest back at once.
        let mut encoded = encoded.into_owned();
        encoded.shrink_to_fit();
        Ok(Some(encoded))
    }

    /// Bytes of one inner chunk (for an annotation array: one patch's row).
    pub(super) fn chunk_bytes(&self) -> usize {
        self.chunk_bytes
    }

    /// Inner chunks per shard (for an annotation array: patches per shard).
    pub(super) fn chunks(&self) -> usize {
        self.chunks
    }

    /// Inner chunks are encoded one per thread: `options`' own concurrency is not used.
    fn options() -> CodecOptions {
        CodecOptions::default().with_concurrent_target(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::zarr::arrays::{
        as_row, create_array, write_block, ArrayDef, Kind, Version,
    };
    use crate::formats::zarr::Store;
    use crate::formats::{Compression, Shuffle};
    use crate::model::{Array, DType};
    use serde_json::Map;
    use std::path::Path;
    use std::sync::Arc;
    use zarrs::array::codec::{ShardingCodecOptions, SubchunkWriteOrder};
    use zarrs::array::CodecSpecificOptions;
    use zarrs::storage::store::MemoryStore;
    use zarrs::storage::ReadableStorageTraits;

    fn def(dtype: DType, dates: usize, k: usize) -> ArrayDef {
        let t = dates.div_ceil(k) * k;
        ArrayDef {
            name: "S2".into(),
            kind: Kind::Number(dtype),
            shape: vec![3, dates, 2, 4, 3],
            chunk: vec![1, k, 2, 4, 3],
            shard: Some(vec![1, t, 2, 4, 3]),
            dimension_names: ["patch", "S2_time", "S2_band", "y", "x"]
                .map(String::from)
                .to_vec(),
            attributes: Map::new(),
        }
    }

    /// A series of `dates` dates whose date `d` holds `d + 1` everywhere but in the dates
    /// listed in `zero`, which hold zeros.
    fn series(dates: usize, zero: &[usize]) -> Array {
        let date = 2 * 4 * 3;
        let values: Vec<u8> = (0..dates)
            .flat_map(|d| {
                let v = if zero.contains(&d) { 0 } else { d as u8 + 1 };
                std::iter::repeat_n([v, 0], date).flatten()
            })
            .collect();
        Array::from_le_bytes(DType::I16, &[dates, 2, 4, 3], &values).unwrap()
    }

    fn stored(store: &Store, key: &str) -> Option<Vec<u8>> {
        let key = zarrs::storage::StoreKey::new(key).unwrap();
        store.get(&key).unwrap().map(|b| b.to_vec())
    }

    /// The array `def` twice, in two memory stores under [`ROOT`]: one for our encoder, one
    /// zarrs writes itself with its inner chunks in C order.
    fn ours_and_zarrs(def: &ArrayDef, compression: Compression) -> (Store, ZArray, Store, ZArray) {
        let ours: Store = Arc::new(MemoryStore::new());
        let theirs: Store = Arc::new(MemoryStore::new());
        let a = create_array(Path::new(ROOT), &ours, def, Version::V3, compression).unwrap();
        let b = create_array(Path::new(ROOT), &theirs, def, Version::V3, compression).unwrap();
        let c_order = CodecSpecificOptions::default().with_option(
            ShardingCodecOptions::default().with_subchunk_write_order(SubchunkWriteOrder::C),
        );
        (ours, a, theirs, b.with_codec_specific_options(&c_order))
    }

    const ROOT: &str = "memory";

    #[test]
    fn shards_are_the_bytes_zarrs_writes_in_c_order() {
        // 11 of 13 dates in chunks of 4: full chunks, a padded one, one past the series, and a
        // chunk of zeros inside it (dates 4..8), with two compressions.
        let cases = [
            (Compression::BloscZstd(1, Shuffle::Bit), vec![4, 5, 6, 7]),
            (Compression::Zstd(3), vec![]),
            (Compression::None, vec![0]),
        ];
        for (compression, zero) in cases {
            let patch = series(11, &zero);
            let (ours, a, theirs, b) = ours_and_zarrs(&def(DType::I16, 13, 4), compression);
            let shards = ShardEncoder::of(&a).expect("a series array");
            let shard = shards.encode(&patch.le_bytes()).unwrap().unwrap();
            unsafe { a.store_encoded_chunk(&[1, 0, 0, 0, 0], shard.into()) }.unwrap();
            write_block(Path::new(ROOT), &b, 1, &as_row(patch)).unwrap();
            let key = "S2/c/1/0/0/0/0";
            assert!(stored(&ours, key).is_some());
            assert_eq!(stored(&ours, key), stored(&theirs, key), "{compression:?}");
        }
    }

    #[test]
    fn annotation_shards_from_rows_encoded_one_by_one_are_the_bytes_zarrs_writes() {
        // 7 patches in shards of 4: a full group with a row of zeros, then a short last group
        // whose shard reaches past the array.
        let def = ArrayDef {
            name: "HEATMAP".into(),
            kind: Kind::Number(DType::F64),
            shape: vec![7, 4, 3],
            chunk: vec![1, 4, 3],
            shard: Some(vec![4, 4, 3]),
            dimension_names: ["patch", "y", "x"].map(String::from).to_vec(),
            attributes: Map::new(),
        };
        let row = |p: usize| {
            let v: Vec<u8> = (0..12)
                .flat_map(|i| {
                    let x = if p == 2 {
                        0.0
                    } else {
                        (p * 100 + i) as f64 / 7.0
                    };
                    x.to_le_bytes()
                })
                .collect();
            Array::from_le_bytes(DType::F64, &[4, 3], &v).unwrap()
        };
        for compression in [Compression::BloscZstd(1, Shuffle::Bit), Compression::None] {
            let (ours, a, theirs, b) = ours_and_zarrs(&def, compression);
            let shards = ShardEncoder::of(&a).expect("an annotation array");
            assert_eq!((shards.chunks(), shards.chunk_bytes()), (4, 96));
            for (group, patches) in [(0, 0..4), (1, 4..7)] {
                let encoded: Vec<Option<Vec<u8>>> = (group * 4..group * 4 + 4)
                    .map(|p| match patches.contains(&p) {
                        true => shards.encode_chunk(&row(p).le_bytes()).unwrap(),
                        false => None,
                    })
                    .collect();
                assert_eq!(
                    encoded[2].is_none(),
                    group == 0,
                    "a row of zeros is not stored"
                );
                let shard = shards.assemble(encoded).unwrap().unwrap();
                unsafe { a.store_encoded_chunk(&[group as u64, 0, 0], shard.into()) }.unwrap();
                let rows: Vec<Array> = patches.map(row).collect();
                write_block(
                    Path::new(ROOT),
                    &b,
                    group * 4,
                    &Array::stack(&rows).unwrap(),
                )
                .unwrap();
                let key = format!("HEATMAP/c/{group}/0/0");
                assert!(stored(&ours, &key).is_some());
                assert_eq!(
                    stored(&ours, &key),
                    stored(&theirs, &key),
                    "{compression:?}"
                );
            }
        }
    }

    #[test]
    fn a_series_of_zeros_is_no_shard_and_too_many_dates_are_refused() {
        let store: Store = Arc::new(MemoryStore::new());
        let a = create_array(
            Path::new("m"),
            &store,
            &def(DType::I16, 13, 4),
            Version::V3,
            Compression::Zstd(1),
        )
        .unwrap();
        let shards = ShardEncoder::of(&a).unwrap();
        let zeros = Array::zeros(DType::I16, &[5, 2, 4, 3]);
        assert_eq!(shards.encode(&zeros.le_bytes()).unwrap(), None);
        assert!(shards.encode(&series(17, &[]).le_bytes()).is_err());
    }

    #[test]
    fn only_sharded_arrays_with_chunks_along_one_axis_qualify() {
        let store: Store = Arc::new(MemoryStore::new());
        let root = Path::new("m");
        let v2 = create_array(
            root,
            &store,
            &def(DType::I16, 8, 4),
            Version::V2,
            Compression::Zstd(1),
        );
        assert!(ShardEncoder::of(&v2.unwrap()).is_none());
        let mut windows = def(DType::U8, 8, 4);
        windows.name = "SPOT".into();
        windows.chunk = vec![1, 4, 2, 2, 3];
        windows.shard = Some(vec![1, 8, 2, 4, 3]);
        let spot = create_array(root, &store, &windows, Version::V3, Compression::Zstd(1));
        assert!(ShardEncoder::of(&spot.unwrap()).is_none());
    }
}
