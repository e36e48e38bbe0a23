"""Checks that a pastis-bridge HDF5 file is also a netCDF-4 file: xarray opens it with the
h5netcdf engine (h5py underneath) and the netcdf4 engine (netCDF-C underneath), and every data
variable equals numpy's reading of the source PASTIS folder (each patch trimmed to its length).

Usage: check_netcdf.py SRC_FOLDER FILE.h5 [SRC_FOLDER FILE.h5 ...]
       (prints "ok: N patches, layers ..., engines ..." for each pair)
"""
import json
import sys
from pathlib import Path

import numpy as np
import xarray as xr

SERIES = ["S2", "S1A", "S1D"]
FOLDERS = {"S2": "DATA_S2", "S1A": "DATA_S1A", "S1D": "DATA_S1D", "TARGET": "ANNOTATIONS",
           "ParcelIDs": "ANNOTATIONS", "HEATMAP": "INSTANCE_ANNOTATIONS",
           "INSTANCES": "INSTANCE_ANNOTATIONS", "ZONES": "INSTANCE_ANNOTATIONS"}
ENGINES = ["h5netcdf", "netcdf4"]
S2_BANDS = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12"]
S1_BANDS = ["VV", "VH", "VV/VH"]


def dims_of(name, ndim):
    """The documented dimension names (docs/stacked-layout.md)."""
    if name in SERIES:
        return ("patch", f"{name}_time", f"{name}_band", "y", "x")[:ndim]
    if name == "TARGET":
        return ("patch", "TARGET_channel", "y", "x")[:ndim]
    return ("patch", "y", "x")[:ndim]


def same_values(got, expected):
    """Equal values; floats equal or both NaN (netCDF-C reads float16 as float32, exactly)."""
    if got.shape != expected.shape:
        return False
    if expected.dtype.kind == "f":
        return np.array_equal(got.astype(np.float64), expected.astype(np.float64), equal_nan=True)
    if expected.dtype.kind == "b":
        return np.array_equal(got.astype(bool), expected)
    return bool(np.all(got.astype(expected.dtype) == expected)) and np.can_cast(
        expected.dtype, got.dtype, "safe")


def stacked_kinds(src, name, ids):
    """The dtype kinds of a layer's .npy files."""
    files = [src / FOLDERS[name] / f"{name}_{i}.npy" for i in ids]
    return {np.load(f, mmap_mode="r").dtype.kind for f in files if f.exists()}


def check_layer(ds, src, name, features, engine):
    var = ds[name]
    assert var.dims == dims_of(name, var.ndim), (engine, name, var.dims)
    assert "_FillValue" not in var.attrs and "_FillValue" not in var.encoding, (
        engine, name, var.attrs, var.encoding)
    values = var.values
    present = ds[f"{name}_present"].values
    for i, feature in enumerate(features):
        pid = feature["properties"]["ID_PATCH"]
        npy = src / FOLDERS[name] / f"{name}_{pid}.npy"
        if not npy.exists():
            assert present[i] == 0, (engine, name, pid)
            continue
        expected = np.load(npy)
        got = values[i]
        if name in SERIES:
            length = int(ds[f"{name}_length"].values[i])
            assert length == expected.shape[0], (engine, name, pid, length)
            got = got[:length]
            dates = ds[f"{name}_dates"].values[i, :length].tolist()
            want = [feature["properties"][f"dates-{name}"][str(t)] for t in range(length)]
            assert dates == want, (engine, name, pid, dates, want)
        if f"{name}_dtype" in ds:
            own = str(ds[f"{name}_dtype"].values[i])
            assert np.dtype(own) == expected.dtype, (engine, name, pid, own, expected.dtype)
        assert same_values(got, expected), f"{engine}: {name} of patch {pid} differs"


def check_dataset(ds, src, features, engine):
    ids = [f["properties"]["ID_PATCH"] for f in features]
    assert ds["patch"].values.tolist() == ids, (engine, ds["patch"].values)
    assert ds["ID_PATCH"].dims == ("patch",) and ds["ID_PATCH"].values.tolist() == ids, engine
    props = [f["properties"] for f in features]
    assert ds["TILE"].values.tolist() == [p.get("TILE", "") for p in props], (engine, ds["TILE"])
    assert [json.loads(t) for t in ds["feature"].values.tolist()] == features, engine
    assert ds["grid_transform"].dims == ("patch", "geotransform"), engine
    for name in SERIES:
        if name in ds:
            assert ds[f"{name}_dates"].dims == ("patch", f"{name}_time"), engine
            bands = S2_BANDS if name == "S2" else S1_BANDS
            if ds.sizes[f"{name}_band"] == len(bands):
                assert ds[f"{name}_band"].values.tolist() == bands, (engine, name)
    if "TARGET" in ds and stacked_kinds(src, "TARGET", ids) <= set("iu"):
        # TARGET of integers (not bool, not floats) names its classes.
        target = ds["TARGET"]
        assert target.attrs["flag_values"].tolist() == list(range(20)), (engine, target.attrs)
        assert target.attrs["flag_meanings"].split()[2] == "Soft_winter_wheat", engine
    assert ds.attrs["Conventions"] == "CF-1.8", (engine, ds.attrs.get("Conventions"))
    layers = [name for name in FOLDERS if name in ds]
    for name in layers:
        check_layer(ds, src, name, features, engine)
    return layers


def check_file(src, path):
    features = json.loads((src / "metadata.geojson").read_text())["features"]
    for engine in ENGINES:
        with xr.open_dataset(path, engine=engine) as ds:
            layers = check_dataset(ds, src, features, engine)
    print(f"ok: {len(features)} patches, layers {', '.join(layers)}, engines {', '.join(ENGINES)}")


def main():
    args = sys.argv[1:]
    assert args and len(args) % 2 == 0, __doc__
    for src, path in zip(args[::2], args[1::2]):
        try:
            check_file(Path(src), Path(path))
        except Exception as e:
            raise AssertionError(f"{path} (from {src})") from e


if __name__ == "__main__":
    main()
