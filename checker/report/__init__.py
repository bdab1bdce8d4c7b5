"""Report layer: a Report -> text in one format. Formats register in FORMATS."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

from checker.models import Report

Renderer = Callable[[Report], str]


class _Formats(dict[str, Renderer]):
    """Format name -> renderer; a built-in format's module is imported the first time it is asked for.

    So a run that prints text never loads xml.etree (junit) or the SARIF code. Registering a
    renderer (FORMATS["name"] = fn) works as with any dict.
    """

    def __getitem__(self, name: str) -> Renderer:
        value = super().__getitem__(name)
        if isinstance(value, str):
            value = importlib.import_module(f"checker.report.{value}").render
            super().__setitem__(name, value)
        return value

    def __iter__(self) -> Iterator[str]:
        # Overriding __iter__ makes dict(FORMATS) and {**FORMATS} go through __getitem__ (real renderers).
        return super().__iter__()

    def copy(self) -> dict[str, Renderer]:  # type: ignore[override]
        return dict(self.items())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[name] if name in self else default  # noqa: SIM401 - self.get would recurse

    def values(self) -> list[Renderer]:  # type: ignore[override]
        return [self[name] for name in self]

    def items(self) -> list[tuple[str, Renderer]]:  # type: ignore[override]
        return [(name, self[name]) for name in self]


FORMATS: dict[str, Renderer] = _Formats(
    {
        "text": "text",
        "json": "json_report",
        "markdown": "markdown",
        "codequality": "codequality",
        "junit": "junit",
        "sarif": "sarif",
    }  # type: ignore[dict-item]
)


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    if fmt == "text":
        from checker.report import text

        return text.render(report, color=color)
    return FORMATS[fmt](report)
