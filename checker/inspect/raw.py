"""RawElf: the tables a reader extracts from one ELF file, before any interpretation.

Every reader (pyelftools-based reference, fast mmap reader) must produce equal RawElf
objects for the same file; the differential tests compare exactly this structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ElfParseError(Exception):
    """The file is ELF but cannot be read safely; message is one line for users."""


@dataclass
class RawElf:
    ei_class: int  # 32 or 64
    little_endian: bool
    e_machine: int
    e_type: int
    e_entry: int
    has_section_headers: bool
    interpreter: str | None = None
    has_dynamic: bool = False  # PT_DYNAMIC present
    has_load: bool = False  # at least one PT_LOAD
    needed: list[str] = field(default_factory=list)
    soname: str | None = None
    rpath: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    flags: int = 0  # DT_FLAGS
    flags_1: int = 0  # DT_FLAGS_1
    # file (e.g. libc.so.6) -> version names needed from it, in table order
    version_needs: dict[str, list[str]] = field(default_factory=dict)
    # version name -> undefined dynamic symbols bound to it
    undefined_versioned: dict[str, set[str]] = field(default_factory=dict)
    abi_tag: tuple[int, int, int, int] | None = None  # (os, major, minor, patch)
    has_symtab: bool = False
    section_names: list[str] = field(default_factory=list)
    debug_only: bool = False  # all allocated sections are NOBITS (objcopy --only-keep-debug)
