"""Static glibc programs that still load shared libraries (NSS modules, gconv for iconv).

glibc resolves users, groups, hosts and services through NSS, which dlopen()s
libnss_<service>.so.2 of the exact glibc release the program was linked with, even in a
static binary (the linker warns: "Using 'getaddrinfo' in statically linked applications
requires at runtime the shared libraries from the glibc version used for linking").

Evidence, measured on Debian 12 gcc -static builds: unstripped files name the NSS entry
points in .symtab; stripped files keep NSS's module-loader strings ("libnss_%s.so%s").
`dlopen` itself and the gconv strings are in every static glibc program (stdio pulls them
in), so they prove nothing and are not used.
"""

from __future__ import annotations

import mmap
from typing import Any

from checker.inspect.layout import symtab_names
from checker.inspect.raw import RawElf
from checker.inspect.scan import FileScan
from checker.models import ElfFacts

# Public NSS entry points (nss/*.c); any one of them loads NSS modules when called.
NSS_SYMBOLS = (
    "getaddrinfo",
    "getnameinfo",
    "gethostbyname",
    "gethostbyname2",
    "gethostbyname_r",
    "gethostbyname2_r",
    "gethostbyaddr",
    "gethostbyaddr_r",
    "getpwnam",
    "getpwnam_r",
    "getpwuid",
    "getpwuid_r",
    "getpwent",
    "getgrnam",
    "getgrnam_r",
    "getgrgid",
    "getgrgid_r",
    "getgrent",
    "getgrouplist",
    "initgroups",
    "getspnam",
    "getspnam_r",
    "getservbyname",
    "getservbyname_r",
    "getservbyport",
    "getprotobyname",
    "getnetgrent",
    "innetgr",
)
# iconv_open loads gconv modules for every charset that is not built in.
GCONV_SYMBOLS = ("iconv_open",)
# Strings only NSS's module loader leaves behind. "/etc/nsswitch.conf" is not used: Go's
# own resolver carries it too, so it would flag pure-Go code linked next to glibc.
NSS_STRINGS = (b"libnss_%s.so%s", b"_nss_%s_%s")
_MAX_LISTED = 8


def inspect_nss(raw: RawElf, facts: ElfFacts, data: bytes | mmap.mmap, path: str, scan: FileScan) -> dict[str, Any]:
    if facts.linkage not in ("static", "static-pie") or facts.libc != "glibc":
        return {"static_glibc_nss": None, "static_glibc_nss_evidence": []}
    evidence = static_nss_evidence(scan)
    return {"static_glibc_nss": bool(evidence), "static_glibc_nss_evidence": evidence}


def static_nss_evidence(scan: FileScan) -> list[str]:
    """Why a static glibc file will dlopen glibc modules at run time (empty: it will not).

    NSS_STRINGS must be among `scan.markers`: the libc inspector's search answers for them too.
    """
    evidence: list[str] = []
    data, layout = scan.data, scan.layout
    if layout:
        nss = symtab_names(data, layout, NSS_SYMBOLS)
        if nss:
            shown = ", ".join(nss[:_MAX_LISTED]) + (f" and {len(nss) - _MAX_LISTED} more" if len(nss) > _MAX_LISTED else "")
            evidence.append(f"NSS functions in .symtab: {shown}")
        gconv = symtab_names(data, layout, GCONV_SYMBOLS)
        if gconv:
            evidence.append(f"iconv in .symtab: {', '.join(gconv)} (loads gconv modules)")
    present = scan.present(NSS_STRINGS)
    strings = [s.decode() for s in NSS_STRINGS if s in present]
    if strings:
        evidence.append("NSS strings: " + ", ".join(repr(s) for s in strings))
    return evidence
