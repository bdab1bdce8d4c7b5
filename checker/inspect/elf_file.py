"""Inspect one file on disk: sniff, read or map it read-only, read the tables, derive the facts."""

from __future__ import annotations

import mmap
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from checker.filetype import HEAD_SIZE, sniff
from checker.inspect.facts import build_facts
from checker.inspect.fast_reader import FastReaderDeclined, read_raw_fast
from checker.inspect.goinfo import inspect_go
from checker.inspect.libc import MARKERS as LIBC_MARKERS
from checker.inspect.libc import detect_libc
from checker.inspect.nss import NSS_STRINGS, inspect_nss
from checker.inspect.raw import ElfParseError, RawElf
from checker.inspect.scan import FileScan
from checker.inspect.upx import inspect_packed
from checker.models import ElfFacts


@dataclass
class Inspection:
    kind: str  # "elf" or the skip reason from filetype.sniff
    facts: ElfFacts | None = None
    raw: RawElf | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The program inside a packed file (set by checker/inspect/upx.py when it could unpack it).
    unpacked: Inspection | None = None

    @property
    def program(self) -> Inspection:
        """What policy checks should judge: the unpacked program when there is one."""
        return self.unpacked or self


# Extra inspectors add keys to the per-file JSON (e.g. "go", "packer"). They get the raw
# tables, the facts, the mapped file, its path and the file's FileScan (markers searched
# once for all inspectors, values computed once); they may refine facts (e.g. libc of a packed file).
ExtraInspector = Callable[[RawElf, ElfFacts, "bytes | mmap.mmap", str, FileScan], dict[str, Any]]
# Every marker string an inspector asks FileScan about, so one search answers them all.
SCAN_MARKERS = LIBC_MARKERS + NSS_STRINGS
EXTRA_INSPECTORS: list[ExtraInspector] = [inspect_go, inspect_nss]
# Post-inspectors see the whole Inspection after the extras (the UPX unpacker attaches the
# program inside and lets its extras replace the outer stub's).
PostInspector = Callable[[Inspection, "bytes | mmap.mmap", str], None]
POST_INSPECTORS: list[PostInspector] = [inspect_packed]


# Files up to this size are read into memory whole; larger ones are mapped, so only the pages read cost.
READ_WHOLE_LIMIT = 256 * 1024


@dataclass
class OpenedFile:
    """A file opened once for the whole check: its handle, first bytes and what they say it is."""

    fh: BinaryIO
    head: bytes
    kind: str  # "elf", a filetype.sniff skip reason, or "not a regular file"
    regular: bool


@contextmanager
def open_file(path: str) -> Iterator[OpenedFile]:
    """Open and sniff `path` once (raise OSError); the caller may look at the head, then inspect."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # O_NONBLOCK: a FIFO must never stall the run
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            yield OpenedFile(fh, b"", "not a regular file", regular=False)
            return
        head = fh.read(HEAD_SIZE)
        yield OpenedFile(fh, head, sniff(head), regular=True)


def inspect_opened(opened: OpenedFile, path: str) -> Inspection:
    """Inspect a file opened by open_file; raise OSError or ElfParseError; never execute it."""
    if opened.kind != "elf":
        return Inspection(opened.kind)
    fh = opened.fh
    size = os.fstat(fh.fileno()).st_size
    if size < 52:
        raise ElfParseError(f"truncated ELF ({size} bytes, shorter than an ELF header)")
    if size <= READ_WHOLE_LIMIT:  # one read call costs less than mapping, faulting in and unmapping a small file
        return inspect_elf(os.pread(fh.fileno(), size, 0), fh, path)
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return inspect_elf(data, fh, path)


def inspect_path(path: str) -> Inspection:
    """Raise OSError (unreadable) or ElfParseError (corrupt); never execute the file."""
    with open_file(path) as opened:
        return inspect_opened(opened, path)


def read_tables(data: bytes | mmap.mmap, stream: Any) -> RawElf:
    """Fast reader first; the pyelftools reference reader for any file it declines."""
    try:
        return read_raw_fast(data)
    except FastReaderDeclined:
        # Imported here so runs where every file takes the fast path never load pyelftools.
        from checker.inspect.pyelf_reader import read_raw as read_raw_reference

        return read_raw_reference(stream)


def inspect_elf(data: bytes | mmap.mmap, stream: Any, path: str) -> Inspection:
    """Inspect an ELF image given as a mapping plus a seekable stream over the same bytes."""
    raw = read_tables(data, stream)
    scan = FileScan(raw, data, SCAN_MARKERS)
    libc, evidence = detect_libc(scan)
    facts = build_facts(raw, libc, evidence)
    extra: dict[str, Any] = {}
    for inspector in EXTRA_INSPECTORS:
        extra.update(inspector(raw, facts, data, path, scan))
    inspection = Inspection("elf", facts, raw, extra)
    for post in POST_INSPECTORS:
        post(inspection, data, path)
    return inspection
