#!/usr/bin/env bash
# Regenerates the committed fixtures (PASTIS-R, PASTIS-HD) from the synthetic generator. Deterministic: running it again
# gives identical bytes (tests/synth.rs checks this).
#
#   bash scripts/make-fixtures.sh            # uses target/debug/pastis-bridge (builds it)
#   PASTIS_BRIDGE=path/to/bin bash scripts/make-fixtures.sh [OUT_DIR]   # OUT_DIR default: fixtures
set -euo pipefail
out="$(realpath -m "${1:-$(dirname "$0")/../fixtures}")"
cd "$(dirname "$0")/.."
if [[ -z "${PASTIS_BRIDGE:-}" ]]; then
    cargo build --quiet --bin pastis-bridge
    PASTIS_BRIDGE=target/debug/pastis-bridge
fi
"$PASTIS_BRIDGE" synth "$out/PASTIS-R" --patches 4 --radar --size 64 --date-scale 0.15 --seed 7 \
    --overwrite --quiet
echo "wrote $out/PASTIS-R ($(du -sh "$out/PASTIS-R" | cut -f1))"
# PASTIS-HD: 3 patches of 32 px with a 320 x 320 SPOT-6 GeoTIFF each (tests/spot.rs).
"$PASTIS_BRIDGE" synth "$out/PASTIS-HD" --patches 3 --spot --size 32 --date-scale 0.1 --seed 11 \
    --overwrite --quiet
echo "wrote $out/PASTIS-HD ($(du -sh "$out/PASTIS-HD" | cut -f1))"
