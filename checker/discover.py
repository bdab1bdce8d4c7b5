"""Expand command-line paths, directories and globs into the files to check."""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Candidate:
    path: str  # as shown to the user
    problem: str | None = None  # set when the path cannot be checked at all (missing, broken link)
    skip: str | None = None  # set when the path is deliberately not checked (e.g. symlink in a tree)


def discover(patterns: list[str]) -> list[Candidate]:
    """Return candidates in a stable order, each path once."""
    seen: set[str] = set()
    out: list[Candidate] = []

    def add(cand: Candidate) -> None:
        if cand.path not in seen:
            seen.add(cand.path)
            out.append(cand)

    for pattern in patterns:
        matches = sorted(glob.glob(pattern, recursive=True)) if _GLOB_CHARS & set(pattern) else []
        if matches:
            for match in matches:
                _add_path(match, add, from_glob=True)
        elif _GLOB_CHARS & set(pattern) and not os.path.lexists(pattern):
            continue  # a glob that matches nothing adds nothing (exit 2 if nothing at all matched)
        else:
            _add_path(pattern, add, from_glob=False)
    return out


def _add_path(path: str, add: Callable[[Candidate], None], *, from_glob: bool) -> None:
    if os.path.islink(path) and not os.path.exists(path):
        add(Candidate(path, problem="broken symbolic link"))
    elif os.path.isdir(path):
        for file in _walk(path):
            add(file)
    elif os.path.isfile(path):
        add(Candidate(path))
    elif os.path.exists(path):
        add(Candidate(path, skip=f"not a regular file ({_kind(path)})"))
    elif not from_glob:
        add(Candidate(path, problem="no such file or directory"))


def _walk(root: str) -> list[Candidate]:
    """Files under root, directory by directory (pre-order, names sorted), symlinks listed not followed.

    Uses os.scandir's entries directly: their type comes with the directory listing, so a tree of
    thousands of regular files costs no stat call per file.
    """
    found: list[Candidate] = []
    stack = [root]
    while stack:
        dirpath = stack.pop()
        try:
            with os.scandir(dirpath) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as err:
            found.append(Candidate(err.filename or dirpath, problem=f"cannot read directory ({err.strerror})"))
            continue
        subdirs, linked_dirs, files = [], [], []
        for entry in entries:
            if not _is_dir(entry):
                files.append(entry)
            elif entry.is_symlink():
                linked_dirs.append(entry)  # listed as a skipped link, never entered
            else:
                subdirs.append(entry.path)
        for entry in files + linked_dirs:
            full = entry.path
            if entry.is_symlink():
                target = os.readlink(full)
                if not os.path.exists(full):
                    found.append(Candidate(full, problem=f"broken symbolic link (-> {target})"))
                else:
                    found.append(Candidate(full, skip=f"symbolic link (-> {target})"))
            elif entry.is_file():
                found.append(Candidate(full))
            else:
                found.append(Candidate(full, skip=f"not a regular file ({_kind(full)})"))
        stack.extend(reversed(subdirs))
    return found


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows a symlink, as os.walk does when it sorts names into dirs and files
    except OSError:
        return False


def _kind(path: str) -> str:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "unknown"
    kinds = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))
    return next((name for test, name in kinds if test(mode)), "special file")
