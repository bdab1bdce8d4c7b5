"""Discovery: files, directories and ** globs become a stable, duplicate-free candidate list."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checker.discover import discover


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for rel in ("bin/a", "bin/b", "lib/x/libz.so.1", "lib/libq.so", "share/doc/README"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"data")
    os.symlink("libq.so", tmp_path / "lib" / "libq.so.0")
    os.symlink("missing.so", tmp_path / "lib" / "dangling.so")
    os.symlink(tmp_path / "share", tmp_path / "lib" / "share-link")
    return tmp_path


def paths(cands: list, root: Path) -> list[str]:
    return [os.path.relpath(c.path, root) for c in cands]


def test_directory_is_recursed_in_sorted_order(tree: Path) -> None:
    cands = discover([str(tree)])
    assert paths(cands, tree) == [
        "bin/a",
        "bin/b",
        "lib/dangling.so",
        "lib/libq.so",
        "lib/libq.so.0",
        "lib/share-link",
        "lib/x/libz.so.1",
        "share/doc/README",
    ]


def test_links_inside_a_tree_are_not_followed(tree: Path) -> None:
    by_name = {os.path.relpath(c.path, tree): c for c in discover([str(tree)])}
    assert by_name["lib/libq.so.0"].skip == "symbolic link (-> libq.so)"
    assert by_name["lib/share-link"].skip and by_name["lib/share-link"].skip.startswith("symbolic link")
    assert by_name["lib/dangling.so"].problem == "broken symbolic link (-> missing.so)"
    assert by_name["bin/a"].problem is None and by_name["bin/a"].skip is None


def test_an_explicit_link_is_followed(tree: Path) -> None:
    (cand,) = discover([str(tree / "lib" / "libq.so.0")])
    assert cand.problem is None and cand.skip is None
    (broken,) = discover([str(tree / "lib" / "dangling.so")])
    assert broken.problem == "broken symbolic link"


def test_recursive_glob(tree: Path) -> None:
    cands = discover([str(tree / "**" / "*.so*")])
    assert paths(cands, tree) == ["lib/dangling.so", "lib/libq.so", "lib/libq.so.0", "lib/x/libz.so.1"]


def test_each_path_once(tree: Path) -> None:
    cands = discover([str(tree / "bin"), str(tree / "bin" / "a"), str(tree / "bin" / "*")])
    assert paths(cands, tree) == ["bin/a", "bin/b"]


def test_missing_path_and_empty_glob(tree: Path) -> None:
    (missing,) = discover([str(tree / "nope")])
    assert missing.problem == "no such file or directory"
    assert discover([str(tree / "nope" / "*.so")]) == []


def test_special_files_are_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (cand,) = discover([str(tmp_path / "fifo")])
    assert cand.skip == "not a regular file (FIFO)"
    (cand,) = discover([str(tmp_path)])
    assert cand.skip == "not a regular file (FIFO)"
    (dev,) = discover(["/dev/null"])
    assert dev.skip == "not a regular file (character device)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can list a chmod 000 directory")
def test_unreadable_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "f").write_bytes(b"x")
    locked.chmod(0)
    try:
        (cand,) = discover([str(tmp_path)])
        assert cand.problem and cand.problem.startswith("cannot read directory")
    finally:
        locked.chmod(0o755)


def test_a_file_name_with_glob_characters_is_taken_literally(tmp_path: Path) -> None:
    literal = tmp_path / "lib[1].so"
    literal.write_bytes(b"x")
    (cand,) = discover([str(literal)])
    assert cand.path == str(literal) and cand.problem is None
