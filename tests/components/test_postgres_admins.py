"""The server's Entra administrator under Pulumi's mock runtime: adopted on a geo-restored server
(azure-native would refuse to create what the restore already copied), created everywhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi_mocks import PROJECT, PROJECT_DIR, stack_config, stack_values

from components.postgres_admins import administrator_id
from orchestrator.program.capture import PLACEHOLDER_SUBSCRIPTION, AzureMocks, run_under_mocks
from stacks.config import to_pulumi_config

ADMIN_TYPE = "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra"
SHIPPED_ADMIN = "00000000-0000-0000-0000-000000000000"
RUNNER = "11111111-1111-1111-1111-111111111111"  # drctl's own identity, declared by both stacks


class ImportRecordingMocks(AzureMocks):
    """drctl's own mocks, also keeping the import id each resource was registered with."""

    def __init__(self) -> None:
        self.import_ids: dict[tuple[str, str], str | None] = {}

    def new_resource(self, args):
        self.import_ids[(args.typ, args.name)] = args.resource_id or None
        return super().new_resource(args)


def run_program(stack: str, project_dir: Path = PROJECT_DIR, changes: dict[str, Any] | None = None) -> dict:
    """The real program for `stack` under mocks: the import id of every administrator it declares."""
    from stacks.program import build

    config = stack_config(stack, changes, project_dir)
    values = stack_values(stack, project_dir)
    values.update(changes or {})
    mocks = ImportRecordingMocks()
    run_under_mocks(lambda: pulumi.Output.from_input(build(config, project_dir)).future(),
                    project=PROJECT, stack=stack, config=to_pulumi_config(values), mocks=mocks)
    return {name: import_id for (type_, name), import_id in mocks.import_ids.items() if type_ == ADMIN_TYPE}


def test_the_secondary_adopts_the_admin_its_geo_restored_server_already_carries():
    admins = run_program("secondary")
    server = (f"/subscriptions/{PLACEHOLDER_SUBSCRIPTION}/resourceGroups/rg-contoso-data-ase"
              "/providers/Microsoft.DBforPostgreSQL/flexibleServers/contoso-pg-ase")
    assert admins == {"postgres-entra-admin": f"{server}/administrators/{SHIPPED_ADMIN}",
                      "postgres-runner-admin": f"{server}/administrators/{RUNNER}"}
    assert admins["postgres-entra-admin"] == administrator_id(server, SHIPPED_ADMIN)


def test_the_primary_creates_its_admin():
    assert run_program("primary") == {"postgres-entra-admin": None, "postgres-runner-admin": None}


def test_an_admin_the_primary_does_not_declare_is_created_on_the_restored_server(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    (tmp_path / "pipelines").symlink_to(PROJECT_DIR / "pipelines")
    other = {"objectId": "22222222-2222-2222-2222-222222222222", "principalName": "dr-pg-admins"}
    postgres = {**stack_values("secondary")["dataplatform:postgres"], "entraAdmin": other}
    admins = run_program("secondary", tmp_path, {"dataplatform:postgres": postgres})
    assert admins["postgres-entra-admin"] is None and admins["postgres-runner-admin"] is not None


@pytest.mark.parametrize("object_id", [SHIPPED_ADMIN, SHIPPED_ADMIN.upper()])
def test_the_paired_admin_is_recognised_whatever_the_case_of_its_object_id(tmp_path, object_id):
    for name in ("Pulumi.yaml", "Pulumi.secondary.yaml"):
        (tmp_path / name).write_text((PROJECT_DIR / name).read_text())
    (tmp_path / "pipelines").symlink_to(PROJECT_DIR / "pipelines")
    primary = yaml.safe_load((PROJECT_DIR / "Pulumi.primary.yaml").read_text())
    primary["config"]["dataplatform:postgres"]["entraAdmin"]["objectId"] = object_id
    (tmp_path / "Pulumi.primary.yaml").write_text(yaml.safe_dump(primary))
    assert run_program("secondary", tmp_path)["postgres-entra-admin"].endswith(f"/administrators/{SHIPPED_ADMIN}")


def test_a_preview_of_the_secondary_shows_the_admin_without_importing_it(monkeypatch):
    # Before the failover the restored server and its admin do not exist: an import in the preview
    # would fail it (the CLI's own preview of `pulumi up` included).
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: True)
    assert run_program("secondary") == {"postgres-entra-admin": None, "postgres-runner-admin": None}
