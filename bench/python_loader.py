"""Per-item time of the Zarr loader (pastis_bridge.PASTISZarrDataset) against the reference loader's
work on the .npy folder, on a local disk. Not part of the test suite; see bench/README.md.

usage: python bench/python_loader.py SRC_FOLDER STORE.zarr [--sats S2,S1A,S1D] [--cold] [--rounds N]

The `.npy` side does, per item, what the reference PASTIS_Dataset does with numpy (np.load of each
series, float32, NORM standardisation, TARGET[0] as int64; its torch/geopandas parts are left out,
they are the same for both loaders); the Zarr side is PASTISZarrDataset(STORE, sats=...)[i] without
torch. Both read every patch once per round, in the same order. --cold drops the page cache
(root; `echo 3 > /proc/sys/vm/drop_caches`) before each side's round; otherwise one untimed round
warms the cache first. Prints one line per side: median, mean and total per-item time.
"""

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

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


def drop_caches():
    subprocess.run(["sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches"], check=True)


def timed_round(dataset):
    times = []
    for i in range(len(dataset)):
        start = time.perf_counter()
        dataset[i]
        times.append(time.perf_counter() - start)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src")
    parser.add_argument("store")
    parser.add_argument("--sats", default="S2")
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sats = args.sats.split(",")
    sides = {"npy (reference work)": NpyItems(args.src, sats), "zarr (PASTISZarrDataset)": PASTISZarrDataset(args.store, sats=sats)}
    assert [int(i) for i in sides["zarr (PASTISZarrDataset)"].id_patches] == sides["npy (reference work)"].ids
    results = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, dataset in sides.items():
            if args.cold:
                drop_caches()
            else:
                timed_round(dataset)
            results[name].extend(timed_round(dataset))
    cache = "cold" if args.cold else "warm"
    print(f"{len(sides['npy (reference work)'])} patches, sats {','.join(sats)}, page cache {cache}, {args.rounds} rounds")
    for name, times in results.items():
        print(f"{name}: median {statistics.median(times) * 1e3:.1f} ms, mean {statistics.mean(times) * 1e3:.1f} ms "
              f"per item, {sum(times):.2f} s for {len(times)} items")


if __name__ == "__main__":
    main()
