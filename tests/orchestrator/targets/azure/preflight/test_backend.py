"""The Pulumi state backend: where its URL comes from, and the decision table."""

from __future__ import annotations

import json

import pytest
from preflight_support import PROJECT_DIR, hosts, session_for, storage_list_route

from orchestrator.targets.azure.preflight.backend import (
    AccountFacts,
    Backend,
    check_passphrase,
    check_state_readable,
    classify,
    decide_backend,
    find_account,
    resolve_backend,
    secrets_provider,
)

FAILED = "australiaeast"


def decide(url: str, account: AccountFacts | None = None, env: dict | None = None):
    return decide_backend(classify(url, "test", env or {}), FAILED, account)


@pytest.mark.parametrize(
    "url,account,status,severity",
    [
        ("https://api.pulumi.com", None, "pass", "info"),
        ("https://app.pulumi.com/acme", None, "pass", "info"),
        ("https://pulumi.internal.example", None, "finding", "warning"),
        ("file:///var/pulumi-state", None, "finding", "warning"),
        ("file://~", None, "finding", "warning"),
        ("s3://state-bucket", None, "finding", "info"),
        ("gs://state-bucket", None, "finding", "info"),
        ("azblob://state", None, "finding", "warning"),  # no account name: region unknown
        ("azblob://state?storage_account=gone", None, "finding", "warning"),  # not in the subscription
        ("azblob://state?storage_account=st", AccountFacts("st", "australiaeast", "Standard_LRS"), "finding", "blocker"),
        ("azblob://state?storage_account=st", AccountFacts("st", "australiaeast", "Standard_GRS"), "finding", "blocker"),
        ("azblob://state?storage_account=st", AccountFacts("st", "Australia East", "Standard_RAGRS"), "finding", "warning"),
        ("azblob://state?storage_account=st", AccountFacts("st", "australiaeast", "Standard_RAGZRS"), "finding", "warning"),
        ("azblob://state?storage_account=st", AccountFacts("st", "australiasoutheast", "Standard_LRS"), "pass", "info"),
        ("azblob://state?storage_account=st", AccountFacts("st", "westeurope", "Standard_RAGRS"), "pass", "info"),
        ("postgres://state", None, "finding", "warning"),
    ],
)
def test_backend_decision_table(url, account, status, severity):
    check = decide(url, account)
    assert (check.status, check.severity) == (status, severity)
    assert check.blocks == (severity == "blocker")


def test_a_blocked_backend_says_why():
    check = decide("azblob://state?storage_account=st", AccountFacts("st", "australiaeast", "Standard_LRS"))
    assert "the secondary stack's state would be lost with the region" in check.message
    assert check.evidence["account_location"] == "australiaeast"


def test_the_storage_account_may_come_from_the_environment():
    backend = classify("azblob://state", "test", {"AZURE_STORAGE_ACCOUNT": "envaccount"})
    assert backend.storage_account == "envaccount"
    assert classify("azblob://state?storage_account=q", "test", {"AZURE_STORAGE_ACCOUNT": "e"}).storage_account == "q"


def test_evidence_keeps_no_query_but_the_account():
    backend = classify("azblob://state?storage_account=st&sig=abcdefsecret", "test", {})
    assert "abcdefsecret" not in json.dumps(backend.evidence())


def _project(directory, backend_url=None):
    directory.mkdir(parents=True, exist_ok=True)
    text = "name: dataplatform\nruntime: python\n"
    if backend_url:
        text += f"backend:\n  url: {backend_url}\n"
    (directory / "Pulumi.yaml").write_text(text, encoding="utf-8")
    return directory


def _credentials(home, current):
    (home / ".pulumi").mkdir(parents=True, exist_ok=True)
    document = {"current": current, "accessTokens": {current: "pul-secret-token-123"}}
    (home / ".pulumi" / "credentials.json").write_text(json.dumps(document), encoding="utf-8")


def test_backend_url_precedence(tmp_path):
    home = tmp_path / "home"
    _credentials(home, "azblob://fromlogin?storage_account=a")
    env = {"PULUMI_BACKEND_URL": "s3://from-env"}
    project = _project(tmp_path / "p1", "file:///from-project")
    assert resolve_backend(project, env, home).source == "Pulumi.yaml backend.url"
    plain = _project(tmp_path / "p2")
    assert resolve_backend(plain, env, home).url == "s3://from-env"
    login = resolve_backend(plain, {}, home)
    assert (login.kind, login.storage_account) == ("azblob", "a")
    assert "pul-secret-token-123" not in json.dumps(login.evidence())
    assert resolve_backend(plain, {}, tmp_path / "nobody").url == "https://api.pulumi.com"


def test_pulumi_home_moves_the_credentials(tmp_path):
    _credentials(tmp_path / "elsewhere", "file:///srv/state")
    plain = _project(tmp_path)
    backend = resolve_backend(plain, {"PULUMI_HOME": str(tmp_path / "elsewhere" / ".pulumi")}, tmp_path / "nobody")
    assert backend.kind == "file"


def test_the_account_is_found_by_name_in_the_subscription():
    session, transport = session_for([storage_list_route("australiaeast", "Standard_LRS")])
    account = find_account(session, "STO8596")
    assert account == AccountFacts("sto8596", "australiaeast", "Standard_LRS")
    assert decide_backend(Backend("azblob://s?storage_account=sto8596", "t", "azblob", "sto8596"), FAILED, account).blocks
    assert find_account(session, "other") is None
    assert hosts(transport) == {"management.azure.com"}


def test_state_readable_hook():
    assert check_state_readable(None).severity == "info"
    assert check_state_readable(lambda: True).status == "pass"
    assert check_state_readable(lambda: False).blocks

    def broken():
        raise RuntimeError("error: [403] Forbidden: token pul-abc expired")

    check = check_state_readable(broken)
    assert check.blocks and check.evidence["exception"] == "RuntimeError"


def test_a_stack_never_initialised_is_one_the_failover_will_create(tmp_path):
    # The real Automation API against the fake CLI: `stack select` of a stack the backend does not
    # have fails as the real CLI does ("no stack named"), which the API raises as StackNotFoundError.
    from fake_pulumi import scenario as fake

    from orchestrator.targets.azure.deploy.stack import PulumiStack

    path = fake.write_scenario(tmp_path / "fake", stacks={})
    stack = PulumiStack(PROJECT_DIR, "secondary", command=fake.FAKE_BIN, env_vars=fake.fake_env(path))
    check = check_state_readable(stack.state_readable)
    assert (check.status, check.severity, check.blocks) == ("finding", "info", False)
    assert "will create it" in check.message
    assert ["stack", "init", "secondary"] not in fake.calls(tmp_path / "fake")


def test_any_other_state_failure_still_blocks():
    def unreadable():
        raise RuntimeError("error: could not decrypt the state")

    assert check_state_readable(unreadable).blocks


@pytest.mark.parametrize(
    "url,env,provider,status",
    [
        ("azblob://state?storage_account=st", {}, None, "blocker"),
        ("s3://bucket", {}, None, "blocker"),
        ("gs://bucket", {}, "passphrase", "blocker"),
        ("file:///srv/state", {}, None, "blocker"),
        ("azblob://state", {"PULUMI_CONFIG_PASSPHRASE": ""}, None, "pass"),  # an empty passphrase is one
        ("azblob://state", {}, "azurekeyvault://kv-x.vault.azure.net/keys/pulumi", "pass"),
        ("https://api.pulumi.com", {}, None, "pass"),
        ("https://pulumi.internal.example", {}, None, "pass"),
    ],
)
def test_a_self_managed_backend_needs_the_passphrase(url, env, provider, status):
    check = check_passphrase(classify(url, "test", {}), env, provider)
    assert (check.severity if check.status == "finding" else check.status) == status
    if status == "blocker":
        assert "PULUMI_CONFIG_PASSPHRASE" in check.message and "PULUMI_CONFIG_PASSPHRASE_FILE" in check.fix


def test_the_passphrase_file_must_exist(tmp_path):
    backend = classify("azblob://state", "test", {})
    missing = check_passphrase(backend, {"PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "nope")})
    assert missing.blocks and "not a file" in missing.message
    (tmp_path / "pass").write_text("s3cret", encoding="utf-8")
    found = check_passphrase(backend, {"PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "pass")})
    assert found.status == "pass" and "s3cret" not in json.dumps(found.to_json())


def test_the_secrets_provider_is_read_from_the_stack_file(tmp_path):
    (tmp_path / "Pulumi.secondary.yaml").write_text("secretsprovider: azurekeyvault://kv/keys/k\nconfig: {}\n",
                                                    encoding="utf-8")
    assert secrets_provider(tmp_path, "secondary") == "azurekeyvault://kv/keys/k"
    assert secrets_provider(tmp_path, "primary") is None
