"""Recognise what a file is from its first bytes, so non-ELF inputs get a named reason."""

from __future__ import annotations

ELF_MAGIC = b"\x7fELF"

# (magic prefix, description); longest/most specific first.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip data"),
    (b"BZh", "bzip2 data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"PK\x03\x04", "zip archive"),
    (b"PK\x05\x06", "zip archive"),
    (b"!<arch>\n", "ar archive"),
    (b"\xed\xab\xee\xdb", "rpm package"),
    (b"\xcf\xfa\xed\xfe", "Mach-O binary"),
    (b"\xce\xfa\xed\xfe", "Mach-O binary"),
    (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
    (b"\x00asm", "WebAssembly module"),
)


def sniff(head: bytes) -> str:
    """Return "elf", or the reason a file is skipped ("empty", "Windows PE", ...)."""
    if not head:
        return "empty"
    if head.startswith(ELF_MAGIC):
        return "elf"
    if head.startswith(b"MZ"):
        return "Windows PE" if _has_pe_header(head) else "not ELF (DOS executable)"
    if head.startswith(b"#!"):
        line = head[2:].split(b"\n", 1)[0].strip().decode("utf-8", "replace")
        interp = line.split()[0] if line.split() else ""
        shells = ("sh", "bash", "dash", "zsh", "ksh", "ash")
        if interp.rsplit("/", 1)[-1] in shells or line.endswith(tuple(f"env {s}" for s in shells)):
            return "shell script"
        return f"script ({interp})" if interp else "script"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "not ELF (tar archive)"
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return f"not ELF ({what})"
    return "not ELF"


def _has_pe_header(head: bytes) -> bool:
    if len(head) < 0x40:
        return False
    offset = int.from_bytes(head[0x3C:0x40], "little")
    return head[offset : offset + 4] == b"PE\x00\x00" if offset + 4 <= len(head) else True


HEAD_SIZE = 4096
