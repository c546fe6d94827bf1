"""The pipeline templates (ci-templates/): valid against the published schemas, offline, and doing
what their README says: the coverage gate on pull requests with its JUnit results, a scheduled
rehearsal with its evidence uploaded, an OIDC login and no secret in the files.

The schemas are SchemaStore's, as vendored by check-jsonschema (`--builtin-schema`): nothing is
downloaded, and the proxies below point at a closed port so that a download would fail the test.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from orchestrator.cli.coverage import coverage

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "ci-templates"
GITHUB = TEMPLATES / "github" / "dr.yml"
AZURE = TEMPLATES / "azure-pipelines" / "dr.yml"
# The azure-pipelines schema has patterns that are not valid Unicode-mode ECMAScript regexes.
SCHEMAS = {
    GITHUB: ["--builtin-schema", "vendor.github-workflows"],
    AZURE: ["--builtin-schema", "vendor.azure-pipelines", "--regex-variant", "nonunicode"],
}
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
LINT = YamlLintConfig(
    "{extends: default, rules: {line-length: {max: 120}, document-start: disable, "
    "truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}}}"
)


def validate(path: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **OFFLINE}
    command = [sys.executable, "-m", "check_jsonschema", *SCHEMAS[path], *extra, str(path)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def steps_of(jobs: dict) -> list[tuple[str, dict]]:
    return [(name, step) for name, job in jobs.items() for step in job.get("steps", [])]


def scripts(node) -> list[str]:
    """Every shell script of a workflow or pipeline: the `run`, `script` and `inlineScript` values."""
    if isinstance(node, list):
        return [text for item in node for text in scripts(item)]
    if not isinstance(node, dict):
        return []
    found = [v for k, v in node.items() if k in ("run", "script", "inlineScript") and isinstance(v, str)]
    return found + [text for v in node.values() for text in scripts(v)]


def drctl_args(script: str, variables: dict[str, str]) -> list[str]:
    """The drctl verb and its arguments in a step's script, with the CI variables filled in."""
    for name, value in variables.items():
        script = script.replace(name, value)
    line = next(ln for ln in script.replace("\\\n", " ").splitlines() if ln.strip().startswith("drctl "))
    line = line.split(" | ")[0].split(" 2>")[0]
    return shlex.split(line)[1:]


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure-pipelines"])
def test_valid_against_the_published_schema_offline(path):
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validation done" in result.stdout


def test_github_jobs_all_have_a_timeout():
    result = validate(GITHUB, "--builtin-schema", "custom.github-workflows-require-timeout")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure-pipelines"])
def test_the_schema_check_fails_a_broken_template(path, tmp_path):
    broken = tmp_path / "dr.yml"
    text, count = re.subn(r"^(\s+)steps:", r"\1stepz:", path.read_text(), count=1, flags=re.M)
    assert count == 1
    broken.write_text(text)
    SCHEMAS[broken] = SCHEMAS[path]
    try:
        result = validate(broken)
    finally:
        del SCHEMAS[broken]
    assert result.returncode == 1, result.stdout
    assert "stepz" in result.stdout + result.stderr


@pytest.mark.parametrize("path", [GITHUB, AZURE], ids=["github", "azure-pipelines"])
def test_yamllint_is_clean(path):
    problems = list(linter.run(path.read_text(), LINT, str(path)))
    assert [f"{p.line}:{p.column} {p.message}" for p in problems] == []


@pytest.mark.parametrize("path", [GITHUB, AZURE, TEMPLATES / "README.md"], ids=["github", "azure", "readme"])
def test_no_secret_in_the_files(path):
    text = path.read_text().lower()
    for word in ("client-secret", "client_secret", "clientsecret", "creds:", "password", "${{ secrets."):
        assert word not in text, word


def test_github_gates_pull_requests_with_coverage_and_uploads_the_junit():
    workflow = load(GITHUB)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers
    job = workflow["jobs"]["coverage"]
    assert "pull_request" in job["if"]
    stacks = job["strategy"]["matrix"]["stack"]
    assert stacks == ["primary", "secondary"] and all((REPO / f"Pulumi.{s}.yaml").is_file() for s in stacks)
    (run,) = [step["run"] for step in job["steps"] if "drctl coverage" in step.get("run", "")]
    verb, *args = drctl_args(run, {"${{ matrix.stack }}": "secondary"})
    assert verb == "coverage"
    context = coverage.make_context("coverage", args)  # drctl's own parser accepts the command line
    junit = str(context.params["junit"])
    assert context.params["stack"] == "secondary" and junit.endswith(".xml")
    (upload,) = [step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()"  # the results of a failing gate are the ones worth reading
    assert upload["with"]["path"].replace("${{ matrix.stack }}", "secondary") == junit


def test_github_rehearses_on_a_schedule_with_oidc_and_uploads_the_evidence():
    workflow = load(GITHUB)
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["schedule"][0]["cron"]
    job = workflow["jobs"]["rehearse"]
    assert "schedule" in job["if"]
    assert job["permissions"]["id-token"] == "write"
    (login,) = [step for step in job["steps"] if step.get("uses", "").startswith("azure/login@")]
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}
    assert all(value.startswith("${{ vars.") for value in login["with"].values())
    (run,) = [step["run"] for step in job["steps"] if "drctl rehearse" in step.get("run", "")]
    assert drctl_args(run, {"$REHEARSAL_STACK": workflow["env"]["REHEARSAL_STACK"]}) == ["rehearse", "--stack", "dr-rehearsal"]
    (upload,) = [step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()" and "${{ env.EVIDENCE_DIR }}" in upload["with"]["path"]
    assert workflow["env"]["EVIDENCE_DIR"] == ".drill/runs"
    local = workflow["jobs"]["rehearse-local"]
    assert any("drctl rehearse --local" in step.get("run", "") for step in local["steps"])


def test_azure_pipelines_gates_pull_requests_and_publishes_the_junit():
    pipeline = load(AZURE)
    assert pipeline["pr"] and pipeline["trigger"] == "none"
    (stage,) = [s for s in pipeline["stages"] if s["stage"] == "coverage"]
    assert "PullRequest" in stage["condition"]
    (job,) = stage["jobs"]
    stacks = [entry["stack"] for entry in job["strategy"]["matrix"].values()]
    assert stacks == ["primary", "secondary"]
    (script,) = [step["script"] for step in job["steps"] if "drctl coverage" in step.get("script", "")]
    verb, *args = drctl_args(script, {"$(stack)": "primary", "$(reports)": "/tmp/reports"})
    assert verb == "coverage"
    context = coverage.make_context("coverage", args)
    (publish,) = [step for step in job["steps"] if step.get("task") == "PublishTestResults@2"]
    assert publish["condition"] == "succeededOrFailed()"
    assert publish["inputs"]["testResultsFormat"] == "JUnit"
    files = publish["inputs"]["testResultsFiles"].replace("$(stack)", "primary").replace("$(reports)", "/tmp/reports")
    assert files == str(context.params["junit"])


def test_azure_pipelines_rehearses_on_a_schedule_with_workload_identity_and_publishes_the_evidence():
    pipeline = load(AZURE)
    assert pipeline["schedules"][0]["cron"] and pipeline["schedules"][0]["always"] == "true"
    (stage,) = [s for s in pipeline["stages"] if s["stage"] == "rehearse"]
    assert "Schedule" in stage["condition"]
    steps = [step for _, step in steps_of({job["job"]: job for job in stage["jobs"]})]
    (cli,) = [step for step in steps if step.get("task") == "AzureCLI@2"]
    assert cli["inputs"]["azureSubscription"] == "$(drServiceConnection)"  # a federated service connection
    args = drctl_args(cli["inputs"]["inlineScript"], {"$(rehearsalStack)": pipeline["variables"]["rehearsalStack"]})
    assert args == ["rehearse", "--stack", "dr-rehearsal"]
    (publish,) = [step for step in steps if step.get("task") == "PublishPipelineArtifact@1"]
    assert publish["condition"] == "always()" and publish["inputs"]["targetPath"] == "$(evidenceDir)"
    assert pipeline["variables"]["evidenceDir"].endswith("/.drill/runs")
    (local,) = [s for s in pipeline["stages"] if s["stage"] == "rehearse_local"]
    assert any("drctl rehearse --local" in step.get("script", "") for _, step in steps_of({"j": local["jobs"][0]}))


def test_the_rehearsal_command_lines_parse_with_drctl():
    from orchestrator.cli.main import cli

    command = cli.commands.get("rehearse")
    if command is None:
        pytest.skip("drctl rehearse is not registered in this tree")
    variables = {'"$REHEARSAL_STACK"': "dr-rehearsal", '"$(rehearsalStack)"': "dr-rehearsal"}
    lines = []
    for script in scripts(load(GITHUB)) + scripts(load(AZURE)):
        for match in re.finditer(r"drctl (rehearse[^\n]*)", script):
            line = match.group(1).split(" 2>")[0]
            for name, value in variables.items():
                line = line.replace(name, value)
            lines.append(line)
    assert sorted(set(lines)) == ["rehearse --local", "rehearse --stack dr-rehearsal"]
    for line in set(lines):
        verb, *args = shlex.split(line)
        command.make_context(verb, args)  # raises on an option drctl does not have
