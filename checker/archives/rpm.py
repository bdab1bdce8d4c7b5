"""RPM package layout: lead, signature header, main header, compressed cpio payload.

Only the two header tags that say how the payload is stored are read (stdlib struct).
"""

from __future__ import annotations

import struct
from typing import IO

from checker.archives.errors import ArchiveError
from checker.archives.streams import read_exact

_LEAD = 96
_HEADER_MAGIC = b"\x8e\xad\xe8\x01"
_TAG_PAYLOADFORMAT = 1124
_TAG_PAYLOADCOMPRESSOR = 1125
_STRING = 6
_MAX_INDEX = 1 << 16
_MAX_STORE = 256 << 20  # rpm's own header size limit
# RPMTAG_PAYLOADCOMPRESSOR value -> our codec name
_CODECS = {"gzip": "gz", "bzip2": "bz2", "xz": "xz", "lzma": "lzma", "zstd": "zst", "identity": None}


def read_rpm_layout(fh: IO[bytes]) -> tuple[str | None, str]:
    """Leave fh at the payload; return (codec, payload format)."""
    lead = read_exact(fh, _LEAD, "rpm lead")
    if lead[:4] != b"\xed\xab\xee\xdb":
        raise ArchiveError("not an rpm package (bad lead magic)")
    _read_header(fh, "signature header", pad=True)
    tags = _read_header(fh, "header", pad=False)
    fmt = tags.get(_TAG_PAYLOADFORMAT, "cpio")
    compressor = tags.get(_TAG_PAYLOADCOMPRESSOR, "gzip")
    if compressor not in _CODECS:
        raise ArchiveError(f"rpm payload compressed with {compressor!r}, which is not supported")
    return _CODECS[compressor], fmt


def _read_header(fh: IO[bytes], what: str, *, pad: bool) -> dict[int, str]:
    intro = read_exact(fh, 16, f"rpm {what}")
    if intro[:4] != _HEADER_MAGIC:
        raise ArchiveError(f"corrupt rpm {what} (bad magic)")
    count, store_size = struct.unpack(">II", intro[8:16])
    if count > _MAX_INDEX or store_size > _MAX_STORE:
        raise ArchiveError(f"corrupt rpm {what} ({count} tags, {store_size} bytes)")
    index = read_exact(fh, 16 * count, f"rpm {what}")
    store = read_exact(fh, store_size, f"rpm {what}")
    if pad:
        read_exact(fh, (8 - store_size % 8) % 8, f"rpm {what} padding")
    strings: dict[int, str] = {}
    for i in range(count):
        tag, typ, offset, _ = struct.unpack(">IIII", index[16 * i : 16 * i + 16])
        if tag in (_TAG_PAYLOADFORMAT, _TAG_PAYLOADCOMPRESSOR) and typ == _STRING and offset < store_size:
            end = store.find(b"\x00", offset)
            strings[tag] = store[offset : end if end >= 0 else store_size].decode("ascii", "replace")
    return strings
