"""Opening a pastis-bridge Zarr store, local or on object storage, once per process.

The store is reached through zarr-python 3 (`zarr.open_group`): a local path, or a URL
(``s3://bucket/key.zarr``, ``gs://``...) through fsspec (``s3fs`` for ``s3://``), whose options
(endpoint, credentials) are fsspec ``storage_options``; s3fs also reads the usual ``AWS_*``
environment variables, including ``AWS_ENDPOINT_URL``. The consolidated metadata the writer puts
in the root is read once, so looking an array up costs no request.

An item's arrays are read **concurrently** (``ProcessLocalRoot.read``): the ``getitem``
coroutines of their ``AsyncArray`` (``zarr.Array.async_array``) are gathered on zarr-python's own
event loop (``zarr.core.sync.sync``, the loop every ``zarr.Array`` call runs on, reset by zarr in a
forked child), and each result is finished (cast, standardised) in a worker thread of that loop as
soon as it is decoded. zarr decodes inner chunks in those worker threads too, and Blosc and numpy
release the GIL, so one item uses every core: S2's decoding overlaps S1A's, S1D's and the
annotations', and the float conversion of one series the decoding of the next.

On a local store, when the ``zarrs`` package (zarrs-python) is installed and zarr's
``codec_pipeline.path`` is left at its default, the arrays are opened with zarrs' Rust codec
pipeline (``zarrs.ZarrsCodecPipeline``): the same bytes decoded with about a quarter less CPU
(bench/RESULTS.md, "Python loader, quiet machine"). Only this package's arrays use it; zarr's
global configuration is left as it was. A pipeline chosen by the user is always kept.

zarrs' Rust thread pool does not survive ``fork``: a forked child that decodes through it after
its parent did deadlocks (zarrs-python#171, open), which is what a PyTorch ``DataLoader`` with
``num_workers > 0`` does on Linux. So a process forked after this package used zarrs' pipeline
opens its arrays with zarr's own pipeline (``os.register_at_fork``); a worker forked before any
read, or started with ``spawn``, still uses zarrs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import zarr
from zarr.core.sync import sync as zarr_sync

#: Root attribute naming the layout (docs/stacked-layout.md); the versions this package reads.
LAYOUT_ATTRIBUTE = "pastis_bridge_layout"
LAYOUTS = ("pastis-bridge-stacked/1", "pastis-bridge-stacked/2", "pastis-bridge-stacked/3")


#: zarr-python's own codec pipeline, the default of ``codec_pipeline.path``.
DEFAULT_PIPELINE = "zarr.core.codec_pipeline.BatchedCodecPipeline"
#: zarrs-python's Rust codec pipeline (package ``zarrs``).
ZARRS_PIPELINE = "zarrs.ZarrsCodecPipeline"


#: Whether this process has opened an array with zarrs' pipeline (then its forked children must
#: not use it), and whether it inherited such a pipeline across ``fork`` (then it must not).
_zarrs_state = {"used": False, "forked_after_use": False}


def _after_fork_in_child() -> None:
    if _zarrs_state["used"]:
        _zarrs_state["forked_after_use"] = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def pipeline_config(store: str) -> dict:
    """The zarr configuration to open ``store``'s arrays with: zarrs' pipeline for a local
    store when ``zarrs`` is importable, the user kept zarr's default pipeline and this process was
    not forked from one that used zarrs (zarrs-python#171); else nothing (zarr's own pipeline)."""
    if (
        "://" in str(store)
        or _zarrs_state["forked_after_use"]
        or zarr.config.get("codec_pipeline.path") != DEFAULT_PIPELINE
    ):
        return {}
    try:
        import zarrs  # noqa: F401
    except ImportError:
        return {}
    _zarrs_state["used"] = True
    return {"codec_pipeline.path": ZARRS_PIPELINE}


class StoreError(ValueError):
    """The store cannot serve what was asked: not a pastis-bridge store, an unknown layout
    version, a missing array or attribute, an absent layer for a patch. The message names the
    store and, where it applies, the patch (``ID_PATCH``) and the layer."""


def open_root(store: str, storage_options: dict | None) -> zarr.Group:
    """The root group of ``store``, read-only, after checking its layout version.

    Raises ``StoreError`` naming the store when it is not a pastis-bridge store or its layout is
    unknown; zarr's and fsspec's own errors (missing path, no credentials) pass through.
    """
    kwargs = {} if storage_options is None else {"storage_options": storage_options}
    root = zarr.open_group(store, mode="r", **kwargs)
    layout = root.attrs.get(LAYOUT_ATTRIBUTE)
    if layout is None:
        raise StoreError(f"{store}: not a pastis-bridge Zarr store (no {LAYOUT_ATTRIBUTE} attribute)")
    if layout not in LAYOUTS:
        raise StoreError(f"{store}: unknown layout {layout!r} (this package reads {', '.join(LAYOUTS)})")
    return root


class ProcessLocalRoot:
    """The root group of a store, opened lazily in each process that uses it.

    A DataLoader worker forked from the process that built the dataset gets its own group (and
    its own fsspec/aiohttp session) on first use, never a handle inherited across ``fork``;
    pickling (``spawn`` workers) carries only the address and options.
    """

    def __init__(self, store: str, storage_options: dict | None):
        self.store = store
        self.storage_options = storage_options
        self._pid: int | None = None
        self._root: zarr.Group | None = None
        self._arrays: dict[str, zarr.Array] = {}

    def array(self, name: str) -> zarr.Array:
        """The array ``name`` of the root group (metadata from the consolidated root, no I/O
        after the first call in a process). Raises ``StoreError`` naming the store if absent."""
        if self._pid != os.getpid():
            self._root = open_root(self.store, self.storage_options)
            self._arrays = {}
            self._pid = os.getpid()
        if name not in self._arrays:
            try:
                # The codec pipeline is bound when the array is opened.
                with zarr.config.set(pipeline_config(self.store)):
                    node = self._root[name]
            except KeyError:
                raise StoreError(f"{self.store}: no array {name!r}") from None
            if not isinstance(node, zarr.Array):
                raise StoreError(f"{self.store}: {name!r} is not an array")
            self._arrays[name] = node
        return self._arrays[name]

    def read(self, requests: Sequence[tuple[str, Any, Callable[[np.ndarray], Any] | None]]) -> list:
        """Read several selections at once: for each ``(name, selection, finish)``, the basic
        selection ``selection`` (ints and slices, as ``zarr.Array.__getitem__``) of the array
        ``name``, passed to ``finish`` (in a worker thread, as soon as it is read) when not None.

        Returns the results in the order of ``requests``. All selections are read concurrently on
        zarr-python's event loop; the first error (``StoreError`` for an absent array, zarr's or
        the store's own) is raised once every read has ended.
        """
        arrays = [_async_array(self.array(name)) for name, _, _ in requests]
        return zarr_sync(_gather(arrays, [(sel, finish) for _, sel, finish in requests]))

    def __getstate__(self):
        return {"store": self.store, "storage_options": self.storage_options}

    def __setstate__(self, state):
        self.__init__(state["store"], state["storage_options"])


def _async_array(array: zarr.Array):
    """The ``AsyncArray`` behind ``array``: ``Array.async_array`` (made public by
    zarr-python#3556, in 3.1.6), the same object as ``Array._async_array`` of earlier 3.x."""
    public = getattr(array, "async_array", None)
    return array._async_array if public is None else public


async def _gather(arrays: list, selections: list) -> list:
    """The finished reads of ``arrays`` (``AsyncArray``) at ``selections`` (selection, finish),
    all in flight together; raises the first error after all have ended."""

    async def one(array, selection, finish):
        values = await array.getitem(selection)
        return values if finish is None else await asyncio.to_thread(finish, values)

    results = await asyncio.gather(
        *(one(a, sel, finish) for a, (sel, finish) in zip(arrays, selections)), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
