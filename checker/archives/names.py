"""Member names and link targets: keep them inside the archive, or say why not.

We never extract, so a hostile name cannot hurt us; it is still reported because whoever
extracts the artifact later would write outside their directory.
"""

from __future__ import annotations


def clean_member_name(name: str) -> tuple[str, str | None]:
    """(normalised relative name, problem or None). './a//b' -> 'a/b'."""
    if "\x00" in name:
        return name.replace("\x00", "\\0"), "member name contains a NUL byte"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        return name, "absolute member path (would be written outside the extraction directory)"
    parts = _resolve([], name)
    if parts is None:
        return name, "path traversal in member name ('..' leaves the extraction directory)"
    return "/".join(parts), None


def link_problem(member: str, target: str, *, rooted: bool) -> str | None:
    """Why a symlink `member -> target` points outside the archive, or None.

    rooted: packages (.deb/.rpm) are installed at /, so an absolute target stays inside them.
    """
    if target.startswith("/") and not rooted:
        return f"symbolic link to an absolute path outside the archive (-> {target})"
    base = [] if target.startswith("/") else member.split("/")[:-1]
    if _resolve(base, target) is None:
        return f"symbolic link pointing outside the archive (-> {target})"
    return None


def _resolve(base: list[str], path: str) -> list[str] | None:
    """Apply path components to base; None when '..' climbs above the root."""
    parts = list(base)
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return parts
