"""Helpers the tests, benchmarks and scripts share (not part of the package)."""
