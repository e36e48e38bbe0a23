"""Checks a pastis-bridge Zarr store (v3 or v2) against the PASTIS folder it came from.

usage: check_zarr.py SRC_FOLDER STORE.zarr

zarr-python 3 and xarray must open the store and see exactly what numpy reads from the source
.npy files: every array of every patch (dtype and bytes), lengths, dates, presence (a series with
0 dates is present, a missing one absent), dimension names, the per-patch columns and the grid
sentinels of footprints that are not polygons. Prints "ok ..." and exits 0, or raises.
"""

import json
import sys
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

SERIES = {"S2": "DATA_S2", "S1A": "DATA_S1A", "S1D": "DATA_S1D"}
ANNOTATIONS = {
    "TARGET": "ANNOTATIONS",
    "ParcelIDs": "ANNOTATIONS",
    "HEATMAP": "INSTANCE_ANNOTATIONS",
    "INSTANCES": "INSTANCE_ANNOTATIONS",
    "ZONES": "INSTANCE_ANNOTATIONS",
}
OWN_AXES = {"TARGET": ["channel"]}
LAYOUT = "pastis-bridge-stacked/3"


def own(group, name, i, stored):
    """A patch's array in its own dtype: `<LAYER>_dtype` names it where the layer mixes dtypes
    (the stored dtype holds every patch's exactly)."""
    if f"{name}_dtype" not in group:
        return stored
    dtype = np.dtype(str(group[f"{name}_dtype"][i]))
    assert np.can_cast(dtype, stored.dtype, "safe"), (name, i, dtype, stored.dtype)
    return stored.astype(dtype)


def same(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    assert a.tobytes() == b.tobytes(), f"{what}: values differ"


def dims_of(array):
    if array.metadata.zarr_format == 3:
        return list(array.metadata.dimension_names)
    return list(array.attrs["_ARRAY_DIMENSIONS"])


def expected_dims(name, ndim):
    if name in SERIES:
        own = ["time", "band"]
    else:
        own = OWN_AXES.get(name, [])
    own = [f"{name}_{a}" for a in own]
    return ["patch"] + own + ["y", "x"][: ndim - 1 - len(own)]


def main(src, store):
    features = json.loads((src / "metadata.geojson").read_text())["features"]
    group = zarr.open_group(store, mode="r")
    ds = xr.open_zarr(store, consolidated=True)
    checked = 0
    same(group["ID_PATCH"][:], np.array([f["properties"]["ID_PATCH"] for f in features]), "ID_PATCH")
    same(group["Fold"][:], np.array([f["properties"]["Fold"] for f in features]), "Fold")
    assert [str(t) for t in group["TILE"][:]] == [f["properties"]["TILE"] for f in features], "TILE"
    stored_features = [str(f) for f in group["feature"][:]]
    # Text is fixed-length unicode in v2 (GDAL reads it), variable-length strings in v3; both
    # read as text in zarr-python and xarray.
    for name in ("TILE", "feature"):
        kind = group[name].dtype.kind if group.metadata.zarr_format == 2 else "U"
        assert kind == "U", f"{name} is {group[name].dtype} in a v2 store, expected <U"
        values = [str(v) for v in ds[name].values]
        assert values == [str(v) for v in group[name][:]], f"xarray {name}"
    epsg, transform = group["grid_epsg"][:], group["grid_transform"][:]
    assert dims_of(group["grid_transform"]) == ["patch", "geotransform"]
    for i, feature in enumerate(features):
        props = feature["properties"]
        pid = props["ID_PATCH"]
        assert json.loads(stored_features[i]) == feature, f"feature of {pid}"
        polygon = (feature.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")
        if not polygon:
            assert epsg[i] == 0 and np.isnan(transform[i]).all(), f"grid of {pid}"
        for name, folder in {**SERIES, **ANNOTATIONS}.items():
            path = src / folder / f"{name}_{pid}.npy"
            if name not in group:
                assert not path.exists(), f"{name} missing from the store"
                continue
            array = group[name]
            assert dims_of(array) == expected_dims(name, array.ndim), f"{name} dims {dims_of(array)}"
            assert list(ds[name].dims) == dims_of(array), f"xarray {name} dims"
            present = bool(group[f"{name}_present"][i])
            assert present == path.exists(), f"{name}_present of {pid}"
            assert dims_of(group[f"{name}_present"]) == ["patch"], f"{name}_present dims"
            if name in SERIES:
                length = int(group[f"{name}_length"][i])
                dates = props.get(f"dates-{name}", {})
                assert dims_of(group[f"{name}_dates"]) == ["patch", f"{name}_time"], f"{name}_dates dims"
                if not present:
                    assert length == 0, f"{name} of {pid} should be absent"
                    continue
                want = [dates[k] for k in sorted(dates, key=int)]
                same(group[f"{name}_dates"][i, :length], np.array(want, dtype="int32"), f"{name} dates of {pid}")
                source = np.load(path)
                same(own(group, name, i, array[i, :length]), source, f"{name} of {pid} (zarr)")
                same(own(group, name, i, ds[name][i, :length].values), source, f"{name} of {pid} (xarray)")
                rest = array[i, length:]
                assert not rest.any(), f"{name} padding of {pid} is not zero"
            else:
                if not present:
                    continue
                source = np.load(path)
                same(own(group, name, i, array[i]), source, f"{name} of {pid} (zarr)")
                same(own(group, name, i, ds[name][i].values), source, f"{name} of {pid} (xarray)")
            checked += 1
    attrs = dict(group.attrs)
    assert attrs["pastis_bridge_layout"] == LAYOUT, attrs
    # CF attributes of the data arrays, as xarray shows them (the same as the HDF5 file's).
    for name in [n for n in {**SERIES, **ANNOTATIONS} if n in group]:
        assert ds[name].attrs.get("long_name"), f"{name} has no long_name: {ds[name].attrs}"
    if "S2" in group:
        assert ds["S2"].attrs["units"] == "1e-4", ds["S2"].attrs
    if "TARGET" in group and group["TARGET"].dtype.kind in "iu":
        target = ds["TARGET"].attrs
        assert list(target["flag_values"]) == list(range(20)), target
        meanings = target["flag_meanings"].split(" ")
        assert len(meanings) == 20 and meanings[2] == "Soft_winter_wheat", meanings
    print(f"ok zarr_format={group.metadata.zarr_format} arrays={checked} patches={len(features)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
