"""cpio "newc" (SVR4) streams, the payload of .rpm packages. Stdlib only, streaming."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from typing import IO

from checker.archives.entries import Entry, Kind
from checker.archives.errors import ArchiveError
from checker.archives.streams import Window, read_exact

_HEADER = 110
_MAX_NAME = 1 << 16
_MAX_LINK = 1 << 16


def iter_cpio(stream: IO[bytes]) -> Iterator[Entry]:
    while True:
        header = read_exact(stream, _HEADER, "cpio header")
        magic = header[:6]
        if magic == b"07070X":
            raise ArchiveError("rpm with a stripped cpio payload (large-file format) is not supported")
        if magic not in (b"070701", b"070702"):
            raise ArchiveError(f"not a newc cpio payload (header magic {magic!r})")
        try:
            fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise ArchiveError("corrupt cpio header (non-hex field)") from None
        mode, size, namesize = fields[1], fields[6], fields[11]
        if not 0 < namesize <= _MAX_NAME:
            raise ArchiveError(f"corrupt cpio header (name size {namesize})")
        raw_name = read_exact(stream, namesize, "cpio member name")
        read_exact(stream, (4 - (_HEADER + namesize) % 4) % 4, "cpio padding")
        name = raw_name.rstrip(b"\x00").decode("utf-8", "surrogateescape")
        if name == "TRAILER!!!":
            return
        kind = _kind(mode)
        data = Window(stream, size, f"cpio member {name}")
        entry = Entry(name=name, kind=kind, size=size, stream=data if kind == "file" else None)
        if kind == "symlink":
            if size > _MAX_LINK:
                raise ArchiveError(f"corrupt cpio member {name} (symlink target of {size} bytes)")
            entry.link = data.read().decode("utf-8", "surrogateescape")
        yield entry
        data.drain()
        read_exact(stream, (4 - size % 4) % 4, "cpio padding")


def _kind(mode: int) -> Kind:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"
