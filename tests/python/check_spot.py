"""Checks PASTIS-HD's SPOT layer in a pastis-bridge Zarr store or HDF5 file against the source's
SPOT GeoTIFFs read by rasterio (as the public PASTIS-HD loaders read them): for every patch,
`SPOT[i, :SPOT_bands[i], :SPOT_height[i], :SPOT_width[i]]` equals the image (in its own dtype,
`SPOT_dtype` where the layer mixes dtypes), and the CRS, EPSG, geotransform, band descriptions and
no-data values of the `SPOT_*` columns are the file's (docs/stacked-layout.md, "SPOT").

Readers: xarray (zarr engine) and zarr-python for a store; h5py and xarray (h5netcdf and netcdf4
engines, i.e. netCDF-4) for a file.

Usage: check_spot.py SRC_FOLDER STORE.zarr|FILE.h5 [...]   (prints "ok: ..." per store)
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr

SPOT = "DATA_SPOT/PASTIS_SPOT6_RVB_1M00_2019/SPOT6_RVB_1M00_2019_{}.tif"
DIMS = ("patch", "SPOT_band", "SPOT_y", "SPOT_x")
BAND_DIMS = ("patch", "SPOT_band")


def text(value):
    """A string as stored: bytes (h5py) or str. xarray masks a Zarr v2 `<U` array's fill value
    "" as missing (NaN): that is an empty string too."""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def check_patch(get, i, pid, src, who):
    """`get(name)` returns a whole column or the SPOT array as numpy."""
    path = src / SPOT.format(pid)
    present = int(get("SPOT_present")[i])
    if not path.exists():
        assert present == 0, (who, pid, "SPOT_present without a TIFF")
        assert int(get("SPOT_bands")[i]) == 0, (who, pid)
        return 0
    assert present == 1, (who, pid, "TIFF without SPOT_present")
    b, h, w = (int(get(n)[i]) for n in ("SPOT_bands", "SPOT_height", "SPOT_width"))
    with rasterio.open(path) as r:
        image = r.read()
        assert (b, h, w) == image.shape, (who, pid, (b, h, w), image.shape)
        got = get("SPOT")[i, :b, :h, :w]
        if "SPOT_dtype" in names(get):
            got = got.astype(np.dtype(text(get("SPOT_dtype")[i])))
        assert got.dtype == image.dtype, (who, pid, got.dtype, image.dtype)
        assert np.array_equal(got, image), (who, pid, "pixels differ")
        wkt = text(get("SPOT_crs_wkt")[i])
        if r.crs is None:
            assert wkt == "", (who, pid, wkt)
        else:
            assert rasterio.crs.CRS.from_wkt(wkt) == r.crs, (who, pid, wkt, r.crs)
        epsg = int(get("SPOT_epsg")[i])
        assert epsg == (r.crs.to_epsg() or 0 if r.crs else 0), (who, pid, epsg)
        transform = get("SPOT_geotransform")[i].tolist()
        assert transform == list(r.transform.to_gdal()), (who, pid, transform)
        described = [text(d) for d in get("SPOT_band_description")[i, :b]]
        assert described == [d or "" for d in r.descriptions], (who, pid, described)
        flags = get("SPOT_nodata_present")[i, :b].tolist()
        values = get("SPOT_nodata")[i, :b].tolist()
        found = [v if f else None for v, f in zip(values, flags)]
        want = list(r.nodatavals)
        same = all(
            (a is None and c is None)
            or (a is not None and c is not None and (a == c or (math.isnan(a) and math.isnan(c))))
            for a, c in zip(found, want))
        assert same, (who, pid, found, want)
        padding = get("SPOT")[i]
        rest = padding.copy()
        rest[:b, :h, :w] = 0
        assert not rest.any(), (who, pid, "padding is not zero")
    return 1


def names(get):
    return get.names


class Columns:
    """Whole columns by name, read once, from one reader."""

    def __init__(self, read, names):
        self.read, self.names, self.cache = read, set(names), {}

    def __call__(self, name):
        if name not in self.cache:
            self.cache[name] = np.asarray(self.read(name))
        return self.cache[name]


def check_with(get, features, src, who, dims_of):
    assert dims_of("SPOT") == DIMS, (who, dims_of("SPOT"))
    for name in ("SPOT_band_description", "SPOT_nodata", "SPOT_nodata_present"):
        assert dims_of(name) == BAND_DIMS, (who, name, dims_of(name))
    assert dims_of("SPOT_geotransform") == ("patch", "geotransform"), who
    ids = [f["properties"]["ID_PATCH"] for f in features]
    return sum(check_patch(get, i, pid, src, who) for i, pid in enumerate(ids))


def check_zarr(path, src, features):
    import zarr

    with xr.open_zarr(path) as ds:
        n = check_with(Columns(lambda k: ds[k].values, ds.variables), features, src,
                       "xarray", lambda k: ds[k].dims)
    group = zarr.open_group(str(path), mode="r")
    members = set(group.array_keys())

    def dims(k):
        array = group[k]
        named = getattr(array.metadata, "dimension_names", None)
        return tuple(named) if named else tuple(array.attrs["_ARRAY_DIMENSIONS"])

    check_with(Columns(lambda k: group[k][...], members), features, src, "zarr-python", dims)
    return n, ["xarray", "zarr-python"]


def check_hdf5(path, src, features):
    import h5py

    with h5py.File(path, "r") as f:
        def dims(k):
            # The HDF5 dimension labels (H5DSset_label), as the writer names every axis.
            return tuple(d.label for d in f[k].dims)

        n = check_with(Columns(lambda k: f[k][...], f.keys()), features, src, "h5py", dims)
    engines = ["h5netcdf", "netcdf4"]
    for engine in engines:
        with xr.open_dataset(path, engine=engine) as ds:
            check_with(Columns(lambda k: ds[k].values, ds.variables), features, src, engine,
                       lambda k: ds[k].dims)
    return n, ["h5py"] + engines


def main():
    args = sys.argv[1:]
    assert len(args) >= 2, __doc__
    src = Path(args[0])
    features = json.loads((src / "metadata.geojson").read_text())["features"]
    for store in map(Path, args[1:]):
        check = check_zarr if store.suffix == ".zarr" else check_hdf5
        try:
            n, readers = check(store, src, features)
        except Exception as e:
            raise AssertionError(f"{store} (from {src})") from e
        print(f"ok: {store.name}: SPOT of {n} of {len(features)} patches, {', '.join(readers)}")


if __name__ == "__main__":
    main()
