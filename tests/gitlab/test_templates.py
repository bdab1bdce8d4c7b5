"""The GitLab template and CI/CD component validate against GitLab's CI schema and match the code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from checker.ci import gitlab_ci
from tests.gitlab.helpers import REPO

TEMPLATE = REPO / ".gitlab-ci-template.yml"
COMPONENT = REPO / "templates" / "static-check.yml"
INTERPOLATION = re.compile(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]")


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("check-jsonschema")
    assert exe, "check-jsonschema is missing: pip install -e .[test]"
    return subprocess.run([exe, "--builtin-schema", "vendor.gitlab-ci", *map(str, files)], capture_output=True, text=True, check=False)


def component_parts() -> tuple[str, str]:
    header, sep, body = COMPONENT.read_text().partition("\n---\n")
    assert sep, "the component needs a `spec:` header separated by ---"
    return header, body


def component_inputs() -> dict[str, dict]:
    return yaml.safe_load(component_parts()[0])["spec"]["inputs"]


def interpolate(body: str, values: dict[str, object]) -> str:
    """Replace $[[ inputs.x ]] the way GitLab does for scalars: booleans as true/false."""

    def value(m: re.Match[str]) -> str:
        v = values[m.group(1)]
        return json.dumps(v) if isinstance(v, bool) else str(v)

    return INTERPOLATION.sub(value, body)


def defaults() -> dict[str, object]:
    return {name: spec.get("default") for name, spec in component_inputs().items()}


def template_variables() -> set[str]:
    data = yaml.safe_load(TEMPLATE.read_text())
    return set(data[".static-check"]["variables"])


def resolved_template() -> dict:
    """The template with `extends:` applied: the schema skips hidden (.dot) jobs, so validate the
    ready job as GitLab sees it after merging in `.static-check`."""
    data = yaml.safe_load(TEMPLATE.read_text())
    job = {k: v for k, v in data["static-check"].items() if k != "extends"}
    return {"static-check": {**data[".static-check"], **job}}


def test_template_validates_against_gitlab_schema(tmp_path):
    (tmp_path / "resolved.yml").write_text(yaml.safe_dump(resolved_template()))
    proc = check_jsonschema(TEMPLATE, tmp_path / "resolved.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_component_header_and_body_validate(tmp_path):
    header, body = component_parts()
    (tmp_path / "header.yml").write_text(header)
    (tmp_path / "body.yml").write_text(interpolate(body, defaults()))
    proc = check_jsonschema(tmp_path / "header.yml", tmp_path / "body.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_component_validates_with_other_inputs(tmp_path):
    values = {**defaults(), "job-name": "check-release", "stage": "verify", "require-static": "true", "allow-failure": True}
    (tmp_path / "body.yml").write_text(interpolate(component_parts()[1], values))
    proc = check_jsonschema(tmp_path / "body.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    job = yaml.safe_load((tmp_path / "body.yml").read_text())["check-release"]
    assert job["stage"] == "verify" and job["allow_failure"] is True
    assert job["variables"]["STATIC_CHECK_REQUIRE_STATIC"] == "true"


def test_schema_check_is_not_vacuous(tmp_path):
    """A job with a misspelt keyword must fail, or the tests above prove nothing."""
    data = resolved_template()
    data["static-check"]["artifact"] = data["static-check"].pop("artifacts")
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(data))
    proc = check_jsonschema(tmp_path / "broken.yml")
    assert proc.returncode != 0 and "'artifact' was unexpected" in proc.stdout


def test_component_inputs_are_documented_and_used():
    inputs = component_inputs()
    used = set(INTERPOLATION.findall(component_parts()[1]))
    assert used == set(inputs)
    for name, spec in inputs.items():
        assert spec.get("description"), f"input {name} has no description"
        assert "default" in spec, f"input {name} has no default"
        if "options" in spec:
            assert spec["default"] in spec["options"]
    assert {"binaries", "max-glibc", "require-static", "allowed-needed", "target", "stage", "image"} <= set(inputs)
    assert inputs["allow-failure"]["type"] == "boolean"
    assert inputs["fail-on"]["options"] == list(gitlab_ci.FAIL_ON)
    assert inputs["note"]["options"] == list(gitlab_ci.NOTE_MODES)


def test_max_glibc_regex_accepts_versions_only():
    pattern = re.compile(component_inputs()["max-glibc"]["regex"])
    assert all(pattern.fullmatch(v) for v in ("", "2.17", "2.28", "2.3.4"))
    assert not any(pattern.fullmatch(v) for v in ("2", "latest", "2.17; rm -rf /"))


@pytest.mark.parametrize("where", ["template", "component"])
def test_variables_are_read_by_the_entry_point(where):
    """Every STATIC_CHECK_* variable the YAML sets is one gitlab_ci reads (and the core ones are set)."""
    if where == "template":
        names = template_variables() - {"STATIC_CHECK_IMAGE"}
    else:
        body = yaml.safe_load(interpolate(component_parts()[1], defaults()))
        names = set(body["static-check"]["variables"])
    known = {f"STATIC_CHECK_{n}" for n in gitlab_ci.POLICY_VARIABLES} | {
        f"STATIC_CHECK_{n}" for n in ("BINARIES", "CONFIG", "FAIL_ON", "NOTE", "NOTE_KEY", "REPORT_DIR", "ALLOW_EMPTY")
    }
    assert names <= known, names - known
    required = {
        "STATIC_CHECK_BINARIES",
        "STATIC_CHECK_MAX_GLIBC",
        "STATIC_CHECK_REQUIRE_STATIC",
        "STATIC_CHECK_ALLOWED_NEEDED",
        "STATIC_CHECK_TARGET",
    }
    assert required <= names


def test_jobs_publish_the_reports_gitlab_reads():
    template = yaml.safe_load(TEMPLATE.read_text())
    body = yaml.safe_load(interpolate(component_parts()[1], defaults()))
    for job in (template[".static-check"], body["static-check"]):
        reports = job["artifacts"]["reports"]
        assert Path(reports["codequality"]).name == gitlab_ci.REPORT_FILES["codequality"]
        assert Path(reports["junit"]).name == gitlab_ci.REPORT_FILES["junit"]
        assert Path(reports["codequality"]).parent.as_posix() == gitlab_ci.DEFAULT_REPORT_DIR
        assert job["artifacts"]["when"] == "always"
        assert job["script"] == ["static-check-gitlab"]
        assert job["image"]["entrypoint"] == [""]
    assert template["static-check"] == {"extends": ".static-check", "stage": "test"}


def readme_yaml_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    start = text.index("## GitLab CI\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```yaml\n(.*?)```", text[start : end if end != -1 else None], re.S)


def deep_merge(base: dict, local: dict) -> dict:
    """How GitLab combines included configuration with the project's own: hashes merge, the rest is replaced."""
    out = dict(base)
    for key, value in local.items():
        out[key] = deep_merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def test_readme_examples_validate(tmp_path):
    blocks = readme_yaml_blocks()
    # Each way of including it has a real (not commented-out) example.
    kinds = {key for b in blocks for item in (yaml.safe_load(b).get("include") or []) for key in item}
    assert {"project", "remote", "component"} <= kinds, kinds
    for i, block in enumerate(blocks):
        (tmp_path / f"example{i}.yml").write_text(block)
    proc = check_jsonschema(*sorted(tmp_path.glob("example*.yml")))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("kind", ["project", "remote"])
def test_readme_template_example_gives_a_valid_job(tmp_path, kind):
    """Include the template the way the README's example does, then apply `extends:`."""
    example = next(e for e in map(yaml.safe_load, readme_yaml_blocks()) if any(kind in i for i in e.get("include") or []))
    merged = deep_merge(yaml.safe_load(TEMPLATE.read_text()), {k: v for k, v in example.items() if k != "include"})
    job = {k: v for k, v in merged["static-check"].items() if k != "extends"}
    job = deep_merge(merged[".static-check"], job)
    if kind == "project":
        assert job["needs"] == ["build"]
    assert job["stage"] == "test"
    assert job["variables"]["STATIC_CHECK_TARGET"] == "centos7"
    assert job["variables"]["STATIC_CHECK_FAIL_ON"] == "error"  # template default kept by the merge
    pipeline = {**{k: v for k, v in merged.items() if k != ".static-check"}, "static-check": job}
    (tmp_path / "pipeline.yml").write_text(yaml.safe_dump(pipeline))
    proc = check_jsonschema(tmp_path / "pipeline.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
