"""The obvious Python route for each benchmarked task, as a reference for pastis-bridge.

    python_reference.py TASK SRC DST

TASK is one of:
  zarr     PASTIS folder SRC -> Zarr v3 store DST (numpy + zarr-python), pastis-bridge's codec
           (Blosc zstd 1 + bit shuffle, 256 KiB blocks)
  zarr-default  the same with zarr-python's default codecs (zstd level 0, i.e. 3, no shuffle)
  hdf5     PASTIS folder SRC -> HDF5 file DST (numpy + h5py)
  geotiff  PASTIS folder SRC -> folder DST of GeoTIFFs + per-tile VRTs (numpy + rasterio, gdalbuildvrt)
  parcels  PASTIS folder SRC -> GeoJSON file DST (rasterio.features.shapes + json)
  read     Zarr store SRC (written by either side) -> PASTIS folder DST (zarr-python + numpy)

Each task does the same work as pastis-bridge, with the same layout, codecs, levels, chunking and
sharding (docs/zarr-layout.md, docs/hdf5-layout.md, docs/geotiff.md), written the way a Python user
would: one loop over patches, whatever parallelism the libraries give for free (zarr-python
encodes the inner chunks of a shard on its thread pool; h5py and rasterio run on one thread).
What is deliberately left out (small next to the pixels) is listed in bench/README.md.
"""

import json
import os
import subprocess
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message="Consolidated metadata")

SERIES = {"S2": "DATA_S2", "S1A": "DATA_S1A", "S1D": "DATA_S1D"}
ANNOTATIONS = {
    "TARGET": "ANNOTATIONS",
    "ParcelIDs": "ANNOTATIONS",
    "HEATMAP": "INSTANCE_ANNOTATIONS",
    "INSTANCES": "INSTANCE_ANNOTATIONS",
    "ZONES": "INSTANCE_ANNOTATIONS",
}
LAYERS = {**SERIES, **ANNOTATIONS}
CLASS_NAMES = [
    "Background", "Meadow", "Soft winter wheat", "Corn", "Winter barley", "Winter rapeseed",
    "Spring barley", "Sunflower", "Grapevine", "Beet", "Winter triticale", "Winter durum wheat",
    "Fruits, vegetables, flowers", "Potatoes", "Leguminous fodder", "Soybeans", "Orchard",
    "Mixed cereal", "Sorghum", "Void label",
]
ANNOTATION_PATCHES_PER_SHARD = 32
SERIES_CHUNK_DATES = 8  # pastis-bridge's Zarr series chunk: 8 dates of one patch (stacked::SERIES_CHUNK_DATES)
# pastis-bridge's Zarr default (src/formats/zarr/writer.rs DEFAULT_COMPRESSION, arrays.rs
# BLOSC_BLOCKSIZE); typesize is the element size, which zarr-python fills in from the dtype.
BLOSC = {"cname": "zstd", "clevel": 1, "shuffle": "bitshuffle", "blocksize": 256 * 1024}
DEFLATE_LEVEL = 5  # pastis-bridge's HDF5 default (shuffle + deflate 5)


# ---------------------------------------------------------------- the PASTIS folder


class Pastis:
    """A PASTIS folder: metadata, and each patch's .npy files."""

    def __init__(self, root):
        self.root = Path(root)
        self.meta = json.loads((self.root / "metadata.geojson").read_text())
        self.features = self.meta["features"]
        self.ids = [int(f["properties"]["ID_PATCH"]) for f in self.features]

    def path(self, layer, pid):
        return self.root / LAYERS[layer] / f"{layer}_{pid}.npy"

    def load(self, layer, pid):
        p = self.path(layer, pid)
        return np.load(p) if p.exists() else None

    def layout(self):
        """Per layer present: dtype and shape with the longest time axis (headers only)."""
        out = {}
        for layer in LAYERS:
            for pid in self.ids:
                p = self.path(layer, pid)
                if not p.exists():
                    continue
                a = np.load(p, mmap_mode="r")
                if layer not in out:
                    out[layer] = (a.dtype, list(a.shape))
                elif layer in SERIES:
                    out[layer][1][0] = max(out[layer][1][0], a.shape[0])
        return out


def dim_names(layer, shape):
    """Axis names of a stacked layer whose per-patch shape is `shape`."""
    if layer in SERIES:
        return ["patch", f"{layer}_time", f"{layer}_band", "y", "x"]
    if len(shape) == 3:
        return ["patch", f"{layer}_channel", "y", "x"]
    return ["patch", "y", "x"]


def columns(src, layout):
    """The per-patch arrays of the stacked layout (lengths, dates, presence, ids, features)."""
    n = len(src.ids)
    cols = {"ID_PATCH": np.array(src.ids, dtype=np.int64)}
    cols["Fold"] = np.array([f["properties"].get("Fold", -1) for f in src.features], np.int64)
    for layer, (_, shape) in layout.items():
        if layer in SERIES:
            dates = np.zeros((n, shape[0]), np.int32)
            for i, f in enumerate(src.features):
                d = f["properties"].get(f"dates-{layer}") or {}
                if isinstance(d, str):
                    d = json.loads(d)
                v = [d[k] for k in sorted(d, key=int)]
                dates[i, : len(v)] = v
            cols[f"{layer}_dates"] = dates
            cols[f"{layer}_length"] = (dates != 0).sum(axis=1).astype(np.int32)
        else:
            cols[f"{layer}_present"] = np.array(
                [src.path(layer, p).exists() for p in src.ids], np.uint8
            )
    return cols


# ---------------------------------------------------------------- zarr


def to_zarr(src_dir, dst, same_codec=True):
    """With pastis-bridge's codec, or (`same_codec=False`) zarr-python's default codecs."""
    import zarr
    from zarr.codecs import BloscCodec

    src = Pastis(src_dir)
    layout, n = src.layout(), len(src.ids)
    root = zarr.open_group(dst, mode="w", zarr_format=3)
    arrays = {}
    for layer, (dtype, shape) in layout.items():
        full = (n, *shape)
        dates = max(1, min(SERIES_CHUNK_DATES, shape[0])) if layer in SERIES else 0
        chunk = (1, dates, *shape[1:]) if layer in SERIES else (1, *shape)
        per_shard = 1 if layer in SERIES else min(ANNOTATION_PATCHES_PER_SHARD, n)
        # A shard holds whole chunks: a series' time axis rounded up to the chunk's dates.
        shard = (1, -(-shape[0] // dates) * dates, *shape[1:]) if layer in SERIES else (per_shard, *shape)
        arrays[layer] = root.create_array(
            layer,
            shape=full,
            dtype=dtype,
            chunks=chunk,
            shards=shard,
            compressors=BloscCodec(**BLOSC) if same_codec else "auto",
            fill_value=0,
            dimension_names=dim_names(layer, shape),
        )
    for name, col in columns(src, layout).items():
        root.create_array(name, data=col)
    feature = root.create_array("feature", shape=(n,), dtype=str)
    feature[:] = np.array([json.dumps(f) for f in src.features], dtype=object)
    root.attrs.update({"crs": src.meta.get("crs"), "source": str(src_dir)})
    for i, pid in enumerate(src.ids):  # series: one shard per patch
        for layer in SERIES:
            if layer in arrays:
                a = src.load(layer, pid)
                if a is not None:
                    arrays[layer][i, : a.shape[0]] = a
    for start in range(0, n, ANNOTATION_PATCHES_PER_SHARD):  # annotations: whole shards
        rows = src.ids[start : start + ANNOTATION_PATCHES_PER_SHARD]
        for layer in ANNOTATIONS:
            if layer in arrays:
                dtype, shape = layout[layer]
                block = np.zeros((len(rows), *shape), dtype)
                for j, pid in enumerate(rows):
                    a = src.load(layer, pid)
                    if a is not None:
                        block[j] = a
                arrays[layer][start : start + len(rows)] = block
    zarr.consolidate_metadata(dst)


def read_zarr(store, dst):
    """Zarr store -> PASTIS folder: every patch's .npy files and metadata.geojson."""
    import zarr

    root = zarr.open_group(store, mode="r")
    dst = Path(dst)
    ids = root["ID_PATCH"][:]
    names = set(root.array_keys())
    for d in set(LAYERS[l] for l in LAYERS if l in names):
        (dst / d).mkdir(parents=True, exist_ok=True)
    lengths = {l: root[f"{l}_length"][:] for l in SERIES if l in names}
    present = {l: root[f"{l}_present"][:] for l in ANNOTATIONS if f"{l}_present" in names}
    for i, pid in enumerate(ids):
        for layer, ln in lengths.items():
            if ln[i] > 0:
                np.save(dst / SERIES[layer] / f"{layer}_{pid}.npy", root[layer][i, : ln[i]])
        for layer, pr in present.items():
            if pr[i]:
                np.save(dst / ANNOTATIONS[layer] / f"{layer}_{pid}.npy", root[layer][i])
    features = [json.loads(s) for s in root["feature"][:]]
    doc = {"type": "FeatureCollection", "crs": root.attrs.get("crs"), "features": features}
    (dst / "metadata.geojson").write_text(json.dumps(doc, indent=2))


# ---------------------------------------------------------------- hdf5


def to_hdf5(src_dir, dst):
    import h5py

    src = Pastis(src_dir)
    layout, n = src.layout(), len(src.ids)
    with h5py.File(dst, "w") as f:
        sets = {}
        for layer, (dtype, shape) in layout.items():
            chunk = (1, 1, *shape[1:]) if layer in SERIES else (1, *shape)
            ds = f.create_dataset(
                layer,
                shape=(n, *shape),
                dtype=dtype,
                chunks=chunk,
                shuffle=True,
                compression="gzip",
                compression_opts=DEFLATE_LEVEL,
                fillvalue=0,
            )
            ds.attrs["dimension_names"] = dim_names(layer, shape)
            sets[layer] = ds
        for name, col in columns(src, layout).items():
            f.create_dataset(name, data=col)
        f.create_dataset("feature", data=[json.dumps(x) for x in src.features],
                         dtype=h5py.string_dtype())
        for i, pid in enumerate(src.ids):
            for layer, ds in sets.items():
                a = src.load(layer, pid)
                if a is not None:
                    if layer in SERIES:
                        ds[i, : a.shape[0]] = a
                    else:
                        ds[i] = a


# ---------------------------------------------------------------- geotiff


def utm_epsg(tile):
    """EPSG of a Sentinel-2 tile's UTM zone (northern hemisphere, as in PASTIS)."""
    name = tile.lower().lstrip("t")
    digits = "".join(c for c in name[:2] if c.isdigit())
    return 32600 + int(digits)


def patch_grid(feature, h, w):
    """The patch's UTM grid: footprint to the tile's zone, origin snapped to 10 m."""
    from affine import Affine
    from rasterio.warp import transform

    epsg = utm_epsg(feature["properties"]["TILE"])
    ring = feature["geometry"]["coordinates"][0][0]
    xs, ys = transform("EPSG:2154", f"EPSG:{epsg}", [p[0] for p in ring], [p[1] for p in ring])
    dx = round((max(xs) - min(xs)) / w)
    dy = round((max(ys) - min(ys)) / h)
    x0, y0 = round(min(xs) / 10) * 10, round(max(ys) / 10) * 10
    return epsg, Affine(dx, 0, x0, 0, -dy, y0)


def to_geotiff(src_dir, dst):
    import rasterio

    src = Pastis(src_dir)
    dst = Path(dst)
    tiles = defaultdict(lambda: defaultdict(list))
    manifest = {"metadata": src.meta, "patches": {}}
    for feature, pid in zip(src.features, src.ids):
        props = feature["properties"]
        grid = None
        for layer in LAYERS:
            a = src.load(layer, pid)
            if a is None:
                continue
            h, w = a.shape[-2:]
            if grid is None:
                grid = patch_grid(feature, h, w)
            bands = a.reshape(-1, h, w)
            if bands.dtype == np.float16:
                bands = bands.astype(np.float32)
            pred = 1 if bands.dtype == np.uint8 else 3 if bands.dtype.kind == "f" else 2
            out = dst / layer / f"{layer}_{pid}.tif"
            out.parent.mkdir(parents=True, exist_ok=True)
            profile = dict(driver="GTiff", width=w, height=h, count=bands.shape[0],
                           dtype=bands.dtype, crs=f"EPSG:{grid[0]}", transform=grid[1],
                           tiled=True, blockxsize=128, blockysize=128, interleave="band",
                           compress="deflate", zlevel=1, predictor=pred, BIGTIFF="IF_SAFER")
            if layer == "S2":
                profile["nodata"] = -10000
            with rasterio.open(out, "w", **profile) as ds:
                ds.write(bands)
                ds.update_tags(ID_PATCH=pid, LAYER=layer, DTYPE=str(a.dtype),
                               SHAPE=",".join(map(str, a.shape)), TILE=props.get("TILE"))
                if layer in SERIES:
                    d = props.get(f"dates-{layer}") or {}
                    dates = [d[k] for k in sorted(d, key=int)]
                    c = a.shape[1]
                    for b in range(bands.shape[0]):
                        ds.set_band_description(b + 1, f"{dates[b // c]} {b % c}")
            key = json.dumps(props.get(f"dates-{layer}")) if layer in SERIES else ""
            tiles[props.get("TILE")][layer].append((str(out.relative_to(dst / layer)), key))
            manifest["patches"].setdefault(str(pid), {})[layer] = str(a.dtype)
    for tile, layers in tiles.items():  # like pastis-bridge: no mosaic of series whose dates differ
        for layer, files in layers.items():
            if len({key for _, key in files}) == 1:
                subprocess.run(["gdalbuildvrt", "-q", f"{layer}_{tile}.vrt", *(f for f, _ in files)],
                               cwd=dst / layer, check=True)
    (dst / "pastis-geotiff.json").write_text(json.dumps(manifest))


# ---------------------------------------------------------------- parcels


def to_parcels(src_dir, dst):
    from rasterio.features import shapes
    from rasterio.warp import transform_geom

    src = Pastis(src_dir)
    with open(dst, "w") as out:
        out.write('{"type": "FeatureCollection", "features": [\n')
        first = True
        for feature, pid in zip(src.features, src.ids):
            inst = src.load("INSTANCES", pid)
            target = src.load("TARGET", pid)[0]
            parcel = src.load("ParcelIDs", pid)
            epsg, grid = patch_grid(feature, *inst.shape)
            polys = defaultdict(list)
            inst32 = inst.astype(np.int32)
            for geom, value in shapes(inst32, mask=inst32 > 0, transform=grid):
                polys[int(value)].append(geom["coordinates"])
            for k, rings in sorted(polys.items()):
                under = inst == k
                classes, counts = np.unique(target[under], return_counts=True)
                pids, pcounts = np.unique(parcel[under], return_counts=True)
                pixels = int(under.sum())
                geom = {"type": "MultiPolygon", "coordinates": rings}
                geom = transform_geom(f"EPSG:{epsg}", "EPSG:4326", geom)
                props = {"ID_PATCH": pid, "instance_id": k,
                         "parcel_id": int(pids[pcounts.argmax()]),
                         "class_id": int(classes[counts.argmax()]),
                         "class_name": CLASS_NAMES[int(classes[counts.argmax()])], "pixels": pixels,
                         "area_m2": pixels * abs(grid.a * grid.e),
                         "Fold": feature["properties"].get("Fold"),
                         "TILE": feature["properties"].get("TILE")}
                out.write(("" if first else ",\n") + json.dumps(
                    {"type": "Feature", "properties": props, "geometry": geom}))
                first = False
        out.write("\n]}\n")


TASKS = {"zarr": to_zarr, "zarr-default": lambda s, d: to_zarr(s, d, same_codec=False),
         "hdf5": to_hdf5, "geotiff": to_geotiff, "parcels": to_parcels,
         "read": read_zarr}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in TASKS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TASKS)}}} SRC DST")
    if os.path.exists(sys.argv[3]):
        sys.exit(f"{sys.argv[3]} exists")
    TASKS[sys.argv[1]](sys.argv[2], sys.argv[3])
