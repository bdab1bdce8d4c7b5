"""Run a test's own extra inspector beside the real ones (checker.inspect.elf_file.EXTRA_INSPECTORS)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from checker.inspect import elf_file


@contextmanager
def extra_inspector(inspector: elf_file.ExtraInspector) -> Iterator[None]:
    """`inspector` runs after the others on every ELF file inspected inside the block."""
    elf_file.EXTRA_INSPECTORS.append(inspector)
    try:
        yield
    finally:
        elf_file.EXTRA_INSPECTORS.remove(inspector)
