"""Reference reader built on pyelftools: slow per symbol, but the trusted baseline.

pyelftools parses the ELF header and every record (its structs know each class,
endianness and enum); the walking of tables is ours and bounded (see bounds.py), so
corrupt files fail fast instead of making pyelftools read far or loop.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile

from checker.inspect.bounds import Layout, Section, check_layout, check_range, linked_strtab, parse_at, read_at, string_at
from checker.inspect.raw import ElfParseError, RawElf

_ET = {"ET_NONE": 0, "ET_REL": 1, "ET_EXEC": 2, "ET_DYN": 3, "ET_CORE": 4}
_VER_NDX_MASK = 0x7FFF
_SHF_ALLOC = 0x2
_PF_X = 0x1
_NT_GNU_ABI_TAG = 1
# Guards against hostile tables: far beyond anything a real linker writes.
_MAX_VERNEED_ENTRIES = 65536
_MAX_NOTES_BYTES = 1 << 20
_MAX_INTERP = 4096


def read_raw(stream: BinaryIO) -> RawElf:
    """Parse the tables static-check needs; raise ElfParseError with a one-line reason."""
    try:
        size = stream.seek(0, 2)
        _check_ident(stream, size)
        elf = ELFFile(stream)
        return _read(elf, check_layout(elf, size))
    except ElfParseError:
        raise
    except RecursionError:
        raise ElfParseError("corrupt ELF (tables nest too deeply)") from None
    except (ELFError, ConstructError, ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError, OSError) as exc:
        raise ElfParseError(_describe(exc)) from None


def _check_ident(stream: BinaryIO, size: int) -> None:
    stream.seek(0)
    ident = stream.read(16)
    if len(ident) < 16 or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise ElfParseError("corrupt ELF: invalid class or byte order in the ELF identification")
    header_size = 52 if ident[4] == 1 else 64
    if size < header_size:
        raise ElfParseError(f"truncated ELF: {size} bytes, shorter than the {header_size}-byte ELF header")


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"corrupt ELF ({text[:160]})"


def _e_type(header_type: object) -> int:
    if isinstance(header_type, int):
        return header_type
    return _ET.get(str(header_type), -1)


def _read(elf: ELFFile, layout: Layout) -> RawElf:
    hdr = elf.header
    raw = RawElf(
        ei_class=elf.elfclass,
        little_endian=elf.little_endian,
        e_machine=_machine_number(elf),
        e_type=_e_type(hdr["e_type"]),
        e_entry=hdr["e_entry"],
        has_section_headers=bool(layout.sections),
    )
    if layout.sections:
        _read_sections(elf, layout, raw)
    if raw.debug_only and any(seg["p_type"] == "PT_LOAD" and seg["p_flags"] & _PF_X and seg["p_filesz"] for seg in layout.segments):
        raw.debug_only = False  # code in the file: a program whose section headers lie, not a debug file
    dyn_segment = None
    for seg in layout.segments:
        ptype = seg["p_type"]
        if ptype == "PT_LOAD":
            raw.has_load = True
            if not raw.debug_only and raw.e_type in (2, 3):  # a truncated program cannot load
                check_range("PT_LOAD segment", seg["p_offset"], seg["p_filesz"], layout.size)
        elif ptype == "PT_DYNAMIC":
            raw.has_dynamic = True
            dyn_segment = seg
        elif raw.debug_only:
            continue  # segment contents were dropped by objcopy --only-keep-debug
        elif ptype == "PT_INTERP":
            raw.interpreter = _interpreter(elf, seg, layout.size)
        elif ptype == "PT_NOTE" and raw.abi_tag is None:
            raw.abi_tag = _abi_tag(elf, seg["p_offset"], seg["p_filesz"], layout.size)
    if raw.debug_only:
        return raw
    # The loader reads PT_DYNAMIC, not sections: follow it when the section headers show no dynamic section.
    if layout.sections and (dyn_segment is None or _section_of_type(layout, "SHT_DYNAMIC") is not None):
        _read_dynamic_from_sections(elf, layout, raw)
        _read_versions_from_sections(elf, layout, raw)
    elif dyn_segment is not None:
        _read_from_dynamic_segment(elf, layout, dyn_segment, raw)
    return raw


def _machine_number(elf: ELFFile) -> int:
    value = elf.header["e_machine"]
    if isinstance(value, int):
        return value
    from elftools.elf.enums import ENUM_E_MACHINE

    return int(ENUM_E_MACHINE.get(value, -1))


def _interpreter(elf: ELFFile, seg: Any, size: int) -> str:
    length = min(seg["p_filesz"], _MAX_INTERP)
    data = read_at(elf.stream, seg["p_offset"], length, size, "PT_INTERP")
    end = data.find(b"\0")
    if end < 0:
        raise ElfParseError("corrupt ELF: PT_INTERP holds no NUL-terminated interpreter path")
    return data[:end].decode("utf-8", "replace")


def _read_sections(elf: ELFFile, layout: Layout, raw: RawElf) -> None:
    alloc_code_or_data = 0
    alloc_nobits = 0
    for sec in layout.sections:
        raw.section_names.append(sec.name)
        stype = sec.type
        if stype == "SHT_SYMTAB":
            raw.has_symtab = True
        if not sec.header["sh_flags"] & _SHF_ALLOC or not sec.header["sh_size"]:
            continue
        if stype == "SHT_NOBITS":
            alloc_nobits += 1
        elif stype != "SHT_NOTE":  # objcopy --only-keep-debug keeps notes, nothing else
            alloc_code_or_data += 1
    raw.debug_only = alloc_nobits > 0 and alloc_code_or_data == 0 and raw.e_type in (2, 3)
    if raw.debug_only:
        return
    for sec in layout.sections:
        if sec.type == "SHT_NOTE" and sec.has_data and raw.abi_tag is None:
            raw.abi_tag = _abi_tag(elf, sec.header["sh_offset"], sec.header["sh_size"], layout.size)


def _abi_tag(elf: ELFFile, offset: int, length: int, size: int) -> tuple[int, int, int, int] | None:
    """Find NT_GNU_ABI_TAG in a note area; notes are parsed from a bounded copy."""
    data = read_at(elf.stream, offset, min(length, _MAX_NOTES_BYTES), size, "note")
    order = "little" if elf.little_endian else "big"
    pos = 0
    while pos + 12 <= len(data):
        namesz, descsz, ntype = (int.from_bytes(data[pos + i : pos + i + 4], order) for i in (0, 4, 8))
        name_at = pos + 12
        desc_at = name_at + _align4(namesz)
        end = desc_at + _align4(descsz)
        if end > len(data):
            break  # a malformed note ends the area, as readelf does
        name = data[name_at : name_at + namesz].rstrip(b"\0")
        if ntype == _NT_GNU_ABI_TAG and name == b"GNU" and descsz >= 16:
            words = [int.from_bytes(data[desc_at + i : desc_at + i + 4], order) for i in (0, 4, 8, 12)]
            return words[0], words[1], words[2], words[3]
        pos = end
    return None


def _align4(n: int) -> int:
    return (n + 3) & ~3


# ---- dynamic table


def _dynamic_entries(elf: ELFFile, offset: int, length: int, size: int) -> list[tuple[str, int]]:
    """(d_tag name, d_val) up to DT_NULL, never past the table."""
    dyn = elf.structs.Elf_Dyn
    out = []
    for i in range(length // dyn.sizeof()):
        entry = parse_at(dyn, elf.stream, offset + i * dyn.sizeof(), size, "dynamic table")
        tag = entry["d_tag"]
        if tag == "DT_NULL":
            break
        out.append((str(tag), entry["d_val"]))
    return out


def _apply_dynamic(elf: ELFFile, entries: list[tuple[str, int]], strtab: tuple[int, int] | None, raw: RawElf) -> None:
    def text(value: int, what: str) -> str:
        if strtab is None:
            raise ElfParseError(f"corrupt ELF: {what} without a dynamic string table")
        return string_at(elf.stream, strtab, value, what)

    for tag, value in entries:
        if tag == "DT_NEEDED":
            raw.needed.append(text(value, "DT_NEEDED"))
        elif tag == "DT_SONAME":
            raw.soname = text(value, "DT_SONAME")
        elif tag == "DT_RPATH":
            raw.rpath.extend(p for p in text(value, "DT_RPATH").split(":") if p)
        elif tag == "DT_RUNPATH":
            raw.runpath.extend(p for p in text(value, "DT_RUNPATH").split(":") if p)
        elif tag == "DT_FLAGS":
            raw.flags = value
        elif tag == "DT_FLAGS_1":
            raw.flags_1 = value


def _section_of_type(layout: Layout, stype: str) -> Section | None:
    for sec in layout.sections:
        if sec.type == stype and sec.has_data:
            return sec
    return None


def _read_dynamic_from_sections(elf: ELFFile, layout: Layout, raw: RawElf) -> None:
    sec = _section_of_type(layout, "SHT_DYNAMIC")
    if sec is None:
        return
    entries = _dynamic_entries(elf, sec.header["sh_offset"], sec.header["sh_size"], layout.size)
    strings = {tag for tag, _ in entries} & {"DT_NEEDED", "DT_SONAME", "DT_RPATH", "DT_RUNPATH"}
    _apply_dynamic(elf, entries, linked_strtab(layout, sec) if strings else None, raw)


# ---- symbol versions


def _read_versions_from_sections(elf: ELFFile, layout: Layout, raw: RawElf) -> None:
    verneed = _section_of_type(layout, "SHT_GNU_verneed")
    if verneed is None:
        return
    index_to_name = _version_needs(
        elf, verneed.header["sh_offset"], verneed.header["sh_info"], linked_strtab(layout, verneed), layout.size, raw
    )
    versym = _section_of_type(layout, "SHT_GNU_versym")
    dynsym = _section_of_type(layout, "SHT_DYNSYM")
    if versym is None or dynsym is None:
        return
    count = min(dynsym.header["sh_size"] // elf.structs.Elf_Sym.sizeof(), versym.header["sh_size"] // 2)
    strtab = linked_strtab(layout, dynsym)
    _undefined_versioned(elf, dynsym.header["sh_offset"], count, versym.header["sh_offset"], strtab, index_to_name, layout.size, raw)


def _version_needs(elf: ELFFile, offset: int, count: int, strtab: tuple[int, int], size: int, raw: RawElf) -> dict[int, str]:
    """Walk .gnu.version_r (vn_next / vna_next chains) with a global entry budget."""
    need_s, aux_s = elf.structs.Elf_Verneed, elf.structs.Elf_Vernaux
    index_to_name: dict[int, str] = {}
    budget = _MAX_VERNEED_ENTRIES
    for _ in range(count):
        need = parse_at(need_s, elf.stream, offset, size, "version needs")
        names = raw.version_needs.setdefault(string_at(elf.stream, strtab, need["vn_file"], "version needs"), [])
        aux_off = offset + need["vn_aux"]
        for _ in range(need["vn_cnt"]):
            budget -= 1
            if budget < 0:
                raise ElfParseError("corrupt ELF: version-needs table too long (loop?)")
            aux = parse_at(aux_s, elf.stream, aux_off, size, "version needs")
            name = string_at(elf.stream, strtab, aux["vna_name"], "version needs")
            names.append(name)
            index_to_name[aux["vna_other"] & _VER_NDX_MASK] = name
            if not aux["vna_next"]:
                break
            aux_off += aux["vna_next"]
        if not need["vn_next"]:
            break
        offset += need["vn_next"]
    return index_to_name


def _undefined_versioned(
    elf: ELFFile,
    symtab: int,
    count: int,
    versym: int,
    strtab: tuple[int, int],
    index_to_name: dict[int, str],
    size: int,
    raw: RawElf,
) -> None:
    sym_s = elf.structs.Elf_Sym
    check = sym_s.sizeof()
    order = "little" if elf.little_endian else "big"
    versions = read_at(elf.stream, versym, 2 * count, size, "symbol version table")
    for i in range(1, count):
        version = index_to_name.get(int.from_bytes(versions[2 * i : 2 * i + 2], order) & _VER_NDX_MASK)
        if version is None:
            continue
        # Undefined or copy-relocated (defined here, still bound to the library's version): both count.
        sym = parse_at(sym_s, elf.stream, symtab + i * check, size, "dynamic symbol table")
        raw.undefined_versioned.setdefault(version, set()).add(string_at(elf.stream, strtab, sym["st_name"], "dynamic symbol"))


# ---- files without section headers (sstrip, packers): follow the dynamic segment


def _read_from_dynamic_segment(elf: ELFFile, layout: Layout, segment: Any, raw: RawElf) -> None:
    entries = _dynamic_entries(elf, segment["p_offset"], segment["p_filesz"], layout.size)
    tags = dict(entries)
    strtab = None
    if "DT_STRTAB" in tags:
        strtab = (_file_offset(layout, tags["DT_STRTAB"]), tags.get("DT_STRSZ", 0))
    _apply_dynamic(elf, entries, strtab, raw)
    if "DT_VERNEED" not in tags or strtab is None:
        return
    index_to_name = _version_needs(elf, _file_offset(layout, tags["DT_VERNEED"]), tags.get("DT_VERNEEDNUM", 0), strtab, layout.size, raw)
    if "DT_VERSYM" not in tags or "DT_SYMTAB" not in tags:
        return
    symtab = _file_offset(layout, tags["DT_SYMTAB"])
    count = _dynsym_count(elf, layout, tags, symtab)
    _undefined_versioned(elf, symtab, count, _file_offset(layout, tags["DT_VERSYM"]), strtab, index_to_name, layout.size, raw)


def _file_offset(layout: Layout, address: int) -> int:
    for seg in layout.segments:
        if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= address < seg["p_vaddr"] + seg["p_filesz"]:
            return address - seg["p_vaddr"] + seg["p_offset"]
    raise ElfParseError(f"corrupt ELF: dynamic address {address:#x} is outside every loaded segment")


def _dynsym_count(elf: ELFFile, layout: Layout, tags: dict[str, int], symtab: int) -> int:
    """Number of dynamic symbols, from DT_HASH's nchain or by walking DT_GNU_HASH."""
    entsize = elf.structs.Elf_Sym.sizeof()
    limit = max(0, (layout.size - symtab) // entsize)
    order = "little" if elf.little_endian else "big"

    def word(offset: int) -> int:
        return int.from_bytes(read_at(elf.stream, offset, 4, layout.size, "hash table"), order)

    if "DT_HASH" in tags:
        count = word(_file_offset(layout, tags["DT_HASH"]) + 4)
    elif "DT_GNU_HASH" in tags:
        count = _gnu_hash_count(elf, layout, _file_offset(layout, tags["DT_GNU_HASH"]), word, limit)
    else:
        return 0
    if count > limit:
        raise ElfParseError(f"corrupt ELF: hash table claims {count} dynamic symbols, more than the file holds")
    return count


def _gnu_hash_count(elf: ELFFile, layout: Layout, offset: int, word: Any, limit: int) -> int:
    nbuckets, symoffset, bloom_size = word(offset), word(offset + 4), word(offset + 8)
    buckets_at = offset + 16 + bloom_size * (elf.elfclass // 8)
    read_at(elf.stream, buckets_at, 4 * nbuckets, layout.size, "GNU hash buckets")
    highest = max((word(buckets_at + 4 * i) for i in range(nbuckets)), default=0)
    if highest < symoffset:
        return symoffset
    chain_at = buckets_at + 4 * nbuckets
    index = highest
    while index <= limit:
        if word(chain_at + 4 * (index - symoffset)) & 1:
            return index + 1
        index += 1
    raise ElfParseError("corrupt ELF: GNU hash chain never ends")
