"""`drctl coverage`: the DR coverage of a stack (orchestrator/coverage/checks.py), from the cache when the
code and stack files are unchanged.

The checks import the services, Pulumi and the checks' SDKs; on a cache hit none of them is needed, so
they are imported only on a miss: a repeated `drctl coverage` in a CI job or an editor stays well
under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.stack import check_stack


def coverage_command(project_dir: Path, stack: str) -> dict[str, Any]:
    from orchestrator.program.cache import cached_document

    def compute() -> dict[str, Any]:
        from orchestrator.coverage.checks import assess, coverage_document, load_views

        view, paired = load_views(project_dir, stack)
        return coverage_document(view, paired, assess(view, paired))

    check_stack(project_dir, stack)
    return cached_document("coverage", project_dir, stack, (), compute)
