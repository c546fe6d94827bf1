"""Preflight on the two sign-ins of a failover: drctl's Azure SDK calls and the azure-native provider.

drctl's own calls (preflight, data steps) use DefaultAzureCredential, which reads AZURE_*. The
azure-native provider that `pulumi up` runs reads its `azure-native:*` stack config, else ARM_*
(https://www.pulumi.com/registry/packages/azure-native/installation-configuration/), and with
neither it signs in with the Azure CLI's login. Two different identities would pass preflight as
one and then fail the deploy on permissions preflight never saw, so a pair set to two values blocks,
and a provider left to the CLI login is a warning. No value is ever put in a finding: only names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.targets.azure.preflight.findings import Check, finding, passed

TITLE = "drctl and the azure-native provider sign in as the same identity"


@dataclass(frozen=True)
class Pair:
    sdk: str  # what DefaultAzureCredential (EnvironmentCredential, WorkloadIdentityCredential) reads
    provider: str  # the provider's environment variable
    config: str  # the provider's stack config key, which wins over its variable


PAIRS = (
    Pair("AZURE_CLIENT_ID", "ARM_CLIENT_ID", "azure-native:clientId"),
    Pair("AZURE_TENANT_ID", "ARM_TENANT_ID", "azure-native:tenantId"),
    Pair("AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "azure-native:clientSecret"),
    Pair("AZURE_CLIENT_CERTIFICATE_PATH", "ARM_CLIENT_CERTIFICATE_PATH", "azure-native:clientCertificatePath"),
    Pair("AZURE_FEDERATED_TOKEN_FILE", "ARM_OIDC_TOKEN_FILE_PATH", "azure-native:oidcTokenFilePath"),
    Pair("AZURE_SUBSCRIPTION_ID", "ARM_SUBSCRIPTION_ID", "azure-native:subscriptionId"),
)
# Switches that make the provider use an identity other than the Azure CLI's.
SWITCHES = (
    ("ARM_USE_OIDC", "azure-native:useOidc"),
    ("ARM_USE_MSI", "azure-native:useMsi"),
    # The SDK's own chain: then the provider reads AZURE_* exactly as drctl does.
    ("ARM_USE_DEFAULT_AZURE_CREDENTIAL", "azure-native:useDefaultAzureCredential"),
)
RELEVANT_PREFIXES = ("AZURE_", "ARM_")


def relevant_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables this check reads, so no other part of the environment is kept."""
    return {name: value for name, value in environ.items() if name.startswith(RELEVANT_PREFIXES)}


def _provider_value(pair: Pair, environ: Mapping[str, str], config: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(value, where it came from); an encrypted config value is (None, its key): it cannot be compared."""
    if pair.config in config:
        value = config[pair.config]
        return (str(value), pair.config) if not isinstance(value, dict) else (None, pair.config)
    if environ.get(pair.provider):
        return environ[pair.provider], pair.provider
    return None, None


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def provider_mode(environ: Mapping[str, str], config: Mapping[str, Any]) -> str:
    """How the provider will sign in, in the order it tries (OIDC, service principal, managed
    identity, the SDK's default chain, and last the Azure CLI)."""
    switches = {variable: _truthy(config.get(key, environ.get(variable, ""))) for variable, key in SWITCHES}
    client_id = "azure-native:clientId" in config or bool(environ.get("ARM_CLIENT_ID"))
    proof = any(pair.config in config or environ.get(pair.provider) for pair in PAIRS[2:4])
    if switches["ARM_USE_OIDC"]:
        return "oidc"
    if client_id and proof:
        return "service-principal"
    if switches["ARM_USE_MSI"]:
        return "managed-identity"
    if switches["ARM_USE_DEFAULT_AZURE_CREDENTIAL"]:
        return "default-credential"
    return "azure-cli"


def check_provider_credentials(environ: Mapping[str, str], config: Mapping[str, Any]) -> Check:
    """`config`: the stack file's values (its `azure-native:*` keys are the provider's settings)."""
    mismatched: list[str] = []
    compared: list[str] = []
    not_compared: list[str] = []
    for pair in PAIRS:
        sdk = environ.get(pair.sdk)
        value, source = _provider_value(pair, environ, config)
        if not sdk or source is None:
            continue
        if value is None:
            not_compared.append(f"{pair.sdk} / {source} (encrypted in the stack file)")
        elif value != sdk:
            mismatched.append(f"{pair.sdk} and {source}")
        else:
            compared.append(f"{pair.sdk} = {source}")
    mode = provider_mode(environ, config)
    evidence: dict[str, Any] = {"provider_sign_in": mode, "same": compared, "differ": mismatched,
                                "not_compared": not_compared}
    if mismatched:
        return finding(
            "credentials.provider", TITLE, "blocker",
            f"drctl and the azure-native provider are given different values: {'; '.join(mismatched)} differ",
            fix="make each pair hold the same value (or unset the ARM_* one; drctl can map AZURE_* to ARM_*)",
            evidence=evidence,
        )
    if mode == "azure-cli":
        declared = [name for name in ("AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE") if environ.get(name)]
        who = f"drctl signs in with {', '.join(declared)}" if declared else "drctl may sign in otherwise"
        return finding(
            "credentials.provider", TITLE, "warning",
            "the azure-native provider has no credentials of its own (no ARM_CLIENT_ID with a secret or "
            "certificate, ARM_USE_OIDC, ARM_USE_MSI, ARM_USE_DEFAULT_AZURE_CREDENTIAL or azure-native:* "
            f"config) and will use the Azure CLI login (az login); {who}",
            fix="export ARM_CLIENT_ID/ARM_TENANT_ID/ARM_CLIENT_SECRET (or ARM_USE_OIDC/ARM_USE_MSI) for the "
                "same identity, or ARM_USE_DEFAULT_AZURE_CREDENTIAL=true to give the provider drctl's AZURE_*",
            evidence=evidence,
        )
    return passed("credentials.provider", TITLE, f"the provider signs in by {mode}; no pair differs", evidence)


def provider_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """ARM_* for the azure-native provider, from AZURE_*, when the environment sets only AZURE_*
    (the deploy's Pulumi CLI is given these on top of its inherited environment). Nothing is
    returned when any ARM_* credential is already set: an explicit choice is never overridden."""
    if any(environ.get(pair.provider) for pair in PAIRS[:5]) or any(environ.get(var) for var, _ in SWITCHES):
        return {}
    mapped = {pair.provider: environ[pair.sdk] for pair in PAIRS
              if environ.get(pair.sdk) and not environ.get(pair.provider)}
    if "ARM_OIDC_TOKEN_FILE_PATH" in mapped:  # workload identity: the federated token is an OIDC token
        mapped["ARM_USE_OIDC"] = "true"
    return mapped if "ARM_CLIENT_ID" in mapped else {}
