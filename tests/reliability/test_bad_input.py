"""Bad input, as a user or a pipeline gives it: the corpus of reliability/suite_bad_input.py (each
case exit 2, one line naming the problem, nothing touched), and property-based tests that the
config loader and the CLI answer anything with a decision, never with an unhandled exception."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability import suite_bad_input
from stacks.config import ConfigError, load_stack_config


def test_the_corpus_is_large_enough_and_every_case_is_refused_cleanly():
    assert len(suite_bad_input.CASES) >= 30
    workdir = Path(tempfile.mkdtemp(prefix="drctl-bad-input-"))
    try:
        result = suite_bad_input.run(full=False, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert result["notes"] == [] and result["outcome"] == "passed"
    assert result["figures"]["exit 2 with one line"] == len(suite_bad_input.CASES)
    assert result["figures"]["touched anything"] == 0


def test_the_checker_itself_catches_what_it_must():
    case = suite_bad_input.CASES[0]
    assert suite_bad_input.check(case, 2, "", f"drctl: x {case.expect}\n") == []
    assert suite_bad_input.check(case, 1, "", f"drctl: {case.expect}\n") == ["exit 1, not 2"]
    assert any("traceback" in p for p in suite_bad_input.check(case, 2, "", "Traceback (most recent call last):\n"))
    assert any("one 'drctl: ' line" in p for p in suite_bad_input.check(case, 2, "", f"drctl: {case.expect}\nmore\n"))


# CI's count; `python -m reliability` runs these two with more (reliability/suite_bad_input.py).
EXAMPLES = int(os.environ.get("DRCTL_PROPERTY_EXAMPLES", "150"))


@pytest.fixture(scope="module")
def project():
    folder = suite_bad_input.make_project(Path(tempfile.mkdtemp(prefix="drctl-hypothesis-")) / "p")
    yield folder
    shutil.rmtree(folder.parent, ignore_errors=True)


KEYS = ["role", "pairedStack", "pairedRegion", "prefix", "nameSuffix", "addressSpace", "services", "foundation",
        "lake", "postgres", "eventHubs", "dataFactory", "recovery", "restore", "fallback", "saas", "dataExplorer",
        "sqlDatabase", "cosmosDb", "unknownKey"]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["sku", "version", "tags", "lake", "source", "rtoMinutes", "zones", "redundancy", "x", "name"]) | st.text(max_size=8),
        inner, max_size=4),
    max_leaves=12)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.dictionaries(st.sampled_from(KEYS), VALUES, min_size=1, max_size=3))
def test_any_stack_file_value_is_loaded_or_refused_with_a_config_error(project, edits):
    original = (project / suite_bad_input.STACK).read_text()
    document = yaml.safe_load(original)
    for key, value in edits.items():
        document["config"][f"dataplatform:{key}"] = value
    (project / suite_bad_input.STACK).write_text(yaml.safe_dump(document))
    try:
        load_stack_config(project, "secondary")
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("Pulumi.secondary.yaml: ")
    finally:
        (project / suite_bad_input.STACK).write_text(original)


VERBS = ["plan", "preview", "posture", "status", "approve", "verify-evidence", "coverage", "runbook", "--help",
         "nonsense"]
TOKENS = st.sampled_from(["--stack", "--json", "--workdir", "--project-dir", "--by", "--note", "--format",
                          "--junit", "--history-from", "--regression-threshold", "-h", "", "-", "--", "x", "md"]) | \
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.tuples(st.sampled_from(VERBS), st.lists(TOKENS, max_size=5)))
def test_any_command_line_ends_in_an_exit_code_not_an_exception(argv, capsys):
    from orchestrator.cli.main import main

    verb, rest = argv
    # A real stack name could start real (slow but harmless) work; random text never names one.
    words = [verb, *rest]
    if any(w in ("primary", "secondary", "reference") for w in words):
        return
    workdir = tempfile.mkdtemp(prefix="drctl-argv-")
    try:
        with pytest.raises(SystemExit) as ended:
            main([*words, "--workdir", workdir] if verb in ("status", "approve", "verify-evidence") else words)
            raise SystemExit(0)
        assert ended.value.code in (0, 1, 2, None)
        err = capsys.readouterr().err  # read per example: capsys is not reset between them
        assert "Traceback" not in err
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
