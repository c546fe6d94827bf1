"""Benchmarks of issue 8: `python -m bench [--quick]` (see bench/__main__.py)."""
