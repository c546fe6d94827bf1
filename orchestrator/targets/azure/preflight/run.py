"""`drctl preflight --stack NAME`: can this stack fail over into its region now, and at what cost?

Reads the stack's config and its program's graph offline, then asks Azure (read-only calls):
identity and subscription, region and pair, providers and types, SKUs and quota, the primary's
DR readiness, and the Pulumi state backend. Each answer is a Check (findings.py); the report is
blocked by any blocker finding or permanent error. `planned_checks` lists the same checks without
touching Azure, for `drctl failover --dry-run`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import BadInput
from orchestrator.paths.assess import assess_paths
from orchestrator.paths.model import PathResult
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.deploy.stack import find_pulumi
from orchestrator.targets.azure.preflight import backend as backend_checks
from orchestrator.targets.azure.preflight import (
    capacity,
    live_paths,
    names,
    permissions,
    platform,
    postgres_sku,
    provider_auth,
)
from orchestrator.targets.azure.preflight.findings import Check, PreflightReport, error_check
from orchestrator.targets.azure.preflight.needs import Needs, needs_from
from orchestrator.targets.azure.preflight.planned import planned_checks
from orchestrator.targets.azure.preflight.readiness import Target, primary_targets, readiness_checks
from orchestrator.targets.azure.preflight.readiness_drift import select_stack
from orchestrator.targets.azure.preflight.redeploy_audit import redeploy_audit
from stacks.config import ConfigError, StackConfig, load_stack_config, read_stack_file, stack_file

if TYPE_CHECKING:
    from pulumi import automation as auto

    from orchestrator.program.graph import Graph
    from orchestrator.stack import StackModel

SessionFactory = Callable[[StackConfig], AzureSession]


@dataclass(frozen=True)
class PreflightInputs:
    """Everything preflight knows before asking Azure."""

    config: StackConfig
    needs: Needs
    targets: tuple[Target, ...]  # the primary's resources whose readiness is read
    backend: backend_checks.Backend
    targets_error: str | None = None  # why the primary's graph could not be built
    # AZURE_*, ARM_* and the passphrase variables only: what the sign-in and secrets checks read.
    env: Mapping[str, str] = field(default_factory=dict)
    provider_config: Mapping[str, Any] = field(default_factory=dict)  # the stack file's azure-native:* keys
    secrets_provider: str | None = None  # the stack file's, when it names one
    paths: tuple[PathResult, ...] = ()  # the data-plane paths coverage proved offline, to check live
    # The primary's graph and config, for the audit of what a redeploy from code would miss.
    primary: tuple[Graph, StackConfig] | None = None


def gather_inputs(project_dir: Path, stack: str, env: Mapping[str, str] | None = None, *,
                  model: StackModel | None = None) -> PreflightInputs:
    """`model`: the stack's, when the caller has loaded it (its config and graph are not read again)."""
    from orchestrator.program.capture import capture_graph  # runs the program under mocks: imported when needed

    project_dir = Path(project_dir)
    env = os.environ if env is None else env
    config = model.config if model is not None else load_stack_config(project_dir, stack)
    graph = model.graph if model is not None else capture_graph(project_dir, stack, config)
    targets: tuple[Target, ...] = ()
    paths: tuple[PathResult, ...] = ()
    primary: tuple[Graph, StackConfig] | None = None
    error = None
    try:
        paired_config = load_stack_config(project_dir, config.paired_stack)
        paired = capture_graph(project_dir, config.paired_stack, paired_config)
        # A secondary reads its primary's names from the primary's own program; a primary audits itself.
        targets = tuple(primary_targets(paired if config.is_secondary else graph))
        paths = tuple(assess_paths(config, graph, paired))
        primary = (paired, paired_config) if config.is_secondary else (graph, config)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    values = read_stack_file(stack_file(project_dir, stack))
    kept = provider_auth.relevant_environment(env)
    kept.update({name: env[name] for name in (backend_checks.PASSPHRASE, backend_checks.PASSPHRASE_FILE) if name in env})
    return PreflightInputs(
        config, needs_from(config, graph), targets, backend_checks.resolve_backend(project_dir, env), error,
        env=kept, provider_config={k: v for k, v in values.items() if k.startswith("azure-native:")},
        secrets_provider=backend_checks.secrets_provider(project_dir, stack), paths=paths, primary=primary,
    )


def run_preflight(
    project_dir: Path,
    stack: str,
    session: AzureSession,
    *,
    now: datetime | None = None,
    state_readable: Callable[[], bool] | None = None,
    model: StackModel | None = None,
    env: Mapping[str, str] | None = None,
    primary_stack: Callable[[str], auto.Stack] | None = None,
) -> PreflightReport:
    """`env`: the environment the deploy will run in (default: this process's); `primary_stack`
    selects a Pulumi stack by name, for the audit of the primary's state (skipped without it)."""
    return run_checks(gather_inputs(project_dir, stack, env, model=model), session, now=now,
                      state_readable=state_readable, primary_stack=primary_stack)


def run_checks(
    inputs: PreflightInputs,
    session: AzureSession,
    *,
    now: datetime | None = None,
    state_readable: Callable[[], bool] | None = None,
    primary_stack: Callable[[str], auto.Stack] | None = None,
) -> PreflightReport:
    config, needs = inputs.config, inputs.needs
    now = now or datetime.now(UTC)
    checks: list[Check] = []

    def report(skipped: tuple[str, ...] = ()) -> PreflightReport:
        return PreflightReport(config.stack, config.region, tuple(checks), skipped)

    # Without a token or a usable subscription every other call would fail the same way.
    for gate in (platform.check_credentials, _subscription):
        check = gate(session)
        checks.append(check)
        if check.status == "error" or check.blocks:
            done = {c.id for c in checks}
            return report(tuple(p["id"] for p in planned_checks(config) if p["id"] not in done))
    checks.append(provider_auth.check_provider_credentials(inputs.env, inputs.provider_config))

    try:
        regions = platform.list_regions(session)
    except Exception as exc:
        checks.append(error_check("region", "The target region exists", exc, "listing locations"))
        regions = None
    if regions is not None:
        checks.append(platform.check_region(config, needs, regions))
        checks.append(platform.check_pair(config, regions))
        checks += platform.safely("provider", "Resource providers and types", "listing providers",
                                  lambda: platform.check_providers(session, needs, regions))

    families: dict[str, int] = {}

    def compute_skus() -> list[Check]:
        found, counted = capacity.check_compute_skus(session, needs)
        families.update(counted)
        return found

    checks += platform.safely("sku.compute", "VM sizes", "listing compute SKUs", compute_skus)
    checks += platform.safely("sku.storage", "Storage SKUs", "listing storage SKUs",
                              lambda: capacity.check_storage_skus(session, needs))
    checks += platform.safely("sku.postgres", "PostgreSQL SKU", "listing PostgreSQL capabilities",
                              lambda: postgres_sku.check_postgres_sku(session, needs.postgres, needs.region))
    checks += platform.safely("quota.vcpu", "Compute vCPU quota", "listing compute usage",
                              lambda: capacity.check_vcpu_quota(session, needs.region, families))
    checks += platform.safely("quota.public-ips", "Public IP quota", "listing network usage",
                              lambda: capacity.check_public_ip_quota(session, needs))
    checks += platform.safely("permissions.role-assignments", permissions.TITLE, "listing the caller's permissions",
                              lambda: permissions.check_role_assignment_right(session, needs.role_assignment_groups))
    principal = config.runner.object_id if config.runner is not None else None
    checks += platform.safely("paths.live", live_paths.TITLE, "reading endpoint approvals and role assignments",
                              lambda: live_paths.check_live_paths(session, list(inputs.paths), config.stack, principal))
    checks += platform.safely("name", "Global names", "checking global names",
                              lambda: names.check_global_names(session, needs))

    if inputs.targets_error is not None:
        checks.append(error_check("readiness", "DR readiness of the primary",
                                  RuntimeError(inputs.targets_error), "building the primary's graph"))
    checks += readiness_checks(session, list(inputs.targets), config, now)
    if primary_stack is not None and inputs.primary is not None:
        graph, primary = inputs.primary
        checks += redeploy_audit(session, graph, primary, lambda: primary_stack(primary.stack))

    checks += platform.safely("backend", backend_checks.TITLE, "looking up the state account",
                              lambda: _backend(session, inputs.backend, config))
    checks.append(backend_checks.check_passphrase(inputs.backend, inputs.env, inputs.secrets_provider))
    checks.append(backend_checks.check_state_readable(state_readable))
    return report()


def _subscription(session: AzureSession) -> Check:
    return platform.safely("subscription", "The subscription is reachable and enabled", "reading the subscription",
                           lambda: platform.check_subscription(session))[0]


def _backend(session: AzureSession, backend: backend_checks.Backend, config: StackConfig) -> Check:
    account = None
    if backend.kind == "azblob" and backend.storage_account:
        account = backend_checks.find_account(session, backend.storage_account)
    return backend_checks.decide_backend(backend, platform.primary_region(config), account)


def subscription_id_for(project_dir: Path, stack: str, env: Mapping[str, str] | None = None) -> str:
    """The subscription the deploy would use: the stack's azure-native:subscriptionId, else the
    provider's ARM_SUBSCRIPTION_ID, else AZURE_SUBSCRIPTION_ID."""
    env = os.environ if env is None else env
    values = read_stack_file(stack_file(Path(project_dir), stack))
    value = values.get("azure-native:subscriptionId") or env.get("ARM_SUBSCRIPTION_ID") or env.get("AZURE_SUBSCRIPTION_ID")
    if not value:
        raise BadInput(
            f"no Azure subscription for stack '{stack}': set azure-native:subscriptionId in "
            f"{stack_file(Path(project_dir), stack).name}, or ARM_SUBSCRIPTION_ID / AZURE_SUBSCRIPTION_ID"
        )
    return str(value)


def preflight_command(
    project_dir: Path,
    stack: str,
    *,
    session_factory: SessionFactory | None = None,
    state_readable: Callable[[], bool] | None = None,
    model: StackModel | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`drctl preflight --stack NAME`: the report as JSON (exit 1 when `blocked`, else 0). `model`:
    the stack's, when the caller has loaded it; `env`: the environment the deploy's Pulumi CLI
    will have (default: this process's), which the sign-in and passphrase checks read.

    Bad input (no such stack, an invalid stack file, no subscription id) raises BadInput.
    """
    project_dir = Path(project_dir)
    try:
        config = model.config if model is not None else load_stack_config(project_dir, stack)
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    primary_stack: Callable[[str], auto.Stack] | None = None
    if session_factory is None:
        subscription = subscription_id_for(project_dir, stack)

        def session_factory(_config: StackConfig) -> AzureSession:
            # A couple of SDK retries absorb a blip; a region that is down must not stall preflight.
            return AzureSession.from_environment(subscription, retry_total=2)

        def select_primary(name: str) -> auto.Stack:
            return select_stack(project_dir, name, command=find_pulumi(),
                                env_vars=provider_auth.provider_environment(env or os.environ))

        # Only against real Azure: the audit reads the primary's state through the Pulumi CLI.
        primary_stack = select_primary

    session = session_factory(config)
    try:
        return run_preflight(project_dir, stack, session, state_readable=state_readable, model=model,
                             env=env, primary_stack=primary_stack).to_json()
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    finally:
        session.close()


__all__ = [
    "PreflightInputs", "gather_inputs", "planned_checks", "preflight_command", "run_checks",
    "run_preflight", "subscription_id_for",
]
