"""The lake's restore settings (`dataplatform:restore.lake`): defaults, and bad values named by key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from components.lake import LakeRestore
from orchestrator.cli.main import main
from stacks.config import ConfigError, config_from_mapping, load_stack_config

ROOT = Path(__file__).resolve().parents[2]


def _values(stack: str) -> dict:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]


def test_the_relay_is_the_default_copy_whatever_the_source():
    # The primary lake is private-only: a server-side copy could not reach it, the relay can.
    assert LakeRestore().copy_method == "relay"
    assert LakeRestore(source="account-failover").copy_method == "relay"
    shipped = load_stack_config(ROOT, "secondary").restore.lake
    assert shipped is not None and (shipped.source, shipped.copy_method) == ("geo-secondary", "relay")
    assert (shipped.relay_chunk_mib, shipped.failover_timeout_minutes, shipped.role_propagation_minutes) == (8, 60, 10)


def test_every_key_is_read_by_its_stack_file_name():
    values = _values("secondary")
    values["dataplatform:restore"] = {"lake": {"source": "account-failover", "copy": "server-side",
                                               "relayChunkMiB": 16, "failoverTimeoutMinutes": 90,
                                               "rolePropagationMinutes": 0}}
    lake = config_from_mapping("secondary", values, "Pulumi.secondary.yaml", paired=_values("primary")).restore.lake
    assert lake == LakeRestore(source="account-failover", copy_method="server-side", relay_chunk_mib=16,
                               failover_timeout_minutes=90, role_propagation_minutes=0)


BAD = [
    ({"source": "failover"}, "dataplatform:restore.lake.source"),
    ({"copy": "azcopy"}, "dataplatform:restore.lake.copy"),
    ({"relayChunkMiB": 0}, "dataplatform:restore.lake.relayChunkMiB"),
    ({"failoverTimeoutMinutes": 0}, "dataplatform:restore.lake.failoverTimeoutMinutes"),
    ({"rolePropagationMinutes": 120}, "dataplatform:restore.lake.rolePropagationMinutes"),
]


@pytest.mark.parametrize("lake, key", BAD, ids=[key.rsplit(".", 1)[1] for _, key in BAD])
def test_a_bad_value_names_its_key(lake, key):
    values = _values("secondary")
    values["dataplatform:restore"] = {"lake": {"source": "geo-secondary", **lake}}
    with pytest.raises(ConfigError) as raised:
        config_from_mapping("secondary", values, "Pulumi.secondary.yaml", paired=_values("primary"))
    assert raised.value.key == key and "Extra inputs" not in str(raised.value)  # a known key, a bad value


def test_drctl_exits_2_with_one_line_naming_the_key(tmp_path, capsys):
    for name in ("Pulumi.yaml", "Pulumi.primary.yaml", "Pulumi.secondary.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    stack = tmp_path / "Pulumi.secondary.yaml"
    stack.write_text(stack.read_text().replace("      source: geo-secondary\n",
                                               "      source: geo-secondary\n      copy: sideways\n"))
    with pytest.raises(SystemExit) as ended:
        main(["plan", "--stack", "secondary", "--project-dir", str(tmp_path)])
    assert ended.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("drctl: Pulumi.secondary.yaml: dataplatform:restore.lake.copy: "), err
    assert "'relay' or 'server-side'" in err[0]  # the value is wrong, not the key
