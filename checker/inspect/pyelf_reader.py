"""Reference reader built on pyelftools: slow per symbol, but the trusted baseline."""

from __future__ import annotations

from typing import BinaryIO

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection, DynamicSegment
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import NoteSection, SymbolTableSection

from checker.inspect.raw import ElfParseError, RawElf

_ET = {"ET_NONE": 0, "ET_REL": 1, "ET_EXEC": 2, "ET_DYN": 3, "ET_CORE": 4}
_NT_GNU_ABI_TAG = "NT_GNU_ABI_TAG"
_VER_NDX_MASK = 0x7FFF
# Guards against hostile tables: far beyond anything a real linker writes.
_MAX_VERNEED = 4096
_MAX_VERNAUX = 4096


def read_raw(stream: BinaryIO) -> RawElf:
    """Parse the tables static-check needs; raise ElfParseError with a one-line reason."""
    try:
        return _read(ELFFile(stream))
    except ElfParseError:
        raise
    except (ELFError, Exception) as exc:  # pyelftools raises many types on corrupt input
        raise ElfParseError(_describe(exc)) from None


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"corrupt ELF ({text[:160]})"


def _e_type(header_type: object) -> int:
    if isinstance(header_type, int):
        return header_type
    return _ET.get(str(header_type), -1)


def _read(elf: ELFFile) -> RawElf:
    hdr = elf.header
    raw = RawElf(
        ei_class=elf.elfclass,
        little_endian=elf.little_endian,
        e_machine=_machine_number(elf),
        e_type=_e_type(hdr["e_type"]),
        e_entry=hdr["e_entry"],
        has_section_headers=hdr["e_shoff"] != 0 and elf.num_sections() > 0,
    )
    dyn_segment: DynamicSegment | None = None
    for seg in elf.iter_segments():
        ptype = seg["p_type"]
        if ptype == "PT_INTERP":
            raw.interpreter = seg.get_interp_name()
        elif ptype == "PT_DYNAMIC":
            raw.has_dynamic = True
            dyn_segment = seg
        elif ptype == "PT_LOAD":
            raw.has_load = True
        elif ptype == "PT_NOTE" and raw.abi_tag is None:
            raw.abi_tag = _abi_tag(seg.iter_notes())

    if raw.has_section_headers:
        _read_sections(elf, raw)
    if raw.debug_only:
        return raw
    dynamic = _dynamic_table(elf, dyn_segment)
    if dynamic is not None:
        _read_dynamic(dynamic, raw)
    if raw.has_section_headers:
        _read_versions_from_sections(elf, raw)
    elif dyn_segment is not None:
        _read_versions_from_segment(elf, dyn_segment, raw)
    return raw


def _machine_number(elf: ELFFile) -> int:
    value = elf.header["e_machine"]
    if isinstance(value, int):
        return value
    from elftools.elf.enums import ENUM_E_MACHINE

    return int(ENUM_E_MACHINE.get(value, -1))


def _read_sections(elf: ELFFile, raw: RawElf) -> None:
    alloc_with_data = 0
    alloc_nobits = 0
    for sec in elf.iter_sections():
        raw.section_names.append(sec.name)
        stype = sec["sh_type"]
        if stype == "SHT_SYMTAB":
            raw.has_symtab = True
        elif isinstance(sec, NoteSection) and raw.abi_tag is None and stype == "SHT_NOTE":
            raw.abi_tag = _abi_tag(sec.iter_notes())
        if sec["sh_flags"] & 0x2 and sec["sh_size"]:  # SHF_ALLOC
            if stype == "SHT_NOBITS":
                alloc_nobits += 1
            else:
                alloc_with_data += 1
    has_debug = any(n.startswith(".debug_") or n.startswith(".zdebug_") for n in raw.section_names)
    raw.debug_only = has_debug and alloc_nobits > 0 and alloc_with_data == 0 and raw.e_type in (2, 3)


def _abi_tag(notes: object) -> tuple[int, int, int, int] | None:
    for note in notes:  # type: ignore[attr-defined]
        if note["n_type"] == _NT_GNU_ABI_TAG and note["n_name"] == "GNU":
            desc = note["n_desc"]
            return (
                _abi_os_number(desc["abi_os"]),
                desc["abi_major"],
                desc["abi_minor"],
                desc["abi_tiny"],
            )
    return None


def _abi_os_number(value: object) -> int:
    names = {"ELF_NOTE_OS_LINUX": 0, "ELF_NOTE_OS_GNU": 1, "ELF_NOTE_OS_SOLARIS2": 2, "ELF_NOTE_OS_FREEBSD": 3}
    return value if isinstance(value, int) else names.get(str(value), -1)


def _dynamic_table(elf: ELFFile, segment: DynamicSegment | None) -> DynamicSection | DynamicSegment | None:
    if elf.num_sections():
        for sec in elf.iter_sections():
            if isinstance(sec, DynamicSection) and sec["sh_type"] != "SHT_NOBITS":
                return sec
    return segment


def _read_dynamic(dynamic: DynamicSection | DynamicSegment, raw: RawElf) -> None:
    for tag in dynamic.iter_tags():
        name = tag.entry.d_tag
        if name == "DT_NULL":
            break
        if name == "DT_NEEDED":
            raw.needed.append(tag.needed)
        elif name == "DT_SONAME":
            raw.soname = tag.soname
        elif name == "DT_RPATH":
            raw.rpath.extend(p for p in tag.rpath.split(":") if p)
        elif name == "DT_RUNPATH":
            raw.runpath.extend(p for p in tag.runpath.split(":") if p)
        elif name == "DT_FLAGS":
            raw.flags = tag.entry.d_val
        elif name == "DT_FLAGS_1":
            raw.flags_1 = tag.entry.d_val


def _read_versions_from_sections(elf: ELFFile, raw: RawElf) -> None:
    verneed: GNUVerNeedSection | None = None
    versym: GNUVerSymSection | None = None
    dynsym: SymbolTableSection | None = None
    for sec in elf.iter_sections():
        if sec["sh_type"] == "SHT_NOBITS":
            continue
        if isinstance(sec, GNUVerNeedSection):
            verneed = sec
        elif isinstance(sec, GNUVerSymSection):
            versym = sec
        elif sec["sh_type"] == "SHT_DYNSYM" and isinstance(sec, SymbolTableSection):
            dynsym = sec
    if verneed is None:
        return
    index_to_name: dict[int, str] = {}
    for count, (needed, auxes) in enumerate(verneed.iter_versions()):
        if count >= _MAX_VERNEED:
            raise ElfParseError("corrupt ELF (version-needs table too long)")
        names = raw.version_needs.setdefault(needed.name, [])
        for n, aux in enumerate(auxes):
            if n >= _MAX_VERNAUX:
                raise ElfParseError("corrupt ELF (version-needs table too long)")
            names.append(aux.name)
            index_to_name[aux["vna_other"] & _VER_NDX_MASK] = aux.name
    if versym is None or dynsym is None:
        return
    for i, sym in enumerate(dynsym.iter_symbols()):
        if i == 0 or sym["st_shndx"] != "SHN_UNDEF":
            continue
        if i >= versym.num_symbols():
            break
        ndx = versym.get_symbol(i)["ndx"]
        if not isinstance(ndx, int):  # VER_NDX_LOCAL / VER_NDX_GLOBAL
            continue
        version = index_to_name.get(ndx & _VER_NDX_MASK)
        if version is not None:
            raw.undefined_versioned.setdefault(version, set()).add(sym.name)


def _read_versions_from_segment(elf: ELFFile, segment: DynamicSegment, raw: RawElf) -> None:
    """Files without section headers (sstrip, packers): follow DT_VERNEED/DT_VERSYM addresses."""
    tags = {t.entry.d_tag: t.entry.d_val for t in segment.iter_tags()}
    if "DT_VERNEED" not in tags or "DT_STRTAB" not in tags:
        return
    strtab = _file_offset(elf, tags["DT_STRTAB"])
    offset = _file_offset(elf, tags["DT_VERNEED"])
    stream, structs = elf.stream, elf.structs
    index_to_name: dict[int, str] = {}
    for count in range(min(tags.get("DT_VERNEEDNUM", 0), _MAX_VERNEED)):
        del count
        need = structs.Elf_Verneed.parse_stream(_seek(stream, offset))
        file_name = _cstring(stream, strtab + need["vn_file"])
        names = raw.version_needs.setdefault(file_name, [])
        aux_off = offset + need["vn_aux"]
        for _ in range(min(need["vn_cnt"], _MAX_VERNAUX)):
            aux = structs.Elf_Vernaux.parse_stream(_seek(stream, aux_off))
            name = _cstring(stream, strtab + aux["vna_name"])
            names.append(name)
            index_to_name[aux["vna_other"] & _VER_NDX_MASK] = name
            if not aux["vna_next"]:
                break
            aux_off += aux["vna_next"]
        if not need["vn_next"]:
            break
        offset += need["vn_next"]
    if "DT_VERSYM" not in tags:
        return
    versym = _file_offset(elf, tags["DT_VERSYM"])
    for i, sym in enumerate(segment.iter_symbols()):
        if i == 0 or sym["st_shndx"] != "SHN_UNDEF":
            continue
        ndx = int.from_bytes(_seek(stream, versym + 2 * i).read(2), "little" if elf.little_endian else "big")
        version = index_to_name.get(ndx & _VER_NDX_MASK)
        if version is not None:
            raw.undefined_versioned.setdefault(version, set()).add(sym.name)


def _file_offset(elf: ELFFile, address: int) -> int:
    offsets = list(elf.address_offsets(address))
    if not offsets:
        raise ElfParseError(f"corrupt ELF (dynamic address {address:#x} is outside every segment)")
    return offsets[0]


def _seek(stream: BinaryIO, offset: int) -> BinaryIO:
    stream.seek(offset)
    return stream


def _cstring(stream: BinaryIO, offset: int, limit: int = 4096) -> str:
    data = _seek(stream, offset).read(limit)
    end = data.find(b"\0")
    if end < 0:
        raise ElfParseError("corrupt ELF (unterminated string in dynamic string table)")
    return data[:end].decode("utf-8", "replace")
