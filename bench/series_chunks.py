"""How the inner chunk of a series (dates per chunk) changes zarr-python reads (issues #21, #17).

usage: python bench/series_chunks.py SRC_FOLDER STORE.zarr WORKDIR [--k 1,4,8,16,all,whole]
                                     [--sats S2,S1A,S1D] [--cold] [--rounds N]

Copies STORE.zarr (written by pastis-bridge) into WORKDIR once per variant and rewrites its series
arrays with zarr-python: shard = one patch as before, inner chunk = k dates (`all`: one inner chunk
holding the whole padded series; `whole`: no sharding, one chunk per patch). Each patch's series is
written as whole chunks (zero padding only up to the chunk boundary, as the Rust writer does), so
chunks past the series' own dates stay unwritten. Then, per variant, it times:

- `PASTISZarrDataset(STORE, sats=SATS)[i]` for every patch (the loader's item, norm, TARGET[0]),
  against the reference loader's numpy work on SRC_FOLDER (bench/python_loader.py's NpyItems);
- one date of every series of every patch (`S2[i, t]`, t the middle date: what a `mono_date`
  item needs at least);
- a sub-series `S2[i, a:a+8]` of every patch (a = T // 3).

`--cold` drops the page cache (root) before each side of each round, otherwise one untimed round
warms it. Prints a Markdown table of per-item medians. Not part of the test suite.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from python_loader import NpyItems  # noqa: E402

from pastis_bridge import PASTISZarrDataset  # noqa: E402

SERIES = ("S2", "S1A", "S1D")


def drop_caches():
    subprocess.run(["sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches"], check=True)


def rechunk(source, target, k):
    """Copies `source` to `target` with series inner chunks of `k` dates (`all`, `whole`)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    src = zarr.open_group(source, mode="r")
    for name in SERIES:
        if name not in src:
            continue
        old = src[name]
        n, tmax = old.shape[:2]
        dates = tmax if k in ("all", "whole") else int(k)
        padded = -(-tmax // dates) * dates
        chunk = (1, dates, *old.shape[2:])
        shutil.rmtree(target / name)
        new = zarr.create_array(
            str(target),
            name=name,
            shape=old.shape,
            dtype=old.dtype,
            chunks=chunk,
            shards=None if k == "whole" else (1, padded, *old.shape[2:]),
            compressors=BloscCodec(cname="zstd", clevel=1, shuffle="bitshuffle", typesize=old.dtype.itemsize, blocksize=262144),
            fill_value=0,
            dimension_names=old.metadata.dimension_names,
            zarr_format=3,
        )
        lengths = src[f"{name}_length"][:]
        for row in range(n):
            t = int(lengths[row])
            if t == 0:
                continue
            end = min(-(-t // dates) * dates, tmax)
            block = np.zeros((1, end, *old.shape[2:]), dtype=old.dtype)
            block[0, :t] = old[row, :t]
            new[row : row + 1, :end] = block
    zarr.consolidate_metadata(str(target))


def time_items(dataset, cpu=None):
    times = []
    start_cpu = time.process_time()
    for i in range(len(dataset)):
        start = time.perf_counter()
        dataset[i]
        times.append(time.perf_counter() - start)
    if cpu is not None:
        cpu.append((time.process_time() - start_cpu) / max(len(dataset), 1))
    return times


class OneDate:
    """The middle date of every series of a patch (what a mono_date item needs at least)."""

    def __init__(self, store, sats):
        root = zarr.open_group(store, mode="r")
        self.arrays = {s: root[s] for s in sats}
        self.lengths = {s: root[f"{s}_length"][:] for s in sats}

    def __len__(self):
        return len(next(iter(self.lengths.values())))

    def __getitem__(self, i):
        return {s: a[i, int(self.lengths[s][i]) // 2] for s, a in self.arrays.items()}


class SubSeries:
    """`S2[i, a:a+8]`, a = T // 3: a window of 8 dates of each patch's S2."""

    def __init__(self, store):
        root = zarr.open_group(store, mode="r")
        self.array, self.lengths = root["S2"], root["S2_length"][:]

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, i):
        a = int(self.lengths[i]) // 3
        return self.array[i, a : a + 8]


def measure(sides, rounds, cold):
    """Per side: median wall ms per item, and (key `NAME cpu`) mean CPU ms per item."""
    results = {name: [] for name in sides}
    cpu = {name: [] for name in sides}
    for _ in range(rounds):
        for name, dataset in sides.items():
            if cold:
                drop_caches()
            else:
                time_items(dataset)
            results[name].extend(time_items(dataset, cpu[name]))
    out = {name: statistics.median(t) * 1e3 for name, t in results.items()}
    out.update({f"{name} cpu": statistics.mean(c) * 1e3 for name, c in cpu.items()})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src")
    parser.add_argument("store", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--k", default="1,4,8,16,all,whole")
    parser.add_argument("--sats", default="S2,S1A,S1D")
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="reuse variants already in WORKDIR")
    args = parser.parse_args()
    sats = args.sats.split(",")
    args.workdir.mkdir(parents=True, exist_ok=True)
    npy = NpyItems(args.src, sats)
    cache = "cold" if args.cold else "warm"
    print(f"sats {','.join(sats)}, page cache {cache}, {args.rounds} rounds, per-item medians; the .npy side is timed again beside each variant")
    print("| inner chunk (dates) | store MB | `.npy` item ms (CPU) | Zarr item ms (CPU) | Zarr / npy | one date ms | S2[i, a:a+8] ms |")
    print("|---|---|---|---|---|---|---|")
    for k in args.k.split(","):
        variant = args.workdir / f"k{k}.zarr"
        if not (args.keep and variant.exists()):
            rechunk(args.store, variant, k)
        size = sum(f.stat().st_size for f in variant.rglob("*") if f.is_file()) / 1e6
        sides = {
            "npy": npy,
            "item": PASTISZarrDataset(str(variant), sats=sats),
            "one": OneDate(str(variant), sats),
            "sub": SubSeries(str(variant)),
        }
        ms = measure(sides, args.rounds, args.cold)
        print(f"| {k} | {size:.0f} | {ms['npy']:.0f} ({ms['npy cpu']:.0f}) | {ms['item']:.0f} ({ms['item cpu']:.0f}) | {ms['item'] / ms['npy']:.2f} | {ms['one']:.1f} | {ms['sub']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
