"""Symbol-version names such as GLIBC_2.34 or OPENSSL_3.0.0: split and compare numerically."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

# Namespace = everything up to the last "_" that is followed by a dotted number.
_VERSIONED = re.compile(r"^(?P<ns>.+)_(?P<ver>\d+(?:\.\d+)*)$")


class VersionName(NamedTuple):
    namespace: str
    version: tuple[int, ...]


@lru_cache(maxsize=4096)  # a run sees the same few hundred names in thousands of files
def parse_version_name(name: str) -> VersionName | None:
    """Return (namespace, numeric version) or None for non-numeric names like GLIBC_PRIVATE."""
    m = _VERSIONED.match(name)
    if not m:
        return None
    return VersionName(m.group("ns"), tuple(int(p) for p in m.group("ver").split(".")))


@lru_cache(maxsize=4096)
def parse_version(text: str) -> tuple[int, ...]:
    """Parse a user-given version like '2.17'; raise ValueError with the text on bad input."""
    text = text.strip()
    if not re.fullmatch(r"\d+(?:\.\d+)*", text):
        raise ValueError(f"not a dotted version number: {text!r}")
    return tuple(int(p) for p in text.split("."))


@lru_cache(maxsize=4096)  # called per file and finding with the same few hundred versions
def version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)


@lru_cache(maxsize=4096)
def vkey(version: tuple[int, ...]) -> tuple[int, ...]:
    """Comparison key that treats 3.0 and 3.0.0 as equal."""
    end = len(version)
    while end > 1 and version[end - 1] == 0:
        end -= 1
    return version[:end]
