"""Per-component smoke checks, keyed by the check names the DR profiles declare.

The engine calls them for each component's smoke step; a person runs them with pytest against a
deployed stack's outputs (see smoke_tests/test_stack.py and the README).
"""

from smoke_tests.lake import check_lake
from smoke_tests.postgres import check_postgres

# profile smoke-check name -> the function that performs it
CHECKS = {
    "blob-write-read-delete": check_lake,
    "select-1": check_postgres,
}

__all__ = ["CHECKS", "check_lake", "check_postgres"]
