"""pastis_bridge.PASTISZarrDataset against the reference loader itself: the benchmark's
PASTIS_Dataset and pad_collate (github.com/VSainteuf/pastis-benchmark, code/dataloader.py and
code/collate.py; bring your own copy, nothing of it is in this repository) on the original `.npy`
folder, item for item, for every combination of the loader's options.

Not in the suite: it needs torch and geopandas, which scripts/setup.sh does not install
(docs/python.md, "Checked against the reference loader"). Run it from the repository root:

    PYTHONPATH=python:REFERENCE_CODE_DIR python tests/python/compare_reference_loader.py SRC STORE.zarr

Items must be equal in type, keys, dtype, shape and bytes; batches of pad_collate equal to the
reference collate's. Where the reference raises (an integer mono_date: its __init__ tests
`"-" in mono_date`), the combination is counted and skipped. Prints "ok ..." or raises.
"""
import itertools
import sys

import numpy as np
import torch
from collate import pad_collate as reference_collate
from dataloader import PASTIS_Dataset

from pastis_bridge import PASTISZarrDataset, pad_collate


def same(a, b, what):
    """Equal in type, structure, dtype, shape and bytes (NaN payloads included)."""
    assert type(a) is type(b), f"{what}: {type(a)} vs {type(b)}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{what}: keys {list(a)} vs {list(b)}"
        for k in a:
            same(a[k], b[k], f"{what}[{k}]")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), f"{what}: {len(a)} vs {len(b)} members"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{what}[{i}]")
    elif isinstance(a, torch.Tensor):
        same(a.numpy(), b.numpy(), what)
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{what}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        assert a.tobytes() == b.tobytes(), f"{what}: values differ"
    else:
        assert a == b, f"{what}: {a!r} vs {b!r}"


def combinations():
    mapping = {i: i % 5 for i in range(20)}
    for norm, target, folds, reference_date, class_mapping, mono_date, sats, cache in itertools.product(
        [True, False], ["semantic", "instance"], [None, [1, 3]], ["2018-09-01", "2019-01-15"],
        [None, mapping], [None, 0, 2, "2019-03-01"], [["S2"], ["S2", "S1A", "S1D"], ["S1D", "S2"]],
        [False, True],
    ):
        yield dict(norm=norm, target=target, folds=folds, reference_date=reference_date,
                   class_mapping=class_mapping, mono_date=mono_date, sats=sats, cache=cache, mem16=cache)


def main(src, store):
    items = refused = 0
    for options in combinations():
        try:
            reference = PASTIS_Dataset(src, **options)
        except Exception:  # the reference's own limits (an integer mono_date)
            refused += 1
            continue
        ours = PASTISZarrDataset(store, **options)
        assert len(ours) == len(reference), f"{options}: {len(ours)} vs {len(reference)} items"
        assert list(ours.id_patches) == list(reference.id_patches), options
        batch_ours, batch_reference = [], []
        for i in range(len(reference)):
            want, got = reference[i], ours[i]
            same(got, want, f"{options} item {i}")
            batch_ours.append(got)
            batch_reference.append(want)
            items += 1
        if options["class_mapping"] is None and len(batch_ours) > 1:
            same(pad_collate(batch_ours), reference_collate(batch_reference), f"{options} batch")
    assert items > 0, "no item compared"
    print(f"ok {items} items equal to the reference PASTIS_Dataset's "
          f"({refused} option combinations the reference refuses skipped)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
