"""A run's state off the executor's machine (`--state-url`): the mirror, its blob lease, and
resuming from another machine."""
