"""``pad_collate``: batches of PASTIS items with their series padded to the longest in time.

Semantics of the reference ``pad_collate`` (github.com/VSainteuf/pastis-benchmark, code/collate.py),
implemented here independently: recursively over the item structure,

- arrays / tensors with at least one axis: when their first (time) axes differ, each is padded at
  the end of that axis with ``pad_value`` to the longest; then they are stacked on a new first axis;
- 0-d arrays and numpy scalars (``mono_date`` dates): stacked into shape (B,);
- mappings: a dict of the collated values per key; named tuples: the same type;
  other sequences (the ``(data, dates)`` tuple, the item itself): a **list** of the collated
  positions (all elements must have the same length);
- anything else (Python numbers, strings, string arrays): ``TypeError``, as the reference.

With torch installed the leaves are tensors (numpy arrays are converted first, and in a DataLoader
worker the batch is stacked in shared memory, by ``torch.utils.data.default_collate``); without
torch they are numpy arrays.
"""

from __future__ import annotations

import collections.abc

import numpy as np

from ._compat import torch


def pad_collate(batch, pad_value=0):
    """Collate ``batch`` (a list of items), padding time series; see the module docstring.

    Raises ``TypeError`` for a leaf type the reference does not handle and ``RuntimeError`` when
    the sequences of a batch differ in length.
    """
    elem = batch[0]
    if torch is not None and isinstance(elem, torch.Tensor):
        return _stack_tensors(batch, pad_value)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if elem.dtype.kind in "SaUO":
            raise TypeError(f"Format not managed : {elem.dtype}")
        if torch is not None:
            if isinstance(elem, np.ndarray):
                return pad_collate([torch.as_tensor(b) for b in batch], pad_value)
            return torch.as_tensor(batch)
        return _stack_arrays(batch, pad_value)
    if isinstance(elem, collections.abc.Mapping):
        return {key: pad_collate([d[key] for d in batch], pad_value) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(pad_collate(list(s), pad_value) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence) and not isinstance(elem, (str, bytes)):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [pad_collate(list(s), pad_value) for s in zip(*batch)]
    raise TypeError(f"Format not managed : {type(elem)}")


def _longest_first_axis(shapes):
    """The longest first axis when the arrays differ in it, else None (nothing to pad)."""
    if len(shapes[0]) == 0:
        return None
    firsts = [s[0] for s in shapes]
    longest = max(firsts)
    return None if all(f == longest for f in firsts) else longest


def _stack_tensors(batch, pad_value):
    longest = _longest_first_axis([tuple(t.shape) for t in batch])
    if longest is not None:
        padding = lambda t: [0, 0] * (t.dim() - 1) + [0, longest - t.shape[0]]  # noqa: E731
        batch = [torch.nn.functional.pad(t, padding(t), value=pad_value) for t in batch]
    return torch.utils.data.default_collate(batch)


def _stack_arrays(batch, pad_value):
    batch = [np.asarray(b) for b in batch]
    longest = _longest_first_axis([b.shape for b in batch])
    if longest is not None:
        batch = [
            np.pad(b, [(0, longest - b.shape[0])] + [(0, 0)] * (b.ndim - 1), constant_values=pad_value)
            for b in batch
        ]
    return np.stack(batch)
