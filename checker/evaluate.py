"""Evaluate layer: ELF facts + policy rules -> findings. No I/O, no CI knowledge."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import Any

from checker.data_files import load
from checker.models import ElfFacts, Finding, Severity
from checker.policy import Rules
from checker.versions import parse_version, parse_version_name, version_text, vkey

# Non-numeric version names that still imply a minimum glibc release (also named by the reports).
IMPLIED_GLIBC = {"GLIBC_ABI_DT_RELR": (2, 36)}
_MAX_LISTED_SYMBOLS = 6

Check = Callable[[ElfFacts, dict[str, Any], Rules], list[Finding]]


def rule_info(rule: str) -> dict[str, str]:
    return load("rules.json")["rules"].get(rule, {"severity": "error", "title": rule, "help": ""})


def finding(rule: str, message: str, hint: str, *, severity: Severity | None = None, **details: Any) -> Finding:
    """A finding at its rule's severity from rules.json, or at `severity` where a check sets its own (e.g. info)."""
    return Finding(rule=rule, severity=severity or rule_info(rule)["severity"], message=message, hint=hint, details=details)  # type: ignore[arg-type]


def effective_glibc(facts: ElfFacts) -> tuple[int, ...] | None:
    """Highest glibc release the file needs, counting GLIBC_ABI_DT_RELR as 2.36."""
    best = parse_version(facts.max_versions["GLIBC"]) if "GLIBC" in facts.max_versions else None
    for name in facts.nonnumeric_versions:
        implied = IMPLIED_GLIBC.get(name)
        if implied and (best is None or implied > best):
            best = implied
    return best


def _needs_above(facts: ElfFacts, names: set[str], namespace: str, limit: tuple[int, ...]) -> list[tuple[str, list[str]]]:
    """Version names (of `names`, the file's) of one namespace above the limit, newest first, with their symbols."""
    above = vkey(limit)
    out = []
    for name in names:
        parsed = parse_version_name(name)
        if parsed and parsed.namespace == namespace and vkey(parsed.version) > above:
            out.append((parsed.version, name))
        elif namespace == "GLIBC" and name in IMPLIED_GLIBC and IMPLIED_GLIBC[name] > limit:
            out.append((IMPLIED_GLIBC[name], name))
    return [(name, facts.symbols.get(name, [])) for _, name in sorted(out, reverse=True)]


def _describe_needs(needs: list[tuple[str, list[str]]]) -> str:
    parts = []
    for name, symbols in needs:
        if symbols:
            shown = ", ".join(symbols[:_MAX_LISTED_SYMBOLS])
            more = f" and {len(symbols) - _MAX_LISTED_SYMBOLS} more" if len(symbols) > _MAX_LISTED_SYMBOLS else ""
            parts.append(f"{name} ({shown}{more})")
        elif name in IMPLIED_GLIBC:
            parts.append(f"{name} (packed relative relocations, glibc {version_text(IMPLIED_GLIBC[name])}+)")
        else:
            parts.append(name)
    return "; ".join(parts)


def glibc_baseline(machine: str) -> tuple[int, ...] | None:
    """Oldest glibc that exists for an architecture (e.g. aarch64: 2.17, riscv64: 2.27)."""
    text = load("machines.json")["glibc_baseline"].get(machine)
    return parse_version(text) if text else None


def check_versions(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    if not rules.max_versions:
        return []
    out = []
    names = {n for needs in facts.version_needs.values() for n in needs}  # once for all limited namespaces
    for namespace, limit in rules.max_versions.items():
        baseline = glibc_baseline(facts.machine) if namespace == "GLIBC" else None
        if baseline and vkey(limit) < vkey(baseline):
            # No glibc older than the arch's first release exists: a lower limit cannot be met by
            # any binary, so judge against the baseline instead of failing every file.
            limit = baseline
        needs = _needs_above(facts, names, namespace, limit)
        if not needs:
            continue
        top = needs[0][0]
        required = version_text(IMPLIED_GLIBC.get(top) or parse_version_name(top).version)  # type: ignore[union-attr]
        if namespace == "GLIBC":
            rule, library = "glibc-version", "glibc"
            zig = zig_glibc_target(facts.machine)
            cross = f"cross-compile with `zig cc -target {zig}.{version_text(limit)}`, " if zig else ""
            image = "manylinux2014 or " if facts.machine in load("machines.json")["manylinux2014_images"] else ""
            hint = (
                f"built against glibc {required} or newer; rebuild in an older image (e.g. {image}a "
                f"distro with glibc {version_text(limit)}), {cross}or link statically with musl"
            )
            if _is_gc_go(extra):
                hint = GO_CGO_HINT + (f"; or keep cgo with CC='zig cc -target {zig}.{version_text(limit)}'" if zig else "")
        else:
            rule, library = "symbol-version", namespace
            hint = _namespace_hint(namespace, version_text(limit))
        out.append(
            finding(
                rule,
                f"needs {library} {required}, above the limit {version_text(limit)}: {_describe_needs(needs)}",
                hint,
                namespace=namespace,
                required=required,
                limit=version_text(limit),
                versions={name: syms for name, syms in needs},
            )
        )
    return out


def _namespace_hint(namespace: str, limit: str) -> str:
    if namespace in ("GLIBCXX", "CXXABI"):
        return (
            f"built with a newer libstdc++ than {namespace} {limit}; build with the target's GCC, "
            "use an older toolchain image, or link libstdc++ statically (-static-libstdc++)"
        )
    if namespace == "GCC":
        return "needs a newer libgcc_s; build with an older GCC or link it statically (-static-libgcc)"
    return f"needs a newer {namespace} library than {limit}; build against the oldest version you support or bundle it"


def zig_glibc_target(machine: str) -> str | None:
    """zig's glibc triple for a machine (i386 -> x86-linux-gnu, arm -> arm-linux-gnueabihf), if zig has one."""
    target: str | None = load("machines.json").get("zig_glibc_target", {}).get(machine)
    return target


def check_private(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    if not rules.has_limits:
        return []
    # Only glibc's private interface is known to break across builds; other *_PRIVATE names are listed as facts.
    private = [n for n in facts.nonnumeric_versions if n == "GLIBC_PRIVATE"]
    if not private:
        return []
    return [
        finding(
            "glibc-private",
            f"uses private version(s) {', '.join(private)}",
            "do not link against glibc internals; the file only works with the exact glibc build it was linked with",
            versions=private,
        )
    ]


def check_static(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    if not rules.require_static or facts.linkage != "dynamic":
        return []
    needed = ", ".join(facts.needed) or "no libraries"
    interp = f"interpreter {facts.interpreter}, " if facts.interpreter else ""
    hint = "link statically: gcc -static (or -static-pie), musl-gcc -static, or for Go CGO_ENABLED=0"
    go = extra.get("go") or {}
    if go.get("toolchain") == "gccgo":
        hint = "gccgo programs need libgo and libc at run time; build with the gc toolchain and CGO_ENABLED=0, or link with -static"
    elif go.get("cgo_enabled") is False:
        hint = "built with CGO_ENABLED=0: the loader comes from -buildmode=pie or an external link; build with the default -buildmode=exe"
    elif go:
        hint = GO_CGO_HINT
    if facts.type == "shared-library":
        hint = (
            "a shared library is always dynamic; exempt it with a per-path override (overrides: paths: ['lib/*.so'], require-static: false)"
        )
    return [finding("not-static", f"dynamically linked ({interp}NEEDED {needed})", hint)]


def check_needed(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    if rules.allowed_needed is None:
        return []
    bad = [lib for lib in facts.needed if not any(fnmatch.fnmatchcase(lib, p) for p in rules.allowed_needed)]
    if not bad:
        return []
    return [
        finding(
            "needed-not-allowed",
            f"needs shared librar{'y' if len(bad) == 1 else 'ies'} not in the allowed list: {', '.join(bad)}",
            "link these statically, bundle them next to the binary with RUNPATH $ORIGIN, or add them to allowed-needed",
            libraries=bad,
        )
    ]


def check_arch(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    if not rules.arch or facts.machine.lower() in rules.arch:
        return []
    return [
        finding(
            "arch-not-allowed",
            f"built for {facts.machine}, allowed: {', '.join(rules.arch)}",
            "build for one of the allowed architectures (GOARCH, or the compiler's target triple); to accept this one, list it in arch",
            machine=facts.machine,
        )
    ]


def check_libc(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    if rules.libc and facts.linkage == "dynamic" and facts.libc == "unknown" and facts.interpreter:
        return [
            finding(
                "libc-mismatch",
                f"asks for the loader {facts.interpreter}, which is neither glibc's nor musl's: not a program for {rules.libc} systems",
                "build for Linux with the target's C library (gcc/clang for glibc, musl-gcc), or link statically",
                libc=facts.libc,
            )
        ]
    if not rules.libc or facts.linkage != "dynamic" or facts.libc not in ("glibc", "musl") or facts.libc == rules.libc:
        return []
    if rules.libc == "musl":
        hint = "build on Alpine or with musl-gcc / zig cc -target <arch>-linux-musl, or link statically"
    else:
        hint = "build against glibc, or link statically with musl so no musl loader is needed"
    return [
        finding(
            "libc-mismatch",
            f"dynamically linked against {facts.libc}{f' (interpreter {facts.interpreter})' if facts.interpreter else ''}, "
            f"but the target provides {rules.libc}",
            hint,
            libc=facts.libc,
        )
    ]


def check_rpath(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    if not rules.forbid_rpath:
        return []
    bad = [p for p in facts.rpath + facts.runpath if not p.startswith(("$ORIGIN", "${ORIGIN}"))]
    if not bad:
        return []
    return [
        finding(
            "rpath",
            f"searches libraries in {', '.join(bad)}",
            "drop the RPATH/RUNPATH (patchelf --remove-rpath, or fix -Wl,-rpath) or make it relative to $ORIGIN",
            paths=bad,
        )
    ]


def check_kernel(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    if not rules.min_kernel or not facts.min_kernel:
        return []
    need = parse_version(facts.min_kernel)
    if vkey(need) <= vkey(rules.min_kernel):
        return []
    return [
        finding(
            "kernel-version",
            f"needs Linux {facts.min_kernel} or newer (ABI tag), the target has {version_text(rules.min_kernel)}",
            "build with a toolchain/glibc configured for the older kernel (--enable-kernel), or in the target's image",
            required=facts.min_kernel,
        )
    ]


GO_CGO_HINT = "build with CGO_ENABLED=0, or -tags netgo,osusergo and -ldflags '-linkmode external -extldflags -static'"


def _is_gc_go(extra: dict[str, Any]) -> bool:
    go = extra.get("go")
    return bool(go) and go.get("toolchain") != "gccgo"


def check_packed(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    """A packed file's own headers describe the unpacker stub; judge the program inside or fail closed."""
    packer = extra.get("packer")
    if not packer:
        return _check_unidentified(facts, rules)
    name = f"{packer['name'].upper()} {packer['version']}" if packer.get("version") else packer["name"].upper()
    details = {"packer": packer["name"], "version": packer.get("version"), "unpacked": packer.get("unpacked") is not None}
    if packer.get("unpacked") is not None:
        return [
            finding(
                "packed",
                f"packed with {name}; inside: {describe_program(facts)}",
                "the checks ran on the unpacked program; `file` and `ldd` only see the unpacker stub and call it static",
                severity="info",
                **details,
            )
        ]
    reason = packer.get("unpack_error") or "not unpacked"
    return [
        finding(
            "packed",
            f"packed with {name}; cannot verify ({reason}): its headers describe only the unpacker stub",
            "install upx (Debian: upx-ucl) so the program inside can be checked, ship the binary unpacked, or set allow-packed",
            severity=_unverified_severity(rules),
            **details,
        )
    ]


def _unverified_severity(rules: Rules) -> Severity | None:
    """A file that cannot be verified is only reported (info) when packing is allowed or no limit is set."""
    return "info" if rules.allow_packed or not rules.has_limits else None


def unidentified(facts: ElfFacts) -> bool:
    """A program with no section headers, no loader, no NEEDED, and neither a C library nor a Go runtime
    found in it: what `file` calls static is then most likely a packer's stub with its markers removed
    (real static programs, even sstripped, still show their libc or Go runtime)."""
    return (
        not facts.has_section_headers
        and facts.interpreter is None
        and not facts.needed
        and facts.libc == "unknown"
        and facts.type in ("executable", "pie-executable", "shared-library")
    )


def _check_unidentified(facts: ElfFacts, rules: Rules) -> list[Finding]:
    if not unidentified(facts):
        return []
    return [
        finding(
            "packed",
            "cannot verify: no section headers, no dynamic loader, no NEEDED, and no C library or Go runtime found; "
            "this looks like a packed or scrambled file (e.g. UPX with its markers removed) whose headers describe only a stub",
            "ship the program unpacked (or packed with intact UPX headers so it can be unpacked and checked), or set allow-packed",
            severity=_unverified_severity(rules),
            packer=None,
            version=None,
            unpacked=False,
        )
    ]


def describe_program(facts: ElfFacts) -> str:
    """'dynamic, needs GLIBC_2.34 via __libc_start_main, NEEDED libc.so.6'."""
    parts = [facts.linkage or facts.type]
    glibc = sorted(
        (parsed.version, name)
        for needs in facts.version_needs.values()
        for name in needs
        if (parsed := parse_version_name(name)) and parsed.namespace == "GLIBC"
    )
    if glibc:
        top = glibc[-1][1]
        symbols = facts.symbols.get(top, [])
        shown = ", ".join(symbols[:3]) + (" and more" if len(symbols) > 3 else "")
        parts.append(f"needs {top} via {shown}" if shown else f"needs {top}")
    if facts.needed:
        parts.append("NEEDED " + ", ".join(facts.needed))
    if facts.linkage in ("static", "static-pie"):
        parts[0] += f" {facts.libc}" if facts.libc in ("glibc", "musl") else ", no C library" if facts.libc == "none" else ""
    return ", ".join(parts)


def check_go_cgo(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    go = extra.get("go")
    if not go or not rules.has_limits or go.get("cgo_enabled") is not True or go.get("toolchain") == "gccgo":
        return []
    version = go.get("version") or "Go"
    if facts.linkage == "dynamic":
        return [
            finding(
                "go-cgo",
                f"{version} program built with CGO_ENABLED=1 is linked dynamically against the C library ({', '.join(facts.needed)})",
                GO_CGO_HINT,
                cgo_enabled=True,
                tags=go.get("tags", []),
            )
        ]
    if go.get("tags"):
        how = "tags " + ",".join(go["tags"])
    elif go.get("ldflags"):
        how = f"ldflags {go['ldflags']}"
    elif (go.get("build") or {}).get("-trimpath") == "true":
        how = "a link mode its build info does not show: -trimpath leaves -ldflags out"  # Go omits them with -trimpath
    else:
        how = "its build settings"
    return [
        finding(
            "go-cgo",
            f"{version} program built with CGO_ENABLED=1 is nevertheless {facts.linkage} (via {how})",
            "nothing to do; with cgo and a static glibc, see static-nss",
            severity="info",
            cgo_enabled=True,
            tags=go.get("tags", []),
        )
    ]


def check_static_nss(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    if not rules.require_static or not extra.get("static_glibc_nss"):
        return []
    evidence = "; ".join(extra.get("static_glibc_nss_evidence") or [])
    if _is_gc_go(extra):
        hint = "build with CGO_ENABLED=0, or -tags netgo,osusergo so Go's own resolver and user lookup replace glibc's NSS"
    else:
        hint = (
            "link with musl (musl-gcc -static, zig cc -target <arch>-linux-musl), or avoid NSS calls (getaddrinfo, getpwnam, "
            "getgrnam, ...); otherwise the target needs libnss_*.so.2 from the exact glibc used for linking"
        )
    return [
        finding(
            "static-nss",
            f"statically linked glibc still loads NSS modules (libnss_*.so.2) or gconv modules of its own glibc at run time: {evidence}",
            hint,
            evidence=extra.get("static_glibc_nss_evidence") or [],
        )
    ]


CHECKS: list[Check] = [
    check_versions,
    check_private,
    check_static,
    check_needed,
    check_arch,
    check_libc,
    check_rpath,
    check_kernel,
    check_packed,
    check_go_cgo,
    check_static_nss,
]


def evaluate(facts: ElfFacts, extra: dict[str, Any], rules: Rules) -> list[Finding]:
    """Run every check, then apply the policy's ignore list and severity overrides."""
    return apply_rules((f for check in CHECKS for f in check(facts, extra, rules)), rules)


def apply_rules(findings: Iterable[Finding], rules: Rules) -> list[Finding]:
    """The policy's ignore list and severity overrides, for CHECKS and for findings made elsewhere (wheel tags)."""
    out: list[Finding] = []
    for f in findings:
        if f.rule in rules.ignore:
            continue
        if f.rule in rules.severity:
            f.severity = rules.severity[f.rule]  # type: ignore[assignment]
        out.append(f)
    return out
