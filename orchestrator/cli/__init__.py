"""drctl's command line: click wiring only; each verb's logic is in orchestrator/verbs/."""
