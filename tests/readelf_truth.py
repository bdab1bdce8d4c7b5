"""Facts about an ELF file as GNU readelf reports them: the independent oracle for tests.

The checker parses ELF itself; tests compare its answers with what binutils says,
so this module must never import from `checker`.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["NotElfError", "ReadelfError", "readelf", "truth"]


class ReadelfError(RuntimeError):
    """readelf is missing or failed on the file."""


class NotElfError(ReadelfError):
    """The file is not an ELF object, so there are no facts to report."""


@functools.cache
def _readelf_binary() -> str:
    exe = shutil.which("readelf")
    if exe is None:
        raise ReadelfError("readelf not found on PATH (install binutils)")
    return exe


def readelf(path: str | os.PathLike[str], *options: str) -> str:
    """Run `readelf -W <options> path` in the C locale and return its stdout."""
    env = dict(os.environ, LC_ALL="C", LANG="C")
    proc = subprocess.run(
        [_readelf_binary(), "-W", *options, os.fspath(path)],
        capture_output=True,
        text=True,
        errors="replace",
        env=env,
        check=False,
    )
    if "Not an ELF file" in proc.stderr or "not an ELF file" in proc.stderr:
        raise NotElfError(f"{path}: not an ELF file")
    if proc.returncode != 0:
        raise ReadelfError(f"readelf {' '.join(options)} {path} failed: {proc.stderr.strip()}")
    return proc.stdout


def _header_field(text: str, field: str) -> str:
    m = re.search(rf"^\s+{re.escape(field)}:\s+(.*?)\s*$", text, re.M)
    if m is None:
        raise ReadelfError(f"readelf -h output has no {field!r} line")
    return m.group(1)


def _parse_header(text: str) -> dict[str, Any]:
    elf_class = _header_field(text, "Class")
    data = _header_field(text, "Data")
    return {
        "class": 64 if elf_class == "ELF64" else 32,
        "endianness": "big" if "big endian" in data else "little",
        "machine": _header_field(text, "Machine"),
        "e_type": _header_field(text, "Type").split()[0],
        "has_section_headers": int(_header_field(text, "Number of section headers").split()[0]) > 0,
    }


# "  [ 1] .interp  PROGBITS ..." — the name is empty for the NULL entry.
_SECTION_LINE = re.compile(r"^\s*\[\s*\d+\]\s(.{0,})$")


def _parse_section_types(text: str) -> list[tuple[str, str]]:
    """Return (name, type) for each section header line."""
    out = []
    for line in text.splitlines():
        m = _SECTION_LINE.match(line)
        if not m:
            continue
        fields = m.group(1).split()
        if not fields:
            continue
        if fields[0] == "NULL":
            out.append(("", "NULL"))
        elif len(fields) >= 2:
            out.append((fields[0], fields[1]))
    return out


def _parse_interpreter(text: str) -> str | None:
    m = re.search(r"\[Requesting program interpreter: (.*)\]", text)
    return m.group(1) if m else None


def _bracketed(line: str) -> str:
    m = re.search(r"\[(.*)\]\s*$", line)
    return m.group(1) if m else ""


def _parse_dynamic(text: str) -> dict[str, Any]:
    needed: list[str] = []
    soname: str | None = None
    rpath: list[str] = []
    runpath: list[str] = []
    flags_1: list[str] = []
    for line in text.splitlines():
        m = re.match(r"^\s*0x[0-9a-fA-F]+\s+\((\w+)\)\s+(.*)$", line)
        if not m:
            continue
        tag, value = m.groups()
        if tag == "NEEDED":
            needed.append(_bracketed(value))
        elif tag == "SONAME":
            soname = _bracketed(value)
        elif tag == "RPATH":
            rpath.extend(_bracketed(value).split(":"))
        elif tag == "RUNPATH":
            runpath.extend(_bracketed(value).split(":"))
        elif tag == "FLAGS_1":
            flags_1.extend(value.removeprefix("Flags:").split())
    return {
        "needed": needed,
        "soname": soname,
        "rpath": rpath,
        "runpath": runpath,
        "flags_1": flags_1,
    }


def _parse_version_needs(text: str) -> dict[str, list[str]]:
    """Collect `File:` entries and their `Name:` lines from the .gnu.version_r block only."""
    needs: dict[str, set[str]] = {}
    in_needs = False
    current: str | None = None
    for line in text.splitlines():
        if line and not line[0].isspace():
            in_needs = line.startswith("Version needs section")
            current = None
            continue
        if not in_needs:
            continue
        m = re.search(r"\bFile: (\S+)", line)
        if m:
            current = m.group(1)
            needs.setdefault(current, set())
            continue
        m = re.search(r"\bName: (\S+)\s+Flags:", line)
        if m and current is not None:
            needs[current].add(m.group(1))
    return {k: sorted(v) for k, v in needs.items()}


# "  1: 0000000000000000  0 FUNC GLOBAL DEFAULT UND fcntl64@GLIBC_2.28 (3)"
# Vis may carry a bracketed extra such as "[<localentry>: 8]" on some machines.
_SYMBOL_LINE = re.compile(
    r"^\s*\d+:\s+\S+\s+\S+\s+(?P<type>\S+)\s+(?P<bind>\S+)\s+(?P<vis>\S+)"
    r"(?:\s+\[[^\]]*\])?\s+(?P<ndx>\S+)\s+(?P<name>\S.*?)\s*$"
)


def split_versioned_name(field: str) -> tuple[str, str | None]:
    """Split readelf's `name@VER (n)` / `name@@VER` into (name, VER); VER is None if absent."""
    field = re.sub(r"\s+\(\d+\)$", "", field.strip())
    name, sep, version = field.partition("@")
    if not sep:
        return name, None
    return name, version.lstrip("@") or None


def _parse_undefined_versioned(text: str) -> dict[str, list[str]]:
    by_version: dict[str, set[str]] = {}
    for line in text.splitlines():
        m = _SYMBOL_LINE.match(line)
        if not m or m.group("ndx") != "UND":
            continue
        name, version = split_versioned_name(m.group("name"))
        if name and version:
            by_version.setdefault(version, set()).add(name)
    return {k: sorted(v) for k, v in sorted(by_version.items())}


def _parse_version_bound(text: str) -> dict[str, list[str]]:
    """Symbols bound to a *needed* version: undefined ones, plus definitions that readelf marks with the
    needed version's index, `name@VER (n)` (copy-relocated data such as `__rseq_size@GLIBC_2.35 (4)`,
    `_ZSt4cout@GLIBCXX_3.4 (2)`); a library's own definitions (`name@@VER`) are left out."""
    by_version: dict[str, set[str]] = {}
    for line in text.splitlines():
        m = _SYMBOL_LINE.match(line)
        if not m or (m.group("ndx") != "UND" and not re.search(r"@[^@\s]+ \(\d+\)$", m.group("name"))):
            continue
        name, version = split_versioned_name(m.group("name"))
        if name and version:
            by_version.setdefault(version, set()).add(name)
    return {k: sorted(v) for k, v in sorted(by_version.items())}


def _parse_abi_tag(text: str) -> str | None:
    m = re.search(r"NT_GNU_ABI_TAG.*?OS: \w+, ABI: (\d+(?:\.\d+)*)", text, re.S)
    return m.group(1) if m else None


def truth(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return readelf's view of `path` as plain data (see module docstring for the keys).

    Without section headers readelf cannot show .gnu.version_r, so `version_needs`
    is then empty and undefined symbols come from the dynamic segment (`-D -s`).
    """
    p = Path(path)
    with p.open("rb") as fh:
        if fh.read(4) != b"\x7fELF":
            raise NotElfError(f"{p}: not an ELF file")
    facts = _parse_header(readelf(p, "-h"))
    sections = _parse_section_types(readelf(p, "-S")) if facts["has_section_headers"] else []
    facts["has_symtab"] = any(t == "SYMTAB" for _, t in sections)
    facts["interpreter"] = _parse_interpreter(readelf(p, "-l"))
    facts.update(_parse_dynamic(readelf(p, "-d")))
    facts["version_needs"] = _parse_version_needs(readelf(p, "-V"))
    syms = readelf(p, "--dyn-syms") if facts["has_section_headers"] else readelf(p, "-D", "-s")
    facts["undefined_versioned"] = _parse_undefined_versioned(syms)
    facts["version_bound"] = _parse_version_bound(syms)
    facts["abi_tag_kernel"] = _parse_abi_tag(readelf(p, "-n"))
    return facts


if __name__ == "__main__":
    import json
    import sys

    for arg in sys.argv[1:]:
        print(json.dumps({arg: truth(arg)}, indent=2))
