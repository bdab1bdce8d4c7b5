"""Workflow-command escaping and the sticky comment's choice among marker matches."""

from __future__ import annotations

from checker.ci.github_commands import command, escape_data, escape_property
from checker.publish.github import StickyComment, fit_body, marker
from checker.publish.http import RestClient
from tests.fakeapi.github import FakeGitHub, Token

TOKEN = "ghs_unitTestToken"


def test_escaping_follows_the_workflow_command_format():
    # data: % CR LF; properties additionally ':' and ','
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert command("error", "x\n::warning::y", title="t: a,b") == "::error title=t%3A a%2Cb::x%0A::warning::y"
    assert command("notice", "plain") == "::notice::plain"


def test_escaped_command_is_one_line_whatever_the_input():
    nasty = "dist/a\r\n::add-mask::x\n%0A,:"
    line = command("warning", nasty, title=nasty)
    assert "\n" not in line and "\r" not in line
    # The title cannot end the properties early: the first '::' after the name is ours.
    _, props, message = line.split("::", 2)
    assert props == f"warning title={escape_property(nasty)}" and message == escape_data(nasty)


def test_marker_key_cannot_close_the_html_comment():
    m = marker("matrix --> <script>")
    assert m.startswith("<!-- static-check:sticky key=") and m.endswith(" -->")
    assert m.count("-->") == 1 and "<script>" not in m


def test_fit_body_keeps_details_balanced_and_notes_the_cut():
    long = "<details><summary>x</summary>\n\n" + "\n".join(f"line {i}" for i in range(20000)) + "\n</details>\n"
    out = fit_body(["y" * 70000, long], limit=1000)
    assert len(out) <= 1000 and out.count("<details") == out.count("</details>") and "cut to fit" in out
    assert fit_body(["short", long], limit=1000) == "short"


def test_a_bot_comment_wins_over_a_pasted_marker():
    with FakeGitHub(tokens={TOKEN: Token()}) as api:
        mark = marker("k")
        api.add_comment("o/r", 1, f"{mark}\nI pasted your marker", login="mallory")
        ours = api.add_comment("o/r", 1, f"{mark}\nold", login="github-actions[bot]")
        with RestClient(api.api_url, TOKEN, sleep=lambda s: None) as client:
            result = StickyComment(client, "o/r").upsert(1, "k", "new", create=True)
        assert result.action == "updated" and result.comment_id == ours["id"]
        assert [c["body"].splitlines()[1] for c in api.comments_on("o/r", 1)] == ["I pasted your marker", "new"]
