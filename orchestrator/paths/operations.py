"""The operations a stack's plans perform against the data plane, and who performs them.

A secondary stack is failed over to: drctl (the runner) reads the primary lake's geo copy, writes
the new lake, signs in to PostgreSQL, runs every smoke and data check of every component, and has
the Data Factory replay copy into the lake. A primary stack is fallen back to: drctl reads the
secondary's lake and database and writes the primary's, then runs the primary's checks.
"""

from __future__ import annotations

from collections.abc import Iterable

from components.profile import DRProfile
from orchestrator.paths import roles
from orchestrator.paths.access import KUSTO_INGEST, LAKE, SERVICE_ACCESS, ServiceAccess
from orchestrator.paths.model import Access, Operation
from smoke_tests.check import Check
from stacks.config import StackConfig

PUBLIC_DNS = "public DNS (port 53)"

# Azure's public endpoints every run calls: sign-in, Resource Manager (pulumi up, the management-
# plane checks) and the Pulumi state backend.
PUBLIC_ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("entra.sign_in", "login.microsoftonline.com"),
    ("arm.deploy_and_manage", "management.azure.com"),
    ("pulumi.state_backend", "api.pulumi.com"),
)


def _op(name: str, component: str, stack: str, service: ServiceAccess, access: Access | None = None,
        actor: str = "runner", target_component: str | None = None) -> Operation:
    return Operation(name=name, actor=actor, component=component, stack=stack,  # type: ignore[arg-type]
                     target_type=service.target_type, target_component=target_component or component,
                     access=access or service.access, endpoint=service.endpoint)


def _public(name: str, fqdn: str, stack: str, component: str = "platform", action: str = "") -> Operation:
    return Operation(name=name, actor="runner", component=component, stack=stack, target_type="",
                     target_component="", access=Access("", "", action) if action else None,
                     endpoint=fqdn if fqdn == PUBLIC_DNS else f"https://{fqdn}", fqdn=fqdn)


def _lake_source(config: StackConfig) -> list[Operation]:
    lake, paired = SERVICE_ACCESS["lake"], config.paired_stack
    source = config.restore.lake.source if config.restore.lake else "geo-secondary"
    if source == "account-failover":
        return [_public("lake.failover_source_account", "management.azure.com", config.stack, "lake"),
                _op("lake.read_source", "lake", paired, lake)]
    geo = ServiceAccess(LAKE, Access("blob_secondary", "blob", roles.BLOB_READ),
                        "https://{name}-secondary.blob.core.windows.net")
    listing = [_op("lake.list_source", "lake", paired, geo)]
    if config.restore.lake is not None and config.restore.lake.copy_method == "server-side":
        sign = Access("blob_secondary", "blob", roles.USER_DELEGATION_KEY)
        return [*listing, _op("lake.sign_source", "lake", paired, geo, sign),
                _op("lake.server_side_copy", "lake", paired, geo, actor="storage_service")]
    return [*listing, _op("lake.read_source", "lake", paired, geo)]


def _failover_steps(config: StackConfig, components: set[str]) -> list[Operation]:
    stack, lake = config.stack, SERVICE_ACCESS["lake"]
    steps: list[Operation] = []
    if "lake" in components:
        steps += _lake_source(config)
        steps += [_op("lake.create_containers", "lake", stack, lake, Access("blob", "blob", roles.CONTAINER_WRITE)),
                  _op("lake.write_target", "lake", stack, lake, Access("blob", "blob", roles.BLOB_WRITE))]
        if "data_factory" in components:
            steps += [_public("data_factory.run_replay", "management.azure.com", stack, "data_factory",
                              roles.PIPELINE_RUN),
                      _op("data_factory.replay_copy", "data_factory", stack, lake,
                          Access("blob", "blob", roles.BLOB_WRITE), actor="data_factory", target_component="lake")]
    if "postgres" in components:
        steps.append(_op("postgres.connect", "postgres", stack, SERVICE_ACCESS["postgres"]))
    if "data-explorer" in components:
        # The new cluster is empty: drctl has it ingest the recovered lake's files (explorer_steps.py).
        steps.append(_op("data-explorer.reingest", "data-explorer", stack, SERVICE_ACCESS["data-explorer"],
                         KUSTO_INGEST))
    return steps


def _fallback_steps(config: StackConfig, components: set[str]) -> list[Operation]:
    stack, paired, lake = config.stack, config.paired_stack, SERVICE_ACCESS["lake"]
    steps: list[Operation] = []
    if "lake" in components:
        steps += [_op("fallback.lake.read_secondary", "lake", paired, lake),
                  _op("fallback.lake.write_primary", "lake", stack, lake, Access("blob", "blob", roles.BLOB_WRITE))]
    if "postgres" in components:
        steps += [_op("fallback.postgres.connect_secondary", "postgres", paired, SERVICE_ACCESS["postgres"]),
                  _op("fallback.postgres.connect_primary", "postgres", stack, SERVICE_ACCESS["postgres"])]
    return steps


def _check_operations(stack: str, profiles: dict[str, DRProfile]) -> Iterable[Operation]:
    for component, profile in profiles.items():
        service = SERVICE_ACCESS.get(component)
        checks: list[Check] = [*profile.smoke_checks, *profile.data_checks]
        for check in checks:
            name = f"{component}.{check.kind}.{check.name}"
            if check.plane == "management":
                yield _public(name, "management.azure.com", stack, component)
            elif check.plane == "public":
                yield _public(name, PUBLIC_DNS, stack, component)
            elif service is None:
                # A data-plane check of a service with no access declared above: a visible gap.
                yield Operation(name=name, actor="runner", component=component, stack=stack, target_type="",
                                target_component=component, access=None)
            else:
                yield _op(name, component, stack, service, service.of_check(check.name))


def plan_operations(config: StackConfig, profiles: dict[str, DRProfile]) -> list[Operation]:
    """Every data-plane operation of the stack's failover (secondary) or fallback (primary) plan."""
    components = set(profiles)
    steps = _failover_steps(config, components) if config.is_secondary else _fallback_steps(config, components)
    public = [_public(name, fqdn, config.stack) for name, fqdn in PUBLIC_ENDPOINTS]
    return [*public, *steps, *_check_operations(config.stack, profiles)]
