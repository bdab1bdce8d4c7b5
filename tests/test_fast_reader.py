"""The fast reader against the pyelftools reference reader and against readelf.

Differential: both readers on every fixture and on a bounded sample of the machine's own
ELF files must give identical RawElf. Oracle: on 32-bit, big-endian (s390x) and
section-header-less files the fast reader's tables must match binutils readelf. Hostile
files: the fast reader declines them and the user still gets a clean one-line error.
"""

from __future__ import annotations

import json
import mmap
import os
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.inspect.elf_file import inspect_path
from checker.inspect.fast_reader import FastReaderDeclined, read_raw_fast
from checker.inspect.pyelf_reader import read_raw
from checker.inspect.raw import ElfParseError, RawElf
from tests.cli_run import run_cli
from tests.fixtures.build import NAMES
from tests.readelf_truth import readelf, truth

Get = Callable[[str], Path]

NON_ELF = {"script_sh", "empty_file", "pe_stub", "text_file"}
ELF_FIXTURES = [n for n in NAMES if n not in NON_ELF]
# Real-file sample: directories of this machine, at most this many files from each.
SYSTEM_DIRS = ("/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/aarch64-linux-gnu/lib", "/usr/lib/go/pkg/tool")
PER_DIR = 60
LARGEST = 4  # plus the largest files of the first two directories


def both(path: Path | str) -> tuple[RawElf | str, RawElf | str]:
    """(fast result or "declined: why", reference result or "error: why")."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        try:
            fast: RawElf | str = read_raw_fast(data)
        except FastReaderDeclined as exc:
            fast = f"declined: {exc}"
        try:
            ref: RawElf | str = read_raw(fh)
        except ElfParseError as exc:
            ref = f"error: {exc}"
    return fast, ref


def assert_same(path: Path | str) -> None:
    fast, ref = both(path)
    if isinstance(ref, str):  # the reference refuses the file: the fast reader must not vouch for it
        assert isinstance(fast, str), f"{path}: fast reader read a file the reference rejects ({ref})"
        return
    assert not isinstance(fast, str), f"{path}: fast reader {fast}"
    assert fast == ref, f"{path}: readers disagree"


@pytest.mark.parametrize("name", ELF_FIXTURES)
def test_fixture_identical_to_reference(fixture: Get, name: str) -> None:
    assert_same(fixture(name))


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def system_sample() -> list[str]:
    """Evenly spread over each directory (sorted, so the sample is stable), plus the largest files."""
    picked: list[str] = []
    for i, top in enumerate(SYSTEM_DIRS):
        if not os.path.isdir(top):
            continue
        files = sorted(
            os.path.join(d, f)
            for d, _, fs in os.walk(top)
            for f in fs
            if os.path.isfile(os.path.join(d, f)) and not os.path.islink(os.path.join(d, f))
        )
        elves = [f for f in files if _is_elf(f)]
        step = max(1, len(elves) // PER_DIR)
        picked += elves[::step][:PER_DIR]
        if i < 2:
            picked += sorted(elves, key=os.path.getsize)[-LARGEST:]
    return sorted(set(picked))


def test_system_files_identical_to_reference() -> None:
    sample = system_sample()
    if len(sample) < 20:
        pytest.skip("too few ELF files on this machine for a differential sample")
    failures = []
    for path in sample:
        try:
            assert_same(path)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, f"{len(failures)} of {len(sample)} files differ: {failures[:10]}"


# ---- against readelf: 32-bit, big-endian, no section headers, other machines


def _fast(path: Path) -> RawElf:
    raw = read_raw_fast(Path(path).read_bytes())
    assert isinstance(raw, RawElf)
    return raw


@pytest.mark.parametrize(
    "name", ["zig_i386", "zig_s390x", "zig_riscv64", "aarch64_gcc", "zig_aarch64_musl", "no_section_headers", "c_dynamic"]
)
def test_fast_reader_matches_readelf(fixture: Get, name: str) -> None:
    path = fixture(name)
    want = truth(path)
    raw = _fast(path)
    assert raw.ei_class == want["class"]
    assert ("little" if raw.little_endian else "big") == want["endianness"]
    assert raw.has_section_headers == want["has_section_headers"]
    assert raw.has_symtab == want["has_symtab"]
    assert raw.interpreter == want["interpreter"]
    assert raw.needed == want["needed"]
    assert raw.soname == want["soname"]
    assert raw.rpath == [p for p in want["rpath"] if p] and raw.runpath == [p for p in want["runpath"] if p]
    assert ("PIE" in want["flags_1"]) == bool(raw.flags_1 & 0x08000000)
    if want["has_section_headers"]:  # readelf -V needs section headers
        assert {k: sorted(v) for k, v in raw.version_needs.items()} == want["version_needs"]
    assert {k: sorted(v) for k, v in raw.undefined_versioned.items()} == want["version_bound"]
    kernel = ".".join(map(str, raw.abi_tag[1:])) if raw.abi_tag and raw.abi_tag[0] == 0 else None
    assert kernel == want["abi_tag_kernel"]


def test_fixture_kinds_cover_the_hard_layouts(fixture: Get) -> None:
    """The oracle test above really covers 32-bit, big-endian and header-less files."""
    assert _fast(fixture("zig_i386")).ei_class == 32
    assert not _fast(fixture("zig_s390x")).little_endian
    no_sections = _fast(fixture("no_section_headers"))
    assert not no_sections.has_section_headers and no_sections.undefined_versioned


# ---- hostile files: declined by the fast reader, a clean error in the end


def _sections(path: Path) -> dict[str, tuple[int, int, int]]:
    """name -> (index, file offset, size), from readelf -S."""
    out = {}
    for m in re.finditer(r"^\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)", readelf(path, "-S"), re.M):
        out[m.group(2)] = (int(m.group(1)), int(m.group(3), 16), int(m.group(4), 16))
    return out


def _header_number(path: Path, field: str) -> int:
    m = re.search(rf"^\s+{re.escape(field)}:\s+(\d+)", readelf(path, "-h"), re.M)
    assert m, field
    return int(m.group(1))


def _patched(src: Path, dst: Path, edits: list[tuple[int, bytes]], keep: int | None = None) -> Path:
    data = bytearray(src.read_bytes()[:keep])
    for offset, value in edits:
        data[offset : offset + len(value)] = value
    dst.write_bytes(bytes(data))
    return dst


def hostile_files(fixture: Get, tmp: Path) -> dict[str, Path]:
    """Corrupt copies of c_dynamic (x86-64, little endian), each broken in one way."""
    src = fixture("c_dynamic")
    secs = _sections(src)
    shoff = _header_number(src, "Start of section headers")
    shentsize = _header_number(src, "Size of section headers")
    dynstr_size = secs[".dynstr"][2]
    dynamic_off = secs[".dynamic"][1]
    verneed_off = secs[".gnu.version_r"][1]
    dynsym_index = secs[".dynsym"][0]
    little32 = lambda n: n.to_bytes(4, "little")  # noqa: E731
    return {
        # the section header table lies past the end of the file
        "truncated": _patched(src, tmp / "truncated", [], keep=shoff + shentsize * 2),
        "shoff_past_end": _patched(src, tmp / "shoff_past_end", [(0x28, (1 << 40).to_bytes(8, "little"))]),
        # .dynsym's sh_link (offset 40 in Elf64_Shdr) names itself instead of .dynstr
        "dynsym_self_link": _patched(src, tmp / "dynsym_self_link", [(shoff + dynsym_index * shentsize + 40, little32(dynsym_index))]),
        # the first dynamic entry (DT_NEEDED in this fixture) points past .dynstr
        "needed_past_strtab": _patched(src, tmp / "needed_past_strtab", [(dynamic_off + 8, (dynstr_size + 100).to_bytes(8, "little"))]),
        # vn_aux of the first version need jumps far outside the file
        "verneed_aux_outside": _patched(src, tmp / "verneed_aux_outside", [(verneed_off + 8, little32(0x7FFFFFF0))]),
        # a section claims 1 TB of data
        "huge_section": _patched(src, tmp / "huge_section", [(shoff + dynsym_index * shentsize + 32, (1 << 40).to_bytes(8, "little"))]),
    }


def test_needed_is_first_dynamic_entry(fixture: Get) -> None:
    """The needed_past_strtab corruption relies on this layout (checked with readelf)."""
    first = next(line for line in readelf(fixture("c_dynamic"), "-d").splitlines() if re.match(r"\s*0x", line))
    assert "(NEEDED)" in first


def test_hostile_files_declined_then_clean_error(fixture: Get, tmp_path: Path) -> None:
    files = hostile_files(fixture, tmp_path)
    for label, path in files.items():
        with pytest.raises(FastReaderDeclined):
            read_raw_fast(path.read_bytes())
        with pytest.raises(ElfParseError) as err:
            inspect_path(str(path))
        message = str(err.value)
        assert message and "\n" not in message, label
    good = fixture("c_dynamic")
    proc = run_cli("--format", "json", str(good), *map(str, files.values()))
    report = json.loads(proc.stdout)
    by_path = {f["path"]: f for f in report["files"]}
    assert by_path[str(good)]["status"] == "pass"
    for path in files.values():
        entry = by_path[str(path)]
        assert entry["status"] == "error" and entry["reason"] and "\n" not in entry["reason"]
    assert proc.returncode == 2


def test_declined_file_still_read_by_reference(fixture: Get, tmp_path: Path) -> None:
    """A dynamic segment claiming more bytes than the file has (DT_NULL comes first):
    the fast reader declines, the reference reader stops at DT_NULL, the facts survive."""
    src = fixture("no_section_headers")
    text = readelf(src, "-l")
    m = re.search(r"^\s+DYNAMIC\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", text, re.M)
    assert m, text
    phoff = _header_number(src, "Start of program headers")
    phentsize = _header_number(src, "Size of program headers")
    data = src.read_bytes()
    index = next(i for i in range(_header_number(src, "Number of program headers")) if data[phoff + i * phentsize] == 2)
    filesz_at = phoff + index * phentsize + 32  # Elf64_Phdr.p_filesz
    bent = _patched(src, tmp_path / "long_dynamic", [(filesz_at, (len(data) * 4).to_bytes(8, "little"))])
    with pytest.raises(FastReaderDeclined):
        read_raw_fast(bent.read_bytes())
    before, after = inspect_path(str(src)), inspect_path(str(bent))
    assert after.facts == before.facts


# ---- mutated files: the fast reader never vouches for what the reference reads otherwise


def test_mutants_fast_reader_agrees_or_declines(fixture: Get, tmp_path: Path) -> None:
    """Seeded byte mutations of real binaries: whenever the fast reader returns tables, the
    reference reader returns the same ones; when the reference rejects a file, the fast one declines."""
    rng = random.Random(4_2026)
    accepted = declined = 0
    for name in ("c_dynamic", "cxx_iostream", "lib_runpath", "zig_i386", "zig_s390x", "no_section_headers", "c_static"):
        original = fixture(name).read_bytes()
        for i in range(80):
            data = bytearray(original)
            if rng.random() < 0.2:
                data = data[: rng.randrange(16, len(data))]
            else:
                for _ in range(rng.randint(1, 4)):
                    data[rng.randrange(16, min(len(data), 0x3000))] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
            path = tmp_path / f"{name}-{i}"
            path.write_bytes(bytes(data))
            fast, ref = both(path)
            if isinstance(fast, str):
                declined += 1
                continue
            accepted += 1
            assert not isinstance(ref, str), f"{path.name}: fast reader read a file the reference rejects ({ref})"
            assert fast == ref, f"{path.name}: readers disagree"
    assert accepted > 150 and declined > 20  # both paths are really exercised


# ---- version indices outside one byte: the versym array is read two ways (fast_reader._pick_by_bytes / _pick_by_values)


def _version_need(path: Path, version: str) -> tuple[int, int]:
    """(offset of its Elf_Vernaux in .gnu.version_r, version index) of a needed version, from readelf -V."""
    m = re.search(rf"^\s+0x([0-9a-f]+):\s+Name: {re.escape(version)}\s+Flags: \S+\s+Version: (\d+)", readelf(path, "-V"), re.M)
    assert m, version
    return int(m.group(1), 16), int(m.group(2))


def _versym_patched(src: Path, dst: Path, version: str | None, stray_entry: int | None) -> Path:
    """c_dynamic with the needed `version` renumbered to its index + 256 (vna_other and every versym
    entry using it), and/or versym entry `stray_entry` set to 0x0101 (an index no version has)."""
    secs = _sections(src)
    versym_off, versym_size = secs[".gnu.version"][1], secs[".gnu.version"][2]
    data = src.read_bytes()
    edits = []
    if version is not None:
        aux_at, index = _version_need(src, version)
        edits.append((secs[".gnu.version_r"][1] + aux_at + 6, (index + 256).to_bytes(2, "little")))  # vna_other
        for at in range(versym_off, versym_off + versym_size, 2):
            value = int.from_bytes(data[at : at + 2], "little")
            if value & 0x7FFF == index:
                edits.append((at, ((value & 0x8000) | (index + 256)).to_bytes(2, "little")))
    if stray_entry is not None:
        edits.append((versym_off + 2 * stray_entry, (0x0101).to_bytes(2, "little")))
    return _patched(src, dst, edits)


def test_version_index_above_255_matches_readelf(fixture: Get, tmp_path: Path) -> None:
    src = fixture("c_dynamic")
    bound = truth(src)["version_bound"]
    version = "GLIBC_2.2.5"
    assert version in bound, bound
    wide = _versym_patched(src, tmp_path / "wide_index", version, None)
    assert _version_need(wide, version)[1] == _version_need(src, version)[1] + 256  # readelf sees the new index
    raw = _fast(wide)
    assert {k: sorted(v) for k, v in raw.undefined_versioned.items()} == truth(wide)["version_bound"] == bound
    assert_same(wide)


def test_stray_wide_versym_entry_is_not_bound(fixture: Get, tmp_path: Path) -> None:
    """An entry holding index 257 (no such version) next to wanted one-byte indices: nothing changes."""
    src = fixture("c_dynamic")
    unversioned = re.search(r"^\s+(\d+):.* UND (_ITM_deregisterTMCloneTable|__gmon_start__)$", readelf(src, "--dyn-syms"), re.M)
    assert unversioned, "c_dynamic has no unversioned undefined symbol to renumber"
    stray = _versym_patched(src, tmp_path / "stray_entry", None, int(unversioned.group(1)))
    raw = _fast(stray)
    assert {k: sorted(v) for k, v in raw.undefined_versioned.items()} == truth(src)["version_bound"]
    assert_same(stray)


# ---- a string table that runs past the end of the file (files without section headers: DT_STRSZ is not checked)


def _dynamic_values(path: Path) -> dict[str, tuple[int, int]]:
    """Dynamic tag name -> (file offset of its d_val, value), from readelf -d and -l (Elf64, little endian)."""
    text = readelf(path, "-d")
    dyn_at = int(re.search(r"Dynamic section at offset 0x([0-9a-f]+)", text).group(1), 16)  # type: ignore[union-attr]
    out = {}
    for i, m in enumerate(re.finditer(r"^\s*0x[0-9a-f]+\s+\((\w+)\)\s+(?:Shared library: \[.*\]|0x([0-9a-f]+)|(\d+))", text, re.M)):
        value = int(m.group(2), 16) if m.group(2) else int(m.group(3) or 0)
        out.setdefault(m.group(1), (dyn_at + 16 * i + 8, value))
    return out


def test_symbol_name_past_end_of_file_declined(fixture: Get, tmp_path: Path) -> None:
    """no_section_headers with .dynstr copied to the end of the file (the last PT_LOAD stretched over it),
    DT_STRSZ 64 bytes longer than the file and one versioned symbol named inside those 64 bytes: the
    reference reader finds no NUL there and rejects the file, so the fast reader must not read it as ''."""
    src = fixture("no_section_headers")
    dyn = _dynamic_values(src)
    data = bytearray(src.read_bytes())
    strtab_at, strsz = dyn["STRTAB"][1], dyn["STRSZ"][1]  # (address = file offset in the first PT_LOAD, which starts at 0)
    assert re.search(r"^\s+LOAD\s+0x0+ 0x0+ ", readelf(src, "-lW"), re.M)
    last_load = [m for m in re.finditer(r"^\s+LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) ", readelf(src, "-lW"), re.M)][-1]
    load_off, load_vaddr = int(last_load.group(1), 16), int(last_load.group(2), 16)
    phoff, phentsize = _header_number(src, "Start of program headers"), _header_number(src, "Size of program headers")
    headers = [phoff + i * phentsize for i in range(_header_number(src, "Number of program headers"))]
    phdr = next(at for at in headers if data[at] == 1 and int.from_bytes(data[at + 8 : at + 16], "little") == load_off)  # its Elf64_Phdr
    copy_at = len(data)
    data += data[strtab_at : strtab_at + strsz]
    data[phdr + 32 : phdr + 40] = (len(data) - load_off).to_bytes(8, "little")  # p_filesz
    data[dyn["STRTAB"][0] : dyn["STRTAB"][0] + 8] = (load_vaddr + copy_at - load_off).to_bytes(8, "little")
    data[dyn["STRSZ"][0] : dyn["STRSZ"][0] + 8] = (strsz + 64).to_bytes(8, "little")
    symbol = re.search(r"^\s+(\d+):.* UND \w+@GLIBC_\S+", readelf(src, "-W", "-s", "-D"), re.M)
    assert symbol, "no versioned undefined symbol"
    st_name_at = dyn["SYMTAB"][1] + 24 * int(symbol.group(1))
    data[st_name_at : st_name_at + 4] = (strsz + 10).to_bytes(4, "little")  # past the end of the file, inside DT_STRSZ
    bent = tmp_path / "strsz_past_end"
    bent.write_bytes(bytes(data))
    fast, ref = both(bent)
    assert isinstance(ref, str) and "unterminated" in ref, ref
    assert isinstance(fast, str), f"fast reader read symbol names the reference rejects: {fast}"
