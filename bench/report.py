"""Turns the rows of bench/run.sh (results.tsv) into bench/RESULTS.md.

    report.py RESULTS_TSV RESULTS_MD --jobs N --cache warm|cold --runs R

Times are the best of the runs, RSS the largest of them. Everything after the line
`<!-- analysis -->` in an existing RESULTS_MD is kept (the hand-written explanations).
"""

import argparse
import csv
import datetime
import os
import platform
import subprocess
from collections import defaultdict
from pathlib import Path

MARKER = "<!-- analysis -->"
TASKS = [
    ("zarr", "PASTIS → Zarr v3 (Blosc zstd 1 + bit shuffle, sharded)", "codec"),
    ("hdf5", "PASTIS → HDF5 (shuffle + deflate 5)", "deflate"),
    ("geotiff", "PASTIS → GeoTIFF (DEFLATE, predictor)", "deflate"),
    ("parcels", "INSTANCES → parcels GeoJSON (WGS84)", None),
    ("read", "Zarr store → PASTIS folder (read back)", "cat"),
]
# (task, what, against, limit), issue #17. `against`: a Python side ("python" = the same codecs,
# "pydefault" = zarr-python's default codecs): Python / ours >= limit; "floor:A|B": ours / the
# larger of floors A and B <= limit; "bytes:F": our output / floor F's output <= limit;
# "rss:S": our peak RSS / side S's <= limit; "side:A/B": the task's side A / its side B <= limit (wall).
TARGETS = [
    ("zarr", "≥ 3x faster than Python with zarr-python's default codecs", "pydefault", 3.0),
    ("zarr", "≥ 1.5x faster than Python with the same codec", "python", 1.5),
    ("zarr", "≤ 1.2x the larger floor (cat, codec)", "floor:cat|codec", 1.2),
    ("zarr", "output ≥ 15 % smaller than zstd -3's", "bytes:zstd", 0.85),
    ("zarr", "peak RSS ≤ Python's", "rss:python", 1.0),
    ("hdf5", "≥ 1.8x faster than h5py with the same filters", "python", 1.8),
    ("geotiff", "≥ 1.5x faster than rasterio with the same options", "python", 1.5),
    ("parcels", "≥ 5x faster than rasterio.features.shapes", "python", 5.0),
    ("random", "zarr-python reads the store in random order no slower than np.load reads the .npy",
     "side:zarr/npy", 1.0),
]
# Measurements that are neither ours nor a Python route of ours: bench/random_read.py's two sides.
READS = [("random", "random-order read of every patch's S2, S1A, S1D, TARGET, INSTANCES, ZONES, HEATMAP")]
SIDES = {"ours": "pastis-bridge", "lz4": "pastis-bridge, `--compression blosc-lz4:9:bit`",
         "python": "Python", "pydefault": "Python, zarr-python defaults",
         "floor": "floor", "npy": "np.load of the .npy folder", "zarr": "zarr-python on our store (concurrent)",
         "zarrseq": "zarr-python, one array after another", "zarrs": "zarr-python + zarrs pipeline"}


def load(path):
    rows = defaultdict(list)
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows[(int(r["size"]), r["task"], r["side"])].append(r)
    best = {}
    for key, runs in rows.items():
        fastest = min(runs, key=lambda r: float(r["wall_s"]))
        best[key] = {
            "wall": float(fastest["wall_s"]),
            "cpu": float(fastest["user_s"]) + float(fastest["sys_s"]),
            "sys": float(fastest["sys_s"]),
            "rss": max(int(r["max_rss_kb"]) for r in runs) / 1024,
            "bytes": int(fastest["output_bytes"]),
            "load": fastest["load1"],
            "walls": [float(r["wall_s"]) for r in runs],
        }
    return best


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}"


def ratio(best, size, task, side, other_task, other_side, what="wall"):
    """Wall (or CPU) time of one measurement over another's; None if either is missing."""
    a, b = best.get((size, task, side)), best.get((size, other_task, other_side))
    return None if not a or not b or not b[what] else a[what] / b[what]


def table(best, size):
    mb = best[(size, "input", "-")]["bytes"] / 1e6
    out = [
        f"### {size} patches ({mb:,.0f} MB of .npy)",
        "",
        "| task | side | wall s (runs) | MB/s | CPU s (system) | peak RSS MB | output MB |",
        "|---|---|---|---|---|---|---|",
    ]
    floors = [("cat", "cat > /dev/null", 0), ("zstd", "zstd -3", 0),
              ("codec", "read + Blosc zstd 1 bitshuffle (numcodecs)", 0), ("deflate", "pigz -5", 0)]
    for task, label, *_ in floors + TASKS + READS:
        for side in SIDES:
            b = best.get((size, task, side))
            if not b:
                continue
            runs = ", ".join(f"{w:.1f}" for w in b["walls"])
            name = SIDES[side]
            out.append(
                f"| {label} | {name} | **{b['wall']:.1f}** ({runs}) | {mb / b['wall']:,.0f} | "
                f"{b['cpu']:.1f} ({b['sys']:.1f}) | {b['rss']:,.0f} | {b['bytes'] / 1e6:,.0f} |"
            )
    out += [
        "",
        "| task | ours / Python, wall | ours / Python, CPU | ours / floor, wall | ours / floor, CPU |",
        "|---|---|---|---|---|",
    ]
    for task, label, floor in TASKS:
        cells = [ratio(best, size, task, "ours", task, "python", w) for w in ("wall", "cpu")]
        cells += [ratio(best, size, task, "ours", floor, "floor", w) if floor else None
                  for w in ("wall", "cpu")]
        name = f" ({floor})" if floor else ""
        out.append(f"| {label} | " + " | ".join(map(fmt_ratio, cells[:2])) + " | "
                   + " | ".join(fmt_ratio(c) + name for c in cells[2:]) + " |")
    return out


def targets(best, size):
    out = [
        f"## Targets ({size} patches)",
        "",
        "Met or not is judged on wall time (best run); CPU time (user + system) is shown beside it.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for task, what, against, limit in TARGETS:
        kind, _, arg = against.partition(":")
        if kind in ("python", "pydefault"):
            r = ratio(best, size, task, kind, task, "ours")
            c = ratio(best, size, task, kind, task, "ours", "cpu")
            ok = r is not None and r >= limit
            measured = f"{SIDES[kind]} / ours = {fmt_ratio(r)} wall, {fmt_ratio(c)} CPU"
        elif kind == "side":
            a, _, b = arg.partition("/")
            r = ratio(best, size, task, a, task, b)
            c = ratio(best, size, task, a, task, b, "cpu")
            ok = r is not None and r <= limit
            measured = f"{SIDES[a]} / {SIDES[b]} = {fmt_ratio(r)} wall, {fmt_ratio(c)} CPU"
        elif kind == "floor":
            walls = {f: best[(size, f, "floor")]["wall"] for f in arg.split("|")
                     if (size, f, "floor") in best}
            floor = max(walls, key=walls.get) if walls else arg
            r = ratio(best, size, task, "ours", floor, "floor")
            c = ratio(best, size, task, "ours", floor, "floor", "cpu")
            ok = r is not None and r <= limit
            measured = f"ours / {floor} = {fmt_ratio(r)} wall, {fmt_ratio(c)} CPU"
        else:
            other = (size, arg, "floor") if kind == "bytes" else (size, task, arg)
            field = "bytes" if kind == "bytes" else "rss"
            a, b = best.get((size, task, "ours")), best.get(other)
            r = a[field] / b[field] if a and b and b[field] else None
            ok = r is not None and r <= limit
            measured = f"ours / {arg} = {fmt_ratio(r)} ({field})"
        out.append(f"| {task}: {what} | {measured} | {'yes' if ok else '**no**'} |")
    sizes = sorted({k[0] for k in best})
    growth = [best[(sizes[-1], t, "ours")]["rss"] / best[(sizes[0], t, "ours")]["rss"]
              for t, _, _ in TASKS if (sizes[0], t, "ours") in best and (sizes[-1], t, "ours") in best]
    if len(sizes) > 1 and growth:
        ok = max(growth) <= 1.25
        out.append(f"| peak RSS does not grow from {sizes[0]} to {sizes[-1]} patches (≤ 1.25x) | "
                   f"largest growth {max(growth):.2f}x | {'yes' if ok else '**no**'} |")
    return out


def rss_table(best, sizes):
    out = [
        "## Peak RSS against dataset size (MB)",
        "",
        "| task | side | " + " | ".join(f"{s} patches" for s in sizes) + " | largest / smallest |",
        "|---|---|" + "---|" * (len(sizes) + 1),
    ]
    for task, label, _ in TASKS:
        for side in ("ours", "python"):
            vals = [best.get((s, task, side)) for s in sizes]
            if any(vals):
                cells = " | ".join(f"{v['rss']:,.0f}" if v else "–" for v in vals)
                growth = vals[-1]["rss"] / vals[0]["rss"] if vals[0] and vals[-1] else None
                out.append(f"| {label} | {side} | {cells} | {fmt_ratio(growth)} |")
    return out


def jobs_table(best, sizes, jobs):
    """Our conversions on one thread (side jobs1) against JOBS threads (side ours)."""
    out = [
        f"## --jobs 1 vs --jobs {jobs} (pastis-bridge)",
        "",
        f"Speed-up = wall time on 1 thread / wall time on {jobs}; CPU time and peak RSS of both, and "
        "the load average when each run started (the machine is shared: CPU seconds and RSS are "
        "steady under load, wall time is not).",
        "",
        f"| task | patches | wall s, 1 / {jobs} | speed-up | CPU s, 1 / {jobs} | peak RSS MB, 1 / {jobs} "
        "| load, 1 / " + str(jobs) + " |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, label, _ in TASKS:
        for size in sizes:
            one, many = best.get((size, task, "jobs1")), best.get((size, task, "ours"))
            if not one or not many:
                continue
            out.append(
                f"| {label} | {size} | {one['wall']:.1f} / {many['wall']:.1f} | "
                f"**{one['wall'] / many['wall']:.2f}x** | {one['cpu']:.1f} / {many['cpu']:.1f} | "
                f"{one['rss']:,.0f} / {many['rss']:,.0f} | {one['load']} / {many['load']} |"
            )
    return out if len(out) > 6 else []


def machine(args):
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    cpu = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    mem = sh("free -g | awk '/Mem:/ {print $2}'")
    import h5py, numpy, rasterio, zarr

    return [
        f"- Date: {datetime.date.today()}; machine: {os.cpu_count()} cores ({cpu}), {mem} GB RAM, "
        f"shared with other jobs (load average recorded per run in results.tsv).",
        f"- pastis-bridge {sh('target/release/pastis-bridge --version')} (release build), "
        f"`--jobs {args.jobs}`; zstd and pigz with {args.jobs} threads.",
        f"- Python {platform.python_version()}, numpy {numpy.__version__}, zarr {zarr.__version__}, "
        f"h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}), rasterio {rasterio.__version__} "
        f"(GDAL {rasterio.__gdal_version__}); {sh('zstd --version')}; {sh('pigz --version 2>&1')}.",
        f"- Page cache: **{args.cache}** "
        + ("(dropped before every run)." if args.cache == "cold" else
           "(`/proc/sys/vm/drop_caches` is read-only in this sandbox, so every run reads the input "
           "once beforehand: all runs start with the input in memory)."),
        f"- Each time is the best of {args.runs} runs (all runs listed), except measurements whose "
        f"first run took over {args.repeat_below} s, run once; RSS is the largest of the runs "
        "(`/usr/bin/time` maximum resident set size).",
        f"- The whole benchmark took {args.elapsed // 60} min {args.elapsed % 60} s.",
    ]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tsv")
    p.add_argument("md")
    p.add_argument("--jobs", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--runs", required=True)
    p.add_argument("--repeat-below", required=True)
    p.add_argument("--elapsed", type=int, required=True)
    args = p.parse_args()
    best = load(args.tsv)
    sizes = sorted({k[0] for k in best})
    lines = ["# Benchmark results", "", "Produced by `bash bench/run.sh` (see bench/README.md).", ""]
    lines += machine(args) + [""]
    lines += targets(best, sizes[-1]) + [""]
    lines += rss_table(best, sizes) + [""]
    jobs = jobs_table(best, sizes, args.jobs)
    lines += jobs + ([""] if jobs else []) + ["## All measurements", ""]
    for s in sizes:
        lines += table(best, s) + [""]
    md = Path(args.md)
    tail = ""
    if md.exists() and MARKER in md.read_text():
        tail = md.read_text().split(MARKER, 1)[1]
    md.write_text("\n".join(lines) + "\n" + MARKER + tail)


if __name__ == "__main__":
    main()
