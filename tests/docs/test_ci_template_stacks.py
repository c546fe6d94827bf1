"""The CI templates name stacks by their file: each one they run must exist in the repository."""

from __future__ import annotations

import re
from pathlib import Path

from stacks.config import load_stack_config

REPO = Path(__file__).resolve().parents[2]


def named_stacks() -> set[str]:
    names: set[str] = set()
    for template in (REPO / "ci-templates").rglob("*.y*ml"):
        text = template.read_text(encoding="utf-8")
        names.update(re.findall(r"--stack\s+([A-Za-z0-9_.-]+)", text))
        names.update(re.findall(r"REHEARSAL_STACK:\s*([A-Za-z0-9_.-]+)", text))
        for matrix in re.findall(r"stack:\s*\[([^\]]*)\]", text):
            names.update(s.strip() for s in matrix.split(","))
    return names


def test_every_stack_the_ci_templates_run_is_a_valid_stack_file():
    names = named_stacks()
    assert "dr-rehearsal" in names
    for name in sorted(names):
        assert (REPO / f"Pulumi.{name}.yaml").is_file(), f"ci-templates run --stack {name}: no Pulumi.{name}.yaml"
        assert load_stack_config(REPO, name).stack == name


def test_the_rehearsal_stack_is_the_secondary_in_the_dr_subscription():
    from stacks.stack_file import read_stack_file

    rehearsal = read_stack_file(REPO / "Pulumi.dr-rehearsal.yaml")
    assert rehearsal.pop("azure-native:subscriptionId")
    assert rehearsal == read_stack_file(REPO / "Pulumi.secondary.yaml")  # a copy that drifted would rehearse another platform
