"""Is a caller allowed what an operation does? (orchestrator/paths/model.Access says what that is.)

- an Azure role assignment to the caller, on the target or a scope above it, of a built-in role that
  allows each action (orchestrator/paths/roles.py);
- for a service with a principal list of its own, an entry for the runner in it, of a role that
  allows the call where entries have roles (PRINCIPAL_LISTS);
- access made by hand that ARM cannot make (components/runner_settings.OUT_OF_BAND), when the stack
  declares it in `dataplatform:runner.grantedOutOfBand`; for a server with a single Entra
  administrator (a group the runner is not), the same stands in for the entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.runner_settings import OUT_OF_BAND, RunnerSettings
from orchestrator.paths import roles
from orchestrator.paths.graph_index import Found, GraphIndex, id_parts
from orchestrator.paths.model import Access, Link, Operation

DEPLOYER = "the deploying identity's subscription roles (day-0 prerequisite; checked live by preflight)"
GRANTED_KEY = "dataplatform:runner.grantedOutOfBand"


@dataclass(frozen=True)
class PrincipalList:
    """A service's own list of who may do what: the resource types of its entries, the input naming
    the principal, the one naming the target (empty: the list is an input of the target itself, at
    `principal`), and the input holding an entry's role."""

    what: str
    types: tuple[str, ...]
    principal: str
    parent: str = ""
    role: str = ""


# By the target's type token suffix.
PRINCIPAL_LISTS: dict[str, PrincipalList] = {
    "dbforpostgresql:Server": PrincipalList(
        "PostgreSQL Entra administrator",
        ("dbforpostgresql:AdministratorsMicrosoftEntra", "dbforpostgresql:Administrator"), "objectId", "serverName"),
    "kusto:Cluster": PrincipalList(
        "Kusto principal assignment", ("kusto:ClusterPrincipalAssignment", "kusto:DatabasePrincipalAssignment"),
        "principalId", "clusterName", "role"),
    "cosmosdb:DatabaseAccount": PrincipalList(
        "Cosmos DB SQL role assignment", ("cosmosdb:SqlResourceSqlRoleAssignment",), "principalId", "accountName",
        "roleDefinitionId"),
    "dbformysql:Server": PrincipalList("MySQL Entra administrator", ("dbformysql:AzureADAdministrator",), "sid",
                                       "serverName"),
    "synapse:Workspace": PrincipalList("Synapse Entra administrator", ("synapse:WorkspaceAadAdmin",), "sid",
                                       "workspaceName"),
    ":sql:Server": PrincipalList("Azure SQL Entra administrator", (), "administrators.sid"),
    ":sql:ManagedInstance": PrincipalList("managed instance Entra administrator", (), "administrators.sid"),
    "analysisservices:ServerDetails": PrincipalList("Analysis Services server administrator", (),
                                                    "asAdministrators.members"),
}


def identity(index: GraphIndex, operation: Operation, target: Found | None, runner: RunnerSettings | None) -> Link:
    access = operation.access
    principal = runner.object_id if runner is not None else None
    if access is not None and access.anonymous:
        return Link(True, via="none: the endpoint takes anonymous calls")
    if access is None or not (access.actions or access.admin or access.granted):
        return Link(True, via=DEPLOYER)
    if target is None and operation.fqdn:
        return _assigned(index, operation, None, principal)
    if target is None:
        return Link(False, missing=[f"the {operation.target_type} of {operation.target_component} in {operation.stack}"])
    if access.admin:
        entry = _own_principal_list(index, target, access, runner)
        return entry if entry.ok or not access.granted else out_of_band(runner, access.granted, entry.missing)
    if access.actions:
        return _assigned(index, operation, target, principal)
    return out_of_band(runner, access.granted, [])


def out_of_band(runner: RunnerSettings | None, key: str, instead: list[str]) -> Link:
    """Access made by hand: ok when the stack declares it, else a gap saying what to make and declare."""
    made = runner.granted(key) if runner is not None else None
    if made is not None:
        return Link(True, via=made.said, prerequisite=made.said)
    what = f"{OUT_OF_BAND[key].what} (made by hand, then declared: {GRANTED_KEY} {key})"
    return Link(False, missing=[f"{'; '.join(instead)}; or {what}" if instead else what])


def _lookup(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _own_principal_list(index: GraphIndex, target: Found, access: Access, runner: RunnerSettings | None) -> Link:
    kind = next(k for k in PRINCIPAL_LISTS if target.type.endswith(k))
    listed = PRINCIPAL_LISTS[kind]
    entries = ([target] if not listed.types else
               [e for e in index.of_type(*listed.types)
                if str(e.inputs.get(listed.parent, "")).lower() == target.name.lower() and e.stack == target.stack])
    for entry in entries:
        value = _lookup(entry.inputs, listed.principal)
        found = runner is not None and any(_is_runner(kind, runner, v) for v in (value if isinstance(value, list)
                                                                                  else [value]))
        role = str(entry.inputs.get(listed.role, "")).rsplit("/", 1)[-1] if listed.role else ""
        if found and (not access.entry_roles or role in access.entry_roles):
            return Link(True, via=f"{listed.what}{f' ({role})' if role else ''} on {target.name}")
    if runner is not None and _runner_as(kind, runner) is None:
        return Link(False, missing=[f"{_article(listed.what)} entry for the runner on {target.label}: it names a "
                                    "service principal by its application id (set dataplatform:runner.clientId)"])
    roles_said = f" of role {' or '.join(access.entry_roles)}" if access.entry_roles else ""
    return Link(False, missing=[f"{_article(listed.what)} entry{roles_said} for the runner on {target.label}"])


def _article(what: str) -> str:
    return f"{'an' if what[0].lower() in 'aeiou' else 'a'} {what}"


def _runner_as(kind: str, runner: RunnerSettings) -> str | None:
    """The runner as a list names it (a prefix, for Analysis Services' `app:<id>@<tenant>`): by object
    id, save Kusto and Analysis Services, which name an application by its application id."""
    if kind == "kusto:Cluster":
        principal = runner.kusto_principal()
        return principal[0] if principal else None
    if kind == "analysisservices:ServerDetails":
        return runner.analysis_services_admin(tenant_id="")
    return runner.object_id


def _is_runner(kind: str, runner: RunnerSettings, value: Any) -> bool:
    wanted = _runner_as(kind, runner)
    if wanted is None or not isinstance(value, str):
        return False
    if kind == "analysisservices:ServerDetails" and wanted.endswith("@"):
        return value.lower().startswith(wanted.lower())
    return value.lower() == wanted.lower()


def _assigned(index: GraphIndex, operation: Operation, target: Found | None, principal: str | None) -> Link:
    actions = operation.access.actions if operation.access else ()
    links = [_assigned_one(index, operation, target, principal, action) for action in actions]
    if all(link.ok for link in links):
        vias = list(dict.fromkeys(link.via for link in links))
        return Link(True, via="; ".join(vias), through=links[0].through)
    return Link(False, missing=[m for link in links for m in link.missing])


def _assigned_one(index: GraphIndex, operation: Operation, target: Found | None, principal: str | None,
                  action: str) -> Link:
    for assignment in index.of_type("authorization:RoleAssignment"):
        if operation.actor == "runner":
            if principal is None or assignment.inputs.get("principalId") != principal:
                continue
        elif assignment.resource["component"] != operation.actor:
            continue
        scope = str(assignment.inputs.get("scope", ""))
        in_scope = target is None or index.refers_to(scope, target) or (
            id_parts(scope)[0] == target.group.lower() and "/providers/" not in scope)
        if in_scope and roles.allows(str(assignment.inputs.get("roleDefinitionId", "")), action):
            where = target.label if target else scope.rsplit("/", 1)[-1]
            role = str(assignment.inputs["roleDefinitionId"])
            return Link(True, via=f"{roles.role_name(role)} on {where}", through=role.rsplit("/", 1)[-1])
    wanted = " or ".join(roles.roles_for(action)) or action
    where = target.label if target else "its scope"
    return Link(False, missing=[f"{wanted} for the {operation.actor.replace('_', ' ')} on {where}"])
