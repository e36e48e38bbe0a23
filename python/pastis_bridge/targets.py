"""The training targets the reference loader derives from the annotations.

Semantics follow ``PASTIS_Dataset`` (github.com/VSainteuf/pastis-benchmark, code/dataloader.py);
the implementation is this package's own (vectorised numpy, no per-parcel loop).

- semantic: ``TARGET[0]`` as ``int`` (int64), optionally through ``class_mapping``;
- instance: an (H, W, 7) float32 array whose last axis is: 0 HEATMAP, 1 INSTANCES, 2 ZONES,
  3-4 the (height, width) of the bounding box of the parcel that ZONES assigns to the pixel,
  5 that parcel's semantic class, 6 the pixel's semantic class (``TARGET[0]``, mapped).
"""

from __future__ import annotations

import numpy as np


def map_classes(classes: np.ndarray, class_mapping) -> np.ndarray:
    """``class_mapping[c]`` for every pixel class ``c`` (any indexable: dict, list, array).

    As the reference's ``np.vectorize(lambda x: class_mapping[x])``: the result's dtype is that of
    the first pixel's mapped value (a Python int gives int64, a float float64), the other values are
    cast to it. Each distinct class is looked up once. Raises the mapping's ``KeyError`` or
    ``IndexError`` for a class it lacks.
    """
    classes = np.asarray(classes)
    if classes.size == 0:
        raise ValueError("class_mapping: cannot map an empty annotation")
    dtype = np.asarray(class_mapping[classes.flat[0]]).dtype
    values, inverse = np.unique(classes, return_inverse=True)
    mapped = np.array([class_mapping[v] for v in values.tolist()], dtype=object).astype(dtype)
    return mapped[inverse].reshape(classes.shape)


def semantic_target(target: np.ndarray, class_mapping=None) -> np.ndarray:
    """The semantic target of ``TARGET`` (3, H, W): channel 0 as int64 (H, W), mapped if asked."""
    classes = target[0].astype(np.int_)
    return classes if class_mapping is None else map_classes(classes, class_mapping)


def instance_target(
    heatmap: np.ndarray,
    instances: np.ndarray,
    zones: np.ndarray,
    target: np.ndarray,
    class_mapping=None,
) -> np.ndarray:
    """The (H, W, 7) float32 panoptic target of one patch (channels in the module docstring).

    ``heatmap``, ``instances``, ``zones``: (H, W) as stored; ``target``: TARGET (3, H, W). A pixel
    whose ZONES value is 0 or is no instance of the patch gets size (0, 0) and class 0. The channels
    are concatenated in float64 (numpy's promotion of the stored dtypes) and rounded once to float32,
    as the reference does.
    """
    pixel_classes = target[0] if class_mapping is None else map_classes(target[0], class_mapping)
    size, object_classes = _parcel_geometry(instances, zones, pixel_classes)
    stacked = np.concatenate(
        [
            heatmap[:, :, None],
            instances[:, :, None],
            zones[:, :, None],
            size,
            object_classes[:, :, None],
            pixel_classes[:, :, None],
        ],
        axis=-1,
    )
    return stacked.astype(np.float32)


def _parcel_geometry(instances, zones, pixel_classes):
    """Per pixel, from the instance ZONES designates: the instance's bounding-box size
    (rows spanned, columns spanned) as float64 (H, W, 2), and the class of the instance's first
    pixel in row-major order as float64 (H, W)."""
    height, width = instances.shape
    flat = instances.ravel()
    ids, first = np.unique(flat, return_index=True)
    keep = ids != 0
    ids, first = ids[keep], first[keep]
    size = np.zeros((height, width, 2))
    object_classes = np.zeros((height, width))
    if ids.size == 0:
        return size, object_classes
    inside = flat != 0
    which = np.searchsorted(ids, flat[inside])
    rows = np.arange(flat.size)[inside] // width
    cols = np.arange(flat.size)[inside] % width
    spanned_rows = np.bincount(np.unique(which * height + rows) // height, minlength=ids.size)
    spanned_cols = np.bincount(np.unique(which * width + cols) // width, minlength=ids.size)
    first_class = pixel_classes.ravel()[first]

    slot = np.clip(np.searchsorted(ids, zones), 0, ids.size - 1)
    assigned = ids[slot] == zones
    size[..., 0] = np.where(assigned, spanned_rows[slot], 0)
    size[..., 1] = np.where(assigned, spanned_cols[slot], 0)
    object_classes[:] = np.where(assigned, first_class[slot], 0)
    return size, object_classes
