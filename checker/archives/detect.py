"""Recognise archives and packages by content (the file name only breaks a zstd tie)."""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from typing import IO

from checker.archives.streams import codec_of, is_zstandard, zstd_module
from checker.filetype import ELF_MAGIC

# Formats we open; the names appear in reports ("format": "tar.gz").
FORMATS = ("tar", "tar.gz", "tar.bz2", "tar.xz", "tar.zst", "zip", "deb", "rpm")
RPM_MAGIC = b"\xed\xab\xee\xdb"
AR_MAGIC = b"!<arch>\n"
_TAR_NAMES = {
    "gz": (".tar.gz", ".tgz"),
    "bz2": (".tar.bz2", ".tbz2", ".tbz"),
    "xz": (".tar.xz", ".txz"),
    "zst": (".tar.zst", ".tzst"),
}
_SNIFF_LIMIT = 1 << 20  # compressed bytes read to see the first tar header (bzip2 needs a whole block)


def detect(fh: IO[bytes], name: str = "") -> str | None:
    """The archive format of a seekable stream (read from its start), or None."""
    fh.seek(0)
    head = fh.read(4096)
    fmt = _by_magic(head)
    if fmt is None:
        codec = codec_of(head)
        if codec is not None:
            fh.seek(0)
            first = _first_block(fh, codec)
            if first is not None and looks_like_tar(first):
                fmt = f"tar.{codec}"
            elif not first and name.lower().endswith(_TAR_NAMES[codec]):
                # Nothing decompressed yet (a cut-off bzip2 block, or no zstd support): the name breaks
                # the tie, and reading it then reports the real problem.
                fmt = f"tar.{codec}"
    fh.seek(0)
    return fmt


def maybe_archive(head: bytes) -> bool:
    """Cheap test on a member's first bytes: worth spilling to a temp file to open it as an archive?

    A compressed member whose first block already decompresses to something that is not a tar
    header (a gzipped man page, a changelog.gz) is not spilled.
    """
    if _by_magic(head) is not None:
        return True
    codec = codec_of(head)
    if codec is None:
        return False
    first = _first_block(io.BytesIO(head), codec)
    return first is None or len(first) < 512 or looks_like_tar(first)


def looks_like_tar(block: bytes) -> bool:
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    # Old (v7) tar: no magic, but the header checksum must add up and a name must be present.
    try:
        stored = int(block[148:156].replace(b"\x00", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    actual = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    return block[0] != 0 and stored == actual


def _by_magic(head: bytes) -> str | None:
    if head.startswith(ELF_MAGIC):
        return None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(AR_MAGIC) and head[8:24].rstrip(b" ").rstrip(b"/") == b"debian-binary":
        return "deb"
    if head.startswith(RPM_MAGIC):
        return "rpm"
    if looks_like_tar(head[:512]):
        return "tar"
    return None


def _first_block(fh: IO[bytes], codec: str) -> bytes | None:
    """Decompress just enough to see 512 bytes; None when the codec is unavailable."""
    data = fh.read(_SNIFF_LIMIT)
    try:
        if codec == "gz":
            return zlib.decompressobj(wbits=47).decompress(data, 512)
        if codec == "bz2":
            return bz2.BZ2Decompressor().decompress(data, max_length=512)
        if codec == "xz":
            return lzma.LZMADecompressor().decompress(data, max_length=512)
        zstd = zstd_module()
        if zstd is None:
            return None
        if not is_zstandard(zstd):
            return zstd.ZstdDecompressor().decompress(data, max_length=512)
        obj = zstd.ZstdDecompressor().decompressobj()
        out = b""
        for i in range(0, len(data), 256):  # small pieces: zstd can expand 1 byte to 32 KiB
            out += obj.decompress(data[i : i + 256])
            if len(out) >= 512 or obj.eof:
                break
        return out[:512]
    except Exception:  # zlib/lzma/zstd each raise their own error type on corrupt input
        return b""
