"""Bounded access to an ELF file for the pyelftools reader.

pyelftools trusts the offsets and counts it finds: a claimed 2**40-byte table, a string
without a NUL or a header past the end of the file makes it read far, allocate a lot or
loop for a long time. Everything the reader walks goes through these helpers first, so a
hostile or truncated file fails fast with a one-line ElfParseError instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO

from elftools.common.utils import struct_parse

from checker.inspect.raw import ElfParseError

MAX_STRING = 64 * 1024  # longest symbol/library name accepted; real ones are far shorter
_CHUNK = 4096
SHN_XINDEX = 0xFFFF
PN_XNUM = 0xFFFF


@dataclass
class Section:
    index: int
    name: str
    header: Any  # pyelftools Elf_Shdr container

    @property
    def type(self) -> str:
        return str(self.header["sh_type"])

    @property
    def has_data(self) -> bool:
        return self.type != "SHT_NOBITS" and self.header["sh_size"] > 0


@dataclass
class Layout:
    """Headers of one file, all checked to lie inside it."""

    size: int
    segments: list[Any] = field(default_factory=list)  # Elf_Phdr containers
    sections: list[Section] = field(default_factory=list)


def truncated(what: str, offset: int, length: int, size: int) -> ElfParseError:
    return ElfParseError(
        f"truncated or corrupt ELF: {what} (offset {offset:#x}, {length} bytes) extends past the end of the file ({size} bytes)"
    )


def check_range(what: str, offset: int, length: int, size: int) -> None:
    if offset < 0 or length < 0 or offset + length > size:
        raise truncated(what, offset, length, size)


def read_at(stream: BinaryIO, offset: int, length: int, size: int, what: str) -> bytes:
    """Read exactly `length` bytes inside the file, or raise."""
    check_range(what, offset, length, size)
    stream.seek(offset)
    data = stream.read(length)
    if len(data) != length:
        raise truncated(what, offset, length, size)
    return data


def parse_at(struct: Any, stream: BinaryIO, offset: int, size: int, what: str) -> Any:
    check_range(what, offset, struct.sizeof(), size)
    return struct_parse(struct, stream, stream_pos=offset)


def string_at(stream: BinaryIO, table: tuple[int, int], index: int, what: str) -> str:
    """NUL-terminated string at `index` of a string table (offset, size); never reads past the table."""
    start, length = table
    if index >= length:
        raise ElfParseError(f"corrupt ELF: {what} name offset {index} is outside its string table ({length} bytes)")
    pos, end = start + index, start + min(length, index + MAX_STRING)
    parts: list[bytes] = []
    while pos < end:
        stream.seek(pos)
        chunk = stream.read(min(_CHUNK, end - pos))
        if not chunk:
            break
        nul = chunk.find(b"\0")
        if nul >= 0:
            parts.append(chunk[:nul])
            return b"".join(parts).decode("utf-8", "replace")
        parts.append(chunk)
        pos += len(chunk)
    raise ElfParseError(f"corrupt ELF: unterminated string in the string table of {what}")


def check_layout(elf: Any, size: int) -> Layout:
    """Validate the program and section header tables and return them parsed."""
    hdr = elf.header
    layout = Layout(size)
    section0 = None
    shnum = 0
    if hdr["e_shoff"]:
        shdr = elf.structs.Elf_Shdr
        if hdr["e_shentsize"] != shdr.sizeof():
            raise ElfParseError(f"corrupt ELF: section header size {hdr['e_shentsize']}, expected {shdr.sizeof()}")
        section0 = parse_at(shdr, elf.stream, hdr["e_shoff"], size, "section header table")
        shnum = hdr["e_shnum"] or section0["sh_size"]  # extended numbering keeps the count in section 0
        check_range(f"section header table ({shnum} entries)", hdr["e_shoff"], shnum * shdr.sizeof(), size)
    phnum = hdr["e_phnum"]
    if phnum == PN_XNUM and section0 is not None:
        phnum = section0["sh_info"]
    if phnum:
        phdr = elf.structs.Elf_Phdr
        if hdr["e_phentsize"] != phdr.sizeof():
            raise ElfParseError(f"corrupt ELF: program header size {hdr['e_phentsize']}, expected {phdr.sizeof()}")
        check_range(f"program header table ({phnum} entries)", hdr["e_phoff"], phnum * phdr.sizeof(), size)
        layout.segments = [struct_parse(phdr, elf.stream, stream_pos=hdr["e_phoff"] + i * phdr.sizeof()) for i in range(phnum)]
    if shnum:
        layout.sections = _sections(elf, size, shnum, section0)
    return layout


def _sections(elf: Any, size: int, shnum: int, section0: Any) -> list[Section]:
    hdr, shdr = elf.header, elf.structs.Elf_Shdr
    headers = [struct_parse(shdr, elf.stream, stream_pos=hdr["e_shoff"] + i * shdr.sizeof()) for i in range(shnum)]
    for i, h in enumerate(headers):
        if h["sh_type"] != "SHT_NOBITS" and h["sh_size"]:
            check_range(f"section [{i}]", h["sh_offset"], h["sh_size"], size)
    strndx = section0["sh_link"] if hdr["e_shstrndx"] == SHN_XINDEX else hdr["e_shstrndx"]
    names_table: tuple[int, int] | None = None
    if strndx:
        if strndx >= shnum or headers[strndx]["sh_type"] != "SHT_STRTAB":
            raise ElfParseError(f"corrupt ELF: section name table index {strndx} is not a string table")
        names_table = (headers[strndx]["sh_offset"], headers[strndx]["sh_size"])
    out = []
    for i, h in enumerate(headers):
        name = string_at(elf.stream, names_table, h["sh_name"], f"section [{i}]") if names_table and i else ""
        out.append(Section(i, name, h))
    return out


def linked_strtab(layout: Layout, section: Section) -> tuple[int, int]:
    """(offset, size) of the string table a section's sh_link points to."""
    link = section.header["sh_link"]
    if not 0 < link < len(layout.sections) or link == section.index:
        raise ElfParseError(f"corrupt ELF: {section.name or section.index} links to section {link}, not a string table")
    target = layout.sections[link]
    if target.type != "SHT_STRTAB" or not target.has_data:
        raise ElfParseError(f"corrupt ELF: {section.name or section.index} links to {target.name or link}, not a string table")
    return target.header["sh_offset"], target.header["sh_size"]
