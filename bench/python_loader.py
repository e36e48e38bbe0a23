"""Per-item time of the Zarr loader (pastis_bridge.PASTISZarrDataset) against the reference loader's
work on the .npy folder, on a local disk. Not part of the test suite; see bench/README.md.

usage: python bench/python_loader.py SRC_FOLDER STORE.zarr [--sats S2,S1A,S1D] [--cache warm,cold]
                                     [--rounds N] [--cold-rounds N]

Sides, each reading every patch once per round, in the same (ID_PATCH) order:
- `.npy (reference work)`: what the reference PASTIS_Dataset does per item with numpy (np.load of
  each series, float32, `(d - mean) / std` with the NORM statistics, TARGET[0] as int64; its
  torch/geopandas parts are left out, they are the same for both loaders);
- `PASTISZarrDataset`: `PASTISZarrDataset(STORE, sats=...)[i]` without torch (norm, semantic
  target): the item's arrays read concurrently on zarr's event loop (python/pastis_bridge/store.py);
- `PASTISZarrDataset, arrays one after another`: the same items with the arrays read one after
  another through `zarr.Array` (the loader before 0.3), for the gain of reading concurrently.

Page cache `warm`: one untimed round first, then `--rounds` (default 3) timed rounds; `cold` (root):
the page cache is dropped (`/proc/sys/vm/drop_caches`) before each side's round, `--cold-rounds`
(default 2) rounds. Prints a Markdown table: per item, the median and mean wall time, the CPU time
(user + system of every thread of the process, per item) and the median against the `.npy` side's;
with the load average, since the machine may be shared (then read the CPU column).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numcodecs
import numpy as np
import zarr

from pastis_bridge import PASTISZarrDataset


class NpyItems:
    """The reference loader's per-item numpy work on a PASTIS folder (semantic target, norm)."""

    def __init__(self, folder, sats):
        self.folder, self.sats = Path(folder), sats
        features = json.loads((self.folder / "metadata.geojson").read_text())["features"]
        self.ids = sorted(int(f["properties"]["ID_PATCH"]) for f in features)
        self.norm = {}
        for s in sats:
            values = json.loads((self.folder / f"NORM_{s}_patch.json").read_text())
            mean = np.stack([values[f"Fold_{f}"]["mean"] for f in range(1, 6)]).mean(axis=0)
            std = np.stack([values[f"Fold_{f}"]["std"] for f in range(1, 6)]).mean(axis=0)
            self.norm[s] = mean.astype(np.float32), std.astype(np.float32)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        pid = self.ids[i]
        data = {}
        for s in self.sats:
            d = np.load(self.folder / f"DATA_{s}" / f"{s}_{pid}.npy").astype(np.float32)
            data[s] = (d - self.norm[s][0][None, :, None, None]) / self.norm[s][1][None, :, None, None]
        target = np.load(self.folder / "ANNOTATIONS" / f"TARGET_{pid}.npy")[0].astype(int)
        return data, target


class OneAfterAnother:
    """Stands in for the dataset's ProcessLocalRoot: the same reads, one array after another."""

    def __init__(self, root):
        self.root = root
        self.array = root.array

    def read(self, requests):
        results = []
        for name, selection, finish in requests:
            values = self.array(name)[selection]
            results.append(values if finish is None else finish(values))
        return results


def sequential_dataset(store, sats):
    dataset = PASTISZarrDataset(store, sats=sats)
    dataset._root = OneAfterAnother(dataset._root)
    return dataset


def drop_caches():
    subprocess.run(["sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches"], check=True)


def timed_round(dataset):
    """Per-item wall times of one round, and the round's CPU time (user + system)."""
    times = []
    before = os.times()
    for i in range(len(dataset)):
        start = time.perf_counter()
        dataset[i]
        times.append(time.perf_counter() - start)
    after = os.times()
    return times, after.user - before.user + after.system - before.system


def check_same_items(sides):
    """Every side gives the same bytes for the first item (the loader's contract, cheaply)."""
    npy_data, npy_target = sides[".npy (reference work)"][0]
    for name, dataset in list(sides.items())[1:]:
        (data, _), target = dataset[0]
        for s, values in npy_data.items():
            assert np.array_equal(values.view(np.uint32), data[s].view(np.uint32)), f"{name}: {s} differs"
        assert np.array_equal(target, npy_target), f"{name}: target differs"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src")
    parser.add_argument("store")
    parser.add_argument("--sats", default="S2,S1A,S1D")
    parser.add_argument("--cache", default="warm,cold", help="warm, cold or warm,cold (default)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds with a warm page cache")
    parser.add_argument("--cold-rounds", type=int, default=2, help="rounds with a cold page cache")
    args = parser.parse_args()
    sats = args.sats.split(",")
    caches = args.cache.split(",")
    if "cold" in caches and os.geteuid() != 0:
        parser.error("a cold-cache run drops the page cache: run as root, or pass --cache warm")
    sides = {".npy (reference work)": NpyItems(args.src, sats),
             "PASTISZarrDataset": PASTISZarrDataset(args.store, sats=sats),
             "PASTISZarrDataset, arrays one after another": sequential_dataset(args.store, sats)}
    ids = sides[".npy (reference work)"].ids
    assert [int(i) for i in sides["PASTISZarrDataset"].id_patches] == ids, "not the same patches"
    check_same_items(sides)
    print(f"{len(ids)} patches, sats {','.join(sats)}, norm, semantic target; Python "
          f"{platform.python_version()}, numpy {np.__version__}, zarr {zarr.__version__}, numcodecs "
          f"{numcodecs.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print()
    print("| page cache | side | item median | item mean | CPU per item | median / .npy |")
    print("|---|---|---|---|---|---|")
    for cache in caches:
        rounds = args.rounds if cache == "warm" else args.cold_rounds
        times = {name: [] for name in sides}
        cpu = {name: 0.0 for name in sides}
        for _ in range(rounds):
            for name, dataset in sides.items():
                if cache == "cold":
                    drop_caches()
                else:
                    timed_round(dataset)
                round_times, round_cpu = timed_round(dataset)
                times[name].extend(round_times)
                cpu[name] += round_cpu
        npy = statistics.median(times[".npy (reference work)"])
        for name, values in times.items():
            median = statistics.median(values)
            print(f"| {cache} ({rounds} rounds) | {name} | {median * 1e3:.1f} ms | {statistics.mean(values) * 1e3:.1f} ms "
                  f"| {cpu[name] / len(values) * 1e3:.1f} ms | {median / npy:.2f} |")
    print()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
