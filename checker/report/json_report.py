"""The versioned JSON report (schema in docs/json-report.md).

Layout: the top level is indented by two spaces as `json.dumps(indent=2)` would; each entry of
`files` sits on one line (one file per line keeps big reports readable and diffable). Indenting
everything would force the pure-Python encoder, which took most of the time of large runs; the
per-file lines go through the C encoder. The parsed document is the same either way.
"""

from __future__ import annotations

import json
from typing import Any

from checker.models import Report

_ONE_LINE = json.JSONEncoder()  # no indent: the C encoder (default separators ", " and ": ")
_INNER = "\n  "


def render(report: Report) -> str:
    return dumps(report.to_dict())


def dumps(data: dict[str, Any]) -> str:
    """Lay out a report dict (or any dict): top level indented, one line per `files` entry."""
    if not data:
        return "{}\n"
    parts = []
    for key, value in data.items():
        if key == "files" and isinstance(value, list) and value:
            lines = ",\n    ".join(map(_ONE_LINE.encode, value))
            text = f"[\n    {lines}\n  ]"
        else:
            text = json.dumps(value, indent=2).replace("\n", _INNER)
        parts.append(f"{_ONE_LINE.encode(key)}: {text}")
    return "{\n  " + ",\n  ".join(parts) + "\n}\n"
