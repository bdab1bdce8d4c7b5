"""Which C library a file uses, with the evidence a user can check."""

from __future__ import annotations

import re

from checker.inspect.goinfo import go_info_once
from checker.inspect.layout import symtab_names
from checker.inspect.scan import FileScan

# Strings that only the static copy of each libc leaves behind (checked on stripped builds).
_GLIBC_MARKERS = (b"GLIBC_TUNABLES", b"Fatal glibc error", b"glibc detected", b"GNU C Library")
_MUSL_MARKERS = (b"No error information",)
# Go build info, or (when it was removed) a runtime function name from .gopclntab.
_GO_MARKERS = (b"\xff Go buildinf:", b"runtime.goexit\x00")
MARKERS = _GLIBC_MARKERS + _MUSL_MARKERS + _GO_MARKERS
# Start-up internals each libc links into every static program (unstripped files only):
# glibc csu/libc-tls.c and static-pie relocation; musl src/env/__libc_start_main.c.
_GLIBC_STATIC_SYMBOLS = ("__libc_setup_tls", "_dl_relocate_static_pie")
_MUSL_STATIC_SYMBOLS = ("__init_libc", "__libc_start_init")
# Written by crti.o/crtn.o (glibc and musl), the C compiler or a C linker, never by Go's internal linker.
_C_LINK_SECTIONS = frozenset({".init", ".fini", ".init_array", ".note.ABI-tag", ".comment"})
_MUSL_NEEDED = re.compile(r"^(libc\.so|libc\.musl-[\w-]+\.so\.1)$")
# glibc's loader on every Linux port: ld-linux*.so.N (x86_64, i386, arm, aarch64, riscv, loongarch...),
# ld64.so.1/2 (s390x, ppc64), ld.so.1 (s390, ppc32, mips).
_GLIBC_LOADER = re.compile(r"^(ld-linux[\w.-]*\.so\.\d+|ld64\.so\.[12]|ld\.so\.1)$")


def detect_libc(scan: FileScan) -> tuple[str, list[str]]:
    """Return (glibc|musl|none|unknown, evidence) for the file `scan` holds (its tables, bytes and shared marker memo)."""
    raw, data = scan.raw, scan.data
    evidence: list[str] = []
    flavours: set[str] = set()
    interp = raw.interpreter or ""
    if "ld-musl" in interp:
        flavours.add("musl")
        evidence.append(f"interpreter {interp}")
    elif _GLIBC_LOADER.match(interp.rsplit("/", 1)[-1]):
        flavours.add("glibc")
        evidence.append(f"interpreter {interp}")
    elif interp:  # FreeBSD's /libexec/ld-elf.so.1, Android's linker64, uClibc's ld-uClibc.so.0, ...
        flavours.add("other")
        evidence += [f"interpreter {interp}", "that loader is neither glibc's nor musl's"]
    for lib in raw.needed:
        if lib == "libc.so.6":
            flavours.add("glibc")
            evidence.append("NEEDED libc.so.6")
        elif _MUSL_NEEDED.match(lib):
            flavours.add("musl")
            evidence.append(f"NEEDED {lib} (musl)")
    glibc_versions = {n for names in raw.version_needs.values() for n in names if n.startswith("GLIBC_")}  # only counted
    if glibc_versions:
        flavours.add("glibc")
        evidence.append(f"{len(glibc_versions)} GLIBC_* version needs")
    if not raw.needed and not raw.interpreter:
        layout = scan.layout if raw.has_symtab else None
        for flavour, wanted in (("glibc", _GLIBC_STATIC_SYMBOLS), ("musl", _MUSL_STATIC_SYMBOLS)):
            names = symtab_names(data, layout, wanted) if layout else []
            if names:
                flavours.add(flavour)
                evidence.append(f"static {flavour} start-up code (symbols {', '.join(names)} in .symtab)")
        if not flavours and _go_without_cgo(scan):
            evidence += ["Go runtime without a C library", "Go build setting CGO_ENABLED=0, linked by Go's own linker: no C code linked in"]
            return "none", evidence
        present = scan.present(MARKERS)  # one pass for all markers, shared with the NSS inspector
        found = _first(_GLIBC_MARKERS, present)
        if found:
            flavours.add("glibc")
            evidence.append(f"static glibc code (string {found!r})")
        found = _first(_MUSL_MARKERS, present)
        if found:
            flavours.add("musl")
            evidence.append(f"static musl code (string {found!r})")
        if not flavours and (_first(_GO_MARKERS, present) or {".go.buildinfo", ".gopclntab"} & set(raw.section_names)):
            evidence.append("Go runtime without a C library")
            return "none", evidence
    if flavours == {"other"}:
        return "unknown", evidence
    if len(flavours) == 1:
        return flavours.pop(), evidence
    if len(flavours) > 1:
        evidence.append("conflicting evidence")
    return "unknown", evidence


def _go_without_cgo(scan: FileScan) -> bool:
    """A Go program whose build info and sections prove no C code was linked in, so no string search is needed.

    CGO_ENABLED=0 alone is not enough: -ldflags=-linkmode=external still has gcc link the C
    library's start-up code in (and -trimpath leaves -ldflags out of the build info), so the
    file must also lack every section a C toolchain's link writes and Go's own linker never does.
    """
    names = set(scan.raw.section_names)
    if ".go.buildinfo" not in names or names & _C_LINK_SECTIONS:
        return False  # no build info section (it would have to be searched for), or a C link
    info = go_info_once(scan)
    if info is None or info["toolchain"] != "gc":
        return False
    build = info["build"]
    return build.get("CGO_ENABLED") == "0" and "linkmode" not in build.get("-ldflags", "") and build.get("-buildmode", "exe") == "exe"


def _first(markers: tuple[bytes, ...], present: set[bytes]) -> str | None:
    """The first of `markers` (in their order) that occurs in the file."""
    for marker in markers:
        if marker in present:
            return marker.decode("latin-1")
    return None
