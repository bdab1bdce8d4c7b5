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
from itertools import compress
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
# Limits the reference reader applies (pyelf_reader.py, bounds.py); past them we let it decide.
_MAX_STRING = 64 * 1024
_MAX_INTERP = 4096
_MAX_NOTES_BYTES = 1 << 20
_MAX_VERNEED_ENTRIES = 65536
_ET_PROC = (0xFF00, 0xFFFF)  # ET_LOPROC/ET_HIPROC: the reference reader reports -1
_NATIVE_LITTLE = sys.byteorder == "little"
_DYN_BATCH = 4096  # dynamic entries decoded per slice
_COPY_LIMIT = 8 << 20  # largest slice of the symbol table copied for fast field access


class FastReaderDeclined(Exception):
    """The fast reader will not vouch for this file; read it with the reference reader."""


class _Layout(NamedTuple):
    """Struct formats for one ELF class and byte order."""

    ehdr: struct.Struct  # e_type .. e_shstrndx
    phdr: struct.Struct
    shdr: struct.Struct
    dyn: struct.Struct
    sym_size: int
    shndx_at: int  # offset of st_shndx inside a symbol
    half: struct.Struct
    word: struct.Struct
    word3: struct.Struct
    word4: struct.Struct
    verneed: struct.Struct
    vernaux: struct.Struct
    xword_size: int


def _layout(elf64: bool, little: bool) -> _Layout:
    e = "<" if little else ">"
    common = {
        "half": struct.Struct(e + "H"),
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
            shndx_at=6,
            xword_size=8,
            **common,
        )
    return _Layout(
        ehdr=struct.Struct(e + "HHIIIIIHHHHHH"),
        phdr=struct.Struct(e + "IIIIIIII"),  # type offset vaddr paddr filesz memsz flags align
        shdr=struct.Struct(e + "IIIIIIIIII"),
        dyn=struct.Struct(e + "iI"),
        sym_size=16,
        shndx_at=14,
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


class _Shdr(NamedTuple):
    sh_name: int
    sh_type: int
    sh_flags: int
    sh_addr: int
    sh_offset: int
    sh_size: int
    sh_link: int
    sh_info: int
    sh_addralign: int
    sh_entsize: int


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
        self.phdrs: list[_Phdr] = []
        self.section0: _Shdr | None = None
        self.names_table: tuple[int, int] | None = None

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
        section0 = _Shdr._make(self._unpack(self.lay.shdr, shoff, "section header table"))
        self.section0 = section0
        shnum = shnum or section0.sh_size
        if not shnum:
            return
        self._need(shoff, shnum * size, "section header table")
        self.shdrs = out = list(map(_Shdr._make, self.lay.shdr.iter_unpack(self.data[shoff : shoff + shnum * size])))
        for sh in out:
            if sh.sh_type != SHT_NOBITS and sh.sh_size:
                self._need(sh.sh_offset, sh.sh_size, "section")
        strndx = section0.sh_link if shstrndx == SHN_XINDEX else shstrndx
        if strndx:
            if strndx >= shnum or out[strndx].sh_type != SHT_STRTAB:
                raise FastReaderDeclined("section name table")
            self.names_table = (out[strndx].sh_offset, out[strndx].sh_size)

    def _program_headers(self, phoff: int, phentsize: int, phnum: int) -> None:
        if phnum == PN_XNUM and self.section0 is not None:
            phnum = self.section0.sh_info  # extended numbering
        if not phnum:
            return
        size = self.lay.phdr.size
        if phentsize != size:
            raise FastReaderDeclined("program header size")
        self._need(phoff, phnum * size, "program header table")
        rows = self.lay.phdr.iter_unpack(self.data[phoff : phoff + phnum * size])
        if self.elf64:
            self.phdrs = [_Phdr(f[0], f[2], f[3], f[5], f[1]) for f in rows]
        else:
            self.phdrs = [_Phdr(f[0], f[1], f[2], f[4], f[6]) for f in rows]

    # -- sections, notes, interpreter ------------------------------------------------------

    def _read_sections(self, raw: RawElf) -> None:
        names = raw.section_names
        table = self.names_table
        if table is None:
            names.extend("" for _ in self.shdrs)
        else:
            start, length = table
            data, find = self.data, self.data.find
            names.append("")
            for sh in self.shdrs[1:]:
                index = sh.sh_name
                end = find(b"\0", start + index, start + min(length, index + _MAX_STRING)) if index < length else -1
                if end < 0:
                    raise FastReaderDeclined("section name outside its table")
                names.append(data[start + index : end].decode("utf-8", "replace"))
        alloc_code_or_data = alloc_nobits = 0
        for sh in self.shdrs:
            if sh.sh_type == SHT_SYMTAB:
                raw.has_symtab = True
            if not sh.sh_flags & SHF_ALLOC or not sh.sh_size:
                continue
            if sh.sh_type == SHT_NOBITS:
                alloc_nobits += 1
            elif sh.sh_type != SHT_NOTE:
                alloc_code_or_data += 1
        raw.debug_only = alloc_nobits > 0 and alloc_code_or_data == 0 and raw.e_type in (2, 3)
        if raw.debug_only:
            return
        for sh in self.shdrs:
            if sh.sh_type == SHT_NOTE and sh.sh_size and raw.abi_tag is None:
                raw.abi_tag = self._abi_tag(sh.sh_offset, sh.sh_size)

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
            for tag, value in dyn.iter_unpack(self.data[at : min(at + step, end)]):
                if tag == DT_NULL:
                    return out
                out.append((tag, value))
        return out

    def _apply_dynamic(self, entries: list[tuple[int, int]], strtab: tuple[int, int] | None, raw: RawElf) -> None:
        for tag, value in entries:
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
        for i, sh in enumerate(self.shdrs):
            if sh.sh_type == stype and sh.sh_size:
                return i, sh
        return None

    def _linked_strtab(self, index: int, sh: _Shdr) -> tuple[int, int]:
        link = sh.sh_link
        if not 0 < link < len(self.shdrs) or link == index:
            raise FastReaderDeclined("section links to no string table")
        target = self.shdrs[link]
        if target.sh_type != SHT_STRTAB or not target.sh_size:
            raise FastReaderDeclined("section links to no string table")
        return target.sh_offset, target.sh_size

    def _read_dynamic_from_sections(self, raw: RawElf) -> None:
        found = self._first_section(SHT_DYNAMIC)
        if found is None:
            return
        index, sec = found
        entries = self._dynamic_entries(sec.sh_offset, sec.sh_size)
        has_strings = any(tag in _STRING_TAGS for tag, _ in entries)
        self._apply_dynamic(entries, self._linked_strtab(index, sec) if has_strings else None, raw)

    # -- symbol versions -------------------------------------------------------------------

    def _read_versions_from_sections(self, raw: RawElf) -> None:
        found = self._first_section(SHT_GNU_VERNEED)
        if found is None:
            return
        index, verneed = found
        index_to_name = self._version_needs(raw, verneed.sh_offset, verneed.sh_info, self._linked_strtab(index, verneed))
        versym = self._first_section(SHT_GNU_VERSYM)
        dynsym = self._first_section(SHT_DYNSYM)
        if versym is None or dynsym is None:
            return
        count = min(dynsym[1].sh_size // self.lay.sym_size, versym[1].sh_size // 2)
        strtab = self._linked_strtab(*dynsym)
        self._undefined_versioned(raw, dynsym[1].sh_offset, count, versym[1].sh_offset, strtab, index_to_name)

    def _version_needs(self, raw: RawElf, offset: int, count: int, strtab: tuple[int, int]) -> dict[int, str]:
        """Walk Elf_Verneed/Elf_Vernaux chains (vn_next / vna_next) with the reference's budget."""
        index_to_name: dict[int, str] = {}
        budget = _MAX_VERNEED_ENTRIES
        need, aux_s = self.lay.verneed, self.lay.vernaux
        for _ in range(count):
            _version, cnt, vn_file, vn_aux, vn_next = self._unpack(need, offset, "version needs")
            names = raw.version_needs.setdefault(self._string(strtab, vn_file), [])
            aux = offset + vn_aux
            for _ in range(cnt):
                budget -= 1
                if budget < 0:
                    raise FastReaderDeclined("version-needs table too long")
                _hash, _flags, other, vna_name, vna_next = self._unpack(aux_s, aux, "version needs")
                name = self._string(strtab, vna_name)
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
        version's index, with or without the hidden bit) in one C-level pass over the array, and
        decode only the matching symbols.
        """
        lay = self.lay
        self._need(versym, 2 * count, "symbol version table")
        if count < 2 or not index_to_name:
            return
        data = self.data
        # Versym entries as they read in native byte order (hidden bit set or not) -> version name,
        # so the array is never byte-swapped: a big-endian file just gets swapped keys.
        swap = self.little != _NATIVE_LITTLE
        by_value: dict[int, str] = {}
        for index, version in index_to_name.items():
            for value in (index, index | 0x8000):
                by_value[((value & 0xFF) << 8 | value >> 8) if swap else value] = version
        with memoryview(data) as whole, whole[versym + 2 : versym + 2 * count] as entries, entries.cast("H") as values:
            # compress/map walk the array in C; only the matching entries reach Python.
            picked = list(compress(range(1, count), map(by_value.__contains__, values)))
            versions = [by_value[values[i - 1]] for i in picked]
        if not picked:
            return
        sym_size = lay.sym_size
        top = picked[-1]
        self._need(symtab + top * sym_size, sym_size, "dynamic symbol table")
        if self.little == _NATIVE_LITTLE and (top + 1) * sym_size <= _COPY_LIMIT:  # typed views: no struct call per symbol
            symbols = memoryview(data[symtab : symtab + (top + 1) * sym_size])  # a copy: no export pins the mapping
            name_of = symbols.cast("I")[:: sym_size // 4]
            offsets = [name_of[i] for i in picked]
        else:
            word = lay.word.unpack_from
            offsets = [word(data, symtab + i * sym_size)[0] for i in picked]
        start, length = strtab
        find, table_end = data.find, start + length
        by_version: dict[str, list[bytes]] = {}
        for version, at in zip(versions, offsets, strict=True):
            # The first NUL within _MAX_STRING must lie inside the table (as the reference reader reads it).
            stop = find(b"\0", start + at, start + at + _MAX_STRING) if at < length else -1
            if not 0 <= stop < table_end:
                raise FastReaderDeclined("symbol name outside its string table")
            by_version.setdefault(version, []).append(data[start + at : stop])
        for version in dict.fromkeys(index_to_name.values()):  # the order the version table gives
            if version in by_version:
                raw.undefined_versioned.setdefault(version, set()).update(n.decode("utf-8", "replace") for n in by_version[version])

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
