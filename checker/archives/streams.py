"""Readable byte streams for archive parsing: decompressors, byte budgets, bounded views."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import IO, Any

from checker.archives.errors import ArchiveError, BudgetExceeded
from checker.archives.limits import size_text

# Compressed stream magic -> codec name (also the tar suffix: tar.gz, tar.xz, ...).
MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gz"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zst"),
)
CHUNK = 1 << 20


def codec_of(head: bytes) -> str | None:
    for magic, codec in MAGICS:
        if head.startswith(magic):
            return codec
    return None


def zstd_module() -> Any:
    """The zstd implementation: the `zstandard` package (a dependency), else the stdlib's
    `compression.zstd` (Python 3.14+); None if neither. Check `is_zstandard` before use: their APIs differ."""
    try:
        import zstandard

        return zstandard
    except ImportError:
        pass
    try:
        from compression import zstd  # type: ignore[import-not-found]

        return zstd
    except ImportError:
        return None


def is_zstandard(module: Any) -> bool:
    return getattr(module, "__name__", "") == "zstandard"


def decompressed(raw: IO[bytes], codec: str | None) -> IO[bytes]:
    """Wrap raw in a streaming decompressor (codec None: raw itself)."""
    if codec is None:
        return raw
    if codec == "gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if codec == "bz2":
        return bz2.BZ2File(raw)
    if codec in ("xz", "lzma"):
        return lzma.LZMAFile(raw)
    if codec == "zst":
        zstd = zstd_module()
        if zstd is None:
            raise ArchiveError("zstd-compressed, and no zstd support is installed (pip install zstandard)")
        if is_zstandard(zstd):
            return _StrictZstd(zstd, raw)
        return zstd.ZstdFile(raw)  # stdlib: reports a cut-off frame itself
    raise ArchiveError(f"unsupported compression {codec!r}")


class _StrictZstd(io.RawIOBase):
    """Streaming zstd via decompressobj, which (unlike zstandard's stream_reader) tells a cut-off
    frame from a finished one. Input is fed in small pieces so a bomb cannot balloon memory."""

    _FEED = 1024  # zstd peaks near 32768:1 (RLE blocks): 1 KiB in is at most ~32 MiB out

    def __init__(self, zstd: Any, raw: IO[bytes]) -> None:
        self._zstd = zstd
        self._raw = raw
        self._obj = zstd.ZstdDecompressor().decompressobj()
        self._pending = b""
        self._buf = b""
        self._pos = 0  # read position in _buf: slicing only what is returned keeps big buffers cheap
        self._started = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = CHUNK if size is None or size < 0 else size
        while len(self._buf) - self._pos < want and self._fill():
            pass
        out = self._buf[self._pos : self._pos + want]
        self._pos += len(out)
        return out

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def _fill(self) -> bool:
        """Decompress one more piece; False at the clean end of the stream."""
        if not self._pending:
            self._pending = self._raw.read(self._FEED)
            if not self._pending:
                if self._started and not self._obj.eof:
                    raise EOFError("zstd stream ended in the middle of a frame")
                return False
        if self._obj.eof:  # next frame
            self._obj = self._zstd.ZstdDecompressor().decompressobj()
        piece, self._pending = self._pending, b""
        self._started = True
        try:
            self._buf = self._buf[self._pos :] + self._obj.decompress(piece)
            self._pos = 0
        except self._zstd.ZstdError as exc:
            raise ArchiveError(f"corrupt zstd data ({exc})") from None
        if self._obj.eof:
            self._pending = self._obj.unused_data
            self._started = False
        return True


class Budget:
    """Counts decompressed bytes for one top-level archive (nested archives share it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise BudgetExceeded(f"stopped after {size_text(self.limit)} of unpacked data (--max-unpacked-size)")


class Metered(io.RawIOBase):
    """Passes reads through and charges them to a Budget."""

    def __init__(self, inner: IO[bytes], budget: Budget) -> None:
        self._inner = inner
        self._budget = budget

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size if size is not None and size >= 0 else CHUNK)
        self._budget.spend(len(data))
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


class Window(io.RawIOBase):
    """Exactly `length` bytes of a stream from its current position (ar/cpio member data)."""

    def __init__(self, inner: IO[bytes], length: int, what: str) -> None:
        self._inner = inner
        self.left = length
        self._what = what

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = self.left if size is None or size < 0 else min(size, self.left)
        if want <= 0:
            return b""
        data = self._inner.read(want)
        if not data:
            raise EOFError(f"unexpected end of data in {self._what}")
        self.left -= len(data)
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        while self.left > 0:
            self.read(min(self.left, CHUNK))


def read_exact(stream: IO[bytes], n: int, what: str) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError(f"unexpected end of data in {what}")
        data += chunk
    return data
