"""What numpy.load makes of each .npy file given: one JSON line per file, in order.

    python npy_load.py FILE...

{"ok": true, "dtype": "<i2", "shape": [3, 2], "hex": "0100..."}  (payload as C-order little-endian)
{"ok": false, "error": "ValueError: ..."}
Used by tests/npy_headers.rs to check that pastis-bridge reads exactly what numpy reads.
"""

import json
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")  # numpy warns about Python-2 headers it reads

for path in sys.argv[1:]:
    try:
        a = np.load(path, allow_pickle=False)
        le = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        payload = np.ascontiguousarray(a.astype(le, copy=False)).tobytes()
        out = {"ok": True, "dtype": le.str, "shape": list(a.shape), "hex": payload.hex()}
    except Exception as e:  # noqa: BLE001 - every refusal is an answer here
        out = {"ok": False, "error": f"{type(e).__name__}: {e}".splitlines()[0]}
    print(json.dumps(out))
