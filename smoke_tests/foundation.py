"""Foundation's checks, all on Azure: the resource groups, the Log Analytics workspace and the Recovery
Services vault as Azure Resource Manager reports them, and the Key Vault's data plane through the
client its users read secrets with (azure-keyvault-secrets).

The Key Vault canary: a secret named `drctl-canary` (CANARY_SECRET), any non-empty value, seeded into
each region's vault with the vault's other secrets (the secondary's vault is new and empty: its secrets
are re-seeded by their owners, components/foundation.py). Reading it proves the vault answers through
the hub's private endpoint, the runner's identity holds a data role (Key Vault Secrets User or
Officer), and the re-seeding has happened. Its value is never kept: the evidence names the secret,
its version and its dates only.
"""

from __future__ import annotations

from typing import Any

from components import naming
from smoke_tests.arm_state import judge, name_of, properties
from smoke_tests.check import AZURE, SPEC_EXAMPLES, TRANSPORT_DOUBLE, PermanentError, smoke
from smoke_tests.probe import IN_PROGRESS, ServiceProbe

COMPONENT = "foundation"
CANARY_SECRET = "drctl-canary"

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
WORKSPACE = "azure-native:operationalinsights:Workspace"
KEY_VAULT = "azure-native:keyvault:Vault"
RECOVERY_VAULT = "azure-native:recoveryservices:Vault"
# A workspace also passes through ProvisioningAccount while its first cluster is set up.
WORKSPACE_COMING = IN_PROGRESS | {"ProvisioningAccount"}


def resource_groups_present(probe: ServiceProbe) -> dict:
    """Every resource group the deploy recorded exists in ARM, Succeeded, in this stack's region (a
    group's metadata lives in its region: the secondary must never lean on a primary group), and the
    deploy recorded one per layer."""
    recorded = probe.resources_of(RESOURCE_GROUP) or [probe.resource(RESOURCE_GROUP)]
    region = (probe.names.get("region") or "").lower()
    groups: dict[str, Any] = {}
    for group in recorded:
        got = probe.get(group)
        name, state, location = name_of(str(group["id"])), properties(got).get("provisioningState"), got.get("location")
        groups[name] = {"provisioningState": state, "location": location}
        judge(f"{COMPONENT}: resource group {name}", "provisioningState", state, {"groups": groups})
        if region and str(location).lower() != region:
            raise PermanentError(f"{COMPONENT}: resource group {name} is in {location}, not this stack's region {region}",
                                 {"groups": groups})
    prefix, suffix = probe.names.get("prefix"), probe.names.get("suffix")
    if prefix and suffix:
        missing = sorted({naming.resource_group_name(prefix, layer, suffix) for layer in naming.LAYERS} - set(groups))
        if missing:
            raise PermanentError(f"{COMPONENT}: no resource group {', '.join(missing)} recorded by the deploy",
                                 {"groups": groups, "missing": missing})
    return {"check": "resource-groups-present", "ok": True, "groups": groups}


def log_analytics_ready(probe: ServiceProbe) -> dict:
    """The workspace is Succeeded and has its customerId (the workspace id agents and queries use)."""
    resource = probe.resource(WORKSPACE)
    got = properties(probe.get(resource))
    what = f"{COMPONENT}: Log Analytics workspace {name_of(str(resource['id']))}"
    evidence = {"id": resource["id"], "provisioningState": got.get("provisioningState"),
                "customerId": got.get("customerId"), "retentionInDays": got.get("retentionInDays")}
    judge(what, "provisioningState", got.get("provisioningState"), evidence, coming=WORKSPACE_COMING)
    if not got.get("customerId"):
        raise PermanentError(f"{what}: no customerId: nothing can send logs to it or query it", evidence)
    return {"check": "log-analytics-ready", "ok": True, **evidence}


def key_vault_reachable(probe: ServiceProbe) -> dict:
    """Read the canary secret at the vault's own URI (vaultUri from its ARM GET)."""
    from azure.keyvault.secrets import SecretClient

    resource = probe.resource(KEY_VAULT)
    vault = name_of(str(resource["id"]))
    uri = properties(probe.get(resource)).get("vaultUri")
    if not uri:
        raise PermanentError(f"{COMPONENT}: Key Vault {vault} has no vaultUri in ARM", {"id": resource["id"]})
    client = probe.client(SecretClient, vault_url=uri)
    what = f"Key Vault {vault} ({uri}): secret {CANARY_SECRET}"
    try:
        secret = probe.call(what, client.get_secret, CANARY_SECRET)
    except PermanentError as err:
        status = int((err.evidence or {}).get("status") or 0)
        hint = {403: "the runner's identity needs Key Vault Secrets User (or Officer) on the vault, and the "
                     "vault's network rules must let it in through the hub's private endpoint",
                404: f"seed {CANARY_SECRET} into the vault with its other secrets (smoke_tests/foundation.py)"}.get(status)
        if hint is None:
            raise
        raise PermanentError(f"{what}: HTTP {status}: {hint}", {"vault": vault, "secret": CANARY_SECRET,
                                                               **(err.evidence or {})}) from None
    props = secret.properties
    evidence = {"vault": vault, "vault_uri": uri, "secret": CANARY_SECRET, "version": props.version,
                "enabled": props.enabled, "updated_on": props.updated_on.isoformat() if props.updated_on else None}
    if not secret.value:
        raise PermanentError(f"{what}: read back empty", evidence)
    return {"check": "key-vault-reachable", "ok": True, **evidence}


def recovery_vault_ready(probe: ServiceProbe) -> dict:
    """Succeeded, geo-redundant storage (the seeds' default and what Cross Region Restore needs), and
    Cross Region Restore Enabled where the stack's settings ask for it (it cannot be turned off once on)."""
    resource = probe.resource(RECOVERY_VAULT)
    got = properties(probe.get(resource))
    redundancy = got.get("redundancySettings") or {}
    what = f"{COMPONENT}: Recovery Services vault {name_of(str(resource['id']))}"
    evidence = {"id": resource["id"], "provisioningState": got.get("provisioningState"),
                "standardTierStorageRedundancy": redundancy.get("standardTierStorageRedundancy"),
                "crossRegionRestore": redundancy.get("crossRegionRestore")}
    judge(what, "provisioningState", got.get("provisioningState"), evidence)
    if evidence["standardTierStorageRedundancy"] != "GeoRedundant":
        raise PermanentError(f"{what}: storage redundancy {evidence['standardTierStorageRedundancy']}, not "
                             "GeoRedundant: backups would not survive the loss of this region", evidence)
    wants_restore = getattr(probe.settings, "recovery_vault_cross_region_restore", True)
    if wants_restore and evidence["crossRegionRestore"] != "Enabled":
        raise PermanentError(f"{what}: Cross Region Restore is {evidence['crossRegionRestore']}, but the stack's "
                             "recoveryVaultCrossRegionRestore asks for Enabled", evidence)
    return {"check": "recovery-vault-ready", "ok": True, **evidence}


CHECKS = (
    smoke(COMPONENT, "resource-groups-present", resource_groups_present, AZURE, plane="management",
          tested_against=SPEC_EXAMPLES + " (ResourceGroups_Get)"),
    smoke(COMPONENT, "log-analytics-ready", log_analytics_ready, AZURE, plane="management",
          tested_against=TRANSPORT_DOUBLE + "a workspace GET body: no Log Analytics example in the specs kept here"),
    smoke(COMPONENT, "key-vault-reachable", key_vault_reachable, AZURE,
          tested_against=SPEC_EXAMPLES + " (getVault, GetSecret) with Key Vault's 401 challenge"),
    smoke(COMPONENT, "recovery-vault-ready", recovery_vault_ready, AZURE, plane="management",
          tested_against=SPEC_EXAMPLES + " (Recovery Services GETVault)"),
)
