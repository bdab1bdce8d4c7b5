"""Go build info (what `go version -m` prints), read from the file without running Go.

The Go linker writes a 32-byte header starting with "\\xff Go buildinf:" into .go.buildinfo
(or the data segment when section headers are gone). Byte 14 is the pointer size, byte 15
the flags: bit 0 big-endian, bit 1 "strings inline". Go >= 1.18 stores the Go version and
the module info inline after the header as uvarint-length strings; older releases store two
pointers to Go string headers (data pointer, length) that we follow through the load segments.
"""

from __future__ import annotations

import mmap
import re
from typing import Any

from checker.inspect.layout import Layout, read_layout
from checker.inspect.raw import RawElf
from checker.inspect.scan import FileScan
from checker.models import ElfFacts

BUILDINFO_MAGIC = b"\xff Go buildinf:"
_HEADER_SIZE = 32
_FLAG_BIG_ENDIAN = 0x1
_FLAG_INLINE = 0x2
_MAX_STRING = 1 << 20  # module info of a huge program is a few hundred KiB
# Runtime function names live in .gopclntab, which the program needs at run time, so they
# survive stripping of symbols and of the build info.
_RUNTIME_NAMES = (b"runtime.goexit", b"runtime.morestack")
_GO_SECTIONS = (".go.buildinfo", ".gopclntab", ".note.go.buildid", ".gosymtab")
_VERSION = re.compile(r"(go\d[\w.+-]*|devel [ -~]+)")  # "go1.22.1", "devel go1.23-abc123 ..."
_LIBGO = re.compile(r"^libgo\.so(\.\d+)*$")


def inspect_go(raw: RawElf, facts: ElfFacts, data: bytes | mmap.mmap, path: str, scan: FileScan) -> dict[str, Any]:
    return {"go": go_info_once(scan)}


def go_info_once(scan: FileScan) -> dict[str, Any] | None:
    """go_info of the scanned file, computed once (the libc inspector may have asked already)."""
    return scan.memo("go", lambda: go_info(scan.raw, scan.data))


def go_info(raw: RawElf, data: bytes | mmap.mmap) -> dict[str, Any] | None:
    """The `go` JSON object, or None for files that are not Go programs."""
    evidence: list[str] = []
    gccgo = next((lib for lib in raw.needed if _LIBGO.match(lib)), None)
    if gccgo:
        evidence.append(f"NEEDED {gccgo} (gccgo runtime)")
    evidence += [f"section {name}" for name in _GO_SECTIONS if name in raw.section_names]
    if raw.has_section_headers and not evidence:
        return None  # the gc linker always writes .gopclntab and .go.buildinfo; no need to scan
    layout = read_layout(data)
    header_at = _find_header(data, layout)
    text = None
    if header_at is not None:
        evidence.append("build info header '\\xff Go buildinf:'")
        text = _read_build_info(data, layout, header_at)
    if not evidence and all(data.find(name) >= 0 for name in _RUNTIME_NAMES):
        evidence.append("Go runtime function names (" + ", ".join(n.decode() for n in _RUNTIME_NAMES) + ")")
    if not evidence:
        return None
    if text and not _VERSION.fullmatch(text[0]):
        evidence.append("build info unreadable (damaged or from an unknown Go release)")
        text = None
    version, modinfo = text if text else (None, "")
    info = parse_modinfo(modinfo)
    build = info["build"]
    cgo = build.get("CGO_ENABLED")
    tags = build.get("-tags")
    return {
        "toolchain": "gccgo" if gccgo or build.get("-compiler") == "gccgo" else "gc",
        "version": version or None,
        "build_info": bool(version),
        "path": info["path"],
        "main": info["main"],
        "cgo_enabled": True if cgo == "1" else False if cgo == "0" else None,
        "tags": [t for t in re.split(r"[ ,]", tags) if t] if tags else [],
        "ldflags": build.get("-ldflags"),
        "goos": build.get("GOOS"),
        "goarch": build.get("GOARCH"),
        "buildmode": build.get("-buildmode"),
        "build": build,
        "deps": info["deps"],
        "evidence": evidence,
    }


def _find_header(data: bytes | mmap.mmap, layout: Layout | None) -> int | None:
    sec = layout.section(".go.buildinfo") if layout else None
    if sec and data[sec.offset : sec.offset + len(BUILDINFO_MAGIC)] == BUILDINFO_MAGIC:
        return sec.offset
    pos = data.find(BUILDINFO_MAGIC)
    while pos >= 0:
        # The linker aligns the header to 16 bytes; other hits are strings that quote it.
        if pos % 16 == 0 and pos + _HEADER_SIZE <= len(data):
            return pos
        pos = data.find(BUILDINFO_MAGIC, pos + 1)
    return None


def _read_build_info(data: bytes | mmap.mmap, layout: Layout | None, at: int) -> tuple[str, str] | None:
    if at + _HEADER_SIZE > len(data):
        return None  # truncated header
    ptr_size, flags = data[at + 14], data[at + 15]
    if flags & _FLAG_INLINE:
        version, pos = _varint_string(data, at + _HEADER_SIZE)
        if version is None:
            return None
        modinfo, _ = _varint_string(data, pos)
        return version, _strip_sentinels(modinfo or "")
    if ptr_size not in (4, 8) or layout is None:
        return None
    order = "big" if flags & _FLAG_BIG_ENDIAN else "little"
    version = _pointed_string(data, layout, _read_ptr(data, at + 16, ptr_size, order), ptr_size, order)
    modinfo = _pointed_string(data, layout, _read_ptr(data, at + 16 + ptr_size, ptr_size, order), ptr_size, order)
    if version is None or not version:  # the header is there but zeroed (build info removed)
        return None
    return version, _strip_sentinels(modinfo or "")


def _read_ptr(data: bytes | mmap.mmap, at: int, size: int, order: str) -> int | None:
    if at + size > len(data):
        return None
    return int.from_bytes(data[at : at + size], order)  # type: ignore[arg-type]


def _pointed_string(data: bytes | mmap.mmap, layout: Layout, header_addr: int | None, ptr_size: int, order: str) -> str | None:
    """Follow a pointer to a Go string header {data, len} and read the bytes."""
    if not header_addr:
        return None
    at = layout.offset_of(header_addr)
    if at is None:
        return None
    str_addr, length = _read_ptr(data, at, ptr_size, order), _read_ptr(data, at + ptr_size, ptr_size, order)
    if str_addr is None or length is None or length > _MAX_STRING:
        return None
    start = layout.offset_of(str_addr)
    if start is None or start + length > len(data):
        return None
    return bytes(data[start : start + length]).decode("utf-8", "replace")


def _varint_string(data: bytes | mmap.mmap, pos: int) -> tuple[str | None, int]:
    length = shift = 0
    for _ in range(10):
        if pos >= len(data):
            return None, pos
        byte = data[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    if length > _MAX_STRING or pos + length > len(data):
        return None, pos
    return bytes(data[pos : pos + length]).decode("utf-8", "replace"), pos + length


def _strip_sentinels(modinfo: str) -> str:
    # Module info is framed by two 16-byte sentinels (cmd/go/internal/modload); the text
    # before the closing one ends with a newline.
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        return modinfo[16:-16]
    return modinfo


def parse_modinfo(text: str) -> dict[str, Any]:
    """Parse the `go version -m` lines: path, mod, dep, =>, build."""
    out: dict[str, Any] = {"path": None, "main": None, "deps": [], "build": {}}
    last_dep: dict[str, Any] | None = None
    for line in text.splitlines():
        fields = line.split("\t")
        kind = fields[0]
        if kind == "path" and len(fields) >= 2:
            out["path"] = fields[1]
        elif kind == "mod" and len(fields) >= 3:
            out["main"] = _module(fields)
        elif kind == "dep" and len(fields) >= 3:
            last_dep = _module(fields)
            out["deps"].append(last_dep)
        elif kind == "=>" and len(fields) >= 3 and last_dep is not None:
            last_dep["replace"] = _module(fields)
        elif kind == "build" and len(fields) >= 2:
            key, value = _build_setting("\t".join(fields[1:]))
            if key:
                out["build"][key] = value
    return out


def _module(fields: list[str]) -> dict[str, Any]:
    return {"path": fields[1], "version": fields[2] or None, "sum": fields[3] if len(fields) > 3 and fields[3] else None}


def _build_setting(item: str) -> tuple[str, str]:
    """'KEY=VALUE' where key and value may be Go-quoted (strconv.Quote) when they hold spaces."""
    if item.startswith('"'):
        key, rest = _go_unquote_prefix(item)
        value = rest[1:] if rest.startswith("=") else ""
    else:
        key, _, value = item.partition("=")
    if value.startswith('"'):
        value, _ = _go_unquote_prefix(value)
    return key, value


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"', "'": "'"}


def _go_unquote_prefix(text: str) -> tuple[str, str]:
    """Decode a leading Go double-quoted string; return (value, rest after the closing quote)."""
    out: list[str] = []
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), text[i + 1 :]
        if ch != "\\" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        esc = text[i + 1]
        width = {"x": 2, "u": 4, "U": 8}.get(esc)
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
            i += 2
        elif width and re.fullmatch(r"[0-9a-fA-F]+", text[i + 2 : i + 2 + width] or "-"):
            out.append(chr(int(text[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        elif re.fullmatch(r"[0-7]{3}", text[i + 1 : i + 4]):
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(esc)
            i += 2
    return "".join(out), ""
