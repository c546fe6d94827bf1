"""`drctl posture` as text: the uplift options a stack has on or off keep their marks.

rich reads `[on]` and `[off]` as markup tags and drops them, so the table showed the options with
nothing to say which the stack has."""

from __future__ import annotations

from pathlib import Path

from orchestrator.cli.render import print_posture
from orchestrator.verbs.posture import posture_document
from stacks.config import load_stack_config

REPO = Path(__file__).resolve().parents[3]


def test_posture_text_keeps_the_on_and_off_marks(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    document = posture_document(load_stack_config(REPO, "secondary"))
    marked = [row for row in document["services"] if row["in_stack"] and True in row["uplift_enabled"]]
    unmarked = [row for row in document["services"] if row["in_stack"] and False in row["uplift_enabled"]]
    assert marked and unmarked  # the secondary stack has some options on and some off
    print_posture(document)
    out = capsys.readouterr().out
    assert "[on]" in out and "[off]" in out


def test_posture_text_prints_brackets_in_the_seed_text_as_they_are(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    row = {"service": "Svc [bold]", "in_stack": True, "stateful": True, "component_responsibility": "Microsoft",
           "workload_responsibility": "Customer", "sku": "Standard [v2]", "uplift_options": ["Geo [GRS]"],
           "uplift_enabled": [None], "recovery_action": "redeploy"}
    print_posture({"stack": "s", "region": "r", "services": [row]})
    out = capsys.readouterr().out
    assert "[?] Geo [GRS]" in out and "Svc [bold]" in out and "Standard [v2]" in out
