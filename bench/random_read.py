"""Random-order read of every patch: zarr-python on a pastis-bridge store against np.load of the
original `.npy` folder (issue #17, read side). Not part of the test suite; see bench/README.md.

usage: python bench/random_read.py SRC_FOLDER STORE.zarr [--rounds N] [--seed S] [--warm]

Both sides read, patch by patch in the same random order (one permutation per round, `--seed`),
every layer an ML user reads: S2, S1A, S1D, TARGET, INSTANCES, ZONES, HEATMAP. The `.npy` side is
`np.load` of each file; the Zarr side `root[LAYER][row, :LAYER_length[row]]` for a series and
`root[LAYER][row]` for an annotation, on a group opened once from its consolidated metadata (as a
training loop would). The page cache is dropped (root: `/proc/sys/vm/drop_caches`) before each
side of each round, unless `--warm` (then one untimed pass warms it). Both sides must read the same
number of bytes. Prints one line per side: best wall time of the rounds, MB/s of decoded bytes, and
the CPU time (user + system) of that round.
"""

import argparse
import json
import random
import subprocess
import time
from pathlib import Path

import numpy as np
import zarr

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


def read_zarr(store, ids, order):
    root = zarr.open_group(store, mode="r")
    names = set(root.array_keys())
    layers = [layer for layer in LAYERS if layer in names]
    lengths = {s: root[f"{s}_length"][:] for s in SERIES if s in names}
    present = {layer: root[f"{layer}_present"][:] for layer in layers}
    arrays = {layer: root[layer] for layer in layers}
    total = 0
    for row in order:
        for layer in layers:
            if not present[layer][row]:
                continue
            if layer in lengths:
                total += arrays[layer][row, : int(lengths[layer][row])].nbytes
            else:
                total += arrays[layer][row].nbytes
    return total


def timed(read, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    total = read(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path)
    parser.add_argument("store")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warm", action="store_true")
    args = parser.parse_args()
    ids = [int(i) for i in zarr.open_group(args.store, mode="r")["ID_PATCH"][:]]
    features = json.loads((args.src / "metadata.geojson").read_text())["features"]
    assert sorted(ids) == sorted(int(f["properties"]["ID_PATCH"]) for f in features), "not the same patches"
    sides = {"np.load (.npy folder)": lambda order: timed(read_npy, args.src, ids, order),
             "zarr-python (store)": lambda order: timed(read_zarr, args.store, ids, order)}
    results = {name: [] for name in sides}
    rng = random.Random(args.seed)
    for _ in range(args.rounds):
        order = list(range(len(ids)))
        rng.shuffle(order)
        for name, side in sides.items():
            if args.warm:
                side(order)
            else:
                drop_caches()
            results[name].append(side(order))
    totals = {r[2] for runs in results.values() for r in runs}
    assert len(totals) == 1, f"the sides read different amounts: {totals}"
    cache = "warm" if args.warm else "cold"
    print(f"{len(ids)} patches in random order, {totals.pop() / 1e6:.0f} MB decoded, page cache {cache}, {args.rounds} rounds")
    for name, runs in results.items():
        wall, cpu, total = min(runs)
        print(f"{name}: {wall:.2f} s ({total / 1e6 / wall:.0f} MB/s), CPU {cpu:.2f} s; all runs {', '.join(f'{r[0]:.2f}' for r in runs)} s")


if __name__ == "__main__":
    main()
