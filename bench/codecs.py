"""Codec study for the Zarr defaults (issue #17): ratio and single-thread speed per layer kind.

    python bench/codecs.py SRC [--patches N] [--repeat R] [--markdown]

SRC is a PASTIS folder (e.g. `pastis-bridge synth DIR --patches 8 --radar --size 128
--date-scale 1.0 --seed 1`). The chunks are the ones the Zarr writer stores: one date of one
patch for a series (S2 `(10, 128, 128)` int16, S1A/S1D `(3, 128, 128)` float16), one patch for an
annotation (TARGET uint8, INSTANCES/ZONES int64, ParcelIDs int32, HEATMAP float64). Every chunk
is encoded by each codec of numcodecs (the same C libraries zarrs links: c-blosc 1.x, libzstd),
on one thread (Blosc's own threads off), timed with `time.process_time` (CPU seconds, steady on a
shared machine; best of R passes). Ratio = raw bytes / encoded bytes over all chunks of a kind;
MB/s = raw MB per CPU second of encoding (decode speed in the last column).
"""

import argparse
import glob
import os
import time

import numcodecs
import numpy as np
from numcodecs import Blosc, Zstd

KINDS = {
    "S2 int16": ["DATA_S2/S2_*.npy"],
    "S1 float16": ["DATA_S1A/S1A_*.npy", "DATA_S1D/S1D_*.npy"],
    "labels (TARGET u8, ParcelIDs i32, INSTANCES/ZONES i64)": [
        "ANNOTATIONS/TARGET_*.npy",
        "ANNOTATIONS/ParcelIDs_*.npy",
        "INSTANCE_ANNOTATIONS/INSTANCES_*.npy",
        "INSTANCE_ANNOTATIONS/ZONES_*.npy",
    ],
    "HEATMAP float64": ["INSTANCE_ANNOTATIONS/HEATMAP_*.npy"],
}


def codecs():
    """(name, numcodecs codec) pairs; typesize comes from the chunk's dtype (Blosc does that).
    Blosc's block is its automatic choice (32 KiB at level 1) unless the name says 256K, the
    block pastis-bridge writes (src/formats/zarr/arrays.rs, BLOSC_BLOCKSIZE)."""
    out = [(f"zstd {lv}", Zstd(level=lv)) for lv in (1, 3, 5, 9)]
    shuffles = ((Blosc.SHUFFLE, "shuffle"), (Blosc.BITSHUFFLE, "bitshuffle"))
    for shuffle, sname in shuffles:
        for lv in (1, 3, 5):
            out.append((f"blosc zstd {lv} {sname}", Blosc("zstd", lv, shuffle)))
        for lv in (1, 2):
            codec = Blosc("zstd", lv, shuffle, blocksize=256 * 1024)
            out.append((f"blosc zstd {lv} {sname} 256K", codec))
    for shuffle, sname in shuffles:
        out.append((f"blosc lz4 5 {sname}", Blosc("lz4", 5, shuffle)))
    for lv in (1, 5, 9):
        codec = Blosc("lz4", lv, Blosc.BITSHUFFLE, blocksize=256 * 1024)
        out.append((f"blosc lz4 {lv} bitshuffle 256K", codec))
    out.append(("blosc lz4hc 1 bitshuffle 256K",
                Blosc("lz4hc", 1, Blosc.BITSHUFFLE, blocksize=256 * 1024)))
    return out


def chunks(src, patterns, patches):
    """The stored chunks of a kind: one per date for series (4-d), the whole array otherwise."""
    out = []
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(src, pattern)))[:patches]:
            a = np.load(path)
            if a.ndim == 4:
                out.extend(np.ascontiguousarray(a[t]) for t in range(a.shape[0]))
            else:
                out.append(a)
    return out


def measure(codec, data, repeat):
    """(ratio, encode MB/s, decode MB/s) over `data`, CPU time of the best pass."""
    raw = sum(c.nbytes for c in data)
    best_enc = best_dec = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        encoded = [codec.encode(c) for c in data]
        t1 = time.process_time()
        for e, c in zip(encoded, data):
            codec.decode(e, out=np.empty_like(c))
        t2 = time.process_time()
        best_enc, best_dec = min(best_enc, t1 - t0), min(best_dec, t2 - t1)
    size = sum(len(e) for e in encoded)
    return raw / size, raw / 1e6 / max(best_enc, 1e-9), raw / 1e6 / max(best_dec, 1e-9)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("--patches", type=int, default=8, help="patches per layer (default 8)")
    ap.add_argument("--repeat", type=int, default=3, help="passes, best kept (default 3)")
    ap.add_argument("--only", action="append", default=[],
                    help="measure only codecs whose name contains this (repeatable)")
    args = ap.parse_args()
    numcodecs.blosc.use_threads = False
    numcodecs.blosc.set_nthreads(1)
    print(f"numcodecs {numcodecs.__version__}, blosc {numcodecs.blosc.VERSION_STRING}; "
          f"{args.patches} patches of {args.src}; one thread, CPU time, best of {args.repeat}\n")
    for kind, patterns in KINDS.items():
        data = chunks(args.src, patterns, args.patches)
        raw = sum(c.nbytes for c in data)
        print(f"### {kind}: {len(data)} chunks, {raw / 1e6:.1f} MB\n")
        print("| codec | ratio | encode MB/s | decode MB/s |")
        print("|---|---|---|---|")
        for name, codec in codecs():
            if args.only and not any(word in name for word in args.only):
                continue
            ratio, enc, dec = measure(codec, data, args.repeat)
            print(f"| {name} | {ratio:.3f} | {enc:.0f} | {dec:.0f} |", flush=True)
        print()


if __name__ == "__main__":
    main()
