"""``PASTISZarrDataset``: the reference PASTIS loader's items, read from a pastis-bridge Zarr store.

The keyword arguments, their defaults and meanings, the item structure and ``len``/``id_patches``
are those of ``PASTIS_Dataset`` in github.com/VSainteuf/pastis-benchmark (code/dataloader.py), so
that a notebook switches by changing the class and the folder into a store. The store's layout is
docs/stacked-layout.md (``pastis-bridge-stacked/3``; versions 1 and 2 are read too; a layer mixing dtypes is cast back per patch through ``<LAYER>_dtype``): ``<SAT>[row, :length]``
is the original series, ``<SAT>_dates`` its ``yyyymmdd`` dates, ``ID_PATCH``/``Fold`` the metadata
columns, and the root attribute ``norm`` holds each ``NORM_<SAT>_patch.json`` verbatim.

Differences from the reference, all where the reference fails or prints:

- ``mono_date`` may be an ``int`` (the reference accepts only strings: ``"3"`` or ``"2019-01-01"``;
  both are accepted here too) or a ``datetime.date``;
- dates more than 200 days before or 600 after ``reference_date`` are returned (the reference's
  date table spans days -200..599 and fails on them);
- a missing layer or NORM entry raises ``StoreError`` naming the store, patch and layer
  (the reference raises ``FileNotFoundError``), an unknown ``target`` raises at construction;
- nothing is printed.
"""

from __future__ import annotations

import datetime as _dt
import json
from functools import partial

import numpy as np
from zarr.abc.store import Store

from . import targets
from ._compat import torch
from .dates import days_since, parse_date
from .store import ProcessLocalRoot, StoreError, open_root

#: The reference loader's satellites (PASTIS-R: S2, S1A, S1D).
SATELLITES = ("S2", "S1A", "S1D")
TARGETS = ("semantic", "instance")
_INSTANCE_LAYERS = ("HEATMAP", "INSTANCES", "ZONES", "TARGET")

_Base = torch.utils.data.Dataset if torch is not None else object


class PASTISZarrDataset(_Base):
    """PASTIS patches from a pastis-bridge Zarr store, as ``((data, dates), target)`` items.

    Args (the reference ``PASTIS_Dataset``'s, with the store in place of the folder):
        store: path of the ``.zarr`` store or URL (``s3://bucket/pastis.zarr``), or a zarr
            ``Store`` object (then shared as is by the processes that use the dataset).
        norm: standardise each series with the channel means and standard deviations of
            ``NORM_<SAT>_patch.json`` (store attribute ``norm``), averaged over ``folds``
            (over folds 1-5 when ``folds`` is None).
        target: ``"semantic"`` (TARGET[0], int64 (H, W)) or ``"instance"`` (float32 (H, W, 7):
            HEATMAP, INSTANCES, ZONES, parcel height and width, parcel class, pixel class).
        cache: keep the loaded items in memory (per process: each DataLoader worker has its own).
        mem16: with ``cache``, keep the series in float16 and return them as float32 (as the
            reference, the first access of an item returns the full-precision values).
        folds: the official folds to load (ints 1..5), in this order; None for all.
        reference_date: ``"YYYY-MM-DD"``; dates are given as days since it.
        class_mapping: indexable (dict, list) from the 20 classes to another grouping; as in the
            reference, the mapped semantic target stays a numpy array even with torch.
        mono_date: only one date per series: an int (position in the series) or a date
            (``"YYYY-MM-DD"``, ``datetime.date``: the closest date, the earlier on a tie).
        sats: series to load, among ``S2``, ``S1A``, ``S1D``.
        storage_options: fsspec options for a URL store (e.g. ``{"client_kwargs":
            {"endpoint_url": ...}}``); not an argument of the reference.

    Items: ``data`` and ``dates`` are dicts keyed by ``sats``; ``data[s]`` is float32
    (T, C, H, W) (T = 1 with ``mono_date``); ``dates[s]`` int64 (T,) sorted unique days (a 0-d
    array with ``mono_date``); tensors when torch is installed, numpy arrays otherwise.
    ``id_patches[i]`` is the ``ID_PATCH`` of item ``i``: patches in ``ID_PATCH`` order, grouped by
    fold in ``folds`` order when given.

    Raises ``StoreError`` (a ``ValueError``) naming the store when it is not a pastis-bridge store,
    lacks an array the options need, or its NORM statistics lack a satellite or fold;
    ``ValueError`` for an unknown option value.
    """

    def __init__(
        self,
        store,
        norm=True,
        target="semantic",
        cache=False,
        mem16=False,
        folds=None,
        reference_date="2018-09-01",
        class_mapping=None,
        mono_date=None,
        sats=["S2"],  # noqa: B006 - the reference's default, never mutated
        *,
        storage_options=None,
    ):
        super().__init__()
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
        unknown = [s for s in sats if s not in SATELLITES]
        if unknown:
            raise ValueError(f"sats: unknown satellites {unknown} (PASTIS has {list(SATELLITES)})")
        self.store = store if isinstance(store, Store) else str(store)
        self.target = target
        self.cache = cache
        self.mem16 = mem16
        self.folds = None if folds is None else list(folds)
        self.sats = list(sats)
        self.class_mapping = class_mapping
        self.reference_date = parse_date(reference_date, "reference_date")
        self.mono_date = _parse_mono_date(mono_date)
        self.memory = {}
        self.memory_dates = {}
        self._root = ProcessLocalRoot(self.store, storage_options)

        root = open_root(self.store, storage_options)
        ids = _column(root, self.store, "ID_PATCH")
        self._rows = _select_rows(ids, _column(root, self.store, "Fold"), self.folds)
        self.id_patches = ids[self._rows]
        self.len = len(self._rows)
        self._lengths, self._present, self._dates = {}, {}, {}
        for sat in self.sats:
            self._lengths[sat], self._present[sat], self._dates[sat] = _series_columns(
                root, self.store, sat, ids, self.reference_date
            )
        layers = ["TARGET"] if target == "semantic" else list(_INSTANCE_LAYERS)
        self._layers = {layer: _present_column(root, self.store, layer, ids) for layer in layers}
        self.norm = _norm_statistics(root, self.store, self.sats, self.folds) if norm else None
        self._own_dtypes = {
            layer: [str(d) for d in root[f"{layer}_dtype"][:]]
            for layer in [*self.sats, *layers]
            if f"{layer}_dtype" in root
        }

    def __len__(self):
        return self.len

    def __getitem__(self, item):
        row = self._rows[item]
        id_patch = int(self.id_patches[item])
        if self.mono_date is not None and not self.cache:
            one = self._one_date_item(row, id_patch)
            if one is not None:
                return _as_torch(one, self.target, self.class_mapping)
        if not self.cache or item not in self.memory:
            data, target = self._read(row, id_patch)
            if self.cache:
                kept = {s: d.astype(np.float16) for s, d in data.items()} if self.mem16 else data
                self.memory[item] = [kept, target]
        else:
            data, target = self.memory[item]
            if self.mem16:
                data = {s: d.astype(np.float32) for s, d in data.items()}

        if not self.cache or id_patch not in self.memory_dates:
            dates = {s: self._dates[s][row].copy() for s in self.sats}
            if self.cache:
                self.memory_dates[id_patch] = dates
        else:
            dates = self.memory_dates[id_patch]

        if self.mono_date is not None:
            data, dates = self._one_date(data, dates)
        return _as_torch(((data, dates), target), self.target, self.class_mapping)

    def get_dates(self, id_patch, sat):
        """The date sequence (int64 days since ``reference_date``, sorted unique) of the patch
        ``id_patch`` for ``sat``, as the reference's ``get_dates``."""
        rows = np.flatnonzero(self.id_patches == id_patch)
        if rows.size == 0:
            raise KeyError(id_patch)
        return self._dates[sat][self._rows[rows[0]]].copy()

    def _one_date_item(self, row, id_patch):
        """The ``mono_date`` item reading only the chosen date of each series (the chunk holding
        it), or None where a position falls outside a series: the full read then raises as the
        reference does. Without ``cache`` only: the cache keeps whole series."""
        dates = {s: self._dates[s][row] for s in self.sats}
        lengths = {s: int(self._lengths[s][row]) for s in self.sats}
        if any(not self._present[s][row] or min(lengths[s], len(dates[s])) == 0 for s in self.sats):
            return None
        index = self._mono_index(dates)
        for s in self.sats:
            span = min(len(dates[s]), lengths[s])
            if not -span <= index[s] < span:
                return None
        data, target = self._read(row, id_patch, {s: index[s] % lengths[s] for s in self.sats})
        dates = {s: np.asarray(dates[s][index[s]]) for s in self.sats}
        return (data, dates), target

    def _read(self, row, id_patch, dates=None):
        """The series of ``sats`` (dict of float32 (T, C, H, W), or (1, C, H, W) at the position
        ``dates[sat]`` when given) and the target of the store row ``row``, every array read
        concurrently (``ProcessLocalRoot.read``): only the chunks of each series' ``T`` real
        dates (of that date), and the patch's annotation rows.

        Raises ``StoreError`` naming the patch and layer when one is absent for the patch.
        """
        series, requests = {}, []
        for sat in self.sats:
            series[sat], reads = self._series_requests(sat, row, id_patch, None if dates is None else dates[sat])
            requests += reads
        if self.target == "semantic":
            requests.append(self._annotation_request("TARGET", row, id_patch, self._semantic))
            target = self._root.read(requests)[-1]
        else:
            layers = ("HEATMAP", "INSTANCES", "ZONES", "TARGET")
            requests += [self._annotation_request(layer, row, id_patch) for layer in layers]
            annotations = self._root.read(requests)[-len(layers) :]
            target = targets.instance_target(*annotations, self.class_mapping)
        return series, target

    def _series_requests(self, sat, row, id_patch, date=None):
        """The float32 (T, C, H, W) series of one patch (``<SAT>[row, :T]``; (1, C, H, W):
        ``[row, date]``), still to be filled, and the reads that fill it, each cast to float32
        and standardised when ``norm`` in its part of it.

        A whole series read alone (``sats`` of one satellite, the reference's default) is read
        in two parts, split at an inner-chunk boundary, so that the first part's conversion
        overlaps the second part's decoding and both cores convert; each part still reads only
        its own chunks.
        """
        if not self._present[sat][row]:
            raise StoreError(f"{self.store}: patch {id_patch} has no {sat}")
        array = self._root.array(sat)
        start, stop = (0, int(self._lengths[sat][row])) if date is None else (date, date + 1)
        series = np.empty((stop - start, *array.shape[2:]), dtype=np.float32)
        bounds = [start, stop]
        if date is None and len(self.sats) == 1:
            per_chunk = array.chunks[1]
            cut = -(-stop // per_chunk // 2) * per_chunk
            bounds = [start, cut, stop] if start < cut < stop else bounds
        reads = [
            (sat, np.s_[row, a:b], partial(self._finish_series, sat, row, series[a - start : b - start]))
            for a, b in zip(bounds, bounds[1:])
        ]
        return series, reads

    def _finish_series(self, sat, row, out, values):
        """``values`` as stored, cast to the patch's own dtype, into the float32 ``out`` and
        standardised in place (the reference's ``astype(float32)``, ``- mean``, ``/ std``: the
        same bits)."""
        out[...] = self._own_dtype(sat, row, values)
        if self.norm is not None:
            mean, std = self.norm[sat]
            out -= mean[None, :, None, None]
            out /= std[None, :, None, None]

    def _annotation_request(self, layer, row, id_patch, then=None):
        """The read of one patch's row of ``layer``, in the patch's own dtype, then ``then``."""
        if not self._layers[layer][row]:
            raise StoreError(f"{self.store}: patch {id_patch} has no {layer}")

        def finish(values):
            values = self._own_dtype(layer, row, values)
            return values if then is None else then(values)

        return layer, row, finish

    def _semantic(self, target):
        """The semantic target (int64 (H, W), mapped) of the patch's TARGET (3, H, W)."""
        return targets.semantic_target(target, self.class_mapping)

    def _own_dtype(self, layer, row, values):
        """``values`` cast back to the patch's own dtype where the layer mixes dtypes (layout 3:
        ``<LAYER>_dtype``, docs/stacked-layout.md); as stored otherwise."""
        own = self._own_dtypes.get(layer)
        return values if own is None else values.astype(np.dtype(own[row]))

    def _mono_index(self, dates):
        """Per satellite, the position of the ``mono_date`` date: the given position, or the
        closest date (the earlier on a tie)."""
        if isinstance(self.mono_date, int):
            return {s: self.mono_date for s in self.sats}
        delta = int((self.mono_date - self.reference_date).astype(np.int64))
        return {s: int(np.abs(dates[s] - delta).argmin()) for s in self.sats}

    def _one_date(self, data, dates):
        index = self._mono_index(dates)
        data = {s: data[s][index[s]][None] for s in self.sats}
        dates = {s: np.asarray(dates[s][index[s]]) for s in self.sats}
        return data, dates

    def __repr__(self):
        return (
            f"PASTISZarrDataset({self.store!r}, {self.len} patches, sats={self.sats}, "
            f"target={self.target!r}, folds={self.folds})"
        )


def _parse_mono_date(value):
    """None, an int position, or a ``datetime64[D]`` day (from a string with ``-`` or a date)."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, _dt.date) or "-" in str(value):
        return parse_date(value, "mono_date")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"mono_date: {value!r} is neither a position nor a date") from None


def _column(root, store, name):
    try:
        return np.asarray(root[name][:])
    except KeyError:
        raise StoreError(f"{store}: no array {name!r}") from None


def _select_rows(ids, folds_column, folds):
    """Store rows in ``ID_PATCH`` order, then (with ``folds``) those of each fold in turn."""
    by_id = np.argsort(ids, kind="stable")
    if folds is None:
        return by_id
    if len(folds) == 0:
        raise ValueError("folds is empty")
    return np.concatenate([by_id[folds_column[by_id] == f] for f in folds])


def _present_column(root, store, layer, ids):
    """``<LAYER>_present`` as booleans; version-1 stores without it: present where the layer
    exists (annotations) or its length is > 0 (series). Raises if the layer is absent."""
    if layer not in root:
        raise StoreError(f"{store}: no array {layer!r}")
    if f"{layer}_present" in root:
        return _column(root, store, f"{layer}_present").astype(bool)
    if f"{layer}_length" in root:
        return _column(root, store, f"{layer}_length") > 0
    return np.ones(len(ids), dtype=bool)


def _series_columns(root, store, sat, ids, reference):
    """Per store row: length, presence and date sequence (days since ``reference``) of ``sat``."""
    present = _present_column(root, store, sat, ids)
    lengths = _column(root, store, f"{sat}_length")
    yyyymmdd = _column(root, store, f"{sat}_dates")
    dates = []
    for row, length in enumerate(lengths):
        try:
            dates.append(days_since(yyyymmdd[row, :length], reference))
        except ValueError as err:
            raise StoreError(f"{store}: patch {ids[row]}: {sat}_dates: {err}") from None
    return lengths, present, dates


def _norm_statistics(root, store, sats, folds):
    """Per satellite, float32 (C,) mean and std: the float64 average of the selected folds'
    values (folds 1-5 when None), rounded to float32, as the reference."""
    norm = root.attrs.get("norm")
    if isinstance(norm, str):
        norm = json.loads(norm)
    if not isinstance(norm, dict):
        raise StoreError(f"{store}: no NORM statistics (root attribute 'norm'); use norm=False")
    selected = folds if folds is not None else range(1, 6)
    statistics = {}
    for sat in sats:
        values = norm.get(sat)
        if isinstance(values, str):
            values = json.loads(values)
        if not isinstance(values, dict):
            raise StoreError(f"{store}: no NORM_{sat}_patch.json in the 'norm' attribute")
        try:
            means = [values[f"Fold_{f}"]["mean"] for f in selected]
            stds = [values[f"Fold_{f}"]["std"] for f in selected]
        except KeyError as err:
            raise StoreError(f"{store}: NORM_{sat}_patch.json has no {err}") from None
        statistics[sat] = (
            np.stack(means).mean(axis=0).astype(np.float32),
            np.stack(stds).mean(axis=0).astype(np.float32),
        )
    return statistics


def _as_torch(item, target_kind, class_mapping):
    """The item with tensors where the reference has tensors (torch installed), else as is."""
    if torch is None:
        return item
    (data, dates), target = item
    data = {s: torch.from_numpy(d) for s, d in data.items()}
    dates = {s: torch.from_numpy(np.asarray(d)) for s, d in dates.items()}
    if not (target_kind == "semantic" and class_mapping is not None):
        target = torch.from_numpy(target)
    return (data, dates), target


__all__ = ["PASTISZarrDataset", "StoreError", "SATELLITES"]
