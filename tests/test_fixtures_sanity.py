"""Tests of the test material itself: the fixtures are what they claim, and the readelf oracle parses right.

If these fail, checker tests that use the fixtures cannot be trusted either way.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures import build as fx
from tests.readelf_truth import NotElfError, _parse_undefined_versioned, _parse_version_needs, split_versioned_name, truth

Get = Callable[[str], Path]

REPO = Path(__file__).resolve().parent.parent
NON_ELF = {"script_sh", "empty_file", "pe_stub", "text_file"}


def _glibc(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.removeprefix("GLIBC_").split("."))


# ---------------------------------------------------------------- every fixture


@pytest.mark.parametrize("name", fx.NAMES)
def test_every_fixture_builds(fixture: Get, name: str) -> None:
    """Each recipe runs its own readelf check while building; here we only see a file came out."""
    path = fixture(name)
    assert path.is_file()
    if name in NON_ELF:
        with pytest.raises(NotElfError):
            truth(path)
    else:
        assert path.read_bytes()[:4] == b"\x7fELF"
        assert truth(path)["e_type"] in {"EXEC", "DYN"}


def test_names_are_unique_and_known() -> None:
    assert len(fx.NAMES) == len(set(fx.NAMES))
    with pytest.raises(ValueError, match="unknown fixture"):
        fx.build("no_such_fixture")


# ------------------------------------------------------------- glibc dynamic


def test_c_dynamic_truth(fixture: Get) -> None:
    t = truth(fixture("c_dynamic"))
    assert t["class"] == 64
    assert t["endianness"] == "little"
    assert t["machine"] == "Advanced Micro Devices X86-64"
    assert t["e_type"] == "DYN"
    assert "PIE" in t["flags_1"]
    assert t["interpreter"] == "/lib64/ld-linux-x86-64.so.2"
    assert t["needed"] == ["libc.so.6"]
    assert t["soname"] is None
    assert t["rpath"] == [] and t["runpath"] == []
    assert "GLIBC_2.34" in t["version_needs"]["libc.so.6"]
    assert "__libc_start_main" in t["undefined_versioned"]["GLIBC_2.34"]
    assert t["abi_tag_kernel"] == "3.2.0"
    assert t["has_symtab"] is True
    assert t["has_section_headers"] is True


def test_c_nopie_is_exec(fixture: Get) -> None:
    t = truth(fixture("c_nopie"))
    assert t["e_type"] == "EXEC"
    assert "PIE" not in t["flags_1"]


def test_c_exp_needs_glibc_2_29(fixture: Get) -> None:
    t = truth(fixture("c_exp"))
    assert "exp" in t["undefined_versioned"]["GLIBC_2.29"]
    assert "GLIBC_2.29" in t["version_needs"]["libm.so.6"]
    assert t["needed"] == ["libm.so.6", "libc.so.6"]


def test_c_fcntl_needs_fcntl64(fixture: Get) -> None:
    t = truth(fixture("c_fcntl"))
    assert t["undefined_versioned"]["GLIBC_2.28"] == ["fcntl64"]
    assert "GLIBC_2.28" in t["version_needs"]["libc.so.6"]


def test_c_pthread_needs_2_34(fixture: Get) -> None:
    t = truth(fixture("c_pthread"))
    assert {"pthread_create", "__libc_start_main"} <= set(t["undefined_versioned"]["GLIBC_2.34"])
    assert t["needed"] == ["libc.so.6"]  # libpthread was merged into libc in 2.34


def test_cxx_needs_glibcxx_and_cxxabi(fixture: Get) -> None:
    t = truth(fixture("cxx_iostream"))
    vers = t["version_needs"]["libstdc++.so.6"]
    assert any(v.startswith("GLIBCXX_3.4") for v in vers)
    assert any(v.startswith("CXXABI_1.3") for v in vers)
    assert "libstdc++.so.6" in t["needed"]


def test_runpath_and_rpath(fixture: Get) -> None:
    lib = fixture("lib_runpath")
    assert lib.name == "libfoo.so.1"
    t = truth(lib)
    assert t["soname"] == "libfoo.so.1"
    assert t["runpath"] == ["$ORIGIN/../lib"]
    assert t["interpreter"] is None
    exe = truth(fixture("c_rpath_abs"))
    assert exe["rpath"] == ["/opt/vendor/lib"]
    assert exe["runpath"] == []
    assert exe["needed"] == ["libfoo.so.1", "libc.so.6"]


# ---------------------------------------------------------------------- static


@pytest.mark.parametrize("name", ["c_static", "c_static_nss", "musl_static", "go_nocgo", "go_netgo", "go_cgo_static", "zig_aarch64_musl"])
def test_static_has_no_interp_or_needed(fixture: Get, name: str) -> None:
    t = truth(fixture(name))
    assert t["interpreter"] is None
    assert t["needed"] == []
    assert t["version_needs"] == {}
    assert t["e_type"] == "EXEC"


def test_static_pie(fixture: Get) -> None:
    t = truth(fixture("c_static_pie"))
    assert t["e_type"] == "DYN"
    assert t["interpreter"] is None
    assert t["needed"] == []
    assert "PIE" in t["flags_1"]


@pytest.mark.parametrize(("stripped", "original"), [("c_static_stripped", "c_static"), ("c_static_nss_stripped", "c_static_nss")])
def test_stripped_lose_symtab(fixture: Get, stripped: str, original: str) -> None:
    assert truth(fixture(original))["has_symtab"] is True
    assert truth(fixture(stripped))["has_symtab"] is False


def test_static_nss_still_wants_libnss_at_run_time(fixture: Get) -> None:
    """Static glibc dlopens NSS modules: the library names survive even after strip."""
    data = fixture("c_static_nss_stripped").read_bytes()
    assert b"libnss_" in data or b"nsswitch.conf" in data


# ------------------------------------------------------------------------ musl


def test_musl_dynamic(fixture: Get) -> None:
    t = truth(fixture("musl_dynamic"))
    assert t["interpreter"] == "/lib/ld-musl-x86_64.so.1"
    assert t["needed"] == ["libc.so"]
    assert t["version_needs"] == {}
    assert t["undefined_versioned"] == {}


# ------------------------------------------------------------------ zig / cross


def test_zig_glibc217_uses_old_versions(fixture: Get) -> None:
    t = truth(fixture("zig_glibc217"))
    glibc = [v for vs in t["version_needs"].values() for v in vs if v.startswith("GLIBC_")]
    assert glibc and max(map(_glibc, glibc)) <= (2, 17)
    undefined = {s for syms in t["undefined_versioned"].values() for s in syms}
    assert {"fcntl", "exp"} <= undefined
    assert "fcntl64" not in undefined


def test_zig_i386_is_32_bit(fixture: Get) -> None:
    t = truth(fixture("zig_i386"))
    assert t["class"] == 32
    assert t["machine"] == "Intel 80386"
    assert t["interpreter"] == "/lib/ld-linux.so.2"
    assert "GLIBC_2.0" in t["version_needs"]["libc.so.6"]


def test_zig_s390x_is_big_endian(fixture: Get) -> None:
    t = truth(fixture("zig_s390x"))
    assert t["endianness"] == "big"
    assert t["class"] == 64
    assert t["machine"] == "IBM S/390"
    assert t["needed"] == ["libc.so.6"]
    assert t["undefined_versioned"]


def test_zig_riscv64(fixture: Get) -> None:
    t = truth(fixture("zig_riscv64"))
    assert t["machine"] == "RISC-V"
    assert t["interpreter"] == "/lib/ld-linux-riscv64-lp64d.so.1"


def test_aarch64_gcc(fixture: Get) -> None:
    t = truth(fixture("aarch64_gcc"))
    assert t["machine"] == "AArch64"
    assert t["interpreter"] == "/lib/ld-linux-aarch64.so.1"
    assert "GLIBC_2.34" in t["version_needs"]["libc.so.6"]


# -------------------------------------------------------------------------- go


def test_go_cgo_links_glibc(fixture: Get) -> None:
    t = truth(fixture("go_cgo"))
    assert "libc.so.6" in t["needed"]
    assert "getaddrinfo" in {s for syms in t["undefined_versioned"].values() for s in syms}


def test_go_stripped_buildinfo(fixture: Get) -> None:
    original = fixture("go_nocgo").read_bytes()
    patched = fixture("go_stripped_buildinfo").read_bytes()
    assert len(patched) == len(original)
    start = original.find(b"\xff Go buildinf:")
    assert start >= 0 and patched.find(b"\xff Go buildinf:") == start
    assert patched[start + 14 : start + 32] == bytes(18)
    assert b"example.com/hello" in original[start : start + 512]
    assert b"example.com/hello" not in patched[start : start + 512]


# ------------------------------------------------------------------ odd shapes


def test_no_section_headers_keeps_dynamic_info(fixture: Get) -> None:
    t = truth(fixture("no_section_headers"))
    base = truth(fixture("c_dynamic"))
    assert t["has_section_headers"] is False
    assert t["has_symtab"] is False
    assert t["needed"] == ["libc.so.6"]
    assert t["interpreter"] == base["interpreter"]
    # version_r is found through section headers only; symbols via the dynamic segment
    assert t["version_needs"] == {}
    assert t["undefined_versioned"] == base["undefined_versioned"]


@pytest.mark.parametrize("name", ["upx_pie", "upx_nopie", "upx_static", "upx_go"])
def test_upx_packed(fixture: Get, name: str) -> None:
    """A packed binary hides its real interpreter and NEEDED: it looks static."""
    path = fixture(name)
    assert b"UPX!" in path.read_bytes()
    t = truth(path)
    assert t["has_section_headers"] is False
    assert t["interpreter"] is None
    assert t["needed"] == []


def test_non_elf_inputs(fixture: Get) -> None:
    assert fixture("empty_file").stat().st_size == 0
    assert fixture("script_sh").read_bytes().startswith(b"#!/bin/sh\n")
    assert b"\0" not in fixture("text_file").read_bytes()
    pe = fixture("pe_stub").read_bytes()
    assert pe[:2] == b"MZ"
    (lfanew,) = struct.unpack_from("<I", pe, 0x3C)
    assert pe[lfanew : lfanew + 4] == b"PE\0\0"


# --------------------------------------------------------- oracle on plain text


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("fcntl64@GLIBC_2.28 (3)", ("fcntl64", "GLIBC_2.28")),
        ("__cxa_finalize@GLIBC_2.2.5 (3)", ("__cxa_finalize", "GLIBC_2.2.5")),
        ("foo@@VERS_1.0", ("foo", "VERS_1.0")),
        ("bar@VERS_1.0", ("bar", "VERS_1.0")),
        ("_ZNSolsEi@GLIBCXX_3.4 (4)", ("_ZNSolsEi", "GLIBCXX_3.4")),
        ("__gmon_start__", ("__gmon_start__", None)),
    ],
)
def test_split_versioned_name(field: str, expected: tuple[str, str | None]) -> None:
    assert split_versioned_name(field) == expected


def test_parse_undefined_skips_defined_and_unversioned() -> None:
    text = """
Symbol table '.dynsym' contains 5 entries:
   Num:    Value          Size Type    Bind   Vis      Ndx Name
     0: 0000000000000000     0 NOTYPE  LOCAL  DEFAULT  UND
     1: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND pthread_create@GLIBC_2.34 (2)
     2: 0000000000000000     0 NOTYPE  WEAK   DEFAULT  UND __gmon_start__
     3: 0000000000001139    42 FUNC    GLOBAL DEFAULT   14 foo@@VERS_1.0
     4: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND abort@GLIBC_2.2.5 (3)
     5: 0000000000000000     0 FUNC    GLOBAL DEFAULT [<localentry>: 8]   UND memcpy@GLIBC_2.17 (4)
"""
    assert _parse_undefined_versioned(text) == {
        "GLIBC_2.17": ["memcpy"],
        "GLIBC_2.2.5": ["abort"],
        "GLIBC_2.34": ["pthread_create"],
    }


def test_parse_version_needs_ignores_definitions() -> None:
    text = """
Version definition section '.gnu.version_d' contains 2 entries:
 Addr: 0x0000000000000300  Offset: 0x000300  Link: 4 (.dynstr)
  000000: Rev: 1  Flags: BASE  Index: 1  Cnt: 1  Name: libfoo.so.1
  0x001c: Rev: 1  Flags: none  Index: 2  Cnt: 1  Name: VERS_1.0

Version needs section '.gnu.version_r' contains 2 entries:
 Addr: 0x0000000000000340  Offset: 0x000340  Link: 4 (.dynstr)
  000000: Version: 1  File: libm.so.6  Cnt: 1
  0x0010:   Name: GLIBC_2.29  Flags: none  Version: 3
  0x0020: Version: 1  File: libc.so.6  Cnt: 2
  0x0030:   Name: GLIBC_2.34  Flags: none  Version: 4
  0x0040:   Name: GLIBC_2.2.5  Flags: none  Version: 2
"""
    assert _parse_version_needs(text) == {"libm.so.6": ["GLIBC_2.29"], "libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.34"]}


# ---------------------------------------------------------------------- cache


def _build_in(cache: Path, name: str) -> subprocess.Popen[str]:
    code = f"from tests.fixtures.build import build; print(build({name!r}))"
    env = dict(os.environ, STATIC_CHECK_FIXTURE_CACHE=str(cache))
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_builds_share_one_result(fixture: Get, tmp_path: Path) -> None:
    """Two processes racing on a cold cache end with one finished build and no leftovers."""
    fixture("c_dynamic")  # skips here, like everything else, when gcc is missing
    procs = [_build_in(tmp_path, "c_dynamic") for _ in range(3)]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outputs.append(out.strip())
    assert len(set(outputs)) == 1
    assert Path(outputs[0]).is_file()
    assert len(list(tmp_path.glob("c_dynamic-*"))) == 1
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_cache_hit_does_not_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATIC_CHECK_FIXTURE_CACHE", str(tmp_path))
    first = fx.build("pe_stub")
    assert first.is_relative_to(tmp_path)
    mtime = first.stat().st_mtime_ns
    assert fx.build("pe_stub") == first
    assert first.stat().st_mtime_ns == mtime
    assert not os.access(first, os.W_OK) or os.geteuid() == 0  # read-only for non-root users
    assert first.stat().st_mode & 0o222 == 0


def test_cli_lists_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert fx.main(["--list"]) == 0
    assert capsys.readouterr().out.split() == fx.NAMES
