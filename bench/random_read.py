"""Random-order read of every patch: zarr-python on a pastis-bridge store against np.load of the
original `.npy` folder (issue #17, read side). Not part of the test suite; see bench/README.md.

usage: python bench/random_read.py SRC_FOLDER STORE.zarr [--cache cold,warm] [--rounds N] [--seed S]
                                   [--tsv RESULTS.tsv --size N]

Every side reads, patch by patch in the same random order (one permutation per round, `--seed`),
every layer an ML user reads: S2, S1A, S1D, TARGET, INSTANCES, ZONES, HEATMAP.

- `np.load`: each `.npy` file of the patch;
- `zarr-python, concurrent`: the recipe of docs/python.md ("Reading patches with zarr-python"): the
  `getitem` coroutines of the patch's arrays (`root[LAYER].async_array`) gathered on zarr's event
  loop (`zarr.core.sync.sync`), `LAYER[row, :LAYER_length[row]]` for a series, `LAYER[row]` for an
  annotation, on a group opened once (consolidated metadata), as a training loop would;
- `zarr-python, one array after another`: the same selections as plain `root[LAYER][...]` calls;
- `zarr-python + zarrs pipeline`: the concurrent recipe with the codec pipeline of the `zarrs` Python
  package (`zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"})`: chunks fetched and
  decoded in Rust, by the same zarrs crate pastis-bridge writes with), if that package is installed.

Cold (default; root: the page cache is dropped with `/proc/sys/vm/drop_caches` before each side of
each round) and/or warm (`--cache warm`: one untimed pass first). All sides must read the same
number of bytes. Prints a Markdown table: per side, the best wall time of the rounds, the MB/s of
decoded bytes, the CPU time (user + system, every thread) of that round, every round's wall time,
and the ratio to `np.load`; with the load average, since the machine may be shared. With `--tsv`,
every round of every side is also appended to bench/run.sh's results file (task `random`, sides
`npy`, `zarr`, `zarrseq`, `zarrs`; the decoded bytes as output bytes), which bench/report.py reads.
"""

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import time
from pathlib import Path

import numcodecs
import numpy as np
import zarr
from zarr.core.sync import sync

LAYERS = {"S2": "DATA_S2", "S1A": "DATA_S1A", "S1D": "DATA_S1D", "TARGET": "ANNOTATIONS",
          "INSTANCES": "INSTANCE_ANNOTATIONS", "ZONES": "INSTANCE_ANNOTATIONS",
          "HEATMAP": "INSTANCE_ANNOTATIONS"}
SERIES = ("S2", "S1A", "S1D")


def drop_caches():
    subprocess.run(["sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches"], check=True)


def read_npy(folder, ids, order):
    total = 0
    for row in order:
        for layer, sub in LAYERS.items():
            path = folder / sub / f"{layer}_{ids[row]}.npy"
            if path.exists():
                total += np.load(path).nbytes
    return total


class ZarrPatches:
    """The store's layers and per-patch columns, opened once (consolidated metadata)."""

    def __init__(self, store):
        self.root = zarr.open_group(store, mode="r")
        names = set(self.root.array_keys())
        self.layers = [layer for layer in LAYERS if layer in names]
        self.lengths = {s: self.root[f"{s}_length"][:] for s in SERIES if s in names}
        self.present = {layer: self.root[f"{layer}_present"][:] for layer in self.layers}
        self.arrays = {layer: self.root[layer] for layer in self.layers}

    def selections(self, row):
        """(layer, selection) of every layer the patch in store row `row` has."""
        return [(layer, (row, slice(0, int(self.lengths[layer][row]))) if layer in self.lengths else row)
                for layer in self.layers if self.present[layer][row]]


async def read_patch(arrays, selections):
    """docs/python.md's recipe: the patch's arrays read concurrently on zarr's event loop."""
    return await asyncio.gather(*(arrays[layer].async_array.getitem(sel) for layer, sel in selections))


def read_zarr_concurrent(store, ids, order):
    patches = ZarrPatches(store)
    total = 0
    for row in order:
        total += sum(values.nbytes for values in sync(read_patch(patches.arrays, patches.selections(row))))
    return total


def read_zarr_sequential(store, ids, order):
    patches = ZarrPatches(store)
    total = 0
    for row in order:
        total += sum(patches.arrays[layer][sel].nbytes for layer, sel in patches.selections(row))
    return total


def read_zarrs_pipeline(store, ids, order):
    """The concurrent recipe with chunks decoded by the `zarrs` package's Rust codec pipeline."""
    with zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"}):
        return read_zarr_concurrent(store, ids, order)


def zarrs_installed():
    try:
        import zarrs  # noqa: F401
    except ImportError:
        return False
    return True


def timed(read, *args):
    wall, cpu = time.perf_counter(), os.times()
    total = read(*args)
    after = os.times()
    return time.perf_counter() - wall, after.user - cpu.user + after.system - cpu.system, total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path)
    parser.add_argument("store")
    parser.add_argument("--cache", default="cold", help="cold, warm or cold,warm (default cold)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tsv", type=Path, help="append each round to bench/run.sh's results.tsv")
    parser.add_argument("--size", type=int, help="the dataset size to record in --tsv rows")
    args = parser.parse_args()
    if args.tsv and args.size is None:
        parser.error("--tsv needs --size")
    caches = args.cache.split(",")
    if "cold" in caches and os.geteuid() != 0:
        parser.error("a cold-cache run drops the page cache: run as root, or pass --cache warm")
    ids = [int(i) for i in zarr.open_group(args.store, mode="r")["ID_PATCH"][:]]
    features = json.loads((args.src / "metadata.geojson").read_text())["features"]
    assert sorted(ids) == sorted(int(f["properties"]["ID_PATCH"]) for f in features), "not the same patches"
    sides = {"np.load (.npy folder)": lambda order: timed(read_npy, args.src, ids, order),
             "zarr-python, concurrent (docs recipe)": lambda order: timed(read_zarr_concurrent, args.store, ids, order),
             "zarr-python, one array after another": lambda order: timed(read_zarr_sequential, args.store, ids, order)}
    if zarrs_installed():
        sides["zarr-python + zarrs pipeline"] = lambda order: timed(read_zarrs_pipeline, args.store, ids, order)
    tsv_sides = {"np.load (.npy folder)": "npy", "zarr-python, concurrent (docs recipe)": "zarr",
                 "zarr-python, one array after another": "zarrseq", "zarr-python + zarrs pipeline": "zarrs"}
    print(f"{len(ids)} patches in random order, S2 S1A S1D TARGET INSTANCES ZONES HEATMAP, {args.rounds} rounds "
          f"(best kept); Python {platform.python_version()}, numpy {np.__version__}, zarr {zarr.__version__}, "
          f"numcodecs {numcodecs.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print()
    print("| page cache | side | wall (best) | MB/s | CPU of that round | all rounds | wall / np.load |")
    print("|---|---|---|---|---|---|---|")
    for cache in caches:
        results = {name: [] for name in sides}
        rng = random.Random(args.seed)
        for _ in range(args.rounds):
            order = list(range(len(ids)))
            rng.shuffle(order)
            for name, side in sides.items():
                if cache == "warm":
                    side(order)
                else:
                    drop_caches()
                load = os.getloadavg()[0]
                results[name].append(side(order))
                if args.tsv and cache == caches[0]:
                    wall, cpu, total = results[name][-1]
                    with args.tsv.open("a") as f:
                        f.write(f"{args.size}\trandom\t{tsv_sides[name]}\t{len(results[name])}\t{wall:.2f}\t0\t"
                                f"{cpu:.2f}\t0\t{total}\t{load:.2f}\n")
        totals = {r[2] for runs in results.values() for r in runs}
        assert len(totals) == 1, f"the sides read different amounts: {totals}"
        total = totals.pop()
        npy = min(results["np.load (.npy folder)"])[0]
        for name, runs in results.items():
            wall, cpu, _ = min(runs)
            print(f"| {cache} | {name} | {wall:.2f} s | {total / 1e6 / wall:.0f} | {cpu:.2f} s | "
                  f"{', '.join(f'{r[0]:.2f}' for r in runs)} s | {wall / npy:.2f} |")
    print()
    print(f"{total / 1e6:.0f} MB decoded per side and round; load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
