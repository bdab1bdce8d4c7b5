"""ELF facts from the inspect layer, checked against binutils readelf for every real fixture."""

from __future__ import annotations

import re
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.inspect.elf_file import inspect_path
from checker.inspect.fast_reader import read_raw_fast
from checker.inspect.pyelf_reader import read_raw
from checker.models import ElfFacts
from tests.elf_edit import SHDR, Elf
from tests.fixtures.build import NAMES
from tests.readelf_truth import readelf, truth

Get = Callable[[str], Path]

NON_ELF = {"script_sh", "empty_file", "pe_stub", "text_file"}
UPX = {n for n in NAMES if n.startswith("upx_")}  # packed: the packer inspector owns their linkage
ELF_FIXTURES = [n for n in NAMES if n not in NON_ELF]

# readelf "Machine:" text + class + byte order -> the name static-check reports (uname -m style).
READELF_MACHINE = {
    ("Advanced Micro Devices X86-64", 64, "little"): "x86_64",
    ("Intel 80386", 32, "little"): "i386",
    ("AArch64", 64, "little"): "aarch64",
    ("IBM S/390", 64, "big"): "s390x",
    ("RISC-V", 64, "little"): "riscv64",
}

# How each fixture was built decides its C library (see tests/fixtures/build.py).
LIBC = {
    **{n: "glibc" for n in ELF_FIXTURES if n.startswith(("c_", "cxx_", "lib_", "zig_", "aarch64_"))},
    "musl_dynamic": "musl",
    "musl_static": "musl",
    "zig_aarch64_musl": "musl",
    "go_nocgo": "none",
    "go_netgo": "none",
    "go_stripped_buildinfo": "none",
    "go_cgo": "glibc",
    "go_cgo_static": "glibc",
    "no_section_headers": "glibc",
    "c_foreign_interp": "unknown",  # FreeBSD's loader: neither glibc's nor musl's
}
del LIBC["lib_versions"]  # calls nothing in libc, so nothing says which libc it wants

_VERSIONED = re.compile(r"^(.+)_(\d+(?:\.\d+)*)$")


def facts_of(path: Path) -> ElfFacts:
    inspection = inspect_path(str(path))
    assert inspection.kind == "elf" and inspection.facts is not None
    return inspection.facts


def segment_types(path: Path) -> set[str]:
    text = readelf(path, "-l")
    return set(re.findall(r"^\s+([A-Z_]+[A-Z0-9_]*)\s+0x", text, re.M))


def expected_max_versions(version_needs: dict[str, list[str]]) -> tuple[dict[str, str], list[str]]:
    """Max per namespace from readelf's list, compared as integer tuples (independent of checker.versions)."""
    best: dict[str, tuple[int, ...]] = {}
    other = set()
    for names in version_needs.values():
        for name in names:
            m = _VERSIONED.match(name)
            if not m:
                other.add(name)
                continue
            ns, ver = m.group(1), tuple(int(p) for p in m.group(2).split("."))
            best[ns] = max(best.get(ns, ()), ver)
    return {ns: ".".join(map(str, v)) for ns, v in best.items()}, sorted(other)


def expected_type_and_linkage(path: Path, t: dict) -> tuple[str, str | None]:
    segs = segment_types(path)
    if t["e_type"] == "REL":
        return "relocatable", None
    if t["e_type"] == "EXEC":
        return "executable", "dynamic" if t["interpreter"] or t["needed"] else "static"
    assert t["e_type"] == "DYN"
    if t["interpreter"] or "PIE" in t["flags_1"]:
        kind = "pie-executable"
    elif t["soname"] or t["needed"]:
        kind = "shared-library"
    else:
        kind = "pie-executable"  # loader-less, dependency-free ET_DYN program: static-pie
    if t["interpreter"] or t["needed"] or kind == "shared-library":
        return kind, "dynamic"
    assert "DYNAMIC" in segs
    return kind, "static-pie"


@pytest.mark.parametrize("name", ELF_FIXTURES)
def test_facts_match_readelf(fixture: Get, name: str) -> None:
    path = fixture(name)
    t = truth(path)
    f = facts_of(path)
    assert f.elf_class == t["class"]
    assert f.endianness == t["endianness"]
    assert f.machine == READELF_MACHINE[(t["machine"], t["class"], t["endianness"])]
    assert f.interpreter == t["interpreter"]
    assert f.needed == t["needed"]
    assert f.soname == t["soname"]
    assert f.rpath == [p for p in t["rpath"] if p]
    assert f.runpath == [p for p in t["runpath"] if p]
    assert f.min_kernel == t["abi_tag_kernel"]
    assert f.stripped == (not t["has_symtab"])
    assert f.has_section_headers == t["has_section_headers"]
    if name not in UPX:
        assert (f.type, f.linkage) == expected_type_and_linkage(path, t)
    if t["has_section_headers"]:
        assert {k: sorted(v) for k, v in f.version_needs.items()} == t["version_needs"]
        assert (f.max_versions, f.nonnumeric_versions) == expected_max_versions(t["version_needs"])
    assert f.symbols == t["version_bound"]


def test_no_section_headers_still_reads_versions(fixture: Get) -> None:
    """readelf -V cannot show version needs without section headers; we follow DT_VERNEED like the loader."""
    f = facts_of(fixture("no_section_headers"))
    original = truth(fixture("c_dynamic"))
    assert {k: sorted(v) for k, v in f.version_needs.items()} == original["version_needs"]
    assert f.symbols == original["version_bound"]
    assert f.linkage == "dynamic" and not f.has_section_headers


@pytest.mark.parametrize("name", sorted(LIBC))
def test_libc_flavour_with_evidence(fixture: Get, name: str) -> None:
    f = facts_of(fixture(name))
    assert f.libc == LIBC[name]
    assert f.libc_evidence, "a libc verdict always comes with evidence"
    t = truth(fixture(name))
    if t["interpreter"]:
        assert f"interpreter {t['interpreter']}" in f.libc_evidence
    if name.startswith("go_") and LIBC[name] == "none":
        assert any("Go" in e for e in f.libc_evidence)


def test_musl_dynamic_evidence_names_plain_libc_so(fixture: Get) -> None:
    f = facts_of(fixture("musl_dynamic"))
    t = truth(fixture("musl_dynamic"))
    musl_libc = [lib for lib in t["needed"] if lib == "libc.so" or lib.startswith("libc.musl-")]
    assert musl_libc
    assert f"NEEDED {musl_libc[0]} (musl)" in f.libc_evidence


@pytest.mark.parametrize(
    ("name", "version", "symbol"),
    [
        ("c_fcntl", "GLIBC_2.28", "fcntl64"),
        ("c_exp", "GLIBC_2.29", "exp"),
        ("c_pthread", "GLIBC_2.34", "pthread_create"),
        ("c_pthread", "GLIBC_2.34", "__libc_start_main"),
        ("lib_tls", "GLIBC_2.3", "__tls_get_addr"),
        ("c_versions", "ZLIB_1.2.10", "z_new"),
        ("c_versions", "VERS_2.10", "v210"),
        ("c_rseq", "GLIBC_2.35", "__rseq_size"),  # defined here by a copy relocation, bound to ld-linux's GLIBC_2.35
        ("cxx_iostream", "GLIBCXX_3.4", "_ZSt4cout"),  # std::cout, copy-relocated
    ],
)
def test_symbol_bound_to_version(fixture: Get, name: str, version: str, symbol: str) -> None:
    path = fixture(name)
    assert symbol in truth(path)["version_bound"][version]  # the oracle agrees first
    assert symbol in facts_of(path).symbols[version]


def test_cxx_namespaces(fixture: Get) -> None:
    path = fixture("cxx_iostream")
    f = facts_of(path)
    libstdcxx = truth(path)["version_needs"]["libstdc++.so.6"]
    assert {"GLIBCXX", "CXXABI", "GLIBC"} <= set(f.max_versions)
    assert f"GLIBCXX_{f.max_versions['GLIBCXX']}" in libstdcxx
    assert f"CXXABI_{f.max_versions['CXXABI']}" in libstdcxx


def test_ld_linux_version_needs_count(fixture: Get) -> None:
    """Needs against the dynamic loader itself (auditwheel ignores them) raise the glibc floor."""
    tls = facts_of(fixture("lib_tls"))
    assert tls.version_needs["ld-linux-x86-64.so.2"] == ["GLIBC_2.3"]
    rseq = facts_of(fixture("c_rseq"))
    assert "GLIBC_2.35" in rseq.version_needs["ld-linux-x86-64.so.2"]
    assert rseq.max_versions["GLIBC"] == "2.35"


def test_namespaces_and_numeric_order(fixture: Get) -> None:
    f = facts_of(fixture("c_versions"))
    assert f.max_versions["ZLIB"] == "1.2.10"  # 1.2.10 > 1.2.9 > 1.2.3.4, not string order
    assert f.max_versions["VERS"] == "2.10"
    assert f.max_versions["OPENSSL"] == "3.0.0"
    assert f.max_versions["PNG16"] == "0"
    assert "VERS_PRIVATE" in f.nonnumeric_versions and "VERS" in f.max_versions


def test_dt_relr_is_non_numeric(fixture: Get) -> None:
    f = facts_of(fixture("c_relr"))
    assert "GLIBC_ABI_DT_RELR" in f.nonnumeric_versions
    assert "GLIBC_ABI_DT_RELR" not in f.symbols


def test_glibc_private(fixture: Get) -> None:
    path = fixture("c_private")
    assert "__res_iclose" in truth(path)["undefined_versioned"]["GLIBC_PRIVATE"]
    f = facts_of(path)
    assert "GLIBC_PRIVATE" in f.nonnumeric_versions and "GLIBC_PRIVATE" not in f.max_versions
    assert f.symbols["GLIBC_PRIVATE"] == ["__res_iclose"]


def test_core_type(fixture: Get, tmp_path: Path) -> None:
    """A file whose ELF header says ET_CORE is classified as a core dump, with no linkage."""
    elf = Elf(bytearray(fixture("c_static").read_bytes()))
    elf.set_header("e_type", 4)
    path = tmp_path / "core"
    path.write_bytes(bytes(elf.data))
    assert truth(path)["e_type"] == "CORE"
    f = facts_of(path)
    assert (f.type, f.linkage) == ("core", None)


@pytest.mark.parametrize(("name", "linkage"), [("c_static", "static"), ("c_static_pie", "static-pie"), ("c_dynamic", "dynamic")])
def test_static_vs_static_pie_vs_dynamic(fixture: Get, name: str, linkage: str) -> None:
    assert facts_of(fixture(name)).linkage == linkage


def test_relocatable_object(tmp_path: Path) -> None:
    src = Path(__file__).parent / "fixtures" / "src" / "fcntl.c"
    obj = tmp_path / "fcntl.o"
    subprocess.run(["gcc", "-c", "-O2", "-o", str(obj), str(src)], check=True)
    t = truth(obj)
    f = facts_of(obj)
    assert t["e_type"] == "REL"
    assert (f.type, f.linkage) == ("relocatable", None)
    assert f.machine == "x86_64" and f.needed == [] and f.stripped == (not t["has_symtab"])


def test_separate_debug_file(fixture: Get, tmp_path: Path) -> None:
    debug = tmp_path / "c_dynamic.debug"
    subprocess.run(["objcopy", "--only-keep-debug", str(fixture("c_dynamic")), str(debug)], check=True)
    assert truth(debug)["e_type"] == "DYN"
    f = facts_of(debug)
    assert (f.type, f.linkage) == ("debug-only", None)
    assert f.machine == "x86_64"


def test_program_whose_sections_claim_debug_only_is_still_judged(fixture: Get, tmp_path: Path) -> None:
    """Section headers do not matter to the loader: marking every allocated section NOBITS makes a runnable
    program look like objcopy --only-keep-debug output. Its code segment still has file bytes, so it is a
    program, judged as one, never skipped."""
    original = fixture("c_dynamic")
    elf = Elf(bytearray(original.read_bytes()))
    for index, name in enumerate(elf.section_names()):
        base = elf.section_base(index)
        flags = struct.unpack_from(elf.order + ("Q" if elf.is64 else "I"), elf.data, base + 8)[0]
        if name and flags & 2 and elf.get(SHDR, base, "sh_type") != 7:  # SHF_ALLOC, not SHT_NOTE
            elf.put(SHDR, base, "sh_type", 8)  # SHT_NOBITS
    disguised = tmp_path / "app"
    disguised.write_bytes(bytes(elf.data))
    t, want = truth(disguised), truth(original)
    assert not any(stype not in ("NOBITS", "NOTE", "NULL") for name, stype in _alloc_sections(disguised))
    assert t["interpreter"] == want["interpreter"]  # program headers, and so the loader's view, are unchanged
    assert t["needed"] == []  # readelf -d goes by sections and is fooled; the loader follows PT_DYNAMIC
    f = facts_of(disguised)
    assert f.type != "debug-only" and f.linkage == "dynamic"
    assert f.interpreter == want["interpreter"] and f.needed == want["needed"]
    assert {k: sorted(v) for k, v in f.version_needs.items()} == want["version_needs"]
    assert f.symbols == want["version_bound"]
    with disguised.open("rb") as fh:  # the reference reader sees it the same way
        assert read_raw(fh) == read_raw_fast(disguised.read_bytes())


def _alloc_sections(path: Path) -> list[tuple[str, str]]:
    """(name, type) of allocated sections, from readelf -S."""
    rows = []
    for line in readelf(path, "-S").splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S*A\S*)\s", line)
        if m:
            rows.append((m[1], m[2]))
    return rows


def test_stripped_vs_not(fixture: Get) -> None:
    assert facts_of(fixture("c_static")).stripped is False
    assert facts_of(fixture("c_static_stripped")).stripped is True
