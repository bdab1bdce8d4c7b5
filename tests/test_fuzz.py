"""Fuzz-style robustness: hundreds of mutated real binaries through the CLI's code path.

Seeded, so a failure names a reproducible mutant. Every result must be a clean FileResult:
pass/fail/error/skipped, errors with a one-line reason, and no exception may escape.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.discover import Candidate
from checker.inspect.pyelf_reader import read_raw
from checker.inspect.raw import ElfParseError, RawElf
from checker.policy import build_policy
from checker.run import RunOptions, check_candidate
from tests.elf_edit import Elf

Get = Callable[[str], Path]

SEED = 20261123
# Small and varied: PIE, C++, library, 32-bit, big-endian, musl, static-pie, Go, no section headers.
SOURCES = ["c_dynamic", "cxx_iostream", "lib_runpath", "zig_i386", "zig_s390x", "musl_dynamic", "c_static_pie", "no_section_headers"]
PER_SOURCE = 60
POLICY = build_policy({}, {"target": "centos7", "allowed-needed": "libc.so.6"})


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Truncate, or overwrite a few bytes, mostly in the headers and tables at the front."""
    if rng.random() < 0.25:
        return data[: rng.randrange(4, len(data))]
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        front = rng.random() < 0.8
        pos = rng.randrange(4, min(len(out), 0x3000)) if front else rng.randrange(4, len(out))
        out[pos] = rng.choice((0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    return bytes(out)


def mutants(fixture: Get, tmp_path: Path) -> list[Path]:
    rng = random.Random(SEED)
    paths = []
    for name in SOURCES:
        data = fixture(name).read_bytes()
        for i in range(PER_SOURCE):
            path = tmp_path / f"{name}-{i}"
            path.write_bytes(mutate(data, rng))
            paths.append(path)
    return paths


@pytest.fixture(scope="module")
def mutant_files(fixture: Get, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return mutants(fixture, tmp_path_factory.mktemp("fuzz"))


def test_every_mutant_gives_a_clean_result(mutant_files: list[Path]) -> None:
    statuses: Counter[str] = Counter()
    for path in mutant_files:
        result = check_candidate(Candidate(str(path)), POLICY, RunOptions())  # no exception may escape
        statuses[result.status] += 1
        assert result.status in ("pass", "fail", "error", "skipped"), path
        if result.status == "error":
            assert result.reason and "\n" not in result.reason, path
            assert "internal error" not in result.reason, f"{path.name}: {result.reason}"
        else:
            assert result.elf is not None or result.status == "skipped", path
    assert sum(statuses.values()) == len(SOURCES) * PER_SOURCE >= 400
    assert statuses["error"] > 50  # the mutations do break files; they are reported, not passed


def test_truncated_mutants_never_pass(mutant_files: list[Path], fixture: Get) -> None:
    """Cut before the end of a segment or of the section headers: the file is broken and must say so.
    (Without section headers, bytes after the last segment are not needed: cutting them is harmless.)"""
    sizes = {name: Elf(bytearray(fixture(name).read_bytes())).needed_size() for name in SOURCES}
    for path in mutant_files:
        name = path.name.rsplit("-", 1)[0]
        if path.stat().st_size < sizes[name]:
            result = check_candidate(Candidate(str(path)), build_policy({}, {}), RunOptions())
            assert result.status == "error", (path.name, result.status)


def test_reference_reader_raises_only_parse_errors(mutant_files: list[Path]) -> None:
    """The pyelftools fallback reader is hardened on its own, not only behind the fast reader."""
    for path in mutant_files[::3]:
        with path.open("rb") as fh:
            try:
                assert isinstance(read_raw(fh), RawElf)
            except ElfParseError as exc:
                assert str(exc) and "\n" not in str(exc)
