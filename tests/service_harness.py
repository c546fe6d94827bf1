"""Run one optional service's deploy() under Pulumi's mocks, as the program would, for its tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pulumi
from pulumi_mocks import Deployment, deploy, stack_config, stack_values

from components.hub_layout import DATA_SUBNET, FIREWALL_SUBNET, GATEWAY_SUBNET, PRIVATE_ENDPOINT_SUBNET
from components.private_endpoint import PRIVATE_DNS_ZONES, zone_name
from components.registry import service
from components.runner import RunnerAccess
from components.spec import ClientConfig, Platform, ServiceSpec
from orchestrator.program.capture import AzureMocks, run_under_mocks
from stacks.config import StackConfig

GROUPS = {"foundation": "rg-test-foundation", "connectivity": "rg-test-connectivity", "data": "rg-test-data"}
VNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
# Keyed by subnet name, as components/connectivity.py exposes them.
SUBNETS = {
    name: f"{VNET}/subnets/{name}"
    for name in (FIREWALL_SUBNET, GATEWAY_SUBNET, DATA_SUBNET, PRIVATE_ENDPOINT_SUBNET)
}


def spec(key: str) -> ServiceSpec:
    return service(key)


def hub_zone_id(key: str, region: str) -> str:
    return f"/subscriptions/s/resourceGroups/{GROUPS['connectivity']}/providers/Microsoft.Network/privateDnsZones/" \
           + zone_name(key, region)


def context_for(config: StackConfig) -> Platform:
    """What the core platform would hand a service, with recognisable placeholder ids."""
    return Platform(
        config=config,
        resource_groups=GROUPS,
        client=ClientConfig(
            tenant_id="00000000-0000-0000-0000-000000000001",
            subscription_id="00000000-0000-0000-0000-000000000000",
        ),
        log_analytics_workspace_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/log",
        key_vault_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
        vnet_id=VNET,
        subnet_ids=SUBNETS,
        private_endpoint_subnet=PRIVATE_ENDPOINT_SUBNET,
        private_dns_zone_ids={key: hub_zone_id(key, config.region) for key in PRIVATE_DNS_ZONES},
        lake_account_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/lake",
        lake_account_name="contosolakeaue",
        lake_dfs_endpoint="https://contosolakeaue.dfs.core.windows.net/",
        event_hubs_namespace_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/evh",
    )


def config_with(stack: str, key: str, settings: dict[str, Any] | None = None, *,
                runner: dict[str, Any] | None = None) -> StackConfig:
    """The stack's shipped config with service `key` switched on (example settings by default), and
    `runner`'s keys over its `dataplatform:runner`."""
    values: dict[str, Any] = {f"dataplatform:{key}": dict(spec(key).example if settings is None else settings)}
    if runner is not None:
        values["dataplatform:runner"] = {**stack_values(stack)["dataplatform:runner"], **runner}
    base = stack_config(stack)
    services = {**base.switches, key: True}
    return stack_config(stack, {"dataplatform:services": services, **values})


def run_service(key: str, stack: str = "primary", settings: dict[str, Any] | None = None, *,
                runner: bool = False, runner_settings: dict[str, Any] | None = None) -> tuple[Deployment, dict]:
    """Deploy service `key` alone under mocks; returns the registrations and its outputs. `runner`: with
    the stack's runner (components/runner.py, `runner_settings` over its own) opened first, as the hub
    does, so its twins and roles follow."""
    config = config_with(stack, key, settings, runner=runner_settings)
    exported: dict[str, Any] = {}

    def program():
        context = context_for(config)
        if runner:
            context.runner = RunnerAccess("runner", context, config.runner)
        exported.update(spec(key).deploy(context, config.optional_services[key]))

    return deploy(program, stack=stack), exported


def resolved_outputs(key: str, stack: str = "primary", settings: dict[str, Any] | None = None, *,
                     mocks: AzureMocks | None = None, config: dict[str, Any] | None = None,
                     adapt_context: Callable[[Platform], Platform] | None = None,
                     secrecy: bool = False) -> dict[str, Any]:
    """Deploy service `key` under drctl's mocks (or `mocks`) and return its stack outputs resolved:
    each a value, or (value, is_secret) with `secrecy`."""
    stack_settings = config_with(stack, key, settings)
    values: dict[str, Any] = {}

    def program():
        context = context_for(stack_settings)
        if adapt_context is not None:
            context = adapt_context(context)
        outputs = spec(key).deploy(context, stack_settings.optional_services[key])

        async def gather():
            for name, value in outputs.items():
                output = pulumi.Output.from_input(value)
                values[name] = (await output.future(), await output.is_secret()) if secrecy else await output.future()

        return asyncio.ensure_future(gather())

    run_under_mocks(program, project="dataplatform", stack=stack, config=config, mocks=mocks or AzureMocks())
    return values
