"""The notes client's small pieces: marker, body limit, URL of the notes endpoint."""

from __future__ import annotations

import re

from checker.publish.gitlab import MAX_BODY, MergeRequest, marker, with_marker


def test_marker_is_one_hidden_comment_per_key():
    keys = ["static-check", "static-check: [amd64, glibc]", "a-->b<!--c", "x--y", "ünïcode job"]
    marks = [marker(k) for k in keys]
    assert len(set(marks)) == len(marks)
    for mark in marks:
        assert re.fullmatch(r"<!-- static-check:gitlab-note key=[^<>]*? -->", mark), mark
        assert mark.count("--") == 2  # only the comment's own delimiters


def test_body_stays_under_gitlab_limit_and_keeps_the_marker():
    body = with_marker("| row |\n" * 200_000, "static-check")
    assert len(body) <= MAX_BODY < 1_000_000
    assert body.rstrip().endswith(marker("static-check"))
    assert "Report truncated" in body
    short = with_marker("### static-check: PASS\n", "k")
    assert short.startswith("### static-check: PASS\n") and "truncated" not in short


def test_notes_path_encodes_project_paths():
    assert MergeRequest("https://h/api/v4", "42", "7").notes_path == "projects/42/merge_requests/7/notes"
    assert MergeRequest("https://h/api/v4", "grp/sub/proj", "7").notes_path == "projects/grp%2Fsub%2Fproj/merge_requests/7/notes"
