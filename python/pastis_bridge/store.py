"""Opening a pastis-bridge Zarr store, local or on object storage, once per process.

The store is reached through zarr-python 3 (`zarr.open_group`): a local path, or a URL
(``s3://bucket/key.zarr``, ``gs://``...) through fsspec (``s3fs`` for ``s3://``), whose options
(endpoint, credentials) are fsspec ``storage_options``; s3fs also reads the usual ``AWS_*``
environment variables, including ``AWS_ENDPOINT_URL``. The consolidated metadata the writer puts
in the root is read once, so looking an array up costs no request.
"""

from __future__ import annotations

import os

import zarr

#: Root attribute naming the layout (docs/stacked-layout.md); the versions this package reads.
LAYOUT_ATTRIBUTE = "pastis_bridge_layout"
LAYOUTS = ("pastis-bridge-stacked/1", "pastis-bridge-stacked/2", "pastis-bridge-stacked/3")


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
                node = self._root[name]
            except KeyError:
                raise StoreError(f"{self.store}: no array {name!r}") from None
            if not isinstance(node, zarr.Array):
                raise StoreError(f"{self.store}: {name!r} is not an array")
            self._arrays[name] = node
        return self._arrays[name]

    def __getstate__(self):
        return {"store": self.store, "storage_options": self.storage_options}

    def __setstate__(self, state):
        self.__init__(state["store"], state["storage_options"])
