"""The DR coverage gate's checks (checks.py), read by `drctl coverage` (orchestrator/verbs/coverage.py)."""
