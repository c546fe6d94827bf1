"""Partial failure: PostgreSQL fails for good, the lake recovers.

The failing store's dependents are skipped with the reason, the independent branch completes, the
run ends `partial` (exit 1) with the handover blocked, and the report says in one line per
component what is and is not recovered, and why: the same sentence in report.md, report.json and
report.html. First on a real engine run with a fake clock (exact lines, no emulator), then on a
local drill against the emulators, failed through drctl's own command line.
"""

from __future__ import annotations

import json
import re
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from orchestrator.model import PermanentError, Plan, StepKind, StepOutcome
from reliability.leftovers import cleanup_case
from tests.report_runs import run_and_finish, step

K = StepKind
ERROR = "postgres: events: rows expected 280, found 279 (injected)"
RECOVERED_TO, AFTER_REPLAY = "2026-01-01T03:00:00.000Z", "2026-01-01T06:00:00.000Z"


def store(name: str) -> tuple:
    return (step(f"{name}.deploy", K.DEPLOY), step(f"{name}.rehydrate", K.REHYDRATE, (f"{name}.deploy",)),
            step(f"{name}.validate", K.VALIDATE, (f"{name}.rehydrate",)),
            step(f"{name}.replay", K.REPLAY, (f"{name}.validate",)), step(f"{name}.smoke", K.SMOKE, (f"{name}.replay",)))


def plan() -> Plan:
    return Plan("dev", (*store("lake"), *store("postgres"), step("hubs.deploy", K.DEPLOY),
                        step("platform.gate", K.GATE, ("lake.smoke", "postgres.smoke", "hubs.deploy")),
                        step("platform.handover", K.HANDOVER, ("platform.gate",))), 3600, 900)


def _fail(s, clock):
    raise PermanentError(ERROR)


BEHAVIOURS = {
    "lake.rehydrate": lambda s, c: StepOutcome(outputs={"recovered_data_timestamp": RECOVERED_TO}),
    "lake.validate": lambda s, c: StepOutcome(evidence={"exact": True}),
    "lake.replay": lambda s, c: StepOutcome(outputs={"data_timestamp": AFTER_REPLAY, "rpo_before_replay_s": 10800,
                                                     "rpo_after_replay_s": 0}),
    "postgres.validate": _fail,
    "hubs.deploy": lambda s, c: StepOutcome(exercised=False),  # no emulator: declared, not exercised
}
LINES = [
    "## What is and is not recovered",
    "",
    f"- lake (`lake`): recovered; validated exact against its backup; smoke test passed; "
    f"data recovered to {RECOVERED_TO}, after replay {AFTER_REPLAY}",
    f"- postgres (`postgres`): NOT recovered: postgres.validate failed (PermanentError: {ERROR}); "
    "postgres.replay, postgres.smoke skipped (postgres.validate failed)",
    "- hubs (`hubs`): declared, not exercised: not proven recovered",
]


def test_the_report_says_per_component_what_is_and_is_not_recovered_and_why(tmp_path):
    done = run_and_finish(tmp_path, plan(), BEHAVIOURS)
    assert done.summary["outcome"] == "partial"
    markdown = (done.run_dir / "report.md").read_text().splitlines()
    start = markdown.index(LINES[0])
    assert markdown[start: start + len(LINES)] == LINES
    assert ("- Outcome: **partial**; handover blocked by postgres.validate, postgres.replay, postgres.smoke, "
            "platform.gate, platform.handover") in markdown

    report = json.loads((done.run_dir / "report.json").read_text())
    components = {c["name"]: c for c in report["components"]}
    assert {n: c["recovered"] for n, c in components.items()} == {"lake": True, "postgres": False, "hubs": None}
    assert [f"- {n} (`{n}`): {c['recovery']}" for n, c in components.items()] == LINES[2:]
    steps = {s["id"]: s["state"] for s in report["steps"]}
    assert all(steps[f"lake.{k}"] == "succeeded" for k in ("deploy", "rehydrate", "validate", "replay", "smoke"))
    assert report["handover"] == {"complete": False, "blocked_by": [
        "postgres.validate", "postgres.replay", "postgres.smoke", "platform.gate", "platform.handover"]}

    page = ET.fromstring((done.run_dir / "report.html").read_text())
    items = ["".join(li.itertext()) for li in page.iter("li") if li.find("code") is not None
             and li.find("code").text in components]
    assert items == [line.removeprefix("- ").replace("`", "") for line in LINES[2:]]


def test_an_error_with_a_pipe_stays_in_its_table_cell(tmp_path):
    behaviours = {**BEHAVIOURS, "postgres.validate": lambda s, c: (_ for _ in ()).throw(PermanentError("a | b"))}
    done = run_and_finish(tmp_path, plan(), behaviours)
    [row] = [line for line in (done.run_dir / "report.md").read_text().splitlines()
             if line.startswith("| postgres.validate |")]
    cells = re.split(r"(?<!\\)\|", row)[1:-1]  # split where a reader's table splits: unescaped pipes
    assert [c.strip() for c in cells] == ["postgres.validate", "failed", "1", "0.0 s", "PermanentError: a \\| b"]


# -- on the emulators -----------------------------------------------------------------------------------


@pytest.mark.integration
def test_a_local_drill_whose_postgres_fails_recovers_the_lake_and_blocks_the_handover(monkeypatch, capsys):
    from orchestrator.cli.main import main
    from orchestrator.targets.local.stores.postgres import PostgresStore

    def failing_validation(self, checks):
        raise PermanentError(ERROR)

    monkeypatch.setattr(PostgresStore, "validate", failing_validation)
    workdir = Path(tempfile.mkdtemp(prefix="drctl-partial-")).resolve()
    # The offline graph cache of this run, not the repository's (shared with every other session).
    monkeypatch.setenv("DRCTL_CACHE_DIR", str(workdir / "cache"))
    try:
        with pytest.raises(SystemExit) as ended:
            main(["drill", "--local", "--json", "--workdir", str(workdir)])
        assert ended.value.code == 1
        summary = json.loads(capsys.readouterr().out)
        assert summary["outcome"] == "partial"
        run_dir = Path(summary["run_dir"])
        report = json.loads((run_dir / "report.json").read_text())
        components = {c["name"]: c for c in report["components"]}
        lake, pg = components["lake"], components["postgres"]
        assert lake["recovered"] is True and pg["recovered"] is False
        markdown = (run_dir / "report.md").read_text().splitlines()
        assert (f"- {lake['title']} (`lake`): recovered; validated exact against its backup; smoke test passed; "
                f"data recovered to {lake['recovered_data_timestamp']}, after replay {lake['data_timestamp']}"
                ) in markdown
        assert (f"- {pg['title']} (`postgres`): NOT recovered: postgres.validate failed (PermanentError: {ERROR}); "
                "postgres.replay, postgres.smoke skipped (postgres.validate failed)") in markdown
        for name, component in components.items():
            if not component["exercised"]:  # no emulator here: never claimed either way
                assert component["recovered"] is None, name
                assert f"- {component['title']} (`{name}`): declared, not exercised: not proven recovered" in markdown
        steps = {s["id"]: s for s in report["steps"]}
        assert all(steps[f"lake.{k}"]["state"] == "succeeded" for k in ("rehydrate", "validate", "replay", "smoke"))
        for dependent in ("postgres.replay", "postgres.smoke", "platform.gate", "platform.handover"):
            assert steps[dependent]["state"] == "skipped" and steps[dependent]["error"] == "postgres.validate failed"
        assert report["handover"]["complete"] is False and report["rto_s"] is None
        assert pg["recovery"] in (run_dir / "report.html").read_text().replace("&#x27;", "'")
    finally:
        cleanup_case(workdir)
