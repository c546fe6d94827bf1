"""Azure Machine Learning workspace: the smoke and data checks its DR profile declares (components/machine_learning.py).

All four call only Azure Resource Manager: the workspace's state, and its registered models and
datastores through the Machine Learning REST API's ARM resources
(`Microsoft.MachineLearningServices/workspaces/{ws}/models|datastores`), which is what the AML CLI
and the azure-ai-ml SDK list them with. drctl installs no AML SDK, so the lists are read through
the probe's Resource Manager client (smoke_tests/arm_children.py).

- smoke `workspace-provisioned`: the workspace's provisioningState is Succeeded;
- smoke `models-list`: the workspace's model registry answers (an empty one passes: models are
  re-registered from code, and the data check judges what is there);
- smoke `datastores-list`: the datastores answer, and there is at least one: AML creates
  workspaceblobstore and workspacefilestore with every workspace;
- data `asset-parity`: model and datastore names against the baseline (below).
"""

from __future__ import annotations

from typing import Any

from smoke_tests.arm_children import list_children
from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, data, smoke
from smoke_tests.probe import ServiceProbe, provisioned

COMPONENT = "machine_learning"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
# The GA Machine Learning REST API version that lists model containers and datastores.
API_VERSION = "2024-04-01"
# Created with every workspace: https://learn.microsoft.com/azure/machine-learning/concept-data#datastore
DEFAULT_DATASTORES = ("workspaceblobstore", "workspacefilestore")
# The Machine Learning ARM REST API has no example payloads among the specs kept here (INDEX.md).
ARM_DOUBLE = TRANSPORT_DOUBLE + ("the workspace, models and datastores ARM answers: no Machine Learning "
                                 "example payload is kept with the specs")


def workspace_provisioned(probe: ServiceProbe) -> dict:
    return provisioned(probe, WORKSPACE)


def _workspace_id(probe: ServiceProbe) -> str:
    return str(probe.resource(WORKSPACE)["id"])


def registered_models(probe: ServiceProbe) -> dict[str, Any]:
    """The workspace's active model containers, by name, with their latest version."""
    models = list_children(probe, _workspace_id(probe), "models", API_VERSION)
    return {str(m.get("name")): (m.get("properties") or {}).get("latestVersion") for m in models}


def datastores(probe: ServiceProbe) -> dict[str, dict[str, Any]]:
    """The workspace's datastores, by name: type and whether it is the default (no credentials)."""
    stores = list_children(probe, _workspace_id(probe), "datastores", API_VERSION)
    return {str(s.get("name")): {"type": (s.get("properties") or {}).get("datastoreType"),
                                 "default": bool((s.get("properties") or {}).get("isDefault"))} for s in stores}


def models_list(probe: ServiceProbe) -> dict:
    models = registered_models(probe)
    return {"workspace": _workspace_id(probe).rsplit("/", 1)[-1], "count": len(models), "models": models}


def datastores_list(probe: ServiceProbe) -> dict:
    workspace = _workspace_id(probe).rsplit("/", 1)[-1]
    stores = datastores(probe)
    evidence = {"workspace": workspace, "count": len(stores), "datastores": stores}
    if not stores:
        raise PermanentError(f"{COMPONENT} {workspace}: lists no datastore, though AML creates "
                             f"{' and '.join(DEFAULT_DATASTORES)} with every workspace", evidence)
    return evidence


def asset_parity(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every model and datastore the baseline names is registered in the workspace.

    The baseline (`probe.baseline["asset-parity"]`) is these facts as recorded of the primary's
    workspace: `{"models": [names], "datastores": [names]}`. Without one, the settings name no
    assets, so the datastores AML creates with every workspace are expected and the models are
    reported, not judged. Assets the baseline does not name are reported, not mismatches."""
    models, stores = registered_models(probe), datastores(probe)
    facts: dict[str, Any] = {"models": sorted(models), "datastores": sorted(stores)}
    recorded = probe.baseline.get("asset-parity")
    if recorded:
        want_models, want_stores = list(recorded.get("models") or ()), list(recorded.get("datastores") or ())
    else:
        want_models, want_stores = [], list(DEFAULT_DATASTORES)
        facts["not_judged"] = "models: no baseline recorded the primary's, and the settings name none"
    mismatches = [f"model {name} is not registered in the workspace" for name in sorted(set(want_models) - set(models))]
    mismatches += [f"datastore {name} is missing from the workspace" for name in sorted(set(want_stores) - set(stores))]
    return mismatches, facts


CHECKS = (
    smoke(COMPONENT, "workspace-provisioned", workspace_provisioned, AZURE, plane="management",
          tested_against=ARM_DOUBLE),
    smoke(COMPONENT, "models-list", models_list, AZURE, plane="management", tested_against=ARM_DOUBLE),
    smoke(COMPONENT, "datastores-list", datastores_list, AZURE, plane="management", tested_against=ARM_DOUBLE),
    data(COMPONENT, "asset-parity", asset_parity, AZURE, plane="management", tested_against=ARM_DOUBLE),
)
