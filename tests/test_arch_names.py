"""`arch` names: the spellings users type (Debian, Go, Docker) mean the machine the ELF header names,
and a name that matches no machine is a one-line error instead of failing every file."""

from __future__ import annotations

import pytest

from checker.policy import PolicyError, policy_from_settings
from checker.run import RunOptions, check_paths
from tests.readelf_truth import truth

READELF_MACHINE = {"Advanced Micro Devices X86-64": "x86_64", "AArch64": "aarch64"}


@pytest.mark.parametrize(("fixture_name", "spelling"), [("c_dynamic", "amd64"), ("c_dynamic", "X64"), ("aarch64_gcc", "arm64")])
def test_aliases_match_the_machine_readelf_names(fixture, fixture_name, spelling):
    path = fixture(fixture_name)
    machine = READELF_MACHINE[truth(path)["machine"]]
    policy = policy_from_settings({"arch": spelling})
    assert policy.rules.arch == (machine,)
    report = check_paths([str(path)], policy, RunOptions())
    assert report.verdict == "pass", [f.message for r in report.files for f in r.findings]


def test_unknown_arch_is_a_one_line_error_naming_it():
    with pytest.raises(PolicyError) as err:
        policy_from_settings({"arch": "x86_64, amd46"})
    text = str(err.value)
    assert "\n" not in text and "'amd46'" in text and "x86_64" in text and "aarch64" in text
