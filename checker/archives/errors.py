"""Errors raised while reading an archive; every message is one line for the user."""

from __future__ import annotations


class ArchiveError(Exception):
    """The archive as a whole cannot be read further (corrupt, truncated, unsupported)."""


class BudgetExceeded(ArchiveError):
    """More decompressed bytes than --max-unpacked-size allows."""
