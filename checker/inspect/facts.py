"""Turn a RawElf (tables) into ElfFacts (what a user wants to know)."""

from __future__ import annotations

from functools import lru_cache

from checker.data_files import load
from checker.inspect.raw import RawElf
from checker.models import ElfFacts
from checker.versions import parse_version_name, version_text

ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
DF_1_PIE = 0x08000000
_FLAGS_1 = {0x1: "NOW", 0x8: "NODELETE", 0x800: "NOOPEN", 0x08000000: "PIE"}


def machine_name(raw: RawElf) -> str:
    table = load("machines.json")
    endian = "little" if raw.little_endian else "big"
    key = f"{raw.e_machine}/{raw.ei_class}/{endian}"
    name = table["by_class_and_endianness"].get(key) or table["machines"].get(str(raw.e_machine))
    return name or f"unknown({raw.e_machine})"


def elf_type(raw: RawElf) -> str:
    if raw.e_type == ET_REL:
        return "relocatable"
    if raw.e_type == ET_CORE:
        return "core"
    if raw.debug_only:
        return "debug-only"
    if raw.e_type == ET_EXEC:
        return "executable"
    if raw.e_type == ET_DYN:
        if raw.interpreter or raw.flags_1 & DF_1_PIE or _looks_static_pie(raw):
            return "pie-executable"
        return "shared-library"
    return f"unknown({raw.e_type})"


def _looks_static_pie(raw: RawElf) -> bool:
    # Old linkers do not set DF_1_PIE; a loader-less, dependency-free ET_DYN with an entry
    # point and no SONAME is a static-pie program, not a library. Without PT_DYNAMIC at all
    # (a packer's stub) the loader could not even open it as a library: a program too.
    return not raw.needed and not raw.soname and raw.e_entry != 0


def linkage(raw: RawElf, kind: str) -> str | None:
    if kind in ("relocatable", "core", "debug-only") or kind.startswith("unknown"):
        return None
    if raw.interpreter or raw.needed:
        return "dynamic"
    if kind == "shared-library":
        return "dynamic"
    if raw.e_type == ET_DYN and raw.has_dynamic:
        return "static-pie"
    return "static"


def max_versions(raw: RawElf) -> tuple[dict[str, str], list[str]]:
    """Highest numeric version per namespace, and the sorted non-numeric names."""
    best: dict[str, tuple[int, ...]] = {}
    other: set[str] = set()
    for names in raw.version_needs.values():
        for name in names:
            parsed = parse_version_name(name)
            if parsed is None:
                other.add(name)
            elif parsed.version > best.get(parsed.namespace, ()):
                best[parsed.namespace] = parsed.version
    return {ns: version_text(v) for ns, v in sorted(best.items())}, sorted(other)


@lru_cache(maxsize=4096)  # sort key of the same few hundred version names in every file
def _version_order(name: str) -> tuple[str, tuple[int, ...], str]:
    parsed = parse_version_name(name)
    return (parsed.namespace, parsed.version, name) if parsed else (name, (), name)


def build_facts(raw: RawElf, libc: str, libc_evidence: list[str]) -> ElfFacts:
    kind = elf_type(raw)
    maxima, nonnumeric = max_versions(raw)
    kernel = None
    if raw.abi_tag is not None and raw.abi_tag[0] == 0:
        kernel = ".".join(str(p) for p in raw.abi_tag[1:])
    return ElfFacts(
        elf_class=raw.ei_class,
        endianness="little" if raw.little_endian else "big",
        machine=machine_name(raw),
        type=kind,
        interpreter=raw.interpreter,
        linkage=linkage(raw, kind),
        libc=libc,
        libc_evidence=libc_evidence,
        needed=list(raw.needed),
        soname=raw.soname,
        rpath=list(raw.rpath),
        runpath=list(raw.runpath),
        max_versions=maxima,
        nonnumeric_versions=nonnumeric,
        version_needs={k: list(v) for k, v in raw.version_needs.items()},
        symbols={k: sorted(raw.undefined_versioned[k]) for k in sorted(raw.undefined_versioned, key=_version_order)},
        min_kernel=kernel,
        stripped=not raw.has_symtab,
        has_section_headers=raw.has_section_headers,
        flags_1=[name for bit, name in _FLAGS_1.items() if raw.flags_1 & bit],
    )
