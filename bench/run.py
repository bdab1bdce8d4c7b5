#!/usr/bin/env python3
"""Benchmark static-check against `readelf` and `scanelf` on the same files (see bench/README.md).

Lists: every ELF file under /usr/lib/x86_64-linux-gnu and /usr/bin ("tree"), and a list of
large files ("large": the biggest .so files plus Go binaries, a few built here if `go` is
installed). Each tool runs over each list several times in alternating order; the script
prints medians, ratios and peak memory, then checks static-check's facts against readelf.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TREE_ROOTS = ("/usr/lib/x86_64-linux-gnu", "/usr/bin")
GO_SEARCH = ("/usr/bin", "/usr/local/bin", "/usr/lib", "/opt")
GO_MAGIC = b"\xff Go buildinf:"
READELF_LOOP = 'while IFS= read -r f; do readelf -d -V -l -W "$f" >/dev/null 2>&1; done < "$1"'
HEAVY_MODULES = ("requests", "yaml", "elftools", "urllib3", "xml.etree.ElementTree")


def is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def tree_files(roots: tuple[str, ...]) -> list[str]:
    """Regular (non-symlink) ELF files under the roots, sorted."""
    out = []
    for root in roots:
        for d, _, names in os.walk(root):
            for n in names:
                p = os.path.join(d, n)
                if not os.path.islink(p) and os.path.isfile(p) and is_elf(p):
                    out.append(p)
    return sorted(set(out))


def is_go(path: str) -> bool:
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(GO_MAGIC) >= 0


def find_go_binaries(min_size: int, limit: int) -> list[str]:
    found: dict[str, str] = {}
    for root in GO_SEARCH:
        for d, _, names in os.walk(root):
            for n in names:
                p = os.path.realpath(os.path.join(d, n))
                try:
                    big = os.path.isfile(p) and os.path.getsize(p) >= min_size
                except OSError:
                    continue
                if big and p not in found and is_elf(p) and is_go(p):
                    found[p] = p
    return sorted(found, key=os.path.getsize, reverse=True)[:limit]


def build_go_programs(work: Path, embed_mb: int) -> list[str]:
    """Big Go programs made here: the go command itself, and one embedding EMBED_MB of data."""
    go = shutil.which("go")
    if go is None:
        return []
    env = {**os.environ, "CGO_ENABLED": "0", "GOCACHE": str(work / "gocache"), "GOPATH": str(work / "gopath")}
    out = []
    src = work / "embed"
    src.mkdir(exist_ok=True)
    (src / "go.mod").write_text("module bench/embed\n\ngo 1.19\n")
    blob = src / "blob.bin"
    if not blob.exists():
        with open(blob, "wb") as fh:  # incompressible but reproducible
            chunk = bytes(range(256)) * 4096
            for i in range(embed_mb):
                fh.write(bytes([i % 251]) + chunk[1:])
    (src / "main.go").write_text(
        'package main\n\nimport (\n\t_ "embed"\n\t"fmt"\n)\n\n//go:embed blob.bin\nvar blob []byte\n\n'
        "func main() { fmt.Println(len(blob)) }\n"
    )
    targets = [(f"go-embed-{embed_mb}mb", ["build", "-o", str(work / f"go-embed-{embed_mb}mb"), "."], src)]
    targets.append(("go-cmd-go", ["build", "-o", str(work / "go-cmd-go"), "cmd/go"], work))
    for name, args, cwd in targets:
        exe = work / name
        if not exe.exists():
            proc = subprocess.run([go, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(f"bench: could not build {name}: {proc.stderr.strip()[:200]}", file=sys.stderr)
                continue
        out.append(str(exe))
    return out


def timed(cmd: list[str], stdout: Any = subprocess.DEVNULL) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB of the command or of its largest child).

    Peak memory comes from GNU time (%M): a child forked straight from this Python process
    would inherit the benchmark's own high-water mark in ru_maxrss.
    """
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        full = [gnu_time, "-f", "%M", "-o", rss.name, *cmd] if gnu_time else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=stdout, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        text = rss.read().strip().splitlines()
    peak = int(text[-1]) if gnu_time and text and text[-1].isdigit() else usage.ru_maxrss
    return elapsed, peak


def static_check_cmd(args: argparse.Namespace) -> list[str]:
    return args.static_check.split() if args.static_check else [sys.executable, "-m", "checker"]


def run_lists(lists: dict[str, list[str]], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    sc = static_check_cmd(args)
    for label, files in lists.items():
        if not files:
            continue
        list_file = work / f"{label}.list"
        list_file.write_text("\n".join(files) + "\n")
        json_out = work / f"{label}.json"
        tools = {
            "readelf loop": lambda lf=list_file: timed(["bash", "-c", READELF_LOOP, "bash", str(lf)]),
            "scanelf": lambda lf=list_file: timed(["scanelf", "-n", "-i", "-f", str(lf)]),
            "static-check": lambda fs=files, jo=json_out: _timed_to([*sc, "--format", "json", "--no-progress", *fs], jo),
        }
        if args.jobs > 1:  # the same report from worker processes (written aside: the facts check reads the one above)
            jobs_out = work / f"{label}.jobs.json"
            tools[f"static-check -j{args.jobs}"] = lambda fs=files, jo=jobs_out: _timed_to(
                [*sc, "--format", "json", "--no-progress", "--jobs", str(args.jobs), *fs], jo
            )
        if not shutil.which("scanelf"):
            del tools["scanelf"]
        samples: dict[str, list[tuple[float, int]]] = {t: [] for t in tools}
        order = list(tools)
        for rep in range(args.repeat):
            for tool in order if rep % 2 == 0 else reversed(order):
                samples[tool].append(tools[tool]())
        size = sum(os.path.getsize(f) for f in files)
        results[label] = {
            "files": len(files),
            "bytes": size,
            "tools": {
                t: {
                    "median_s": statistics.median(s for s, _ in v),
                    "runs_s": [round(s, 4) for s, _ in v],
                    "peak_rss_kib": max(m for _, m in v),
                }
                for t, v in samples.items()
            },
        }
    return results


def _timed_to(cmd: list[str], path: Path) -> tuple[float, int]:
    with open(path, "wb") as out:
        return timed(cmd, stdout=out)


# ---- facts check: static-check's JSON against readelf


def readelf_facts(path: str) -> dict[str, Any]:
    def readelf(*options: str) -> str:
        env = {**os.environ, "LC_ALL": "C"}
        proc = subprocess.run(["readelf", "-W", *options, path], capture_output=True, text=True, errors="replace", env=env, check=False)
        return proc.stdout

    text = readelf("-h", "-d", "-V", "-l", "--dyn-syms")
    if re.search(r"Number of section headers:\s+0\b", text):  # symbols through the dynamic segment instead
        text += readelf("-D", "-s")
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", text)
    interp = re.search(r"\[Requesting program interpreter: (.*)\]", text)
    needs: dict[str, set[str]] = {}
    current = None
    in_needs = False
    for line in text.splitlines():
        if line and not line[0].isspace():
            in_needs = line.startswith("Version needs section")
            continue
        if in_needs:
            m = re.search(r"File: (\S+)", line)
            if m:
                current = needs.setdefault(m.group(1), set())
            m = re.search(r"Name: (\S+)\s+Flags", line)
            if m and current is not None:
                current.add(m.group(1))
    symbols: dict[str, set[str]] = {}
    # Undefined symbols, and definitions readelf marks "(n)": copy relocations bound to a needed version.
    pattern = r"^\s*\d+:\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+(?:\s+\[[^\]]*\])?\s+(?:UND\s+([^@\s]+)@@?(\S+)|\S+\s+([^@\s]+)@([^@\s]+) \(\d+\)$)"
    for m in re.finditer(pattern, text, re.M):
        name, version = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        symbols.setdefault(version, set()).add(name)
    return {"needed": needed, "interpreter": interp.group(1) if interp else None, "version_needs": needs, "symbols": symbols}


def check_facts(json_path: Path, files: list[str], workers: int) -> dict[str, Any]:
    report = json.loads(json_path.read_text())
    by_path = {f["path"]: f for f in report["files"]}
    with ThreadPoolExecutor(workers) as pool:
        truth = dict(zip(files, pool.map(readelf_facts, files), strict=True))
    mismatches, errors, symbols = [], [], 0
    for path in files:
        entry = by_path.get(path)
        if entry is None or entry.get("elf") is None:
            errors.append(f"{path}: {entry and entry.get('status')} {entry and entry.get('reason')}")
            continue
        elf, want = entry["elf"], truth[path]
        got = {
            "needed": elf["needed"],
            "interpreter": elf["interpreter"],
            "version_needs": {k: set(v) for k, v in elf["version_needs"].items()},
            "symbols": {k: set(v) for k, v in elf["symbols"].items()},
        }
        symbols += sum(len(v) for v in got["symbols"].values())
        if not elf["has_section_headers"]:
            want["version_needs"] = got["version_needs"]  # readelf -V cannot show them without section headers
        diff = [k for k in got if got[k] != want[k]]
        if diff:
            mismatches.append(f"{path}: {', '.join(diff)}")
    return {"compared": len(files) - len(errors), "not_read": errors, "mismatches": mismatches, "versioned_symbols": symbols}


# ---- the readers alone, in one process (no start-up, no evaluation, no report)

READERS_SNIPPET = """
import json, mmap, sys, time
from checker.inspect.fast_reader import read_raw_fast
from checker.inspect.pyelf_reader import read_raw
files = open(sys.argv[1]).read().split()
def run(fast):
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            read_raw_fast(data) if fast else read_raw(fh)
    return time.perf_counter() - start
fast = min(run(True) for _ in range(3))
print(json.dumps({"fast_reader_s": fast, "reference_reader_s": run(False)}))
"""


def readers_alone(list_file: Path) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", READERS_SNIPPET, str(list_file)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


# ---- where one static-check process spends its time, phase by phase (no start-up)

PHASES_SNIPPET = """
import json, sys, time
from checker.discover import discover
from checker.inspect.elf_file import inspect_opened, open_file
from checker.policy import build_policy
from checker.report import render
from checker.run import RunOptions, build_report, judge
files = open(sys.argv[1]).read().split()
policy, options = build_policy({}, {}), RunOptions()
def once():
    t = {}
    start = time.perf_counter()
    candidates = discover(files)
    t["discover"] = time.perf_counter() - start
    inspected, t["open and inspect"], t["judge"] = [], 0.0, 0.0
    for cand in candidates:
        start = time.perf_counter()
        with open_file(cand.path) as opened:
            inspection = inspect_opened(opened, cand.path)
        mid = time.perf_counter()
        inspected.append(judge(cand.path, inspection, policy, options))
        t["open and inspect"] += mid - start
        t["judge"] += time.perf_counter() - mid
    start = time.perf_counter()
    render(build_report(inspected, policy, files), "json")
    t["JSON report"] = time.perf_counter() - start
    return t
print(json.dumps(once()))
"""


def phases(list_file: Path) -> dict[str, float]:
    """Seconds per phase (best of 3 fresh processes: no cache survives a run), and the cost of the imports."""
    cmd = [sys.executable, "-c", PHASES_SNIPPET, str(list_file)]
    runs = [json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout) for _ in range(3)]
    out = {k: min(r[k] for r in runs) for k in runs[0]}
    startup = [timed([sys.executable, "-c", "import checker.cli, checker.run"])[0] for _ in range(7)]
    bare = [timed([sys.executable, "-c", "pass"])[0] for _ in range(7)]
    return {"python start-up": statistics.median(bare), "imports": statistics.median(startup) - statistics.median(bare), **out}


# ---- one small binary, end to end


def single_file(args: argparse.Namespace, path: str) -> dict[str, Any]:
    sc = static_check_cmd(args)
    runs = [timed([*sc, path])[0] for _ in range(args.single_runs)]
    bare = [timed([sys.executable, "-c", "pass"])[0] for _ in range(args.single_runs)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "checker", path], capture_output=True, text=True, env=env, check=False)
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return {
        "file": path,
        "median_s": statistics.median(runs),
        "python_startup_median_s": statistics.median(bare),
        "heavy_modules_imported": sorted(m for m in imported if m in HEAVY_MODULES),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="runs of each tool on each list (default 5, alternating order)")
    p.add_argument("--large", type=int, default=12, help="how many of the largest .so files go into the large list")
    p.add_argument("--embed-mb", type=int, default=120, help="size of the data embedded in the generated Go program")
    p.add_argument("--single-runs", type=int, default=11, help="runs of static-check on one small binary")
    p.add_argument("--jobs", type=int, default=2, help="also time static-check --jobs N (default 2; 1 = no such row)")
    p.add_argument("--static-check", help="command to run (default: this checkout, python -m checker)")
    p.add_argument("--work", help="work directory (default: a fresh one under /tmp, kept)")
    p.add_argument("--no-check", action="store_true", help="skip comparing the facts with readelf")
    args = p.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="static-check-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")

    tree = tree_files(TREE_ROOTS)
    libs = sorted((f for f in tree if ".so" in os.path.basename(f)), key=os.path.getsize)[-args.large :]
    go = find_go_binaries(10 << 20, 4) + build_go_programs(work, args.embed_mb)
    large = sorted(set(libs + go), key=os.path.getsize, reverse=True)
    print(f"bench: tree {len(tree)} files, large {len(large)} files ({len(go)} Go); work dir {work}", flush=True)

    results = run_lists({"tree": tree, "large": large}, args, work)
    results["readers"] = readers_alone(work / "tree.list")
    results["phases"] = phases(work / "tree.list")
    if args.jobs > 1:
        results["jobs_same_report"] = {
            label: (work / f"{label}.jobs.json").read_bytes() == (work / f"{label}.json").read_bytes() for label in ("tree", "large")
        }
    results["single"] = single_file(args, "/usr/bin/true" if os.path.exists("/usr/bin/true") else tree[0])
    if not args.no_check:
        results["facts"] = {
            label: check_facts(work / f"{label}.json", files, os.cpu_count() or 2) for label, files in (("tree", tree), ("large", large))
        }
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "kernel": os.uname().release}
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print_summary(results, large)
    print(f"\nbench: full results in {work / 'results.json'}")
    return 0


def print_summary(results: dict[str, Any], large: list[str]) -> None:
    for label in ("tree", "large"):
        r = results.get(label)
        if not r:
            continue
        t = r["tools"]
        base = t["readelf loop"]["median_s"]
        scan = t.get("scanelf", {}).get("median_s")
        print(f"\n{label}: {r['files']} files, {r['bytes'] / 2**20:.0f} MiB")
        print(f"  {'tool':<18}{'median s':>10}{'vs readelf':>12}{'vs scanelf':>12}{'peak RSS MiB':>14}")
        for name, v in t.items():
            vs_scan = f"{v['median_s'] / scan:.1f}x" if scan else "-"
            print(f"  {name:<18}{v['median_s']:>10.3f}{v['median_s'] / base:>12.3f}{vs_scan:>12}{v['peak_rss_kib'] / 1024:>14.1f}")
    rd, tree_scan = results["readers"], results["tree"]["tools"].get("scanelf", {}).get("median_s")
    print(
        f"\nreaders alone on the tree, in one process: fast {rd['fast_reader_s']:.3f} s, pyelftools reference "
        f"{rd['reference_reader_s']:.3f} s" + (f" (fast = {rd['fast_reader_s'] / tree_scan:.1f}x scanelf)" if tree_scan else "")
    )
    ph = results["phases"]
    print("\nwhere static-check's time goes on the tree (one process; start-up: median of 7, phases: best of 3):")
    for name, seconds in ph.items():
        print(f"  {name:<18}{seconds:>8.3f} s" + (f"  ({seconds / tree_scan:.1f}x scanelf)" if tree_scan else ""))
    s = results["single"]
    print(
        f"\none small binary ({s['file']}): static-check {s['median_s'] * 1000:.0f} ms median, "
        f"bare `python -c pass` {s['python_startup_median_s'] * 1000:.0f} ms; "
        f"heavy modules imported: {s['heavy_modules_imported'] or 'none'}"
    )
    if "jobs_same_report" in results:
        print(f"--jobs report byte-identical to one process: {results['jobs_same_report']}")
    for label, f in results.get("facts", {}).items():
        print(
            f"facts vs readelf ({label}): {f['compared']} files, {f['versioned_symbols']} versioned symbols compared, "
            f"{len(f['mismatches'])} mismatches, {len(f['not_read'])} not read"
        )
        for line in (f["mismatches"] + f["not_read"])[:10]:
            print("   ", line)


if __name__ == "__main__":
    sys.exit(main())
