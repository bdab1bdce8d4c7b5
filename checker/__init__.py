"""static-check: stop non-portable Linux binaries before they ship."""

__version__ = "0.1.0"
