"""SPOT chunk study (issue #20): zarr-python reads of a pastis-bridge store's SPOT with the chunk
it writes, (1, B, 256, 256) in a one-patch shard, against the same data rechunked by zarr-python
(whole image, 128, 640), and h5py on the HDF5 file. Run in a folder holding `big.zarr` and
`big.h5`, converted from `pastis-bridge synth hd128 --patches 6 --spot --size 128` (1280 x 1280 x 3
uint8 SPOT images); rechunked copies are written beside them.
"""
import time, zarr, numpy as np, h5py, sys
src = zarr.open_group("big.zarr", mode="r")["SPOT"]
print("written:", src.shape, src.chunks, src.shards, src.compressors)
data = src[...]
def make(name, chunks):
    a = zarr.create_array(name, shape=data.shape, dtype=data.dtype, chunks=chunks,
                          shards=(1,) + data.shape[1:], compressors=src.compressors, overwrite=True)
    a[...] = data
    return zarr.open_array(name, mode="r")
variants = {"written (1,3,256,256)": src, "whole (1,3,1280,1280)": make("whole.zarr", (1,) + data.shape[1:]),
            "(1,3,128,128)": make("c128.zarr", (1, 3, 128, 128)), "(1,3,640,640)": make("c640.zarr", (1, 3, 640, 640))}
def t(f, n=3):
    best = 1e9
    for _ in range(n):
        s = time.perf_counter(); f(); best = min(best, time.perf_counter() - s)
    return best * 1000
for name, a in variants.items():
    whole = t(lambda: [a[i] for i in range(a.shape[0])]) / a.shape[0]
    win = t(lambda: [a[i, :, 512:768, 512:768] for i in range(a.shape[0])]) / a.shape[0]
    print(f"zarr-python {name}: whole image {whole:.1f} ms, 256 window {win:.1f} ms per patch")
with h5py.File("big.h5") as f:
    d = f["SPOT"]
    print("h5 chunks", d.chunks, d.compression)
    whole = t(lambda: [d[i] for i in range(d.shape[0])]) / d.shape[0]
    win = t(lambda: [d[i, :, 512:768, 512:768] for i in range(d.shape[0])]) / d.shape[0]
    print(f"h5py written: whole image {whole:.1f} ms, 256 window {win:.1f} ms per patch")
