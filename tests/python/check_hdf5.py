"""Checks a pastis-bridge HDF5 file with h5py against numpy's reading of the source PASTIS folder.

Usage: check_hdf5.py SRC_FOLDER FILE.h5      (prints "ok: N patches")
       check_hdf5.py --write-foreign FILE.h5 (writes an HDF5 file that is not ours)
       check_hdf5.py --edit FILE.h5 LAYOUT [DATASET...]
                                             (sets pastis_bridge_layout, deletes the datasets:
                                              how tests make a v1 file or an unknown version)
"""
import json
import sys
from pathlib import Path

import h5py
import numpy as np

SERIES = ["S2", "S1A", "S1D"]
FOLDERS = {"S2": "DATA_S2", "S1A": "DATA_S1A", "S1D": "DATA_S1D", "TARGET": "ANNOTATIONS",
           "ParcelIDs": "ANNOTATIONS", "HEATMAP": "INSTANCE_ANNOTATIONS",
           "INSTANCES": "INSTANCE_ANNOTATIONS", "ZONES": "INSTANCE_ANNOTATIONS"}
LAYOUT = "pastis-bridge-stacked/3"


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def check_layer(f, src, name, features):
    ds = f[name]
    present = f[f"{name}_present"][:]
    assert ds.shape[0] == len(features), (name, ds.shape)
    chunk = (1, 1) + ds.shape[2:] if name in SERIES else (1,) + ds.shape[1:]
    assert ds.chunks == chunk, (name, ds.chunks, chunk)
    assert ds.compression == "gzip" and ds.shuffle, (name, ds.compression, ds.shuffle)
    assert ds.fillvalue == 0, (name, ds.fillvalue)
    dims = [text(d) for d in ds.attrs["dimension_names"]]
    assert len(dims) == ds.ndim and dims[0] == "patch", (name, dims)
    assert [d.label for d in ds.dims] == dims, (name, [d.label for d in ds.dims])
    assert ds.dims[0][0].name == "/patch", (name, ds.dims[0].keys())
    assert [d.label for d in f[f"{name}_present"].dims] == ["patch"], name
    if name in SERIES:
        assert [d.label for d in f[f"{name}_dates"].dims] == ["patch", f"{name}_time"], name
        assert dims[1] == f"{name}_time", (name, dims)
    for i, feature in enumerate(features):
        npy = src / FOLDERS[name] / f"{name}_{feature['properties']['ID_PATCH']}.npy"
        if not npy.exists():
            assert present[i] == 0, (name, i)
            assert not np.any(ds[i]), f"{name}[{i}] is absent but not zero"
            continue
        expected = np.load(npy)
        assert present[i] == 1, (name, i)
        if name in SERIES:
            length = int(f[f"{name}_length"][i])
            assert length == expected.shape[0], (name, i, length)
            got = ds[i, :length]
            assert not np.any(ds[i, length:]), f"{name}[{i}] padding is not zero"
            dates = f[f"{name}_dates"][i]
            want = [feature["properties"][f"dates-{name}"][str(t)] for t in range(length)]
            assert list(dates[:length]) == want and not np.any(dates[length:]), (name, i)
        else:
            got = ds[i]
        if f"{name}_dtype" in f:
            # A layer whose patches differ in dtype is stored in one that holds them all.
            own = np.dtype(text(f[f"{name}_dtype"][i]))
            assert np.can_cast(own, ds.dtype, "safe"), (name, i, own, ds.dtype)
            got = got.astype(own)
        assert got.dtype == expected.dtype, (name, i, got.dtype, expected.dtype)
        assert got.shape == expected.shape, (name, i, got.shape, expected.shape)
        assert got.tobytes() == expected.tobytes(), f"{name}[{i}] values differ"


def check_columns(f, features):
    props = [ft["properties"] for ft in features]
    assert list(f["ID_PATCH"][:]) == [p["ID_PATCH"] for p in props]
    assert list(f["Fold"][:]) == [p.get("Fold", -1) for p in props]
    assert [text(t) for t in f["TILE"][:]] == [p.get("TILE", "") for p in props]
    assert list(f["N_Parcel"][:]) == [p.get("N_Parcel", -1) for p in props]
    assert np.allclose(f["Parcel_Cover"][:], [p.get("Parcel_Cover", np.nan) for p in props],
                       equal_nan=True)
    assert [json.loads(text(t)) for t in f["feature"][:]] == features
    assert f["grid_epsg"].shape == (len(features),) and f["grid_transform"].shape == (len(features), 6)
    assert f["ID_PATCH"].dtype == np.int64 and f["Parcel_Cover"].dtype == np.float64
    assert list(f["patch"][:]) == list(f["ID_PATCH"][:]) and f["patch"].is_scale
    assert f["TILE"].dims[0][0].name == "/patch" and f["feature"].dims[0].label == "patch"
    for ft, epsg, gt in zip(features, f["grid_epsg"][:], f["grid_transform"][:]):
        # A grid needs a polygon footprint; one that is not the patch's 10 m square in its UTM
        # zone (georef) gets the sentinels too.
        georeferenced = epsg != 0
        polygon = (ft.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")
        assert not georeferenced or polygon, (epsg, ft)
        assert np.all(np.isfinite(gt)) == georeferenced, (epsg, gt)


def check_attributes(f, src):
    a = f.attrs
    assert text(a["pastis_bridge_layout"]) == LAYOUT, text(a["pastis_bridge_layout"])
    assert [text(c) for c in a["class_names"]][:2] == ["Background", "Meadow"]
    # netCDF attributes are 1-D: the (20, 3) colours are stored row by row.
    assert a["class_colors"].shape == (60,) and a["class_colors"][3:6].tolist() == [174, 199, 232]
    doc = json.loads((src / "metadata.geojson").read_text())
    if "crs" in doc:
        assert text(a["crs"]) == doc["crs"]["properties"]["name"]
    norm = json.loads(text(a["norm"]))
    for name in SERIES:
        path = src / f"NORM_{name}_patch.json"
        if path.exists():
            assert norm[name] == json.loads(path.read_text()), name


def main():
    if sys.argv[1] == "--write-foreign":
        with h5py.File(sys.argv[2], "w") as f:
            f["S2"] = np.zeros((1, 2), "i2")
        return
    if sys.argv[1] == "--edit":
        with h5py.File(sys.argv[2], "r+") as f:
            f.attrs["pastis_bridge_layout"] = sys.argv[3]
            for name in sys.argv[4:]:
                del f[name]
        return
    src, path = Path(sys.argv[1]), Path(sys.argv[2])
    features = json.loads((src / "metadata.geojson").read_text())["features"]
    with h5py.File(path, "r") as f:
        check_columns(f, features)
        check_attributes(f, src)
        layers = [name for name in FOLDERS if name in f]
        assert layers, "no data arrays"
        for name in layers:
            check_layer(f, src, name, features)
    print(f"ok: {len(features)} patches, layers {', '.join(layers)}")


if __name__ == "__main__":
    main()
