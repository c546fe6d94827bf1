"""A run on disk: its directory, the stack's lease, approvals, and its state mirrored off the
executor's machine."""
