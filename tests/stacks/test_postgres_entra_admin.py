"""PostgreSQL is Entra-only (password auth Disabled): a stack with postgres on must name its admin."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stacks.config import ConfigError, config_from_mapping

REPO = Path(__file__).resolve().parents[2]
KEY = "dataplatform:postgres.entraAdmin"


def values(stack: str) -> dict:
    return yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]


def project_without_admin(tmp_path: Path, stack: str) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    path = tmp_path / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    del document["config"]["dataplatform:postgres"]["entraAdmin"]
    path.write_text(yaml.safe_dump(document))
    return tmp_path


@pytest.mark.parametrize("stack", ["primary", "secondary"])
def test_coverage_of_a_stack_without_the_postgres_admin_exits_2_naming_the_key(tmp_path, stack):
    project = project_without_admin(tmp_path, stack)
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "coverage", "--stack", stack, "--project-dir", str(project)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(f"drctl: Pulumi.{stack}.yaml: {KEY}: required") and result.stderr.count("\n") == 1


def test_the_shipped_stacks_name_a_placeholder_admin_group():
    for stack in ("primary", "secondary", "reference"):
        admin = values(stack)["dataplatform:postgres"]["entraAdmin"]
        assert admin["objectId"] == "00000000-0000-0000-0000-000000000000" and admin["principalType"] == "Group"


def test_a_stack_with_postgres_off_needs_no_admin():
    primary = values("primary")
    del primary["dataplatform:postgres"]["entraAdmin"]
    primary["dataplatform:services"] = {**primary["dataplatform:services"], "postgres": False}
    assert not config_from_mapping("primary", primary, "Pulumi.primary.yaml").enabled("postgres")


def test_an_admin_object_id_that_is_not_a_guid_names_the_key():
    primary = values("primary")
    primary["dataplatform:postgres"]["entraAdmin"]["objectId"] = "<group object id>"
    with pytest.raises(ConfigError, match=f"^Pulumi.primary.yaml: {KEY}: objectId '<group object id>' is not"):
        config_from_mapping("primary", primary, "Pulumi.primary.yaml")
