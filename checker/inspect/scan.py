"""Search a whole file for a few byte strings in one pass, with bounded memory.

Static files have no NEEDED/interpreter to say which libc they carry, so a handful of
marker strings are searched in the file. One pass over 1 MiB windows looks for all of them
at once (each window is searched while it is in the CPU cache), and pages of a mapped file
are released after each window, so a 500 MB Go binary does not stay resident in memory.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable

WINDOW = 1 << 20  # a multiple of every page size


def markers_present(data: bytes | mmap.mmap, markers: Iterable[bytes]) -> set[bytes]:
    """The markers that occur anywhere in `data` (same answer as `data.find(m) >= 0` for each)."""
    wanted = [m for m in dict.fromkeys(markers) if m]
    found: set[bytes] = set()
    if not wanted:
        return found
    overlap = max(len(m) for m in wanted) - 1
    size = len(data)
    release = isinstance(data, mmap.mmap) and hasattr(data, "madvise")
    for start in range(0, size, WINDOW):
        end = min(start + WINDOW + overlap, size)
        for marker in wanted:
            if marker not in found and data.find(marker, start, end) >= 0:
                found.add(marker)
        if release:
            data.madvise(mmap.MADV_DONTNEED, start, min(WINDOW, size - start))
        if len(found) == len(wanted):
            break
    return found
