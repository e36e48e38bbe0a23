"""The codec floor of the Zarr benchmark: read every .npy file, cut it into the chunks the Zarr
writer stores, and compress them with pastis-bridge's default codec on JOBS threads.

    python bench/codec_floor.py SRC OUT [--jobs N]

Chunks: 8 dates of a series (the last chunk zero-padded to 8), one patch of an annotation. Codec: numcodecs' Blosc (the c-blosc
1.x zarrs links), zstd level 1, bit shuffle, 256 KiB blocks, Blosc's own threads off; the chunks
of a file are compressed concurrently on a thread pool (numcodecs releases the GIL). The
compressed bytes are concatenated into OUT, so its size is the codec's output without any
container. This includes reading the input, so it is at least the larger of the `cat` floor and
the codec alone; everything a converter does beyond it is overhead.
"""

import argparse
import os
from concurrent.futures import ThreadPoolExecutor

import numcodecs
import numpy as np
from numcodecs import Blosc

CODEC = Blosc(cname="zstd", clevel=1, shuffle=Blosc.BITSHUFFLE, blocksize=256 * 1024)


SERIES_CHUNK_DATES = 8  # pastis-bridge's Zarr series chunk (stacked::SERIES_CHUNK_DATES)


def chunks(path):
    a = np.load(path)
    if a.ndim != 4:
        return [a]
    out = []
    for t in range(0, a.shape[0], SERIES_CHUNK_DATES):
        chunk = np.zeros((SERIES_CHUNK_DATES, *a.shape[1:]), a.dtype)
        part = a[t : t + SERIES_CHUNK_DATES]
        chunk[: len(part)] = part
        out.append(chunk)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    args = ap.parse_args()
    numcodecs.blosc.use_threads = False
    files = sorted(
        os.path.join(d, f) for d, _, fs in os.walk(args.src) for f in fs if f.endswith(".npy")
    )
    with ThreadPoolExecutor(args.jobs) as pool, open(args.out, "wb") as out:
        for path in files:
            for encoded in pool.map(CODEC.encode, chunks(path)):
                out.write(encoded)


if __name__ == "__main__":
    main()
