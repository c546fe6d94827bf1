"""`drctl status`: where a run stands, read from its journal alone (a run that is still going, or
one that died, answers the same way)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import BadInput


def status_command(run_dir: Path) -> dict:
    from orchestrator.engine.journal import JournalCorrupt
    from orchestrator.engine.scheduler import status_from_journal
    from orchestrator.run.rundir import RunDir

    run_dir = Path(run_dir)
    if not RunDir(run_dir).journal.is_file():
        raise BadInput(f"RUN: no {RunDir.JOURNAL} in {run_dir}")
    try:
        return status_from_journal(run_dir)
    except JournalCorrupt as exc:
        raise BadInput(f"RUN: journal damaged: {exc}") from None
