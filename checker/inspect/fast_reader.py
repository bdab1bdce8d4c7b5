"""Fast reader: the same RawElf as the reference reader (pyelf_reader.py), straight from the mapping.

It reads only the ELF, program and section headers, the dynamic table, the version-needs
table, notes (for NT_GNU_ABI_TAG) and the versym array. The few symbols bound to a needed
version are found by searching the versym array with bytes.find for each version index,
so only those symbols are decoded, never the whole dynamic symbol table.

Every offset and count is checked against the file size. Anything the reference reader
would reject, or that this reader does not handle, raises FastReaderDeclined; the caller
then runs the reference reader, which reads the file or produces the user-facing error.
The differential tests (tests/test_fast_reader.py) hold the two readers to identical output.
"""

from __future__ import annotations

import mmap
import struct
import sys
from itertools import compress, repeat
from operator import add, and_, itemgetter, mul
from typing import NamedTuple, Union

from checker.inspect.raw import RawElf

Buffer = Union[bytes, mmap.mmap]  # noqa: UP007 - a runtime alias

SHT_SYMTAB, SHT_STRTAB, SHT_DYNAMIC, SHT_NOTE, SHT_NOBITS, SHT_DYNSYM = 2, 3, 6, 7, 8, 11
SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFE, 0x6FFFFFFF
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE = 1, 2, 3, 4
PF_X = 1
DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ = 0, 1, 4, 5, 6, 10
DT_SONAME, DT_RPATH, DT_RUNPATH, DT_FLAGS = 14, 15, 29, 30
DT_GNU_HASH, DT_VERSYM, DT_FLAGS_1, DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFEF5, 0x6FFFFFF0, 0x6FFFFFFB, 0x6FFFFFFE, 0x6FFFFFFF
SHF_ALLOC = 0x2
SHN_XINDEX = PN_XNUM = 0xFFFF
NT_GNU_ABI_TAG = 1

_VER_NDX_MASK = 0x7FFF
_STRING_TAGS = frozenset((DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH))
_APPLIED_TAGS = _STRING_TAGS | {DT_FLAGS, DT_FLAGS_1}  # the entries _apply_dynamic reads
_TAG = itemgetter(0)
# Limits the reference reader applies (pyelf_reader.py, bounds.py); past them we let it decide.
_MAX_STRING = 64 * 1024
_MAX_INTERP = 4096
_MAX_NOTES_BYTES = 1 << 20
_MAX_VERNEED_ENTRIES = 65536
_ET_PROC = (0xFF00, 0xFFFF)  # ET_LOPROC/ET_HIPROC: the reference reader reports -1
_NATIVE_LITTLE = sys.byteorder == "little"
_DYN_BATCH = 4096  # dynamic entries decoded per slice
_COPY_LIMIT = 8 << 20  # largest table copied whole (symbol table slice, versym array, decoded string table): bounds memory
# Decode a whole string table once when it holds at most this many bytes per name wanted from it.
_DECODE_BYTES_PER_NAME = 512
_DECODE_SMALL_TABLE = 32 * 1024  # a string table this small is decoded whole for its first string
_SPARSE_HITS = 16  # fewer than one wanted versym entry in this many: find them one by one
_SMALL_INDEX = bytes(1 if b in (0x00, 0x80) else 0 for b in range(256))  # high bytes of version indices < 256
# Section header fields as plain tuple positions (Elf32_Shdr and Elf64_Shdr share the order).
_SH_NAME, _SH_TYPE, _SH_FLAGS, _SH_OFFSET, _SH_SIZE, _SH_LINK, _SH_INFO = range(7)  # (no other fields are read)
# Section-name lists by (.shstrtab bytes, sh_name column): files built by one toolchain share them.
_NAMES_CACHE: dict[tuple[bytes, tuple[int, ...]], tuple[str, ...]] = {}
_NAMES_CACHE_MAX = 512
_NAMES_CACHE_TABLE = 4096  # larger name tables are read without the cache


class FastReaderDeclined(Exception):
    """The fast reader will not vouch for this file; read it with the reference reader."""


class _Layout(NamedTuple):
    """Struct formats for one ELF class and byte order."""

    ehdr: struct.Struct  # e_type .. e_shstrndx
    phdr: struct.Struct
    shdr: struct.Struct
    dyn: struct.Struct
    sym_size: int
    word: struct.Struct
    word3: struct.Struct
    word4: struct.Struct
    verneed: struct.Struct
    vernaux: struct.Struct
    xword_size: int


def _layout(elf64: bool, little: bool) -> _Layout:
    e = "<" if little else ">"
    common = {
        "word": struct.Struct(e + "I"),
        "word3": struct.Struct(e + "III"),
        "word4": struct.Struct(e + "IIII"),
        "verneed": struct.Struct(e + "HHIII"),
        "vernaux": struct.Struct(e + "IHHII"),
    }
    if elf64:
        return _Layout(
            ehdr=struct.Struct(e + "HHIQQQIHHHHHH"),
            phdr=struct.Struct(e + "IIQQQQQQ"),  # type flags offset vaddr paddr filesz memsz align
            shdr=struct.Struct(e + "IIQQQQIIQQ"),
            dyn=struct.Struct(e + "qQ"),
            sym_size=24,
            xword_size=8,
            **common,
        )
    return _Layout(
        ehdr=struct.Struct(e + "HHIIIIIHHHHHH"),
        phdr=struct.Struct(e + "IIIIIIII"),  # type offset vaddr paddr filesz memsz flags align
        shdr=struct.Struct(e + "IIIIIIIIII"),
        dyn=struct.Struct(e + "iI"),
        sym_size=16,
        xword_size=4,
        **common,
    )


_LAYOUTS = {(c, le): _layout(c, le) for c in (True, False) for le in (True, False)}


class _Phdr(NamedTuple):
    p_type: int
    p_offset: int
    p_vaddr: int
    p_filesz: int
    p_flags: int = 0


# Where the fields a table is read for sit, by ELF class: as positions in a struct row (any byte
# order), and as (word type, words per entry, word index) when the file's byte order is the machine's.
_PHDR_FIELDS = {True: (0, 2, 3, 5, 1), False: (0, 1, 2, 4, 6)}  # _Phdr order
_PHDR_WORDS = {
    True: (("I", 14, 0), ("Q", 7, 1), ("Q", 7, 2), ("Q", 7, 4), ("I", 14, 1)),
    False: (("I", 8, 0), ("I", 8, 1), ("I", 8, 2), ("I", 8, 4), ("I", 8, 6)),
}
_SHDR_FIELDS = (0, 1, 2, 4, 5, 6, 7)  # _SH_* order, the same in both classes (sh_addr is skipped)
_SHDR_ROW = itemgetter(*_SHDR_FIELDS)  # a struct row -> the _SH_* fields
_SHDR_WORDS = {
    True: (("I", 16, 0), ("I", 16, 1), ("Q", 8, 1), ("Q", 8, 3), ("Q", 8, 4), ("I", 16, 10), ("I", 16, 11)),
    False: tuple(("I", 10, i) for i in _SHDR_FIELDS),
}
# A section header is the plain tuple struct gives (fields at the _SH_* positions): no object per section.
_Shdr = tuple[int, ...]


def _one_byte_table(value: int) -> bytes:
    """A bytes.translate table mapping `value` to 1 and every other byte to 0."""
    return bytes(value) + b"\x01" + bytes(255 - value)


def _positions(data: bytes, value: int) -> list[int]:
    """Every position of byte `value` in `data`, one C-level search per hit."""
    out: list[int] = []
    at, find = data.find(value), data.find
    while at >= 0:
        out.append(at)
        at = find(value, at + 1)
    return out


def read_raw_fast(data: Buffer) -> RawElf:
    """Read the RawElf of the ELF image `data`; raise FastReaderDeclined for anything unusual."""
    try:
        return _Reader(data).read()
    except FastReaderDeclined:
        raise
    except (struct.error, IndexError, ValueError, OverflowError) as exc:  # a bound not foreseen
        raise FastReaderDeclined(f"{type(exc).__name__}: {exc}") from None


class _Reader:
    def __init__(self, data: Buffer) -> None:
        self.data = data
        self.size = len(data)
        self.shdrs: list[_Shdr] = []
        self.types: tuple[int, ...] = ()  # sh_type of every section, for C-level searches
        self.first_of_type: dict[int, int] = {}  # sh_type -> index of the first non-empty section of that type
        self.phdrs: list[_Phdr] = []
        self.section0: _Shdr | None = None
        self.names_table: tuple[int, int] | None = None
        self.texts: dict[tuple[int, int], str | None] = {}  # string tables decoded whole (see _text)

    def _need(self, offset: int, length: int, what: str) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise FastReaderDeclined(f"{what} at {offset:#x}+{length:#x} is outside the file")

    def _unpack(self, st: struct.Struct, offset: int, what: str) -> tuple[int, ...]:
        self._need(offset, st.size, what)
        return st.unpack_from(self.data, offset)

    def _string(self, table: tuple[int, int], index: int) -> str:
        """NUL-terminated string `index` bytes into string table (offset, size), never past it."""
        start, length = table
        if index >= length:
            raise FastReaderDeclined("string offset outside its table")
        text = self._text(table) if length <= _DECODE_SMALL_TABLE else None
        if text is not None:  # the same search on the decoded table: its offsets are the bytes' offsets
            end = text.find("\0", index, index + _MAX_STRING)
            if end < 0:
                raise FastReaderDeclined("unterminated string")
            return text[index:end]
        end = self.data.find(b"\0", start + index, start + min(length, index + _MAX_STRING))
        if end < 0:
            raise FastReaderDeclined("unterminated string")
        return self.data[start + index : end].decode("utf-8", "replace")

    # -- top level -----------------------------------------------------------------------

    def read(self) -> RawElf:
        data = self.data
        if self.size < 16 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
            raise FastReaderDeclined("not a valid ELF identification")
        self.elf64, self.little = data[4] == 2, data[5] == 1
        lay = self.lay = _LAYOUTS[(self.elf64, self.little)]
        (e_type, e_machine, _version, e_entry, e_phoff, e_shoff, _flags, _ehsize, phentsize, phnum, shentsize, shnum, shstrndx) = (
            self._unpack(lay.ehdr, 16, "ELF header")
        )
        self._section_headers(e_shoff, shentsize, shnum, shstrndx)
        self._program_headers(e_phoff, phentsize, phnum)
        raw = RawElf(
            ei_class=64 if self.elf64 else 32,
            little_endian=self.little,
            e_machine=e_machine,
            e_type=-1 if e_type in _ET_PROC else e_type,
            e_entry=e_entry,
            has_section_headers=bool(self.shdrs),
        )
        if self.shdrs:
            self._read_sections(raw)
        if raw.debug_only and any(ph.p_type == PT_LOAD and ph.p_flags & PF_X and ph.p_filesz for ph in self.phdrs):
            raw.debug_only = False  # code in the file: a program whose section headers lie, not a debug file
        dyn_segment = None
        for ph in self.phdrs:
            if ph.p_type == PT_LOAD:
                raw.has_load = True
                if not raw.debug_only and raw.e_type in (2, 3):  # a truncated program cannot load
                    self._need(ph.p_offset, ph.p_filesz, "PT_LOAD")
            elif ph.p_type == PT_DYNAMIC:
                raw.has_dynamic = True
                dyn_segment = ph
            elif raw.debug_only:
                continue
            elif ph.p_type == PT_INTERP:
                raw.interpreter = self._interpreter(ph)
            elif ph.p_type == PT_NOTE and raw.abi_tag is None:
                raw.abi_tag = self._abi_tag(ph.p_offset, ph.p_filesz)
        if raw.debug_only:
            return raw
        # The loader reads PT_DYNAMIC, not sections: follow it when the section headers show no dynamic section.
        if self.shdrs and (dyn_segment is None or self._first_section(SHT_DYNAMIC) is not None):
            self._read_dynamic_from_sections(raw)
            self._read_versions_from_sections(raw)
        elif dyn_segment is not None:
            self._read_from_dynamic_segment(raw, dyn_segment)
        return raw

    # -- headers ---------------------------------------------------------------------------

    def _section_headers(self, shoff: int, shentsize: int, shnum: int, shstrndx: int) -> None:
        if not shoff:
            return
        size = self.lay.shdr.size
        if shentsize != size:
            raise FastReaderDeclined("section header size")
        section0 = _SHDR_ROW(self._unpack(self.lay.shdr, shoff, "section header table"))
        self.section0 = section0
        shnum = shnum or section0[_SH_SIZE]
        if not shnum:
            return
        self._need(shoff, shnum * size, "section header table")
        self.columns = columns = self._columns(shoff, shnum, self.lay.shdr, _SHDR_FIELDS, _SHDR_WORDS[self.elf64])
        self.shdrs = out = list(zip(*columns, strict=True))
        self.types = types = tuple(columns[_SH_TYPE])
        # Built from the last section to the first, so each type keeps its first non-empty section.
        backwards = zip(reversed(types), reversed(range(len(types))), strict=True)
        self.first_of_type = dict(compress(backwards, reversed(columns[_SH_SIZE])))
        # Every section's end in one C-level pass; only a file where one ends past the end is checked
        # section by section (NOBITS and empty sections occupy no bytes, so they may).
        if max(map(add, columns[_SH_OFFSET], columns[_SH_SIZE])) > self.size:
            for sh in out:
                if sh[_SH_TYPE] != SHT_NOBITS and sh[_SH_SIZE]:
                    self._need(sh[_SH_OFFSET], sh[_SH_SIZE], "section")
        strndx = section0[_SH_LINK] if shstrndx == SHN_XINDEX else shstrndx
        if strndx:
            if strndx >= shnum or types[strndx] != SHT_STRTAB:
                raise FastReaderDeclined("section name table")
            self.names_table = (out[strndx][_SH_OFFSET], out[strndx][_SH_SIZE])

    def _program_headers(self, phoff: int, phentsize: int, phnum: int) -> None:
        if phnum == PN_XNUM and self.section0 is not None:
            phnum = self.section0[_SH_INFO]  # extended numbering
        if not phnum:
            return
        size = self.lay.phdr.size
        if phentsize != size:
            raise FastReaderDeclined("program header size")
        self._need(phoff, phnum * size, "program header table")
        columns = self._columns(phoff, phnum, self.lay.phdr, _PHDR_FIELDS[self.elf64], _PHDR_WORDS[self.elf64])
        # tuple.__new__ builds each _Phdr in C (namedtuple's own __new__ is Python code).
        self.phdrs = list(map(tuple.__new__, repeat(_Phdr), zip(*columns, strict=True)))

    def _columns(
        self, offset: int, count: int, st: struct.Struct, fields: tuple[int, ...], words: tuple[tuple[str, int, int], ...]
    ) -> list[list[int]]:
        """Some fields of a table of `count` entries, one list per field, read column by column in C:
        typed views of a copy of the table in the machine's byte order, else struct rows transposed."""
        table = self.data[offset : offset + count * st.size]
        if self.little == _NATIVE_LITTLE:
            with memoryview(table) as view:
                typed = {"I": view.cast("I"), "Q": view.cast("Q") if self.elf64 else None}
                return [typed[code][index::step].tolist() for code, step, index in words]  # type: ignore[index]
        rows = list(zip(*st.iter_unpack(table), strict=True))
        return [list(rows[i]) for i in fields]

    # -- sections, notes, interpreter ------------------------------------------------------

    def _read_sections(self, raw: RawElf) -> None:
        table = self.names_table
        columns = self.columns
        if table is None:
            raw.section_names = [""] * len(self.shdrs)
        else:
            raw.section_names = self._section_names(table, tuple(columns[_SH_NAME]))
        types = self.types
        raw.has_symtab = SHT_SYMTAB in types
        # Types of the allocated sections that hold bytes in memory (SHF_ALLOC set and sh_size non-zero).
        alloc = list(compress(types, map(mul, map(and_, columns[_SH_FLAGS], repeat(SHF_ALLOC)), columns[_SH_SIZE])))
        alloc_nobits = alloc.count(SHT_NOBITS)
        alloc_code_or_data = len(alloc) - alloc_nobits - alloc.count(SHT_NOTE)
        raw.debug_only = alloc_nobits > 0 and alloc_code_or_data == 0 and raw.e_type in (2, 3)
        if raw.debug_only or SHT_NOTE not in types:
            return
        for sh in compress(self.shdrs, map(SHT_NOTE.__eq__, types)):
            if sh[_SH_SIZE]:
                raw.abi_tag = self._abi_tag(sh[_SH_OFFSET], sh[_SH_SIZE])
                if raw.abi_tag is not None:
                    return

    def _section_names(self, table: tuple[int, int], offsets: tuple[int, ...]) -> list[str]:
        """Every section's name (section 0 has none); remembered by table and offsets, a pure function of both."""
        start, length = table
        key = None
        if length <= _NAMES_CACHE_TABLE:
            key = (self.data[start : start + length], offsets)
            known = _NAMES_CACHE.get(key)
            if known is not None:
                return list(known)
        data, find = self.data, self.data.find
        names = [""]
        for index in offsets[1:]:
            end = find(b"\0", start + index, start + min(length, index + _MAX_STRING)) if index < length else -1
            if end < 0:
                raise FastReaderDeclined("section name outside its table")
            names.append(data[start + index : end].decode("utf-8", "replace"))
        if key is not None:
            if len(_NAMES_CACHE) >= _NAMES_CACHE_MAX:
                _NAMES_CACHE.clear()
            _NAMES_CACHE[key] = tuple(names)
        return names

    def _interpreter(self, ph: _Phdr) -> str:
        length = min(ph.p_filesz, _MAX_INTERP)
        self._need(ph.p_offset, length, "PT_INTERP")
        end = self.data.find(b"\0", ph.p_offset, ph.p_offset + length)
        if end < 0:
            raise FastReaderDeclined("PT_INTERP without a NUL")
        return self.data[ph.p_offset : end].decode("utf-8", "replace")

    def _abi_tag(self, offset: int, length: int) -> tuple[int, int, int, int] | None:
        """First NT_GNU_ABI_TAG in a note area, walked exactly as the reference reader walks it."""
        length = min(length, _MAX_NOTES_BYTES)
        self._need(offset, length, "note")
        end_all = offset + length
        word3 = self.lay.word3.unpack_from
        pos = offset
        while pos + 12 <= end_all:
            namesz, descsz, ntype = word3(self.data, pos)
            name_at = pos + 12
            desc_at = name_at + ((namesz + 3) & ~3)
            end = desc_at + ((descsz + 3) & ~3)
            if end > end_all:
                break
            if ntype == NT_GNU_ABI_TAG and descsz >= 16 and self.data[name_at : name_at + namesz].rstrip(b"\0") == b"GNU":
                return self.lay.word4.unpack_from(self.data, desc_at)  # type: ignore[return-value]
            pos = end
        return None

    # -- dynamic table ---------------------------------------------------------------------

    def _dynamic_entries(self, offset: int, length: int) -> list[tuple[int, int]]:
        """(tag, value) pairs before DT_NULL, never past `length` bytes."""
        dyn = self.lay.dyn
        count = length // dyn.size
        self._need(offset, count * dyn.size, "dynamic table")  # the reference fails at the first entry outside
        out: list[tuple[int, int]] = []
        step = _DYN_BATCH * dyn.size  # read in batches: a hostile sh_size must not become one huge copy
        end = offset + count * dyn.size
        for at in range(offset, end, step):
            rows = list(dyn.iter_unpack(self.data[at : min(at + step, end)]))
            tags = list(map(_TAG, rows))
            if DT_NULL in tags:
                out += rows[: tags.index(DT_NULL)]
                return out
            out += rows
        return out

    def _apply_dynamic(self, entries: list[tuple[int, int]], strtab: tuple[int, int] | None, raw: RawElf) -> None:
        for tag, value in compress(entries, map(_APPLIED_TAGS.__contains__, map(_TAG, entries))):
            if tag in _STRING_TAGS:
                if strtab is None:
                    raise FastReaderDeclined("dynamic string without a string table")
                text = self._string(strtab, value)
                if tag == DT_NEEDED:
                    raw.needed.append(text)
                elif tag == DT_SONAME:
                    raw.soname = text
                elif tag == DT_RPATH:
                    raw.rpath.extend(p for p in text.split(":") if p)
                else:
                    raw.runpath.extend(p for p in text.split(":") if p)
            elif tag == DT_FLAGS:
                raw.flags = value
            elif tag == DT_FLAGS_1:
                raw.flags_1 = value

    def _first_section(self, stype: int) -> tuple[int, _Shdr] | None:
        """The first non-empty section of a type."""
        index = self.first_of_type.get(stype)
        return None if index is None else (index, self.shdrs[index])

    def _linked_strtab(self, index: int, sh: _Shdr) -> tuple[int, int]:
        link = sh[_SH_LINK]
        if not 0 < link < len(self.shdrs) or link == index:
            raise FastReaderDeclined("section links to no string table")
        target = self.shdrs[link]
        if target[_SH_TYPE] != SHT_STRTAB or not target[_SH_SIZE]:
            raise FastReaderDeclined("section links to no string table")
        return target[_SH_OFFSET], target[_SH_SIZE]

    def _read_dynamic_from_sections(self, raw: RawElf) -> None:
        found = self._first_section(SHT_DYNAMIC)
        if found is None:
            return
        index, sec = found
        entries = self._dynamic_entries(sec[_SH_OFFSET], sec[_SH_SIZE])
        has_strings = not _STRING_TAGS.isdisjoint(map(_TAG, entries))
        self._apply_dynamic(entries, self._linked_strtab(index, sec) if has_strings else None, raw)

    # -- symbol versions -------------------------------------------------------------------

    def _read_versions_from_sections(self, raw: RawElf) -> None:
        found = self._first_section(SHT_GNU_VERNEED)
        if found is None:
            return
        index, verneed = found
        index_to_name = self._version_needs(raw, verneed[_SH_OFFSET], verneed[_SH_INFO], self._linked_strtab(index, verneed))
        versym = self._first_section(SHT_GNU_VERSYM)
        dynsym = self._first_section(SHT_DYNSYM)
        if versym is None or dynsym is None:
            return
        count = min(dynsym[1][_SH_SIZE] // self.lay.sym_size, versym[1][_SH_SIZE] // 2)
        strtab = self._linked_strtab(*dynsym)
        self._undefined_versioned(raw, dynsym[1][_SH_OFFSET], count, versym[1][_SH_OFFSET], strtab, index_to_name)

    def _version_needs(self, raw: RawElf, offset: int, count: int, strtab: tuple[int, int]) -> dict[int, str]:
        """Walk Elf_Verneed/Elf_Vernaux chains (vn_next / vna_next) with the reference's budget."""
        index_to_name: dict[int, str] = {}
        budget = _MAX_VERNEED_ENTRIES
        need, aux_s = self.lay.verneed.unpack_from, self.lay.vernaux.unpack_from
        data, last, string = self.data, self.size - 16, self._string  # both records are 16 bytes
        for _ in range(count):
            if not 0 <= offset <= last:
                raise FastReaderDeclined("version needs outside the file")
            _version, cnt, vn_file, vn_aux, vn_next = need(data, offset)
            names = raw.version_needs.setdefault(string(strtab, vn_file), [])
            aux = offset + vn_aux
            for _ in range(cnt):
                budget -= 1
                if budget < 0:
                    raise FastReaderDeclined("version-needs table too long")
                if not 0 <= aux <= last:
                    raise FastReaderDeclined("version needs outside the file")
                _hash, _flags, other, vna_name, vna_next = aux_s(data, aux)
                name = string(strtab, vna_name)
                names.append(name)
                index_to_name[other & _VER_NDX_MASK] = name
                if not vna_next:
                    break
                aux += vna_next
            if not vn_next:
                break
            offset += vn_next
        return index_to_name

    def _undefined_versioned(
        self, raw: RawElf, symtab: int, count: int, versym: int, strtab: tuple[int, int], index_to_name: dict[int, str]
    ) -> None:
        """Symbols 1..count-1 whose versym entry (hidden bit masked) names a needed version: undefined
        ones and copy-relocated definitions (`__rseq_size@GLIBC_2.35`), which bind to the library too.

        Instead of decoding every symbol, pick the versym entries holding a wanted value (a needed
        version's index, with or without the hidden bit) with C-level passes over the array, and
        decode only the matching symbols.
        """
        self._need(versym, 2 * count, "symbol version table")
        if count < 2 or not index_to_name:
            return
        if max(index_to_name) < 256 and 2 * count <= _COPY_LIMIT:  # (the byte path copies the array)
            mask, positions, keys = self._pick_by_bytes(count, versym, index_to_name)
        else:
            mask, positions, keys = self._pick_by_values(count, versym, index_to_name)
        if not keys:
            return
        sym_size = self.lay.sym_size
        top = mask.rfind(1) + 1  # the highest picked symbol (mask entry i is symbol i + 1)
        self._need(symtab + top * sym_size, sym_size, "dynamic symbol table")
        data = self.data
        if self.little == _NATIVE_LITTLE and (top + 1) * sym_size <= _COPY_LIMIT:  # typed views: no struct call per symbol
            symbols = memoryview(data[symtab : symtab + (top + 1) * sym_size])  # a copy: no export pins the mapping
            name_of = symbols.cast("I")[:: sym_size // 4]
            if positions is None:
                offsets = list(compress(name_of, b"\0" + mask))
            else:
                offsets = [name_of[at + 1] for at in positions]
        else:
            word = self.lay.word.unpack_from
            picked = compress(range(1, count), mask) if positions is None else (at + 1 for at in positions)
            offsets = [word(data, symtab + i * sym_size)[0] for i in picked]
        names = self._symbol_names(strtab, offsets)
        groups: dict[str, set[str]] = {}
        if isinstance(keys, bytes):  # version index per picked symbol, one byte each
            distinct = set(keys)
            for index in distinct:
                group = groups.setdefault(index_to_name[index], set())
                if len(distinct) == 1:
                    group.update(names)
                elif keys.count(index) * _SPARSE_HITS < len(keys):  # a small group: jump from one member to the next
                    group.update(names[at] for at in _positions(keys, index))
                else:
                    group.update(compress(names, keys.translate(_one_byte_table(index))))
        else:  # version name per picked symbol
            for version, name in zip(keys, names, strict=True):
                groups.setdefault(version, set()).add(name)
        found = raw.undefined_versioned
        for version in dict.fromkeys(index_to_name.values()):  # the order the version table gives
            if version in groups:
                if version in found:
                    found[version] |= groups[version]
                else:
                    found[version] = groups[version]

    def _pick_by_bytes(self, count: int, versym: int, index_to_name: dict[int, str]) -> tuple[bytes, list[int] | None, bytes]:
        """Which of symbols 1..count-1 are wanted when every needed version index is below 256: a mask
        (one byte per symbol), their positions in it when they are few (else None), and their indices.

        Such an entry has its index in the low byte and 0x00 or 0x80 (the hidden bit) in the high
        byte, so bytes.translate over each half of the array marks the wanted entries without a
        Python-level step per symbol.
        """
        entries = self.data[versym + 2 : versym + 2 * count]  # entries 1..count-1
        low, high = (entries[0::2], entries[1::2]) if self.little else (entries[1::2], entries[0::2])
        wanted = bytearray(256)
        for index in index_to_name:
            wanted[index] = 1
        mask = low.translate(wanted)
        if high.translate(None, b"\x00\x80"):  # some entry has an index of 256 or more: never wanted
            small = high.translate(_SMALL_INDEX)
            mask = (int.from_bytes(mask, "little") & int.from_bytes(small, "little")).to_bytes(count - 1, "little")
        hits = mask.count(1)
        if hits * _SPARSE_HITS < count:  # a few hits in a long array
            positions = _positions(mask, 1)
            return mask, positions, bytes([low[at] for at in positions])
        return mask, None, bytes(compress(low, mask))

    def _pick_by_values(self, count: int, versym: int, index_to_name: dict[int, str]) -> tuple[bytes, list[int] | None, list[str]]:
        """The same for any version index, with the version names: one dictionary test per entry."""
        # Versym entries as they read in native byte order (hidden bit set or not) -> version name,
        # so the array is never byte-swapped: a big-endian file just gets swapped keys.
        swap = self.little != _NATIVE_LITTLE
        by_value: dict[int, str] = {}
        for index, version in index_to_name.items():
            for value in (index, index | 0x8000):
                by_value[((value & 0xFF) << 8 | value >> 8) if swap else value] = version
        with memoryview(self.data) as whole, whole[versym + 2 : versym + 2 * count] as entries, entries.cast("H") as values:
            # map walks the array in C; only the matching entries reach Python.
            mask = bytes(map(by_value.__contains__, values))
            return mask, None, list(map(by_value.__getitem__, compress(values, mask)))

    def _symbol_names(self, strtab: tuple[int, int], offsets: list[int]) -> list[str]:
        """NUL-terminated names at `offsets` in string table (start, length), each shorter than
        _MAX_STRING and ending inside the table (as the reference reader reads them), else decline.

        With many names wanted, the table is decoded once and the names are sliced from the text;
        otherwise (a huge table, few names: e.g. a big library's imports) each is read where it lies.
        """
        start, length = strtab
        data = self.data
        decode = length <= len(offsets) * _DECODE_BYTES_PER_NAME and length <= _COPY_LIMIT
        text = self._text(strtab) if strtab in self.texts or decode else None
        if text is not None:
            find = text.find  # searches end at the table's end by construction
            if length <= _MAX_STRING and text.endswith("\0") and max(offsets) < length:
                # Every search from inside the table meets a NUL there, within _MAX_STRING: no -1 to check for.
                return [text[at : find("\0", at)] for at in offsets]
            if length <= _MAX_STRING:
                ends = list(map(find, repeat("\0"), offsets))
            else:
                ends = list(map(find, repeat("\0"), offsets, map(_MAX_STRING.__add__, offsets)))
            if -1 in ends:
                raise FastReaderDeclined("symbol name outside its string table")
            return list(map(text.__getitem__, map(slice, offsets, ends)))
        if max(offsets) >= length:
            raise FastReaderDeclined("symbol name outside its string table")
        starts = list(map(start.__add__, offsets))
        ends = list(map(data.find, repeat(b"\0"), starts, map(_MAX_STRING.__add__, starts)))
        if -1 in ends or max(ends) >= start + length:
            raise FastReaderDeclined("symbol name outside its string table")
        return list(map(bytes.decode, map(data.__getitem__, map(slice, starts, ends)), repeat("utf-8"), repeat("replace")))

    def _text(self, strtab: tuple[int, int]) -> str | None:
        """A string table decoded whole when it is plain ASCII (so character and byte offsets agree), else None.

        Also None when the table runs past the end of the file (DT_STRSZ is not checked): the slice
        would be shorter than the table and a name offset past its end would read as ''."""
        if strtab not in self.texts:
            start, length = strtab
            table = self.data[start : start + length]
            self.texts[strtab] = table.decode("ascii") if len(table) == length and table.isascii() else None
        return self.texts[strtab]

    # -- files without section headers: follow the dynamic segment --------------------------

    def _read_from_dynamic_segment(self, raw: RawElf, segment: _Phdr) -> None:
        entries = self._dynamic_entries(segment.p_offset, segment.p_filesz)
        tags = dict(entries)
        strtab = None
        if DT_STRTAB in tags:
            strtab = (self._file_offset(tags[DT_STRTAB]), tags.get(DT_STRSZ, 0))
        self._apply_dynamic(entries, strtab, raw)
        if DT_VERNEED not in tags or strtab is None:
            return
        index_to_name = self._version_needs(raw, self._file_offset(tags[DT_VERNEED]), tags.get(DT_VERNEEDNUM, 0), strtab)
        if DT_VERSYM not in tags or DT_SYMTAB not in tags:
            return
        symtab = self._file_offset(tags[DT_SYMTAB])
        count = self._dynsym_count(tags, symtab)
        self._undefined_versioned(raw, symtab, count, self._file_offset(tags[DT_VERSYM]), strtab, index_to_name)

    def _file_offset(self, address: int) -> int:
        for ph in self.phdrs:
            if ph.p_type == PT_LOAD and ph.p_vaddr <= address < ph.p_vaddr + ph.p_filesz:
                return address - ph.p_vaddr + ph.p_offset
        raise FastReaderDeclined(f"address {address:#x} is outside every loaded segment")

    def _dynsym_count(self, tags: dict[int, int], symtab: int) -> int:
        """Number of dynamic symbols from DT_HASH's nchain, else by walking DT_GNU_HASH."""
        limit = max(0, (self.size - symtab) // self.lay.sym_size)
        word = self.lay.word
        if DT_HASH in tags:
            (count,) = self._unpack(word, self._file_offset(tags[DT_HASH]) + 4, "hash table")
        elif DT_GNU_HASH in tags:
            count = self._gnu_hash_count(self._file_offset(tags[DT_GNU_HASH]), limit)
        else:
            return 0
        if count > limit:
            raise FastReaderDeclined("hash table claims more symbols than the file holds")
        return count

    def _gnu_hash_count(self, offset: int, limit: int) -> int:
        nbuckets, symoffset, bloom_size, _shift = self._unpack(self.lay.word4, offset, "GNU hash table")
        buckets_at = offset + 16 + bloom_size * self.lay.xword_size
        self._need(buckets_at, 4 * nbuckets, "GNU hash buckets")
        endian = "<" if self.little else ">"
        highest = max(struct.unpack_from(f"{endian}{nbuckets}I", self.data, buckets_at), default=0)
        if highest < symoffset:
            return symoffset
        chain_at = buckets_at + 4 * nbuckets
        word = self.lay.word
        for index in range(highest, limit + 1):
            (value,) = self._unpack(word, chain_at + 4 * (index - symoffset), "GNU hash chain")
            if value & 1:
                return index + 1
        raise FastReaderDeclined("GNU hash chain never ends")
