"""The policy pack's folder (policy/) and the pipeline snippets that run it (ci-templates/*/policy-preview.yml).

The pack's entry point builds the pack from orchestrator/policy/pack.py and nothing else; it runs in
the program's virtualenv, which the `policy` extra equips. The snippets are valid against the
published schemas (SchemaStore's, vendored by check-jsonschema: nothing is downloaded), lint clean,
hold no secret, and run `pulumi preview --policy-pack policy/` over the repository's stacks.
"""

from __future__ import annotations

import os
import runpy
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pulumi_policy
import pytest
import yaml
from pulumi_policy.policy import _POLICY_PACK_NAME_RE
from yamllint import linter
from yamllint.config import YamlLintConfig

from orchestrator.policy.pack import DESCRIPTION, ENFORCEMENT, PACK_NAME, policies, policy_name, table_rules

REPO = Path(__file__).resolve().parents[3]
PACK = REPO / "policy"
GITHUB = REPO / "ci-templates" / "github" / "policy-preview.yml"
AZURE = REPO / "ci-templates" / "azure-pipelines" / "policy-preview.yml"
SCHEMAS = {
    GITHUB: ["--builtin-schema", "vendor.github-workflows"],
    AZURE: ["--builtin-schema", "vendor.azure-pipelines", "--regex-variant", "nonunicode"],
}
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
LINT = YamlLintConfig(
    "{extends: default, rules: {line-length: {max: 120}, document-start: disable, "
    "truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}}}"
)


# -- the pack's folder ------------------------------------------------------------------------------------------


def test_the_entry_point_starts_the_pack_of_orchestrator_policy(monkeypatch):
    started = []
    # PolicyPack serves the policies over gRPC until killed: record what it is given instead.
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: started.append(kwargs))
    runpy.run_path(str(PACK / "__main__.py"), run_name="__main__")
    [pack] = started
    assert pack["name"] == PACK_NAME and _POLICY_PACK_NAME_RE.match(PACK_NAME)
    assert pack["enforcement_level"] == ENFORCEMENT == pulumi_policy.EnforcementLevel.MANDATORY
    assert pack["description"] == DESCRIPTION
    assert [p.name for p in pack["policies"]] == [p.name for p in policies()]


def test_the_pack_runs_in_the_programs_virtualenv_which_the_policy_extra_equips():
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    pack = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python" and pack["version"] and pack["description"] == DESCRIPTION
    assert (PACK / pack["runtime"]["options"]["virtualenv"]).resolve() == (REPO / project["runtime"]["options"]["virtualenv"]).resolve()
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("pulumi-policy") for dep in extras["policy"])
    requirement = [line for line in (PACK / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert requirement == ["-e ..[policy]"]  # pip reads it from policy/, where Pulumi installs a pack's needs


def test_the_readme_names_each_policy_and_what_stays_with_coverage():
    readme = (PACK / "README.md").read_text()
    per_rule = {policy_name(rule) for rule in table_rules()}
    assert "`baseline-<rule>`" in readme and any(f"`{name}`" in readme for name in per_rule)
    for policy in policies():
        assert policy.name in per_rule or f"`{policy.name}`" in readme, policy.name
    for check in ("counterpart", "data-path", "backup-source"):
        assert f"`{check}`" in readme
    assert "pulumi preview --stack secondary --policy-pack policy/" in readme


# -- the pipeline snippets --------------------------------------------------------------------------------------


def validate(path: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "check_jsonschema", *SCHEMAS[path], str(path)]
    return subprocess.run(command, env={**os.environ, **OFFLINE}, capture_output=True, text=True, timeout=120)


def scripts(node) -> list[str]:
    if isinstance(node, list):
        return [text for item in node for text in scripts(item)]
    if not isinstance(node, dict):
        return []
    found = [v for k, v in node.items() if k in ("run", "script", "inlineScript") and isinstance(v, str)]
    return found + [text for v in node.values() for text in scripts(v)]


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure-pipelines"])
def test_the_snippet_is_valid_against_the_published_schema_offline(path):
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validation done" in result.stdout


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure-pipelines"])
def test_the_snippet_lints_clean_and_holds_no_secret(path):
    text = path.read_text()
    assert [f"{p.line}:{p.column} {p.message}" for p in linter.run(text, LINT, str(path))] == []
    for word in ("client-secret", "client_secret", "clientsecret", "creds:", "password", "${{ secrets."):
        assert word not in text.lower(), word


@pytest.mark.parametrize(("path", "variable"), [(GITHUB, "${{ matrix.stack }}"), (AZURE, "$(stack)")],
                         ids=["github", "azure-pipelines"])
def test_the_snippet_previews_each_stack_with_the_pack_in_the_equipped_virtualenv(path, variable):
    document = yaml.safe_load(path.read_text())
    texts = scripts(document)
    assert any('pip install -e ".[policy]"' in text and "python -m venv .venv" in text for text in texts)
    [line] = [ln.strip() for text in texts for ln in text.splitlines() if ln.strip().startswith("pulumi preview")]
    args = shlex.split(line.replace(variable, "STACK"))
    assert args[:2] == ["pulumi", "preview"] and args[args.index("--stack") + 1] == "STACK"
    pack = REPO / args[args.index("--policy-pack") + 1]
    assert (pack / "PulumiPolicy.yaml").is_file() and (pack / "__main__.py").is_file()
    matrix = document["jobs"]["preview"]["strategy"]["matrix"] if path == GITHUB else document["jobs"][0]["strategy"]["matrix"]
    stacks = matrix["stack"] if path == GITHUB else [entry["stack"] for entry in matrix.values()]
    assert stacks == ["primary", "secondary"] and all((REPO / f"Pulumi.{s}.yaml").is_file() for s in stacks)
