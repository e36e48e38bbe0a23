"""Opens pastis-bridge exports in real QGIS (headless PyQGIS, system python3) as an analyst would,
and checks what they see: every TIFF and VRT of a GeoTIFF export folder, every vector file and
layer of the parcels exports. Run by tests/qgis.rs; exits 1 listing every failed check.

usage: check_exports.py --pastis DIR --tiffs DIR [--vector FILE]... [--empty-vector FILE]...
                        [--png FILE]

Checks (issue #15):
- rasters: valid, CRS = the manifest's grid EPSG, extent on the 10 m grid and of the array's
  size, data type QGIS can draw (not Unknown), renderer: paletted with the 20 PASTIS class names
  and colours for TARGET (all channels and the class raster), multiband true colour B4/B3/B2 of one
  date for S2 and VV/VH/ratio for S1, with a stretch; pixel values at sample points equal to the
  .npy values (VRT mosaics included);
- vectors: valid, every layer with the documented fields and types, CRS, one feature per instance
  of INSTANCES, every geometry GEOS-valid; an empty export opens with the same fields and CRS;
- a map of the TARGET class mosaic with the parcels drawn on it, saved as a PNG (--png).
"""

import argparse
import json
import math
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsFillSymbol,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsPointXY,
    QgsProviderRegistry,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize, QVariant  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

CLASS_NAMES = [
    "Background", "Meadow", "Soft winter wheat", "Corn", "Winter barley", "Winter rapeseed",
    "Spring barley", "Sunflower", "Grapevine", "Beet", "Winter triticale", "Winter durum wheat",
    "Fruits, vegetables, flowers", "Potatoes", "Leguminous fodder", "Soybeans", "Orchard",
    "Mixed cereal", "Sorghum", "Void label",
]
CLASS_COLORS = [
    (0, 0, 0), (174, 199, 232), (255, 127, 14), (255, 187, 120), (44, 160, 44), (152, 223, 138),
    (214, 39, 40), (255, 152, 150), (148, 103, 189), (197, 176, 213), (140, 86, 75),
    (196, 156, 148), (227, 119, 194), (247, 182, 210), (127, 127, 127), (199, 199, 199),
    (188, 189, 34), (219, 219, 141), (23, 190, 207), (255, 255, 255),
]
NPY_FOLDER = {
    "S2": "DATA_S2", "S1A": "DATA_S1A", "S1D": "DATA_S1D", "TARGET": "ANNOTATIONS",
    "ParcelIDs": "ANNOTATIONS", "HEATMAP": "INSTANCE_ANNOTATIONS",
    "INSTANCES": "INSTANCE_ANNOTATIONS", "ZONES": "INSTANCE_ANNOTATIONS",
}
# Field name -> QVariant types accepted (GeoJSON/FlatGeobuf/GPKG differ in integer width).
FIELDS = {
    "ID_PATCH": (QVariant.Int, QVariant.LongLong),
    "instance_id": (QVariant.Int, QVariant.LongLong),
    "parcel_id": (QVariant.Int, QVariant.LongLong),
    "class_id": (QVariant.Int, QVariant.LongLong),
    "class_name": (QVariant.String,),
    "pixels": (QVariant.Int, QVariant.LongLong),
    "area_m2": (QVariant.Double,),
    "Fold": (QVariant.Int, QVariant.LongLong),
    "TILE": (QVariant.String,),
}

failures = []
checked = {"rasters": 0, "samples": 0, "vector layers": 0, "features": 0}


def check(ok, what):
    if not ok:
        failures.append(what)
    return ok


def npy(pastis, layer, pid):
    return np.load(os.path.join(pastis, NPY_FOLDER[layer], f"{layer}_{pid}.npy"))


def sample_points(h, w):
    """Pixel (row, col) sample points: corners, centre and a few inside."""
    pts = {(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)}
    pts |= {((7 * k) % h, (13 * k + 3) % w) for k in range(1, 12)}
    return sorted(pts)


def bands_to_check(layer, shape, renderer):
    """1-based bands to sample: first, last, and the composite's bands."""
    bands = {1, int(np.prod(shape[:-2]))}
    if renderer is not None and renderer.type() == "multibandcolor":
        bands |= {renderer.redBand(), renderer.greenBand(), renderer.blueBand()}
    return sorted(bands)


def same_value(got, ok, expected, layer):
    if layer == "S2" and expected == -10000:
        return not ok or math.isnan(got) or got == -10000  # no-data
    if isinstance(expected, (float, np.floating)) and math.isnan(expected):
        return not ok or math.isnan(got)
    return ok and float(got) == float(expected)


def check_renderer(path, layer, is_classes, r, shape):
    name = os.path.relpath(path)
    if layer == "TARGET":
        if not check(r.type() == "paletted", f"{name}: renderer {r.type()}, expected paletted"):
            return
        check(r.band() == 1, f"{name}: paletted band {r.band()}")
        classes = {int(c.value): c for c in r.classes()}
        for i, (label, rgb) in enumerate(zip(CLASS_NAMES, CLASS_COLORS)):
            c = classes.get(i)
            if not check(c is not None, f"{name}: class {i} missing"):
                continue
            check(c.label == label, f"{name}: class {i} labelled {c.label!r}, expected {label!r}")
            got = (c.color.red(), c.color.green(), c.color.blue())
            check(got == rgb, f"{name}: class {i} colour {got}, expected {rgb}")
    elif layer in ("S2", "S1A", "S1D") and len(shape) == 4:
        if not check(r.type() == "multibandcolor", f"{name}: renderer {r.type()}"):
            return
        channels = shape[1]
        rgb = (r.redBand(), r.greenBand(), r.blueBand())
        frames = {(b - 1) // channels for b in rgb}
        want = (2, 1, 0) if layer == "S2" else (0, 1, 2)  # B4/B3/B2; VV/VH/ratio
        check(len(frames) == 1 and tuple((b - 1) % channels for b in rgb) == want,
              f"{name}: composite bands {rgb}, expected channels {want} of one date")
        for ce in (r.redContrastEnhancement(), r.greenContrastEnhancement(),
                   r.blueContrastEnhancement()):
            check(ce is not None and ce.minimumValue() < ce.maximumValue(),
                  f"{name}: no stretch")


def open_raster(path, epsg, h, w):
    name = os.path.relpath(path)
    rl = QgsRasterLayer(path, os.path.basename(path))
    if not check(rl.isValid(), f"{name}: QGIS cannot open it"):
        return None
    checked["rasters"] += 1
    check(rl.crs().authid() == f"EPSG:{epsg}", f"{name}: CRS {rl.crs().authid()}, expected EPSG:{epsg}")
    e = rl.extent()
    on_grid = all(abs(v / 10 - round(v / 10)) < 1e-9 for v in
                  (e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()))
    check(on_grid, f"{name}: extent {e.toString()} not on the 10 m grid")
    check(rl.rasterUnitsPerPixelX() == 10 and rl.rasterUnitsPerPixelY() == 10,
          f"{name}: pixel size {rl.rasterUnitsPerPixelX()} x {rl.rasterUnitsPerPixelY()}")
    if h is not None:
        check((rl.width(), rl.height()) == (w, h), f"{name}: {rl.width()}x{rl.height()}, expected {w}x{h}")
    p = rl.dataProvider()
    for b in range(1, rl.bandCount() + 1):
        if not check(p.dataType(b) != 0, f"{name}: band {b} type Unknown to QGIS"):
            break
    return rl


def check_samples(rl, path, layer, arr, gt, pid):
    """Samples the pixels of patch `pid` (array `arr`, grid `gt`) in raster layer `rl`."""
    p, name = rl.dataProvider(), os.path.relpath(path)
    h, w = arr.shape[-2:]
    planes = arr.reshape((-1, h, w))
    for b in bands_to_check(layer, arr.shape, rl.renderer()):
        for row, col in sample_points(h, w):
            x = gt[0] + (col + 0.5) * gt[1]
            y = gt[3] + (row + 0.5) * gt[5]
            got, ok = p.sample(QgsPointXY(x, y), b)
            expected = planes[b - 1, row, col]
            checked["samples"] += 1
            check(same_value(got, ok, expected, layer),
                  f"{name} (patch {pid}) band {b} pixel ({row},{col}): QGIS {got} ok={ok}, .npy {expected}")


def check_tiffs(pastis, tiffs):
    manifest = json.load(open(os.path.join(tiffs, "pastis-geotiff.json")))
    tiles = {str(f["properties"]["ID_PATCH"]): f["properties"].get("TILE")
             for f in manifest["metadata"]["features"]}
    mosaics = {}
    for pid, patch in manifest["patches"].items():
        grid = patch["grid"]
        for layer, entry in patch["layers"].items():
            if entry["file"] is None:
                continue
            arr = npy(pastis, layer, pid)
            check(list(arr.shape) == entry["shape"], f"{layer} {pid}: shape {arr.shape}")
            files = [(entry["file"], arr, False)]
            if entry.get("classes"):
                files.append((entry["classes"]["file"], arr.reshape((-1,) + arr.shape[-2:])[0], True))
            for rel, a, is_classes in files:
                path = os.path.join(tiffs, rel)
                rl = open_raster(path, grid["epsg"], *a.shape[-2:])
                if rl is None:
                    continue
                check_renderer(path, layer, is_classes, rl.renderer(), a.shape)
                check_samples(rl, path, layer, a, grid["geotransform"], pid)
                suffix = "_class" if is_classes else ""
                vrt = f"{layer}/{layer}_{tiles[pid]}{suffix}.vrt"
                mosaics.setdefault(vrt, []).append((layer, a, grid, pid, is_classes))
    check(sorted(mosaics) == sorted(manifest["mosaics"]),
          f"mosaics {sorted(manifest['mosaics'])}, expected {sorted(mosaics)}")
    for vrt, members in sorted(mosaics.items()):
        path = os.path.join(tiffs, vrt)
        layer, a, grid = members[0][:3]
        rl = open_raster(path, grid["epsg"], None, None)
        if rl is None:
            continue
        check_renderer(path, layer, members[0][4], rl.renderer(), a.shape)
        for layer, a, grid, pid, _ in members:
            check_samples(rl, path, layer, a, grid["geotransform"], pid)
    return manifest


def sublayers(path):
    """(uri, name) of every layer of a vector file."""
    details = QgsProviderRegistry.instance().querySublayers(path)
    if not details:
        return [(path, os.path.basename(path))]
    return [(d.uri(), d.name()) for d in details]


def check_fields(name, vl):
    fields = {f.name(): f.type() for f in vl.fields()}
    for field, types in FIELDS.items():
        if check(field in fields, f"{name}: field {field} missing ({sorted(fields)})"):
            check(fields[field] in types, f"{name}: field {field} of type {fields[field]}")


def check_vector(path, instances, empty):
    layers = []
    for uri, lname in sublayers(path):
        name = f"{os.path.relpath(path)}|{lname}"
        vl = QgsVectorLayer(uri, lname, "ogr")
        if not check(vl.isValid(), f"{name}: QGIS cannot open it"):
            continue
        checked["vector layers"] += 1
        if empty and path.endswith(".geojson"):
            # GeoJSON has no schema: with no feature there are no fields and no geometry, so
            # QGIS opens it as an empty table (GDAL still reports RFC 7946's WGS84 / the crs member).
            check(vl.featureCount() == 0, f"{name}: {vl.featureCount()} features")
            layers.append((vl, 0))
            continue
        check_fields(name, vl)
        authid = vl.crs().authid()
        epsg = lname.rsplit("_", 1)[-1] if lname.startswith("parcels_") else None
        if path.endswith(".gpkg") or (epsg and not path.endswith(".geojson")):
            check(authid == f"EPSG:{epsg}", f"{name}: CRS {authid}, expected EPSG:{epsg}")
        else:
            check(authid in ("EPSG:4326", "OGC:CRS84") or authid.startswith("EPSG:326"),
                  f"{name}: CRS {authid}")
        count = 0
        for f in vl.getFeatures():
            count += 1
            g = f.geometry()
            check(not g.isNull() and g.isGeosValid(),
                  f"{name}: feature {f['ID_PATCH']}/{f['instance_id']} invalid geometry")
            key = (int(f["ID_PATCH"]), int(f["instance_id"]))
            check(key in instances, f"{name}: feature {key} has no instance in INSTANCES")
        checked["features"] += count
        layers.append((vl, count))
    total = sum(c for _, c in layers)
    expected = 0 if empty else len(instances)
    check(total == expected, f"{path}: {total} features, expected {expected}")
    check(layers, f"{path}: no layer")
    return [vl for vl, _ in layers]


def render(png, manifest, tiffs, parcels):
    """The TARGET class mosaic of the first tile with the parcels outlined on it."""
    vrt = next(m for m in manifest["mosaics"] if m.endswith("_class.vrt"))
    rl = QgsRasterLayer(os.path.join(tiffs, vrt), "classes")
    outline = QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": "255,0,255",
                                          "outline_width": "0.4"})
    parcels = [vl for vl in parcels if vl.crs() == rl.crs()]
    check(parcels, f"no parcels layer in {rl.crs().authid()}")
    for vl in parcels:
        vl.renderer().setSymbol(outline.clone())
    settings = QgsMapSettings()
    settings.setLayers(parcels + [rl])
    settings.setDestinationCrs(rl.crs())
    e = rl.extent()
    settings.setExtent(QgsRectangle(e.xMinimum() - 20, e.yMinimum() - 20, e.xMaximum() + 20, e.yMaximum() + 20))
    settings.setOutputSize(QSize(512, 512))
    settings.setBackgroundColor(QColor(128, 128, 128))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    check(image.save(png, "PNG"), f"{png}: not saved")
    colours = {image.pixel(x, y) & 0xFFFFFF for x in range(0, 512, 4) for y in range(0, 512, 4)}
    classes = {r << 16 | g << 8 | b for r, g, b in CLASS_COLORS}
    check(len(colours & classes) >= 3, f"{png}: fewer than 3 class colours drawn")
    check(0xFF00FF in colours, f"{png}: no parcel outline drawn")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pastis", required=True)
    ap.add_argument("--tiffs", required=True)
    ap.add_argument("--vector", action="append", default=[])
    ap.add_argument("--empty-vector", action="append", default=[])
    ap.add_argument("--png")
    args = ap.parse_args()
    app = QgsApplication([], False)
    app.initQgis()
    manifest = check_tiffs(args.pastis, args.tiffs)
    instances = set()
    for pid in manifest["patches"]:
        ids = np.unique(npy(args.pastis, "INSTANCES", pid))
        instances |= {(int(pid), int(i)) for i in ids if i != 0}
    parcels = []
    for path in args.vector:
        layers = check_vector(path, instances, False)
        if path.endswith(".gpkg"):
            parcels = layers
    for path in args.empty_vector:
        check_vector(path, instances, True)
    if args.png:
        render(args.png, manifest, args.tiffs, parcels)
    print(json.dumps(checked))
    for f in failures[:80]:
        print("FAIL", f)
    if len(failures) > 80:
        print(f"... and {len(failures) - 80} more failed checks")
    sys.stdout.flush()
    os._exit(1 if failures or not checked["rasters"] else 0)


if __name__ == "__main__":
    main()
