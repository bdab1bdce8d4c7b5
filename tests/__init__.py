"""Test suite for static-check."""
