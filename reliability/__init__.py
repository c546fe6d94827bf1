"""Reliability suites: drills under faults, crashes, corrupt backups, bad input and canary secrets.

`python -m reliability` runs every suite at its full count and writes the figures into
docs/reliability-figures.md and docs/reliability.json (docs/reliability.md explains them); the test suite (tests/test_reliability_*.py) runs
the same suites at a reduced count. Each suite is a module `reliability/suite_<name>.py` with

    def run(full: bool, workdir: Path) -> dict   # {"suite", "figures": {name: value}, "outcome": "passed"|"failed", "notes": [...]}
"""
