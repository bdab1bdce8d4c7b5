"""Patch fields of a real ELF image to make hostile test inputs.

Deliberately independent of `checker`: it locates headers with `struct` from the ELF
specification, so a bug in the checker's parser cannot hide in the test input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# (format char, offset in ELF32 header, offset in ELF64 header)
EHDR = {
    "e_type": ("H", 16, 16),
    "e_phoff": ("I/Q", 28, 32),
    "e_shoff": ("I/Q", 32, 40),
    "e_phentsize": ("H", 42, 54),
    "e_phnum": ("H", 44, 56),
    "e_shentsize": ("H", 46, 58),
    "e_shnum": ("H", 48, 60),
    "e_shstrndx": ("H", 50, 62),
}
# Section header fields: (fmt, offset32, offset64)
SHDR = {
    "sh_name": ("I", 0, 0),
    "sh_type": ("I", 4, 4),
    "sh_offset": ("I/Q", 16, 24),
    "sh_size": ("I/Q", 20, 32),
    "sh_link": ("I", 24, 40),
    "sh_info": ("I", 28, 44),
    "sh_entsize": ("I/Q", 36, 56),
}
PHDR = {
    "p_type": ("I", 0, 0),
    "p_offset": ("I/Q", 4, 8),
    "p_filesz": ("I/Q", 16, 32),
}
PT_INTERP, PT_DYNAMIC, PT_NOTE = 3, 2, 4


@dataclass
class Elf:
    data: bytearray

    @property
    def is64(self) -> bool:
        return self.data[4] == 2

    @property
    def order(self) -> str:
        return "<" if self.data[5] == 1 else ">"

    def _fmt(self, spec: str) -> str:
        return self.order + (spec.split("/")[1 if self.is64 else 0] if "/" in spec else spec)

    def get(self, table: dict, base: int, field: str) -> int:
        spec, off32, off64 = table[field]
        return struct.unpack_from(self._fmt(spec), self.data, base + (off64 if self.is64 else off32))[0]

    def put(self, table: dict, base: int, field: str, value: int) -> None:
        spec, off32, off64 = table[field]
        struct.pack_into(self._fmt(spec), self.data, base + (off64 if self.is64 else off32), value)

    # ---- ELF header
    def header(self, field: str) -> int:
        return self.get(EHDR, 0, field)

    def set_header(self, field: str, value: int) -> None:
        self.put(EHDR, 0, field, value)

    # ---- sections
    def section_base(self, index: int) -> int:
        return self.header("e_shoff") + index * self.header("e_shentsize")

    def section_names(self) -> list[str]:
        strtab = self.section_base(self.header("e_shstrndx"))
        table = self.get(SHDR, strtab, "sh_offset")
        names = []
        for i in range(self.header("e_shnum")):
            start = table + self.get(SHDR, self.section_base(i), "sh_name")
            names.append(self.data[start : self.data.index(b"\0", start)].decode())
        return names

    def section(self, name: str) -> int:
        return self.section_names().index(name)

    def sfield(self, name: str, field: str) -> int:
        return self.get(SHDR, self.section_base(self.section(name)), field)

    def set_sfield(self, name: str, field: str, value: int) -> None:
        self.put(SHDR, self.section_base(self.section(name)), field, value)

    def section_bytes(self, name: str) -> tuple[int, int]:
        return self.sfield(name, "sh_offset"), self.sfield(name, "sh_size")

    # ---- segments
    def segment_base(self, p_type: int) -> int:
        for i in range(self.header("e_phnum")):
            base = self.header("e_phoff") + i * self.header("e_phentsize")
            if self.get(PHDR, base, "p_type") == p_type:
                return base
        raise KeyError(p_type)

    def set_pfield(self, p_type: int, field: str, value: int) -> None:
        self.put(PHDR, self.segment_base(p_type), field, value)

    def pfield(self, p_type: int, field: str) -> int:
        return self.get(PHDR, self.segment_base(p_type), field)

    def needed_size(self) -> int:
        """Bytes a loader or reader needs: the end of the last segment or of the section header table."""
        end = self.header("e_shoff") + self.header("e_shnum") * self.header("e_shentsize") if self.header("e_shoff") else 0
        for i in range(self.header("e_phnum")):
            base = self.header("e_phoff") + i * self.header("e_phentsize")
            end = max(end, self.get(PHDR, base, "p_offset") + self.get(PHDR, base, "p_filesz"))
        return end
