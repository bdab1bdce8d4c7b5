"""The static-file marker search: only the data sections readelf lists, once per file, whole file without section headers."""

from __future__ import annotations

import mmap
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from checker.inspect.elf_file import SCAN_MARKERS, inspect_path, read_tables
from checker.inspect.scan import FileScan
from tests.elf_edit import Elf
from tests.inspector_hook import extra_inspector
from tests.readelf_truth import readelf, truth

Get = Callable[[str], Path]

STATIC_WITH_SECTIONS = [
    "c_static",
    "c_static_pie",
    "c_static_stripped",
    "c_static_nss",
    "c_static_nss_stripped",
    "musl_static",
    "zig_aarch64_musl",
    "go_nocgo",
    "go_netgo",
    "go_cgo_static",
    "go_nocgo_external",
]
# The spec of the searched region: allocated, non-executable PROGBITS sections except these.
NOT_SEARCHED = {".eh_frame", ".eh_frame_hdr", ".gcc_except_table", ".gopclntab", ".gosymtab", ".typelink", ".itablink", ".noptrdata"}
# Strings of C code; "runtime.goexit\0" is left out: it lives in .gopclntab, and Go is found by section name.
C_MARKERS = [m for m in SCAN_MARKERS if not m.startswith(b"runtime.")]
MUSL_MARKER = b"No error information"

# "  [15] .rodata           PROGBITS        0000000000498000 098000 01c4c4 00   A  0   0 32"
_SECTION = re.compile(
    r"^\s*\[\s*\d+\]\s+(?P<name>\S+)\s+(?P<type>\S+)\s+[0-9a-f]+\s+(?P<off>[0-9a-f]+)\s+(?P<size>[0-9a-f]+)\s+[0-9a-f]+"
    r"\s+(?P<flags>[A-Za-z]*)\s*\d+\s+\d+\s+\d+\s*$"
)


def readelf_sections(path: Path) -> list[tuple[str, str, int, int, str]]:
    """(name, type, offset, size, flags) of each named section, per `readelf -S -W`."""
    out = []
    for line in readelf(path, "-S").splitlines():
        m = _SECTION.match(line)
        if m:
            out.append((m[1], m[2], int(m[3], 16), int(m[4], 16), m[5]))
    return out


def expected_ranges(path: Path) -> list[tuple[int, int]]:
    size = path.stat().st_size
    picked = sorted(
        (off, min(off + sz, size))
        for name, kind, off, sz, flags in readelf_sections(path)
        if kind == "PROGBITS" and "A" in flags and "X" not in flags and name not in NOT_SEARCHED and sz
    )
    merged: list[tuple[int, int]] = []
    for start, end in picked:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@contextmanager
def scan_of(path: Path) -> Iterator[FileScan]:
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        yield FileScan(read_tables(data, fh), data, SCAN_MARKERS)


@contextmanager
def watched_scans() -> Iterator[list[FileScan]]:
    """The FileScan each inspected file got, seen by an extra inspector that runs after the others."""
    seen: list[FileScan] = []

    def watch(raw: Any, facts: Any, data: Any, path: str, scan: FileScan) -> dict[str, Any]:
        seen.append(scan)
        return {}

    with extra_inspector(watch):
        yield seen


@pytest.mark.parametrize("name", STATIC_WITH_SECTIONS)
def test_searched_region_is_the_data_sections_readelf_lists(fixture: Get, name: str) -> None:
    path = fixture(name)
    t = truth(path)
    assert t["has_section_headers"] and t["needed"] == [] and t["interpreter"] is None
    expected = expected_ranges(path)
    assert any(start > 0 for start, _ in expected)  # .rodata at least
    with scan_of(path) as scan:
        assert scan.ranges == expected
        assert scan.region_size == sum(end - start for start, end in expected) < path.stat().st_size
        # every C marker the whole file holds is in the searched region, and no other
        raw = path.read_bytes()
        assert scan.present(C_MARKERS) == {m for m in C_MARKERS if raw.find(m) >= 0}


def _with_section(tmp_path: Path, source: Path, name: str, flags: str, payload: bytes) -> Path:
    if shutil.which("objcopy") is None:
        pytest.skip("objcopy not installed")
    blob = tmp_path / "payload.bin"
    blob.write_bytes(payload)
    out = tmp_path / f"{source.name}{name}"
    cmd = ["objcopy", "--add-section", f"{name}={blob}", "--set-section-flags", f"{name}={flags}", str(source), str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


@pytest.mark.parametrize(
    "name, flags, searched",
    [
        (".rodata.extra", "alloc,load,readonly,data", True),
        (".junk", "readonly", False),  # not allocated
        (".text.extra", "alloc,load,readonly,code", False),  # executable
        (".gopclntab", "alloc,load,readonly,data", False),  # a table known to hold no C strings
    ],
)
def test_marker_is_found_only_inside_the_searched_region(fixture: Get, tmp_path: Path, name: str, flags: str, searched: bool) -> None:
    path = _with_section(tmp_path, fixture("c_static"), name, flags, MUSL_MARKER + b"\0")
    (added,) = [s for s in readelf_sections(path) if s[0] == name]
    assert ("A" in added[4], "X" in added[4]) == ("alloc" in flags, "code" in flags)
    assert path.read_bytes().find(MUSL_MARKER) == added[2]  # only in the added section
    with scan_of(path) as scan:
        assert (MUSL_MARKER in scan.present([MUSL_MARKER])) is searched
    facts = inspect_path(str(path)).facts
    assert facts is not None
    musl_evidence = "static musl code (string 'No error information')"
    assert (facts.libc, musl_evidence in facts.libc_evidence) == (("unknown", True) if searched else ("glibc", False))


@pytest.mark.parametrize("name", ["go_bare", "upx_static"])
def test_files_without_section_headers_get_the_whole_file_searched(fixture: Get, name: str) -> None:
    path = fixture(name)
    assert truth(path)["has_section_headers"] is False
    with scan_of(path) as scan:
        assert scan.ranges is None and scan.region_size == path.stat().st_size
        raw = path.read_bytes()
        assert scan.present(SCAN_MARKERS) == {m for m in SCAN_MARKERS if raw.find(m) >= 0}
    if name == "go_bare":  # only the whole-file search finds its runtime function names
        facts = inspect_path(str(path)).facts
        assert facts is not None and (facts.libc, facts.libc_evidence) == ("none", ["Go runtime without a C library"])


def test_hostile_section_table_is_clipped_to_the_file(fixture: Get, tmp_path: Path) -> None:
    source = fixture("c_static_stripped")
    elf = Elf(bytearray(source.read_bytes()))
    size = len(elf.data)
    elf.set_sfield(".rodata", "sh_size", 1 << 40)  # runs far past the end of the file
    elf.set_sfield(".data", "sh_offset", size + 4096)  # starts after it
    path = tmp_path / "hostile"
    path.write_bytes(bytes(elf.data))
    with open(source, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as original:
        raw = read_tables(original, fh)
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        scan = FileScan(raw, data, SCAN_MARKERS)
        assert scan.ranges and all(0 <= start < end <= size for start, end in scan.ranges)
        assert scan.ranges[-1][1] == size  # .rodata now reaches the end of the file, no further
        assert b"GLIBC_TUNABLES" in scan.present(SCAN_MARKERS)


def test_one_search_answers_every_inspector(fixture: Get) -> None:
    with watched_scans() as seen:
        extra = inspect_path(str(fixture("c_static_nss_stripped"))).extra
    (scan,) = seen
    assert extra["static_glibc_nss"] is True  # the libc and the NSS inspectors both asked
    assert scan.passes == 1
    scan.present(SCAN_MARKERS)
    assert scan.passes == 1
    with pytest.raises(ValueError, match="not declared"):
        scan.present([b"a marker nobody declared"])


@pytest.mark.parametrize(
    "name, searched",
    [("go_nocgo", False), ("go_buildinfo_old", False), ("go_ldflags_stripped", False), ("go_netgo", True), ("go_nocgo_external", True)],
)
def test_go_without_cgo_skips_the_search(fixture: Get, name: str, searched: bool) -> None:
    """CGO_ENABLED=0 and a Go-only link (readelf shows no .init/.comment...): no C library, nothing to search."""
    path = fixture(name)
    c_link = {".init", ".fini", ".init_array", ".note.ABI-tag", ".comment"} & {s[0] for s in readelf_sections(path)}
    assert bool(c_link) is (name == "go_nocgo_external")
    with watched_scans() as seen:
        inspection = inspect_path(str(path))
    (scan,) = seen
    facts, go = inspection.facts, inspection.extra["go"]
    assert facts is not None and go is not None
    assert scan.passes == int(searched)
    assert scan.memo("go", lambda: pytest.fail("Go build info read twice")) is go  # read once, shared with the libc inspector
    if searched:
        assert facts.libc == ("glibc" if c_link else "none")
    else:
        assert go["cgo_enabled"] is False
        assert (facts.libc, facts.libc_evidence) == (
            "none",
            ["Go runtime without a C library", "Go build setting CGO_ENABLED=0, linked by Go's own linker: no C code linked in"],
        )
