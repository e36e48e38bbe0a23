//! Chunks encoded in the writer's threads and stored with HDF5's direct chunk write.
//!
//! HDF5 runs its filter pipeline inside `H5Dwrite`, under the library's global lock, so a
//! compressed file is written by one core. For the pipelines whose byte format is fixed and
//! simple (shuffle, zlib deflate, none), each chunk is encoded here, outside any lock, and only
//! the storing (`H5Dwrite_chunk`, filter mask 0: every filter applied) is serialised. Readers see
//! the same file as if HDF5 had filtered the chunks itself: the dataset's filter pipeline is
//! unchanged and undoes exactly these steps.

use super::DEFAULT_DEFLATE_LEVEL;
use crate::formats::Compression;
use crate::model::cast::{self, CastError};
use crate::model::{Array, DType};
use flate2::write::ZlibEncoder;
use hdf5::Dataset;
use hdf5_sys::h5::hsize_t;
use hdf5_sys::h5d::H5Dwrite_chunk;
use hdf5_sys::h5p::H5P_DEFAULT;
use std::borrow::Cow;
use std::io::Write;

/// How the chunks of the data arrays are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkCodec {
    /// Encoded in the calling thread: HDF5's shuffle (if `shuffle`), then a zlib stream at
    /// `deflate`'s level (if any), the format of HDF5's deflate filter (`compress2`).
    Direct {
        /// Byte transposition by element size (HDF5's shuffle filter).
        shuffle: bool,
        /// zlib level 1..=9, `None` for no deflate.
        deflate: Option<u32>,
    },
    /// Left to HDF5's own filter pipeline (lzf, blosc), written under the lock.
    Library,
}

impl ChunkCodec {
    /// The codec of a compression choice; must agree with [`super::filters`].
    /// (The encoded bytes are little-endian, the crate's only supported host order.)
    pub fn for_compression(compression: Option<Compression>) -> ChunkCodec {
        match compression {
            None => ChunkCodec::Direct {
                shuffle: true,
                deflate: Some(u32::from(DEFAULT_DEFLATE_LEVEL)),
            },
            Some(Compression::Gzip(level)) if (1..=9).contains(&level) => ChunkCodec::Direct {
                shuffle: true,
                deflate: Some(level),
            },
            Some(Compression::None) => ChunkCodec::Direct {
                shuffle: false,
                deflate: None,
            },
            Some(_) => ChunkCodec::Library,
        }
    }

    /// Encodes one chunk of raw little-endian elements of `element_size` bytes.
    pub fn encode(self, raw: Cow<'_, [u8]>, element_size: usize) -> Vec<u8> {
        let ChunkCodec::Direct {
            shuffle: s,
            deflate,
        } = self
        else {
            return raw.into_owned();
        };
        let bytes = match s {
            true => Cow::Owned(shuffle(&raw, element_size)),
            false => raw,
        };
        match deflate {
            Some(level) => zlib(&bytes, level),
            None => bytes.into_owned(),
        }
    }
}

/// HDF5's shuffle filter: byte `b` of every element, for each `b` in turn. Trailing bytes that
/// do not make a whole element are kept at the end, as HDF5 does.
pub fn shuffle(raw: &[u8], element_size: usize) -> Vec<u8> {
    let n = raw.len() / element_size.max(1);
    if element_size <= 1 || n == 0 {
        return raw.to_vec();
    }
    let mut out = vec![0u8; raw.len()];
    for (b, plane) in out.chunks_exact_mut(n).take(element_size).enumerate() {
        for (dst, element) in plane.iter_mut().zip(raw.chunks_exact(element_size)) {
            *dst = element[b];
        }
    }
    let whole = n * element_size;
    out[whole..].copy_from_slice(&raw[whole..]);
    out
}

/// A zlib stream (header, deflate, adler32) at `level`, as HDF5's deflate filter stores it.
fn zlib(bytes: &[u8], level: u32) -> Vec<u8> {
    let out = Vec::with_capacity(bytes.len() / 2 + 64);
    let mut encoder = ZlibEncoder::new(out, flate2::Compression::new(level));
    // Writing into a Vec cannot fail.
    match encoder.write_all(bytes).and_then(|_| encoder.finish()) {
        Ok(compressed) => compressed,
        Err(e) => unreachable!("in-memory zlib: {e}"),
    }
}

/// One encoded chunk and where it goes (offset in elements along every axis).
#[derive(Debug)]
pub struct EncodedChunk {
    /// Chunk origin in elements, one entry per axis of the dataset.
    pub offset: Vec<hsize_t>,
    /// The filtered bytes.
    pub bytes: Vec<u8>,
}

/// The chunks of one patch at `row` of a stacked array of element type `stored`, encoded one at
/// a time as the iterator is consumed (a writer holds one encoded chunk per thread, never a whole
/// patch): for a series, one per `dates` dates (chunk `(1, dates, ...)`; the last one zero-padded
/// up to the chunk boundary, never further: chunks past the series' length are left to the fill
/// value), the whole patch otherwise (chunk `(1, ...)`, `dates` = None). The array must already
/// fit the stacked shape ([`StackedArray::check`](crate::formats::stacked::StackedArray::check));
/// where its own dtype is narrower than `stored`, each chunk is widened exactly on its own
/// ([`cast::widen_le_bytes`]).
///
/// # Errors
/// An item is [`CastError::NotHeld`] if `stored` does not hold the array's dtype.
pub fn encode_chunks(
    codec: ChunkCodec,
    array: &Array,
    row: usize,
    dates: Option<usize>,
    stored: DType,
) -> impl Iterator<Item = Result<EncodedChunk, CastError>> + '_ {
    let raw = array.le_bytes();
    let shape = array.shape().to_vec();
    let own = array.dtype();
    let dates = dates.map(|d| d.max(1));
    let t = shape.first().copied().unwrap_or(0);
    // Chunks, and the source bytes of a whole chunk.
    let (count, per_chunk) = match dates {
        Some(dates) => (
            t.div_ceil(dates),
            raw.len().checked_div(t).unwrap_or(0) * dates,
        ),
        None => (1, raw.len()),
    };
    // A whole chunk's bytes once stored, for the zero padding of a series' last chunk.
    let stored_chunk = per_chunk / own.size().max(1) * stored.size();
    (0..count).map(move |i| {
        let mut offset = vec![0 as hsize_t; shape.len() + 1];
        offset[0] = row as hsize_t;
        if let (Some(dates), Some(time)) = (dates, offset.get_mut(1)) {
            *time = (i * dates) as hsize_t;
        }
        let end = ((i + 1) * per_chunk).min(raw.len());
        let part = raw.get(i * per_chunk..end).unwrap_or_default();
        let mut part = match own == stored {
            true => Cow::Borrowed(part),
            false => Cow::Owned(cast::widen_le_bytes(part, own, stored)?),
        };
        if part.len() < stored_chunk {
            part.to_mut().resize(stored_chunk, 0);
        }
        Ok(EncodedChunk {
            offset,
            bytes: codec.encode(part, stored.size()),
        })
    })
}

/// Stores a chunk already filtered by every filter of `dataset`'s pipeline.
pub fn write_chunk(dataset: &Dataset, chunk: &EncodedChunk) -> hdf5::Result<()> {
    hdf5::sync::sync(|| {
        // SAFETY: the dataset id is valid while `dataset` lives, `offset` has one entry per
        // axis of the dataset and `bytes` outlives the call; HDF5 copies the buffer.
        let status = unsafe {
            H5Dwrite_chunk(
                dataset.id(),
                H5P_DEFAULT,
                0,
                chunk.offset.as_ptr(),
                chunk.bytes.len(),
                chunk.bytes.as_ptr().cast(),
            )
        };
        hdf5::h5check(status).map(drop)
    })
}

#[cfg(test)]
mod tests {
    use super::super::{filters, patch_selection, type_descriptor};
    use super::*;
    use crate::with_dtype;
    use ndarray::IxDyn;

    /// Pseudo-random element bytes (0/1 for bool) of `n` elements of `dtype`.
    fn random_array(dtype: DType, shape: &[usize], seed: u64) -> Array {
        let n: usize = shape.iter().product::<usize>() * dtype.size();
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let bytes: Vec<u8> = (0..n)
            .map(|i| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                // Runs of equal bytes give deflate something to find, like real imagery.
                let b = ((x >> 33) as u8) & if i % 64 < 32 { 0x0f } else { 0xff };
                if dtype == DType::Bool {
                    b & 1
                } else {
                    b
                }
            })
            .collect();
        Array::from_le_bytes(dtype, shape, &bytes).unwrap()
    }

    /// Writes patches through direct chunks into a dataset with HDF5's pipeline for
    /// `compression`, then checks that HDF5 reads back every patch, padding zeroed.
    fn round_trip(compression: Option<Compression>, dtype: DType, series: bool) {
        let codec = ChunkCodec::for_compression(compression);
        assert!(
            matches!(codec, ChunkCodec::Direct { .. }),
            "{compression:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = hdf5::File::create(dir.path().join("t.h5")).unwrap();
        // Series in chunks of 3 dates over 4: the second chunk reaches past the extent.
        let (stacked, chunk): (Vec<usize>, Vec<usize>) = match series {
            true => (vec![3, 4, 2, 5, 6], vec![1, 3, 2, 5, 6]),
            false => (vec![3, 2, 5, 6], vec![1, 2, 5, 6]),
        };
        let ds = file
            .new_dataset_builder()
            .chunk(chunk)
            .set_filters(&filters(compression).unwrap())
            .empty_as(type_descriptor(dtype))
            .shape(stacked.clone())
            .create("data")
            .unwrap();
        // Row 0 full, row 2 a short (padded) series, row 1 never written.
        let lengths = [(0, 4, 7), (2, if series { 2 } else { 4 }, 9)];
        let mut written = vec![];
        for (row, len, seed) in lengths {
            let mut shape = stacked[1..].to_vec();
            if series {
                shape[0] = len;
            }
            let array = random_array(dtype, &shape, seed);
            let chunks: Vec<_> = encode_chunks(codec, &array, row, series.then_some(3), dtype)
                .map(Result::unwrap)
                .collect();
            // A full series of 4 dates is 2 chunks, the short one (2 dates) 1 padded chunk.
            let expected = if series { len.div_ceil(3) } else { 1 };
            assert_eq!(chunks.len(), expected, "row {row}");
            for c in chunks {
                write_chunk(&ds, &c).unwrap();
            }
            written.push((row, array));
        }
        for (row, array) in &written {
            let len = series.then(|| array.shape()[0]);
            let back = with_dtype!(dtype, T => ds
                .read_slice::<T, _, IxDyn>(patch_selection(&stacked, *row, len))
                .map(Array::from_ndarray))
            .unwrap();
            assert_eq!(back.to_le_bytes(), array.to_le_bytes(), "{dtype} row {row}");
        }
        // Padding dates and the unwritten row read as the fill value.
        let all = with_dtype!(dtype, T => ds
            .read_dyn::<T>()
            .map(Array::from_ndarray))
        .unwrap();
        let row_bytes = all.to_le_bytes().len() / 3;
        let bytes = all.to_le_bytes();
        assert!(bytes[row_bytes..2 * row_bytes].iter().all(|&b| b == 0));
        if series {
            let date = row_bytes / 4;
            assert!(bytes[2 * row_bytes + 2 * date..].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn direct_chunks_read_back_through_the_hdf5_pipeline() {
        let compressions = [None, Some(Compression::None), Some(Compression::Gzip(1))];
        for compression in compressions {
            for dtype in [DType::F16, DType::I64, DType::I16, DType::U8, DType::Bool] {
                for series in [true, false] {
                    round_trip(compression, dtype, series);
                }
            }
        }
    }

    #[test]
    fn narrower_patches_are_widened_chunk_by_chunk() {
        // A float16 series (with NaN payloads) stored into a float32 stacked array, as HDF5's
        // default FLOAT16=FLOAT32 does: each date's chunk is widened on its own and reads back
        // as the whole array widened at once.
        let codec = ChunkCodec::for_compression(None);
        let dir = tempfile::tempdir().unwrap();
        let file = hdf5::File::create(dir.path().join("t.h5")).unwrap();
        let ds = file
            .new_dataset_builder()
            .chunk(vec![1, 1, 2, 5, 6])
            .set_filters(&filters(None).unwrap())
            .empty_as(type_descriptor(DType::F32))
            .shape(vec![2, 4, 2, 5, 6])
            .create("data")
            .unwrap();
        let mut array = random_array(DType::F16, &[3, 2, 5, 6], 3);
        let bits = [0x7C01u16, 0xFE00, 0x3C00, 0x8000];
        array.le_bytes_mut().unwrap()[..8].copy_from_slice(bytemuck::cast_slice(&bits));
        let chunks: Vec<EncodedChunk> = encode_chunks(codec, &array, 1, Some(1), DType::F32)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(chunks.len(), 3);
        for c in &chunks {
            write_chunk(&ds, c).unwrap();
        }
        let back = ds
            .read_slice::<f32, _, IxDyn>(patch_selection(&[2, 4, 2, 5, 6], 1, Some(3)))
            .map(Array::from_ndarray)
            .unwrap();
        let widened = cast::widen(&array, DType::F32).unwrap();
        assert_eq!(back.to_le_bytes(), widened.to_le_bytes());
        // A type that does not hold the patch's is refused, not truncated.
        let refused = encode_chunks(codec, &array, 1, Some(1), DType::I16)
            .next()
            .unwrap();
        assert!(
            matches!(refused, Err(CastError::NotHeld { .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn other_compressions_stay_with_the_library() {
        for c in [Compression::Lzf, Compression::Zstd(3)] {
            assert_eq!(ChunkCodec::for_compression(Some(c)), ChunkCodec::Library);
        }
    }

    #[test]
    fn shuffle_transposes_bytes_by_element() {
        assert_eq!(
            shuffle(&[1, 2, 3, 4, 5, 6, 7], 2),
            vec![1, 3, 5, 2, 4, 6, 7]
        );
        assert_eq!(shuffle(&[1, 2, 3], 1), vec![1, 2, 3]);
        assert_eq!(shuffle(&[1, 2, 3], 4), vec![1, 2, 3]);
    }
}
