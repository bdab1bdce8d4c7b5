"""Stream the entries of each supported container; nothing is extracted.

Readers yield Entry objects whose `stream` is valid until the next entry is requested.
Every decompressed byte is charged to the archive's Budget.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
from collections.abc import Iterator
from typing import IO

from checker.archives.cpio import iter_cpio
from checker.archives.entries import Entry
from checker.archives.errors import ArchiveError
from checker.archives.rpm import read_rpm_layout
from checker.archives.streams import Budget, Metered, Window, decompressed, read_exact

_AR_HEADER = 60
# data.tar member suffix in a .deb -> codec
_DEB_CODECS = {"": None, ".gz": "gz", ".xz": "xz", ".bz2": "bz2", ".zst": "zst", ".lzma": "lzma"}
_MAX_LINK = 1 << 16


def iter_entries(fh: IO[bytes], fmt: str, budget: Budget) -> Iterator[Entry]:
    if fmt == "zip":
        yield from iter_zip(fh, budget)
    elif fmt == "deb":
        yield from iter_deb(fh, budget)
    elif fmt == "rpm":
        codec, payload = read_rpm_layout(fh)
        if payload != "cpio":
            raise ArchiveError(f"rpm payload format {payload!r} is not supported (expected cpio)")
        yield from iter_cpio(Metered(decompressed(fh, codec), budget))
    elif fmt.startswith("tar"):
        codec = fmt.partition(".")[2] or None
        yield from iter_tar(Metered(decompressed(fh, codec), budget))
    else:
        raise ArchiveError(f"unsupported archive format {fmt!r}")


def iter_tar(stream: IO[bytes]) -> Iterator[Entry]:
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for info in tar:
            if info.isreg():
                yield Entry(info.name, "file", info.size, stream=tar.extractfile(info))
            elif info.isdir():
                yield Entry(info.name, "dir", 0)
            elif info.issym():
                yield Entry(info.name, "symlink", 0, link=info.linkname)
            elif info.islnk():
                yield Entry(info.name, "hardlink", 0, link=info.linkname)
            else:
                yield Entry(info.name, "other", info.size)


def iter_zip(fh: IO[bytes], budget: Budget) -> Iterator[Entry]:
    try:
        archive = zipfile.ZipFile(fh)
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"corrupt or truncated zip archive ({exc})") from None
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                yield Entry(info.filename, "dir", 0)
                continue
            if info.flag_bits & 0x1:
                yield Entry(info.filename, "file", info.file_size, problem="encrypted member: its contents cannot be inspected")
                continue
            mode = info.external_attr >> 16
            try:
                if info.create_system == 3 and stat.S_ISLNK(mode):
                    with archive.open(info) as link:
                        target = link.read(_MAX_LINK).decode("utf-8", "surrogateescape")
                    yield Entry(info.filename, "symlink", 0, link=target)
                    continue
                member = archive.open(info)
            except NotImplementedError as exc:  # e.g. deflate64, unsupported compression method
                yield Entry(info.filename, "file", info.file_size, problem=f"cannot be read: {exc}")
                continue
            except (zipfile.BadZipFile, ValueError, OSError) as exc:
                yield Entry(info.filename, "file", info.file_size, problem=f"corrupt zip member ({exc})")
                continue
            with member:
                yield Entry(info.filename, "file", info.file_size, stream=Metered(member, budget))


def iter_deb(fh: IO[bytes], budget: Budget) -> Iterator[Entry]:
    """A .deb is an ar archive: debian-binary, control.tar.*, data.tar.*; the files live in data.tar."""
    read_exact(fh, 8, "ar header")
    while True:
        header = fh.read(_AR_HEADER)
        if not header:
            raise ArchiveError("not a complete Debian package: no data.tar member")
        if len(header) < _AR_HEADER or header[58:60] != b"`\n":
            raise ArchiveError("corrupt or truncated ar archive (bad member header)")
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise ArchiveError(f"corrupt ar member header for {name!r} (size)") from None
        if name.startswith("data.tar"):
            suffix = name[len("data.tar") :]
            if suffix not in _DEB_CODECS:
                raise ArchiveError(f"unsupported data member {name!r} in Debian package")
            yield from iter_tar(Metered(decompressed(Window(fh, size, name), _DEB_CODECS[suffix]), budget))
            return
        Window(fh, size + size % 2, name).drain()
