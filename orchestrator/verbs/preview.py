"""`drctl preview`: the stack's resource graph, offline (Pulumi's mock runtime), cached under the
bytes of the code and stack files it comes from."""

from __future__ import annotations

from pathlib import Path

from orchestrator.stack import capture, check_stack


def preview_command(project_dir: Path, stack: str) -> dict:
    from orchestrator.program.cache import cached_document

    def compute() -> dict:
        from orchestrator.program.graph import graph_to_json

        return graph_to_json(capture(project_dir, stack))

    check_stack(project_dir, stack)
    return cached_document("preview", project_dir, stack, (), compute)
