"""Command line: `static-check [options] PATH_OR_GLOB...` (also `python -m checker`)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from checker import __version__
from checker.archives.limits import ArchiveLimits, parse_size, size_text
from checker.parallel import AUTO_MIN_FILES
from checker.policy import DEFAULT_CONFIG, Policy, PolicyError, policy_from_settings
from checker.progress import progress_for
from checker.run import FAIL_ON, NoInputError, RunOptions, check_paths, exit_code

FORMAT_NAMES = ("text", "json", "markdown")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="static-check",
        description="Check Linux ELF binaries for portability (glibc floor, static linking, NEEDED "
        "libraries, architecture) without executing them.",
        epilog="Exit codes: 0 pass, 1 policy violation, 2 usage error or unreadable input.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH_OR_GLOB", help="files, directories (recursed) or globs (** allowed)")
    pol = p.add_argument_group("policy (flags override the config file; the config file overrides --target)")
    pol.add_argument(
        "--target",
        help="preset: centos7, rhel8, rhel9, debian11, debian12, ubuntu20.04, ubuntu22.04, "
        "ubuntu24.04, amazonlinux2, al2023, manylinux2014, manylinux_2_28, alpine, ... (see --list-targets)",
    )
    pol.add_argument("--max-glibc", metavar="VER", help="highest GLIBC_x.y version a file may need, e.g. 2.17")
    pol.add_argument(
        "--max-version", metavar="NS=VER", action="append", help="highest version per namespace, e.g. GLIBCXX=3.4.19 (repeatable)"
    )
    pol.add_argument(
        "--require-static", action=argparse.BooleanOptionalAction, default=None, help="fail dynamically linked files (static-pie passes)"
    )
    pol.add_argument("--allowed-needed", metavar="GLOBS", help="comma-separated glob patterns of allowed DT_NEEDED libraries")
    pol.add_argument("--arch", metavar="LIST", help="allowed machines, e.g. x86_64,aarch64")
    pol.add_argument("--libc", choices=("glibc", "musl", "any"), help="C library the target provides for dynamic files")
    pol.add_argument("--min-kernel", metavar="VER", help="oldest kernel to support; fail files whose ABI tag needs newer")
    pol.add_argument(
        "--forbid-rpath",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fail files with an RPATH/RUNPATH entry not relative to $ORIGIN",
    )
    pol.add_argument(
        "--allow-packed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="accept UPX-packed files that cannot be unpacked and checked (default: they fail)",
    )
    pol.add_argument("--ignore", metavar="RULES", action="append", help="rule ids to ignore (comma-separated, repeatable)")
    pol.add_argument("--config", metavar="FILE", help=f"YAML policy file (default: {DEFAULT_CONFIG} if present)")
    out = p.add_argument_group("output")
    # Every registered report format can go to stdout, not only the first three.
    out.add_argument("--format", choices=output_formats(), default="text", help="format on stdout (default: text)")
    out.add_argument(
        "--output",
        metavar="FORMAT=FILE",
        action="append",
        default=[],
        help="also write a report to FILE (repeatable), e.g. json=report.json",
    )
    out.add_argument("--fail-on", choices=FAIL_ON, default="error", help="lowest finding severity that fails the run (default: error)")
    out.add_argument("--allow-empty", action="store_true", help="exit 0 when no file matches")
    out.add_argument("--color", action=argparse.BooleanOptionalAction, default=None, help="colour (default: on a TTY)")
    out.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress line on stderr (default: on a terminal, once a run takes over a second)",
    )
    out.add_argument(
        "-j",
        "--jobs",
        metavar="N",
        type=_jobs,
        default=1,
        help=f"processes that inspect files (default: 1); 'auto' = one per usable CPU when there are "
        f"{AUTO_MIN_FILES} files or more; the report is the same",
    )
    out.add_argument("-v", "--verbose", action="store_true", help="list every skipped file and every portability line")
    arc = p.add_argument_group("archives and packages (tar, zip, wheel, deb, rpm are checked member by member)")
    arc.add_argument(
        "--archive-depth",
        metavar="N",
        type=_depth,
        default=ArchiveLimits.depth,
        help=f"open archives inside archives this many levels deep; 0 leaves them closed (default: {ArchiveLimits.depth})",
    )
    arc.add_argument(
        "--max-member-size",
        metavar="SIZE",
        type=_size,
        default=ArchiveLimits.max_member_size,
        help=f"largest archive member to read, e.g. 512M (default: {size_text(ArchiveLimits.max_member_size)})",
    )
    arc.add_argument(
        "--max-unpacked-size",
        metavar="SIZE",
        type=_size,
        default=ArchiveLimits.max_unpacked,
        help=f"most bytes to unpack from one archive, nested ones included (default: {size_text(ArchiveLimits.max_unpacked)})",
    )
    p.add_argument("--list-targets", action="store_true", help="print the known targets and exit")
    p.add_argument("--version", action="version", version=f"static-check {__version__}")
    return p


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _jobs(text: str) -> int:
    if text.strip() == "auto":
        return 0  # decided once the files are known: run.check_paths -> parallel.auto_jobs
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1 or 'auto', not {text!r}")
    return int(text)


def _depth(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {text!r}")
    return int(text)


def archive_limits(args: argparse.Namespace) -> ArchiveLimits:
    return ArchiveLimits(depth=args.archive_depth, max_member_size=args.max_member_size, max_unpacked=args.max_unpacked_size)


def output_formats() -> tuple[str, ...]:
    from checker.report import FORMATS

    return tuple(FORMATS)


def parse_outputs(items: list[str]) -> list[tuple[str, str]]:
    known = output_formats()
    outs = []
    for item in items:
        fmt, sep, path = item.partition("=")
        if not sep or not path or fmt not in known:
            raise PolicyError(f"--output {item!r}: expected FORMAT=FILE with FORMAT one of {', '.join(known)}")
        outs.append((fmt, path))
    return outs


def policy_from_args(args: argparse.Namespace) -> Policy:
    cli = {
        "target": args.target,
        "max-glibc": args.max_glibc,
        "max-version": ",".join(args.max_version) if args.max_version else None,
        "require-static": args.require_static,
        "allowed-needed": args.allowed_needed,
        "arch": args.arch,
        "libc": args.libc,
        "min-kernel": args.min_kernel,
        "forbid-rpath": args.forbid_rpath,
        "allow-packed": args.allow_packed,
        "ignore": ",".join(args.ignore) if args.ignore else None,
    }
    return policy_from_settings(cli, args.config)


def list_targets() -> str:
    from checker.data_files import load

    rows = []
    for tid, t in load("targets.json")["targets"].items():
        limits = ", ".join(f"{k} {t[k]}" for k in ("glibc", "GLIBCXX", "CXXABI", "kernel") if k in t)
        limits += f"; arch {','.join(t['arches'])}" if "arches" in t else ""
        rows.append(f"{tid:<16} {t['display']:<20} {t['libc']:<6} {limits}")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    # File names that are not valid UTF-8 arrive as surrogate escapes: print them escaped, never crash.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_targets:
        sys.stdout.write(list_targets())
        return 0
    if not args.paths:
        parser.print_usage(sys.stderr)
        print("static-check: error: no PATH_OR_GLOB given", file=sys.stderr)
        return 2
    try:
        policy = policy_from_args(args)
        outputs = parse_outputs(args.output)
        options = RunOptions(fail_on=args.fail_on, allow_empty=args.allow_empty, archives=archive_limits(args), jobs=args.jobs)
        report = check_paths(args.paths, policy, options, progress=progress_for(sys.stderr, args.progress))
    except (PolicyError, NoInputError) as exc:
        print(f"static-check: error: {exc}", file=sys.stderr)
        return 2
    from checker.report import render

    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ if args.color is None else args.color
    rendered: dict[str, str] = {}  # each format built once, however many outputs ask for it
    if args.format == "text":
        from checker.report import text

        sys.stdout.write(text.render(report, color=color, verbose=args.verbose))
    else:
        rendered[args.format] = render(report, args.format)
        sys.stdout.write(rendered[args.format])
    for fmt, path in outputs:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if fmt not in rendered:
                rendered[fmt] = render(report, fmt)
            Path(path).write_text(rendered[fmt], encoding="utf-8", errors="backslashreplace")
        except OSError as exc:
            print(f"static-check: error: {path}: cannot write report ({exc.strerror})", file=sys.stderr)
            return 2
    return exit_code(report, args.fail_on)
