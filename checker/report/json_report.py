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

# No indent: the C encoder (default separators ", " and ": "). A report is a tree built for this
# call, so the encoder's cycle check (a dict insert and delete per container) is skipped.
_ONE_LINE = json.JSONEncoder(check_circular=False)
_INNER = "\n  "


def render(report: Report) -> str:
    return dumps(report.to_dict())


def dumps(data: dict[str, Any]) -> str:
    """Lay out a report dict (or any dict): top level indented, one line per `files` entry."""
    if not data:
        return "{}\n"
    # Every piece goes into one list joined once: the document is megabytes, and nested joins
    # and f-strings copied it several times over.
    out = ["{"]
    for key, value in data.items():
        out += ["\n  ", _ONE_LINE.encode(key), ": "]
        if key == "files" and isinstance(value, list) and value:
            out.append("[")
            for entry in value:
                out += ["\n    ", _ONE_LINE.encode(entry), ","]
            out[-1] = "\n  ]"
        else:
            out.append(json.dumps(value, indent=2).replace("\n", _INNER))
        out.append(",")
    out[-1] = "\n}\n"
    return "".join(out)
