"""Policy building: presets < config file < flags, per-path overrides, and one-line errors."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.policy import PolicyError, build_policy, load_config, resolve_target
from checker.run import RunOptions, check_paths

Get = Callable[[str], Path]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_preset_then_config_then_flags() -> None:
    policy = build_policy({"target": "centos7", "max-glibc": "2.28"}, {"max-glibc": "2.31"})
    assert policy.target == "centos7"
    assert policy.rules.max_versions["GLIBC"] == (2, 31)
    assert policy.rules.max_versions["GLIBCXX"] == (3, 4, 19)  # from the preset, untouched
    assert build_policy({"target": "centos7", "max-glibc": "2.28"}, {}).rules.max_versions["GLIBC"] == (2, 28)


def test_max_version_from_config_and_flags_add_up() -> None:
    policy = build_policy({"max-version": {"GLIBCXX": "3.4.19"}}, {"max-version": "CXXABI=1.3.7,glibc=2.17"})
    assert policy.rules.max_versions == {"CXXABI": (1, 3, 7), "GLIBC": (2, 17), "GLIBCXX": (3, 4, 19)}


def test_aliases_resolve_case_insensitively() -> None:
    assert resolve_target("EL7")[0] == "centos7"
    assert resolve_target("bookworm")[0] == "debian12"
    assert resolve_target("musllinux")[0] == "alpine"


def test_alpine_preset_wants_musl() -> None:
    rules = build_policy({}, {"target": "alpine"}).rules
    assert rules.libc == "musl" and "GLIBC" not in rules.max_versions


@pytest.mark.parametrize(
    ("config", "cli", "message"),
    [
        ({}, {"target": "solaris"}, "unknown target 'solaris'"),
        ({}, {"max-glibc": "two"}, "max-glibc: not a dotted version number: 'two'"),
        ({}, {"max-version": "GLIBCXX"}, "max-version: expected NAME=VALUE, not 'GLIBCXX'"),
        ({}, {"libc": "bionic"}, "libc must be glibc, musl or any"),
        ({"require-static": "perhaps"}, {}, "require-static: expected true or false"),
        ({"max_glibc": "2.17"}, {}, "unknown setting 'max_glibc'"),
        ({"severity": {"not-static": "fatal"}}, {}, "severity for 'not-static' must be one of error, warning, info"),
        ({"overrides": [{"require-static": False}]}, {}, "overrides[0]: expected a mapping with 'paths'"),
        ({"overrides": [{"paths": "x", "colour": 1}]}, {}, "overrides[0]: unknown setting 'colour'"),
    ],
)
def test_bad_settings_give_one_line_errors(config: dict, cli: dict, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        build_policy(config, cli)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_config_file_yaml(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / ".static-check.yml",
        """
target: centos7
require-static: true
allowed-needed: [libc.so.6, "libm.so.*"]
arch: x86_64, aarch64
ignore: [glibc-private]
severity:
  rpath: warning
overrides:
  - paths: ["lib/*.so", "lib/*.so.*"]
    require-static: false
""",
    )
    policy = build_policy(load_config(str(cfg)), {})
    assert policy.rules.require_static and policy.rules.allowed_needed == ("libc.so.6", "libm.so.*")
    assert policy.rules.arch == ("x86_64", "aarch64") and "glibc-private" in policy.rules.ignore
    assert policy.rules.severity == {"rpath": "warning"}
    assert policy.rules_for("lib/libfoo.so.1").require_static is False
    assert policy.rules_for("./lib/libfoo.so").require_static is False
    assert policy.rules_for("bin/app").require_static is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("target: [centos7\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping of settings at the top level"),
    ],
)
def test_bad_config_file(tmp_path: Path, text: str, message: str) -> None:
    cfg = write(tmp_path / "bad.yml", text)
    with pytest.raises(PolicyError) as err:
        load_config(str(cfg))
    assert message in str(err.value) and str(cfg) in str(err.value) and "\n" not in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read config"):
        load_config(str(tmp_path / "nope.yml"))


def test_empty_config_file_is_no_policy(tmp_path: Path) -> None:
    assert load_config(str(write(tmp_path / "empty.yml", ""))) == {}


def test_override_lets_libraries_be_dynamic(fixture: Get, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A release tree: bin/ must be static, lib/*.so may be dynamic."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "lib").mkdir()
    shutil.copy(fixture("c_static"), tmp_path / "bin" / "app")
    shutil.copy(fixture("lib_runpath"), tmp_path / "lib" / "libfoo.so.1")
    monkeypatch.chdir(tmp_path)
    strict = build_policy({"require-static": True}, {})
    assert check_paths(["bin", "lib"], strict, RunOptions()).verdict == "fail"
    relaxed = build_policy({"require-static": True, "overrides": [{"paths": ["lib/*.so*"], "require-static": False}]}, {})
    report = check_paths(["bin", "lib"], relaxed, RunOptions())
    assert report.verdict == "pass" and [r.status for r in report.files] == ["pass", "pass"]
    ignored = build_policy({"require-static": True, "overrides": [{"paths": "lib/*", "ignore": "not-static"}]}, {})
    assert check_paths(["bin", "lib"], ignored, RunOptions()).verdict == "pass"


def test_describe_is_the_effective_policy() -> None:
    described = build_policy({"overrides": [{"paths": ["lib/*.so"], "require-static": False}]}, {"target": "rhel8"}).describe()
    assert described["target"] == "rhel8" and described["max_versions"]["GLIBC"] == "2.28"
    assert described["overrides"] == [{"paths": ["lib/*.so"], "require-static": False}]


def test_readme_documents_every_config_key() -> None:
    from checker.policy import _KNOWN_KEYS
    from tests.cli_run import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration file", 1)[1].split("\n## ", 1)[0]
    missing = sorted(k for k in _KNOWN_KEYS | {"target", "overrides"} if f"`{k}`" not in section)
    assert not missing, f"README 'Configuration file' does not document: {missing}"
