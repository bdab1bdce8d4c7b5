#!/usr/bin/env python3
"""Container entry point for the GitHub Action (and the GitLab CI image).

Thin on purpose: pick the CI system from the environment and hand over to its module. Runs the
same with plain `python3 entrypoint.py` from a checkout, which is how the tests drive it.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    if os.environ.get("GITLAB_CI") == "true":
        from checker.ci.gitlab_ci import main as gitlab_main

        return gitlab_main(os.environ)
    from checker.ci.github_action import main as github_main

    return github_main(os.environ)


if __name__ == "__main__":
    sys.exit(main())
