"""How much of an archive we are willing to read: nesting depth, member size, total bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass

GIB = 1 << 30
MIB = 1 << 20

_UNITS = {"": 1, "k": 1 << 10, "m": MIB, "g": GIB, "t": 1 << 40}


@dataclass(frozen=True)
class ArchiveLimits:
    depth: int = 1  # archives inside archives opened this many levels deep (0: not opened)
    max_member_size: int = 2 * GIB  # largest single member read (declared or actual)
    max_unpacked: int = 16 * GIB  # decompressed bytes read from one archive, nested ones included
    max_members: int = 1_000_000  # entries per archive; more is a denial of service, not a release
    in_memory: int = 64 * MIB  # ELF members up to this size are inspected in memory, larger via a temp file


def parse_size(text: str) -> int:
    """'2G', '512MiB', '1000' -> bytes; ValueError with a short reason otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*", text.strip().lower())
    if not m:
        raise ValueError(f"invalid size {text!r} (use e.g. 512M, 2G or a number of bytes)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def size_text(n: int) -> str:
    for unit, factor in (("TiB", 1 << 40), ("GiB", GIB), ("MiB", MIB), ("KiB", 1 << 10)):
        if n >= factor:
            value = n / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"
