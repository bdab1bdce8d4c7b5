"""Drive entrypoint.py like the runner does: a workspace, an event payload, INPUT_* variables
(hyphens kept), GITHUB_OUTPUT/GITHUB_STEP_SUMMARY files, and a fake GitHub API on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fakeapi.github import FakeGitHub, Token

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "entrypoint.py"
TOKEN = "ghs_Sup3rSecretT0kenValue1234567890abcd"
READ_ONLY = "ghs_ReadOnlyForkToken0987654321zyxwv"
REPO = "octo/app"
PR = 7
HEAD_SHA = "a" * 40


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path

    @property
    def annotations(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(("::error", "::warning", "::notice"))]

    def all_text(self) -> str:
        files = [p.read_text(errors="replace") for p in self.workspace.rglob("*") if p.is_file() and p.stat().st_size < 5_000_000]
        return "\n".join([self.stdout, self.stderr, self.summary, json.dumps(self.outputs), *files])


def parse_outputs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delim = line.split("<<", 1)
            value = []
            for inner in lines:
                if inner == delim:
                    break
                value.append(inner)
            out[name] = "\n".join(value)
        elif "=" in line:
            name, _, value = line.partition("=")
            out[name] = value
    return out


@dataclass
class Action:
    """One simulated workflow job: workspace + runner files; `run(**inputs)` starts the action."""

    tmp: Path
    api: FakeGitHub
    workspace: Path = field(init=False)
    runs: int = 0

    def __post_init__(self) -> None:
        self.workspace = self.tmp / "workspace"
        self.workspace.mkdir()

    def add(self, src: Path, rel: str) -> Path:
        dest = self.workspace / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return dest

    def pr_event(self, *, fork: bool = False) -> dict[str, Any]:
        head_repo = "forker/app" if fork else REPO
        return {
            "action": "synchronize",
            "number": PR,
            "pull_request": {
                "number": PR,
                "head": {"sha": HEAD_SHA, "repo": {"full_name": head_repo}},
                "base": {"sha": "b" * 40, "repo": {"full_name": REPO}},
            },
            "repository": {"full_name": REPO},
        }

    def run(self, event_name: str = "pull_request", event: dict[str, Any] | None = None, token: str = TOKEN, **inputs: str) -> Run:
        self.runs += 1
        runner = self.tmp / f"runner{self.runs}"
        runner.mkdir()
        event_path = runner / "event.json"
        event_path.write_text(json.dumps(event if event is not None else self.pr_event()))
        output, summary = runner / "output", runner / "summary"
        output.touch()
        summary.touch()
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(runner),
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.api.api_url,
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_SHA": "c" * 40,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_JOB": "check",
            "GITHUB_WORKFLOW": "CI",
            "INPUT_GITHUB-TOKEN": token,
            "INPUT_COMMENT": "auto",
            "INPUT_FAIL-ON": "error",
        }
        env.update({f"INPUT_{name.replace('_', '-').upper()}": value for name, value in inputs.items()})
        proc = subprocess.run(
            [sys.executable, str(ENTRYPOINT)], env=env, cwd=self.workspace, capture_output=True, text=True, timeout=120, check=False
        )
        return Run(proc.returncode, proc.stdout, proc.stderr, parse_outputs(output.read_text()), summary.read_text(), self.workspace)


@pytest.fixture
def api() -> Iterator[FakeGitHub]:
    server = FakeGitHub(tokens={TOKEN: Token(), READ_ONLY: Token(write=False)})
    with server:
        yield server  # type: ignore[misc]


@pytest.fixture
def action(tmp_path: Path, api: FakeGitHub) -> Action:
    return Action(tmp_path, api)
