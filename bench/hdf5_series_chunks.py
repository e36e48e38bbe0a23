"""How the series chunk (dates per chunk) changes h5py reads of a pastis-bridge HDF5 file (#17).

usage: python bench/hdf5_series_chunks.py FILE.h5 WORKDIR [--k 1,8,all] [--cold] [--rounds N] [--keep]

Rewrites FILE.h5 once per variant with `h5repack` (same filters, series chunk (1, k, C, H, W)) and
times with plain h5py, per patch: `S2[i, :T]`, `S1A[i, :T]`, `S1D[i, :T]` as float32 and
`TARGET[i, 0]` (a loader's item), and one date of each series (`S2[i, T // 2]`...). `--cold`
drops the page cache (root) before each variant's round. Prints a Markdown table of per-item
medians, and the mean CPU time (user + system) per item. `--keep` reuses variants already in
WORKDIR. Not part of the test suite.
"""

import argparse
import statistics
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np

SERIES = ("S2", "S1A", "S1D")


def repack(source, target, k):
    with h5py.File(source, "r") as f:
        layouts = []
        for name in SERIES:
            if name in f:
                shape = f[name].shape
                dates = shape[1] if k == "all" else int(k)
                layouts += ["-l", f"{name}:CHUNK=" + "x".join(map(str, (1, dates, *shape[2:])))]
    if target.exists():
        target.unlink()
    subprocess.run(["h5repack", *layouts, str(source), str(target)], check=True)


def items(path, one_date):
    with h5py.File(path, "r") as f:
        arrays = {s: f[s] for s in SERIES if s in f}
        lengths = {s: f[f"{s}_length"][:] for s in arrays}
        times = []
        cpu = time.process_time()
        for i in range(f["ID_PATCH"].shape[0]):
            start = time.perf_counter()
            for s, a in arrays.items():
                t = int(lengths[s][i])
                if one_date:
                    a[i, t // 2]
                else:
                    a[i, :t].astype(np.float32)
            if not one_date:
                f["TARGET"][i, 0].astype(np.int64)
            times.append(time.perf_counter() - start)
        items.cpu.append((time.process_time() - cpu) / max(len(times), 1))
        return times


items.cpu = []


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--k", default="1,8,all")
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print("| series chunk (dates) | file MB | item ms (CPU) | one date ms (CPU) |")
    print("|---|---|---|---|")
    for k in args.k.split(","):
        variant = args.workdir / f"k{k}.h5"
        if not (args.keep and variant.exists()):
            repack(args.file, variant, k)
        ms = {}
        for side, one in (("item", False), ("one", True)):
            times = []
            items.cpu.clear()
            for _ in range(args.rounds):
                if args.cold:
                    subprocess.run(["sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches"], check=True)
                else:
                    items(variant, one)
                times += items(variant, one)
            ms[side] = statistics.median(times) * 1e3
            ms[f"{side} cpu"] = statistics.mean(items.cpu[-args.rounds:]) * 1e3
        print(f"| {k} | {variant.stat().st_size / 1e6:.0f} | {ms['item']:.0f} ({ms['item cpu']:.0f}) | {ms['one']:.1f} ({ms['one cpu']:.1f}) |", flush=True)


if __name__ == "__main__":
    main()
