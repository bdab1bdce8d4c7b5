"""Policy: what a file must satisfy. Built from a target preset, a config file and flags."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field, replace
from typing import Any, get_args

from checker.data_files import load
from checker.models import Severity
from checker.versions import parse_version, version_text

SEVERITIES = get_args(Severity)
# Read when present and no other policy file is named.
DEFAULT_CONFIG = ".static-check.yml"


class PolicyError(ValueError):
    """Invalid policy input; the message is one line naming the setting."""


@dataclass(frozen=True)
class Rules:
    """Settings that apply to one file (after per-path overrides)."""

    max_versions: dict[str, tuple[int, ...]] = field(default_factory=dict)
    require_static: bool = False
    allowed_needed: tuple[str, ...] | None = None
    arch: tuple[str, ...] | None = None
    libc: str | None = None  # libc the target provides at run time: glibc or musl
    min_kernel: tuple[int, ...] | None = None  # oldest kernel the binary must run on
    forbid_rpath: bool = False
    ignore: frozenset[str] = frozenset()
    severity: dict[str, str] = field(default_factory=dict)
    allow_packed: bool = False  # accept packed files whose inside cannot be checked

    @property
    def has_limits(self) -> bool:
        return bool(
            self.max_versions
            or self.require_static
            or self.allowed_needed is not None
            or self.arch
            or self.libc
            or self.min_kernel
            or self.forbid_rpath
        )


@dataclass(frozen=True)
class Override:
    paths: tuple[str, ...]
    settings: dict[str, Any]


@dataclass(frozen=True)
class Policy:
    rules: Rules
    target: str | None = None
    overrides: tuple[Override, ...] = ()

    def rules_for(self, path: str) -> Rules:
        rules = self.rules
        candidates = {path, path.removeprefix("./")}
        if "!" in path:  # archive member: match the inner path too
            candidates.add(path.rsplit("!", 1)[1])
        for override in self.overrides:
            if any(fnmatch.fnmatchcase(c, pat) for c in candidates for pat in override.paths):
                rules = _apply(rules, override.settings, "overrides")
        return rules

    def describe(self) -> dict[str, Any]:
        """The effective policy, for reports."""
        r = self.rules
        return {
            "target": self.target,
            "max_versions": {ns: version_text(v) for ns, v in r.max_versions.items()},
            "require_static": r.require_static,
            "allowed_needed": list(r.allowed_needed) if r.allowed_needed is not None else None,
            "arch": list(r.arch) if r.arch else None,
            "libc": r.libc,
            "min_kernel": version_text(r.min_kernel) if r.min_kernel else None,
            "forbid_rpath": r.forbid_rpath,
            "allow_packed": r.allow_packed,
            "ignore": sorted(r.ignore),
            "overrides": [{"paths": list(o.paths), **o.settings} for o in self.overrides],
        }


def resolve_target(name: str) -> tuple[str, dict[str, Any]]:
    """Find a target preset by id or alias (case-insensitive)."""
    targets: dict[str, dict[str, Any]] = load("targets.json")["targets"]
    key = name.strip().lower()
    for tid, data in targets.items():
        if key == tid or key in data.get("aliases", []):
            return tid, data
    raise PolicyError(f"unknown target {name!r}; known: {', '.join(sorted(targets))}")


def target_settings(name: str) -> dict[str, Any]:
    """Translate a preset into config settings (explicit settings override these)."""
    _, data = resolve_target(name)
    settings: dict[str, Any] = {"libc": data["libc"]}
    versions = {ns: data[ns] for ns in ("GLIBCXX", "CXXABI") if ns in data}
    if "glibc" in data:
        versions["GLIBC"] = data["glibc"]
    if versions:
        settings["max-version"] = versions
    if "kernel" in data:
        settings["min-kernel"] = data["kernel"]
    if "arches" in data:  # a riscv64 file cannot pass for RHEL 9 just because riscv64's first glibc is old enough
        settings["arch"] = data["arches"]
    return settings


def build_policy(config: dict[str, Any], cli: dict[str, Any]) -> Policy:
    """Layer: target preset < config file < command-line flags."""
    merged = {**config, **{k: v for k, v in cli.items() if v is not None}}
    target = merged.get("target")
    target_id = None
    rules = Rules()
    if target:
        target_id, _ = resolve_target(str(target))
        rules = _apply(rules, target_settings(target_id), f"target {target_id}")
    explicit = {k: v for k, v in merged.items() if k not in ("target", "overrides")}
    # max-version from the config and the CLI add up per namespace instead of replacing.
    if "max-version" in config and "max-version" in cli and cli["max-version"] is not None:
        explicit["max-version"] = {**_as_map(config["max-version"], "max-version"), **_as_map(cli["max-version"], "max-version")}
    rules = _apply(rules, explicit, "settings")
    overrides = tuple(_parse_override(o, i) for i, o in enumerate(merged.get("overrides") or []))
    return Policy(rules=rules, target=target_id, overrides=overrides)


_KNOWN_KEYS = {
    "max-glibc",
    "max-version",
    "require-static",
    "allowed-needed",
    "arch",
    "libc",
    "min-kernel",
    "forbid-rpath",
    "ignore",
    "severity",
    "allow-packed",
}


def _machine(name: str, where: str) -> str:
    """A machine name as inspect reports it; other common spellings (amd64, arm64) are accepted,
    and a name no ELF file can have is an error rather than a failure of every file."""
    table = load("machines.json")
    lowered = name.strip().lower()
    machine = table["arch_aliases"].get(lowered, lowered)
    known = set(table["machines"].values()) | set(table["by_class_and_endianness"].values())
    if machine not in known and not machine.startswith("unknown("):
        raise PolicyError(f"{where}: arch {name!r} is not a machine name; known: {', '.join(sorted(known))} (or amd64, arm64, ...)")
    return machine


def _apply(rules: Rules, settings: dict[str, Any], where: str) -> Rules:
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in _KNOWN_KEYS:
            raise PolicyError(f"{where}: unknown setting {key!r}")
        if value is None:
            continue
        if key == "max-glibc":
            changes.setdefault("max_versions", dict(rules.max_versions))["GLIBC"] = _version(value, key)
        elif key == "max-version":
            mv = changes.setdefault("max_versions", dict(rules.max_versions))
            for ns, ver in _as_map(value, key).items():
                mv[ns.upper() if ns.lower() in ("glibc", "glibcxx", "cxxabi", "gcc") else ns] = _version(ver, f"max-version {ns}")
        elif key == "require-static":
            changes["require_static"] = _bool(value, key)
        elif key == "forbid-rpath":
            changes["forbid_rpath"] = _bool(value, key)
        elif key == "allow-packed":
            changes["allow_packed"] = _bool(value, key)
        elif key == "allowed-needed":
            changes["allowed_needed"] = tuple(split_list(value))
        elif key == "arch":
            changes["arch"] = tuple(_machine(a, where) for a in split_list(value)) or None
        elif key == "libc":
            if value not in ("glibc", "musl", "any"):
                raise PolicyError(f"{where}: libc must be glibc, musl or any, not {value!r}")
            changes["libc"] = None if value == "any" else value
        elif key == "min-kernel":
            changes["min_kernel"] = _version(value, key)
        elif key == "ignore":
            changes["ignore"] = rules.ignore | frozenset(split_list(value))
        elif key == "severity":
            sev = dict(rules.severity)
            for rule, level in _as_map(value, key).items():
                if level not in SEVERITIES:
                    raise PolicyError(f"{where}: severity for {rule!r} must be one of {', '.join(SEVERITIES)}")
                sev[rule] = level
            changes["severity"] = sev
    if "max_versions" in changes:
        changes["max_versions"] = dict(sorted(changes["max_versions"].items()))
    # A glibc limit says the targets run glibc: a musl-linked program would find no loader there.
    # An explicit libc setting (any included) in the same layer wins.
    versions = _as_map(settings["max-version"], "max-version") if settings.get("max-version") is not None else {}
    glibc_limit = settings.get("max-glibc") is not None or any(ns.lower() == "glibc" for ns in versions)
    if glibc_limit and "libc" not in settings and rules.libc is None:
        changes["libc"] = "glibc"
    return replace(rules, **changes)


def _parse_override(item: Any, index: int) -> Override:
    if not isinstance(item, dict) or "paths" not in item:
        raise PolicyError(f"overrides[{index}]: expected a mapping with 'paths'")
    settings = {k: v for k, v in item.items() if k != "paths"}
    for key in settings:
        if key not in _KNOWN_KEYS:
            raise PolicyError(f"overrides[{index}]: unknown setting {key!r}")
    return Override(paths=tuple(split_list(item["paths"])), settings=settings)


def _version(value: Any, key: str) -> tuple[int, ...]:
    try:
        return parse_version(str(value))
    except ValueError as exc:
        raise PolicyError(f"{key}: {exc}") from None


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off", ""):
        return False
    raise PolicyError(f"{key}: expected true or false, not {value!r}")


def split_list(value: Any) -> list[str]:
    """Accept a YAML list or a comma/newline separated string."""
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = str(value).replace("\n", ",").split(",")
    return [i.strip() for i in items if i.strip()]


def _as_map(value: Any, key: str) -> dict[str, Any]:
    """Accept {NS: VER} or 'NS=VER' items (list or comma separated)."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    out: dict[str, Any] = {}
    for item in split_list(value):
        name, sep, ver = item.partition("=")
        if not sep or not name.strip():
            raise PolicyError(f"{key}: expected NAME=VALUE, not {item!r}")
        out[name.strip()] = ver.strip()
    return out


def load_config(path: str) -> dict[str, Any]:
    """Read a .static-check.yml file; raise PolicyError with a one-line reason."""
    import yaml  # imported lazily: most runs have no config file

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read config ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PolicyError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', None) or 'syntax error'})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping of settings at the top level")
    return data


def policy_from_settings(settings: dict[str, Any], config_path: str | None = None) -> Policy:
    """The policy of one run: flags/CI inputs over the config file (the named one, else
    .static-check.yml when present) over the target preset. Shared by every entry point."""
    path = config_path or (DEFAULT_CONFIG if os.path.isfile(DEFAULT_CONFIG) else None)
    return build_policy(load_config(path) if path else {}, settings)
