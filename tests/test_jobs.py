"""--jobs and the fast report path: the same report, in the same order, however it is produced."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.parallel import AUTO_MIN_FILES, cgroup_cpu_quota, usable_cpus
from checker.policy import policy_from_settings
from checker.report import json_report
from checker.run import RunOptions, check_paths
from tests.cli_run import REPO, run_cli

Get = Callable[[str], Path]

# Every kind of result: pass/fail ELF files of several classes and byte orders, a packed file,
# files without section headers, non-ELF files, a truncated ELF, an archive with members.
KINDS = (
    "c_exp",
    "c_static",
    "cxx_iostream",
    "musl_dynamic",
    "go_nocgo",
    "zig_s390x",
    "zig_i386",
    "no_section_headers",
    "upx_pie",
    "script_sh",
    "empty_file",
    "pe_stub",
    "text_file",
)


@pytest.fixture(scope="module")
def tree(fixture: Get, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Several copies of each kind, so files are cut into many chunks across the workers."""
    root = tmp_path_factory.mktemp("jobs")
    for copy in range(3):
        sub = root / f"d{copy}"
        sub.mkdir()
        for name in KINDS:
            shutil.copy(fixture(name), sub / name)
        (sub / "broken").write_bytes(fixture("c_exp").read_bytes()[:2000])
        with tarfile.open(sub / "pkg.tar.gz", "w:gz") as tar:
            tar.add(fixture("c_pthread"), arcname="bin/app")
            tar.add(fixture("script_sh"), arcname="bin/run.sh")
    return root


@pytest.mark.parametrize("fmt", ["json", "text", "sarif"])
def test_jobs_give_the_same_output(tree: Path, fmt: str) -> None:
    args = ["--target", "centos7", "--format", fmt, "--no-progress", str(tree)]
    one = run_cli(*args)
    several = run_cli("--jobs", "3", *args)
    auto = run_cli("--jobs", "auto", *args)
    short = run_cli("-j", "2", *args)
    default = run_cli(*args)
    assert one.returncode == 2  # the truncated ELF is an error
    assert several.returncode == auto.returncode == short.returncode == default.returncode == one.returncode
    assert several.stdout == auto.stdout == short.stdout == default.stdout == one.stdout
    if fmt == "json":
        report = json.loads(one.stdout)
        statuses = {f["status"] for f in report["files"]}
        assert statuses == {"pass", "fail", "error", "skipped"}
        assert any("archive_member" in f for f in report["files"])


def test_jobs_in_process_api_keeps_order(tree: Path) -> None:
    """check_paths with workers returns the same results, in discovery order, as without."""
    policy = policy_from_settings({"target": "centos7"}, None)
    serial = check_paths([str(tree)], policy, RunOptions())
    parallel = check_paths([str(tree)], policy, RunOptions(jobs=4))
    assert len(serial.files) > 4 * 8  # more candidates than one chunk per worker
    assert [f.path for f in parallel.files] == [f.path for f in serial.files]
    assert parallel.to_dict() == serial.to_dict()


@pytest.fixture(scope="module")
def big_tree(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough files for the default to use several processes (hard links: cheap copies)."""
    root = tmp_path_factory.mktemp("big")
    copies = 0
    while copies * len(list((tree / "d0").iterdir())) < AUTO_MIN_FILES:
        sub = root / f"c{copies}"
        sub.mkdir()
        for path in sorted((tree / "d0").iterdir()):
            os.link(path, sub / path.name)
        copies += 1
    return root


def _workers_seen(tree: Path, options: RunOptions) -> tuple[dict[str, object], int]:
    """The report as a dict, and the most worker processes alive at one progress call."""
    most = 0

    def progress(done: int, total: int, path: str) -> None:
        nonlocal most
        most = max(most, len(multiprocessing.active_children()))

    report = check_paths([str(tree)], policy_from_settings({"target": "centos7"}, None), options, progress)
    return report.to_dict(), most


@pytest.mark.skipif(usable_cpus() < 2, reason="one usable CPU: auto stays in one process")
def test_auto_uses_worker_processes_for_large_runs_only(big_tree: Path, tree: Path) -> None:
    serial, workers = _workers_seen(big_tree, RunOptions(jobs=1))
    assert workers == 0
    auto, workers = _workers_seen(big_tree, RunOptions(jobs=0))
    assert workers == usable_cpus()  # one per usable CPU
    assert auto == serial
    assert len(serial["files"]) >= AUTO_MIN_FILES  # type: ignore[arg-type]
    _, workers = _workers_seen(tree, RunOptions(jobs=0))  # too few files to pay for a pool
    assert workers == 0


def test_cgroup_quota_lowers_usable_cpus(tmp_path: Path) -> None:
    """docker --cpus=1.5 on 8 CPUs: 1 process for auto. cgroup v2 (cpu.max, every level up) and v1 (cfs quota)."""
    v2 = tmp_path / "v2"
    (v2 / "ci" / "job").mkdir(parents=True)
    (v2 / "cpu.max").write_text("max 100000\n")
    (v2 / "ci" / "cpu.max").write_text("150000 100000\n")
    (v2 / "ci" / "job" / "cpu.max").write_text("max 100000\n")
    (tmp_path / "v2.cgroup").write_text("0::/ci/job\n")
    assert cgroup_cpu_quota(tmp_path / "v2.cgroup", v2) == 1.5
    (tmp_path / "free.cgroup").write_text("0::/\n")
    assert cgroup_cpu_quota(tmp_path / "free.cgroup", v2) is None
    v1 = tmp_path / "v1" / "cpu,cpuacct" / "docker" / "abc"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("200000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    (tmp_path / "v1.cgroup").write_text("5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n")
    assert cgroup_cpu_quota(tmp_path / "v1.cgroup", tmp_path / "v1") == 2.0
    assert cgroup_cpu_quota(tmp_path / "missing", v2) is None
    assert 1 <= usable_cpus() <= (os.cpu_count() or 1)


def test_cgroup_name_not_utf8(tmp_path: Path) -> None:
    """A cgroup directory name is any bytes (mkdir in the cgroup file system): its quota is still read, no traceback."""
    name = b"ci-\xe9t\xe9"  # Latin-1, invalid UTF-8
    group = os.path.join(os.fsencode(tmp_path), b"v2", name)
    os.makedirs(group)
    with open(os.path.join(group, b"cpu.max"), "wb") as fh:
        fh.write(b"50000 100000\n")
    (tmp_path / "v2.cgroup").write_bytes(b"0::/" + name + b"\n")
    assert cgroup_cpu_quota(tmp_path / "v2.cgroup", tmp_path / "v2") == 0.5


def test_killed_worker_is_replaced_by_this_process(big_tree: Path) -> None:
    """A worker killed mid-run (out-of-memory killer, a user): its files are checked here, same report."""
    policy = policy_from_settings({"target": "centos7"}, None)
    killed: list[int] = []

    def progress(done: int, total: int, path: str) -> None:
        if not killed and (children := multiprocessing.active_children()):
            assert children[0].pid is not None
            os.kill(children[0].pid, signal.SIGKILL)
            killed.append(children[0].pid)

    parallel = check_paths([str(big_tree)], policy, RunOptions(jobs=3), progress)
    assert killed
    assert parallel.to_dict() == check_paths([str(big_tree)], policy, RunOptions(jobs=1)).to_dict()


def test_threaded_caller_gets_the_same_report(tree: Path) -> None:
    """With another thread running, workers are not forked (forkserver): same results."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        policy = policy_from_settings({"target": "centos7"}, None)
        parallel = check_paths([str(tree)], policy, RunOptions(jobs=2))
    finally:
        stop.set()
        thread.join()
    assert parallel.to_dict() == check_paths([str(tree)], policy, RunOptions(jobs=1)).to_dict()


def _unshare_with_readonly_shm() -> list[str] | None:
    """A command prefix that runs a program where /dev/shm is read-only, so no semaphore can be made."""
    unshare = shutil.which("unshare")
    if unshare is None or not Path("/dev/shm").is_dir():
        return None
    for flags in (["-m"], ["-U", "-r", "-m"]):  # as root; else in a user namespace
        prefix = [unshare, *flags, "sh", "-c", 'mount -t tmpfs -o ro none /dev/shm && exec "$@"', "sh"]
        if subprocess.run([*prefix, "true"], capture_output=True, check=False).returncode == 0:
            return prefix
    return None


def test_no_semaphores_falls_back_to_one_process(tree: Path) -> None:
    """Containers without a writable /dev/shm cannot make a process pool: one process, same report, no error."""
    prefix = _unshare_with_readonly_shm()
    if prefix is None:
        pytest.skip("cannot make /dev/shm read-only here (no unshare, no mount namespace)")
    probe = subprocess.run([*prefix, sys.executable, "-c", "import multiprocessing as m; m.Lock()"], capture_output=True, check=False)
    assert probe.returncode != 0  # really no semaphores in there
    args = ["--target", "centos7", "--format", "json", "--no-progress", str(tree)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    jailed = subprocess.run(
        [*prefix, sys.executable, "-m", "checker", "--jobs", "2", *args], env=env, capture_output=True, text=True, check=False
    )
    one = run_cli("--jobs", "1", *args)
    assert jailed.stderr == "" and jailed.returncode == one.returncode == 2
    assert jailed.stdout == one.stdout


def test_small_run_starts_no_pool(fixture: Get, tmp_path: Path) -> None:
    """One file by default: neither multiprocessing nor concurrent.futures is even imported."""
    probe = (
        "import sys; from checker.cli import main; main(sys.argv[1:]); "
        "print([m for m in ('multiprocessing', 'concurrent.futures') if m in sys.modules])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, "--no-progress", "--format", "json", str(fixture("c_exp"))],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.splitlines()[-1] == "[]", proc.stderr


@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_bad_jobs_value_is_a_usage_error(tree: Path, value: str) -> None:
    proc = run_cli("--jobs", value, str(tree))
    assert proc.returncode == 2
    assert "--jobs" in proc.stderr and "expected a whole number >= 1 or 'auto'" in proc.stderr


def test_json_layout_is_the_indented_document(tree: Path) -> None:
    """One line per file, the rest indented: parsing it gives json.dumps(indent=2)'s document exactly."""
    policy = policy_from_settings({"target": "centos7"}, None)
    data = check_paths([str(tree)], policy, RunOptions()).to_dict()
    text = json_report.dumps(data)
    assert json.dumps(json.loads(text), indent=2) == json.dumps(data, indent=2)
    assert list(json.loads(text)) == list(data)  # same key order
    lines = text.splitlines()
    entries = [line for line in lines if line.startswith('    {"path": ')]
    assert len(entries) == len(data["files"])
    for line, entry in zip(entries, data["files"], strict=True):
        assert json.loads(line.rstrip(",")) == entry
    assert text.isascii()  # non-ASCII escaped, as before


def test_json_layout_edge_cases() -> None:
    for data in ({}, {"files": []}, {"a": [], "files": [{"path": "caf\u00e9\udcff"}], "b": {"c": [1, None]}}):
        text = json_report.dumps(data)  # type: ignore[arg-type]
        assert json.loads(text) == data
        assert json.dumps(json.loads(text), indent=2) == json.dumps(data, indent=2)
