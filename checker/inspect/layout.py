"""Just enough ELF layout for byte-level inspectors: load segments and named sections.

The tables RawElf holds are about linking; inspectors that read data (Go build info,
symbol names, UPX headers) need file offsets and address mapping instead. Every read is
bounded by the file size, and a corrupt table yields fewer entries, never an exception.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field

PT_LOAD = 1
SHT_NOBITS = 8
_MAX_ENTRIES = 65535


@dataclass(frozen=True)
class Segment:
    type: int
    offset: int
    vaddr: int
    filesz: int


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    offset: int
    size: int
    addr: int
    flags: int = 0  # sh_flags (SHF_ALLOC, SHF_EXECINSTR, ...)


@dataclass
class Layout:
    elf_class: int
    little_endian: bool
    segments: list[Segment] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def section_bytes(self, data: bytes | mmap.mmap, name: str) -> bytes | None:
        sec = self.section(name)
        if sec is None or sec.type == SHT_NOBITS or sec.offset + sec.size > len(data):
            return None
        return data[sec.offset : sec.offset + sec.size]

    def offset_of(self, vaddr: int) -> int | None:
        """File offset of a virtual address inside a loaded segment's file bytes."""
        for seg in self.segments:
            if seg.type == PT_LOAD and seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
                return seg.offset + (vaddr - seg.vaddr)
        return None


def read_layout(data: bytes | mmap.mmap) -> Layout | None:
    """Parse the program and section headers; None when the ELF header itself is unusable."""
    if len(data) < 52 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    is64 = data[4] == 2
    order = "<" if data[5] == 1 else ">"
    layout = Layout(elf_class=64 if is64 else 32, little_endian=order == "<")
    try:
        if is64:
            phoff, shoff = struct.unpack_from(order + "QQ", data, 0x20)
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(order + "HHHHH", data, 0x36)
        else:
            phoff, shoff = struct.unpack_from(order + "II", data, 0x1C)
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(order + "HHHHH", data, 0x2A)
    except struct.error:
        return None
    layout.segments = _segments(data, order, is64, phoff, phentsize, phnum)
    layout.sections = _sections(data, order, is64, shoff, shentsize, shnum, shstrndx)
    return layout


def _segments(data: bytes | mmap.mmap, order: str, is64: bool, off: int, entsize: int, num: int) -> list[Segment]:
    fmt, size = (order + "IIQQQQ", 40) if is64 else (order + "IIIIII", 24)
    out = []
    if entsize < size:
        return out
    for i in range(min(num, _MAX_ENTRIES)):
        pos = off + i * entsize
        if pos + size > len(data):
            break
        if is64:
            ptype, _flags, offset, vaddr, _paddr, filesz = struct.unpack_from(fmt, data, pos)
        else:
            ptype, offset, vaddr, _paddr, filesz, _memsz = struct.unpack_from(fmt, data, pos)
        out.append(Segment(ptype, offset, vaddr, filesz))
    return out


def _sections(data: bytes | mmap.mmap, order: str, is64: bool, off: int, entsize: int, num: int, strndx: int) -> list[Section]:
    fmt, size = (order + "IIQQQQ", 40) if is64 else (order + "IIIIII", 24)
    if off == 0 or entsize < size:
        return []
    raw = []
    for i in range(min(num, _MAX_ENTRIES)):
        pos = off + i * entsize
        if pos + size > len(data):
            break
        name, stype, flags, addr, offset, sz = struct.unpack_from(fmt, data, pos)
        raw.append((name, stype, offset, sz, addr, flags))
    names = b""
    if 0 <= strndx < len(raw):
        _, _, soff, ssz, _, _ = raw[strndx]
        names = data[soff : soff + ssz] if soff + ssz <= len(data) else b""
    out = []
    for name_off, stype, offset, sz, addr, flags in raw:
        end = names.find(b"\0", name_off) if name_off < len(names) else -1
        name = names[name_off:end].decode("latin-1") if end >= 0 else ""
        out.append(Section(name, stype, offset, sz, addr, flags))
    return out


def symtab_names(data: bytes | mmap.mmap, layout: Layout, wanted: tuple[str, ...]) -> list[str]:
    """Which of `wanted` name a symbol in .symtab (in `wanted` order).

    Linkers share string tails in .strtab ("getaddrinfo" may be the end of
    "__getaddrinfo"), so names are matched through the symbols' st_name offsets.
    """
    symtab = layout.section(".symtab")
    strtab = layout.section_bytes(data, ".strtab")
    if symtab is None or not strtab or symtab.offset + symtab.size > len(data):
        return []
    entsize = 24 if layout.elf_class == 64 else 16
    count = symtab.size // entsize
    order = "<" if layout.little_endian else ">"
    table = data[symtab.offset : symtab.offset + count * entsize]
    # st_name is the first 4-byte field in both classes; the rest of the entry is skipped.
    offsets = {entry[0] for entry in struct.iter_unpack(f"{order}I{entsize - 4}x", table)}
    found = []
    for name in wanted:
        needle = name.encode() + b"\0"
        pos = strtab.find(needle)
        while pos >= 0:
            if pos in offsets:
                found.append(name)
                break
            pos = strtab.find(needle, pos + 1)
    return found
