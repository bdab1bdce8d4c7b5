"""Checking files in several processes (`--jobs`): the same results, in the same order, as in one.

Worker processes check chunks of files; this process only hands them out and collects the results
in order (measured on 2 cores: faster than also checking chunks here, which competes with its own
result handling and with the workers for the CPUs). Results travel as plain tuples (quicker to
unpickle than dataclass instances) and are rebuilt here. Workers are forked on Linux when this
process runs no other thread (nothing is imported again); if no worker can be started (no /dev/shm
semaphores in some containers, a process limit) or a worker dies, its files are checked here:
never an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checker.models import ElfFacts, FileResult, Finding

if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    from checker.discover import Candidate

MAX_CHUNK = 32  # files per task: small enough to balance big and small files, big enough to amortise a task
# `--jobs auto` starts worker processes only from this many files on: below it, starting them costs
# more than they save (2 cores, medians of 9, one process vs two workers: 200 files 0.178 vs 0.212 s,
# 400 files 0.240 vs 0.247 s, 800 files 0.410 vs 0.339 s).
AUTO_MIN_FILES = 500

Check = Callable[[list["Candidate"], Any, Any], list[FileResult]]  # (chunk, policy, options) -> results, in order
Progress = Callable[[int, int, str], None]


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask (e.g. a cpuset), lowered to a cgroup CPU quota (docker --cpus)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = cgroup_cpu_quota(Path("/proc/self/cgroup"), Path("/sys/fs/cgroup"))
    return max(1, min(count, int(quota))) if quota is not None else count


def cgroup_cpu_quota(membership: Path, root: Path) -> float | None:
    """CPUs allowed by the cgroup quota of this process and its parent groups (v2 cpu.max, v1 cfs_quota_us); None: no quota."""
    try:
        lines = membership.read_text(errors="surrogateescape").splitlines()  # a group's name is any bytes: keep them for the path
    except OSError:
        return None
    limits: list[float] = []
    for line in lines:
        _, controllers, path = [*line.split(":", 2), "", ""][:3]
        if controllers == "":  # v2: one hierarchy; read every level from the process's group up
            places = [(root, "cpu.max")]
        elif "cpu" in controllers.split(","):
            places = [(root / name, "cpu.cfs_quota_us") for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu")]
        else:
            continue
        parts = [p for p in path.strip("/").split("/") if p]
        for base, name in places:
            for depth in range(len(parts), -1, -1):
                limits.extend(_quota(base.joinpath(*parts[:depth]), name))
    return min(limits) if limits else None


def _quota(group: Path, name: str) -> list[float]:
    try:
        if name == "cpu.max":
            quota, period = (group / name).read_text().split()[:2]
        else:
            quota, period = (group / name).read_text().strip(), (group / "cpu.cfs_period_us").read_text().strip()
        return [] if quota in ("max", "-1") or int(period) <= 0 else [int(quota) / int(period)]
    except (OSError, ValueError):
        return []


def auto_jobs(files: int) -> int:
    """Processes for `--jobs auto` (RunOptions.jobs 0): one per usable CPU for large runs, else one."""
    return usable_cpus() if files >= AUTO_MIN_FILES else 1


def check_in_processes(
    candidates: Sequence[Candidate], jobs: int, check: Check, policy: Any, options: Any, progress: Progress | None
) -> list[FileResult]:
    """`check` over chunks of candidates in `jobs` worker processes; results in candidate order."""
    size = max(1, min(MAX_CHUNK, len(candidates) // (jobs * 8)))
    chunks = [list(candidates[i : i + size]) for i in range(0, len(candidates), size)]
    futures: list[Future[list[tuple[Any, ...]]] | None] = [None] * len(chunks)  # None: to check here
    pool = _start_pool(min(jobs, len(chunks)), check, policy, options)
    try:
        if pool is not None:
            try:
                for i, chunk in enumerate(chunks):
                    futures[i] = pool.submit(_work, chunk)
            except Exception:  # the pool broke while being filled: the rest is checked here
                pass
        results: list[FileResult] = []
        done = 0
        for chunk, future in zip(chunks, futures, strict=True):
            if progress:
                progress(done, len(candidates), chunk[0].path)
            done += len(chunk)
            if future is not None:
                try:
                    results.extend([_decode(item) for item in future.result()])
                    continue
                except Exception:  # a worker died (killed, out of memory) or the pool broke
                    pass
            results.extend(check(chunk, policy, options))  # not given to a worker, or its worker failed: checked here
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return results


def _start_pool(workers: int, check: Check, policy: Any, options: Any) -> Executor | None:
    if workers < 1:
        return None
    try:
        import multiprocessing
        import threading
        from concurrent.futures import ProcessPoolExecutor

        # fork: nothing to import again in the workers (3.14 makes forkserver Linux's default); it is
        # only safe while this process runs no other thread (a thread holding a lock would deadlock the child).
        methods = multiprocessing.get_all_start_methods()
        if "fork" in methods and threading.active_count() == 1:
            method: str | None = "fork"
        else:
            method = "forkserver" if "forkserver" in methods else None  # never fork from a threaded process
        context = multiprocessing.get_context(method)
        return ProcessPoolExecutor(workers, mp_context=context, initializer=_setup, initargs=(check, policy, options))
    except (OSError, ImportError, NotImplementedError, ValueError):  # e.g. no semaphores: sem_open fails without /dev/shm
        return None


_job: tuple[Check, Any, Any] | None = None  # in a worker: what to run on each chunk


def _setup(check: Check, policy: Any, options: Any) -> None:
    global _job
    _job = (check, policy, options)


def _work(chunk: list[Candidate]) -> list[tuple[Any, ...]]:
    if _job is None:
        raise RuntimeError("worker process was not set up")
    check, policy, options = _job
    return [_encode(result) for result in check(chunk, policy, options)]


def _encode(result: FileResult) -> tuple[Any, ...]:
    """A FileResult as tuples of field values (its ElfFacts and Findings too)."""
    values = dict(zip(_field_names(FileResult), _values(result), strict=True))
    elf, findings = values.pop("elf"), values.pop("findings")
    return values, None if elf is None else _values(elf), [_values(f) for f in findings]


def _decode(item: tuple[Any, ...]) -> FileResult:
    values, elf, findings = item
    return FileResult(**values, elf=None if elf is None else ElfFacts(*elf), findings=[Finding(*f) for f in findings])


def _values(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, name) for name in _field_names(type(obj)))


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))
