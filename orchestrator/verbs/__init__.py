"""The logic of each drctl command; orchestrator/cli/ only wires them to the command line."""
