"""The engine: runs a plan's steps on a bounded pool, retries transient failures, journals every
transition so a run survives drctl's own crash, and reports progress."""
