#!/usr/bin/env bash
# The main job on the bundled fixture: installs what is missing, builds, checks the fixture and
# converts it to every format. Prints where the outputs are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
bin=target/release/pastis-bridge
out=${1:-target/demo}
mkdir -p "$out"
"$bin" inspect fixtures/PASTIS-R
"$bin" convert fixtures/PASTIS-R "$out/PASTIS-R.zarr" --overwrite
"$bin" convert fixtures/PASTIS-R "$out/PASTIS-R.h5" --overwrite
"$bin" convert fixtures/PASTIS-R "$out/geotiff" --to geotiff --overwrite
"$bin" parcels fixtures/PASTIS-R "$out/parcels.geojson" --overwrite
"$bin" preview fixtures/PASTIS-R "$out/preview" --overwrite
"$bin" convert "$out/PASTIS-R.zarr" "$out/PASTIS-R-from-zarr" --to pastis --overwrite
"$bin" verify fixtures/PASTIS-R "$out/PASTIS-R-from-zarr"
echo
echo "outputs in $out:"
ls -1 "$out" | sed "s|^|  $out/|"
