"""`drctl runbook`: the DR plan document, built from the plan the engine runs."""
