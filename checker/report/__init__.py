"""Report layer: a Report -> text in one format. Formats register in FORMATS."""

from __future__ import annotations

from collections.abc import Callable

from checker.models import Report
from checker.report import codequality, json_report, junit, markdown, sarif, text

Renderer = Callable[[Report], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_report.render,
    "markdown": markdown.render,
    "codequality": codequality.render,
    "junit": junit.render,
    "sarif": sarif.render,
}


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    if fmt == "text":
        return text.render(report, color=color)
    return FORMATS[fmt](report)
