"""UPX-packed programs: detect the packer from the file, unpack a private copy, inspect the program inside.

A packed file's own headers describe only UPX's loader stub ("statically linked, no section
header"), whatever the program inside needs. UPX leaves two marks we can read: the l_info
block right after the program headers ({checksum, "UPX!", size, version, format}) and the
32-byte pack header near the end of the file ("UPX!", header version, format, method,
level, adler32s, lengths, original file size, filter, checksum byte = sum of bytes 4..30
mod 251). The loader stub also carries UPX's "$Id: UPX 4.22 ..." banner (release 4.2.2).

Unpacking runs `upx -d` on a copy in a private temporary directory, with a time limit and
an output-size limit, and never touches the user's file.
"""

from __future__ import annotations

import contextvars
import mmap
import os
import re
import resource
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checker.inspect.elf_file import Inspection

UPX_MAGIC = b"UPX!"
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
UNPACK_TIMEOUT_SECONDS = 60
_PACK_HEADER_SIZE = 32
_TAIL_SEARCH = 4096  # the pack header sits in the last few dozen bytes of an ELF
_HEAD_SEARCH = 4096  # l_info follows the ELF and program headers
_ID = re.compile(rb"\$Id: UPX (\d+)\.(\d+)")
# UPX compression method numbers (src/conf.h M_*), as `upx --fileinfo` prints them.
_METHODS = {2: "nrv2b", 3: "nrv2b", 4: "nrv2b", 5: "nrv2d", 6: "nrv2d", 7: "nrv2d", 8: "nrv2e", 9: "nrv2e", 10: "nrv2e", 14: "lzma"}
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("upx_depth", default=0)


def detect_upx(data: bytes | mmap.mmap) -> dict[str, Any] | None:
    """The `packer` object without `unpacked`, or None when nothing says UPX."""
    evidence: list[str] = []
    head = _l_info_marker(data)
    if head is not None:
        evidence.append(f"'UPX!' marker at offset {head}")
    header = _pack_header(data)
    if header:
        evidence.append(f"UPX pack header at offset {header.pop('offset')} (checksum ok)")
    if not header and head is None:
        return None
    version = None
    window = 1 << 20
    match = _ID.search(data[:window]) or (_ID.search(data[-window:]) if len(data) > window else None)
    if match:
        version = _release(match.group(1).decode(), match.group(2).decode())
        evidence.append(f"UPX banner '$Id: UPX {match.group(1).decode()}.{match.group(2).decode()}'")
    info: dict[str, Any] = {"name": "upx", "version": version}
    info.update(header or dict.fromkeys(("header_version", "format", "method", "method_name", "level", "unpacked_size")))
    info["evidence"] = evidence
    return info


def _l_info_marker(data: bytes | mmap.mmap) -> int | None:
    """Offset of l_info's "UPX!" near the start, if its version byte is a UPX pack-header version."""
    pos = data.find(UPX_MAGIC, 4, min(len(data), _HEAD_SEARCH))
    while pos >= 0:
        if pos + 8 <= len(data) and 10 <= data[pos + 6] <= 20:
            return pos
        pos = data.find(UPX_MAGIC, pos + 1, min(len(data), _HEAD_SEARCH))
    return None


def _release(major: str, minor: str) -> str:
    # UPX 4+ writes its x.y.z release as "x.yz" in the banner; 3.x releases are "3.96".
    if int(major) >= 4 and len(minor) == 2:
        return f"{major}.{minor[0]}.{minor[1]}"
    return f"{major}.{minor}"


def _pack_header(data: bytes | mmap.mmap) -> dict[str, Any] | None:
    start = max(0, len(data) - _TAIL_SEARCH)
    pos = data.rfind(UPX_MAGIC, start)
    while pos >= 0:
        block = bytes(data[pos : pos + _PACK_HEADER_SIZE])
        if len(block) == _PACK_HEADER_SIZE and block[4] >= 10 and sum(block[4:31]) % 251 == block[31]:
            u_file_size = int.from_bytes(block[24:28], "little")
            return {
                "offset": pos,
                "header_version": block[4],
                "format": block[5],
                "method": block[6],
                "method_name": _METHODS.get(block[6]),
                "level": block[7],
                "unpacked_size": u_file_size,
            }
        pos = data.rfind(UPX_MAGIC, start, pos + len(UPX_MAGIC) - 1)
    return None


def find_upx() -> str | None:
    import shutil  # here and below: only packed files need shutil, tempfile, subprocess (start-up time)

    return shutil.which("upx")


def inspect_packed(inspection: Inspection, data: bytes | mmap.mmap, path: str) -> None:
    """Post-inspector: set extra['packer'] and, when unpacking works, inspection.unpacked."""
    info = detect_upx(data)
    inspection.extra["packer"] = info
    if info is None:
        return
    inner, error = _unpack_and_inspect(data, info)
    info["unpacked"] = inner.facts.to_dict() if inner and inner.facts else None
    info["unpack_error"] = error
    if inner is not None:
        inspection.unpacked = inner
        # What the program inside is (Go build info, static NSS use) is what matters.
        for key, value in inner.extra.items():
            if key != "packer":
                inspection.extra[key] = value


def _unpack_and_inspect(data: bytes | mmap.mmap, info: dict[str, Any]) -> tuple[Inspection | None, str | None]:
    import tempfile

    from checker.inspect.elf_file import inspect_path  # the same inspect code as for any file
    from checker.inspect.raw import ElfParseError

    if _depth.get() > 0:
        return None, "packed again inside a packed file; not unpacked twice"
    upx = find_upx()
    if upx is None:
        return None, "upx is not installed"
    size = info.get("unpacked_size")
    if size is not None and size > MAX_UNPACKED_BYTES:
        return None, f"unpacked size {size} bytes is above the limit of {MAX_UNPACKED_BYTES} bytes"
    with tempfile.TemporaryDirectory(prefix="static-check-upx-") as tmp:  # mode 0700, removed on exit
        packed, unpacked = os.path.join(tmp, "packed"), os.path.join(tmp, "unpacked")
        with open(packed, "wb") as fh:
            for start in range(0, len(data), 1 << 24):  # chunks: no second full copy in memory
                fh.write(data[start : start + (1 << 24)])
        error = _run_upx(upx, packed, unpacked)
        if error:
            return None, error
        token = _depth.set(_depth.get() + 1)
        try:
            inner = inspect_path(unpacked)
        except (OSError, ElfParseError) as exc:
            return None, f"unpacked program is unreadable ({exc})"
        finally:
            _depth.reset(token)
    if inner.kind != "elf":
        return None, f"unpacked data is not an ELF file ({inner.kind})"
    return inner, None


def _limit_output() -> None:
    # Runs in the child before exec: upx gets SIGXFSZ instead of filling the disk.
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_UNPACKED_BYTES, MAX_UNPACKED_BYTES))


def _run_upx(upx: str, packed: str, unpacked: str) -> str | None:
    import subprocess

    try:
        proc = subprocess.run(
            [upx, "-d", "-q", "-o", unpacked, packed],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=UNPACK_TIMEOUT_SECONDS,
            preexec_fn=_limit_output,  # only sets an rlimit in the child
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"upx -d took longer than {UNPACK_TIMEOUT_SECONDS}s"
    except OSError as exc:
        return f"cannot run upx ({exc.strerror or exc})"
    if proc.returncode != 0 or not os.path.isfile(unpacked):
        lines = (proc.stderr or proc.stdout).decode("utf-8", "replace").replace(packed, "<file>").strip().splitlines()
        detail = lines[-1] if lines else f"exit status {proc.returncode}"
        if proc.returncode == -25:  # SIGXFSZ
            detail = f"unpacked program is larger than {MAX_UNPACKED_BYTES} bytes"
        return f"upx -d failed: {detail}"
    return None
