"""A stack file's YAML is loaded with its alias expansion bounded, wherever drctl reads one: before
any run (stacks/stack_file.py) and in the config digest at the end of every run (report/bundle.py),
where a "billion laughs" anywhere in the file, `config:` or not, would exhaust memory before the
run's report and seal are written."""

from __future__ import annotations

import json
import threading
import time

import pytest
import yaml

from orchestrator.report.bundle import config_digest
from stacks.stack_file import read_stack_file
from stacks.yaml_bounded import MAX_ALIASES, MAX_NODES, YamlTooLarge, safe_load_bounded

CONFIG = "config:\n  azure-native:location: australiaeast\n"


def bomb(levels: int = 9) -> str:
    """Nine aliases of the level before, `levels` deep: 9^levels strings once expanded."""
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_plain_safe_load_takes_the_bomb_and_only_walking_it_explodes():
    # why the bound is on the composed document: safe_load shares the nodes, json.dumps expands them
    document = yaml.safe_load(bomb(4) + CONFIG)
    assert len(json.dumps(document)) > 9**4 * 5


def test_a_billion_laughs_outside_config_is_refused_at_once():
    started = time.monotonic()
    with pytest.raises(YamlTooLarge, match=f"expand to more than {MAX_NODES} nodes"):
        safe_load_bounded(CONFIG + bomb())
    assert time.monotonic() - started < 2


def test_the_stack_file_loader_refuses_it_in_one_line_naming_the_file(tmp_path):
    path = tmp_path / "Pulumi.secondary.yaml"
    path.write_text(bomb() + CONFIG)
    with pytest.raises(Exception) as raised:
        read_stack_file(path)
    assert str(raised.value).startswith("Pulumi.secondary.yaml: config: refused: YAML aliases expand")
    assert "\n" not in str(raised.value)


def test_the_config_digest_at_the_end_of_a_run_neither_hangs_nor_exhausts_memory(tmp_path):
    path = tmp_path / "Pulumi.secondary.yaml"
    path.write_text(CONFIG + bomb())
    result: list = []
    worker = threading.Thread(target=lambda: result.append(config_digest(path)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive() and result == [None]  # no digest for a file that is no stack file
    path.write_text(CONFIG)
    assert isinstance(config_digest(path), str)


@pytest.mark.parametrize(("text", "says"), [
    ("a: &a [*a]\n", "recursive"),
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ("a: &a x\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n", f"more than {MAX_ALIASES} YAML aliases"),
])
def test_other_shapes_past_the_bounds_are_refused(text, says):
    with pytest.raises(YamlTooLarge, match=says):
        safe_load_bounded(text)


def test_aliases_and_merge_keys_within_the_bounds_load_as_safe_load_does():
    text = "base: &base {sku: Standard, capacity: 1}\nhub: {<<: *base, capacity: 2}\nsame: *base\n" + CONFIG
    assert safe_load_bounded(text) == yaml.safe_load(text)
    assert safe_load_bounded("") is None
