"""AI Services' checks, through the real Resource Manager client and an azure-core REST pipeline.

No Cognitive Services example payload (account, deployments, chat completions, embeddings) is kept
with the Azure REST API specs here (INDEX.md): the bodies below are a thin double at the transport,
hand-written in the shape of the management API 2024-10-01 and the Azure OpenAI API 2024-10-21."""

from __future__ import annotations

import json

import pytest

from components.ai_services import AiServicesSettings
from smoke_tests import ai_services
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

ACCOUNT_ID = arm_id("Microsoft.CognitiveServices/accounts", "ais-dp-sec")
ENDPOINT = "https://ais-dp-sec.cognitiveservices.azure.com/"
SETTINGS = AiServicesSettings.model_validate({"deployments": [
    {"name": "chat", "modelName": "gpt-4o-mini", "modelVersion": "2024-07-18", "capacity": 10},
    {"name": "embed", "modelName": "text-embedding-3-small", "modelVersion": "1", "skuName": "Standard"}]})


def _deployment(name, model, version, sku="GlobalStandard", capacity=10, state="Succeeded", fmt="OpenAI"):
    return {"id": f"{ACCOUNT_ID}/deployments/{name}", "name": name, "sku": {"name": sku, "capacity": capacity},
            "properties": {"model": {"format": fmt, "name": model, "version": version}, "provisioningState": state}}


CHAT = _deployment("chat", "gpt-4o-mini", "2024-07-18")
EMBED = _deployment("embed", "text-embedding-3-small", "1", sku="Standard")
COMPLETION = {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"}, "finish_reason": "length"}],
              "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}}


def _probe(*, state="Succeeded", listed=(CHAT, EMBED), settings=SETTINGS, baseline=None, chat=(200, COMPLETION),
           endpoint=ENDPOINT):
    routes = [
        Route("GET", f"(?i){ACCOUNT_ID}", body={"id": ACCOUNT_ID, "name": "ais-dp-sec", "kind": "AIServices",
                                                "properties": {"provisioningState": state, "endpoint": endpoint}}),
        Route("GET", f"(?i){ACCOUNT_ID}/deployments", body={"value": list(listed)}),
        Route("POST", "/openai/deployments/[^/]+/chat/completions", status=chat[0], body=chat[1]),
        Route("POST", "/openai/deployments/[^/]+/embeddings", body={
            "object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, -0.2, 0.3]}],
            "model": "text-embedding-3-small", "usage": {"prompt_tokens": 1, "total_tokens": 1}}),
    ]
    return service_probe("ai_services", routes, [deployed(ai_services.ACCOUNT, ACCOUNT_ID, "2025-06-01")],
                         settings=settings, baseline=baseline)


# -- account-provisioned ---------------------------------------------------------------------------
def test_account_provisioned_reads_the_state_through_arm():
    assert ai_services.account_provisioned(_probe()[0]) == {"id": ACCOUNT_ID, "provisioningState": "Succeeded"}


@pytest.mark.parametrize(("state", "error"), [("Failed", PermanentError), ("ResolvingDNS", TransientError)])
def test_an_account_not_succeeded_fails_or_waits(state, error):
    with pytest.raises(error, match=f"provisioningState {state}"):
        ai_services.account_provisioned(_probe(state=state)[0])


# -- deployments-list ------------------------------------------------------------------------------
def test_deployments_list_reads_arm_at_the_pinned_api_version():
    probe, transport = _probe()
    evidence = ai_services.deployments_list(probe)
    assert evidence["deployments"]["chat"] == {"format": "OpenAI", "model": "gpt-4o-mini", "version": "2024-07-18",
                                               "sku": "GlobalStandard", "capacity": 10, "state": "Succeeded"}
    assert any(f"/deployments?api-version={ai_services.DEPLOYMENTS_API}" in r.url for r in transport.requests)


def test_a_failed_deployment_fails_and_one_being_created_waits():
    with pytest.raises(PermanentError, match="not Succeeded: chat Failed"):
        ai_services.deployments_list(_probe(listed=[_deployment("chat", "gpt-4o-mini", "2024-07-18", state="Failed")])[0])
    with pytest.raises(TransientError, match="still on the way: chat"):
        ai_services.deployments_list(_probe(listed=[_deployment("chat", "gpt-4o-mini", "2024-07-18", state="Creating")])[0])


# -- inference-one-token ---------------------------------------------------------------------------
def test_one_token_from_the_first_declared_deployment_at_the_accounts_endpoint():
    probe, transport = _probe()
    evidence = ai_services.inference_one_token(probe)
    assert evidence == {"account": "ais-dp-sec", "deployment": "chat", "model": "gpt-4o-mini",
                        "served_by": "gpt-4o-mini-2024-07-18", "finish_reason": "length", "completion_tokens": 1}
    call = next(r for r in transport.requests if r.method == "POST")
    assert call.url == (f"{ENDPOINT}openai/deployments/chat/chat/completions?api-version={ai_services.INFERENCE_API}")
    assert json.loads(call.body)["max_tokens"] == 1
    assert call.headers["Authorization"] == "Bearer fake-token-for-tests"
    assert "OK" not in json.dumps(evidence)  # the reply is not kept


def test_an_embeddings_deployment_first_gets_one_embedding():
    settings = AiServicesSettings.model_validate({"deployments": [
        {"name": "embed", "modelName": "text-embedding-3-small", "modelVersion": "1", "skuName": "Standard"}]})
    evidence = ai_services.inference_one_token(_probe(settings=settings)[0])
    assert evidence["deployment"] == "embed" and evidence["dimensions"] == 3


def test_without_settings_the_first_listed_by_name_is_called_skipping_any_not_succeeded():
    listed = [_deployment("a-chat", "gpt-4o", "2024-11-20", state="Failed"), CHAT]
    assert ai_services.inference_one_token(_probe(settings=None, listed=listed)[0])["deployment"] == "chat"


def test_a_refused_completion_fails():
    probe, _ = _probe(chat=(403, {"error": {"code": "PermissionDenied", "message": "principal lacks the data action"}}))
    with pytest.raises(PermanentError, match="chat/completions: HTTP 403"):
        ai_services.inference_one_token(probe)


def test_a_completion_without_a_choice_fails():
    with pytest.raises(PermanentError, match="holds no choice"):
        ai_services.inference_one_token(_probe(chat=(200, {**COMPLETION, "choices": []}))[0])


def test_no_deployment_to_call_fails_naming_the_setting():
    with pytest.raises(PermanentError, match=r"no Succeeded OpenAI model deployment.*aiServices\.deployments"):
        ai_services.inference_one_token(_probe(listed=[], settings=None)[0])


# -- deployment-parity -----------------------------------------------------------------------------
def test_deployment_parity_holds_against_the_stacks_settings():
    mismatches, facts = ai_services.deployment_parity(_probe()[0])
    assert mismatches == [] and facts["undeclared"] == []
    assert facts["deployments"]["embed"] == {"format": "OpenAI", "model": "text-embedding-3-small", "version": "1",
                                             "sku": "Standard", "capacity": 10}


def test_a_missing_deployment_or_another_version_is_a_mismatch():
    listed = [_deployment("chat", "gpt-4o-mini", "2024-05-13", capacity=5)]
    assert ai_services.deployment_parity(_probe(listed=listed)[0])[0] == [
        "deployment chat: version expected '2024-07-18', found '2024-05-13'",
        "deployment chat: capacity expected 10, found 5",
        "deployment embed is missing"]


def test_the_baseline_wins_over_the_settings():
    baseline = {"deployment-parity": {"deployments": {"chat": {"model": "gpt-4o-mini", "version": "2024-07-18"},
                                                      "legacy": {"model": "gpt-35-turbo"}}}}
    mismatches, facts = ai_services.deployment_parity(_probe(baseline=baseline)[0])
    assert mismatches == ["deployment legacy is missing"] and facts["undeclared"] == ["embed"]
