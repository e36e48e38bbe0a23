"""Checks the STAC catalog of a GeoTIFF export, offline, against independent readers.

Usage: check_stac.py EXPORT [--cog] [--no-georef]

- Every object (the Collection and each Item) validates against the STAC 1.1 core JSON schema,
  offline: the copies pystac ships (any other schema would need the network, which is refused:
  the check fails). The extensions it declares must be the expected ones, and their fields are
  checked by value below (their schemas are not shipped by any pinned package, and CI has no
  network).
- pystac walks the catalog from collection.json and finds every patch of the manifest and every
  TIFF the manifest lists (the folder may have been moved: links and hrefs are relative).
- The extension fields are checked by value against what rasterio (GDAL) reads from the TIFFs:
  CRS, transform, shape, WGS84 bounds, band descriptions and types, no-data, the colour table
  and class names of TARGET's class raster, the dates, COG layout.
Prints one summary line; exits non-zero with the first failure's message.
"""

import json
import pathlib
import sys

import jsonschema
import pystac
import rasterio
import rasterio.warp
import referencing
from pystac.validation.local_validator import get_local_schema_cache

CORE = {
    "Feature": "https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json",
    "Collection": "https://schemas.stacspec.org/v1.1.0/collection-spec/json-schema/collection.json",
}


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


EXTENSIONS = {
    "https://stac-extensions.github.io/projection/v1.2.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/classification/v1.1.0/schema.json",
}


def registry():
    """The core schemas pystac ships; nothing else."""
    schemas = dict(get_local_schema_cache())

    def offline(uri):
        raise referencing.exceptions.NoSuchResource(ref=f"{uri} (not shipped by pystac: no network)")

    resources = [(uri, referencing.Resource.from_contents(s)) for uri, s in schemas.items()]
    return schemas, referencing.Registry(retrieve=offline).with_resources(resources)


def validate(obj, where, schemas, reg):
    declared = set(obj.get("stac_extensions", []))
    check(declared <= EXTENSIONS, f"{where}: unexpected extensions {sorted(declared - EXTENSIONS)}")
    for uri in [CORE[obj["type"]]]:
        schema = schemas.get(uri.rstrip("#"))
        check(schema is not None, f"{where}: schema {uri} is not available offline")
        validator = jsonschema.Draft7Validator(schema, registry=reg)
        error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
        if error is not None:
            deepest = max([error] + list(error.context or []), key=lambda e: len(e.absolute_path))
            fail(f"{where}: not valid against {uri}: {deepest.message[:300]} "
                 f"at {list(deepest.absolute_path)}")


def manifest_files(patch):
    files = set()
    for layer in patch["layers"].values():
        if layer.get("file"):
            files.add(layer["file"])
        if layer.get("classes"):
            files.add(layer["classes"]["file"])
    return files


def affine(gt):
    return [gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]]


def close(a, b, tol):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def check_asset(key, asset, item, raw, root, cog, georef):
    """One asset: pystac resolves its href; its fields (as written: pystac migrates some, e.g.
    drops the deprecated proj:epsg) checked against rasterio's reading of the TIFF."""
    href = pathlib.Path(asset.get_absolute_href())
    check(href.is_file(), f"{item.id} {key}: {href} is missing")
    check(root in href.parents, f"{item.id} {key}: {href} is outside {root}")
    media = "image/tiff; application=geotiff" + ("; profile=cloud-optimized" if cog else "")
    check(asset.media_type == media, f"{item.id} {key}: media type {asset.media_type}")
    layer = key.split("_")[0]
    role = "data" if layer in ("S2", "S1A", "S1D", "SPOT") else "labels"
    check(asset.roles == [role], f"{item.id} {key}: roles {asset.roles}")
    fields = raw["assets"][key]
    properties = raw["properties"]
    with rasterio.open(href) as r:
        layout = r.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
        check((layout == "COG") == cog, f"{item.id} {key}: layout {layout}, cog {cog}")
        eo = fields["eo:bands"]
        raster = fields["raster:bands"]
        check(len(eo) == r.count == len(raster), f"{item.id} {key}: {len(eo)} eo:bands, "
              f"{len(raster)} raster:bands, {r.count} TIFF bands")
        for i, (band, rb) in enumerate(zip(eo, raster)):
            check(band["description"] == r.descriptions[i],
                  f"{item.id} {key} band {i + 1}: {band['description']} != {r.descriptions[i]}")
            check(band["description"].endswith(band["name"]), f"{item.id} {key}: {band}")
            check(rb["data_type"] == r.dtypes[i], f"{item.id} {key}: {rb} vs {r.dtypes[i]}")
            check(rb.get("nodata") == r.nodatavals[i],
                  f"{item.id} {key} band {i + 1}: nodata {rb.get('nodata')} != {r.nodatavals[i]}")
        if layer == "S2":
            common = {"B2": "blue", "B4": "red", "B8": "nir", "B8A": "nir08", "B12": "swir22"}
            for band in eo:
                if band["name"] in common:
                    check(band["common_name"] == common[band["name"]], f"{item.id} S2: {band}")
                    check(band["center_wavelength"] > 0.4, f"{item.id} S2: {band}")
        if layer in ("S2", "S1A", "S1D"):
            dates = r.tags().get("DATES", "").split(",")
            check(fields.get("pastis:dates") == dates,
                  f"{item.id} {key}: pastis:dates {fields.get('pastis:dates')} != {dates}")
        if key == "TARGET_class":
            check_classes(item.id, raster[0]["classification:classes"], r)
        if key == "TARGET":
            check("classification:classes" in raster[0], f"{item.id}: TARGET band 1 classes")
        if georef:
            check(fields["proj:shape"] == [r.height, r.width], f"{item.id} {key}: proj:shape")
            check(close(fields["proj:transform"], list(r.transform)[:6], 1e-9),
                  f"{item.id} {key}: proj:transform {fields['proj:transform']} != {r.transform}")
            epsg = fields.get("proj:epsg", properties["proj:epsg"])
            code = fields.get("proj:code", properties["proj:code"])
            check(epsg == r.crs.to_epsg(), f"{item.id} {key}: proj:epsg {epsg}")
            check(code == f"EPSG:{r.crs.to_epsg()}", f"{item.id} {key}: proj:code {code}")
            if layer != "SPOT":  # on its own grid: the footprint is the patch's 10 m grid's
                west, south, east, north = rasterio.warp.transform_bounds(
                    r.crs, "EPSG:4326", *r.bounds)
                check(close(raw["bbox"], [west, south, east, north], 1e-7),
                      f"{item.id}: bbox {raw['bbox']} != {[west, south, east, north]}")
        else:
            check(r.crs is None, f"{item.id} {key}: a CRS on a --no-georef TIFF")
            check(not any(k.startswith("proj:") for k in fields), f"{item.id} {key}: proj field")
    return href


def check_classes(item_id, classes, r):
    """The classes by value: ids, names and colours equal the TIFF's own colour table and names."""
    colormap = r.colormap(1)
    names = dict(kv.split("=", 1) for kv in r.tags(1)["CLASSES"].split(";"))
    check([c["value"] for c in classes] == list(range(20)), f"{item_id}: class ids")
    for c in classes:
        red, green, blue, _ = colormap[c["value"]]
        check(c["color_hint"] == f"{red:02X}{green:02X}{blue:02X}",
              f"{item_id}: class {c} colour != {colormap[c['value']]}")
        check(c["description"] == names[str(c["value"])], f"{item_id}: class {c} name")


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    schemas, reg = registry()
    cog = "--cog" in sys.argv
    georef = "--no-georef" not in sys.argv
    manifest = json.loads((root / "pastis-geotiff.json").read_text())
    features = {f["properties"]["ID_PATCH"]: f for f in manifest["metadata"]["features"]}

    collection_json = json.loads((root / "collection.json").read_text())
    validate(collection_json, "collection.json", schemas, reg)
    for path in sorted((root / "items").glob("*.json")):
        validate(json.loads(path.read_text()), path.name, schemas, reg)

    collection = pystac.Collection.from_file(str(root / "collection.json"))
    items = list(collection.get_items(recursive=True))
    found = {int(item.id) for item in items}
    check(found == {int(k) for k in manifest["patches"]},
          f"pystac found items {sorted(found)}, the manifest has {sorted(manifest['patches'])}")
    n_assets = 0
    for item in items:
        patch = manifest["patches"][item.id]
        props = features[int(item.id)]["properties"]
        raw = json.loads(pathlib.Path(item.get_self_href()).read_text())
        properties = raw["properties"]
        for name in ("ID_PATCH", "Fold", "TILE", "N_Parcel", "Parcel_Cover"):
            check(properties.get(name) == props.get(name), f"{item.id}: {name}")
        dates = sorted(d for k, v in props.items() if k.startswith("dates-") for d in v.values())
        start = properties["start_datetime"][:10].replace("-", "")
        end = properties["end_datetime"][:10].replace("-", "")
        check([start, end] == [str(dates[0]), str(dates[-1])], f"{item.id}: {start}..{end}")
        check(item.datetime is None, f"{item.id}: datetime {item.datetime}")
        if georef:
            check(item.geometry["type"] == "Polygon", f"{item.id}: geometry")
            ring = item.geometry["coordinates"][0]
            check(all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in ring), f"{item.id}: WGS84")
            check(patch["grid"]["epsg"] == properties["proj:epsg"], f"{item.id}: epsg")
            check(affine(patch["grid"]["geotransform"]) == properties["proj:transform"],
                  f"{item.id}: proj:transform != the manifest's grid")
        else:
            check(raw["geometry"] is None and "bbox" not in raw, f"{item.id}: geometry")
            check(not any(k.startswith("proj:") for k in properties), f"{item.id}: proj")
        assets = item.assets.items()
        hrefs = {check_asset(k, a, item, raw, root, cog, georef) for k, a in assets}
        expected = {(root / f).resolve() for f in manifest_files(patch)}
        check(hrefs == expected, f"{item.id}: assets {sorted(hrefs)} != TIFFs {sorted(expected)}")
        n_assets += len(hrefs)
    ext = collection.extent
    check(ext.temporal.intervals[0][0] is not None, "collection temporal extent")
    summaries = collection.summaries.to_dict()
    tiles = sorted({f["properties"]["TILE"] for f in features.values()})
    check(summaries["TILE"] == tiles, f"summaries TILE {summaries['TILE']} != {tiles}")
    check(len(summaries["classification:classes"]) == 20, "collection class list")
    print(f"ok: {len(items)} items, {n_assets} assets, core schema validated offline")


if __name__ == "__main__":
    main()
