"""The repository stacks' graphs, each captured once per test session (the `repo_graphs` fixture of
tests/conftest.py). Running the program under the mock runtime takes 1-5 s a stack, and dozens of
test modules read the same four graphs; tests of the capture or of the cache itself capture their
own. No tests here."""

from __future__ import annotations

import copy
import os
from functools import partial
from pathlib import Path

from orchestrator.program.cache import cached_graph, program_key
from orchestrator.program.capture import capture_graph
from orchestrator.program.graph import Graph
from orchestrator.stack import capture

REPO = Path(__file__).resolve().parents[1]


class RepoGraphs:
    def __init__(self) -> None:
        self._captured: dict[str, Graph] = {}

    def get(self, stack: str) -> Graph:
        """capture_graph(REPO, stack), as a deep copy: a test that edits its graph edits only its own."""
        if stack not in self._captured:
            self._captured[stack] = capture_graph(REPO, stack)
            if not any(name in os.environ for name in ("DRCTL_CACHE", "DRCTL_CACHE_DIR")):
                # the repository's own cache, which drctl processes and load_stack(REPO) read
                cached_graph(REPO, stack, lambda: self._captured[stack])
        return copy.deepcopy(self._captured[stack])

    def warm_cache(self, project_dir: Path, *stacks: str) -> None:
        """Put each stack's graph in the project's graph cache (orchestrator/program/cache.py), so
        drctl processes started on the project afterwards, several at once, do not each run the
        program. A project whose keyed files are byte for byte the repository's (the cache's own
        test of sameness) gets the session's graph; any other has its program run here, once."""
        project_dir = Path(project_dir)
        for stack in stacks:
            if program_key(project_dir, "graph", stack) == program_key(REPO, "graph", stack):
                cached_graph(project_dir, stack, partial(self.get, stack))
            else:
                capture(project_dir, stack)

