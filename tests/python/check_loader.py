"""Checks pastis_bridge.PASTISZarrDataset against the reference loader's semantics on the .npy folder.

usage: check_loader.py SRC_FOLDER STORE [--s3] [--strength=N]

STORE is a pastis-bridge Zarr store (path, or s3:// URL with --s3: the endpoint and credentials
come from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) converted from SRC_FOLDER.
For every combination of the loader's options (target, sats, norm, folds, reference_date, mono_date
as a position and as a date, class_mapping, cache, mem16), every item read twice equals the item
computed here from the .npy files by `expected_item`, a small numpy-only re-statement of the
reference PASTIS_Dataset's documented semantics (github.com/VSainteuf/pastis-benchmark,
code/dataloader.py): same structure, keys, dtypes, shapes and bytes. Also: len and id_patches,
pad_collate against padding by hand, items from forked worker processes and from a pickled copy,
and (local v3 stores) the chunks an item reads. Without --strength all 768 combinations run (about
2 CPU-minutes); --strength=N runs a covering subset where every N option values of different
options occur together at least once (N=3: 3-wise, N=2: pairwise).
Prints "ok ..." and exits 0, or raises.
"""

import asyncio
import datetime
import itertools
import json
import multiprocessing
import os
import pickle
import sys
from pathlib import Path

import numpy as np

import pastis_bridge
from pastis_bridge import PASTISZarrDataset, pad_collate

REPO_PYTHON = Path(__file__).resolve().parents[2] / "python"
ANNOTATION_FOLDER = {"TARGET": "ANNOTATIONS", "HEATMAP": "INSTANCE_ANNOTATIONS",
                     "INSTANCES": "INSTANCE_ANNOTATIONS", "ZONES": "INSTANCE_ANNOTATIONS"}
# A regrouping of the 20 classes (as a notebook would pass): crops by season, void kept apart.
CLASS_MAPPING = {c: (0 if c == 0 else 19 if c == 19 else 1 + c % 4) for c in range(20)}


# ---------------------------------------------------------------- the reference, from .npy files

class Expected:
    """The reference loader's view of a PASTIS folder, written from its documented semantics."""

    def __init__(self, folder, norm, target, folds, reference_date, class_mapping, mono_date, sats):
        self.folder, self.target, self.sats = Path(folder), target, sats
        self.class_mapping = class_mapping
        features = json.loads((self.folder / "metadata.geojson").read_text())["features"]
        meta = sorted((f["properties"] for f in features), key=lambda p: int(p["ID_PATCH"]))
        if folds is not None:
            meta = [p for f in folds for p in meta if p["Fold"] == f]
        self.meta = meta
        self.id_patches = [int(p["ID_PATCH"]) for p in meta]
        self.reference = datetime.datetime(*map(int, reference_date.split("-")))
        self.mono_date = mono_date
        self.norm = None
        if norm:
            self.norm = {}
            for s in sats:
                values = json.loads((self.folder / f"NORM_{s}_patch.json").read_text())
                chosen = folds if folds is not None else range(1, 6)
                mean = np.stack([values[f"Fold_{f}"]["mean"] for f in chosen]).mean(axis=0)
                std = np.stack([values[f"Fold_{f}"]["std"] for f in chosen]).mean(axis=0)
                self.norm[s] = mean.astype(np.float32), std.astype(np.float32)

    def dates(self, props, sat):
        days = set()
        for value in props[f"dates-{sat}"].values():
            text = str(value)
            day = datetime.datetime(int(text[:4]), int(text[4:6]), int(text[6:]))
            delta = (day - self.reference).days
            assert -200 <= delta < 600, "the reference's date table spans -200..599 days"
            days.add(delta)
        return np.array(sorted(days), dtype=np.int64)

    def load(self, folder, name, id_patch):
        return np.load(self.folder / folder / f"{name}_{id_patch}.npy")

    def item(self, index, from_cache_half=False):
        props = self.meta[index]
        pid = int(props["ID_PATCH"])
        data = {}
        for s in self.sats:
            d = self.load(f"DATA_{s}", s, pid).astype(np.float32)
            if self.norm is not None:
                d = (d - self.norm[s][0][None, :, None, None]) / self.norm[s][1][None, :, None, None]
            if from_cache_half:
                d = d.astype(np.float16).astype(np.float32)
            data[s] = d
        dates = {s: self.dates(props, s) for s in self.sats}
        annotation = self.load("ANNOTATIONS", "TARGET", pid)
        if self.target == "semantic":
            target = annotation[0].astype(int)
            if self.class_mapping is not None:
                target = np.vectorize(lambda x: self.class_mapping[x])(target)
        else:
            target = self.instance_target(pid, annotation)
        if self.mono_date is not None:
            data, dates = self.one_date(data, dates)
        return (data, dates), target

    def instance_target(self, pid, annotation):
        heatmap = self.load("INSTANCE_ANNOTATIONS", "HEATMAP", pid)
        instances = self.load("INSTANCE_ANNOTATIONS", "INSTANCES", pid)
        zones = self.load("INSTANCE_ANNOTATIONS", "ZONES", pid)
        pixel = annotation[0]
        if self.class_mapping is not None:
            pixel = np.vectorize(lambda x: self.class_mapping[x])(pixel)
        size = np.zeros(instances.shape + (2,))
        parcel = np.zeros(instances.shape)
        for k in np.unique(instances):
            if k == 0:
                continue
            mask = instances == k
            height = int(mask.any(axis=1).sum())
            width = int(mask.any(axis=0).sum())
            zone = zones == k
            size[zone] = (height, width)
            parcel[zone] = pixel[mask][0]
        layers = [heatmap[..., None], instances[..., None], zones[..., None], size,
                  parcel[..., None], pixel[..., None]]
        return np.concatenate(layers, axis=-1).astype(np.float32)

    def one_date(self, data, dates):
        if isinstance(self.mono_date, int):
            pick = {s: self.mono_date for s in self.sats}
        else:
            day = datetime.datetime(*map(int, self.mono_date.split("-")))
            delta = (day - self.reference).days
            pick = {s: int(np.argmin(np.abs(dates[s] - delta))) for s in self.sats}
        return ({s: data[s][pick[s]][None] for s in self.sats},
                {s: np.asarray(dates[s][pick[s]]) for s in self.sats})


# ---------------------------------------------------------------- comparison

def same(a, b, what):
    """Same structure, keys (in order), types, dtypes, shapes and bytes."""
    if isinstance(b, dict):
        assert isinstance(a, dict), f"{what}: {type(a)} is not a dict"
        assert list(a) == list(b), f"{what}: keys {list(a)} != {list(b)}"
        for k in b:
            same(a[k], b[k], f"{what}[{k}]")
    elif isinstance(b, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), f"{what}: {type(a)} != {type(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{what}[{i}]")
    else:
        assert type(a) is np.ndarray, f"{what}: {type(a)} is not a numpy array"
        assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
        assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
        assert a.tobytes() == b.tobytes(), f"{what}: values differ"


# ---------------------------------------------------------------- the checks

AXES = {
    "target": ["semantic", "instance"],
    "sats": [["S2"], ["S2", "S1A", "S1D"]],
    "norm": [True, False],
    "folds": [None, [3, 1]],
    "reference_date": ["2018-09-01", "2019-01-15"],
    "mono_date": [None, 2, "2019-03-01"],
    "class_mapping": [None, CLASS_MAPPING],
    "cache_mem16": [(False, False), (True, False), (True, True), (False, True)],
}


def options(strength):
    """Every combination of the AXES values (strength None: 768), or a covering subset in which
    every `strength` values of different axes occur together at least once (greedy, deterministic)."""
    names = list(AXES)
    every = list(itertools.product(*(range(len(AXES[n])) for n in names)))
    if strength is not None:
        def groups(combo):
            return {(axes, tuple(combo[a] for a in axes))
                    for axes in itertools.combinations(range(len(names)), strength)}
        covers = [groups(c) for c in every]
        uncovered = set().union(*covers)
        chosen = []
        while uncovered:
            best = max(range(len(every)), key=lambda i: len(covers[i] & uncovered))
            chosen.append(every[best])
            uncovered -= covers[best]
        every = chosen
    for combo in every:
        yield {n: AXES[n][v] for n, v in zip(names, combo)}


def check_combination(src, store, storage_options, opts):
    cache, mem16 = opts.pop("cache_mem16")
    mono = opts["mono_date"]
    ds = PASTISZarrDataset(store, cache=cache, mem16=mem16, storage_options=storage_options, **opts)
    ref = Expected(src, **opts)
    assert len(ds) == len(ref.id_patches), f"len {len(ds)} != {len(ref.id_patches)}"
    same(np.asarray(ds.id_patches), np.array(ref.id_patches, dtype=np.int64), "id_patches")
    for index in range(len(ds)):
        for access in range(2):
            half = cache and mem16 and access == 1
            same(ds[index], ref.item(index, from_cache_half=half),
                 f"{opts} cache={cache} mem16={mem16} item {index} access {access}")
    if isinstance(mono, int):
        # The same position given as the reference's string form.
        ds = PASTISZarrDataset(store, storage_options=storage_options, **{**opts, "mono_date": str(mono)})
        same(ds[0], ref.item(0), f"{opts} mono_date as a string")


def check_collate(src, store, storage_options):
    ds = PASTISZarrDataset(store, sats=["S2", "S1A", "S1D"], target="instance",
                           storage_options=storage_options)
    ref = Expected(src, True, "instance", None, "2018-09-01", None, None, ["S2", "S1A", "S1D"])
    items = [ref.item(i) for i in range(len(ds))]
    expected_data, expected_dates = {}, {}
    for s in ds.sats:
        longest = max(len(it[0][1][s]) for it in items)
        shape = items[0][0][0][s].shape[1:]
        expected_data[s] = np.zeros((len(items), longest) + shape, dtype=np.float32)
        expected_dates[s] = np.zeros((len(items), longest), dtype=np.int64)
        for b, it in enumerate(items):
            t = len(it[0][1][s])
            expected_data[s][b, :t] = it[0][0][s]
            expected_dates[s][b, :t] = it[0][1][s]
    expected_target = np.stack([it[1] for it in items])
    batch = pad_collate([ds[i] for i in range(len(ds))])
    same(batch, [[expected_data, expected_dates], expected_target], "pad_collate")
    lengths = {len(it[0][1]["S2"]) for it in items}
    assert len(lengths) > 1, f"the fixture's S2 series should differ in length: {lengths}"
    # mono_date dates are 0-d: they stack to (B,).
    ds = PASTISZarrDataset(store, mono_date=1, storage_options=storage_options)
    batch = pad_collate([ds[i] for i in range(len(ds))])
    same(batch[0][1]["S2"], np.array([Expected.dates(ref, it, "S2")[1] for it in ref.meta]), "mono dates")
    for bad in ([1, 2], [np.array(["a"]), np.array(["b"])]):
        try:
            pad_collate(bad)
        except TypeError:
            continue
        raise AssertionError(f"pad_collate accepted {bad!r}")


_WORKER_DATASET = None


def _pipeline(ds):
    """The class name of the codec pipeline the dataset's S2 array was opened with here."""
    return type(ds._root.array("S2").async_array.codec_pipeline).__name__


def _worker_item(index):
    return os.getpid(), _WORKER_DATASET[index], _pipeline(_WORKER_DATASET)


def check_processes(src, store, storage_options):
    """Items read in forked workers (after the parent used the store) and in a pickled copy."""
    global _WORKER_DATASET
    ds = PASTISZarrDataset(store, sats=["S2", "S1A"], target="instance", storage_options=storage_options)
    ref = Expected(src, True, "instance", None, "2018-09-01", None, None, ["S2", "S1A"])
    same(ds[0], ref.item(0), "parent item")
    # A local store is decoded by zarrs' Rust pipeline (zarrs is pinned in the interop venv); a
    # child forked after that must not touch it (zarrs-python#171, a deadlock) and uses zarr's own.
    local = storage_options is None
    expected = "ZarrsCodecPipeline" if local else "BatchedCodecPipeline"
    assert _pipeline(ds) == expected, f"parent pipeline {_pipeline(ds)}, expected {expected}"
    _WORKER_DATASET = ds
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(_worker_item, range(len(ds)))
    assert all(pid != os.getpid() for pid, _, _ in results)
    for index, (_, item, pipeline) in enumerate(results):
        same(item, ref.item(index), f"forked worker item {index}")
        assert pipeline == "BatchedCodecPipeline", f"forked worker {index} uses {pipeline}"
    copy = pickle.loads(pickle.dumps(ds))
    same(copy[len(ds) - 1], ref.item(len(ds) - 1), "pickled dataset item")


def check_chunks_read(store):
    """An S2 + semantic item of a v3 store reads one S2 shard (its own) and one TARGET shard,
    and no metadata document (the consolidated root is read at opening); a ``mono_date`` item
    reads of its S2 shard only the index and the one inner chunk holding the date."""
    from zarr.core.buffer import default_buffer_prototype
    from zarr.storage import LocalStore, WrapperStore

    class Recording(WrapperStore):
        keys = []
        ranges = []

        async def get(self, key, prototype, byte_range=None):
            Recording.keys.append(key)
            Recording.ranges.append((key, byte_range))
            return await self._store.get(key, prototype, byte_range)

    import zarr

    rows = {int(pid): row for row, pid in enumerate(zarr.open_group(store, mode="r")["ID_PATCH"][:])}
    recording = Recording(LocalStore(store, read_only=True))
    ds = PASTISZarrDataset(recording)
    ds[0]  # the first item of a process opens the root (its metadata documents)
    for index in range(len(ds)):
        row = rows[int(ds.id_patches[index])]
        Recording.keys.clear()
        ds[index]
        read = set(Recording.keys)
        assert read == {f"S2/c/{row}/0/0/0/0", f"TARGET/c/{row // 32}/0/0/0"}, f"item {index} read {read}"

    from zarr.abc.store import RangeByteRequest, SuffixByteRequest

    ds = PASTISZarrDataset(recording, mono_date=-1)
    ds[0]
    for index in range(len(ds)):
        row = rows[int(ds.id_patches[index])]
        shard = f"S2/c/{row}/0/0/0/0"
        Recording.ranges.clear()
        ds[index]
        s2 = [r for key, r in Recording.ranges if key == shard]
        assert [type(r) for r in s2] == [SuffixByteRequest, RangeByteRequest], f"mono item {index}: {s2}"
        size = len(asyncio.run(LocalStore(store, read_only=True).get(shard, default_buffer_prototype())))
        assert s2[1].end - s2[1].start < size, f"mono item {index} read its whole S2 shard"


def check_errors(store, storage_options):
    for kwargs, fragment in [({"target": "panoptic"}, "target"), ({"sats": ["S3"]}, "S3"),
                             ({"mono_date": "soon"}, "mono_date"), ({"reference_date": "2018-13-01"}, "reference_date")]:
        try:
            PASTISZarrDataset(store, storage_options=storage_options, **kwargs)
        except ValueError as err:
            assert fragment in str(err), f"{kwargs}: {err}"
            continue
        raise AssertionError(f"{kwargs} accepted")


def main(src, store, s3, strength):
    assert Path(pastis_bridge.__file__).resolve().is_relative_to(REPO_PYTHON), pastis_bridge.__file__
    storage_options = None
    if s3:
        storage_options = {"endpoint_url": os.environ["AWS_ENDPOINT_URL"],
                           "key": os.environ["AWS_ACCESS_KEY_ID"],
                           "secret": os.environ["AWS_SECRET_ACCESS_KEY"]}
    combinations = 0
    for opts in options(strength):
        check_combination(src, store, storage_options, opts)
        combinations += 1
    check_collate(src, store, storage_options)
    check_processes(src, store, storage_options)
    check_errors(store, storage_options)
    if not s3 and (Path(store) / "zarr.json").exists():
        check_chunks_read(store)
    print(f"ok {combinations} option combinations, collate, forked workers, errors: {store}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    strength = next((int(a.split("=")[1]) for a in sys.argv if a.startswith("--strength=")), None)
    main(Path(args[0]), args[1], "--s3" in sys.argv, strength)
