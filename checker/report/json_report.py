"""The versioned JSON report (schema in docs/json-report.md)."""

from __future__ import annotations

import json

from checker.models import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n"
