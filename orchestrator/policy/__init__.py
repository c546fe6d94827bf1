"""drctl's coverage rules as a Pulumi CrossGuard policy pack (the pack itself: policy/ at the root).

The policies call the code `drctl coverage` runs (orchestrator/program/baseline.py, owners.py) on
the graph they are given, read into the shape of drctl's offline graph (stack_graph.py)."""
