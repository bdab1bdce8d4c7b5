"""Inspect layer: ELF facts only, no policy, no CI, no network."""
