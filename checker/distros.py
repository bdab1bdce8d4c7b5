"""Which known distros a file runs on, from checker/data/targets.json (evaluate layer, no I/O)."""

from __future__ import annotations

from typing import Any

from checker.data_files import load
from checker.evaluate import effective_glibc, unidentified
from checker.models import ElfFacts
from checker.versions import parse_version, vkey


def distro_support(facts: ElfFacts) -> tuple[list[str], list[str]] | None:
    """(runs on, not on) display names over the known distros, or None when not applicable."""
    if facts.linkage is None or unidentified(facts):
        return None
    need_glibc = effective_glibc(facts)
    # The answer depends only on these facts; files of one tree share a handful of combinations.
    key = (
        facts.linkage,
        facts.libc,
        facts.machine,
        bool(facts.interpreter),  # a dynamic file of unknown libc with a loader runs nowhere (_fits)
        facts.min_kernel,
        need_glibc,
        facts.max_versions.get("GLIBCXX"),
        facts.max_versions.get("CXXABI"),
    )
    cached = _SUPPORT_CACHE.get(key)
    if cached is None:
        cached = _SUPPORT_CACHE[key] = _distro_support(facts, need_glibc)
    return list(cached[0]), list(cached[1])


_SUPPORT_CACHE: dict[tuple[Any, ...], tuple[list[str], list[str]]] = {}


def _distro_support(facts: ElfFacts, need_glibc: tuple[int, ...] | None) -> tuple[list[str], list[str]]:
    targets: dict[str, dict[str, Any]] = load("targets.json")["targets"]
    runs, not_on = [], []
    for family in load("targets.json")["families"]:
        for tid in family["releases"]:
            data = targets[tid]
            ok = _fits(facts, need_glibc, data)
            (runs if ok else not_on).append(data["display"])
    if facts.linkage == "dynamic" and facts.libc == "musl":
        runs, not_on = ["Alpine Linux"], runs + not_on
    return runs, not_on


def _fits(facts: ElfFacts, need_glibc: tuple[int, ...] | None, distro: dict[str, Any]) -> bool:
    if "arches" in distro and facts.machine not in distro["arches"]:
        return False  # no such port (e.g. riscv64 on RHEL, s390x on Amazon Linux), whatever the glibc
    if facts.min_kernel and "kernel" in distro and vkey(parse_version(facts.min_kernel)) > vkey(parse_version(distro["kernel"])):
        return False
    if facts.linkage != "dynamic":
        return True
    if facts.libc == "musl" or (facts.libc == "unknown" and facts.interpreter):
        return False  # musl's loader, or one that is neither glibc's nor musl's
    if need_glibc and vkey(need_glibc) > vkey(parse_version(distro["glibc"])):
        return False
    for ns in ("GLIBCXX", "CXXABI"):
        if ns in facts.max_versions and ns in distro and vkey(parse_version(facts.max_versions[ns])) > vkey(parse_version(distro[ns])):
            return False
    return True


def compact_support(runs: list[str], not_on: list[str]) -> str:
    """'runs on: Debian 12+, RHEL 9+; not on: CentOS 7, RHEL 8, Debian 11'."""
    key = (tuple(runs), tuple(not_on))
    text = _COMPACT_CACHE.get(key)
    if text is None:
        text = _COMPACT_CACHE[key] = _compact_support(runs, not_on)
    return text


_COMPACT_CACHE: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}


def _compact_support(runs: list[str], not_on: list[str]) -> str:
    data = load("targets.json")
    targets = data["targets"]
    run_set = set(runs)
    parts = []
    for family in data["families"]:
        names = [targets[t]["display"] for t in family["releases"]]
        ok = [n for n in names if n in run_set]
        if not ok:
            continue
        first = names.index(ok[0])
        if (ok == names[first:] and len(ok) > 1) or (ok == names[-1:] and len(names) > 1):
            parts.append(f"{ok[0]}+")
        else:
            parts.extend(ok)
    parts.extend(n for n in runs if n not in {targets[t]["display"] for f in data["families"] for t in f["releases"]})
    text = f"runs on: {', '.join(parts) if parts else 'none of the known distros'}"
    if not_on:
        text += f"; not on: {', '.join(not_on)}"
    return text
