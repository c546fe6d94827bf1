"""Preflight on global names: every name the stack will create that must be unique across Azure is
free, or is already this stack's own (a resume or a re-run).

Storage accounts, PostgreSQL servers, Event Hubs namespaces and Key Vaults (key_vault_name.py)
are asked through their providers' check-name-availability calls. A taken name is not a blocker
when the resource exists in the very group the stack puts it in: that is this stack's, from an
earlier run. The names come from the program's graph (needs.GlobalName).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.findings import Check, error_check, finding, passed
from orchestrator.targets.azure.preflight.key_vault_name import check_key_vault_name
from orchestrator.targets.azure.preflight.needs import GlobalName, Needs
from orchestrator.targets.azure.preflight.platform import text

TAKEN_FIX = ("choose another dataplatform:nameSuffix (or prefix) for the stack, or free the name where it is "
             "used: Azure names of this kind are global")


@dataclass(frozen=True)
class Answer:
    available: bool
    reason: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Probe:
    kind: str  # what the name is of, for messages and check ids
    available: Callable[[AzureSession, str, str], Answer]  # (session, name, region)
    existing: Callable[[AzureSession, str, str], Any]  # (session, group, name): raises ResourceNotFoundError


def _answer(result: Any) -> Answer:
    return Answer(bool(result.name_available), text(getattr(result, "reason", None)), getattr(result, "message", None))


def _storage(session: AzureSession, name: str, region: str) -> Answer:
    from azure.mgmt.storage.models import StorageAccountCheckNameAvailabilityParameters

    return _answer(session.storage().storage_accounts.check_name_availability(
        StorageAccountCheckNameAvailabilityParameters(name=name)))  # the model fills in its one type


def _postgres(session: AzureSession, name: str, region: str) -> Answer:
    from azure.mgmt.postgresqlflexibleservers.models import CheckNameAvailabilityRequest

    return _answer(session.postgres().name_availability.check_with_location(
        region, CheckNameAvailabilityRequest(name=name, type="Microsoft.DBforPostgreSQL/flexibleServers")))


def _event_hubs(session: AzureSession, name: str, region: str) -> Answer:
    from azure.mgmt.eventhub.models import CheckNameAvailabilityParameter

    return _answer(session.eventhub().namespaces.check_name_availability(CheckNameAvailabilityParameter(name=name)))


PROBES: dict[str, Probe] = {
    "azure-native:storage:StorageAccount": Probe(
        "storage account", _storage, lambda s, g, n: s.storage().storage_accounts.get_properties(g, n)),
    "azure-native:dbforpostgresql:Server": Probe(
        "PostgreSQL server", _postgres, lambda s, g, n: s.postgres().servers.get(g, n)),
    "azure-native:eventhub:Namespace": Probe(
        "Event Hubs namespace", _event_hubs, lambda s, g, n: s.eventhub().namespaces.get(g, n)),
}
KEY_VAULT = "azure-native:keyvault:Vault"
DATA_FACTORY = "azure-native:datafactory:Factory"


def exists_in(existing: Callable[[AzureSession, str, str], Any], session: AzureSession, group: str | None,
              name: str) -> bool:
    """Whether the resource is in the stack's own group (a missing group is a missing resource)."""
    if not group:
        return False
    try:
        existing(session, group, name)
    except ResourceNotFoundError:
        return False
    return True


def check_global_names(session: AzureSession, needs: Needs) -> list[Check]:
    checks: list[Check] = []
    unchecked: list[GlobalName] = []
    for wanted in needs.global_names:
        check_id = f"name:{wanted.name}"
        try:
            if wanted.type in PROBES:
                checks.append(_check_probed(session, PROBES[wanted.type], wanted, needs.region, check_id))
            elif wanted.type == KEY_VAULT:
                checks.append(check_key_vault_name(session, wanted, needs.region, needs.key_vault_create_mode, check_id))
            elif wanted.type == DATA_FACTORY:
                checks.append(_check_data_factory(session, wanted, check_id))
            else:
                unchecked.append(wanted)
        except HttpResponseError as exc:
            checks.append(error_check(check_id, f"The name {wanted.name} is free", exc, f"checking the name {wanted.name}"))
    if unchecked:
        listed = ", ".join(f"{n.name} ({n.type.split(':')[-1]})" for n in unchecked)
        checks.append(finding(
            "name:unchecked", "Global names preflight cannot check", "info",
            f"{len(unchecked)} globally unique name(s) are not checked: {listed}",
            fix="add a probe for their type to orchestrator/targets/azure/preflight/names.py",
            evidence={"names": [{"type": n.type, "name": n.name} for n in unchecked]},
        ))
    return checks


def _check_probed(session: AzureSession, probe: Probe, wanted: GlobalName, region: str, check_id: str) -> Check:
    title = f"The {probe.kind} name {wanted.name} is free or this stack's"
    answer = probe.available(session, wanted.name, region)
    evidence: dict[str, Any] = {"type": wanted.type, "name": wanted.name, "resource_group": wanted.resource_group,
                                "available": answer.available, "reason": answer.reason}
    if answer.available:
        return passed(check_id, title, f"{wanted.name} is available", evidence)
    if exists_in(probe.existing, session, wanted.resource_group, wanted.name):
        return passed(check_id, title, f"{wanted.name} already exists in this stack's group {wanted.resource_group} "
                      "(an earlier run)", evidence)
    said = f": {answer.message}" if answer.message else ""
    return finding(check_id, title, "blocker",
                   f"the {probe.kind} name {wanted.name} is not available ({answer.reason or 'taken'}){said}",
                   fix=TAKEN_FIX, evidence=evidence)


def _check_data_factory(session: AzureSession, wanted: GlobalName, check_id: str) -> Check:
    # azure-mgmt-datafactory has no name-availability call, so a factory of this name in another
    # subscription or tenant goes unseen; only this stack's own group is looked at.
    title = f"The Data Factory name {wanted.name} is free or this stack's"
    evidence = {"type": wanted.type, "name": wanted.name, "resource_group": wanted.resource_group}
    factories = session.client("datafactory").factories
    if exists_in(lambda s, g, n: factories.get(g, n), session, wanted.resource_group, wanted.name):
        return passed(check_id, title, f"{wanted.name} already exists in this stack's group {wanted.resource_group} "
                      "(an earlier run)", evidence)
    return finding(check_id, title, "info",
                   f"{wanted.name} is not in {wanted.resource_group}; whether another subscription holds the name "
                   "is not checked (Data Factory has no name-availability call)", evidence=evidence)
