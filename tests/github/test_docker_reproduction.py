"""What the action's image does, reproduced without Docker (no engine on CI machines).

The Dockerfile's COPY and `pip install` steps are replayed from the file itself into a fresh
virtual environment, then ENTRYPOINT runs with the container's layout: the action in /action
(here a temporary directory), the workspace as working directory and the runner's variables, with
hyphenated INPUT_ names. If a file the package needs is missing from the COPY lines, the install
or the run fails here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.github.conftest import ROOT, parse_outputs

CONTAINER_ACTION_DIR = "/action"


def dockerfile_steps() -> tuple[list[tuple[list[str], str]], list[str], list[str]]:
    """(COPY sources -> destination), the pip command of the install RUN, the ENTRYPOINT argv."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    copies = []
    for line in re.findall(r"^COPY\s+(.+)$", text, re.M):
        *sources, dest = shlex.split(line)
        copies.append((sources, dest))
    pip = next(shlex.split(cmd) for cmd in re.findall(r"^RUN\s+(.+)$", text, re.M) if cmd.startswith("pip install"))
    entry = json.loads(re.search(r"^ENTRYPOINT\s+(\[.*\])$", text, re.M).group(1))
    return copies, pip, entry


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("image")
    action = root / CONTAINER_ACTION_DIR.lstrip("/")
    copies, pip, _ = dockerfile_steps()
    for sources, dest in copies:
        target = root / dest.lstrip("/")
        for src in sources:
            path = ROOT / src
            if path.is_dir():
                shutil.copytree(path, target if not dest.endswith("/") else target / src, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                out = target / Path(src).name if dest.endswith("/") else target
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, out)
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # The image's `pip install ... /action`, with /action mapped to our copy.
    args = [a.replace(CONTAINER_ACTION_DIR, str(action)) for a in pip[2:]]
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", *args], capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        pytest.fail(f"pip install as in the Dockerfile failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return {"root": root, "action": action, "python": python}


def test_image_installs_the_package_and_the_entrypoint_checks_a_workspace(image, fixture, tmp_path):
    _, _, entry = dockerfile_steps()
    assert entry[0] == "python" and entry[1] == f"{CONTAINER_ACTION_DIR}/entrypoint.py"
    workspace = tmp_path / "github" / "workspace"
    (workspace / "dist").mkdir(parents=True)
    shutil.copyfile(fixture("c_dynamic"), workspace / "dist" / "app")
    files = tmp_path / "github" / "file_commands"
    files.mkdir()
    (tmp_path / "github" / "workflow").mkdir()
    event = tmp_path / "github" / "workflow" / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    env = {
        "PATH": f"{image['python'].parent}:/usr/bin:/bin",
        "HOME": str(tmp_path / "github" / "home"),
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(files / "set_output"),
        "GITHUB_STEP_SUMMARY": str(files / "step_summary"),
        "GITHUB_REPOSITORY": "octo/app",
        "INPUT_BINARIES": "dist/*",
        "INPUT_TARGET": "centos7",
        "INPUT_MAX-GLIBC": "",
        "INPUT_FAIL-ON": "error",
        "INPUT_COMMENT": "auto",
        "INPUT_GITHUB-TOKEN": "ghs_notUsedBecauseThisIsAPush",
        "INPUT_WORKING-DIRECTORY": ".",
        "INPUT_SARIF": "static-check.sarif",
    }
    # `python` from the image's PATH, the entry point from the image's /action copy.
    argv = [str(image["python"]), str(image["action"] / "entrypoint.py")]
    proc = subprocess.run(argv, cwd=workspace, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    outputs = parse_outputs((files / "set_output").read_text())
    assert outputs["verdict"] == "fail" and outputs["report"] == ".static-check/report.json"
    assert json.loads((workspace / ".static-check/report.json").read_text())["files"][0]["path"] == "dist/app"
    assert json.loads((workspace / "static-check.sarif").read_text())["version"] == "2.1.0"
    assert "#### ❌ `dist/app`: FAIL" in (files / "step_summary").read_text()
    assert "not a pull request event (push)" in proc.stdout


def test_the_installed_package_is_the_one_used(image):
    """The console script exists and imports from the venv, not from this checkout."""
    code = "import checker, sys; print(checker.__file__)"
    out = subprocess.run([str(image["python"]), "-I", "-c", code], capture_output=True, text=True, check=True, cwd="/").stdout
    assert str(image["root"] / "venv") in out
    assert (image["python"].parent / "static-check").is_file()
    assert os.access(image["python"].parent / "static-check", os.X_OK)
    assert sys.prefix != str(image["root"] / "venv")


def test_the_same_entrypoint_runs_gitlab_mode_when_gitlab_ci_is_set(image, fixture, tmp_path):
    project = tmp_path / "builds" / "group" / "project"
    (project / "dist").mkdir(parents=True)
    shutil.copyfile(fixture("c_dynamic"), project / "dist" / "app")
    env = {
        "PATH": f"{image['python'].parent}:/usr/bin:/bin",
        "GITLAB_CI": "true",
        "CI": "true",
        "CI_PROJECT_DIR": str(project),
        "CI_PIPELINE_SOURCE": "push",
        "STATIC_CHECK_BINARIES": "dist/*",
        "STATIC_CHECK_TARGET": "centos7",
    }
    argv = [str(image["python"]), str(image["action"] / "entrypoint.py")]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    quality = json.loads((project / "static-check-report" / "gl-code-quality.json").read_text())
    assert quality and quality[0]["check_name"] == "glibc-version"
    assert not (project / ".static-check").exists()  # GitHub mode did not run


def test_gitlab_jobs_command_is_installed_in_the_image(image, fixture, tmp_path):
    """The GitLab template and component run `static-check-gitlab` (entrypoint bypassed) in this image."""
    import yaml

    template = yaml.safe_load((ROOT / ".gitlab-ci-template.yml").read_text())
    assert template[".static-check"]["script"] == ["static-check-gitlab"]
    assert template[".static-check"]["image"]["entrypoint"] == [""]
    project = tmp_path / "builds" / "group" / "project"
    (project / "dist").mkdir(parents=True)
    shutil.copyfile(fixture("c_dynamic"), project / "dist" / "app")
    env = {
        "PATH": f"{image['python'].parent}:/usr/bin:/bin",
        "GITLAB_CI": "true",
        "CI_PROJECT_DIR": str(project),
        "STATIC_CHECK_BINARIES": "dist/*",
        "STATIC_CHECK_TARGET": "centos7",
    }
    # Resolved through PATH, the way the job's shell finds it.
    proc = subprocess.run(["static-check-gitlab"], cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert (project / "static-check-report" / "junit.xml").is_file()
