"""Writes the golden .npy files of fixtures/golden-npy/ with numpy itself (np.save / write_array).

Usage: make_golden_npy.py OUTDIR   (run in the test venv, $PASTIS_PYTHON; tests/golden_npy.rs
regenerates into a temp dir and checks the committed files are up to date).

For every dtype pastis-bridge knows (src/model/dtype.rs), ranks 0-4, byte orders < > | (| for
one-byte types) and memory orders C and F (F only where it differs from C: rank >= 2), plus
format versions 2.0 and 3.0 and empty arrays, it writes `cases/NAME.npy`; and for each distinct
array `expected/DTYPE_SHAPE.npy`, what np.save writes for the same array in C order little-endian,
the bytes pastis-bridge's writer must reproduce. `manifest.json` lists every case with its dtype,
shape, header flags and the C-order little-endian payload as hex.

Values are fixed bit patterns (no RNG): integer extremes, and for floats NaNs with payloads,
signalling NaNs, -0.0, +-inf, subnormals and the largest finite values. Byte order and memory
order are changed with pure bit operations (byteswap + view, asfortranarray), which numpy copies
without touching float bits; the script re-reads every file and checks the bits it wrote.
"""

import json
import sys
from pathlib import Path

import numpy as np

NUMPY_VERSION = "2.4.6"  # pinned in scripts/requirements-interop.txt; other versions may pad differently

# name (as pastis-bridge's DType::name), numpy little-endian descriptor
DTYPES = [
    ("bool", "|b1"),
    ("uint8", "|u1"),
    ("uint16", "<u2"),
    ("uint32", "<u4"),
    ("uint64", "<u8"),
    ("int8", "|i1"),
    ("int16", "<i2"),
    ("int32", "<i4"),
    ("int64", "<i8"),
    ("float16", "<f2"),
    ("float32", "<f4"),
    ("float64", "<f8"),
]

SHAPES = {0: (), 1: (5,), 2: (2, 3), 3: (2, 3, 4), 4: (2, 3, 2, 2)}

# Bit patterns of awkward floats, per width: quiet NaN, NaN with payload, negative NaN, signalling
# NaN, -0.0, +0.0, +inf, -inf, smallest subnormal, largest subnormal, largest finite, -1.5.
FLOAT_BITS = {
    2: [0x7E00, 0x7E2A, 0xFE01, 0x7D01, 0x8000, 0x0000, 0x7C00, 0xFC00, 0x0001, 0x03FF, 0x7BFF, 0xBE00],
    4: [0x7FC00000, 0x7FC0BEEF, 0xFFC00001, 0x7F800001, 0x80000000, 0x00000000, 0x7F800000,
        0xFF800000, 0x00000001, 0x007FFFFF, 0x7F7FFFFF, 0xBFC00000],
    8: [0x7FF8000000000000, 0x7FF800000000BEEF, 0xFFF8000000000001, 0x7FF0000000000001,
        0x8000000000000000, 0x0000000000000000, 0x7FF0000000000000, 0xFFF0000000000000,
        0x0000000000000001, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF, 0xBFF8000000000000],
}


def values(descr, n):
    """n deterministic values of a little-endian dtype, C order, as a 1-d array."""
    dtype = np.dtype(descr)
    if dtype.kind == "b":
        return (np.arange(n) * 7 % 3 == 1).astype(dtype)
    if dtype.kind == "f":
        bits = FLOAT_BITS[dtype.itemsize]
        uint = np.dtype(f"<u{dtype.itemsize}")
        pattern = [bits[i % len(bits)] for i in range(n)]
        return np.array(pattern, dtype=uint).view(dtype)
    info = np.iinfo(dtype)
    special = [info.min, info.max, 0, 1, info.max // 3]
    if info.min < 0:
        special.append(-1)
    pattern = [special[i % len(special)] if i < 2 * len(special) else (i * 2654435761) % (info.max + 1)
               for i in range(n)]
    return np.array(pattern, dtype=np.dtype(f"{descr[0]}{dtype.kind}{dtype.itemsize}").newbyteorder("<"))


def le_c_array(descr, shape):
    n = int(np.prod(shape)) if shape else 1
    return values(descr, n).reshape(shape)


def big_endian(a):
    """The same values with the opposite byte order: bytes swapped, dtype reinterpreted."""
    return a.byteswap().view(a.dtype.newbyteorder(">"))


def shape_tag(shape):
    return "x".join(str(d) for d in shape) if shape else "scalar"


def save(path, array, version):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        if version is None:
            np.save(f, array, allow_pickle=False)
        else:
            np.lib.format.write_array(f, array, version=version, allow_pickle=False)


def check(path, expected_le_c):
    """The file read back by numpy has exactly the bits written."""
    got = np.load(path, allow_pickle=False)
    le = got.byteswap().view(got.dtype.newbyteorder("<")) if got.dtype.byteorder == ">" else got
    assert np.ascontiguousarray(le).tobytes() == expected_le_c.tobytes(), path


def main(out):
    if np.__version__ != NUMPY_VERSION:
        sys.exit(f"make_golden_npy.py is pinned to numpy {NUMPY_VERSION}, the venv has {np.__version__}: "
                 "run `bash scripts/setup.sh` or update the pin and regenerate")
    out = Path(out)
    manifest = {"numpy": np.__version__, "cases": []}
    for name, descr in DTYPES:
        one_byte = descr[0] == "|"
        arrays = [(rank, le_c_array(descr, shape)) for rank, shape in SHAPES.items()]
        arrays.append(("empty", le_c_array(descr, (0, 3))))
        for rank, a in arrays:
            expected = f"expected/{name}_{shape_tag(a.shape)}.npy"
            save(out / expected, a, None)
            variants = []
            for order in ["|"] if one_byte else ["<", ">"]:
                ordered = big_endian(a) if order == ">" else a
                mems = ["C", "F"] if a.ndim >= 2 and rank != "empty" else ["C"]
                for mem in mems:
                    laid = np.asfortranarray(ordered) if mem == "F" else ordered
                    variants.append((order, mem, laid, None))
            if rank == 2:
                variants.append(("<" if not one_byte else "|", "C", a, (2, 0)))
                variants.append(("<" if not one_byte else "|", "C", a, (3, 0)))
            for order, mem, laid, version in variants:
                v = "1.0" if version is None else f"{version[0]}.{version[1]}"
                order_tag = {"<": "le", ">": "be", "|": "na"}[order]
                file = f"cases/{name}_{shape_tag(a.shape)}_{order_tag}_{mem}_v{v}.npy"
                save(out / file, laid, version)
                check(out / file, a)
                manifest["cases"].append({
                    "file": file,
                    "dtype": name,
                    "descr": order + descr[1:],
                    "shape": list(a.shape),
                    "fortran_order": mem == "F",
                    "version": v,
                    "payload_le_hex": a.tobytes().hex(),
                    "expected": expected,
                })
    with open(out / "manifest.json", "w") as f:
        # One line per case: small, and a regenerated manifest diffs line by line.
        f.write('{"numpy": %s, "cases": [\n' % json.dumps(manifest["numpy"]))
        f.write(",\n".join(json.dumps(c) for c in manifest["cases"]))
        f.write("\n]}\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_golden_npy.py OUTDIR")
    main(sys.argv[1])
