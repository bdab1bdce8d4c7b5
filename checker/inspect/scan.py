"""Search a static file for a few byte strings: once per file, only where they can live, with bounded memory.

Static files have no NEEDED/interpreter to say which libc they carry, so a handful of
marker strings are searched in the file. `FileScan` is the per-file memo every inspector
asks: the first question searches for all markers any inspector needs, later ones reuse
the answer. When the file has section headers only the allocated, non-executable data
sections are searched (string literals live in .rodata and friends), minus the big tables
known to hold none of the markers; without section headers the whole file is searched.
One pass over 1 MiB windows looks for all markers at once (each window is searched while
it is in the CPU cache), and pages of a mapped file are released after each window, so a
500 MB Go binary does not stay resident in memory.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from checker.inspect.layout import Layout, read_layout
from checker.inspect.raw import RawElf

WINDOW = 1 << 20  # a multiple of every page size
SHT_PROGBITS = 1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
# Allocated data that holds no marker: unwind tables; Go's runtime metadata (function names
# in .gopclntab, type and interface tables; Go binaries are found by section name); and Go's
# pointer-free data (.noptrdata: go:embed files, big arrays), which C code never joins in a
# static Go program: C objects are linked by the C linker then, into .rodata and .data.
SKIPPED_SECTIONS = frozenset(
    {".eh_frame", ".eh_frame_hdr", ".gcc_except_table", ".gopclntab", ".gosymtab", ".typelink", ".itablink", ".noptrdata"}
)

T = TypeVar("T")


def markers_present(data: bytes | mmap.mmap, markers: Iterable[bytes], ranges: Sequence[tuple[int, int]] | None = None) -> set[bytes]:
    """The markers that occur in `data` (or in one of the [start, end) `ranges`): same answer as find() on each."""
    wanted = [m for m in dict.fromkeys(markers) if m]
    found: set[bytes] = set()
    if not wanted:
        return found
    overlap = max(len(m) for m in wanted) - 1
    release = isinstance(data, mmap.mmap) and hasattr(data, "madvise")
    for first, last in [(0, len(data))] if ranges is None else ranges:
        for start in range(first, last, WINDOW):
            end = min(start + WINDOW + overlap, last)
            for marker in wanted:
                if marker not in found and data.find(marker, start, end) >= 0:
                    found.add(marker)
            if release:
                page = start - start % mmap.PAGESIZE  # madvise wants a page-aligned start
                data.madvise(mmap.MADV_DONTNEED, page, min(start + WINDOW, last) - page)
            if len(found) == len(wanted):
                return found
    return found


def data_ranges(layout: Layout | None, size: int) -> list[tuple[int, int]] | None:
    """File ranges [start, end) of the sections that can hold string literals; None: search the whole file.

    Allocated, non-executable PROGBITS sections minus SKIPPED_SECTIONS, clipped to the file,
    sorted and merged, so a hostile table can neither read outside the file nor twice.
    """
    if layout is None or not layout.sections:
        return None
    picked = sorted(
        (s.offset, min(s.offset + s.size, size))
        for s in layout.sections
        if s.type == SHT_PROGBITS and s.flags & SHF_ALLOC and not s.flags & SHF_EXECINSTR and s.name not in SKIPPED_SECTIONS
    )
    merged: list[tuple[int, int]] = []
    for start, end in picked:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class FileScan:
    """Per-file memo shared by the inspectors: layout, scanned region, markers found, computed values.

    `markers` is the union of every marker any inspector asks about; the first `present()`
    searches for all of them in one pass (`passes` counts the searches).
    """

    def __init__(self, raw: RawElf, data: bytes | mmap.mmap, markers: Iterable[bytes]) -> None:
        self.raw = raw
        self.data = data
        self.markers = tuple(dict.fromkeys(m for m in markers if m))
        self.passes = 0
        self._found: set[bytes] | None = None
        self._memo: dict[str, Any] = {}

    @cached_property
    def layout(self) -> Layout | None:
        return read_layout(self.data)

    @cached_property
    def ranges(self) -> list[tuple[int, int]] | None:
        """The region searched: data sections when the file has section headers, None for the whole file."""
        return data_ranges(self.layout, len(self.data)) if self.raw.has_section_headers else None

    @property
    def region_size(self) -> int:
        """Bytes in the searched region (the search stops early once every marker is found)."""
        return len(self.data) if self.ranges is None else sum(end - start for start, end in self.ranges)

    def present(self, markers: Iterable[bytes]) -> set[bytes]:
        """Which of `markers` occur in the searched region."""
        asked = set(markers)
        unknown = asked.difference(self.markers)
        if unknown:
            raise ValueError(f"markers not declared for this scan: {sorted(unknown)!r}")
        if self._found is None:
            self.passes += 1
            self._found = markers_present(self.data, self.markers, self.ranges)
        return self._found & asked

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """compute() once per file (e.g. Go build info wanted by both libc and go inspectors)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[no-any-return]
