"""Preflight on the Key Vault's name: free, this stack's, or held by a soft-deleted vault.

A deleted vault stays soft-deleted for its retention period (the foundation sets 90 days), and with
purge protection nobody can purge it sooner: until its scheduledPurgeDate a new vault of that name
is refused, and the only way to have the name is to recover the vault (create mode `recover`).
https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview

The Key Vault management SDK is not installed: the calls go through arm.py.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.preflight.arm import arm_json
from orchestrator.targets.azure.preflight.findings import Check, finding, passed
from orchestrator.targets.azure.preflight.needs import GlobalName

API_VERSION = "2023-07-01"
RECOVER = "set `dataplatform:foundation: {keyVaultCreateMode: recover}` in the stack file to recover it"


def _available(session: AzureSession, name: str) -> dict[str, Any]:
    path = f"/subscriptions/{session.subscription_id}/providers/Microsoft.KeyVault/checkNameAvailability"
    return arm_json(session, "POST", path, API_VERSION, {"name": name, "type": "Microsoft.KeyVault/vaults"}) or {}


def _deleted(session: AzureSession, name: str, region: str) -> dict[str, Any] | None:
    path = f"/subscriptions/{session.subscription_id}/providers/Microsoft.KeyVault/locations/{region}/deletedVaults/{name}"
    try:
        return arm_json(session, "GET", path, API_VERSION) or {}
    except ResourceNotFoundError:
        return None


def _exists(session: AzureSession, group: str | None, name: str) -> bool:
    if not group:
        return False
    path = f"/subscriptions/{session.subscription_id}/resourceGroups/{group}/providers/Microsoft.KeyVault/vaults/{name}"
    try:
        arm_json(session, "GET", path, API_VERSION)
    except ResourceNotFoundError:
        return False
    return True


def check_key_vault_name(session: AzureSession, wanted: GlobalName, region: str, create_mode: str,
                         check_id: str) -> Check:
    name, group = wanted.name, wanted.resource_group
    title = f"The Key Vault name {name} is free or this stack's"
    availability = _available(session, name)
    deleted = _deleted(session, name, region)
    evidence: dict[str, Any] = {"name": name, "resource_group": group, "create_mode": create_mode,
                                "available": availability.get("nameAvailable"), "reason": availability.get("reason")}
    if deleted is not None:
        return _soft_deleted(check_id, title, name, region, create_mode, deleted.get("properties") or {}, evidence)
    if _exists(session, group, name):
        return passed(check_id, title, f"{name} already exists in this stack's group {group} (an earlier run)", evidence)
    if create_mode == "recover":
        return finding(check_id, title, "blocker",
                       f"keyVaultCreateMode is recover, but there is no soft-deleted vault {name} in {region} to recover",
                       fix="set dataplatform:foundation.keyVaultCreateMode back to default", evidence=evidence)
    if availability.get("nameAvailable"):
        return passed(check_id, title, f"{name} is available", evidence)
    said = f": {availability['message']}" if availability.get("message") else ""
    return finding(check_id, title, "blocker",
                   f"the Key Vault name {name} is not available ({availability.get('reason') or 'taken'}){said}",
                   fix="choose another dataplatform:nameSuffix (or prefix): Key Vault names are global",
                   evidence=evidence)


def _soft_deleted(check_id: str, title: str, name: str, region: str, create_mode: str, deleted: dict[str, Any],
                  evidence: dict[str, Any]) -> Check:
    purge_date = deleted.get("scheduledPurgeDate")
    protected = bool(deleted.get("purgeProtectionEnabled"))
    evidence.update(deletion_date=deleted.get("deletionDate"), scheduled_purge_date=purge_date,
                    purge_protection=protected, deleted_vault_id=deleted.get("vaultId"))
    if create_mode == "recover":
        return passed(check_id, title, f"{name} is soft-deleted and will be recovered (keyVaultCreateMode recover)",
                      evidence)
    if protected:
        return finding(
            check_id, title, "blocker",
            f"{name} is a soft-deleted vault with purge protection: the name is reserved until {purge_date}",
            fix=f"{RECOVER}, or wait until {purge_date}", evidence=evidence,
        )
    return finding(
        check_id, title, "blocker",
        f"{name} is a soft-deleted vault: the name is reserved until it is purged or until {purge_date}",
        fix=f"{RECOVER}, or purge it: az keyvault purge --name {name} --location {region}", evidence=evidence,
    )
