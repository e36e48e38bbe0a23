#!/usr/bin/env bash
# The pastis-bridge benchmark: one command, see bench/README.md.
#
#   bash bench/run.sh                 # full run: 50 and 200 patches, best of 2, writes bench/RESULTS.md
#   SIZES="8" RUNS=1 bash bench/run.sh  # a quick smoke run
#
# Environment: SIZES (patch counts, default "50 200"), RUNS (runs per measurement, default 2;
# a measurement whose first run takes more than REPEAT_BELOW seconds, default 60, runs once),
# JOBS (threads for pastis-bridge, zstd and pigz; default nproc), PYTHON (default .venv/bin/python),
# SKIP_BUILD=1 (use the existing target/release/pastis-bridge, or BIN), PYTHON_SIZES (sizes at which the
# Python route runs; default: the largest size), TASKS (default "floor zarr hdf5 geotiff jobs parcels";
# zarr includes reading back, and the random-order read of bench/random_read.py where Python runs;
# jobs runs our three conversions with --jobs 1, for the speed-up against JOBS threads), RESULTS
# (default bench/RESULTS.md).
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=${SIZES:-"50 200"}
PYTHON_SIZES=${PYTHON_SIZES:-${SIZES##* }}
RUNS=${RUNS:-2}
REPEAT_BELOW=${REPEAT_BELOW:-60}
TASKS=${TASKS:-"floor zarr hdf5 geotiff jobs parcels"}
JOBS=${JOBS:-$(nproc)}
PYTHON=${PYTHON:-.venv/bin/python}
RESULTS=${RESULTS:-bench/RESULTS.md}
BIN=${BIN:-target/release/pastis-bridge}
DATA=bench/data
TSV=$DATA/results.tsv
REF=bench/python_reference.py

for tool in /usr/bin/time zstd pigz "$PYTHON"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (see bench/README.md)" >&2; exit 2; }
done
if [[ -z ${SKIP_BUILD:-} ]]; then
    cargo build --release --quiet
fi
mkdir -p "$DATA"

# Page cache: dropping it needs a writable /proc/sys/vm/drop_caches; otherwise every input is read
# once before each measurement so all runs start warm (RESULTS.md says which was used).
if (sync && echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then CACHE=cold; else CACHE=warm; fi

npy_files() { find "$1" -name '*.npy' -print0 | sort -z; }
warm() { [[ $CACHE == cold ]] && { sync; echo 3 > /proc/sys/vm/drop_caches; } || npy_files "$1" | xargs -0 cat > /dev/null; }

# measure SIZE TASK SIDE OUTPUT CMD...: RUNS runs of CMD under /usr/bin/time, output removed before
# each; one TSV row per run: size task side run wall_s max_rss_kb user_s sys_s output_bytes load1.
measure() {
    local size=$1 task=$2 side=$3 out=$4; shift 4
    local run
    for run in $(seq 1 "$RUNS"); do
        [[ -n $out ]] && rm -rf "$out"
        warm "$SRC"
        local load; load=$(cut -d' ' -f1 /proc/loadavg)
        if ! /usr/bin/time -f '%e %M %U %S' -o "$DATA/time.txt" "$@" > "$DATA/cmd.log" 2>&1; then
            echo "bench: $task ($side) failed:" >&2; tail -20 "$DATA/cmd.log" >&2; exit 1
        fi
        local bytes=0
        [[ -n $out ]] && bytes=$(du -sb "$out" | cut -f1)
        read -r wall rss user sys < <(tail -1 "$DATA/time.txt")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$size" "$task" "$side" "$run" "$wall" "$rss" "$user" "$sys" "$bytes" "$load" >> "$TSV"
        printf '  %-8s %-7s run %s: %6.1f s  %7d KB RSS  (load %s)\n' "$task" "$side" "$run" "$wall" "$rss" "$load"
        if awk -v w="$wall" -v m="$REPEAT_BELOW" 'BEGIN { exit !(w > m) }'; then break; fi
    done
}

task_floor() {
    local files="find '$SRC' -name '*.npy' -print0 | sort -z | xargs -0 cat"
    measure "$N" cat floor "" bash -c "$files > /dev/null"
    measure "$N" zstd floor "$OUT/all.zst" bash -c "$files | zstd -q -3 -T$JOBS -c > '$OUT/all.zst'"
    measure "$N" codec floor "$OUT/all.blosc" "$PYTHON" bench/codec_floor.py "$SRC" "$OUT/all.blosc" --jobs "$JOBS"
    measure "$N" deflate floor "$OUT/all.gz" bash -c "$files | pigz -5 -p $JOBS -c > '$OUT/all.gz'"
}

# Zarr, then reading back the store pastis-bridge wrote to a PASTIS folder, by both sides.
task_zarr() {
    # The fast preset (issue #17): Blosc LZ4 level 9 after a bit shuffle, same chunks and shards.
    measure "$N" zarr lz4 "$OUT/lz4.zarr" \
        "$BIN" convert "$SRC" "$OUT/lz4.zarr" --jobs "$JOBS" --quiet --compression blosc-lz4:9:bit
    rm -rf "$OUT/lz4.zarr"
    measure "$N" zarr ours "$OUT/ours.zarr" "$BIN" convert "$SRC" "$OUT/ours.zarr" --jobs "$JOBS" --quiet
    if py; then measure "$N" zarr python "$OUT/py.zarr" "$PYTHON" "$REF" zarr "$SRC" "$OUT/py.zarr"; fi
    if py; then measure "$N" zarr pydefault "$OUT/py.zarr" "$PYTHON" "$REF" zarr-default "$SRC" "$OUT/py.zarr"; fi
    rm -rf "$OUT/py.zarr"
    measure "$N" read ours "$OUT/ours-back" \
        "$BIN" convert "$OUT/ours.zarr" "$OUT/ours-back" --to pastis --jobs "$JOBS" --quiet
    if py; then measure "$N" read python "$OUT/py-back" "$PYTHON" "$REF" read "$OUT/ours.zarr" "$OUT/py-back"; fi
    # Random-order read (an ML user's epoch): zarr-python on our store against np.load of the .npy
    # folder, RUNS rounds; bench/random_read.py drops the cache itself and appends its own rows.
    local warm_flag=(); [[ $CACHE == warm ]] && warm_flag=(--cache warm)
    if py; then
        "$PYTHON" bench/random_read.py "$SRC" "$OUT/ours.zarr" --rounds "$RUNS" --tsv "$TSV" --size "$N" \
            "${warm_flag[@]}"
    fi
}

task_hdf5() {
    measure "$N" hdf5 ours "$OUT/ours.h5" "$BIN" convert "$SRC" "$OUT/ours.h5" --jobs "$JOBS" --quiet
    if py; then measure "$N" hdf5 python "$OUT/py.h5" "$PYTHON" "$REF" hdf5 "$SRC" "$OUT/py.h5"; fi
}

task_geotiff() {
    measure "$N" geotiff ours "$OUT/ours-tif" \
        "$BIN" convert "$SRC" "$OUT/ours-tif" --to geotiff --jobs "$JOBS" --quiet
    if py; then measure "$N" geotiff python "$OUT/py-tif" "$PYTHON" "$REF" geotiff "$SRC" "$OUT/py-tif"; fi
}

# The same conversions on one thread (side jobs1): with the `ours` rows (JOBS threads) of the
# tasks above, the report gives each format's speed-up from --jobs 1 to --jobs JOBS.
task_jobs() {
    measure "$N" zarr jobs1 "$OUT/ours.zarr" "$BIN" convert "$SRC" "$OUT/ours.zarr" --jobs 1 --quiet
    rm -rf "$OUT/ours.zarr"
    measure "$N" hdf5 jobs1 "$OUT/ours.h5" "$BIN" convert "$SRC" "$OUT/ours.h5" --jobs 1 --quiet
    rm -rf "$OUT/ours.h5"
    measure "$N" geotiff jobs1 "$OUT/ours-tif" \
        "$BIN" convert "$SRC" "$OUT/ours-tif" --to geotiff --jobs 1 --quiet
}

task_parcels() {
    measure "$N" parcels ours "$OUT/ours.geojson" "$BIN" parcels "$SRC" "$OUT/ours.geojson" --jobs "$JOBS" --quiet
    if py; then measure "$N" parcels python "$OUT/py.geojson" "$PYTHON" "$REF" parcels "$SRC" "$OUT/py.geojson"; fi
}

py() { [[ " $PYTHON_SIZES " == *" $N "* ]]; }

echo -e "size\ttask\tside\trun\twall_s\tmax_rss_kb\tuser_s\tsys_s\toutput_bytes\tload1" > "$TSV"
for N in $SIZES; do
    SRC=$DATA/synth-$N
    OUT=$DATA/out-$N
    if [[ ! -f $SRC/metadata.geojson ]]; then
        echo "generating $SRC"
        "$BIN" synth "$SRC" --patches "$N" --radar --size 128 --date-scale 1.0 --seed 1 --quiet --overwrite
    fi
    input=$(npy_files "$SRC" | xargs -0 cat | wc -c)
    printf '%s\tinput\t-\t0\t0\t0\t0\t0\t%s\t0\n' "$N" "$input" >> "$TSV"
    echo "== $N patches: $((input / 1000000)) MB of .npy, cache $CACHE, $JOBS threads"
    for task in $TASKS; do
        rm -rf "$OUT" && mkdir -p "$OUT"
        "task_$task"
    done
    rm -rf "$OUT"
done

"$PYTHON" bench/report.py "$TSV" "$RESULTS" --jobs "$JOBS" --cache "$CACHE" --runs "$RUNS" \
    --repeat-below "$REPEAT_BELOW" --elapsed "$SECONDS"
echo "wrote $RESULTS"
