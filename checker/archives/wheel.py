"""Wheel platform tags: what a wheel promises, and whether each ELF file inside keeps it.

Mirrors what `auditwheel show` checks (glibc ceiling, musl vs glibc, architecture, libraries
that must be bundled) but reports the exact file and symbols that break the promise.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from checker.data_files import load
from checker.evaluate import effective_glibc
from checker.models import ElfFacts
from checker.versions import parse_version, version_text, vkey

WHEEL_METADATA = re.compile(r"^[^/]+\.dist-info/WHEEL$")


@dataclass(frozen=True)
class PlatformTag:
    text: str
    family: str  # manylinux, musllinux, linux, any, other
    arch: str | None = None  # ELF machine name (checker/data/machines.json naming)
    version: tuple[int, ...] | None = None  # glibc (manylinux) or musl (musllinux) version


def parse_platform(tag: str) -> PlatformTag:
    data = load("wheels.json")
    arches: dict[str, str] = data["arches"]
    if tag == "any":
        return PlatformTag(tag, "any")
    m = re.fullmatch(r"(manylinux|musllinux)_(\d+)_(\d+)_(\w+)", tag)
    if m:
        return PlatformTag(tag, m.group(1), arches.get(m.group(4), m.group(4)), (int(m.group(2)), int(m.group(3))))
    m = re.fullmatch(r"(manylinux1|manylinux2010|manylinux2014)_(\w+)", tag)
    if m:
        return PlatformTag(tag, "manylinux", arches.get(m.group(2), m.group(2)), parse_version(data["legacy_manylinux"][m.group(1)]))
    m = re.fullmatch(r"linux_(\w+)", tag)
    if m:
        return PlatformTag(tag, "linux", arches.get(m.group(1), m.group(1)))
    return PlatformTag(tag, "other")


def tags_from_filename(name: str) -> list[str] | None:
    """Platform tags of `{dist}-{ver}(-{build})?-{py}-{abi}-{plat}.whl`; None if not a wheel name."""
    base = name.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    if not base.endswith(".whl"):
        return None
    parts = base[:-4].split("-")
    if len(parts) not in (5, 6):
        return None
    return parts[-1].split(".")


def tags_from_metadata(text: str) -> list[str]:
    """Platform parts of the `Tag: py-abi-plat` lines of *.dist-info/WHEEL."""
    out: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "tag":
            plat = value.strip().rsplit("-", 1)[-1]
            if plat and plat not in out:
                out.append(plat)
    return out


def tag_problems(facts: ElfFacts, tag: PlatformTag, bundled: set[str]) -> list[str]:
    """Ways this ELF file breaks the promise of one platform tag (empty: it fits)."""
    if tag.family == "any":
        return [f"the wheel is tagged {tag.text!r} (pure Python) but contains a compiled {facts.machine} ELF file"]
    if tag.family == "other":
        return [f"a Linux ELF file in a wheel tagged for another platform ({tag.text})"]
    problems = []
    if tag.arch and facts.machine != tag.arch:
        problems.append(f"built for {facts.machine}, but the tag says {tag.arch}")
    dynamic = facts.linkage == "dynamic"
    if tag.family == "manylinux":
        if dynamic and facts.libc == "musl":
            problems.append("linked against musl, but manylinux tags promise glibc")
        need = effective_glibc(facts)
        if tag.version and need and vkey(need) > vkey(tag.version):
            top = f"GLIBC_{version_text(need)}"
            symbols = facts.symbols.get(top, [])
            shown = f" ({top}: {', '.join(symbols[:6])})" if symbols else ""
            problems.append(f"needs glibc {version_text(need)}{shown}, above the {version_text(tag.version)} the tag promises")
        for namespace, limit in _cxx_limits(tag.version).items():
            above = _highest(facts, namespace)
            if above and vkey(above) > vkey(limit):
                problems.append(f"needs {namespace} {version_text(above)}, above the {version_text(limit)} of the tag's reference image")
    if tag.family == "musllinux" and dynamic and (facts.libc == "glibc" or "GLIBC" in facts.max_versions):
        problems.append("linked against glibc, but musllinux tags promise musl")
    if tag.family in ("manylinux", "musllinux") and dynamic:
        allowed = load("wheels.json")["allowed_libs"][tag.family]
        external = [lib for lib in facts.needed if lib not in bundled and not any(fnmatch.fnmatchcase(lib, p) for p in allowed)]
        if external:
            problems.append(f"needs {', '.join(external)}, neither bundled in the wheel nor on the {tag.family} list of system libraries")
    return problems


def _cxx_limits(glibc: tuple[int, ...] | None) -> dict[str, tuple[int, ...]]:
    """libstdc++ limits of the manylinux target preset with exactly this glibc (none for other versions)."""
    if glibc is None:
        return {}
    for data in load("targets.json")["targets"].values():
        if data.get("distro") is False and data["libc"] == "glibc" and vkey(parse_version(data["glibc"])) == vkey(glibc):
            return {ns: parse_version(data[ns]) for ns in ("GLIBCXX", "CXXABI") if ns in data}
    return {}


def _highest(facts: ElfFacts, namespace: str) -> tuple[int, ...] | None:
    return parse_version(facts.max_versions[namespace]) if namespace in facts.max_versions else None


HINT = (
    "build the wheel in the image its tag names (e.g. quay.io/pypa/manylinux2014_x86_64) and run `auditwheel repair` "
    "to bundle outside libraries, or tag it for what it really needs"
)
