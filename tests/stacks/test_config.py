"""Stack config validation: every bad input names its key and its file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stacks.config import ConfigError, config_from_mapping, load_stack_config

ROOT = Path(__file__).resolve().parents[2]


def stack_values(stack: str) -> dict:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


def test_shipped_stacks_are_valid_and_paired():
    primary = load_stack_config(ROOT, "primary")
    secondary = load_stack_config(ROOT, "secondary")
    assert (primary.region, secondary.region) == ("australiaeast", "australiasoutheast")
    assert primary.paired_region == secondary.region and secondary.paired_region == primary.region
    assert secondary.is_secondary and not primary.is_secondary
    assert secondary.restore.postgres is not None and primary.restore.postgres is None
    assert secondary.paired_name_suffix == primary.name_suffix


def test_lake_redundancy_defaults_to_the_seeds_lrs():
    values = stack_values("primary")
    values["dataplatform:lake"] = {}
    assert config_from_mapping("primary", values, "Pulumi.primary.yaml").lake.redundancy == "Standard_LRS"


BAD_CONFIGS = [
    # (description, change to the secondary stack's values, key named in the error)
    ("no region", {"azure-native:location": None}, "azure-native:location"),
    ("unknown region", {"azure-native:location": "australiaest"}, "azure-native:location"),
    ("bad role", {"dataplatform:role": "tertiary"}, "dataplatform:role"),
    ("paired region equals region", {"dataplatform:pairedRegion": "australiasoutheast"}, "dataplatform:pairedRegion"),
    ("suffix with capitals", {"dataplatform:nameSuffix": "ASE"}, "dataplatform:nameSuffix"),
    ("suffix Service Bus reserves", {"dataplatform:nameSuffix": "sb"}, "dataplatform:nameSuffix"),
    ("prefix too long", {"dataplatform:prefix": "contosodataplatform"}, "dataplatform:prefix"),
    ("address space not CIDR", {"dataplatform:addressSpace": "10.20.0.0/33"}, "dataplatform:addressSpace"),
    ("public address space", {"dataplatform:addressSpace": "8.8.0.0/16"}, "dataplatform:addressSpace"),
    ("address space too small", {"dataplatform:addressSpace": "10.20.0.0/26"}, "dataplatform:addressSpace"),
    ("unknown service toggle", {"dataplatform:services": {"lakehouse": True}}, "dataplatform:services.lakehouse"),
    ("toggle not a bool", {"dataplatform:services": {"lake": "maybe"}}, "dataplatform:services.lake"),
    ("bad lake redundancy", {"dataplatform:lake": {"redundancy": "Standard_XRS"}}, "dataplatform:lake.redundancy"),
    ("retention over 35 days", {"dataplatform:postgres": {"backupRetentionDays": 90}}, "dataplatform:postgres.backupRetentionDays"),
    ("bad database name", {"dataplatform:postgres": {"databases": ["Plat-form"]}}, "dataplatform:postgres.databases.0"),
    ("zero rto", {"dataplatform:recovery": {"rtoMinutes": 0}}, "dataplatform:recovery.rtoMinutes"),
    ("unknown key", {"dataplatform:colour": "blue"}, "dataplatform:colour"),
    ("secret where none belongs", {"dataplatform:prefix": {"secure": "AAAA"}}, "dataplatform:prefix"),
    ("basic event hubs", {"dataplatform:eventHubs": {"sku": "Basic"}}, "dataplatform:eventHubs"),
    ("restore of a disabled service", {"dataplatform:services": {"postgres": False}}, "dataplatform:restore"),
    ("bad restore source id", {"dataplatform:restore": {"postgres": {"sourceServerId": "server-1"}}}, "dataplatform:restore.postgres.sourceServerId"),
    ("paired stack is itself", {"dataplatform:pairedStack": "secondary"}, "dataplatform:pairedStack"),
]


@pytest.mark.parametrize("description,change,key", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_key_and_file(description, change, key):
    values = stack_values("secondary")
    for name, value in change.items():
        if value is None:
            values.pop(name)
        else:
            values[name] = value
    with pytest.raises(ConfigError) as raised:
        config_from_mapping("secondary", values, "Pulumi.secondary.yaml", paired=stack_values("primary"))
    error = raised.value
    assert error.key == key, description
    assert str(error).startswith(f"Pulumi.secondary.yaml: {key}: ")
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    "change,key",
    [
        ({"dataplatform:addressSpace": "10.10.128.0/20"}, "dataplatform:addressSpace"),
        ({"dataplatform:nameSuffix": "aue"}, "dataplatform:nameSuffix"),
        ({"dataplatform:pairedRegion": "eastus"}, "dataplatform:pairedRegion"),
    ],
)
def test_checks_against_the_paired_stack(change, key):
    values = stack_values("secondary") | change
    with pytest.raises(ConfigError) as raised:
        config_from_mapping("secondary", values, "Pulumi.secondary.yaml", paired=stack_values("primary"))
    assert raised.value.key == key


def test_overlap_message_names_both_ranges(tmp_path):
    for stack in ("primary", "secondary"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text((ROOT / f"Pulumi.{stack}.yaml").read_text())
    text = (tmp_path / "Pulumi.secondary.yaml").read_text().replace("10.20.0.0/16", "10.10.0.0/17")
    (tmp_path / "Pulumi.secondary.yaml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_stack_config(tmp_path, "secondary")
    assert str(raised.value) == (
        "Pulumi.secondary.yaml: dataplatform:addressSpace: 10.10.0.0/17 overlaps 10.10.0.0/16 "
        "of the paired stack 'primary'"
    )


@pytest.mark.parametrize(
    "text,key",
    [
        ("config: [1, 2", "config"),
        ("- just\n- a list\n", "config"),
    ],
)
def test_unreadable_stack_files(tmp_path, text, key):
    (tmp_path / "Pulumi.broken.yaml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_stack_config(tmp_path, "broken")
    assert raised.value.key == key and raised.value.source == "Pulumi.broken.yaml"


def test_missing_stack_file(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_stack_config(tmp_path, "nowhere")
    assert "no stack file" in str(raised.value)


def test_missing_paired_stack_file(tmp_path):
    (tmp_path / "Pulumi.secondary.yaml").write_text((ROOT / "Pulumi.secondary.yaml").read_text())
    with pytest.raises(ConfigError) as raised:
        load_stack_config(tmp_path, "secondary")
    assert raised.value.key == "dataplatform:pairedStack"
