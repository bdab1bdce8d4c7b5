"""One archive entry as every reader yields it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Literal

Kind = Literal["file", "dir", "symlink", "hardlink", "other"]


@dataclass
class Entry:
    name: str  # as stored in the archive
    kind: Kind
    size: int  # declared size of the data
    link: str = ""  # symlink target, or the member a hard link refers to
    stream: IO[bytes] | None = None  # file data; valid only until the reader moves on
    problem: str | None = None  # why the member cannot be read (e.g. encrypted)
