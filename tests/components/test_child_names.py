"""Names given inside a service (databases, hubs, consumer groups, the runner's subnet) are held to
Azure's length and character rules when the stack file is read, and refused with one line naming
the key: a name Azure refuses would otherwise preview fine and fail mid-deployment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from stacks.config import ConfigError, load_stack_config

REPO = Path(__file__).resolve().parents[2]
STACK = "reference-secondary"  # every service switched on, each child name set


@pytest.fixture()
def project(tmp_path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.reference.yaml", f"Pulumi.{STACK}.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    return tmp_path


def with_value(project: Path, service: str, path: tuple, value) -> Path:
    file = project / f"Pulumi.{STACK}.yaml"
    document = yaml.safe_load(file.read_text())
    node = document["config"][f"dataplatform:{service}"]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    file.write_text(yaml.safe_dump(document, sort_keys=False))
    return project


def refused(project: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_stack_config(project, STACK)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_the_stacks_as_shipped_pass_the_rules():
    for stack in ("primary", "secondary", "reference", STACK, "dr-rehearsal"):
        load_stack_config(REPO, stack)


@pytest.mark.parametrize(("service", "path", "value", "says"), [
    # PostgreSQL: 63 bytes at most (longer is silently truncated), a plain lowercase identifier
    ("postgres", ("databases", 0), "d" * 64, "postgres.databases.0: PostgreSQL database name of 64 characters: 1-63"),
    ("postgres", ("databases", 0), "p" * 300, "300 characters"),
    ("postgres", ("databases", 0), "Sales", "lowercase letters"),
    ("postgres", ("databases", 0), "café", "lowercase letters"),
    ("postgres", ("databases", 0), "template1", "reserved"),
    ("mysql", ("databases", 0), "m" * 65, "mysql.databases.0: MySQL database name of 65 characters: 1-64"),
    ("mysql", ("databases", 0), "a-b", "letters, digits and '_'"),
    ("mysql", ("databases", 0), "information_schema", "reserved"),
    ("sqlDatabase", ("database",), "s" * 129, "sqlDatabase.database: sql database name"),
    ("sqlDatabase", ("database",), "sales/2024", "letters, digits"),
    ("sqlDatabase", ("database",), "master", "reserved"),
    ("cosmosDb", ("database",), "c" * 256, "cosmosDb.database"),
    ("cosmosDb", ("container",), "a/b", "cosmosDb.container"),
    ("eventHubs", ("hubs", 0, "name"), "telemetry-", "eventHubs.hubs.0.name: event hub name 'telemetry-'"),
    ("streamAnalytics", ("consumerGroup",), "g" * 51, "streamAnalytics.consumerGroup: consumer group name of 51"),
    ("streamAnalytics", ("consumerGroup",), "$reader", "letters, digits, '._-'"),
    ("streamAnalytics", ("inputHub",), "hub_", "event hub name 'hub_'"),
    ("runner", ("network", "subnet"), "runner subnet", "runner.network.subnet: subnet name"),
])
def test_a_child_name_azure_refuses_is_refused_naming_the_key(project, service, path, value, says):
    assert says in refused(with_value(project, service, path, value))


@pytest.mark.parametrize(("service", "path", "value"), [
    ("postgres", ("databases", 0), "d" * 63),
    ("mysql", ("databases", 0), "Sales_2024"),
    ("sqlDatabase", ("database",), "Sales_2024-EU"),
    ("streamAnalytics", ("consumerGroup",), "$Default"),
    ("streamAnalytics", ("consumerGroup",), "asa.reader-1"),
    ("eventHubs", ("hubs", 0, "name"), "telemetry.v2"),
])
def test_a_name_at_the_limits_azure_takes_is_taken(project, service, path, value):
    load_stack_config(with_value(project, service, path, value), STACK)
