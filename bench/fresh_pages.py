"""System time of reading the series `.npy` files, buffered or `O_DIRECT`, into one reused buffer
or a fresh one per file, optionally dropping each file from the page cache once read (issue #17,
"Analysis of this run" in bench/RESULTS.md).

    python bench/fresh_pages.py SRC_FOLDER buffered|direct [fresh] [dontneed]

Run as root with a cold cache (`sync; echo 3 > /proc/sys/vm/drop_caches`) before each mode. Prints
the bytes read, the wall time and the process's user and system time: on the benchmark VM,
memory touched for the first time costs most of the system time of a conversion.
"""

import glob
import mmap
import os
import resource
import sys
import time

BUFFER = 64 << 20  # larger than any series file of a full-size patch


def main():
    src, mode = sys.argv[1], sys.argv[2]
    fresh = "fresh" in sys.argv[3:]
    dontneed = "dontneed" in sys.argv[3:]
    flags = os.O_RDONLY | (os.O_DIRECT if mode == "direct" else 0)
    files = sorted(glob.glob(os.path.join(src, "DATA_S*", "*.npy")))
    view = memoryview(mmap.mmap(-1, BUFFER))  # page-aligned, as O_DIRECT needs
    t0, r0 = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    total = 0
    for path in files:
        if fresh:
            view = memoryview(mmap.mmap(-1, BUFFER))
        fd = os.open(path, flags)
        try:
            aligned = (os.fstat(fd).st_size + 4095) // 4096 * 4096
            total += os.readv(fd, [view[:aligned]])
            if dontneed:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    label = " ".join([mode] + sys.argv[3:])
    print(f"{label}: {total / 1e9:.1f} GB in {time.time() - t0:.2f} s, "
          f"user {r1.ru_utime - r0.ru_utime:.2f} s, system {r1.ru_stime - r0.ru_stime:.2f} s")


if __name__ == "__main__":
    main()
