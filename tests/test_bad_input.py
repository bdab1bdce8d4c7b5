"""Truncated, corrupt, hostile and unreadable inputs: one clear line per file, the run goes on.

A file that cannot be parsed must never pass, no traceback may reach the user, and a
file that lies about its sizes must fail fast without reading or allocating what it claims.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.discover import Candidate, discover
from checker.policy import build_policy
from checker.run import RunOptions, check_candidate
from tests.cli_run import REPO, run_cli
from tests.elf_edit import PT_DYNAMIC, PT_INTERP, Elf

Get = Callable[[str], Path]
POLICY = build_policy({}, {"target": "centos7"})


def verneed_base(elf: Elf) -> int:
    return elf.sfield(".gnu.version_r", "sh_offset")


def _fill_dynstr(elf: Elf) -> None:
    off, size = elf.section_bytes(".dynstr")
    elf.data[off : off + size] = b"A" * size


def _aux_walk(elf: Elf) -> None:
    """65535 auxiliary entries, each 16 bytes after the previous: a walk through unrelated bytes."""
    base = verneed_base(elf)
    struct.pack_into(elf.order + "H", elf.data, base + 2, 0xFFFF)  # vn_cnt
    aux = base + struct.unpack_from(elf.order + "I", elf.data, base + 8)[0]
    struct.pack_into(elf.order + "I", elf.data, aux + 12, 16)  # vna_next


def _need_loop(elf: Elf) -> None:
    elf.set_sfield(".gnu.version_r", "sh_info", 0xFFFFFFFF)  # claims 4 billion entries
    struct.pack_into(elf.order + "I", elf.data, verneed_base(elf) + 12, 0)  # vn_next = 0


def _note_huge(elf: Elf) -> None:
    off, _ = elf.section_bytes(".note.ABI-tag")
    struct.pack_into(elf.order + "I", elf.data, off + 4, 0xFFFFFFFF)


def _interp_no_nul(elf: Elf) -> None:
    off = elf.pfield(PT_INTERP, "p_offset")
    size = elf.pfield(PT_INTERP, "p_filesz")
    elf.data[off : off + size] = b"/" * size


def _extended_shnum(elf: Elf) -> None:
    elf.set_header("e_shnum", 0)
    elf.put({"sh_size": ("I/Q", 20, 32)}, elf.section_base(0), "sh_size", 1 << 40)


# name -> (mutation of a 64-bit little-endian PIE, words the reason must contain)
HOSTILE: dict[str, tuple[Callable[[Elf], None], str]] = {
    "phoff_past_eof": (lambda e: e.set_header("e_phoff", len(e.data) + 64), "program header table"),
    "shoff_past_eof": (lambda e: e.set_header("e_shoff", len(e.data) + 64), "section header table"),
    "shoff_huge": (lambda e: e.set_header("e_shoff", 1 << 62), "section header table"),
    "shnum_huge": (lambda e: e.set_header("e_shnum", 0xFEFF), "section header table"),
    "shnum_extended_2_40": (_extended_shnum, "section header table"),
    "phnum_huge": (lambda e: e.set_header("e_phnum", 0xFFFE), "program header table"),
    "shentsize_wrong": (lambda e: e.set_header("e_shentsize", 12), "section header size"),
    "phentsize_wrong": (lambda e: e.set_header("e_phentsize", 7), "program header size"),
    "shstrndx_out_of_range": (lambda e: e.set_header("e_shstrndx", 999), "section name table"),
    "dynsym_2_40_bytes": (lambda e: e.set_sfield(".dynsym", "sh_size", 1 << 40), "section ["),
    "dynsym_offset_past_eof": (lambda e: e.set_sfield(".dynsym", "sh_offset", len(e.data) + 8), "section ["),
    "dynstr_without_nul": (_fill_dynstr, "unterminated string"),
    "dynstr_empty": (lambda e: e.set_sfield(".dynstr", "sh_size", 0), "string table"),
    "dynsym_links_itself": (lambda e: e.set_sfield(".dynsym", "sh_link", e.section(".dynsym")), "not a string table"),
    "dynamic_links_itself": (lambda e: e.set_sfield(".dynamic", "sh_link", e.section(".dynamic")), "not a string table"),
    "verneed_links_out_of_range": (lambda e: e.set_sfield(".gnu.version_r", "sh_link", 0xFFFF), "not a string table"),
    "verneed_aux_walk": (_aux_walk, ""),
    "verneed_count_4_billion": (_need_loop, ""),
    "note_descsz_4gib": (_note_huge, ""),
    "interp_without_nul": (_interp_no_nul, "PT_INTERP"),
    "interp_past_eof": (lambda e: e.set_pfield(PT_INTERP, "p_offset", len(e.data)), "PT_INTERP"),
    "dynamic_segment_huge": (lambda e: e.set_pfield(PT_DYNAMIC, "p_filesz", 1 << 40), ""),
    "bad_class": (lambda e: e.data.__setitem__(4, 7), "invalid class"),
}


# Harmless to us: the bad note is skipped, the section table is used instead of the huge segment,
# the aux walk reads garbage names until a zero vna_next, and a zero vn_next ends the 4-billion-entry
# table after one entry (as in readelf). Each must still end quickly with a clean result.
SURVIVABLE = {"note_descsz_4gib", "dynamic_segment_huge", "verneed_aux_walk", "verneed_count_4_billion"}


def hostile_file(src: Path, dst: Path, mutate: Callable[[Elf], None]) -> Path:
    elf = Elf(bytearray(src.read_bytes()))
    mutate(elf)
    dst.write_bytes(bytes(elf.data))
    return dst


def run_one(path: Path) -> object:
    return check_candidate(Candidate(str(path)), POLICY, RunOptions())


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_elf_is_a_clean_error_or_safe(fixture: Get, tmp_path: Path, case: str) -> None:
    mutate, words = HOSTILE[case]
    path = hostile_file(fixture("c_dynamic"), tmp_path / case, mutate)
    result = run_one(path)
    if case in SURVIVABLE:
        assert result.status in ("fail", "error")  # c_dynamic needs glibc 2.34 > centos7
    else:
        assert result.status == "error", (result.status, result.reason)
        assert words in (result.reason or "")
    if result.status == "error":
        reason = result.reason or ""
        assert reason and "\n" not in reason and len(reason) < 300
        assert "MemoryError" not in reason and "Traceback" not in reason


@pytest.mark.parametrize("name", ["c_dynamic", "zig_i386", "zig_s390x", "go_nocgo", "cxx_iostream"])
def test_truncations_never_pass(fixture: Get, tmp_path: Path, name: str) -> None:
    data = fixture(name).read_bytes()
    cuts = sorted({1, 4, 16, 40, 51, 52, 63, 64, 100, 500, 4096, len(data) // 3, len(data) // 2, len(data) - 64, len(data) - 1})
    for cut in cuts:
        path = tmp_path / f"{name}_{cut}"
        path.write_bytes(data[:cut])
        result = run_one(path)
        if cut < 4:
            assert result.status == "skipped"  # too short to even carry the ELF magic
            continue
        assert result.status == "error", (cut, result.status)
        assert result.reason and "\n" not in result.reason


def test_32_bit_and_big_endian_hostile(fixture: Get, tmp_path: Path) -> None:
    for name in ("zig_i386", "zig_s390x"):
        path = hostile_file(fixture(name), tmp_path / name, lambda e: e.set_sfield(".dynsym", "sh_size", 1 << 31))
        result = run_one(path)
        assert result.status == "error" and "section [" in (result.reason or "")


def test_no_section_headers_with_endless_gnu_hash(fixture: Get, tmp_path: Path) -> None:
    """Without sections the symbol count comes from DT_GNU_HASH; a chain with no end marker walks on
    into the following bytes and must stop at the file's end at the latest, not hang or crash."""
    src = Elf(bytearray(fixture("c_dynamic").read_bytes()))
    off, size = src.section_bytes(".gnu.hash")
    nbuckets, _, bloom = struct.unpack_from(src.order + "III", src.data, off)
    chains = off + 16 + bloom * 8 + 4 * nbuckets
    for pos in range(chains, off + size, 4):
        struct.pack_into(src.order + "I", src.data, pos, 0)  # no chain ever ends
    base = Elf(bytearray(fixture("no_section_headers").read_bytes()))
    base.data[chains : off + size] = src.data[chains : off + size]
    path = tmp_path / "endless"
    path.write_bytes(bytes(base.data))
    result = run_one(path)
    assert result.status in ("fail", "error")  # c_dynamic needs glibc 2.34, above centos7's 2.17


def test_cli_reports_every_bad_file_and_still_checks_the_good_one(fixture: Get, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for case, (mutate, _) in HOSTILE.items():
        hostile_file(fixture("c_dynamic"), bad / case, mutate)
    (bad / "truncated").write_bytes(fixture("c_static").read_bytes()[:3000])
    (bad / "only_magic").write_bytes(b"\x7fELF")
    os.symlink(tmp_path / "gone", bad / "dangling")
    shutil.copy(fixture("c_static"), bad / "zz_good")
    proc = run_cli("--format", "json", str(bad))
    import json

    report = json.loads(proc.stdout)
    files = {Path(f["path"]).name: f for f in report["files"]}
    assert proc.returncode == 2 and report["verdict"] == "error"
    assert files["zz_good"]["status"] == "pass"
    assert files["dangling"]["status"] == "error" and "broken symbolic link" in files["dangling"]["reason"]
    assert files["only_magic"]["status"] == "error" and "truncated" in files["only_magic"]["reason"]
    for name, f in files.items():
        if f["status"] == "error":
            assert f["reason"] and "\n" not in f["reason"], name
    text = run_cli(str(bad)).stdout
    for name, f in files.items():
        if f["status"] == "error":
            (line,) = [ln for ln in text.splitlines() if ln.startswith("ERROR") and ln.split()[1].endswith("/" + name)]
            assert f["reason"] in line  # file and reason on one line


def test_memory_stays_bounded_on_huge_claims(fixture: Get, tmp_path: Path) -> None:
    """Run in a child with a 1 GiB address-space cap: a 2**40-byte claim must fail by bounds, not by allocation."""
    files = [
        hostile_file(fixture("c_dynamic"), tmp_path / n, HOSTILE[n][0])
        for n in ("dynsym_2_40_bytes", "note_descsz_4gib", "shnum_extended_2_40", "dynamic_segment_huge", "verneed_count_4_billion")
    ]
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from checker.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking (pytest) process.
        "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0].split()[1]\n"
        "print('MAXRSS_KB', hwm, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code, "--format", "json", *map(str, files)], capture_output=True, text=True, env=env, check=False
    )
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stdout, proc.stderr
    maxrss_kb = int(proc.stderr.split("MAXRSS_KB")[1].split()[0])
    assert maxrss_kb < 200 * 1024, f"peak RSS {maxrss_kb} KiB"


def test_unreadable_file_even_for_root() -> None:
    """/proc/self/mem is a regular file that fails with EIO at offset 0, whoever reads it."""
    if not Path("/proc/self/mem").exists():
        pytest.skip("no /proc")
    proc = run_cli("--format", "json", "/proc/self/mem")
    import json

    (f,) = json.loads(proc.stdout)["files"]
    assert proc.returncode == 2 and f["status"] == "error" and f["reason"].startswith("cannot read")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads chmod 000 files")
def test_chmod_000(fixture: Get, tmp_path: Path) -> None:
    path = tmp_path / "locked"
    shutil.copy(fixture("c_static"), path)
    path.chmod(0)
    try:
        result = run_one(path)
        assert result.status == "error" and "cannot read" in (result.reason or "")
    finally:
        path.chmod(0o644)


def test_file_that_vanished_after_discovery(fixture: Get, tmp_path: Path) -> None:
    path = tmp_path / "short-lived"
    shutil.copy(fixture("c_static"), path)
    (cand,) = discover([str(path)])
    path.unlink()
    result = check_candidate(cand, POLICY, RunOptions())
    assert result.status == "error" and "cannot read" in (result.reason or "")


def test_fifo_is_skipped_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = run_cli("--format", "json", str(fifo), str(tmp_path))  # opening a FIFO would block forever
    import json

    files = json.loads(proc.stdout)["files"]
    assert [f["status"] for f in files] == ["skipped"] and "not a regular file" in files[0]["reason"]


def test_thousands_of_small_files(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for d in range(10):
        sub = root / f"d{d}"
        sub.mkdir(parents=True)
        for i in range(300):
            (sub / f"f{i}").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(i % 50) if i % 3 == 0 else f"text {i}\n".encode())
    proc = run_cli("--format", "json", str(root))
    import json

    report = json.loads(proc.stdout)
    assert report["summary"]["files"] == 3000
    assert report["summary"]["error"] == 1000 and report["summary"]["skipped"] == 2000
    assert proc.returncode == 2
    text = run_cli(str(root)).stdout
    assert "2000 files not checked (2000 not ELF)" in text and text.count("\nERROR ") + text.startswith("ERROR ") == 1000


def test_undecodable_file_names(fixture: Get, tmp_path: Path) -> None:
    root = os.fsencode(tmp_path)
    name = os.path.join(root, b"caf\xe9-\xff")
    shutil.copy(fixture("c_static"), os.fsdecode(name))
    for fmt in ("text", "json", "markdown"):
        proc = run_cli("--format", fmt, "--output", f"markdown={tmp_path / 'r.md'}", str(tmp_path))
        assert proc.returncode == 0, proc.stderr
