"""Fast reader: the same RawElf as the pyelftools reference reader, straight from the mapped bytes.

It reads only the ELF, program and section headers, the dynamic table, the version-needs
table, notes (for NT_GNU_ABI_TAG) and, for symbol versions, the versym array: the few
symbols bound to a needed version are found by searching that array for the version
indices with bytes.find instead of parsing every symbol.

Anything unusual (an offset or count that leaves the file, duplicated tags, an encoding the
reference reader would reject, ...) raises FastReaderDeclined; the caller then runs the
reference reader, which either reads the file or produces the user-facing error. So every
check below either mirrors something the reference reader does or is simply conservative.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from typing import NamedTuple, Union

from checker.inspect.raw import RawElf

Buffer = Union[bytes, mmap.mmap]  # noqa: UP007 - runtime alias, kept readable for 3.11

# Section types (SHT_*), program header types (PT_*), dynamic tags (DT_*).
SHT_NULL, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_HASH, SHT_DYNAMIC, SHT_NOTE, SHT_NOBITS, SHT_REL = 0, 2, 3, 4, 5, 6, 7, 8, 9
SHT_DYNSYM = 11
SHT_GNU_HASH = 0x6FFFFFF6
SHT_SUNW_LDYNSYM = 0x6FFFFFF3
SHT_SUNW_SYMINFO = 0x6FFFFFFC
SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM = 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF
SHT_ATTRIBUTES = 0x70000003  # ARM/RISC-V build attributes; the reference reader checks their first byte
PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE = 1, 2, 3, 4
DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_SONAME, DT_RPATH, DT_RUNPATH, DT_FLAGS = 0, 1, 4, 5, 6, 14, 15, 29, 30
DT_GNU_HASH, DT_VERSYM, DT_FLAGS_1, DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFEF5, 0x6FFFFFF0, 0x6FFFFFFB, 0x6FFFFFFE, 0x6FFFFFFF
SHF_ALLOC, SHF_COMPRESSED = 0x2, 0x800
EM_ARM, EM_RISCV = 40, 243
NT_GNU_ABI_TAG, NT_GNU_PROPERTY_TYPE_0 = 1, 5

# Section types whose pyelftools objects validate something when built.
_CHECKED_TYPES = frozenset(
    {SHT_SYMTAB, SHT_DYNSYM, SHT_SUNW_LDYNSYM, SHT_SUNW_SYMINFO, SHT_GNU_VERNEED, SHT_GNU_VERDEF, SHT_GNU_VERSYM}
    | {SHT_REL, SHT_RELA, SHT_HASH, SHT_GNU_HASH, SHT_DYNAMIC, SHT_ATTRIBUTES}
)
_VER_NDX_MASK = 0x7FFF
_VERSYM_SPECIAL = frozenset((0, 1, 0xFF00, 0xFF01))  # names, not indices, in the reference reader
_MAX_VERSIONS = 4096  # the reference reader's guard; beyond it we let that reader decide
_MAX_PROPERTIES = 256
_CSTRING_WINDOW = 4096  # the reference reader reads DT_VERNEED strings in windows of this size


class FastReaderDeclined(Exception):
    """The fast reader will not vouch for this file; read it with the reference reader."""


@dataclass(frozen=True)
class _Layout:
    """Struct formats for one ELF class and byte order."""

    ehdr: struct.Struct  # from e_type to e_shstrndx
    phdr: struct.Struct
    shdr: struct.Struct
    dyn: struct.Struct
    sym: struct.Struct
    shndx_offset: int  # where st_shndx sits inside a symbol entry
    half: struct.Struct
    word: struct.Struct
    word2: struct.Struct
    word3: struct.Struct
    word4: struct.Struct
    verneed: struct.Struct
    vernaux: struct.Struct
    chdr_size: int
    xword_size: int
    rel_size: int
    rela_size: int
    endian: str


def _layout(elf64: bool, little: bool) -> _Layout:
    e = "<" if little else ">"
    if elf64:
        return _Layout(
            ehdr=struct.Struct(e + "HHIQQQIHHHHHH"),
            phdr=struct.Struct(e + "IIQQQQQQ"),
            shdr=struct.Struct(e + "IIQQQQIIQQ"),
            dyn=struct.Struct(e + "qQ"),
            sym=struct.Struct(e + "IBBHQQ"),
            shndx_offset=6,
            half=struct.Struct(e + "H"),
            word=struct.Struct(e + "I"),
            word2=struct.Struct(e + "II"),
            word3=struct.Struct(e + "III"),
            word4=struct.Struct(e + "IIII"),
            verneed=struct.Struct(e + "HHIII"),
            vernaux=struct.Struct(e + "IHHII"),
            chdr_size=24,
            xword_size=8,
            rel_size=16,
            rela_size=24,
            endian=e,
        )
    return _Layout(
        ehdr=struct.Struct(e + "HHIIIIIHHHHHH"),
        phdr=struct.Struct(e + "IIIIIIII"),
        shdr=struct.Struct(e + "IIIIIIIIII"),
        dyn=struct.Struct(e + "iI"),
        sym=struct.Struct(e + "IIIBBH"),
        shndx_offset=14,
        half=struct.Struct(e + "H"),
        word=struct.Struct(e + "I"),
        word2=struct.Struct(e + "II"),
        word3=struct.Struct(e + "III"),
        word4=struct.Struct(e + "IIII"),
        verneed=struct.Struct(e + "HHIII"),
        vernaux=struct.Struct(e + "IHHII"),
        chdr_size=12,
        xword_size=4,
        rel_size=8,
        rela_size=12,
        endian=e,
    )


_LAYOUTS = {(c, le): _layout(c, le) for c in (True, False) for le in (True, False)}


@dataclass
class _Phdr:
    p_type: int
    p_offset: int
    p_vaddr: int
    p_filesz: int


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
    except (struct.error, IndexError, ValueError, OverflowError) as exc:  # a bound we did not foresee
        raise FastReaderDeclined(f"{type(exc).__name__}: {exc}") from None


class _Reader:
    def __init__(self, data: Buffer) -> None:
        self.data = data
        self.size = len(data)

    # -- bounds-checked primitives -------------------------------------------------------

    def _need(self, offset: int, length: int, what: str) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise FastReaderDeclined(f"{what} at {offset:#x}+{length:#x} is outside the file")

    def _unpack(self, st: struct.Struct, offset: int, what: str) -> tuple[int, ...]:
        self._need(offset, st.size, what)
        return st.unpack_from(self.data, offset)

    def _cstring_lenient(self, offset: int) -> str:
        """pyelftools StringTableSection.get_string: '' when unterminated, bad UTF-8 replaced."""
        if offset >= self.size:
            return ""
        end = self.data.find(b"\0", offset)
        if end <= offset:
            return ""
        return self.data[offset:end].decode("utf-8", "replace")

    def _cstring_strict(self, offset: int) -> str:
        """pyelftools' dynamic-segment string table: strict UTF-8 (bad bytes are its error)."""
        if offset >= self.size:
            return ""
        end = self.data.find(b"\0", offset)
        if end <= offset:
            return ""
        try:
            return self.data[offset:end].decode("utf-8")
        except UnicodeDecodeError:
            raise FastReaderDeclined("string is not UTF-8") from None

    def _cstring_window(self, offset: int) -> str:
        """The reference reader's DT_VERNEED strings: must end within a 4096-byte window."""
        end = self.data.find(b"\0", offset, min(offset + _CSTRING_WINDOW, self.size)) if offset < self.size else -1
        if end < 0:
            raise FastReaderDeclined("unterminated version string")
        return self.data[offset:end].decode("utf-8", "replace")

    # -- top level -----------------------------------------------------------------------

    def read(self) -> RawElf:
        data = self.data
        if self.size < 16 or data[:4] != b"\x7fELF":
            raise FastReaderDeclined("no ELF magic")
        ei_class, ei_data, osabi = data[4], data[5], data[7]
        if ei_class not in (1, 2) or ei_data not in (1, 2):
            raise FastReaderDeclined("unknown ELF class or data encoding")
        if osabi not in (0, 3):  # SYSV, GNU/Linux; others have OS-specific tables
            raise FastReaderDeclined(f"OS ABI {osabi}")
        self.elf64 = ei_class == 2
        self.little = ei_data == 1
        lay = self.lay = _LAYOUTS[(self.elf64, self.little)]
        (e_type, e_machine, _ver, e_entry, e_phoff, e_shoff, _flags, _ehsize, phentsize, phnum, shentsize, shnum, shstrndx) = self._unpack(
            lay.ehdr, 16, "ELF header"
        )
        if e_type > 3:  # core dumps and OS/processor-specific types
            raise FastReaderDeclined(f"ELF type {e_type}")
        self.e_machine = e_machine
        raw = RawElf(
            ei_class=64 if self.elf64 else 32,
            little_endian=self.little,
            e_machine=e_machine,
            e_type=e_type,
            e_entry=e_entry,
            has_section_headers=e_shoff != 0 and shnum > 0,
        )
        self.phdrs = self._program_headers(e_phoff, phentsize, phnum)
        self.shdrs = self._section_headers(e_shoff, shentsize, shnum, shstrndx) if raw.has_section_headers else []
        if e_shoff != 0 and shnum == 0:
            raise FastReaderDeclined("extended section numbering")
        self.loads = [p for p in self.phdrs if p.p_type == PT_LOAD]

        dyn_segment: _Phdr | None = None
        for ph in self.phdrs:
            if ph.p_type == PT_INTERP:
                raw.interpreter = self._interpreter(ph.p_offset)
            elif ph.p_type == PT_DYNAMIC:
                raw.has_dynamic = True
                dyn_segment = ph
                self._check_segment_string_table(ph)
            elif ph.p_type == PT_LOAD:
                raw.has_load = True
            elif ph.p_type == PT_NOTE and raw.abi_tag is None:
                raw.abi_tag = self._abi_tag(ph.p_offset, ph.p_filesz)

        if raw.has_section_headers:
            self._read_sections(raw)
        if raw.debug_only:
            return raw
        self._read_dynamic(raw, dyn_segment)
        if raw.has_section_headers:
            self._read_versions_from_sections(raw)
        elif dyn_segment is not None:
            self._read_versions_from_segment(raw)
        return raw

    # -- headers ---------------------------------------------------------------------------

    def _program_headers(self, phoff: int, phentsize: int, phnum: int) -> list[_Phdr]:
        if phnum == 0:
            return []
        if phnum == 0xFFFF or phoff == 0 or phentsize < self.lay.phdr.size:
            raise FastReaderDeclined("unusual program header table")
        self._need(phoff, (phnum - 1) * phentsize + self.lay.phdr.size, "program header table")
        out = []
        unpack = self.lay.phdr.unpack_from
        for i in range(phnum):
            f = unpack(self.data, phoff + i * phentsize)
            if self.elf64:  # type, flags, offset, vaddr, paddr, filesz, memsz, align
                out.append(_Phdr(f[0], f[2], f[3], f[5]))
            else:  # type, offset, vaddr, paddr, filesz, memsz, flags, align
                out.append(_Phdr(f[0], f[1], f[2], f[4]))
        return out

    def _section_headers(self, shoff: int, shentsize: int, shnum: int, shstrndx: int) -> list[_Shdr]:
        if shentsize < self.lay.shdr.size or shstrndx == 0 or shstrndx >= shnum:
            raise FastReaderDeclined("unusual section header table")
        self._need(shoff, (shnum - 1) * shentsize + self.lay.shdr.size, "section header table")
        table = self.data[shoff : shoff + shnum * shentsize]
        if shentsize == self.lay.shdr.size:
            out = list(map(_Shdr._make, self.lay.shdr.iter_unpack(table)))
        else:
            out = [_Shdr._make(self.lay.shdr.unpack_from(table, i * shentsize)) for i in range(shnum)]
        strtab = out[shstrndx]
        self.shstrtab = strtab.sh_offset
        self.shstrtab_bytes = self.data[strtab.sh_offset : strtab.sh_offset + strtab.sh_size]
        for sh in out:
            if sh.sh_type in _CHECKED_TYPES or sh.sh_flags & SHF_COMPRESSED:
                self._check_section(sh, out)
        return out

    def _check_section(self, sh: _Shdr, all_sections: list[_Shdr]) -> None:
        """Refuse what pyelftools would refuse when it builds this section's object."""
        t = sh.sh_type

        def linked(types: tuple[int, ...]) -> _Shdr:
            if sh.sh_link >= len(all_sections) or all_sections[sh.sh_link].sh_type not in types:
                raise FastReaderDeclined(f"section type {t:#x} links to an unexpected section")
            return all_sections[sh.sh_link]

        if sh.sh_flags & SHF_COMPRESSED:
            self._need(sh.sh_offset, self.lay.chdr_size, "compression header")
        if t in (SHT_SYMTAB, SHT_DYNSYM):
            linked((SHT_STRTAB,))
            if sh.sh_entsize <= 0 or sh.sh_size % sh.sh_entsize:
                raise FastReaderDeclined("symbol table entry size")
        elif t in (SHT_SUNW_LDYNSYM, SHT_SUNW_SYMINFO):
            raise FastReaderDeclined("Solaris symbol tables")
        elif t in (SHT_GNU_VERNEED, SHT_GNU_VERDEF):
            linked((SHT_STRTAB,))
        elif t == SHT_GNU_VERSYM:
            linked((SHT_SYMTAB, SHT_DYNSYM))
        elif t in (SHT_REL, SHT_RELA):
            if sh.sh_entsize != (self.lay.rel_size if t == SHT_REL else self.lay.rela_size):
                raise FastReaderDeclined("relocation entry size")
        elif t == SHT_HASH:
            linked((SHT_SYMTAB, SHT_DYNSYM))
            if sh.sh_size:
                nbucket, nchain = self._unpack(self.lay.word2, sh.sh_offset, "hash table")
                self._need(sh.sh_offset, 8 + 4 * (nbucket + nchain), "hash table")
        elif t == SHT_GNU_HASH:
            linked((SHT_SYMTAB, SHT_DYNSYM))
            nbucket, _symoffset, bloom, _shift = self._unpack(self.lay.word4, sh.sh_offset, "GNU hash table")
            self._need(sh.sh_offset, 16 + bloom * self.lay.xword_size + 4 * nbucket, "GNU hash table")
        elif t == SHT_DYNAMIC:
            linked((SHT_STRTAB, SHT_NOBITS, SHT_NULL))
        elif t == SHT_ATTRIBUTES and self.e_machine in (EM_ARM, EM_RISCV):
            self._need(sh.sh_offset, 1, "attributes section")
            if self.data[sh.sh_offset] != ord("A"):
                raise FastReaderDeclined("attributes section version")

    def _interpreter(self, offset: int) -> str:
        end = self.data.find(b"\0", offset) if offset < self.size else -1
        if end < 0:
            raise FastReaderDeclined("unterminated interpreter path")
        try:
            return self.data[offset:end].decode("utf-8")
        except UnicodeDecodeError:
            raise FastReaderDeclined("interpreter path is not UTF-8") from None

    def _check_segment_string_table(self, ph: _Phdr) -> None:
        # pyelftools links a PT_DYNAMIC to the SHT_DYNAMIC section at the same offset and
        # builds that section's sh_link target; a link past the table is its error.
        for sh in self.shdrs:
            if sh.sh_type == SHT_DYNAMIC and sh.sh_offset == ph.p_offset:
                if sh.sh_link >= len(self.shdrs):
                    raise FastReaderDeclined("dynamic section string table link")
                return

    # -- notes -----------------------------------------------------------------------------

    def _abi_tag(self, offset: int, size: int) -> tuple[int, int, int, int] | None:
        """First NT_GNU_ABI_TAG note in [offset, offset+size), walked as pyelftools walks it."""
        end = offset + size
        while offset + 12 < end:
            namesz, descsz, ntype = self._unpack(self.lay.word3, offset, "note header")
            offset += 12
            name: str | None = None
            if namesz:
                disk = (namesz + 3) & ~3
                raw_name = self.data[offset : offset + disk]
                nul = raw_name.find(b"\0")
                if nul < 0:
                    raise FastReaderDeclined("note name without terminator")
                name = raw_name[:nul].decode("latin-1")
                offset += disk
            if name == "GNU" and ntype == NT_GNU_ABI_TAG:
                tag = self._unpack(self.lay.word4, offset, "ABI tag note")
                if descsz != 16 or tag[0] in (4, 5):  # the reference reader turns OS 4/5 into -1
                    raise FastReaderDeclined("unusual ABI tag note")
                return tag  # type: ignore[return-value]
            if name == "GNU" and ntype == NT_GNU_PROPERTY_TYPE_0:
                self._check_properties(offset, descsz)
            offset += (descsz + 3) & ~3
        return None

    def _check_properties(self, offset: int, descsz: int) -> None:
        """pyelftools parses every GNU property; make sure each one lies inside the file."""
        end = offset + descsz
        align = 3 if self.elf64 else 2  # round-up exponents, as pyelftools uses
        count = 0
        while offset < end:
            count += 1
            if count > _MAX_PROPERTIES:
                raise FastReaderDeclined("too many GNU properties")
            _ptype, datasz = self._unpack(self.lay.word2, offset, "GNU property")
            padded = ((datasz + (1 << align) - 1) >> align) << align
            self._need(offset, 8 + max(padded, 8), "GNU property")
            offset += ((datasz + 8 + (1 << align) - 1) >> align) << align

    # -- sections --------------------------------------------------------------------------

    def _read_sections(self, raw: RawElf) -> None:
        alloc_with_data = alloc_nobits = 0
        names = raw.section_names
        shstrtab = self.shstrtab
        table = self.shstrtab_bytes
        for sh in self.shdrs:
            end = table.find(b"\0", sh.sh_name)
            names.append(table[sh.sh_name : end].decode("utf-8", "replace") if end >= 0 else self._cstring_lenient(shstrtab + sh.sh_name))
            if sh.sh_type == SHT_SYMTAB:
                raw.has_symtab = True
            elif sh.sh_type == SHT_NOTE and raw.abi_tag is None:
                raw.abi_tag = self._abi_tag(sh.sh_offset, sh.sh_size)
            if sh.sh_flags & SHF_ALLOC and sh.sh_size:
                if sh.sh_type == SHT_NOBITS:
                    alloc_nobits += 1
                else:
                    alloc_with_data += 1
        has_debug = any(n.startswith((".debug_", ".zdebug_")) for n in names)
        raw.debug_only = has_debug and alloc_nobits > 0 and alloc_with_data == 0 and raw.e_type in (2, 3)

    # -- dynamic table ---------------------------------------------------------------------

    def _dynamic_tags(self, offset: int, limit: int) -> list[tuple[int, int]]:
        """(tag, value) pairs up to and including DT_NULL; decline if DT_NULL is not within limit."""
        dyn = self.lay.dyn
        end = min(offset + limit, self.size)
        if offset < 0 or offset >= end:
            raise FastReaderDeclined("dynamic table outside the file")
        count = (end - offset) // dyn.size
        tags: list[tuple[int, int]] = []
        for tag, value in dyn.iter_unpack(self.data[offset : offset + count * dyn.size]):
            tags.append((tag, value))
            if tag == DT_NULL:
                return tags
        raise FastReaderDeclined("dynamic table without DT_NULL")

    def _read_dynamic(self, raw: RawElf, segment: _Phdr | None) -> None:
        section = next((s for s in self.shdrs if s.sh_type == SHT_DYNAMIC), None)
        if section is not None:
            if self.shdrs[section.sh_link].sh_type != SHT_STRTAB:
                raise FastReaderDeclined("dynamic section without a string table")
            tags = self._dynamic_tags(section.sh_offset, max(section.sh_size, self.lay.dyn.size))
            strtab = self.shdrs[section.sh_link].sh_offset
            string = self._cstring_lenient
        elif segment is None:
            return
        elif self.shdrs:
            raise FastReaderDeclined("PT_DYNAMIC without a dynamic section")
        elif segment.p_filesz == 0:
            self.segment_tags: list[tuple[int, int]] = []
            return
        else:
            tags = self._dynamic_tags(segment.p_offset, segment.p_filesz)
            self.segment_tags = tags
            first_strtab = next((v for t, v in tags if t == DT_STRTAB), None)
            strtab = self._address_offset(first_strtab) if first_strtab is not None else None
            if strtab is None:
                raise FastReaderDeclined("dynamic segment without a mapped DT_STRTAB")
            string = self._cstring_strict
        for tag, value in tags:
            if tag == DT_NULL:
                break
            if tag == DT_NEEDED:
                raw.needed.append(string(strtab + value))
            elif tag == DT_SONAME:
                raw.soname = string(strtab + value)
            elif tag == DT_RPATH:
                raw.rpath.extend(p for p in string(strtab + value).split(":") if p)
            elif tag == DT_RUNPATH:
                raw.runpath.extend(p for p in string(strtab + value).split(":") if p)
            elif tag == DT_FLAGS:
                raw.flags = value
            elif tag == DT_FLAGS_1:
                raw.flags_1 = value

    def _address_offset(self, address: int) -> int | None:
        """File offset of a virtual address: the first PT_LOAD whose file image holds it."""
        for ph in self.loads:
            if ph.p_vaddr <= address and address + 1 <= ph.p_vaddr + ph.p_filesz:
                return address - ph.p_vaddr + ph.p_offset
        return None

    # -- symbol versions -------------------------------------------------------------------

    def _read_versions_from_sections(self, raw: RawElf) -> None:
        verneed = versym = dynsym = None
        versym_index = dynsym_index = -1
        for i, sh in enumerate(self.shdrs):
            if sh.sh_type == SHT_GNU_VERNEED:
                verneed = sh
            elif sh.sh_type == SHT_GNU_VERSYM:
                versym, versym_index = sh, i
            elif sh.sh_type == SHT_DYNSYM:
                dynsym, dynsym_index = sh, i
        if verneed is None:
            return
        del versym_index
        strtab = self.shdrs[verneed.sh_link].sh_offset
        index_to_name = self._version_needs(
            raw, verneed.sh_offset, verneed.sh_info, lambda off: self._cstring_lenient(strtab + off), zero_count_ok=False
        )
        if versym is None or dynsym is None:
            return
        if versym.sh_link != dynsym_index or versym.sh_entsize != 2 or dynsym.sh_entsize != self.lay.sym.size:
            raise FastReaderDeclined("unusual versym/dynsym pairing")
        nsyms = dynsym.sh_size // dynsym.sh_entsize
        self._need(dynsym.sh_offset, nsyms * dynsym.sh_entsize, "dynamic symbol table")
        nver = versym.sh_size // 2
        count = min(nsyms, nver)
        self._need(versym.sh_offset, 2 * count, "versym table")
        strtab = self.shdrs[dynsym.sh_link].sh_offset
        self._bind_symbols(raw, index_to_name, versym.sh_offset, count, dynsym.sh_offset, strtab, False, _VERSYM_SPECIAL)

    def _version_needs(self, raw: RawElf, offset: int, count: int, string, zero_count_ok: bool) -> dict[int, str]:  # type: ignore[no-untyped-def]
        """Walk Elf_Verneed/Elf_Vernaux; decline on loops or counts the reference treats specially."""
        if count > _MAX_VERSIONS:
            raise FastReaderDeclined("too many version needs")
        index_to_name: dict[int, str] = {}
        for n in range(count):
            _version, cnt, vn_file, vn_aux, vn_next = self._unpack(self.lay.verneed, offset, "version need")
            if (cnt == 0 and not zero_count_ok) or cnt > _MAX_VERSIONS:
                raise FastReaderDeclined("version need with an odd count")
            names = raw.version_needs.setdefault(string(vn_file), [])
            aux = offset + vn_aux
            for k in range(cnt):
                _hash, _flags, other, vna_name, vna_next = self._unpack(self.lay.vernaux, aux, "version need entry")
                name = string(vna_name)
                names.append(name)
                index_to_name[other & _VER_NDX_MASK] = name
                if k + 1 < cnt and vna_next == 0:
                    raise FastReaderDeclined("version need entries loop")
                aux += vna_next
            if n + 1 < count and vn_next == 0:
                raise FastReaderDeclined("version needs loop")
            offset += vn_next
        return index_to_name

    def _bind_symbols(
        self,
        raw: RawElf,
        index_to_name: dict[int, str],
        versym: int,
        count: int,
        symtab: int,
        strtab: int,
        strict: bool,
        special: frozenset[int],
    ) -> None:
        """Undefined symbols 1..count-1 whose versym value names a needed version.

        The versym array is searched with bytes.find for each wanted value, so only the
        matching symbols are decoded. `special` holds versym values that the reference path
        being mirrored treats as names (VER_NDX_LOCAL, ...) rather than indices.
        """
        wanted: dict[int, str] = {}
        for index, version in index_to_name.items():
            for value in (index, index | 0x8000):
                if value not in special:
                    wanted[value] = version
        if not wanted or count < 2:
            return
        table = self.data[versym : versym + 2 * count]
        pack = self.lay.half.pack
        hits: dict[str, list[int]] = {}
        for value, version in wanted.items():
            pattern = pack(value)
            found = hits.setdefault(version, [])
            pos = table.find(pattern, 2)
            while pos >= 0:
                if pos & 1:  # straddles two entries
                    pos = table.find(pattern, pos + 1)
                else:
                    found.append(pos >> 1)
                    pos = table.find(pattern, pos + 2)
        data, entsize, shndx_at = self.data, self.lay.sym.size, self.lay.shndx_offset
        word, half = self.lay.word.unpack_from, self.lay.half.unpack_from
        string = self._cstring_strict if strict else self._cstring_lenient
        for version, indices in hits.items():
            if not indices:
                continue
            entries = [symtab + i * entsize for i in indices]
            names = {string(strtab + word(data, e)[0]) for e in entries if half(data, e + shndx_at)[0] == 0}
            if names:
                raw.undefined_versioned.setdefault(version, set()).update(names)

    def _read_versions_from_segment(self, raw: RawElf) -> None:
        """No section headers: follow DT_VERNEED/DT_VERSYM, as the reference reader does."""
        tags = getattr(self, "segment_tags", [])
        seen: dict[int, int] = {}
        for tag, value in tags:
            if tag in seen and tag in (DT_STRTAB, DT_SYMTAB, DT_VERNEED, DT_VERNEEDNUM, DT_VERSYM, DT_HASH, DT_GNU_HASH):
                raise FastReaderDeclined("repeated dynamic tag")
            seen[tag] = value
        if DT_VERNEED not in seen or DT_STRTAB not in seen:
            return
        strtab = self._mapped(seen[DT_STRTAB])
        index_to_name = self._version_needs(
            raw,
            self._mapped(seen[DT_VERNEED]),
            seen.get(DT_VERNEEDNUM, 0),
            lambda off: self._cstring_window(strtab + off),
            zero_count_ok=True,
        )
        if DT_VERSYM not in seen:
            return
        versym = self._mapped(seen[DT_VERSYM])
        nsyms = self._segment_symbol_count(seen)
        symtab = self._address_offset(seen[DT_SYMTAB]) if DT_SYMTAB in seen else None
        if nsyms and symtab is None:
            raise FastReaderDeclined("no mapped DT_SYMTAB")
        if not nsyms:
            return
        assert symtab is not None
        sym = self.lay.sym
        self._need(symtab, nsyms * sym.size, "dynamic symbol table")
        self._need(versym, 2 * nsyms, "versym table")
        # The reference reader decodes every symbol name strictly; do the same check in bulk.
        for entry in range(symtab, symtab + nsyms * sym.size, sym.size):
            self._cstring_strict(strtab + self.lay.word.unpack_from(self.data, entry)[0])
        self._bind_symbols(raw, index_to_name, versym, nsyms, symtab, strtab, True, frozenset())

    def _mapped(self, address: int) -> int:
        offset = self._address_offset(address)
        if offset is None:
            raise FastReaderDeclined(f"address {address:#x} is outside every segment")
        return offset

    def _segment_symbol_count(self, tags: dict[int, int]) -> int:
        """Symbol count from DT_GNU_HASH or DT_HASH, computed as pyelftools computes it."""
        gnu = self._address_offset(tags[DT_GNU_HASH]) if DT_GNU_HASH in tags else None
        if gnu is not None:
            nbucket, symoffset, bloom, _shift = self._unpack(self.lay.word4, gnu, "GNU hash table")
            buckets_at = gnu + 16 + bloom * self.lay.xword_size
            self._need(buckets_at, 4 * nbucket, "GNU hash buckets")
            if nbucket == 0:
                raise FastReaderDeclined("empty GNU hash table")
            buckets = struct.unpack_from(f"{self.lay.endian}{nbucket}I", self.data, buckets_at)
            top = max(buckets)
            if top < symoffset:
                return symoffset
            chain = buckets_at + 4 * nbucket + (top - symoffset) * 4
            word = self.lay.word
            while True:
                (value,) = self._unpack(word, chain, "GNU hash chain")
                if value & 1:
                    return top + 1
                top += 1
                chain += 4
        sysv = self._address_offset(tags[DT_HASH]) if DT_HASH in tags else None
        if sysv is not None:
            nbucket, nchain = self._unpack(self.lay.word2, sysv, "hash table")
            self._need(sysv, 8 + 4 * (nbucket + nchain), "hash table")
            return nchain
        raise FastReaderDeclined("no hash table to size the dynamic symbol table")
