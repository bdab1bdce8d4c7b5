"""Check one archive: every ELF member goes through the same inspect + judge as a plain file.

Members are streamed; an ELF member is held in memory (small) or in a file inside a private
temp directory (mkdtemp, mode 0700) that is removed when the archive is done. Temp files get
serial names, never member names, so a hostile name cannot steer a write.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import IO, Any

from checker.archives import wheel
from checker.archives.detect import detect, maybe_archive
from checker.archives.entries import Entry
from checker.archives.errors import ArchiveError
from checker.archives.limits import ArchiveLimits, size_text
from checker.archives.members import iter_entries
from checker.archives.names import clean_member_name, link_problem
from checker.archives.streams import CHUNK, Budget
from checker.evaluate import apply_rules, effective_glibc, finding
from checker.filetype import HEAD_SIZE, sniff
from checker.inspect.elf_file import inspect_elf
from checker.inspect.raw import ElfParseError
from checker.models import FileResult
from checker.policy import Policy
from checker.run import RunOptions, file_status, judge
from checker.versions import version_text

WHEEL_RULE = "wheel-tag-mismatch"
_WHEEL_METADATA_MAX = 1 << 16
_LABELS = {"deb": "Debian package", "rpm": "RPM package"}
_ROOTED = ("deb", "rpm")  # installed at /: absolute symlink targets stay inside the package


class _TooBig(Exception):
    pass


def check_archive(path: str, fmt: str, policy: Policy, options: RunOptions) -> list[FileResult]:
    """The archive's own entry first, then one entry per ELF member or bad member."""
    limits: ArchiveLimits = options.archives
    tmp = tempfile.mkdtemp(prefix="static-check-")  # private: mode 0700
    try:
        job = _Job(policy, options, limits, Budget(limits.max_unpacked), tmp)
        return _container(job, path, path, fmt, depth=0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class _Job:
    policy: Policy
    options: RunOptions
    limits: ArchiveLimits
    budget: Budget
    tmp: str
    serial: int = 0

    def temp_path(self) -> str:
        self.serial += 1
        return os.path.join(self.tmp, f"member-{self.serial}")


@dataclass
class _Tally:
    entries: int = 0
    members: int = 0  # everything but directories
    elf: int = 0
    nested: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    wheel_metadata: str | None = None

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def _container(job: _Job, real_path: str, display: str, fmt: str, depth: int) -> list[FileResult]:
    tally = _Tally()
    members: list[FileResult] = []
    error: str | None = None
    try:
        with open(real_path, "rb") as fh:
            for entry in iter_entries(fh, fmt, job.budget):
                if tally.entries >= job.limits.max_members:
                    raise ArchiveError(f"more than {job.limits.max_members} entries")
                tally.entries += 1
                try:
                    members.extend(_entry(job, entry, display, fmt, depth, tally))
                except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
                    if fmt != "zip":  # a stream cannot resync after a bad member; a zip's members are independent
                        raise
                    members.append(_member_error(display, entry.name, f"cannot read member ({exc})"))
    except ArchiveError as exc:
        error = str(exc)
    except OSError as exc:
        error = f"cannot read ({exc.strerror})" if exc.strerror else f"corrupt or truncated {fmt} archive ({exc})"
    except Exception as exc:  # hostile input: tarfile/zlib/lzma/zstd raise many types; never a traceback
        error = f"corrupt or truncated {fmt} archive ({exc or type(exc).__name__})"
    info: dict[str, Any] = {}
    if fmt == "zip":
        info = _wheel_checks(job, display, members, tally)
    return [_summary(display, fmt, tally, members, error, info), *members]


def _entry(job: _Job, entry: Entry, display: str, fmt: str, depth: int, tally: _Tally) -> list[FileResult]:
    name, problem = clean_member_name(entry.name)
    if problem:
        tally.members += 1
        return [_member_error(display, entry.name, problem)]
    if entry.kind == "dir" or not name:
        return []
    tally.members += 1
    if entry.problem:
        return [_member_error(display, name, entry.problem)]
    if entry.kind == "symlink":
        bad = link_problem(name, entry.link, rooted=fmt in _ROOTED)
        if bad:
            return [_member_error(display, name, bad)]
        tally.skip("symbolic link")
        return []
    if entry.kind == "hardlink":
        if clean_member_name(entry.link)[1]:
            return [_member_error(display, name, f"hard link to a path outside the archive (-> {entry.link})")]
        tally.skip("hard link")
        return []
    if entry.kind == "other" or entry.stream is None:
        tally.skip("special file")
        return []
    limit = job.limits.max_member_size
    if entry.size > limit:
        return [
            _member_error(
                display,
                name,
                f"declared size {size_text(entry.size)} is over --max-member-size {size_text(limit)} (archive bomb?): not read",
            )
        ]
    head = _read_up_to(entry.stream, HEAD_SIZE)
    kind = sniff(head)
    try:
        if kind == "elf":
            result = _elf_member(job, display, name, head, entry, limit)
            tally.elf += 1
            return [result]
        if wheel.WHEEL_METADATA.match(name):
            text = head + _read_up_to(entry.stream, _WHEEL_METADATA_MAX - len(head))
            tally.wheel_metadata = text.decode("utf-8", "replace")
        if maybe_archive(head):
            return _nested(job, display, name, head, entry, depth, tally, kind)
    except _TooBig:
        return [_member_error(display, name, f"larger than --max-member-size {size_text(limit)} when unpacked (archive bomb?)")]
    tally.skip(kind)
    return []


def _elf_member(job: _Job, display: str, name: str, head: bytes, entry: Entry, limit: int) -> FileResult:
    where = f"{display}!{name}"
    assert entry.stream is not None
    try:
        if entry.size <= job.limits.in_memory:
            buf = io.BytesIO()
            _copy(head, entry.stream, buf, limit)
            data = buf.getvalue()
            _check_length(len(data))
            inspection = inspect_elf(data, io.BytesIO(data), where)
        else:
            path = job.temp_path()
            try:
                with _private_file(path) as out:
                    _copy(head, entry.stream, out, limit)
                with open(path, "rb") as fh:
                    _check_length(os.fstat(fh.fileno()).st_size)
                    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                        inspection = inspect_elf(mapped, fh, where)
            finally:
                _remove(path)
    except ElfParseError as exc:
        return _member_error(display, name, str(exc))
    result = judge(where, inspection, job.policy, job.options)
    result.extra = {**result.extra, "archive_member": {"archive": display, "member": name}}
    return result


def _nested(job: _Job, display: str, name: str, head: bytes, entry: Entry, depth: int, tally: _Tally, kind: str) -> list[FileResult]:
    assert entry.stream is not None
    path = job.temp_path()
    try:
        with _private_file(path) as out:
            _copy(head, entry.stream, out, job.limits.max_member_size)
        with open(path, "rb") as fh:
            fmt = detect(fh, name)
        if fmt is None:
            tally.skip(kind)
            return []
        tally.nested += 1
        if depth >= job.limits.depth:
            if job.limits.depth == 0:
                tally.skip("nested archive (--archive-depth 0)")
                return []
            levels = f"{job.limits.depth} level{'s' if job.limits.depth > 1 else ''}"
            return [_member_error(display, name, f"{fmt} archive nested more than {levels} deep: not opened (raise --archive-depth)")]
        return _container(job, path, f"{display}!{name}", fmt, depth + 1)
    finally:
        _remove(path)


def _wheel_checks(job: _Job, display: str, members: list[FileResult], tally: _Tally) -> dict[str, Any]:
    """Check each ELF member of a wheel against its platform tags; returns the report's "wheel" block."""
    from_name = wheel.tags_from_filename(display)
    if from_name is None and tally.wheel_metadata is None:
        return {}
    from_metadata = wheel.tags_from_metadata(tally.wheel_metadata or "")
    platforms = from_name or from_metadata
    tags = [wheel.parse_platform(t) for t in platforms]
    direct = [r for r in members if r.elf is not None and r.status in ("pass", "fail") and r.path.rpartition("!")[0] == display]
    bundled = {r.path.rsplit("/", 1)[-1].rsplit("!", 1)[-1] for r in direct} | {r.elf.soname for r in direct if r.elf and r.elf.soname}
    mismatched = 0
    for r in direct:
        assert r.elf is not None
        by_problem: dict[str, list[str]] = {}
        for tag in tags:
            for problem in wheel.tag_problems(r.elf, tag, bundled):
                by_problem.setdefault(problem, []).append(tag.text)
        rules = job.policy.rules_for(r.path)
        if not by_problem or WHEEL_RULE in rules.ignore:
            continue
        mismatched += 1
        found = [
            finding(WHEEL_RULE, f"does not fit the wheel tag {', '.join(names)}: {problem}", wheel.HINT, tags=names)
            for problem, names in by_problem.items()
        ]
        r.findings.extend(apply_rules(found, rules))
        r.status = file_status(r.findings, job.options.fail_on)  # type: ignore[assignment]
    needs = [g for r in direct if r.elf and r.elf.linkage == "dynamic" and (g := effective_glibc(r.elf))]
    return {
        "wheel": {
            "platform_tags": platforms,
            "filename_tags": from_name,
            "metadata_tags": from_metadata if tally.wheel_metadata is not None else None,
            "glibc_needed": version_text(max(needs)) if needs else None,
            "files_not_fitting": mismatched,
        }
    }


def _summary(display: str, fmt: str, tally: _Tally, members: list[FileResult], error: str | None, info: dict[str, Any]) -> FileResult:
    statuses = [r.status for r in members]
    bad = statuses.count("error")
    failed = statuses.count("fail")
    if error or bad:
        status = "error"
    elif failed:
        status = "fail"
    elif "pass" in statuses:
        status = "pass"
    else:
        status = "skipped"
    kind = "wheel" if "wheel" in info else _LABELS.get(fmt, f"{fmt} archive")
    parts = [f"{tally.elf} ELF file{'s' if tally.elf != 1 else ''} checked" + (f" ({failed} failed)" if failed else "")]
    skipped = sum(tally.skipped.values())
    if skipped:
        parts.append(f"{skipped} other member{'s' if skipped != 1 else ''} not checked")
    if bad:
        parts.append(f"{bad} unreadable or unsafe")
    reason = f"{kind}: {', '.join(parts)}"
    if error:
        reason = f"{error}; {reason} before that" if tally.members else error
    elif not tally.elf and not bad:
        reason = f"{kind}: no ELF files among {tally.members} member{'s' if tally.members != 1 else ''}"
    if "wheel" in info and info["wheel"]["files_not_fitting"]:
        n = info["wheel"]["files_not_fitting"]
        reason += f"; {n} file{' does' if n == 1 else 's do'} not fit the tag {'.'.join(info['wheel']['platform_tags'])}"
    block = {
        "format": fmt,
        "members": tally.members,
        "elf_members": tally.elf,
        "skipped_members": skipped,
        "skipped_reasons": dict(sorted(tally.skipped.items())),
        "member_errors": bad,
        "nested_archives": tally.nested,
        "error": error,
    }
    return FileResult(display, status, reason=reason, extra={"archive": block, **info})  # type: ignore[arg-type]


def _member_error(display: str, name: str, reason: str) -> FileResult:
    return FileResult(f"{display}!{name}", "error", reason=reason, extra={"archive_member": {"archive": display, "member": name}})


def _read_up_to(stream: IO[bytes], n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _copy(head: bytes, stream: IO[bytes], out: IO[bytes], limit: int) -> None:
    total = len(head)
    out.write(head)
    while chunk := stream.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise _TooBig
        out.write(chunk)


def _check_length(size: int) -> None:
    if size < 52:
        raise ElfParseError(f"truncated ELF ({size} bytes, shorter than an ELF header)")


def _private_file(path: str) -> IO[bytes]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    return os.fdopen(fd, "wb")


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
