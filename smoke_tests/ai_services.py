"""Azure AI Services account and model deployments: the smoke and data checks its DR profile declares (components/ai_services.py).

- smoke `account-provisioned`: ARM says the account's provisioningState is Succeeded;
- smoke `deployments-list`: ARM lists the account's model deployments, each Succeeded;
- smoke `inference-one-token`: one deployment answers a one-token request at the account's endpoint
  (its ARM `properties.endpoint`), with an Entra token for https://cognitiveservices.azure.com/.default
  (the account is Entra-only). drctl installs no openai package, so this is the Azure OpenAI REST
  API over the probe's REST client. The deployment is chosen by `inference_deployment` (below);
- data `deployment-parity`: every deployment the primary had (the baseline) or the stack declares
  (aiServices.deployments) exists with the same model, version, SKU and capacity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smoke_tests.arm_children import list_children
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, data, smoke
from smoke_tests.probe import IN_PROGRESS, ServiceProbe, provisioned

COMPONENT = "ai_services"
ACCOUNT = "azure-native:cognitiveservices:Account"
# The GA Cognitive Services management API that lists an account's deployments.
DEPLOYMENTS_API = "2024-10-01"
# The GA Azure OpenAI data-plane API: chat completions and embeddings by deployment.
INFERENCE_API = "2024-10-21"
SCOPE = "https://cognitiveservices.azure.com/.default"
# Cognitive Services adds its own ways of being on the way to Succeeded.
COMING = IN_PROGRESS | {"ResolvingDNS", "Moving"}
PARITY_FIELDS = ("format", "model", "version", "sku", "capacity")
# No Cognitive Services example payload (management or inference) is kept with the specs here (INDEX.md).
ARM_DOUBLE = TRANSPORT_DOUBLE + ("the account and deployments ARM answers: no Cognitive Services example "
                                 "payload is kept with the specs")
INFERENCE_DOUBLE = TRANSPORT_DOUBLE + ("the Azure OpenAI chat completions and embeddings answers: no inference "
                                       "example payload is kept with the specs")


def account_provisioned(probe: ServiceProbe) -> dict:
    return provisioned(probe, ACCOUNT, coming=COMING)


def deployments(probe: ServiceProbe) -> dict[str, dict[str, Any]]:
    """The account's deployments by name: model format, name and version, SKU, capacity and state."""
    listed = list_children(probe, str(probe.resource(ACCOUNT)["id"]), "deployments", DEPLOYMENTS_API)
    found = {}
    for item in listed:
        model = (item.get("properties") or {}).get("model") or {}
        sku = item.get("sku") or {}
        found[str(item.get("name"))] = {"format": model.get("format"), "model": model.get("name"),
                                        "version": model.get("version"), "sku": sku.get("name"),
                                        "capacity": sku.get("capacity"),
                                        "state": (item.get("properties") or {}).get("provisioningState")}
    return found


def deployments_list(probe: ServiceProbe) -> dict:
    found = deployments(probe)
    evidence = {"account": _name(probe), "deployments": found}
    failed = sorted(name for name, d in found.items() if d["state"] != "Succeeded" and d["state"] not in COMING)
    if failed:
        raise PermanentError(f"{COMPONENT} {_name(probe)}: deployment(s) not Succeeded: "
                             + ", ".join(f"{name} {found[name]['state']}" for name in failed), evidence)
    coming = sorted(name for name, d in found.items() if d["state"] in COMING)
    if coming:
        raise TransientError(f"{COMPONENT} {_name(probe)}: deployment(s) still on the way: {', '.join(coming)}")
    return evidence


def inference_deployment(probe: ServiceProbe, found: Mapping[str, Mapping[str, Any]]) -> str:
    """The deployment `inference-one-token` calls: the first the stack declares (aiServices.deployments,
    in their order), else the first ARM lists by name, among the Succeeded deployments of an OpenAI
    model. Put a chat or embeddings model first: other kinds (images, audio) have no one-token call."""
    declared = [d.name for d in getattr(probe.settings, "deployments", ())] or sorted(found)
    for name in declared:
        if name in found and found[name]["state"] == "Succeeded" and found[name]["format"] == "OpenAI":
            return name
    raise PermanentError(f"{COMPONENT} {_name(probe)}: no Succeeded OpenAI model deployment to call "
                         "(declare one in aiServices.deployments)", {"deployments": dict(found)})


def inference_one_token(probe: ServiceProbe) -> dict:
    found = deployments(probe)
    name = inference_deployment(probe, found)
    endpoint = (probe.properties(ACCOUNT).get("endpoint") or "").strip()
    if not endpoint:
        raise PermanentError(f"{COMPONENT} {_name(probe)}: ARM gives the account no endpoint", {"deployment": name})
    rest = probe.rest(endpoint, SCOPE)
    params = {"api-version": INFERENCE_API}
    evidence: dict[str, Any] = {"account": _name(probe), "deployment": name, "model": found[name]["model"]}
    if "embedding" in str(found[name]["model"]):
        answer = rest.request("POST", f"openai/deployments/{name}/embeddings", json={"input": "ok"}, params=params)
        vectors = (answer or {}).get("data") or []
        if not vectors or not vectors[0].get("embedding"):
            raise PermanentError(f"{COMPONENT} deployment {name}: the embeddings answer holds no vector", evidence)
        return {**evidence, "dimensions": len(vectors[0]["embedding"])}
    answer = rest.request("POST", f"openai/deployments/{name}/chat/completions", params=params,
                          json={"messages": [{"role": "user", "content": "Reply with OK."}], "max_tokens": 1})
    choices = (answer or {}).get("choices") or []
    if not choices:
        raise PermanentError(f"{COMPONENT} deployment {name}: the completion holds no choice", evidence)
    # The reply itself is not kept: the evidence says the model answered, not what it said.
    return {**evidence, "served_by": (answer or {}).get("model"), "finish_reason": choices[0].get("finish_reason"),
            "completion_tokens": ((answer or {}).get("usage") or {}).get("completion_tokens")}


def deployment_parity(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every expected deployment exists with the same model format, name, version, SKU and capacity.

    Expected: the baseline (`probe.baseline["deployment-parity"]`, these facts as recorded of the
    primary: `{"deployments": {name: {format, model, version, sku, capacity}}}`) when there is one,
    else the stack's aiServices.deployments. Deployments neither names are reported, not mismatches."""
    found = {name: {k: d[k] for k in PARITY_FIELDS} for name, d in deployments(probe).items()}
    recorded = (probe.baseline.get("deployment-parity") or {}).get("deployments")
    want = recorded if recorded else _declared(probe.settings)
    mismatches = []
    for name, expected in sorted(want.items()):
        got = found.get(name)
        if got is None:
            mismatches.append(f"deployment {name} is missing")
            continue
        mismatches += [f"deployment {name}: {field} expected {expected[field]!r}, found {got[field]!r}"
                       for field in PARITY_FIELDS if field in expected and expected[field] != got[field]]
    return mismatches, {"deployments": found, "undeclared": sorted(set(found) - set(want))}


def _declared(settings: Any) -> dict[str, dict[str, Any]]:
    return {d.name: {"format": d.model_format, "model": d.model_name, "version": d.model_version, "sku": d.sku_name,
                     "capacity": d.capacity} for d in getattr(settings, "deployments", ())}


def _name(probe: ServiceProbe) -> str:
    return str(probe.resource(ACCOUNT)["id"]).rsplit("/", 1)[-1]


CHECKS = (
    smoke(COMPONENT, "account-provisioned", account_provisioned, AZURE, plane="management", tested_against=ARM_DOUBLE),
    smoke(COMPONENT, "deployments-list", deployments_list, AZURE, plane="management", tested_against=ARM_DOUBLE),
    smoke(COMPONENT, "inference-one-token", inference_one_token, AZURE, tested_against=INFERENCE_DOUBLE),
    data(COMPONENT, "deployment-parity", deployment_parity, AZURE, plane="management", tested_against=ARM_DOUBLE),
)
