"""One-pass marker search: same answers as find(), markers across window edges, file unchanged."""

from __future__ import annotations

import hashlib
import mmap
from pathlib import Path

from checker.inspect.scan import WINDOW, markers_present

MARKERS = (b"GLIBC_TUNABLES", b"No error information", b"\xff Go buildinf:", b"absent marker")


def _file(tmp_path: Path) -> Path:
    data = bytearray(b"\x90" * (3 * WINDOW + 123))
    straddle = WINDOW - 5  # starts in the first window, ends in the second
    data[straddle : straddle + len(MARKERS[0])] = MARKERS[0]
    data[-len(MARKERS[1]) :] = MARKERS[1]  # the very end of the file
    data[2 * WINDOW : 2 * WINDOW + len(MARKERS[2])] = MARKERS[2]  # exactly on a window start
    path = tmp_path / "blob"
    path.write_bytes(bytes(data))
    return path


def test_same_answer_as_find_for_bytes_and_mmap(tmp_path: Path) -> None:
    path = _file(tmp_path)
    raw = path.read_bytes()
    expected = {m for m in MARKERS if raw.find(m) >= 0}
    assert expected == set(MARKERS[:3])
    assert markers_present(raw, MARKERS) == expected
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        assert markers_present(data, MARKERS) == expected
        # released pages are read back from the file: the mapping still holds the same bytes
        assert hashlib.sha256(data[:]).digest() == hashlib.sha256(raw).digest()
    assert path.read_bytes() == raw


def test_empty_inputs(tmp_path: Path) -> None:
    assert markers_present(b"", MARKERS) == set()
    assert markers_present(b"abc", ()) == set()


def test_ranges_limit_the_search(tmp_path: Path) -> None:
    path = _file(tmp_path)
    raw = path.read_bytes()
    straddle = raw.find(MARKERS[0])
    at_window = raw.find(MARKERS[2])
    # a range that holds the straddling marker whole, one that cuts it, one that holds the window-start marker
    assert markers_present(raw, MARKERS, [(straddle - 3, straddle + len(MARKERS[0]))]) == {MARKERS[0]}
    assert markers_present(raw, MARKERS, [(straddle - 3, straddle + len(MARKERS[0]) - 1)]) == set()
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        ranges = [(7, at_window), (at_window, len(raw) - 1)]  # the end marker loses its last byte
        assert markers_present(data, MARKERS, ranges) == {MARKERS[0], MARKERS[2]}
        assert markers_present(data, MARKERS, []) == set()
        assert hashlib.sha256(data[:]).digest() == hashlib.sha256(raw).digest()
