"""The torch adapter of pastis_bridge: tensors where the reference PASTIS_Dataset has tensors, the
same values as the numpy path, a torch DataLoader with worker processes and pad_collate.

Not in the suite (torch is not installed by scripts/setup.sh: its wheels are several GB). Run it by
hand, from the repository root, with torch in the venv (docs/python.md):

    .venv/bin/pip install torch
    target/debug/pastis-bridge convert fixtures/PASTIS-R /tmp/PASTIS-R.zarr
    PYTHONPATH=python .venv/bin/python tests/python/check_loader_torch.py fixtures/PASTIS-R /tmp/PASTIS-R.zarr

Prints "ok ..." and exits 0, or raises.
"""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_loader import CLASS_MAPPING, Expected, same  # noqa: E402

from pastis_bridge import PASTISZarrDataset, pad_collate  # noqa: E402


def as_numpy(value, what, target_is_array=False):
    """The item with tensors turned into arrays, checking each leaf is a tensor (or, for the
    class-mapped semantic target, an array, as the reference)."""
    if isinstance(value, dict):
        return {k: as_numpy(v, f"{what}[{k}]") for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(as_numpy(v, f"{what}[{i}]") for i, v in enumerate(value))
    if target_is_array:
        assert type(value) is np.ndarray, f"{what}: {type(value)}"
        return value
    assert isinstance(value, torch.Tensor), f"{what}: {type(value)} is not a tensor"
    return value.numpy()


def check_items(src, store):
    checked = 0
    for target in ("semantic", "instance"):
        for mapping in (None, CLASS_MAPPING):
            for mono in (None, 1, "2019-03-01"):
                sats = ["S2", "S1A", "S1D"]
                ds = PASTISZarrDataset(store, target=target, class_mapping=mapping, mono_date=mono, sats=sats)
                assert isinstance(ds, torch.utils.data.Dataset)
                ref = Expected(src, True, target, None, "2018-09-01", mapping, mono, sats)
                for i in range(len(ds)):
                    (data, dates), tgt = ds[i]
                    item = ((as_numpy(data, "data"), as_numpy(dates, "dates")),
                            as_numpy(tgt, "target", target == "semantic" and mapping is not None))
                    same(item, ref.item(i), f"{target} {mapping is not None} {mono} item {i}")
                    checked += 1
    return checked


def check_dataloader(src, store):
    sats = ["S2", "S1A"]
    ds = PASTISZarrDataset(store, target="instance", sats=sats)
    ds[0]  # the parent has used the store before the workers fork
    ref = Expected(src, True, "instance", None, "2018-09-01", None, None, sats)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, collate_fn=pad_collate)
    for b, ((data, dates), target) in enumerate(loader):
        items = [ref.item(i) for i in range(2 * b, min(2 * b + 2, len(ds)))]
        for s in sats:
            longest = max(len(it[0][1][s]) for it in items)
            for k, it in enumerate(items):
                t = len(it[0][1][s])
                same(data[s][k, :t].numpy(), it[0][0][s], f"batch {b} {s} {k}")
                assert not data[s][k, t:longest].any(), "padding is zeros"
                same(dates[s][k, :t].numpy(), it[0][1][s], f"batch {b} dates {s} {k}")
        same(target.numpy(), np.stack([it[1] for it in items]), f"batch {b} target")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, store = Path(sys.argv[1]), sys.argv[2]
    n = check_items(src, store)
    check_dataloader(src, store)
    print(f"ok torch {torch.__version__}: {n} items as tensors, DataLoader with 2 workers and pad_collate")
